"""Course 1 assignments A2 and A3 graded end to end with nbgrader: full marks, zero,
and the right partial credit for realistic wrong answers."""

from pathlib import Path

import pytest

from conftest import REPO, feedback, fill_answers, with_changes
from grading.nbgrader_course import Course

pytestmark = pytest.mark.grading


def source(assignment: str) -> Path:
    return REPO / "course1/assignments" / assignment / f"{assignment}.ipynb"


def student_edition(assignment: str) -> Path:
    return REPO / "release/course1/assignments" / assignment / f"{assignment}.ipynb"


def student_answer(assignment: str, answers: dict, path: Path) -> Path:
    """The student edition with the given code typed into its solution cells."""
    return fill_answers(student_edition(assignment), answers, path)


def make_course(tmp_path_factory, assignment):
    course = Course(tmp_path_factory.mktemp(assignment))
    course.add_source(assignment, [source(assignment)])
    course.generate(assignment)
    return course


def grade(course, assignment, student, notebook):
    course.submit(student, assignment, [notebook])
    return course.autograde(assignment, student)


# -- A2: a dense classifier ----------------------------------------------------------

A2 = "c1_a2_dense_classifier"

A2_RIGHT = {
    "prepare": """
        def prepare(images):
            flat = images.reshape(images.shape[0], -1).astype("float32")
            return flat / 255
        """,
    "softmax": """
        def softmax(scores):
            shifted = scores - np.max(scores, axis=1, keepdims=True)
            e = np.exp(shifted)
            return e / np.sum(e, axis=1, keepdims=True)
        """,
    "accuracy": """
        def accuracy(y_true, probabilities):
            return np.mean(np.argmax(probabilities, axis=1) == y_true)
        """,
    "build_model": """
        def build_model(n_inputs, n_classes):
            return keras.Sequential([
                keras.Input(shape=(n_inputs,)),
                keras.layers.Dense(128, activation="relu"),
                keras.layers.Dense(n_classes, activation="softmax"),
            ])
        """,
    "train": """
        def train(model, x, y, epochs):
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                          metrics=["accuracy"])
            return model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
        """,
}

A2_WRONG = [
    # forgot to scale to 0..1: Part 1 fails; Adam still learns from 0..255 inputs
    ("no_scaling", {"prepare": """
        def prepare(images):
            return images.reshape(len(images), -1).astype(np.float32)
        """}, 8, ["test_prepare"], {"test_prepare": "Divide by 255"}),
    # softmax normalised down the columns (wrong axis)
    ("softmax_axis0", {"softmax": """
        def softmax(scores):
            e = np.exp(scores - np.max(scores))
            return e / e.sum(axis=0)
        """}, 8, ["test_softmax"], {"test_softmax": "Normalise along axis 1"}),
    # right on small scores, overflows on large ones: only the hidden test sees it
    ("softmax_overflow", {"softmax": """
        def softmax(scores):
            e = np.exp(scores)
            return e / e.sum(axis=1, keepdims=True)
        """}, 8, ["test_softmax"], {"test_softmax": "subtract each row's largest score"}),
    # argmax down the columns (wrong axis)
    ("accuracy_axis0", {"accuracy": """
        def accuracy(y_true, probabilities):
            return float(np.mean(np.argmax(probabilities, axis=0) == y_true))
        """}, 8, ["test_accuracy"], {"test_accuracy": "along the row (axis=1)"}),
    # off by one: n_classes - 1 output neurons; the model cannot learn the last class
    ("one_output_short", {"build_model": """
        def build_model(n_inputs, n_classes):
            return keras.Sequential([
                keras.Input(shape=(n_inputs,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(n_classes - 1, activation="softmax"),
            ])
        """}, 6, ["test_build_model", "test_train"],
     {"test_build_model": "one neuron per class"}),
    # training left blank
    ("no_training", {"train": None}, 8, ["test_train"], {"test_train": "NameError"}),
]


@pytest.fixture(scope="module")
def a2(tmp_path_factory):
    return make_course(tmp_path_factory, A2)


