import numpy as np
import pytest

from tinyml_lib import thresholds

Y = np.array([1, 1, 1, 0, 0, 0, 0])
S = np.array([0.9, 0.7, 0.3, 0.8, 0.4, 0.2, 0.1])


def test_counts_at_a_threshold():
    point = thresholds.at(Y, S, 0.5)
    assert (point["tp"], point["fp"], point["fn"], point["tn"]) == (2, 1, 1, 3)
    assert point["recall"] == pytest.approx(2 / 3)
    assert point["precision"] == pytest.approx(2 / 3)
    assert point["false_accept_rate"] == pytest.approx(1 / 4)
    assert point["false_reject_rate"] == pytest.approx(1 / 3)
    # a score equal to the threshold is a detection
    assert thresholds.at(Y, S, 0.7)["tp"] == 2
    assert np.isnan(thresholds.at(Y, S, 0.95)["precision"])


def test_sweep_matches_at_for_every_threshold():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200)
    s = np.round(rng.random(200), 2)  # with ties
    points = thresholds.sweep(y, s)
    assert np.all(np.diff(points["threshold"]) > 0)
    assert np.all(np.diff(points["recall"]) <= 0)
    for i in range(0, len(points["threshold"]), 7):
        one = thresholds.at(y, s, points["threshold"][i])
        assert (one["tp"], one["fp"]) == (points["tp"][i], points["fp"][i])


def test_threshold_for_budgets():
    t = thresholds.threshold_for(Y, S, max_false_accept_rate=0.0)
    assert t == pytest.approx(0.9)  # 0.8 is a non-keyword: stay above it
    assert thresholds.at(Y, S, t)["false_accept_rate"] == 0
    t = thresholds.threshold_for(Y, S, max_false_accept_rate=0.25)
    assert t == pytest.approx(0.7)
    t = thresholds.threshold_for(Y, S, min_recall=1.0)
    assert t == pytest.approx(0.3) and thresholds.at(Y, S, t)["recall"] == 1.0
    with pytest.raises(ValueError, match="exactly one budget"):
        thresholds.threshold_for(Y, S)
    with pytest.raises(ValueError, match="between 0 and 1"):
        thresholds.threshold_for(Y, S, min_recall=2)


@pytest.mark.parametrize("y, s, message", [
    ([1, 0], [0.5], "same length"),
    ([1, 0], [0.5, np.nan], "NaN"),
    ([1, 2], [0.5, 0.4], "0 \\(not the keyword\\) or 1"),
    ([1, 1], [0.5, 0.4], "both keyword"),
    ([], [], "empty"),
    ([[1, 0]], [[0.5, 0.4]], "one-dimensional"),
])
def test_bad_input_is_explained(y, s, message):
    with pytest.raises(ValueError, match=message):
        thresholds.at(y, s, 0.5)


def test_plots_describe_and_explorer():
    ax = thresholds.plot_scores(Y, S, 0.5)
    assert ax.get_xlabel().startswith("score")
    ax = thresholds.plot_precision_recall(Y, S, {"policy": 0.5})
    assert "policy" in ax.get_legend().get_texts()[0].get_text()
    text = thresholds.describe(thresholds.at(Y, S, 0.5), utterances_per_hour=600)
    assert "67% of keywords" in text and "150.0 false wake-ups per hour" in text
    box = thresholds.explorer(Y, S)
    assert len(box.children) == 2


def test_keyword_scores_come_from_a_real_detector_on_unseen_speakers(cache):
    (y_val, s_val), (y_test, s_test), info = thresholds.keyword_scores("yes", n_per_class=40)
    assert set(info["speakers"]["val"]).isdisjoint(info["speakers"]["test"])
    assert len(y_val) == info["n_val"] and len(y_test) == info["n_test"]
    for y, s in ((y_val, s_val), (y_test, s_test)):
        assert 0 < y.sum() < len(y)
        assert np.all((0 <= s) & (s <= 1))
        # better than chance: keyword clips score higher than the rest on average
        assert s[y == 1].mean() > s[y == 0].mean() + 0.2
    again = thresholds.keyword_scores("yes", n_per_class=40)
    assert np.array_equal(again[0][1], s_val)
