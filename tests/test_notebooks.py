"""Every course notebook runs top to bottom in fast + offline mode.

The notebooks themselves are collected by nbval (``--nbval-lax``, configured in
pyproject.toml) from every course folder; the root ``conftest.py`` adds the
alt-text check on executed outputs. These tests prove that machinery works.
"""

import subprocess
import sys

import pytest

from conftest import REPO, code, header

pytestmark = pytest.mark.notebooks


def test_every_course_folder_is_collected(project):
    import tomllib

    testpaths = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["testpaths"]
    assert set(project.courses) <= set(testpaths)
    assert "--nbval-lax" in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"][
        "pytest"]["ini_options"]["addopts"]


def _nbval(path):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "--rootdir", str(REPO), "-c", str(REPO / "pyproject.toml"),
                           str(path)], capture_output=True, text=True, cwd=REPO, timeout=300)


def test_nbval_fails_a_figure_without_alt_text_and_a_broken_cell(mini):
    bad = mini.add("course1/lessons/01_demo.ipynb", [
        header(),
        code("import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
             "import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\nfig"),
        code("from tinyml_lib import plots\nfig2, ax2 = plots.figure()\n"
             "plots.show(fig2, alt='An empty set of axes.')"),
        code("1 / 0"),
    ])
    result = _nbval(bad)
    out = result.stdout
    assert result.returncode == 1, out
    assert "image/png image without alt text" in out
    assert "ZeroDivisionError" in out
    assert "2 failed" in out and "2 passed" in out
