"""Course 2 assignment A2 (a "left"/"right" keyword spotter within 20 KB) graded end to end
with nbgrader: full marks, zero, and the right partial credit for realistic wrong answers."""

from pathlib import Path

import pytest

from conftest import REPO, feedback, fill_answers, with_changes
from grading.nbgrader_course import Course

pytestmark = pytest.mark.grading

A2 = "c2_a2_keyword_spotting"


def source() -> Path:
    return REPO / "course2/assignments" / A2 / f"{A2}.ipynb"


def student_edition() -> Path:
    return REPO / "release/course2/assignments" / A2 / f"{A2}.ipynb"


# A student's own right answer: a lookup table, the library's tiny_conv, Adam by name,
# calibration on part of the training set.
RIGHT = {
    "class_numbers": """
        def class_numbers(labels, words):
            number = {"silence": 0, "unknown": 1}
            for i, word in enumerate(words):
                number[word] = i + 2
            return np.array([number[label] for label in labels])
        """,
    "build_model": """
        def build_model(n_classes):
            return kws.build_tiny_conv(n_classes)
        """,
    "train": """
        model = build_model(4)
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=EPOCHS, batch_size=32, verbose=0)
        """,
    "convert": """
        int8_model = quantize.convert(model, "int8", representative_data=x_train[:200])
        """,
}

WRONG = [
    # the keywords first, silence and unknown after: not the order the firmware reads
    ("keywords_first", {"class_numbers": """
        def class_numbers(labels, words):
            classes = list(words) + ["silence", "unknown"]
            return np.array([classes.index(label) for label in labels])
        """}, 8, ["test_class_numbers"], {"test_class_numbers": "expected [3, 0, 2, 1]"}),
    # no stride: 49 x 40 x 8 values reach the dense layer, 62,804 parameters; it learns,
    # but is over the parameter budget and, as int8, over the 20 KB of flash
    ("over_budget", {"build_model": """
        def build_model(n_classes):
            return keras.Sequential([
                keras.Input(shape=(49, 40, 1)),
                keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu"),
                keras.layers.Flatten(),
                keras.layers.Dense(n_classes, activation="softmax"),
            ])
        """}, 7, ["test_build_model", "test_int8_size"],
     {"test_build_model": "over the budget", "test_int8_size": "over the 20,480-byte budget"}),
    # compiled but never trained: chance-level accuracy on the float and the int8 model
    ("untrained", {"train": """
        model = build_model(len(CLASSES))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        """}, 5, ["test_int8_accuracy", "test_train"],
     {"test_train": "below the target", "test_int8_accuracy": "below"}),
    # converted, but left in float32: accurate, but four times too big for the budget
    ("float_model", {"convert": """
        int8_model = quantize.convert(model, "float32")
        """}, 9, ["test_int8_size"], {"test_int8_size": "is a float32 model"}),
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp(A2))
    course.add_source(A2, [source()])
    course.generate(A2)
    return course


def grade(course, student, notebook):
    course.submit(student, A2, [notebook])
    return course.autograde(A2, student)


def test_solution_scores_full_marks(course):
    score = grade(course, "solution", source())
    assert (score.score, score.max_score) == (10, 10)


def test_blank_student_edition_scores_zero(course):
    score = grade(course, "blank", student_edition())
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["test_build_model", "test_class_numbers",
                                          "test_int8_accuracy", "test_int8_size", "test_train"]


def test_a_students_own_right_answer_scores_full_marks(course, tmp_path):
    notebook = fill_answers(student_edition(), RIGHT, tmp_path / f"{A2}.ipynb")
    score = grade(course, "right", notebook)
    assert (score.score, score.failed_tests) == (10, [])


@pytest.mark.parametrize("student, wrong, expected, failed, messages", WRONG,
                         ids=[case[0] for case in WRONG])
def test_wrong_answers_get_partial_credit(course, tmp_path, student, wrong, expected, failed,
                                          messages):
    notebook = fill_answers(student_edition(), with_changes(RIGHT, wrong), tmp_path / f"{A2}.ipynb")
    score = grade(course, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(course, A2, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]
