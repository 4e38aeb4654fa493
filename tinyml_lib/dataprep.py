"""Data engineering for TinyML: the lifecycle, and the data's own problems.

A model is only as good as its data. This module holds the machinery of the
data-engineering lesson, with the names the lesson uses:

- :data:`LIFECYCLE` and :func:`plot_lifecycle` -- the stages of a TinyML
  application, collect -> clean -> split -> train -> optimize -> deploy ->
  monitor, and back;
- :func:`record_takes` -- a speaker says every word several times (takes);
- :func:`find_bad_clips` -- silent, too quiet, clipped and duplicated clips,
  each with the reason;
- :func:`random_split` and :func:`shared_speakers` -- the split that leaks
  speakers into the test set, and how to see the leak (the honest split is
  :func:`tinyml_lib.kws.split_by_speaker`);
- :func:`imbalance` -- keep only part of some classes;
- :func:`flip_labels` -- label noise: a fraction of labels changed on purpose;
- :func:`per_class_recall` -- how often each class is recognised.

NumPy and pandas only; Matplotlib loads when a picture is drawn.

Examples
--------
>>> import numpy as np
>>> from tinyml_lib import dataprep
>>> waves = np.zeros((3, 16000), dtype=np.float32)
>>> waves[1, :100] = 0.5
>>> dataprep.find_bad_clips(waves)["problem"].tolist()
['silent', 'silent']
>>> labels = np.array(["yes", "no", "yes", "no"])
>>> int(np.sum(dataprep.flip_labels(labels, 0.5, seed=0) != labels))
2
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from . import plots

__all__ = ["LIFECYCLE", "PROBLEMS", "find_bad_clips", "flip_labels", "imbalance",
           "per_class_recall", "plot_lifecycle", "random_split", "record_takes",
           "shared_speakers"]

#: The stages of a TinyML application, in order, with what happens in each.
#: After "monitor" the loop closes: what the field shows goes back into "collect".
LIFECYCLE = (
    ("collect", "record the keywords from many speakers, accents and rooms"),
    ("clean", "drop silent, clipped, duplicated and mislabelled clips"),
    ("split", "train / test by speaker, so the test voices are new"),
    ("train", "fit a tiny model; check it on the held-out speakers"),
    ("optimize", "quantize to int8 so it fits in kilobytes"),
    ("deploy", "convert to C, flash the microcontroller"),
    ("monitor", "watch errors in the field; send new data back"),
)

#: The problems :func:`find_bad_clips` reports, and what each one means.
PROBLEMS = {
    "silent": "(almost) digital silence: peak below the silence level, nothing was recorded",
    "too quiet": "a spoken clip whose peak is below quiet_db: the word is barely there",
    "clipped": "at least clip_samples samples at full scale: the microphone was overdriven",
    "duplicate": "the same audio as an earlier clip (a file copied twice)",
}


# --------------------------------------------------------------------------- checks

def _waves(waves, name: str = "waves") -> np.ndarray:
    x = np.asarray(waves)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array of clips, shape (n_clips, n_samples); "
                         f"got shape {x.shape}.")
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if not np.issubdtype(x.dtype, np.number) or x.dtype == bool:
        raise ValueError(f"{name} must hold numbers (float in [-1, 1] or int16); got dtype "
                         f"{x.dtype}.")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        first = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise ValueError(f"{name} contains NaN or infinite samples (first in clip {first}); "
                         f"fix or drop that clip first.")
    return x


def _labels(labels, n: int | None = None, name: str = "labels") -> np.ndarray:
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one label per clip); got shape {y.shape}.")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} entries but there are {n} clips: one per clip.")
    return y


def _fraction(name: str, value) -> float:
    try:
        f = float(value)
    except (TypeError, ValueError):
        f = float("nan")
    if not 0 <= f <= 1:
        raise ValueError(f"{name} must be a fraction between 0 and 1; got {value!r}.")
    return f


def _seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0; got {seed!r}.")
    return int(seed)


# --------------------------------------------------------------------------- collecting

def record_takes(waves, takes: int = 3, seed: int = 0, max_shift_ms: float = 60.0,
                 noise_rms: float = 0.005):
    """Every clip said ``takes`` times: the same utterance, shifted, with fresh noise.

    A person asked to say "yes" five times says it five times almost the same
    way. Synthetic speech varies its rate and pitch on every clip, so this
    function gives each synthetic speaker that habit: every clip is repeated
    as ``takes`` takes, each moved by up to ``max_shift_ms`` and with a little
    new background noise (:func:`tinyml_lib.kws.augment`).

    Parameters
    ----------
    waves : array-like, shape (n_clips, n_samples)
    takes : int
        Takes per clip (1 returns the clips unchanged).
    seed : int
    max_shift_ms, noise_rms : float
        How much the takes differ (see :func:`tinyml_lib.kws.augment`).

    Returns
    -------
    takes_waves : ndarray of float32, shape (takes * n_clips, n_samples)
        Take 1 of every clip, then take 2 of every clip, and so on.
    source : ndarray of int, shape (takes * n_clips,)
        The clip each take comes from: index labels and speakers with it,
        e.g. ``labels[source]``.

    Examples
    --------
    >>> w, source = record_takes(np.zeros((2, 16000)), takes=3)
    >>> w.shape, source.tolist()
    ((6, 16000), [0, 1, 0, 1, 0, 1])
    """
    from . import kws

    x = _waves(waves)
    if isinstance(takes, bool) or int(takes) != takes or takes < 1:
        raise ValueError(f"takes must be a whole number >= 1; got {takes!r}.")
    seed = _seed(seed)
    copies = [x.astype(np.float32)] + [
        kws.augment(x, seed=seed * 1000 + k, max_shift_ms=max_shift_ms, noise_rms=noise_rms,
                    noise_prob=1.0) for k in range(1, int(takes))]
    return np.concatenate(copies), np.tile(np.arange(len(x)), int(takes))


# --------------------------------------------------------------------------- cleaning

def find_bad_clips(waves, labels=None, *, silence_label: str = "silence",
                   silent_level: float = 1e-4, quiet_db: float = -35.0,
                   clip_level: float = 0.999, clip_samples: int = 10):
    """Clips that should not go into a training set, each with the reason.

    Four checks, each cheap enough for a whole dataset (see :data:`PROBLEMS`):

    - **silent**: the peak is below ``silent_level`` (about -80 dBFS): nothing
      was recorded. Checked for every clip, the silence class included
      (background noise is quiet, but never digital zero).
    - **too quiet**: a spoken clip (label other than ``silence_label``) whose
      peak is below ``quiet_db`` dBFS. Needs ``labels``.
    - **clipped**: at least ``clip_samples`` samples at or beyond
      ``clip_level`` of full scale.
    - **duplicate**: the same audio (to 16-bit precision) as an earlier clip
      (not checked for silent clips).

    A clip can have several problems; it gets one row per problem.

    Parameters
    ----------
    waves : array-like, shape (n_clips, n_samples)
        Float in [-1, 1] or int16.
    labels : array-like of str, optional
        One label per clip; without it, "too quiet" is not checked.
    silence_label : str
        The label of background-only clips, which are allowed to be quiet.
    silent_level, quiet_db, clip_level, clip_samples
        The thresholds of the checks.

    Returns
    -------
    pandas.DataFrame
        One row per (clip, problem), sorted by clip: ``clip`` (index),
        ``label`` (when labels are given), ``problem`` and ``detail``.

    Examples
    --------
    >>> waves = np.random.default_rng(0).uniform(-0.3, 0.3, (4, 16000))
    >>> waves[1] = 0.0                                  # nothing recorded
    >>> waves[2] = np.clip(waves[2] * 10, -1, 1)        # overdriven
    >>> waves[3] = waves[0]                             # copied twice
    >>> find_bad_clips(waves)[["clip", "problem"]].values.tolist()
    [[1, 'silent'], [2, 'clipped'], [3, 'duplicate']]
    """
    import pandas as pd

    x = _waves(waves)
    y = None if labels is None else _labels(labels, len(x))
    if not 0 < silent_level < 1:
        raise ValueError(f"silent_level must be between 0 and 1 (full scale); got "
                         f"{silent_level!r}.")
    if not -120 < quiet_db < 0:
        raise ValueError(f"quiet_db must be a level in dBFS below 0, e.g. -35; got {quiet_db!r}.")
    if not 0 < clip_level <= 1:
        raise ValueError(f"clip_level must be in (0, 1]; got {clip_level!r}.")
    if isinstance(clip_samples, bool) or int(clip_samples) != clip_samples or clip_samples < 1:
        raise ValueError(f"clip_samples must be a whole number >= 1; got {clip_samples!r}.")

    peak = np.max(np.abs(x), axis=1)
    at_full_scale = np.sum(np.abs(x) >= clip_level, axis=1)
    rows = []

    def add(i, problem, detail):
        row = {"clip": int(i)}
        if y is not None:
            row["label"] = y[i].item() if isinstance(y[i], np.generic) else y[i]
        row.update(problem=problem, detail=detail)
        rows.append(row)

    first_seen: dict[bytes, int] = {}
    quiet_level = 10 ** (quiet_db / 20)
    for i in range(len(x)):
        if peak[i] < silent_level:
            add(i, "silent", f"peak {peak[i]:.1e}: nothing was recorded")
        elif y is not None and y[i] != silence_label and peak[i] < quiet_level:
            add(i, "too quiet", f"peak {20 * np.log10(peak[i]):.0f} dBFS, below "
                                f"{quiet_db:g} dBFS")
        if at_full_scale[i] >= clip_samples:
            add(i, "clipped", f"{int(at_full_scale[i])} samples at full scale "
                              f"({1000 * at_full_scale[i] / x.shape[1]:.1f} per mille)")
        if peak[i] < silent_level:
            continue                      # every silent clip looks alike: already reported
        key = np.round(np.clip(x[i], -1, 1) * 32767).astype(np.int16).tobytes()
        if key in first_seen:
            add(i, "duplicate", f"same audio as clip {first_seen[key]}")
        else:
            first_seen[key] = i
    columns = ["clip"] + (["label"] if y is not None else []) + ["problem", "detail"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- splitting

def random_split(n: int, test_fraction: float = 0.2, seed: int = 0):
    """Indices of a random train / test split of ``n`` clips (ignores who is speaking).

    The split most tutorials use; with several clips per speaker it puts the
    same voices on both sides. Compare :func:`tinyml_lib.kws.split_by_speaker`.

    Returns
    -------
    train_index, test_index : ndarray of int, sorted

    Examples
    --------
    >>> train_i, test_i = random_split(10, 0.3, seed=0)
    >>> len(train_i), len(test_i)
    (7, 3)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"n must be a whole number of clips >= 2; got {n!r}.")
    f = _fraction("test_fraction", test_fraction)
    n_test = round(f * n)
    if not 0 < n_test < n:
        raise ValueError(f"test_fraction={test_fraction!r} of {n} clips leaves no clip on one "
                         f"side; use a fraction between {1 / n:.3f} and {1 - 1 / n:.3f}.")
    order = np.random.default_rng(_seed(seed)).permutation(int(n))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def shared_speakers(speakers, train_index, test_index) -> list:
    """The speakers heard in both the training and the test clips (a leak when not empty).

    Examples
    --------
    >>> shared_speakers(["ann", "ann", "bob", "cy"], [0, 2], [1, 3])
    ['ann']
    """
    s = _labels(speakers, name="speakers")
    train_index = np.asarray(train_index, dtype=int)
    test_index = np.asarray(test_index, dtype=int)
    for name, index in (("train_index", train_index), ("test_index", test_index)):
        if index.ndim != 1 or (index.size and (index.min() < 0 or index.max() >= len(s))):
            raise ValueError(f"{name} must be 1-D positions between 0 and {len(s) - 1}.")
    both = set(s[train_index].tolist()) & set(s[test_index].tolist())
    return sorted(both)


