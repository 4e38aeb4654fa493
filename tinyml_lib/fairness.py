"""Decision thresholds and fairness: one threshold, or one per group, and what each costs.

A model that outputs a score is turned into a decision by a threshold: an
example is predicted positive when ``score >= threshold`` (a score exactly at
the threshold counts as positive). One threshold for everyone can still treat
groups unequally, because the scores do not mean the same thing in every group.
This module computes, compares and shows the usual ways of choosing thresholds:

- :func:`threshold_strategies` -- a table with one row per (strategy, group):
  threshold, selection rate, TPR, FPR, precision and accuracy, for the
  strategies in :data:`STRATEGIES` (defined precisely there);
- :func:`metrics_at` / :func:`metric_frame` -- the same per-group metrics at
  thresholds you choose, from Fairlearn's ``MetricFrame``;
- :func:`plot_roc`, :func:`plot_strategies` -- ROC curves with operating
  points, and the strategies side by side; :func:`describe` and
  :func:`describe_roc` write the alt text for them;
- :func:`explore` -- an ipywidgets view with a threshold slider per group,
  live metrics, ROC curves and a strategy picker;
- :func:`fairlearn_optimizer` -- Fairlearn's ``ThresholdOptimizer`` fitted on
  the same scores (its thresholds are randomized, ours are deterministic);
- :func:`what_if_tool` -- Google's What-If Tool when it installs and renders;
  ``None`` (with a one-line reason) when it does not.

pandas, Fairlearn, scikit-learn, Matplotlib and ipywidgets load on first use.

Examples
--------
>>> import numpy as np
>>> from tinyml_lib import fairness
>>> rng = np.random.default_rng(0)
>>> groups = rng.choice(["a", "b"], size=2000)
>>> y = rng.random(2000) < np.where(groups == "a", 0.4, 0.2)
>>> scores = np.clip(0.5 * y + rng.normal(0.25, 0.2, 2000), 0, 1)
>>> table = fairness.threshold_strategies(y, scores, groups)
>>> sorted(table["strategy"].unique()) == sorted(fairness.STRATEGIES)
True
>>> dp = table[table["strategy"] == "demographic_parity"]
>>> bool(np.ptp(dp["selection_rate"]) <= fairness.TOLERANCE)
True
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import plots

__all__ = ["STRATEGIES", "TOLERANCE", "describe", "describe_roc", "explore", "fairlearn_optimizer",
           "metric_frame", "metrics_at", "plot_roc", "plot_strategies", "strategy_thresholds",
           "threshold_strategies", "what_if_tool", "what_if_tool_status"]

#: The threshold strategies of :func:`threshold_strategies`, and what each one picks.
#: "Overall accuracy" is the fraction of all examples (every group together)
#: classified correctly; a threshold is always one of the observed scores of its
#: group, or ``inf`` (nobody selected).
STRATEGIES = {
    "single": "one threshold for everyone, the one that maximises overall accuracy",
    "group": "one threshold per group, each maximising its group's accuracy "
             "(which also maximises overall accuracy)",
    "demographic_parity": "one threshold per group such that the groups' selection rates "
                          "differ by at most the tolerance; among all such choices, the one "
                          "with the highest overall accuracy",
    "equal_opportunity": "one threshold per group such that the groups' true-positive rates "
                         "differ by at most the tolerance; among all such choices, the one "
                         "with the highest overall accuracy",
    "equal_accuracy": "one threshold per group such that the groups' accuracies differ by at "
                      "most the tolerance; among all such choices, the one with the highest "
                      "overall accuracy",
}

#: Default tolerance of the parity strategies: the largest allowed difference
#: between the groups' rates (selection rate, TPR or accuracy).
TOLERANCE = 0.01

#: The columns of the table returned by :func:`threshold_strategies`.
COLUMNS = ["strategy", "group", "threshold", "n", "selection_rate", "tpr", "fpr", "precision",
           "accuracy", "overall_accuracy"]

_CONSTRAINED = {"demographic_parity": "selection_rate", "equal_opportunity": "tpr",
                "equal_accuracy": "accuracy"}

_LABELS = {"single": "single threshold", "group": "group thresholds",
           "demographic_parity": "demographic parity", "equal_opportunity": "equal opportunity",
           "equal_accuracy": "equal accuracy"}

_METRIC_NAMES = {"selection_rate": "selection rate", "tpr": "TPR", "fpr": "FPR",
                 "precision": "precision", "accuracy": "accuracy"}

_EPS = 1e-12


# --------------------------------------------------------------------------- input checks

def _vector(name: str, values) -> np.ndarray:
    if hasattr(values, "to_numpy"):            # pandas Series / Index
        values = values.to_numpy()
    array = np.asarray(values)
    if array.ndim == 2 and 1 in array.shape:
        array = array.reshape(-1)
    if array.ndim != 1:
        hint = (" For predict_proba output of shape (n, 2) pass the positive column, "
                "scores[:, 1]." if name == "scores" and array.ndim == 2 else "")
        raise ValueError(f"{name} must be one-dimensional (one value per example); got shape "
                         f"{array.shape}.{hint}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: pass at least one example per group.")
    return array


def _check_labels(y_true) -> np.ndarray:
    y = _vector("y_true", y_true)
    if y.dtype == bool:
        return y.astype(np.int8)
    try:
        numeric = y.astype(float)
    except (TypeError, ValueError):
        found = ", ".join(repr(v) for v in list(dict.fromkeys(y.tolist()))[:5])
        raise ValueError(f"y_true must hold 0/1 labels (1 = the positive outcome); found "
                         f"{found}. Convert first, e.g. y_true = (labels == '>50K')"
                         f".astype(int).") from None
    bad = ~np.isin(numeric, (0.0, 1.0))
    if bad.any():
        found = ", ".join(repr(v) for v in np.unique(numeric[bad])[:5].tolist())
        raise ValueError(f"y_true must hold only 0 and 1 (1 = the positive outcome); found "
                         f"{found}. Binarize the labels first, e.g. y_true = (y == "
                         f"positive_class).astype(int).")
    return numeric.astype(np.int8)


def _check_scores(scores) -> np.ndarray:
    s = _vector("scores", scores)
    if s.dtype == bool or not np.issubdtype(s.dtype, np.number):
        raise ValueError(f"scores must be numbers (the model's score or probability for the "
                         f"positive class); got dtype {s.dtype}.")
    s = s.astype(float)
    finite = np.isfinite(s)
    if not finite.all():
        nan = int(np.isnan(s).sum())
        inf = int((~finite).sum()) - nan
        first = int(np.flatnonzero(~finite)[0])
        raise ValueError(f"scores contain {nan} NaN and {inf} infinite values (the first at "
                         f"position {first}); thresholds need a finite score for every "
                         f"example: drop those rows or fix the model's output.")
    return s


def _check_tolerance(tolerance) -> float:
    try:
        tol = float(tolerance)
    except (TypeError, ValueError):
        tol = float("nan")
    if not 0 < tol < 1:
        raise ValueError(f"tolerance is the largest allowed difference between the groups' "
                         f"rates, a number between 0 and 1 (e.g. 0.01); got {tolerance!r}.")
    return tol


def _check_strategies(strategies) -> list[str]:
    if strategies is None:
        return list(STRATEGIES)
    if isinstance(strategies, str):
        strategies = [strategies]
    names = list(dict.fromkeys(strategies))
    if not names:
        raise ValueError(f"strategies is empty; pass None for all of them or some of: "
                         f"{', '.join(STRATEGIES)}.")
    unknown = [s for s in names if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategy {unknown[0]!r}; choose from: "
                         f"{', '.join(STRATEGIES)}.")
    return names


@dataclass
class _Curve:
    """Every distinct decision of one set of examples, from strictest to most lenient.

    ``thresholds[j]`` is ``inf`` for j = 0 (nobody selected), then the distinct
    scores in decreasing order; ``tp[j]`` / ``fp[j]`` count the positives /
    negatives with ``score >= thresholds[j]``.
    """

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    positives: int
    negatives: int
    # scores of the examples in increasing order, for counting at any threshold
    sorted_scores: np.ndarray = field(repr=False)
    cum_pos_desc: np.ndarray = field(repr=False)

    @property
    def n(self) -> int:
        return self.positives + self.negatives

    @property
    def correct(self) -> np.ndarray:
        return self.tp + (self.negatives - self.fp)

    def metric(self, name: str) -> np.ndarray:
        if name == "selection_rate":
            return (self.tp + self.fp) / self.n
        if name == "tpr":
            return self.tp / self.positives
        if name == "fpr":
            return self.fp / self.negatives
        if name == "accuracy":
            return self.correct / self.n
        raise KeyError(name)

    def counts_at(self, threshold: float) -> tuple[int, int]:
        """(true positives, false positives) with ``score >= threshold``."""
        selected = self.n - int(np.searchsorted(self.sorted_scores, threshold, side="left"))
        if selected == 0:
            return 0, 0
        tp = int(self.cum_pos_desc[selected - 1])
        return tp, selected - tp

    def index_of(self, threshold: float) -> int:
        """Index j of the decision ``score >= threshold`` in this curve."""
        return int(np.searchsorted(-self.thresholds[1:], -threshold, side="right"))


def _curve(scores_desc: np.ndarray, y_desc: np.ndarray) -> _Curve:
    m = scores_desc.size
    cum_pos = np.cumsum(y_desc, dtype=np.int64)
    cum_neg = np.arange(1, m + 1, dtype=np.int64) - cum_pos
    last = np.append(np.flatnonzero(scores_desc[1:] != scores_desc[:-1]), m - 1)
    positives = int(cum_pos[-1])
    return _Curve(thresholds=np.concatenate(([np.inf], scores_desc[last])),
                  tp=np.concatenate(([0], cum_pos[last])),
                  fp=np.concatenate(([0], cum_neg[last])),
                  positives=positives, negatives=m - positives,
                  sorted_scores=scores_desc[::-1].copy(), cum_pos_desc=cum_pos)


@dataclass
class _Data:
    y: np.ndarray
    scores: np.ndarray
    codes: np.ndarray
    labels: list
    curves: list
    overall: _Curve


def _prepare(y_true, scores, groups) -> _Data:
    import pandas as pd

    y = _check_labels(y_true)
    s = _check_scores(scores)
    g = _vector("groups", groups)
    if not (len(y) == len(s) == len(g)):
        raise ValueError(f"y_true, scores and groups need one entry per example; got lengths "
                         f"{len(y)}, {len(s)} and {len(g)}.")
    try:
        codes, labels = pd.factorize(g, sort=True)
    except TypeError:                      # labels that cannot be compared: keep first seen order
        codes, labels = pd.factorize(g, sort=False)
    if (codes < 0).any():
        first = int(np.flatnonzero(codes < 0)[0])
        raise ValueError(f"groups has missing values (the first at position {first}); give every "
                         f"example a group, e.g. groups.fillna('unknown').")
    labels = [lab.item() if isinstance(lab, np.generic) else lab for lab in list(labels)]
    if len(labels) < 2:
        raise ValueError(f"groups has only one value ({labels[0]!r}); comparing thresholds "
                         f"between groups needs at least two groups. Pass the column that "
                         f"defines the groups (e.g. df['sex']).")
    order = np.lexsort((-s, codes))
    s_sorted, y_sorted = s[order], y[order]
    bounds = np.searchsorted(codes[order], np.arange(len(labels) + 1))
    curves = []
    for k, label in enumerate(labels):
        lo, hi = bounds[k], bounds[k + 1]
        curve = _curve(s_sorted[lo:hi], y_sorted[lo:hi])
        for count, what, rate in ((curve.positives, "positive (y_true == 1)", "TPR"),
                                  (curve.negatives, "negative (y_true == 0)", "FPR")):
            if count == 0:
                raise ValueError(f"group {label!r} has no {what} examples, so its {rate} is "
                                 f"undefined; every group needs both outcomes. Merge the group "
                                 f"with another one or leave it out.")
        curves.append(curve)
    overall_order = np.argsort(-s, kind="stable")
    overall = _curve(s[overall_order], y[overall_order])
    return _Data(y=y, scores=s, codes=codes, labels=labels, curves=curves, overall=overall)


# --------------------------------------------------------------------------- the strategies

def _best_index(correct: np.ndarray) -> int:
    """The most accurate decision; on a tie the highest threshold (fewest selected)."""
    return int(np.argmax(correct))


def _parity_choice(curves: Sequence[_Curve], metric: str, tol: float):
    """Per-group indices with max - min of ``metric`` <= tol and the most correct overall.

    The band [c, c + tol] slides over every value c that some group can reach;
    in each band every group takes its most accurate decision inside the band,
    and the band with the most correct decisions overall wins (ties: the
    smaller spread, then the lower band). The optimum always has its minimum
    at some reachable value, so this search is exact. Returns (indices, spread)
    or None when no band of width tol holds a decision of every group.
    """
    values = [c.metric(metric) for c in curves]
    candidates = np.unique(np.concatenate(values))
    width = max(len(v) for v in values)
    totals = np.zeros(candidates.size, dtype=np.int64)
    feasible = np.ones(candidates.size, dtype=bool)
    chosen = []
    for curve, m in zip(curves, values):
        order = np.argsort(m, kind="stable")
        ms = m[order]
        # key: most correct first, then the highest threshold (smallest index)
        key = curve.correct[order] * (width + 1) + (width - order)
        key = np.append(key, -1)
        lo = np.searchsorted(ms, candidates - _EPS, side="left")
        hi = np.searchsorted(ms, candidates + tol + _EPS, side="right")
        ok = hi > lo
        bounds = np.empty(2 * lo.size, dtype=np.intp)
        bounds[0::2], bounds[1::2] = lo, hi
        best = np.maximum.reduceat(key, bounds)[0::2]
        feasible &= ok
        totals += np.where(ok, best // (width + 1), 0)
        chosen.append(width - best % (width + 1))
    if not feasible.any():
        return None
    chosen = np.stack(chosen)                              # (groups, candidates)
    reached = np.stack([m[np.where(feasible, idx, 0)] for m, idx in zip(values, chosen)])
    spread = reached.max(axis=0) - reached.min(axis=0)
    rank = np.lexsort((candidates, spread, -totals, ~feasible))
    best = rank[0]
    return [int(i) for i in chosen[:, best]], float(spread[best])


def _smallest_spread(curves: Sequence[_Curve], metric: str) -> float:
    """The smallest max - min of ``metric`` any choice of per-group thresholds can reach."""
    values = [np.sort(c.metric(metric)) for c in curves]
    candidates = np.unique(np.concatenate(values))
    top = np.zeros(candidates.size)
    for ms in values:
        pos = np.searchsorted(ms, candidates - _EPS, side="left")
        top = np.maximum(top, np.where(pos < ms.size, ms[np.minimum(pos, ms.size - 1)], np.inf))
    return float(np.min(top - candidates))


def _choose(data: _Data, strategy: str, tol: float) -> list[float]:
    """The threshold of each group (in the order of ``data.labels``) under ``strategy``."""
    curves = data.curves
    if strategy == "single":
        t = float(data.overall.thresholds[_best_index(data.overall.correct)])
        return [t] * len(curves)
    if strategy == "group":
        return [float(c.thresholds[_best_index(c.correct)]) for c in curves]
    metric = _CONSTRAINED[strategy]
    found = _parity_choice(curves, metric, tol)
    if found is None:
        reachable = _smallest_spread(curves, metric)
        warnings.warn(f"{strategy}: no thresholds make the groups' {_METRIC_NAMES[metric]} "
                      f"differ by at most {tol:g} on this data (too few examples or too many "
                      f"tied scores); using the smallest difference reachable, "
                      f"{reachable:.4f}.", UserWarning, stacklevel=3)
        found = _parity_choice(curves, metric, reachable + 1e-9)
    return [float(c.thresholds[j]) for c, j in zip(curves, found[0])]


def _rows(data: _Data, strategy: str, thresholds: Sequence[float]) -> list[dict]:
    indices = [c.index_of(t) for c, t in zip(data.curves, thresholds)]
    correct_total = sum(int(c.correct[j]) for c, j in zip(data.curves, indices))
    overall = correct_total / len(data.y)
    rows = []
    for label, curve, j, t in zip(data.labels, data.curves, indices, thresholds):
        tp, fp = int(curve.tp[j]), int(curve.fp[j])
        rows.append({"strategy": strategy, "group": label, "threshold": t,
                     "n": curve.n, "selection_rate": (tp + fp) / curve.n,
                     "tpr": tp / curve.positives, "fpr": fp / curve.negatives,
                     "precision": tp / (tp + fp) if tp + fp else float("nan"),
                     "accuracy": int(curve.correct[j]) / curve.n, "overall_accuracy": overall})
    return rows


def threshold_strategies(y_true, scores, groups, strategies=None, *, tolerance: float = TOLERANCE):
    """Thresholds per group under each strategy, with the metrics they give.

    Parameters
    ----------
    y_true : array-like of 0/1 (or bool), shape (n,)
        The true outcome; 1 is the positive class.
    scores : array-like of float, shape (n,)
        The model's score for the positive class (a probability or any number:
        larger means "more likely positive"). Must be finite.
    groups : array-like, shape (n,)
        The group of each example (e.g. ``df["sex"]``); at least two groups, each
        with both outcomes.
    strategies : str, list of str or None
        Which of :data:`STRATEGIES` to compute (default: all, in that order).
    tolerance : float
        The parity strategies allow the groups' rates to differ by at most this.

    Returns
    -------
    pandas.DataFrame
        One row per (strategy, group), columns :data:`COLUMNS`: ``threshold``
        (predict positive when ``score >= threshold``; ``inf`` selects nobody),
        ``n``, ``selection_rate``, ``tpr``, ``fpr``, ``precision`` (NaN when
        nobody is selected), ``accuracy`` (within the group) and
        ``overall_accuracy`` (all groups together, the same on every row of a
        strategy). The metrics are exact counts from the threshold search; the
        tests check that Fairlearn's ``MetricFrame`` (see :func:`metric_frame`)
        gives the same numbers.

    Notes
    -----
    Every strategy is deterministic: each group gets one threshold, and that
    threshold is one of the group's own scores (or ``inf``). The candidates are
    all distinct decisions, found in O(n log n) from cumulative counts over the
    sorted scores. What each strategy picks is in :data:`STRATEGIES`; ties
    between equally accurate choices go to the higher threshold.

    Exact parity is usually impossible with finite data: a group of ``m``
    examples can only have selection rates (and accuracies) in steps of
    ``1/m``, and TPRs in steps of ``1/positives``, and tied scores make the
    steps larger. A tolerance of ``1 / (smallest count)`` is always enough for
    selection rates and TPRs when no scores are tied. When no thresholds meet
    the tolerance, the strategy warns and uses the smallest difference
    reachable. (Fairlearn's ``ThresholdOptimizer`` reaches exact parity by
    randomizing between two thresholds per group; see
    :func:`fairlearn_optimizer`.)

    Examples
    --------
    >>> from tinyml_lib.datasets import load_adult
    >>> df, _ = load_adult(source="offline", n=5000)                    # doctest: +SKIP
    >>> table = threshold_strategies(df["income_over_50k"], scores, df["sex"])  # doctest: +SKIP
    >>> table.pivot(index="strategy", columns="group", values="tpr")   # doctest: +SKIP
    """
    names = _check_strategies(strategies)
    tol = _check_tolerance(tolerance)
    data = _prepare(y_true, scores, groups)
    chosen = {name: _choose(data, name, tol) for name in names}
    rows = [row for name in names for row in _rows(data, name, chosen[name])]
    return _table(rows)


def _table(rows: list[dict]):
    import pandas as pd

    table = pd.DataFrame(rows, columns=COLUMNS)
    table["n"] = table["n"].astype(np.int64)
    return table


def _metric_functions():
    from fairlearn.metrics import count, false_positive_rate, selection_rate, true_positive_rate
    from sklearn.metrics import accuracy_score, precision_score

    def precision(y_true, y_pred):
        return precision_score(y_true, y_pred, zero_division=np.nan)

    return {"n": count, "selection_rate": selection_rate, "tpr": true_positive_rate,
            "fpr": false_positive_rate, "precision": precision, "accuracy": accuracy_score}


def metric_frame(y_true, scores, groups, thresholds):
    """Fairlearn's ``MetricFrame`` of the decisions ``score >= threshold`` (per group).

    The metrics are ``n``, ``selection_rate``, ``tpr``, ``fpr``, ``precision``
    and ``accuracy``; use ``.by_group``, ``.overall``, ``.difference()`` or
    ``.ratio()`` as in Fairlearn. Fairlearn 0.15's MetricFrame takes seconds
    per 100,000 examples (it stacks every value into an array of its own: 6 s
    in ``benchmarks/bench_fairness.py``), so :func:`threshold_strategies` and
    :func:`explore` count instead, and the tests check that both agree exactly.

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_strategies`.
    thresholds : float, mapping or DataFrame
        One number for everyone, ``{group: threshold}``, or one strategy's rows
        of a :func:`threshold_strategies` table.

    Returns
    -------
    fairlearn.metrics.MetricFrame

    Examples
    --------
    >>> frame = metric_frame([0, 1, 0, 1], [0.2, 0.9, 0.6, 0.4], ["a", "a", "b", "b"], 0.5)
    >>> frame.by_group["tpr"].tolist()
    [1.0, 0.0]
    """
    from fairlearn.metrics import MetricFrame

    data = _prepare(y_true, scores, groups)
    per_group = _threshold_map(thresholds, data.labels)
    t = np.array([per_group[g] for g in data.labels])
    y_pred = (data.scores >= t[data.codes]).astype(np.int8)
    labels = np.asarray(data.labels, dtype=object)[data.codes]
    return MetricFrame(metrics=_metric_functions(), y_true=data.y, y_pred=y_pred,
                       sensitive_features=labels)


def strategy_thresholds(table, strategy: str) -> dict:
    """``{group: threshold}`` for one strategy of a :func:`threshold_strategies` table."""
    if strategy not in set(table["strategy"]):
        raise ValueError(f"strategy {strategy!r} is not in this table; it has: "
                         f"{', '.join(dict.fromkeys(table['strategy']))}.")
    rows = table[table["strategy"] == strategy]
    return dict(zip(rows["group"], rows["threshold"].astype(float)))


def _threshold_map(thresholds, labels) -> dict:
    """A threshold per group from a number, a mapping, or a one-strategy table."""
    if thresholds is None:
        return {}
    if hasattr(thresholds, "columns"):
        strategies = list(dict.fromkeys(thresholds["strategy"])) if "strategy" in \
            thresholds.columns else []
        if len(strategies) > 1:
            raise ValueError(f"thresholds is a table with {len(strategies)} strategies; pick "
                             f"one, e.g. strategy_thresholds(table, {strategies[0]!r}).")
        thresholds = dict(zip(thresholds["group"], thresholds["threshold"]))
    if isinstance(thresholds, Mapping):
        missing = [g for g in labels if g not in thresholds]
        if missing:
            raise ValueError(f"thresholds has no value for group {missing[0]!r}; give one per "
                             f"group ({', '.join(map(repr, labels))}) or a single number.")
        out = {g: float(thresholds[g]) for g in labels}
    else:
        try:
            value = float(thresholds)
        except (TypeError, ValueError):
            raise ValueError("thresholds must be a number (one threshold for everyone), a "
                             "{group: threshold} mapping, or one strategy's rows of "
                             "threshold_strategies().") from None
        out = dict.fromkeys(labels, value)
    bad = [g for g, t in out.items() if math.isnan(t)]
    if bad:
        raise ValueError(f"the threshold for group {bad[0]!r} is NaN; use a number "
                         f"(inf selects nobody).")
    return out


def metrics_at(y_true, scores, groups, thresholds):
    """Per-group metrics when each group uses the given threshold (``score >= threshold``).

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_strategies`.
    thresholds : float, mapping or DataFrame
        One number for everyone, ``{group: threshold}``, or one strategy's rows
        of a :func:`threshold_strategies` table.

    Returns
    -------
    pandas.DataFrame
        Indexed by group, columns ``threshold``, ``n``, ``selection_rate``,
        ``tpr``, ``fpr``, ``precision``, ``accuracy`` (Fairlearn's
        ``MetricFrame.by_group``).

    Examples
    --------
    >>> metrics_at([0, 1, 0, 1], [0.2, 0.9, 0.6, 0.4], ["a", "a", "b", "b"], 0.5)["tpr"].tolist()
    [1.0, 0.0]
    """
    frame = metric_frame(y_true, scores, groups, thresholds)
    table = frame.by_group.astype(float)
    table.index.name = "group"
    data = _prepare(y_true, scores, groups)
    per_group = _threshold_map(thresholds, data.labels)
    table.insert(0, "threshold", [per_group[g] for g in table.index])
    table["n"] = table["n"].astype(np.int64)
    return table


# --------------------------------------------------------------------------- pictures

def _roc_points(curve: _Curve, max_points: int = 2000):
    fpr, tpr = curve.metric("fpr"), curve.metric("tpr")
    if fpr.size > max_points:                      # enough for a picture, fast to draw
        keep = np.unique(np.linspace(0, fpr.size - 1, max_points).astype(int))
        fpr, tpr = fpr[keep], tpr[keep]
    return fpr, tpr


def _auc(curve: _Curve) -> float:
    fpr, tpr = curve.metric("fpr"), curve.metric("tpr")
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def plot_roc(y_true, scores, groups, thresholds=None, ax=None):
    """ROC curve of every group, with the operating point of each group's threshold.

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_strategies`.
    thresholds : None, float, mapping or DataFrame
        Where to mark the operating points (see :func:`metrics_at`); ``None``
        draws the curves only.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_roc(y, scores, groups, strategy_thresholds(table, "single"))  # doctest: +SKIP
    >>> plots.show(ax.figure, alt=describe_roc(y, scores, groups, 0.5))          # doctest: +SKIP
    """
    data = _prepare(y_true, scores, groups)
    points = _threshold_map(thresholds, data.labels)
    return _draw_roc(data.labels, data.curves, points, ax)


def _draw_roc(labels, curves, points: Mapping, ax=None, roc=None):
    if ax is None:
        _, ax = plots.figure(figsize=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], color="0.7", linestyle=":", linewidth=1)
    for k, (label, curve) in enumerate(zip(labels, curves)):
        color = f"C{k % 10}"
        fpr, tpr = roc[k] if roc is not None else _roc_points(curve)
        ax.plot(fpr, tpr, color=color, linewidth=1.5,
                label=f"{label} (AUC {_auc(curve):.2f})" if roc is None else str(label))
        if label in points:
            tp, fp = curve.counts_at(points[label])
            ax.plot(fp / curve.negatives, tp / curve.positives, _MARKERS[k % len(_MARKERS)],
                    color=color, markersize=9, markeredgecolor="black")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_xlabel("false-positive rate (FPR)")
    ax.set_ylabel("true-positive rate (TPR)")
    ax.set_aspect("equal")
    ax.legend(loc="lower right", fontsize=8)
    return ax


def describe_roc(y_true, scores, groups, thresholds=None) -> str:
    """Alt text for :func:`plot_roc`: each group's AUC and operating point."""
    data = _prepare(y_true, scores, groups)
    points = _threshold_map(thresholds, data.labels)
    return _describe_points(data.labels, data.curves, points)


def _describe_points(labels, curves, points) -> str:
    parts = []
    for label, curve in zip(labels, curves):
        text = f"{label} (AUC {_auc(curve):.2f})"
        if label in points:
            tp, fp = curve.counts_at(points[label])
            text += (f", operating point at threshold {points[label]:.3g}: TPR "
                     f"{tp / curve.positives:.2f}, FPR {fp / curve.negatives:.2f}")
        parts.append(text)
    return "ROC curves (true-positive rate against false-positive rate) of " + \
        "; ".join(parts) + "."


def plot_strategies(table, metrics: Sequence[str] = ("selection_rate", "tpr", "fpr"), ax=None):
    """Each strategy's rates per group, side by side: the gaps are the unfairness.

    One row per strategy; for each metric, one marker per group (shape = group,
    colour = metric) joined by a line whose length is the gap between groups.

    Parameters
    ----------
    table : pandas.DataFrame
        The output of :func:`threshold_strategies`.
    metrics : sequence of str
        Columns to draw (rates between 0 and 1).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_strategies(table)                     # doctest: +SKIP
    >>> plots.show(ax.figure, alt=describe(table))      # doctest: +SKIP
    """
    _check_table(table)
    unknown = [m for m in metrics if m not in _METRIC_NAMES]
    if unknown or not len(metrics):
        raise ValueError(f"metrics must be some of {', '.join(_METRIC_NAMES)}; got "
                         f"{list(metrics)!r}.")
    strategies = list(dict.fromkeys(table["strategy"]))
    groups = list(dict.fromkeys(table["group"]))
    if ax is None:
        _, ax = plots.figure(figsize=(7, 0.9 + 0.75 * len(strategies)))
    offsets = np.linspace(-0.25, 0.25, len(metrics)) if len(metrics) > 1 else [0.0]
    for i, strategy in enumerate(strategies):
        rows = table[table["strategy"] == strategy].set_index("group")
        for k, metric in enumerate(metrics):
            y = i + offsets[k]
            values = rows[metric].reindex(groups).to_numpy(dtype=float)
            ax.plot([np.nanmin(values), np.nanmax(values)], [y, y], color=f"C{k}", linewidth=2,
                    alpha=0.6)
            for j, value in enumerate(values):
                ax.plot(value, y, _MARKERS[j % len(_MARKERS)], color=f"C{k}",
                        markeredgecolor="black", markersize=7)
    for k, metric in enumerate(metrics):
        ax.plot([], [], color=f"C{k}", linewidth=3, label=_METRIC_NAMES[metric])
    for j, group in enumerate(groups):
        ax.plot([], [], _MARKERS[j % len(_MARKERS)], color="white", markeredgecolor="black",
                label=str(group))
    ax.set_yticks(range(len(strategies)))
    ax.set_yticklabels([_LABELS.get(s, s) for s in strategies])
    ax.invert_yaxis()
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("rate")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return ax


def _check_table(table):
    missing = [c for c in ("strategy", "group", "threshold", "selection_rate", "tpr", "fpr",
                           "accuracy") if not hasattr(table, "columns") or c not in table.columns]
    if missing:
        raise ValueError(f"table must be the output of threshold_strategies(); it lacks the "
                         f"column {missing[0]!r}.")


def describe(table) -> str:
    """One sentence per strategy of a :func:`threshold_strategies` table, for alt text.

    Examples
    --------
    >>> describe(table)                                                  # doctest: +SKIP
    'Single threshold: overall accuracy 0.85; selection rate 0.09 to 0.24, TPR 0.57 to 0.71, ...'
    """
    _check_table(table)
    sentences = []
    for strategy in dict.fromkeys(table["strategy"]):
        rows = table[table["strategy"] == strategy]
        parts = []
        for metric in ("selection_rate", "tpr", "fpr"):
            low = rows.loc[rows[metric].idxmin()]
            high = rows.loc[rows[metric].idxmax()]
            parts.append(f"{_METRIC_NAMES[metric]} {low[metric]:.2f} ({low['group']}) to "
                         f"{high[metric]:.2f} ({high['group']})")
        accuracy = (f"overall accuracy {rows['overall_accuracy'].iloc[0]:.3f}; "
                    if "overall_accuracy" in rows else "")
        label = _LABELS.get(strategy, strategy)
        sentences.append(f"{label[0].upper()}{label[1:]}: {accuracy}{', '.join(parts)}.")
    return " ".join(sentences)


# --------------------------------------------------------------------------- interactive view

def _metrics_html(labels, curves, thresholds: Mapping, n_total: int) -> str:
    head = ("<tr><th>group</th><th>threshold</th><th>selection rate</th><th>TPR</th>"
            "<th>FPR</th><th>precision</th><th>accuracy</th></tr>")
    body, correct, rates = [], 0, {"selection rate": [], "TPR": [], "FPR": [], "accuracy": []}
    for label, curve in zip(labels, curves):
        t = thresholds[label]
        tp, fp = curve.counts_at(t)
        sel = (tp + fp) / curve.n
        tpr, fpr = tp / curve.positives, fp / curve.negatives
        acc = (tp + curve.negatives - fp) / curve.n
        prec = f"{tp / (tp + fp):.3f}" if tp + fp else "–"
        correct += tp + curve.negatives - fp
        for name, value in zip(rates, (sel, tpr, fpr, acc)):
            rates[name].append(value)
        body.append(f"<tr><td>{html.escape(str(label))}</td><td>{t:.3f}</td><td>{sel:.3f}</td>"
                    f"<td>{tpr:.3f}</td><td>{fpr:.3f}</td><td>{prec}</td><td>{acc:.3f}</td></tr>")
    gaps = ", ".join(f"{name} {max(v) - min(v):.3f}" for name, v in rates.items())
    return (f"<table>{head}{''.join(body)}</table>"
            f"<p><b>overall accuracy {correct / n_total:.3f}</b>; largest gap between groups: "
            f"{gaps}</p>")


def explore(y_true, scores, groups, strategies=None, *, tolerance: float = TOLERANCE,
            plot: bool = True):
    """An interactive view: a threshold slider per group, live metrics, ROC curves.

    Move a group's slider to change its threshold; the metrics table (per
    group, with the overall accuracy and the gaps between groups) and the ROC
    curves with each group's operating point update when you release it. The
    strategy picker moves every slider to that strategy's thresholds from
    :func:`threshold_strategies`; moving a slider by hand switches the picker
    to "custom".

    Parameters
    ----------
    y_true, scores, groups, strategies, tolerance
        As in :func:`threshold_strategies`.
    plot : bool
        Draw the ROC curves (``False`` shows only the metrics, faster).

    Returns
    -------
    ipywidgets.VBox
        Display it as the last line of a cell. For code and tests it also
        carries ``.sliders`` (``{group: FloatSlider}``), ``.strategy`` (the
        Dropdown), ``.metrics`` (the HTML table), ``.plot`` (the Output),
        ``.table`` (the strategies table), ``.alt`` (the current figure's alt
        text) and ``.last_update_seconds``.

    Examples
    --------
    >>> view = explore(df["income_over_50k"], scores, df["sex"])   # doctest: +SKIP
    >>> view                                                        # doctest: +SKIP
    """
    import ipywidgets as widgets

    data = _prepare(y_true, scores, groups)
    table = threshold_strategies(data.y, data.scores, np.asarray(data.labels,
                                                                 dtype=object)[data.codes],
                                 strategies, tolerance=tolerance)
    names = list(dict.fromkeys(table["strategy"]))
    roc = [_roc_points(c, max_points=500) for c in data.curves]
    first = strategy_thresholds(table, names[0])

    low, high = float(data.scores.min()), float(data.scores.max())
    if 0 <= low and high <= 1:
        low, high = 0.0, 1.0
    span = (high - low) or 1.0
    step = span / 1000
    high += step                      # the top of the slider selects nobody

    def clamp(t):
        return float(min(max(t, low), high))

    sliders = {label: widgets.FloatSlider(value=clamp(first[label]), min=low, max=high,
                                          step=step, readout_format=".3f",
                                          description=str(label)[:20], continuous_update=False,
                                          style={"description_width": "initial"})
               for label in data.labels}
    picker = widgets.Dropdown(options=[(_LABELS[n], n) for n in names] + [("custom", "custom")],
                              value=names[0], description="strategy")
    metrics = widgets.HTML()
    out = widgets.Output()
    box = widgets.VBox([picker, widgets.VBox(list(sliders.values())), metrics, out])
    state = {"syncing": False}

    def update(*_):
        start = time.perf_counter()
        current = {label: float(s.value) for label, s in sliders.items()}
        metrics.value = _metrics_html(data.labels, data.curves, current, len(data.y))
        box.last_update_seconds = time.perf_counter() - start
        box.alt = _describe_points(data.labels, data.curves, current)
        if plot:
            out.clear_output(wait=True)
            with out:
                ax = _draw_roc(data.labels, data.curves, current, roc=roc)
                plots.show(ax.figure, alt=box.alt)

    def on_strategy(change):
        if change["new"] == "custom":
            return
        chosen = strategy_thresholds(table, change["new"])
        state["syncing"] = True
        try:
            for label, slider in sliders.items():
                slider.value = clamp(chosen[label])
        finally:
            state["syncing"] = False
        update()

    def on_slider(change):
        if state["syncing"]:
            return
        if picker.value != "custom":
            state["syncing"] = True
            try:
                picker.value = "custom"
            finally:
                state["syncing"] = False
        update()

    picker.observe(on_strategy, names="value")
    for slider in sliders.values():
        slider.observe(on_slider, names="value")
    box.sliders, box.strategy, box.metrics, box.plot, box.table = sliders, picker, metrics, out, \
        table
    box.update = update
    update()
    return box


# --------------------------------------------------------------------------- Fairlearn, WIT

_ESTIMATOR = []


def _scores_estimator():
    """A fitted scikit-learn 'estimator' whose predictions are X[:, 0] (the scores)."""
    if not _ESTIMATOR:
        from sklearn.base import BaseEstimator

        class ScoresAsPredictions(BaseEstimator):
            def fit(self, X, y=None, **kwargs):
                self.fitted_ = True
                return self

            def predict(self, X):
                return np.asarray(X, dtype=float)[:, 0]

        _ESTIMATOR.append(ScoresAsPredictions)
    return _ESTIMATOR[0]().fit(None)


def fairlearn_optimizer(y_true, scores, groups, constraints: str = "demographic_parity",
                        objective: str = "accuracy_score", grid_size: int = 1000):
    """Fairlearn's ``ThresholdOptimizer``, fitted on scores you already have.

    Fairlearn meets the constraint exactly by *randomizing*: each group mixes
    two thresholds with some probability. Predict with
    ``optimizer.predict(scores.reshape(-1, 1), sensitive_features=groups,
    random_state=0)``.

    Parameters
    ----------
    y_true, scores, groups
        As in :func:`threshold_strategies`.
    constraints : str
        A Fairlearn constraint, e.g. ``"demographic_parity"``,
        ``"true_positive_rate_parity"`` (equal opportunity) or
        ``"equalized_odds"``.
    objective, grid_size
        Passed to ``ThresholdOptimizer``.

    Returns
    -------
    fairlearn.postprocessing.ThresholdOptimizer
        Fitted, with ``prefit=True`` on the scores.

    Examples
    --------
    >>> opt = fairlearn_optimizer(y, scores, groups, "true_positive_rate_parity")  # doctest: +SKIP
    """
    from fairlearn.postprocessing import ThresholdOptimizer

    data = _prepare(y_true, scores, groups)
    optimizer = ThresholdOptimizer(estimator=_scores_estimator(), constraints=constraints,
                                   objective=objective, grid_size=grid_size, prefit=True,
                                   predict_method="predict")
    labels = np.asarray(data.labels, dtype=object)[data.codes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        optimizer.fit(data.scores.reshape(-1, 1), data.y, sensitive_features=labels)
    return optimizer


def _in_colab() -> bool:
    import sys

    return "google.colab" in sys.modules


def what_if_tool_status() -> tuple[bool, str]:
    """Whether Google's What-If Tool (``witwidget``) can run here, and why not.

    Never raises. Checks that ``witwidget`` imports and, outside Colab, that a
    JupyterLab extension for it is installed (without one the widget cannot
    render in JupyterLab 4).
    """
    try:
        from witwidget.notebook.visualization import WitConfigBuilder, WitWidget  # noqa: F401
    except ImportError as error:
        if isinstance(error, ModuleNotFoundError) and \
                (error.name or "").split(".")[0] == "witwidget":
            return False, ("the What-If Tool is not installed (pip install witwidget); the "
                           "threshold explorer above shows the same trade-offs.")
        return False, (f"the What-If Tool (witwidget) does not import with this Python "
                       f"environment ({error}); use the threshold explorer instead.")
    except Exception as error:  # noqa: BLE001 - a broken TensorFlow, protobuf clash: never raise
        return False, (f"the What-If Tool (witwidget) failed to load ({type(error).__name__}: "
                       f"{error}); use the threshold explorer instead.")
    if _in_colab():
        return True, "the What-If Tool is available (Colab)."
    try:
        from pathlib import Path

        from jupyter_core.paths import jupyter_path

        found = any((Path(p) / "wit-widget").exists() for p in jupyter_path("labextensions"))
    except Exception:  # noqa: BLE001 - no Jupyter paths: treat as "no extension"
        found = False
    if not found:
        return False, ("witwidget imports, but it has no JupyterLab extension here "
                       "(witwidget 1.8 ships only a classic-Notebook extension), so it cannot "
                       "render in JupyterLab 4; use the threshold explorer instead.")
    return True, "the What-If Tool is available."


def what_if_tool(examples, scores, label_column: str | None = None, height: int = 800):
    """The What-If Tool on a table of examples and the model's scores, or ``None``.

    Never raises: when ``witwidget`` is missing, does not import, or cannot
    render here, prints one line saying why and returns ``None``.

    Parameters
    ----------
    examples : pandas.DataFrame
        One row per example (features, and the label column if given).
    scores : array-like of float
        The model's score for the positive class, one per row.
    label_column : str, optional
        The column holding the true label.
    height : int
        Height of the widget in pixels.

    Returns
    -------
    witwidget.WitWidget or None
    """
    available, reason = what_if_tool_status()
    if not available:
        print(reason)
        return None
    try:
        from witwidget.notebook.visualization import WitConfigBuilder, WitWidget

        s = _check_scores(scores)
        if len(s) != len(examples):
            raise ValueError(f"{len(examples)} examples but {len(s)} scores")
        frame = examples.reset_index(drop=True).copy()
        frame["_row"] = np.arange(len(frame))
        columns = list(frame.columns)
        row_at = columns.index("_row")

        def predict(batch):
            rows = [int(example[row_at]) for example in batch]
            return [[1.0 - s[r], s[r]] for r in rows]

        config = (WitConfigBuilder(frame.values.tolist(), columns)
                  .set_custom_predict_fn(predict).set_model_type("classification")
                  .set_label_vocab(["negative", "positive"]))
        if label_column is not None:
            config = config.set_target_feature(label_column)
        return WitWidget(config, height=height)
    except Exception as error:  # noqa: BLE001 - the lesson must go on without it
        print(f"the What-If Tool could not start ({type(error).__name__}: {error}); use the "
              f"threshold explorer instead.")
        return None
