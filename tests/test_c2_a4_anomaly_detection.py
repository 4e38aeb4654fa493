"""Course 2 assignment 4 (vibration anomaly detection under a false-alarm budget) graded
end to end with nbgrader: full marks, zero, and the right partial credit for realistic
wrong answers."""

from pathlib import Path

import pytest

from conftest import REPO, feedback, fill_answers, with_changes
from grading.nbgrader_course import Course

pytestmark = pytest.mark.grading

A4 = "c2_a4_anomaly_detection"
SOURCE = REPO / "course2/assignments" / A4 / f"{A4}.ipynb"
STUDENT_EDITION = REPO / "release/course2/assignments" / A4 / f"{A4}.ipynb"

RIGHT = {
    "band_energies": """
        def band_energies(clips, n_bands):
            spectrum = np.fft.rfft(clips, axis=1)
            power = (spectrum.real ** 2 + spectrum.imag ** 2)[:, 1:]
            bands = [part.sum(axis=1) for part in np.array_split(power, n_bands, axis=1)]
            return np.log10(np.column_stack(bands) + 1e-10)
        """,
    "anomaly_score": """
        def anomaly_score(features, centroids):
            scores = []
            for row in np.asarray(features):
                scores.append(min(np.linalg.norm(row - c) for c in np.asarray(centroids)))
            return np.array(scores)
        """,
    "choose_threshold": """
        def choose_threshold(healthy_scores, max_false_alarm_rate):
            s = np.sort(np.asarray(healthy_scores, dtype=float))
            for t in s:
                if np.sum(s >= t) / len(s) <= max_false_alarm_rate:
                    return float(t)
            return float(np.nextafter(s[-1], np.inf))
        """,
    "auc": """
        def auc(y_true, scores):
            y, s = np.asarray(y_true), np.asarray(scores)
            wins = 0.0
            for f in s[y == 1]:
                for h in s[y == 0]:
                    wins += 1.0 if f > h else (0.5 if f == h else 0.0)
            return wins / (np.sum(y == 1) * np.sum(y == 0))
        """,
    "apply": """
        my_threshold = choose_threshold(s_val, BUDGET)
        """,
    # answered, so it waits for a person (a stub left unchanged scores 0 automatically)
    "reflection": "On the test clips the false-alarm rate is ... and drift is missed because ...",
}

WRONG = [
    # forgot to drop the 0 Hz bin: Part 1 fails, the rest of the detector still works
    ("keeps_dc", {"band_energies": """
        def band_energies(clips, n_bands):
            power = np.abs(np.fft.rfft(clips, axis=1)) ** 2
            return np.log10(np.stack([g.sum(axis=1) for g in np.array_split(power, n_bands, axis=1)], 1) + 1e-10)
        """}, 6, ["test_band_energies"], {"test_band_energies": "drop the first frequency bin"}),
    # squared distance: ranks clips the same, but it is not the distance asked for
    ("squared_distance", {"anomaly_score": """
        def anomaly_score(features, centroids):
            return ((features[:, None, :] - centroids[None]) ** 2).sum(axis=2).min(axis=1)
        """}, 6, ["test_anomaly_score"], {"test_anomaly_score": "use the Euclidean distance"}),
    # the (1 - budget) quantile: within budget, but not the lowest threshold, so Part 5 too
    ("quantile_threshold", {"choose_threshold": """
        def choose_threshold(healthy_scores, max_false_alarm_rate):
            return float(np.quantile(healthy_scores, 1 - max_false_alarm_rate))
        """}, 5, ["test_apply", "test_choose_threshold"],
     {"test_choose_threshold": "lets exactly 0.9 and 1.0 through",
      "test_apply": "choose the threshold on the healthy validation scores"}),
    # ties counted as wins
    ("ties_as_wins", {"auc": """
        def auc(y_true, scores):
            y, s = np.asarray(y_true), np.asarray(scores)
            return float(np.mean(s[y == 1][:, None] >= s[y == 0][None, :]))
        """}, 7, ["test_auc"], {"test_auc": "a tie counts as one half"}),
    # the threshold chosen on the training clips, which k-means has seen: too low
    ("threshold_on_training", {"apply": """
        my_threshold = choose_threshold(anomaly_score(z_train, centroids), BUDGET)
        """}, 7, ["test_apply"], {"test_apply": "choose the threshold on the healthy validation scores s_val"}),
]


def student_answer(answers: dict, path: Path) -> Path:
    return fill_answers(STUDENT_EDITION, answers, path)


def grade(course, student, notebook):
    course.submit(student, A4, [notebook])
    return course.autograde(A4, student)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    course = Course(tmp_path_factory.mktemp(A4))
    course.add_source(A4, [SOURCE])
    course.generate(A4)
    return course


def test_solution_scores_every_autograded_point_and_leaves_the_reflection(course):
    score = grade(course, "solution", SOURCE)
    assert (score.score, score.max_score, score.manual_points) == (8, 10, 2)
    assert score.failed_tests == []


def test_blank_student_edition_scores_zero(course):
    score = grade(course, "blank", STUDENT_EDITION)
    assert (score.score, score.max_score) == (0, 10)
    assert sorted(score.failed_tests) == ["reflection", "test_anomaly_score", "test_apply",
                                          "test_auc", "test_band_energies",
                                          "test_choose_threshold"]


def test_a_students_own_right_answer_scores_full_autograded_marks(course, tmp_path):
    score = grade(course, "right", student_answer(RIGHT, tmp_path / f"{A4}.ipynb"))
    assert (score.score, score.failed_tests, score.manual_points) == (8, [], 2)


@pytest.mark.parametrize("student, wrong, expected, failed, messages", WRONG,
                         ids=[case[0] for case in WRONG])
def test_wrong_answers_get_partial_credit(course, tmp_path, student, wrong, expected, failed,
                                          messages):
    notebook = student_answer(with_changes(RIGHT, wrong), tmp_path / f"{A4}.ipynb")
    score = grade(course, student, notebook)
    assert score.score == expected
    assert sorted(score.failed_tests) == failed
    shown = feedback(course, A4, student)
    for grade_id, text in messages.items():
        assert text in shown[grade_id], shown[grade_id]
