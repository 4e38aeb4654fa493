"""Operating points of a detector: what a threshold on its scores costs.

A wake-word model gives every sound a score (its probability of the keyword).
The product decides above which score it wakes up: the **threshold**. Each
choice trades **false accepts** (waking up for someone who did not say the
word) against **false rejects** (ignoring someone who did). These helpers count
both, draw them, and find the threshold that meets a budget.

A score equal to the threshold counts as a detection (``score >= threshold``).

Examples
--------
>>> import numpy as np
>>> from tinyml_lib import thresholds
>>> y = np.array([1, 1, 0, 0])
>>> s = np.array([0.9, 0.4, 0.6, 0.1])
>>> point = thresholds.at(y, s, 0.5)
>>> point["recall"], point["false_accept_rate"]
(0.5, 0.5)
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import plots


def _check(y_true, scores):
    y = np.asarray(y_true)
    s = np.asarray(scores, dtype=float)
    if y.ndim != 1 or s.ndim != 1:
        raise ValueError(f"y_true and scores must be one-dimensional; got shapes {y.shape} and "
                         f"{s.shape}.")
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores must have the same length; got {y.size} and "
                         f"{s.size}.")
    if y.size == 0:
        raise ValueError("y_true and scores are empty: pass at least one example.")
    if not np.all(np.isfinite(s)):
        raise ValueError("scores contain NaN or infinite values; check the model's outputs.")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError("y_true must hold 0 (not the keyword) or 1 (the keyword); "
                         f"got values {np.unique(y)[:5]}.")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("y_true needs both keyword (1) and other (0) examples to measure "
                         "false accepts and false rejects.")
    return y, s


def at(y_true, scores, threshold: float) -> dict:
    """Counts and rates at one threshold.

    Returns a dict with ``threshold, tp, fp, fn, tn, precision, recall,
    false_accept_rate`` (FP / negatives) and ``false_reject_rate`` (FN / positives).
    Precision is NaN when nothing is detected.
    """
    y, s = _check(y_true, scores)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
    detected = s >= threshold
    tp = int(np.sum(detected & y))
    fp = int(np.sum(detected & ~y))
    fn = int(np.sum(~detected & y))
    tn = int(np.sum(~detected & ~y))
    return {
        "threshold": float(threshold), "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "precision": tp / (tp + fp) if tp + fp else float("nan"),
        "recall": tp / (tp + fn),
        "false_accept_rate": fp / (fp + tn),
        "false_reject_rate": fn / (tp + fn),
    }


def sweep(y_true, scores) -> dict[str, np.ndarray]:
    """Every distinct operating point, from the lowest threshold to the highest.

    Returns arrays ``threshold, tp, fp, precision, recall, false_accept_rate``
    (one entry per distinct score; each threshold is a score).
    """
    y, s = _check(y_true, scores)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    tp_cum = np.cumsum(y_sorted)
    fp_cum = np.cumsum(~y_sorted)
    last_of_value = np.r_[s_sorted[1:] != s_sorted[:-1], True]  # ties detect together
    tp, fp, thr = tp_cum[last_of_value], fp_cum[last_of_value], s_sorted[last_of_value]
    positives, negatives = int(y.sum()), int((~y).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = tp / (tp + fp)
    result = {"threshold": thr, "tp": tp, "fp": fp, "precision": precision,
              "recall": tp / positives, "false_accept_rate": fp / negatives}
    return {k: v[::-1].copy() for k, v in result.items()}


def threshold_for(y_true, scores, max_false_accept_rate: float | None = None,
                  min_recall: float | None = None) -> float:
    """The threshold that meets a budget.

    With ``max_false_accept_rate``: the lowest threshold (so the highest recall)
    whose false-accept rate stays within the budget. With ``min_recall``: the
    highest threshold (so the fewest false accepts) that still reaches that recall.
    Give exactly one of the two.
    """
    if (max_false_accept_rate is None) == (min_recall is None):
        raise ValueError("give exactly one budget: max_false_accept_rate=... or min_recall=...")
    points = sweep(y_true, scores)
    if max_false_accept_rate is not None:
        if not 0 <= max_false_accept_rate <= 1:
            raise ValueError("max_false_accept_rate is a rate between 0 and 1; got "
                             f"{max_false_accept_rate!r}.")
        ok = points["false_accept_rate"] <= max_false_accept_rate
        if not ok.any():
            return float(np.nextafter(points["threshold"].max(), np.inf))  # detect nothing
        return float(points["threshold"][ok].min())
    if not 0 <= min_recall <= 1:
        raise ValueError(f"min_recall is a rate between 0 and 1; got {min_recall!r}.")
    ok = points["recall"] >= min_recall
    return float(points["threshold"][ok].max())


def plot_scores(y_true, scores, threshold: float | None = None, ax=None,
                names: tuple[str, str] = ("other sounds", "the keyword"), bins: int = 30):
    """Histograms of the scores of both classes, with the threshold as a line."""
    y, s = _check(y_true, scores)
    if ax is None:
        fig, ax = plots.figure()
    edges = np.linspace(min(0.0, s.min()), max(1.0, s.max()), bins + 1)
    ax.hist(s[~y], bins=edges, alpha=0.6, color="tab:blue", label=names[0])
    ax.hist(s[y], bins=edges, alpha=0.6, color="tab:orange", label=names[1])
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("score (model's probability of the keyword)")
    ax.set_ylabel("clips")
    ax.legend()
    return ax


def plot_precision_recall(y_true, scores, marks: Mapping[str, float] | None = None, ax=None):
    """Precision against recall over every threshold, with named operating points."""
    points = sweep(y_true, scores)
    if ax is None:
        fig, ax = plots.figure()
    ax.plot(points["recall"], points["precision"], color="tab:blue")
    for name, threshold in (marks or {}).items():
        point = at(y_true, scores, threshold)
        ax.plot(point["recall"], point["precision"], "o", markersize=8,
                label=f"{name} (threshold {threshold:.2f})")
    ax.set_xlabel("recall (share of keywords detected)")
    ax.set_ylabel("precision (share of wake-ups that were right)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    if marks:
        ax.legend(loc="lower left")
    return ax


def describe(point: Mapping, utterances_per_hour: float | None = None) -> str:
    """One sentence about an operating point (for alt text and printouts)."""
    text = (f"At threshold {point['threshold']:.2f} the detector finds "
            f"{100 * point['recall']:.0f}% of keywords and wakes by mistake for "
            f"{100 * point['false_accept_rate']:.1f}% of other sounds")
    if utterances_per_hour is not None:
        text += (f", about {point['false_accept_rate'] * utterances_per_hour:.1f} false "
                 f"wake-ups per hour at {utterances_per_hour:g} other sounds per hour")
    return text + "."


def explorer(y_true, scores, threshold: float = 0.5, utterances_per_hour: float = 600):
    """A threshold slider: the score histograms, the counts and what they mean per hour."""
    import ipywidgets as widgets

    _check(y_true, scores)
    slider = widgets.FloatSlider(value=threshold, min=0.0, max=1.0, step=0.01,
                                 description="threshold", continuous_update=False)
    rate = widgets.FloatLogSlider(value=utterances_per_hour, base=10, min=1, max=4, step=0.1,
                                  description="sounds/hour", continuous_update=False)

    def draw(threshold, per_hour):
        point = at(y_true, scores, threshold)
        fig, (left, right) = plots.figure(1, 2, figsize=(10, 3.5))
        plot_scores(y_true, scores, threshold, ax=left)
        plot_precision_recall(y_true, scores, {"now": threshold}, ax=right)
        precision = ("none detected" if np.isnan(point["precision"])
                     else f"{100 * point['precision']:.0f}%")
        left.set_title(f"{point['fp']} false accepts, {point['fn']} false rejects")
        right.set_title(f"recall {100 * point['recall']:.0f}%, precision {precision}")
        plots.show(fig, alt=describe(point, per_hour) + " Left: histograms of the scores of "
                   "keyword clips and other clips with the threshold line; right: the "
                   "precision-recall curve with the current point.")

    out = widgets.interactive_output(draw, {"threshold": slider, "per_hour": rate})
    return widgets.VBox([widgets.HBox([slider, rate]), out])


def keyword_scores(word: str = "yes", n_per_class: int | None = None, seed: int = 0):
    """Scores of a small keyword detector on clips from speakers it never heard.

    A logistic regression on pooled log-mel features is trained to tell ``word``
    from silence, other words and the other keyword ("no", or "yes" when
    ``word="no"``) on offline speech (:func:`tinyml_lib.datasets.load_keywords`);
    half of the speakers train it, a quarter give the validation clips (to
    choose a threshold on) and a quarter the test clips (to check it): no
    speaker is in two parts. No TensorFlow.

    Returns
    -------
    (y_val, s_val), (y_test, s_test), info
        Labels (1 = ``word``) and scores (probability of ``word``) of both
        halves, and a dict describing the data and the model.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from . import audio, config
    from .datasets import load_keywords

    if n_per_class is None:
        n_per_class = config.pick(fast=100, full=400)
    other = "no" if word != "no" else "yes"
    waves, labels, info = load_keywords([word, other], n_per_class, seed=seed, silence=True,
                                        unknown=True)
    speakers = np.asarray(info.details["speakers"])
    features = np.stack([_pooled(audio.log_mel(w)) for w in waves])
    y = (labels == word).astype(int)

    rng = np.random.default_rng(seed)
    unique = rng.permutation(np.unique(speakers))
    quarter = max(1, len(unique) // 4)   # a quarter of the speakers each for val and test
    val_speakers, test_speakers = set(unique[:quarter]), set(unique[quarter:2 * quarter])
    is_val = np.isin(speakers, list(val_speakers))
    is_test = np.isin(speakers, list(test_speakers))
    train = ~(is_val | is_test)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(features[train], y[train])
    scores = model.predict_proba(features)[:, 1]
    details = {"word": word, "n_train": int(train.sum()), "n_val": int(is_val.sum()),
               "n_test": int(is_test.sum()), "speakers": {"val": sorted(val_speakers),
                                                        "test": sorted(test_speakers)},
               "model": "logistic regression on pooled log-mel features",
               "source": info.source}
    return (y[is_val], scores[is_val]), (y[is_test], scores[is_test]), details


def _pooled(log_mel: np.ndarray, bins: int = 5) -> np.ndarray:
    """Mean and maximum of each band over the clip, and the band means in time bins."""
    chunks = np.array_split(log_mel, bins, axis=0)
    return np.concatenate([log_mel.mean(axis=0), log_mel.max(axis=0)]
                          + [chunk.mean(axis=0) for chunk in chunks])
