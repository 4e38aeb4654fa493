"""Course 2 assignment 3 (visual wake words within a flash/RAM budget) graded end to end with
nbgrader: full marks, zero, and the right partial credit for realistic wrong answers."""

from pathlib import Path

import pytest

from conftest import REPO, feedback, fill_answers, with_changes
from grading.nbgrader_course import Course

pytestmark = pytest.mark.grading

A3 = "c2_a3_visual_wake_words"
SOURCE = REPO / "course2/assignments" / A3 / f"{A3}.ipynb"
STUDENT = REPO / "release/course2/assignments" / A3 / f"{A3}.ipynb"

RIGHT = {
    "cut_backbone": """
        def cut_backbone(last_layer):
            cut = keras.Model(inputs=backbone.inputs, outputs=backbone.get_layer(last_layer).output,
                              name="backbone")
            cut.trainable = False
            return cut
        """,
    "build_vww_model": """
        def build_vww_model(features):
            image = keras.Input(shape=(96, 96, 1))
            pooled = keras.layers.GlobalAveragePooling2D()(features(image))
            return keras.Model(image, keras.layers.Dense(2, activation="softmax")(pooled))
        """,
    "train": """
        MY_CUT = "block6_pw_relu"
        model = build_vww_model(cut_backbone(MY_CUT))
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        history = model.fit(x_train, y_train, epochs=20, batch_size=32, verbose=0)
        """,
    "convert": """
        model_int8 = quantize.convert(model, "int8", representative_data=x_train[:100])
        """,
}

WRONG = [
    # the whole backbone: accurate, int8, but 73 KB of flash, over the 60 KB budget
    ("whole_backbone", {"train": RIGHT["train"].replace("block6_pw_relu", "block7_pw_relu")},
     8, ["test_budget"], {"test_budget": "over the 60 KB budget"}),
    # calibrated with black images: every activation range collapses, the int8 model guesses
    ("zeros_calibration", {"convert": """
        model_int8 = quantize.convert(model, "int8", representative_data=np.zeros((10, 96, 96, 1)))
        """}, 6, ["test_budget", "test_convert"], {"test_convert": "not with zeros or noise"}),
    # no quantization: a float32 model, too big for the flash budget as well
    ("float32_model", {"convert": """
        model_int8 = quantize.convert(model, "float32")
        """}, 6, ["test_budget", "test_convert"], {"test_convert": "convert with mode 'int8'"}),
]


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp(A3))
    course.add_source(A3, [SOURCE])
    course.generate(A3)
    return course


def grade(course, student, notebook):
    course.submit(student, A3, [notebook])
    return course.autograde(A3, student)


def test_solution_scores_full_marks(course):
    score = grade(course, "solution", SOURCE)
    assert (score.score, score.max_score) == (10, 10)


def test_blank_student_edition_scores_zero(course):
    score = grade(course, "blank", STUDENT)
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["test_budget", "test_build_vww_model", "test_convert",
                                          "test_cut_backbone", "test_train"]


def test_a_students_own_right_answer_scores_full_marks(course, tmp_path):
    notebook = fill_answers(STUDENT, RIGHT, tmp_path / f"{A3}.ipynb")
    score = grade(course, "right", notebook)
    assert (score.score, score.failed_tests) == (10, [])


@pytest.mark.parametrize("student, wrong, expected, failed, messages", WRONG,
                         ids=[case[0] for case in WRONG])
def test_wrong_answers_get_partial_credit(course, tmp_path, student, wrong, expected, failed,
                                          messages):
    notebook = fill_answers(STUDENT, with_changes(RIGHT, wrong), tmp_path / f"{A3}.ipynb")
    score = grade(course, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(course, A3, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]
