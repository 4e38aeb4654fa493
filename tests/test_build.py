"""`tinyml build`: student editions by nbgrader, no solution or hidden test ever in release/."""

import json
import re

import nbformat
import pytest

from conftest import REPO, code, header, run_tinyml
from grading import build, conventions
from grading.errors import TinymlError

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.DOTALL)


def test_release_is_in_sync_with_the_sources():
    result = run_tinyml("build", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is up to date" in result.stdout


def test_every_notebook_has_a_student_edition(project):
    for nb in project.notebooks:
        assert nb.release_path.is_file(), f"{nb.rel}: no student edition (run tinyml build)"


def test_no_solution_or_hidden_test_in_release(project):
    release = list((REPO / "release").rglob("*.ipynb"))
    assert release
    texts = {p: p.read_text(encoding="utf-8") for p in release}
    for text in texts.values():
        for marker in conventions.DELIMITERS:
            assert marker not in text
    leaked = []
    for nb in project.notebooks:
        source = nb.path.read_text(encoding="utf-8")
        student = json.loads(nb.release_path.read_text(encoding="utf-8"))
        student_code = "\n".join("".join(c["source"]) for c in student["cells"])
        for cell in json.loads(source)["cells"]:
            src = "".join(cell["source"])
            for block in SOLUTION.findall(src) + HIDDEN.findall(src):
                for line in block.strip().splitlines():
                    # a whole solution line that is not also given to the student elsewhere
                    if len(line.strip()) > 20 and line.strip() not in _visible(source):
                        if line.strip() in student_code:
                            leaked.append((nb.rel, line.strip()))
    assert leaked == []


def _visible(source_text):
    """Source text outside solution and hidden-test blocks."""
    nb = json.loads(source_text)
    text = "\n".join("".join(c["source"]) for c in nb["cells"])
    return HIDDEN.sub("", SOLUTION.sub("", text))


def test_student_edition_is_what_nbgrader_makes(project):
    (assignment,) = [nb for nb in project.notebooks if nb.group == "c1_a1_gradient_descent"]
    student = nbformat.read(str(assignment.release_path), as_version=4)
    solutions = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert solutions and all("raise NotImplementedError()" in c.source for c in solutions)
    tests = [c for c in student.cells if c.metadata.get("nbgrader", {}).get("grade")]
    assert tests and all(c.metadata["nbgrader"]["locked"] for c in tests)
    assert all("checksum" in c.metadata["nbgrader"] for c in tests)


def _assignment_cells(solution_body="    return 1"):
    return [
        header("Demo assignment"),
        code("def f():\n    ### BEGIN SOLUTION\n" + solution_body + "\n    ### END SOLUTION",
             nbgrader={"grade": False, "grade_id": "f", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}),
        code("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert f() + 1 == 2\n### END HIDDEN TESTS",
             nbgrader={"grade": True, "grade_id": "test_f", "locked": True, "points": 1,
                       "schema_version": 3, "solution": False, "task": False}),
    ]


def test_build_then_check_detects_a_stale_release(mini):
    mini.add("course1/lessons/01_demo.ipynb", [header(), code("x = 1")])
    src = mini.add("course1/assignments/c1_demo/c1_demo.ipynb", _assignment_cells())
    (mini.root / "course1/assignments/c1_demo/data.csv").write_text("a,b\n1,2\n")
    project = mini.project
    written = build.build(project)
    assert sorted(written) == ["release/course1/assignments/c1_demo/c1_demo.ipynb",
                               "release/course1/assignments/c1_demo/data.csv",
                               "release/course1/lessons/01_demo.ipynb"]
    assert build.build(project, check=True) == []
    student = (mini.root / "release/course1/assignments/c1_demo/c1_demo.ipynb").read_text()
    assert "return 1" not in student and "f() + 1 == 2" not in student

    # a source edited without a rebuild is caught
    nb = nbformat.read(str(src), as_version=4)
    nb.cells[0].source += "\n\nA new paragraph."
    nbformat.write(nb, str(src))
    assert build.build(project, check=True) == [
        "release/course1/assignments/c1_demo/c1_demo.ipynb: out of date"]

    # a hand-made file in release/ that no source generates is caught, then removed
    stray = mini.root / "release/course1/lessons/99_stray.ipynb"
    stray.write_text("{}")
    assert "release/course1/lessons/99_stray.ipynb: no source generates it any more" in \
        build.build(project, check=True)
    build.build(project)
    assert not stray.exists() and build.build(project, check=True) == []


def test_a_solution_outside_a_solution_cell_is_refused(mini):
    cells = _assignment_cells()
    cells.append(code("### BEGIN SOLUTION\nsecret = 42\n### END SOLUTION"))
    mini.add("course1/assignments/c1_demo/c1_demo.ipynb", cells)
    with pytest.raises(TinymlError, match="c1_demo"):
        build.build(mini.project)
    assert not (mini.root / "release").exists()