def test_a2_solution_scores_full_marks(a2):
    score = grade(a2, A2, "solution", source(A2))
    assert (score.score, score.max_score) == (10, 10)


def test_a2_blank_student_edition_scores_zero(a2):
    score = grade(a2, A2, "blank", student_edition(A2))
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["test_accuracy", "test_build_model", "test_prepare",
                                          "test_softmax", "test_train"]


def test_a2_a_students_own_right_answer_scores_full_marks(a2, tmp_path):
    score = grade(a2, A2, "right", student_answer(A2, A2_RIGHT, tmp_path / f"{A2}.ipynb"))
    assert (score.score, score.failed_tests) == (10, [])


@pytest.mark.parametrize("student, wrong, expected, failed, messages", A2_WRONG,
                         ids=[case[0] for case in A2_WRONG])
def test_a2_wrong_answers_get_partial_credit(a2, tmp_path, student, wrong, expected, failed,
                                            messages):
    notebook = student_answer(A2, with_changes(A2_RIGHT, wrong), tmp_path / f"{A2}.ipynb")
    score = grade(a2, A2, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(a2, A2, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]


# -- A3: a tiny CNN on a parameter budget --------------------------------------------

A3 = "c1_a3_tiny_cnn"

A3_RIGHT = {
    "conv_output_size": """
        def conv_output_size(size, kernel_size, stride=1):
            return (size - kernel_size) // stride + 1
        """,
    "conv_params": """
        def conv_params(in_channels, filters, kernel_size):
            return filters * (kernel_size ** 2 * in_channels + 1)
        """,
    "build_tiny_cnn": """
        def build_tiny_cnn(input_shape, n_classes):
            return keras.Sequential([
                keras.Input(shape=input_shape),
                keras.layers.Conv2D(8, 3, strides=2, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(16, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(n_classes, activation="softmax"),
            ])
        """,
}

A3_WRONG = [
    # off by one: forgets the "+ 1" (the first position of the window)
    ("off_by_one", {"conv_output_size": """
        def conv_output_size(size, kernel_size, stride=1):
            return (size - kernel_size) // stride
        """}, 8, ["test_conv_output_size"], {"test_conv_output_size": "start at 0, 1, ..., 25"}),
    # forgets the biases
    ("no_bias", {"conv_params": """
        def conv_params(in_channels, filters, kernel_size):
            return kernel_size * kernel_size * in_channels * filters
        """}, 8, ["test_conv_params"], {"test_conv_params": "8 biases"}),
    # lesson 6's CNN: accurate, but 5,258 parameters: over budget, still earns Part 4
    ("over_budget", {"build_tiny_cnn": """
        def build_tiny_cnn(input_shape, n_classes):
            return keras.Sequential([
                keras.Input(shape=input_shape),
                keras.layers.Conv2D(8, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Conv2D(16, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(n_classes, activation="softmax"),
            ])
        """}, 7, ["test_build_tiny_cnn"], {"test_build_tiny_cnn": "5,258 parameters, over the budget"}),
]


@pytest.fixture(scope="module")
def a3(tmp_path_factory):
    return make_course(tmp_path_factory, A3)


def test_a3_solution_scores_full_marks(a3):
    score = grade(a3, A3, "solution", source(A3))
    assert (score.score, score.max_score) == (10, 10)


def test_a3_blank_student_edition_scores_zero(a3):
    score = grade(a3, A3, "blank", student_edition(A3))
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["test_accuracy", "test_build_tiny_cnn", "test_conv_output_size",
                                          "test_conv_params"]


def test_a3_a_students_own_right_answer_scores_full_marks(a3, tmp_path):
    score = grade(a3, A3, "right", student_answer(A3, A3_RIGHT, tmp_path / f"{A3}.ipynb"))
    assert (score.score, score.failed_tests) == (10, [])


@pytest.mark.parametrize("student, wrong, expected, failed, messages", A3_WRONG,
                         ids=[case[0] for case in A3_WRONG])
def test_a3_wrong_answers_get_partial_credit(a3, tmp_path, student, wrong, expected, failed,
                                            messages):
    notebook = student_answer(A3, with_changes(A3_RIGHT, wrong), tmp_path / f"{A3}.ipynb")
    score = grade(a3, A3, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(a3, A3, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]


# -- A4: a threshold under a false-accept budget (+ a manually graded reflection) ----

A4 = "c1_a4_threshold"

A4_RIGHT = {
    "false_accept_rate": """
        def false_accept_rate(y_true, scores, threshold):
            negatives = np.asarray(scores)[np.asarray(y_true) == 0]
            return float(np.sum(negatives >= threshold) / len(negatives))
        """,
    "recall": """
        def recall(y_true, scores, threshold):
            positives = np.asarray(scores)[np.asarray(y_true) == 1]
            return float(np.sum(positives >= threshold) / len(positives))
        """,
    "choose_threshold": """
        def choose_threshold(y_true, scores, max_false_accept_rate):
            for t in sorted(set(np.asarray(scores, dtype=float))):
                if false_accept_rate(y_true, scores, t) <= max_false_accept_rate:
                    return float(t)
            return float(np.nextafter(np.max(scores), np.inf))
        """,
    "apply": """
        my_threshold = choose_threshold(y_val, s_val, BUDGET)
        """,
    # answered, so it waits for a person (a stub left unchanged scores 0 automatically)
    "reflection": "The threshold keeps false accepts within budget; the misses fall on ...",
}

A4_WRONG = [
    # the false-accept rate divided by every clip, not by the non-keyword ones; the
    # threshold chosen with it is then wrong too
    ("far_over_all_clips", {"false_accept_rate": """
        def false_accept_rate(y_true, scores, threshold):
            scores = np.asarray(scores)
            return float(np.mean((scores >= threshold) & (np.asarray(y_true) == 0)))
        """}, 2, ["test_apply", "test_choose_threshold", "test_false_accept_rate"],
     {"test_false_accept_rate": "rate is 1/2"}),
    # off by one at the threshold: > instead of >=
    ("strict_recall", {"recall": """
        def recall(y_true, scores, threshold):
            return float(np.mean(np.asarray(scores)[np.asarray(y_true) == 1] > threshold))
        """}, 6, ["test_recall"], {"test_recall": "counts as a detection (>=)"}),
    # the highest threshold within budget: safe, but gives away recall
    ("highest_threshold", {"choose_threshold": """
        def choose_threshold(y_true, scores, max_false_accept_rate):
            ok = [t for t in np.unique(scores) if false_accept_rate(y_true, scores, t)
                  <= max_false_accept_rate]
            return float(max(ok))
        """}, 4, ["test_apply", "test_choose_threshold"],
     {"test_choose_threshold": "lowest threshold"}),
]


@pytest.fixture(scope="module")
def a4(tmp_path_factory):
    return make_course(tmp_path_factory, A4)


def test_a4_solution_scores_every_autograded_point_and_leaves_the_reflection(a4):
    score = grade(a4, A4, "solution", source(A4))
    assert (score.score, score.max_score, score.manual_points) == (8, 10, 2)
    assert score.failed_tests == []


def test_a4_blank_student_edition_scores_zero(a4):
    score = grade(a4, A4, "blank", student_edition(A4))
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["reflection", "test_apply", "test_choose_threshold",
                                          "test_false_accept_rate", "test_recall"]


def test_a4_a_students_own_right_answer_scores_full_autograded_marks(a4, tmp_path):
    score = grade(a4, A4, "right", student_answer(A4, A4_RIGHT, tmp_path / f"{A4}.ipynb"))
    assert (score.score, score.failed_tests, score.manual_points) == (8, [], 2)


@pytest.mark.parametrize("student, wrong, expected, failed, messages", A4_WRONG,
                         ids=[case[0] for case in A4_WRONG])
def test_a4_wrong_answers_get_partial_credit(a4, tmp_path, student, wrong, expected, failed,
                                            messages):
    notebook = student_answer(A4, with_changes(A4_RIGHT, wrong), tmp_path / f"{A4}.ipynb")
    score = grade(a4, A4, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(a4, A4, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]
