"""Course 2 assignment 4 (vibration anomaly detection under a false-alarm budget) graded
end to end with nbgrader: full marks, zero, and the right partial credit for realistic
wrong answers."""

import pytest
from assignment_harness import AssignmentTests

pytestmark = pytest.mark.grading

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


class TestAnomalyDetection(AssignmentTests):
    ASSIGNMENT = "c2_a4_anomaly_detection"
    RIGHT = RIGHT
    WRONG = WRONG
    BLANK_FAILED = ("reflection", "test_anomaly_score", "test_apply", "test_auc",
                    "test_band_energies", "test_choose_threshold")
    MANUAL_POINTS = 2
