"""Grading end to end with nbgrader: full marks, zero, and fair partial credit."""

from pathlib import Path

import nbformat
import pytest

from conftest import REPO, code, feedback, fill_answers, header, md, run_tinyml, with_changes
from grading import check
from grading.nbgrader_course import Course

pytestmark = pytest.mark.grading

ASSIGNMENT = "c1_a1_gradient_descent"
SOURCE = REPO / "course1/assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
STUDENT = REPO / "release/course1/assignments" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"

RIGHT = {
    "mse": """
        def mse(y_true, y_pred):
            return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))
        """,
    "gradient": """
        def gradient(w, b, x, y):
            e = w * x + b - y
            return 2 * np.mean(e * x), 2 * np.mean(e)
        """,
    "step": """
        def step(w, b, x, y, learning_rate):
            dw, db = gradient(w, b, x, y)
            return w - learning_rate * dw, b - learning_rate * db
        """,
    "fit": """
        def fit(x, y, learning_rate, steps):
            w = b = 0.0
            losses = [mse(y, w * x + b)]
            for _ in range(steps):
                w, b = step(w, b, x, y, learning_rate)
                losses.append(mse(y, w * x + b))
            return w, b, losses
        """,
}


def student_answer(answers: dict, path: Path) -> Path:
    """The student edition with the given code typed into its solution cells."""
    return fill_answers(STUDENT, answers, path)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = Course(root)
    course.add_source(ASSIGNMENT, [SOURCE])
    course.generate(ASSIGNMENT)
    return course


def grade(course, student, notebook):
    course.submit(student, ASSIGNMENT, [notebook])
    return course.autograde(ASSIGNMENT, student)


def test_solution_scores_full_marks(course):
    score = grade(course, "solution", SOURCE)
    assert (score.score, score.max_score) == (10, 10)


def test_blank_student_edition_scores_zero(course):
    score = grade(course, "blank", STUDENT)
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["test_fit", "test_gradient", "test_mse", "test_step"]


def test_a_students_own_right_answer_scores_full_marks(course, tmp_path):
    score = grade(course, "alice", student_answer(RIGHT, tmp_path / f"{ASSIGNMENT}.ipynb"))
    assert score.score == 10


@pytest.mark.parametrize("student, wrong, expected, failed, messages", [
    # divides by N - 1: only the hidden mse test sees it
    ("off_by_one", {"mse": """
        def mse(y_true, y_pred):
            d = np.asarray(y_pred) - np.asarray(y_true)
            return float(np.sum(d ** 2) / (len(d) - 1)) if len(d) > 1 else float(d[0] ** 2)
        """}, 8, ["test_mse"], {"test_mse": "square each error, then average"}),
    # gradient with the wrong sign: step is graded on the student's own gradient, fit diverges
    ("wrong_sign", {"gradient": """
        def gradient(w, b, x, y):
            e = y - (w * x + b)
            return 2 * np.mean(e * x), 2 * np.mean(e)
        """}, 4, ["test_fit", "test_gradient"],
     {"test_gradient": "dL/db at w=0, b=0 for x=[1, 2], y=[1, 2] should be",
      "test_fit": "the loss must go down"}),
    # half right: mse and gradient right, step and fit left blank
    ("half", {"step": None, "fit": None}, 5, ["test_fit", "test_step"],
     {"test_step": "NotImplementedError"}),
])
def test_wrong_answers_get_partial_credit(course, tmp_path, student, wrong, expected, failed,
                                         messages):
    answers = with_changes(RIGHT, wrong)
    score = grade(course, student, student_answer(answers, tmp_path / f"{ASSIGNMENT}.ipynb"))
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(course, ASSIGNMENT, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]


def test_a_student_cannot_rewrite_the_tests(course, tmp_path):
    """nbgrader restores locked test cells from the gradebook before grading."""
    path = student_answer({"mse": "def mse(a, b):\n    return 0.0"}, tmp_path / f"{ASSIGNMENT}.ipynb")
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "test_mse":
            cell.source = "print('all good')"
    nbformat.write(nb, str(path))
    score = grade(course, "tamper", path)
    assert "test_mse" in score.failed_tests


# -- the launch check itself ---------------------------------------------------------

def test_launch_check_reports_a_broken_notebook_and_its_first_error(mini):
    mini.add("course1/lessons/01_ok.ipynb", [header(), code("x = 1")])
    mini.add("course1/lessons/02_broken.ipynb", [
        header(), md("This step fails."), code("y = 1 / 0"), code("z = 2")])
    mini.add("course1/assignments/c1_demo/c1_demo.ipynb", [
        header("Demo"),
        code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION",
             nbgrader={"grade": False, "grade_id": "f", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}),
        code("assert f() == 1", nbgrader={"grade": True, "grade_id": "t", "locked": True,
                                          "points": 2, "schema_version": 3, "solution": False,
                                          "task": False}),
    ])
    result = run_tinyml("--root", str(mini.root), "build")
    assert result.returncode == 0, result.stderr
    result = run_tinyml("--root", str(mini.root), "check")
    assert result.returncode == 1
    table = result.stdout
    for row in ("lint", "build --check", "course1/lessons/01_ok.ipynb",
                "course1/lessons/02_broken.ipynb", "c1_demo (solution)", "c1_demo (blank)"):
        assert row in table
    assert "2/2" in table and "0/2" in table
    err = result.stderr.strip().splitlines()[-1]
    assert err == ("tinyml: error: launch check failed: course1/lessons/02_broken.ipynb: "
                   "ZeroDivisionError: division by zero (cell 3)")


def test_format_table_counts_rows():
    rows = [check.Row("a", "ok", 1.0, "1/1"), check.Row("b", "FAIL", 2.0, error="boom")]
    table = check.format_table(rows)
    assert table.splitlines()[0].split() == ["notebook", "status", "seconds", "score"]
    assert table.splitlines()[-1] == "1 passed, 1 failed in 3.0 s"
