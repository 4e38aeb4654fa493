import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from tinyml_lib import evaluate


def test_confusion_matrix_counts_rows_true_columns_predicted():
    cm = evaluate.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], n_classes=3)
    assert cm.dtype == np.int64
    assert cm.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert cm.sum() == 6 and np.trace(cm) == 4


def test_confusion_matrix_matches_a_brute_force_count():
    rng = np.random.default_rng(0)
    t, p = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    cm = evaluate.confusion_matrix(t, p, 5)
    expected = [[int(np.sum((t == i) & (p == j))) for j in range(5)] for i in range(5)]
    assert cm.tolist() == expected
    assert cm.sum(axis=1).tolist() == np.bincount(t, minlength=5).tolist()


def test_confusion_matrix_keeps_classes_that_never_occur():
    assert evaluate.confusion_matrix([], [], 2).tolist() == [[0, 0], [0, 0]]
    assert evaluate.confusion_matrix([1], [1], 4).shape == (4, 4)


@pytest.mark.parametrize("t, p, n, match", [
    ([0, 1], [0], 2, "same length"),
    ([0, 3], [0, 1], 3, "outside 0..2"),
    ([0, -1], [0, 1], 3, "outside"),
    ([[0.1, 0.9]], [1], 2, "argmax"),
    ([0.5], [0], 2, "whole class numbers"),
    ([0], [0], 0, "positive integer"),
    ([0], [0], True, "positive integer"),
])
def test_confusion_matrix_rejects_bad_input(t, p, n, match):
    with pytest.raises(ValueError, match=match):
        evaluate.confusion_matrix(t, p, n)


def test_most_confused_lists_the_largest_mistakes_first():
    cm = np.array([[9, 0, 3], [1, 8, 0], [0, 5, 7]])
    assert evaluate.most_confused(cm, ["a", "b", "c"], k=2) == [("c", "b", 5), ("a", "c", 3)]
    assert evaluate.most_confused(cm, k=10) == [("2", "1", 5), ("0", "2", 3), ("1", "0", 1)]
    assert evaluate.most_confused(np.eye(3, dtype=int) * 4) == []
    with pytest.raises(ValueError, match="class names"):
        evaluate.most_confused(cm, ["a", "b"])


def test_plot_confusion_writes_every_nonzero_cell():
    cm = np.array([[5, 1], [0, 4]])
    ax = evaluate.plot_confusion(cm, ["cat", "dog"])
    assert sorted(t.get_text() for t in ax.texts) == ["1", "4", "5"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]
    ax = evaluate.plot_confusion(cm, ["cat", "dog"], normalize=True)
    assert sorted(t.get_text() for t in ax.texts) == ["0.17", "0.83", "1.00"]
    with pytest.raises(ValueError, match="class names"):
        evaluate.plot_confusion(cm, ["cat"])
    with pytest.raises(ValueError, match="square"):
        evaluate.plot_confusion(np.zeros((2, 3)), ["a", "b"])


class _History:  # what keras' model.fit returns, minus Keras
    def __init__(self, history):
        self.history = history


def test_plot_history_draws_training_solid_and_validation_dashed():
    run = _History({"loss": [1.0, 0.5, 0.3], "val_loss": [1.1, 0.7, 0.6]})
    ax = evaluate.plot_history(run)
    styles = [line.get_linestyle() for line in ax.get_lines()]
    assert styles == ["-", "--"]
    assert np.allclose(ax.get_lines()[1].get_ydata(), [1.1, 0.7, 0.6])
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]


def test_plot_history_accepts_dicts_and_several_labelled_runs():
    ax = evaluate.plot_history({"accuracy": [0.5, 0.9]}, metric="accuracy")
    assert len(ax.get_lines()) == 1
    runs = {"big": _History({"loss": [1, 0.1], "val_loss": [1, 2]}),
            "small": {"loss": [1, 0.5], "val_loss": [1, 0.6]}}
    ax = evaluate.plot_history(runs)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["big: training", "big: validation", "small: training",
                      "small: validation"]
    with pytest.raises(KeyError, match="metrics=\\['accuracy'\\]"):
        evaluate.plot_history(runs, metric="accuracy")
    with pytest.raises(TypeError, match="History"):
        evaluate.plot_history({"a": {"loss": [1]}, "b": 3})


def test_plot_probabilities_highlights_prediction_and_truth():
    ax = evaluate.plot_probabilities([0.1, 0.7, 0.2], ["a", "b", "c"], true=2)
    colors = [tuple(np.round(p.get_facecolor()[:3], 3)) for p in ax.patches]
    assert colors[1] != colors[0] and colors[2] not in (colors[0], colors[1])
    assert [t.get_text() for t in ax.texts] == ["0.10", "0.70", "0.20"]
    with pytest.raises(ValueError, match="one row of 3"):
        evaluate.plot_probabilities([[0.1, 0.7, 0.2]], ["a", "b", "c"])


def test_plot_predictions_marks_mistakes_in_red():
    x = np.zeros((3, 4, 4, 1), dtype=np.float32)
    axes = evaluate.plot_predictions(x, [0, 1, 1], [0, 0, 1], ["zero", "one"], ncols=2)
    assert axes.shape == (2, 2)
    titles = [a.get_title() for a in axes.flat]
    assert titles[:3] == ["true zero\npred zero", "true one\npred zero", "true one\npred one"]
    assert axes.flat[1].title.get_color() == "tab:red"
    assert axes.flat[0].title.get_color() == "black"
    with pytest.raises(ValueError, match="matching"):
        evaluate.plot_predictions(x, [0, 1], [0, 1], ["zero", "one"])
