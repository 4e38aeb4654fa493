"""Judging a classifier: confusion matrix, training curves, predictions shown as pictures.

:func:`confusion_matrix` / :func:`plot_confusion`
    How often each true class was predicted as each class, and which pairs of
    classes the model mixes up (:func:`most_confused`).
:func:`plot_history`
    Training curves (loss or accuracy per epoch), training solid and
    validation dashed, for one or several Keras runs.
:func:`plot_probabilities`
    A classifier's output for one example (softmax probabilities) as bars.
:func:`plot_predictions`
    Images titled with their true and predicted class; mistakes in red.

Only NumPy and Matplotlib are used: Keras ``History`` objects are read through
their ``.history`` dictionary, so this module never imports TensorFlow.

Examples
--------
>>> from tinyml_lib import evaluate
>>> cm = evaluate.confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], n_classes=3)
>>> cm.tolist()
[[1, 1, 0], [0, 1, 0], [0, 0, 1]]
>>> evaluate.most_confused(cm, ["a", "b", "c"], k=1)
[('a', 'b', 1)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import plots


def _labels(name: str, values) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D sequence of class numbers; got shape "
                         f"{array.shape}. (Class probabilities? Take .argmax(axis=1) first.)")
    if array.size and not np.all(np.equal(np.mod(array, 1), 0)):
        raise ValueError(f"{name} must hold whole class numbers 0, 1, 2, ...")
    return array.astype(np.int64)


def confusion_matrix(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Count predictions per (true class, predicted class).

    Parameters
    ----------
    y_true, y_pred : 1-D sequences of int
        True and predicted class numbers, in ``0 .. n_classes - 1``.
    n_classes : int

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
        ``cm[i, j]`` is how many examples of class ``i`` were predicted as ``j``:
        rows are the truth, columns the prediction, the diagonal the correct ones.
    """
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) \
            or n_classes < 1:
        raise ValueError(f"n_classes must be a positive integer; got {n_classes!r}.")
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same length; got {y_true.size} "
                         f"and {y_pred.size}.")
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
            raise ValueError(f"{name} has class numbers outside 0..{n_classes - 1} "
                             f"(found {labels.min()}..{labels.max()}).")
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def most_confused(cm, classes: Sequence[str] | None = None, k: int = 3):
    """The ``k`` most frequent mistakes, as ``(true class, predicted class, count)``.

    Only off-diagonal cells with at least one example are listed, largest first
    (ties in row-major order).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square confusion matrix; got shape {cm.shape}.")
    names = list(classes) if classes is not None else [str(i) for i in range(cm.shape[0])]
    if len(names) != cm.shape[0]:
        raise ValueError(f"{len(names)} class names for a {cm.shape[0]}-class matrix.")
    off = cm.astype(float).copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")
    pairs = []
    for flat in order[:max(int(k), 0)]:
        i, j = np.unravel_index(flat, cm.shape)
        if off[i, j] <= 0:
            break
        pairs.append((names[i], names[j], int(cm[i, j])))
    return pairs


def plot_confusion(cm, classes: Sequence[str], ax=None, normalize: bool = False):
    """Draw a confusion matrix as a heat map with the count (or share) in every cell.

    Parameters
    ----------
    cm : array of shape (C, C)
        From :func:`confusion_matrix`: rows true class, columns predicted class.
    classes : list of str
        The C class names.
    normalize : bool
        Show each row as fractions of its true class (the diagonal is then the
        recall of each class) instead of counts.

    Returns
    -------
    matplotlib Axes
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm must be a square confusion matrix; got shape {cm.shape}.")
    if len(classes) != cm.shape[0]:
        raise ValueError(f"{len(classes)} class names for a {cm.shape[0]}-class matrix.")
    values = cm.astype(float)
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        values = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    if ax is None:
        size = 1.6 + 0.32 * cm.shape[0]
        _, ax = plots.figure(figsize=(size + 1.0, size))
    image = ax.imshow(values, cmap="Blues", vmin=0)
    top = values.max() if values.size else 0
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            if values[i, j] == 0:
                continue
            text = f"{values[i, j]:.2f}" if normalize else f"{int(cm[i, j])}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7,
                    color="white" if values[i, j] > 0.6 * top else "black")
    ticks = np.arange(cm.shape[0])
    ax.set_xticks(ticks, labels=list(classes), rotation=45, ha="right", fontsize=8)
    ax.set_yticks(ticks, labels=list(classes), fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.figure.colorbar(image, ax=ax, shrink=0.8,
                       label="share of the true class" if normalize else "images")
    return ax


def _history_dict(run) -> Mapping[str, Sequence[float]]:
    history = getattr(run, "history", run)
    if not isinstance(history, Mapping):
        raise TypeError("pass a Keras History (what model.fit returns) or its .history "
                        f"dictionary; got {type(run).__name__}.")
    return history


def plot_history(runs, metric: str = "loss", ax=None):
    """Training curves: ``metric`` per epoch, training solid and validation dashed.

    Parameters
    ----------
    runs : History, dict, or a mapping of label -> History / dict
        One training run (what ``model.fit`` returns, or its ``.history``), or
        several keyed by the label to show in the legend.
    metric : str
        ``"loss"``, ``"accuracy"``, ...; ``"val_" + metric`` is drawn when present.

    Returns
    -------
    matplotlib Axes
    """
    if hasattr(runs, "history") or (isinstance(runs, Mapping) and runs
                                     and not hasattr(next(iter(runs.values())), "history")
                                     and not isinstance(next(iter(runs.values())), Mapping)):
        runs = {"": runs}
    if not isinstance(runs, Mapping) or not runs:
        raise ValueError("runs must be a History, a history dict, or a non-empty mapping of "
                         "label -> History.")
    if ax is None:
        _, ax = plots.figure()
    colors = [f"C{i}" for i in range(10)]
    for index, (label, run) in enumerate(runs.items()):
        history = _history_dict(run)
        if metric not in history:
            raise KeyError(f"no {metric!r} in this history; it has {sorted(history)}. "
                           "Did you compile with metrics=['accuracy']?")
        color = colors[index % len(colors)]
        prefix = f"{label}: " if label else ""
        train = np.asarray(history[metric], dtype=float)
        epochs = np.arange(1, train.size + 1)
        ax.plot(epochs, train, color=color, label=f"{prefix}training")
        if f"val_{metric}" in history:
            val = np.asarray(history[f"val_{metric}"], dtype=float)
            ax.plot(np.arange(1, val.size + 1), val, color=color, linestyle="--",
                    label=f"{prefix}validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def plot_probabilities(probabilities, classes: Sequence[str], true: int | None = None,
                       ax=None):
    """One example's class probabilities as bars; the true class (if given) in green.

    Parameters
    ----------
    probabilities : 1-D array of length C
        E.g. one row of ``model.predict(...)`` for a softmax output.
    classes : list of str
    true : int, optional
        The true class number, highlighted.

    Returns
    -------
    matplotlib Axes
    """
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 1 or p.size != len(classes):
        raise ValueError(f"probabilities must be one row of {len(classes)} numbers; got "
                         f"shape {p.shape}.")
    if ax is None:
        _, ax = plots.figure(figsize=(6, 2.8))
    colors = ["tab:gray"] * p.size
    colors[int(np.argmax(p))] = "tab:blue"
    if true is not None:
        colors[int(true)] = "tab:green"
    bars = ax.bar(np.arange(p.size), p, color=colors)
    for bar, value in zip(bars, p):
        if value >= 0.01:
            ax.text(bar.get_x() + bar.get_width() / 2, value + 0.02, f"{value:.2f}",
                    ha="center", fontsize=7)
    ax.set_xticks(np.arange(p.size), labels=list(classes), rotation=45, ha="right",
                  fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("probability")
    return ax


def plot_predictions(x, y_true, y_pred, classes: Sequence[str], n: int = 16,
                     ncols: int = 8):
    """Images titled "true / predicted"; wrong predictions in red.

    Parameters
    ----------
    x : array (N, H, W) or (N, H, W, 1), values in [0, 1]
    y_true, y_pred : 1-D arrays of int
    classes : list of str
    n, ncols : int
        How many images (the first ``n``), and how many per row.

    Returns
    -------
    numpy array of Axes; pass ``axes.flat[0].figure`` to :func:`tinyml_lib.plots.show`.
    """
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    y_true, y_pred = _labels("y_true", y_true), _labels("y_pred", y_pred)
    if x.ndim != 3 or x.shape[0] == 0 or not x.shape[0] == y_true.size == y_pred.size:
        raise ValueError(f"x must be a non-empty stack of N images matching y_true and y_pred; "
                         f"got x {x.shape}, {y_true.size} and {y_pred.size} labels.")
    n = max(1, min(int(n), x.shape[0]))
    ncols = max(1, min(int(ncols), n))
    nrows = -(-n // ncols)
    _, axes = plots.figure(nrows, ncols, figsize=(1.3 * ncols, 1.6 * nrows), squeeze=False)
    for i, axis in enumerate(axes.flat):
        axis.set_axis_off()
        if i >= n:
            continue
        axis.imshow(x[i], cmap="gray", vmin=0, vmax=1)
        right = y_true[i] == y_pred[i]
        axis.set_title(f"true {classes[y_true[i]]}\npred {classes[y_pred[i]]}", fontsize=7,
                       color="black" if right else "tab:red")
    return axes