# --------------------------------------------------------------------------- class balance, noise

def imbalance(labels, keep: Mapping, seed: int = 0) -> np.ndarray:
    """Positions of the clips that remain when only part of some classes is kept.

    Parameters
    ----------
    labels : array-like, shape (n,)
    keep : mapping of label -> fraction
        The fraction of each named class to keep (at least one clip of each
        is kept); classes not named are kept whole.
    seed : int
        Which clips are kept.

    Returns
    -------
    ndarray of int, sorted

    Examples
    --------
    >>> labels = np.array(["yes"] * 10 + ["no"] * 10)
    >>> kept = imbalance(labels, {"no": 0.2})
    >>> np.unique(labels[kept], return_counts=True)[1].tolist()
    [2, 10]
    """
    y = _labels(labels)
    if not isinstance(keep, Mapping) or not keep:
        raise ValueError("keep must be a dict {label: fraction to keep}, e.g. {'no': 0.1}.")
    present = set(y.tolist())
    rng = np.random.default_rng(_seed(seed))
    dropped = []
    for label, fraction in keep.items():
        f = _fraction(f"keep[{label!r}]", fraction)
        if label not in present:
            raise ValueError(f"keep names {label!r}, which is not among the labels "
                             f"({', '.join(map(repr, sorted(present)))}).")
        members = np.flatnonzero(y == label)
        n_keep = max(1, round(f * members.size))
        dropped.append(rng.permutation(members)[n_keep:])
    mask = np.ones(len(y), dtype=bool)
    for d in dropped:
        mask[d] = False
    return np.flatnonzero(mask)


