"""`tinyml lint`: each convention, broken on purpose, is named with its file and cell."""

import json

import nbformat
import pytest

from conftest import code, header, md
from grading import conventions


def _lint(mini, rel):
    nb = next(n for n in mini.project.notebooks if n.rel.as_posix() == rel)
    return conventions.lint(nb)


def _rules(violations):
    return {(v.rule, v.cell) for v in violations}


LESSON = "course1/lessons/01_demo.ipynb"


def test_a_conforming_lesson_passes(mini):
    mini.add(LESSON, [header(), code("x = 1")])
    assert _lint(mini, LESSON) == []


def test_fix_writes_badge_and_setup_cell(mini):
    path = mini.add(LESSON, [header(), code("x = 1")])
    nb = nbformat.read(str(path), as_version=4)
    assert ("https://colab.research.google.com/github/tinyml-courseware/tinyml-courseware/"
            "blob/main/release/course1/lessons/01_demo.ipynb") in nb.cells[0].source
    setup = nb.cells[1]
    assert conventions.SETUP_TAG in setup.metadata["tags"]
    assert "google.colab" in setup.source and "tinyml-courseware[ml]" in setup.source
    # fix is idempotent
    target = next(n for n in mini.project.notebooks if n.path == path)
    assert conventions.fix(target) is False


def test_missing_title_learn_badge_and_setup(mini):
    mini.add(LESSON, [md("Some text"), code("x = 1")], fix=False)
    rules = {v.rule for v in _lint(mini, LESSON)}
    assert {"title", "setup", "normalized"} <= rules

    mini.add(LESSON, [md("# Title\n\nno learning goals"), code("x = 1")], fix=False)
    rules = {v.rule for v in _lint(mini, LESSON)}
    assert {"badge", "learn", "setup"} <= rules


def test_badge_pointing_elsewhere(mini):
    path = mini.add(LESSON, [header(), code("x = 1")])
    text = path.read_text().replace("release/course1/lessons/01_demo.ipynb",
                                    "course1/lessons/01_demo.ipynb")
    path.write_text(text)
    (v,) = [v for v in _lint(mini, LESSON) if v.rule == "badge"]
    assert v.cell == 0 and "release/course1/lessons/01_demo.ipynb" in v.message


def test_edited_setup_cell(mini):
    path = mini.add(LESSON, [header(), code("x = 1")])
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[1].source += "\nprint('hi')"
    nbformat.write(nb, str(path))
    assert ("setup", 1) in _rules(_lint(mini, LESSON))


def test_alt_text_everywhere(mini):
    mini.add(LESSON, [
        header(),
        md("![](diagram.png) and ![a diagram of a neuron](neuron.png)"),
        md('<img src="x.png"> <img src="y.png" alt="a board">'),
        code("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()"),
    ])
    violations = [v for v in _lint(mini, LESSON) if v.rule == "alt-text"]
    assert [(v.cell, v.path) for v in violations] == [(1, LESSON), (2, LESSON), (4, LESSON)]
    assert "diagram.png" in violations[0].message
    assert "plots.show" in violations[2].message


def test_committed_outputs(mini):
    path = mini.add(LESSON, [header(), code("x = 1")])
    nb = json.loads(path.read_text())
    nb["cells"][2]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    nb["cells"][2]["execution_count"] = 3
    path.write_text(json.dumps(nb, indent=1))
    assert ("outputs", 2) in _rules(_lint(mini, LESSON))


def test_unnormalised_metadata(mini):
    path = mini.add(LESSON, [header(), code("x = 1")])
    nb = json.loads(path.read_text())
    nb["metadata"]["colab"] = {"provenance": []}
    path.write_text(json.dumps(nb, indent=1) + "\n")
    assert ("normalized", None) in _rules(_lint(mini, LESSON))


def test_invalid_json(mini):
    path = mini.root / LESSON
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    (v,) = _lint(mini, LESSON)
    assert v.rule == "format"


ASSIGNMENT = "course1/assignments/c1_demo/c1_demo.ipynb"


def _nbg(grade_id, **kw):
    meta = {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
            "solution": False, "task": False}
    meta.update(kw)
    return {"nbgrader": meta}


def test_nbgrader_metadata_rules(mini):
    mini.add(ASSIGNMENT, [
        header("An assignment"),
        code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
             **_nbg("f", solution=True)),
        code("assert f() == 1", **_nbg("test_f", grade=True, points=1)),           # not locked
        code("assert f() == 1", **_nbg("test_f", grade=True, locked=True, points=1)),  # dup id
        code("assert f() == 1", **_nbg("test_g", grade=True, locked=True, points=0)),  # no points
        code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION"),  # delimiters, no metadata
        code("def g():\n    return 2", **_nbg("g", solution=True)),  # solution w/o delimiters
    ])
    messages = {(v.cell, v.message.split(" ")[0]) for v in _lint(mini, ASSIGNMENT)
                if v.rule == "nbgrader"}
    text = "\n".join(str(v) for v in _lint(mini, ASSIGNMENT))
    assert "cell 3: [nbgrader] autograder test cell 'test_f' must be locked" in text
    assert "cell 4: [nbgrader] grade_id 'test_f' is also used by cell 3" in text
    assert "cell 5: [nbgrader] graded cell 'test_g' needs points > 0" in text
    assert "cell 6: [nbgrader] '### BEGIN SOLUTION' in a cell without nbgrader metadata" in text
    assert "cell 7: [nbgrader] solution cell 'g' needs ### BEGIN SOLUTION" in text
    assert messages


def test_a_lesson_with_grade_cells_is_flagged(mini):
    mini.add(LESSON, [header(), code("assert True", **_nbg("t", grade=True, locked=True, points=1))])
    assert any(v.rule == "nbgrader" and "lessons are not graded" in v.message
               for v in _lint(mini, LESSON))


def test_the_course_notebooks_follow_the_conventions(project):
    violations = [str(v) for nb in project.notebooks for v in conventions.lint(nb)]
    assert violations == []
    assert any(nb.is_assignment for nb in project.notebooks)
    assert any(not nb.is_assignment for nb in project.notebooks)


@pytest.mark.parametrize("name", ["Bad-Name", "with space"])
def test_assignment_ids_must_be_nbgrader_keys(mini, name):
    from grading.errors import TinymlError

    (mini.root / "course1" / "assignments" / name).mkdir(parents=True)
    with pytest.raises(TinymlError, match="lowercase letters"):
        mini.project.notebooks
