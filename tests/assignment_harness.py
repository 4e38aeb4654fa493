"""One table-driven harness for "grade this assignment end to end with nbgrader".

A test module describes an assignment as data and subclasses :class:`AssignmentTests`::

    class TestQuantization(AssignmentTests):
        ASSIGNMENT = "c2_a1_quantization"
        RIGHT = {grade_id: "code a student might write", ...}
        WRONG = [(student, {grade_id: code or None}, score, [failed test ids],
                  {grade_id: "phrase of the feedback"}), ...]
        BLANK_FAILED = [every test id the blank edition fails]

and gets four tests: the solution scores every autograded point, the blank student
edition scores zero, a student's own right answer scores every autograded point, and
each wrong answer gets exactly its partial credit, failed tests and feedback.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import pytest
from conftest import REPO, feedback, fill_answers, with_changes

from grading.nbgrader_course import Course


class AssignmentTests:
    ASSIGNMENT: str = ""
    RIGHT: ClassVar[dict] = {}
    WRONG: ClassVar[list] = []
    BLANK_FAILED: tuple = ()
    MAX_SCORE: float = 10
    MANUAL_POINTS: float = 0           # points a person grades (markdown answers)

    # -- where things are -----------------------------------------------------------------

    @classmethod
    def source(cls) -> Path:
        course = cls.ASSIGNMENT.split("_")[0].replace("c", "course")
        return REPO / course / "assignments" / cls.ASSIGNMENT / f"{cls.ASSIGNMENT}.ipynb"

    @classmethod
    def student_edition(cls) -> Path:
        return REPO / "release" / cls.source().relative_to(REPO)

    @property
    def auto_points(self) -> float:
        return self.MAX_SCORE - self.MANUAL_POINTS

    def answer(self, answers: dict, tmp_path: Path) -> Path:
        """The student edition with ``answers`` typed into its solution cells."""
        return fill_answers(self.student_edition(), answers, tmp_path / self.source().name)

    def grade(self, course, student, notebook):
        course.submit(student, self.ASSIGNMENT, [notebook])
        return course.autograde(self.ASSIGNMENT, student)

    # -- the four tests ---------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc):
        if "wrong_answer" in metafunc.fixturenames:
            metafunc.parametrize("wrong_answer", self.WRONG, ids=[case[0] for case in self.WRONG])

    @pytest.fixture(scope="class")
    @classmethod
    def course(cls, tmp_path_factory):
        course = Course(tmp_path_factory.mktemp(cls.ASSIGNMENT))
        course.add_source(cls.ASSIGNMENT, [cls.source()])
        course.generate(cls.ASSIGNMENT)
        return course

    def test_solution_scores_every_autograded_point(self, course):
        score = self.grade(course, "solution", self.source())
        assert (score.score, score.max_score, score.failed_tests) == \
            (self.auto_points, self.MAX_SCORE, [])
        assert score.manual_points == self.MANUAL_POINTS

    def test_blank_student_edition_scores_zero(self, course):
        score = self.grade(course, "blank", self.student_edition())
        assert (score.score, score.max_score) == (0, self.MAX_SCORE)
        assert sorted(score.failed_tests) == sorted(self.BLANK_FAILED)

    def test_a_students_own_right_answer_scores_every_autograded_point(self, course, tmp_path):
        score = self.grade(course, "right", self.answer(self.RIGHT, tmp_path))
        assert (score.score, score.failed_tests) == (self.auto_points, [])

    def test_wrong_answer_gets_partial_credit(self, course, tmp_path, wrong_answer):
        student, wrong, expected, failed, messages = wrong_answer
        assert len(self.WRONG) >= 3, "test at least three realistic wrong answers"
        score = self.grade(course, student, self.answer(with_changes(self.RIGHT, wrong), tmp_path))
        assert score.score == expected
        assert sorted(score.failed_tests) == sorted(failed)
        shown = feedback(course, self.ASSIGNMENT, student)
        for grade_id, text in messages.items():
            assert text in shown[grade_id], shown[grade_id]