def flip_labels(labels, fraction: float, seed: int = 0, classes: Sequence | None = None):
    """A copy of ``labels`` in which a ``fraction`` of them is wrong on purpose.

    Exactly ``round(fraction * n)`` labels, chosen at random, are changed to a
    *different* class, chosen uniformly: the label noise of a careless
    annotator.

    Parameters
    ----------
    labels : array-like, shape (n,)
        Class names or numbers.
    fraction : float
        Share of labels to change, between 0 and 1.
    seed : int
    classes : sequence, optional
        The classes to flip to (default: the distinct labels present); at
        least two.

    Returns
    -------
    ndarray, same dtype as ``labels``

    Examples
    --------
    >>> y = np.array([0, 1, 2, 3] * 25)
    >>> int(np.sum(flip_labels(y, 0.2, seed=1) != y))
    20
    """
    y = _labels(labels)
    f = _fraction("fraction", fraction)
    choices = np.unique(y) if classes is None else np.asarray(list(classes))
    if len(choices) < 2:
        raise ValueError(f"flipping labels needs at least two classes; got "
                         f"{choices.tolist()!r}.")
    rng = np.random.default_rng(_seed(seed))
    out = y.copy()
    picked = rng.permutation(len(y))[:round(f * len(y))]
    for i in picked:
        others = choices[choices != y[i]]
        out[i] = others[rng.integers(len(others))]
    return out


