"""pytest plugin for the notebook run (loaded with `-p grading.pytest_plugin`, see pyproject.toml).

nbval executes every course notebook cell by cell (``--nbval-lax``); this hook
adds the one convention only an executed notebook can show: every image a cell
outputs carries alt text.
"""

import pytest


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)
    if outputs and type(item).__name__ == "IPyNbCell":
        from grading.conventions import images_without_alt

        problems = images_without_alt(outputs)
        if problems:
            pytest.fail(f"{item.name}: {problems[0]}", pytrace=False)
    return result