def per_class_recall(y_true, y_pred, classes: Sequence) -> dict:
    """Recall of each class: the share of its clips predicted as that class.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n,)
        Class numbers (positions in ``classes``).
    classes : sequence of str
        Class names; a class without clips gets ``nan``.

    Returns
    -------
    dict of class name -> float

    Examples
    --------
    >>> per_class_recall([0, 0, 1, 1], [0, 1, 1, 1], ["no", "yes"])
    {'no': 0.5, 'yes': 1.0}
    """
    t = np.asarray(y_true)
    p = np.asarray(y_pred)
    if t.ndim != 1 or t.shape != p.shape:
        raise ValueError(f"y_true and y_pred must be 1-D and the same length; got shapes "
                         f"{t.shape} and {p.shape}.")
    if t.size and (t.dtype.kind not in "iu" or t.min() < 0 or t.max() >= len(classes)):
        raise ValueError(f"y_true must hold class numbers 0 to {len(classes) - 1} (positions in "
                         f"classes); got {t[:5].tolist()}.")
    out = {}
    for k, name in enumerate(classes):
        members = t == k
        out[name] = float(np.mean(p[members] == k)) if members.any() else float("nan")
    return out


# --------------------------------------------------------------------------- pictures

def plot_lifecycle(ax=None, highlight: str | Sequence[str] | None = None):
    """The TinyML lifecycle as a loop of boxes. Returns the Axes.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    highlight : str or list of str, optional
        Stages to colour (e.g. the ones a lesson covers).

    Examples
    --------
    >>> ax = plot_lifecycle(highlight=["collect", "clean", "split"])   # doctest: +SKIP
    """
    names = [name for name, _ in LIFECYCLE]
    marked = {highlight} if isinstance(highlight, str) else set(highlight or ())
    unknown = sorted(marked - set(names))
    if unknown:
        raise ValueError(f"highlight names unknown stages {unknown}; stages are "
                         f"{', '.join(names)}.")
    if ax is None:
        _, ax = plots.figure(figsize=(9, 3.2))
    n = len(LIFECYCLE)
    width, height, gap = 1.0, 0.55, 0.35
    xs = np.arange(n) * (width + gap)
    for x, (name, what) in zip(xs, LIFECYCLE):
        colour = "#ffd27f" if name in marked else "#dbe9f6"
        ax.add_patch(_box(x, 0, width, height, colour))
        ax.text(x + width / 2, height / 2, name, ha="center", va="center", fontsize=10,
                fontweight="bold")
        ax.text(x + width / 2, -0.12, _wrap(what, 16), ha="center", va="top", fontsize=7)
    for x in xs[:-1]:
        ax.annotate("", xy=(x + width + gap, height / 2), xytext=(x + width, height / 2),
                    arrowprops={"arrowstyle": "->", "lw": 1.5})
    top = height + 0.35
    first, last = xs[0] + width / 2, xs[-1] + width / 2
    ax.plot([last, last, first], [height + 0.02, top, top], color="black", lw=1.5,
            linestyle="--")
    ax.annotate("", xy=(first, height + 0.02), xytext=(first, top),
                arrowprops={"arrowstyle": "->", "lw": 1.5, "linestyle": "--"})
    ax.text((xs[0] + xs[-1] + width) / 2, top + 0.05, "new data from the field", ha="center",
            va="bottom", fontsize=8, style="italic")
    ax.set_xlim(-0.2, xs[-1] + width + 0.2)
    ax.set_ylim(-1.0, top + 0.4)
    ax.set_axis_off()
    return ax


def _box(x, y, width, height, colour):
    from matplotlib.patches import FancyBboxPatch

    return FancyBboxPatch((x, y), width, height, boxstyle="round,pad=0.02,rounding_size=0.08",
                          facecolor=colour, edgecolor="0.3")


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
