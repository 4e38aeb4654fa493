"""Anomaly detection for machines: learn "healthy", flag what does not fit.

A maintenance sensor hears a healthy machine for weeks and a faulty one
rarely, and never the fault that will happen next. So the detectors here learn
from **healthy clips only** and give every new clip an **anomaly score**: high
means "unlike anything healthy I have seen". The pieces, in the order a lesson
uses them:

- :func:`features`: log band energies of each clip (equal-width FFT bands for a
  1 kHz accelerometer, mel bands for a 16 kHz microphone);
- :class:`KMeansDetector`: the distance to the nearest centre of the healthy
  clusters; :func:`autoencoder`, :func:`train` and :func:`reconstruction_error`:
  a small dense autoencoder whose reconstruction error is the score;
- :func:`threshold_for`: the threshold that keeps false alarms within a budget,
  chosen on healthy validation clips; :func:`evaluate` and :func:`per_fault`:
  what that threshold does on a test set;
- :func:`roc` and :func:`auc`: every threshold at once;
- plots (:func:`plot_spectra`, :func:`plot_scores`, :func:`plot_roc`,
  :func:`plot_per_fault`) and the matching ``describe_*`` sentences for their
  alt text.

A score equal to the threshold raises an alarm (``score >= threshold``).

Examples
--------
>>> from tinyml_lib import anomaly
>>> from tinyml_lib.datasets import load_machine_sound
>>> x_train, x_test, y_test, info = load_machine_sound(40, 20, source="offline")
>>> f_train, freqs = anomaly.features(x_train, info.details["rate"])
>>> f_test, _ = anomaly.features(x_test, info.details["rate"])
>>> detector = anomaly.KMeansDetector(n_clusters=4).fit(f_train)
>>> anomaly.auc(y_test, detector.score(f_test)) > 0.9
True
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from . import plots

#: Below this sampling rate :func:`features` uses equal-width bands, above it mel bands.
MEL_ABOVE_HZ = 4000
#: Words for the two classes in plots and sentences.
NAMES = ("healthy", "faulty")


# --------------------------------------------------------------------------- checks

def _clips(x, name: str = "clips") -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be clips of shape (N, samples) (or one clip of shape "
                         f"(samples,)); got shape {np.shape(x)}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain NaN or infinite values; clean the recordings first.")
    return array


def _matrix(x, name: str = "features") -> np.ndarray:
    array = np.asarray(x, dtype=np.float32)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} must be a 2-D array (clips, features); got shape "
                         f"{np.shape(x)}. Compute features first: anomaly.features(clips, rate).")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contain NaN or infinite values.")
    return array


def _scores(scores, name: str = "scores") -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.ndim != 1 or s.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array (one score per clip); got "
                         f"shape {s.shape}.")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} contain NaN or infinite values; check the detector.")
    return s


def _labelled(y_true, scores):
    s = _scores(scores)
    y = np.asarray(y_true)
    if y.shape != s.shape:
        raise ValueError(f"y_true and scores must have one entry per clip; got shapes {y.shape} "
                         f"and {s.shape}.")
    if not np.all(np.isin(y, (0, 1))):
        raise ValueError(f"y_true must hold 0 (healthy) or 1 (faulty); got values "
                         f"{np.unique(y)[:5]}.")
    y = y.astype(bool)
    if y.all() or not y.any():
        raise ValueError("y_true needs both healthy (0) and faulty (1) clips to measure false "
                         "alarms and missed faults.")
    return y, s


def _threshold(threshold) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) \
            or not np.isfinite(threshold):
        raise ValueError(f"threshold must be a finite number; got {threshold!r}.")
    return float(threshold)


def _rate(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not 0 <= value <= 1:
        raise ValueError(f"{name} is a rate between 0 and 1 (e.g. 0.05 for 5%); got {value!r}.")
    return float(value)


# --------------------------------------------------------------------------- features

def features(clips, rate: int, n_bands: int = 32, scale: str = "auto", frame: int | None = None,
             fmin: float = 20.0):
    """Log band energies of each clip: the spectrum a detector learns from.

    Each clip is cut into frames (Hann window, half overlap), the power spectra
    of the frames are averaged, and the power is summed into ``n_bands``
    bands; the result is ``log10`` of each band's power.

    Parameters
    ----------
    clips : array of shape (N, samples) or (samples,)
        Vibration or sound clips.
    rate : int
        Sampling rate in Hz.
    n_bands : int
        Number of bands.
    scale : {"auto", "linear", "mel"}
        ``"linear"``: equal-width bands from 0 Hz to ``rate / 2`` (right for a
        1 kHz accelerometer, where every band matters). ``"mel"``: mel bands
        from ``fmin`` to ``rate / 2``, narrow at low and wide at high
        frequencies (right for a 16 kHz microphone, where the machine's tones
        sit in the lowest few hundred hertz). ``"auto"``: linear below
        :data:`MEL_ABOVE_HZ`, mel above.
    frame : int, optional
        Samples per FFT frame; default the power of two nearest a quarter of a
        second (256 at 1 kHz, 4096 at 16 kHz), at most the clip length.
    fmin : float
        Lowest frequency of the mel bands, in Hz.

    Returns
    -------
    features : ndarray, float32, shape (N, n_bands)
    freqs : ndarray, shape (n_bands,)
        Centre frequency of each band in Hz.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(1000) / 1000
    >>> f, freqs = features(np.sin(2 * np.pi * 100 * t), rate=1000, n_bands=10)
    >>> f.shape, round(float(freqs[np.argmax(f[0])]))
    ((1, 10), 125)
    """
    from . import audio

    x = _clips(clips)
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer, float)) or rate <= 0 \
            or rate != int(rate):
        raise ValueError(f"rate must be the sampling rate in Hz (e.g. 1000 or 16000); got "
                         f"{rate!r}.")
    rate = int(rate)
    if isinstance(n_bands, bool) or not isinstance(n_bands, (int, np.integer)) or n_bands < 2:
        raise ValueError(f"n_bands must be a whole number >= 2; got {n_bands!r}.")
    if scale not in ("auto", "linear", "mel"):
        raise ValueError(f"scale must be 'auto', 'linear' or 'mel'; got {scale!r}.")
    if scale == "auto":
        scale = "linear" if rate < MEL_ABOVE_HZ else "mel"
    if frame is None:
        frame = 1 << int(round(np.log2(rate / 4)))
        frame = min(frame, 1 << int(np.log2(x.shape[1])))
    if isinstance(frame, bool) or not isinstance(frame, (int, np.integer)) or frame < 8:
        raise ValueError(f"frame must be a whole number of samples >= 8; got {frame!r}.")
    if x.shape[1] < frame:
        raise ValueError(f"the clips have {x.shape[1]} samples, fewer than one frame ({frame}); "
                         f"use a shorter frame or longer clips.")
    if n_bands > frame // 2:
        raise ValueError(f"n_bands={n_bands} is more than the {frame // 2} FFT bins of a "
                         f"{frame}-sample frame; use fewer bands or a longer frame.")
    hop = frame // 2
    starts = np.arange(0, x.shape[1] - frame + 1, hop)
    window = np.hanning(frame)
    power = np.zeros((x.shape[0], frame // 2 + 1))
    for s in starts:                       # frame by frame: little memory for long clips
        power += np.abs(np.fft.rfft(x[:, s:s + frame] * window, axis=1)) ** 2
    power /= len(starts)
    bin_hz = np.fft.rfftfreq(frame, 1 / rate)
    if scale == "linear":
        edges = np.linspace(1, frame // 2 + 1, n_bands + 1).astype(int)   # skip DC
        bands = np.stack([power[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])], 1)
        freqs = np.array([bin_hz[a:b].mean() for a, b in zip(edges[:-1], edges[1:])])
    else:
        if not 0 <= fmin < rate / 2:
            raise ValueError(f"fmin must be between 0 and rate / 2 = {rate / 2:g} Hz; got {fmin!r}.")
        filters = audio.mel_filterbank(n_bands, frame, rate, fmin, rate / 2)
        bands = power @ filters
        mels = np.linspace(audio.hz_to_mel(fmin), audio.hz_to_mel(rate / 2), n_bands + 2)
        freqs = audio.mel_to_hz(mels[1:-1])
    floor = 1e-10 * max(float(power.max()), 1e-30)
    return np.log10(bands + floor).astype(np.float32), freqs


# --------------------------------------------------------------------------- detectors

class KMeansDetector:
    """Anomaly score = distance to the nearest centre of the healthy clusters.

    :meth:`fit` groups healthy feature vectors into ``n_clusters`` clusters
    (k-means); :meth:`score` measures how far each new clip is from the closest
    cluster centre (Euclidean). Healthy clips sit near a centre; a fault moves
    the clip away from all of them. Standardize the features first (e.g. with
    the healthy training clips' mean and standard deviation) so that every band
    counts alike.

    Parameters
    ----------
    n_clusters : int
        Number of clusters (healthy "modes" of the machine: speeds, loads).
    seed : int
        Random seed of the k-means initialisation.

    Examples
    --------
    >>> import numpy as np
    >>> healthy = np.random.default_rng(0).normal(size=(50, 3))
    >>> detector = KMeansDetector(n_clusters=2).fit(healthy)
    >>> bool(detector.score([[9.0, 9.0, 9.0]])[0] > detector.score([[0.0, 0.0, 0.0]])[0])
    True
    """

    def __init__(self, n_clusters: int = 8, seed: int = 0):
        if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) \
                or n_clusters < 1:
            raise ValueError(f"n_clusters must be a whole number >= 1; got {n_clusters!r}.")
        self.n_clusters = int(n_clusters)
        self.seed = int(seed)
        self.centroids = None

    def fit(self, features, n_init: int = 4, max_iter: int = 100) -> "KMeansDetector":
        """Learn the cluster centres of healthy clips; returns the detector.

        k-means++ starts, then Lloyd's iterations (assign each clip to its
        nearest centre, move each centre to the mean of its clips); the best of
        ``n_init`` runs (smallest sum of squared distances) is kept.
        """
        x = _matrix(features).astype(np.float64)
        if x.shape[0] < self.n_clusters:
            raise ValueError(f"{x.shape[0]} clips cannot make {self.n_clusters} clusters; use "
                             f"more healthy clips or fewer clusters.")
        rng = np.random.default_rng(self.seed)
        best, best_inertia = None, np.inf
        for _ in range(max(1, int(n_init))):
            centres = _kmeans_plus_plus(x, self.n_clusters, rng)
            for _ in range(int(max_iter)):
                nearest = _sq_distances(x, centres).argmin(axis=1)
                moved = centres.copy()
                for k in range(self.n_clusters):
                    members = x[nearest == k]
                    if len(members):
                        moved[k] = members.mean(axis=0)
                if np.allclose(moved, centres):
                    break
                centres = moved
            inertia = _sq_distances(x, centres).min(axis=1).sum()
            if inertia < best_inertia:
                best, best_inertia = centres, inertia
        self.centroids = best.astype(np.float32)
        return self

    def score(self, features) -> np.ndarray:
        """Distance of each clip to its nearest centre, shape (N,)."""
        if self.centroids is None:
            raise ValueError("fit the detector on healthy clips first: detector.fit(features).")
        x = _matrix(features)
        if x.shape[1] != self.centroids.shape[1]:
            raise ValueError(f"the detector was fitted on {self.centroids.shape[1]} features per "
                             f"clip; got {x.shape[1]}.")
        return np.sqrt(_sq_distances(x, self.centroids).min(axis=1))

    def __repr__(self) -> str:
        state = "fitted" if self.centroids is not None else "not fitted"
        return f"KMeansDetector(n_clusters={self.n_clusters}, {state})"


def _sq_distances(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of every row of x to every centre, shape (N, k)."""
    x = np.asarray(x, dtype=np.float64)
    centres = np.asarray(centres, dtype=np.float64)
    return np.maximum(((x[:, None, :] - centres[None]) ** 2).sum(axis=2), 0.0)


def _kmeans_plus_plus(x: np.ndarray, k: int, rng) -> np.ndarray:
    """k-means++ starting centres: each next one far from those already chosen."""
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = _sq_distances(x, np.array(centres)).min(axis=1)
        total = d.sum()
        index = rng.choice(len(x), p=d / total) if total > 0 else rng.integers(len(x))
        centres.append(x[index])
    return np.array(centres)


def autoencoder(n_inputs: int, hidden=(32, 8, 32), seed: int = 0):
    """A small dense autoencoder: squeeze the features through a bottleneck and back.

    Dense ReLU layers of the sizes in ``hidden`` (the smallest is the
    bottleneck), then a linear layer back to ``n_inputs``. Trained on healthy
    clips only (:func:`train`), it learns to rebuild healthy spectra; a fault
    it has never seen comes back wrong, and the size of the mistake
    (:func:`reconstruction_error`) is the anomaly score.

    Returns
    -------
    keras.Sequential
        Not compiled; :func:`train` compiles it.

    Examples
    --------
    >>> model = autoencoder(32, hidden=(16, 4, 16))        # doctest: +SKIP
    >>> model.count_params()                               # doctest: +SKIP
    1252
    """
    if isinstance(n_inputs, bool) or not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
        raise ValueError(f"n_inputs must be the number of features per clip (>= 1); got "
                         f"{n_inputs!r}.")
    hidden = tuple(hidden)
    if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1
                         for h in hidden):
        raise ValueError(f"hidden must be a non-empty list of layer sizes (whole numbers >= 1), "
                         f"e.g. (32, 8, 32); got {hidden!r}.")
    import keras

    keras.utils.set_random_seed(int(seed))
    layers = [keras.Input(shape=(int(n_inputs),))]
    layers += [keras.layers.Dense(int(h), activation="relu") for h in hidden]
    layers += [keras.layers.Dense(int(n_inputs))]
    return keras.Sequential(layers, name="autoencoder")


def train(model, x_healthy, epochs: int = 50, batch_size: int = 16, learning_rate: float = 3e-3,
          validation_split: float = 0.0, verbose: int = 0):
    """Teach ``model`` to reproduce healthy clips: ``model.fit(x, x)``, mean squared error.

    Returns the Keras ``History``.
    """
    x = _matrix(x_healthy, "x_healthy")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1; got {epochs!r}.")
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="mse")
    return model.fit(x, x, epochs=int(epochs), batch_size=int(batch_size),
                     validation_split=validation_split, shuffle=True, verbose=verbose)


def reconstruction_error(model, x) -> np.ndarray:
    """Mean squared difference between each clip's features and the model's rebuild, shape (N,).

    ``model`` is a Keras autoencoder or a ``.tflite`` model (bytes), which runs
    on the virtual microcontroller (:func:`tinyml_lib.mcu.run_tflite`).
    """
    x = _matrix(x, "x")
    if isinstance(model, (bytes, bytearray)):
        from . import mcu

        rebuilt = np.asarray(mcu.run_tflite(bytes(model), x), dtype=np.float32)
    else:
        rebuilt = np.asarray(model.predict(x, verbose=0), dtype=np.float32)
    rebuilt = rebuilt.reshape(x.shape[0], -1)
    if rebuilt.shape != x.shape:
        raise ValueError(f"the model turns {x.shape[1]} features into {rebuilt.shape[1]}; an "
                         f"autoencoder must give back as many as it gets.")
    return np.mean((x - rebuilt) ** 2, axis=1)


# --------------------------------------------------------------------------- thresholds

def threshold_for(healthy_scores, max_false_alarm_rate: float) -> float:
    """The lowest threshold that raises at most this share of false alarms on healthy clips.

    Choose it on healthy **validation** clips (not the ones the detector was
    trained on: those score too low). The lowest threshold within the budget
    catches the most faults. When no threshold meets the budget (e.g. a budget
    of 0 with ties), the threshold is just above the highest score.

    Examples
    --------
    >>> threshold_for([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], 0.2)
    0.9
    """
    s = _scores(healthy_scores, "healthy_scores")
    budget = _rate(max_false_alarm_rate, "max_false_alarm_rate")
    values = np.unique(s)                                  # ascending
    alarms = s.size - np.searchsorted(np.sort(s), values)  # clips with score >= value
    ok = alarms / s.size <= budget + 1e-12
    if not ok.any():
        return float(np.nextafter(values[-1], np.inf))
    return float(values[ok][0])


def evaluate(y_true, scores, threshold: float) -> dict:
    """What a threshold does on labelled clips.

    Returns a dict: ``threshold``, ``false_alarm_rate`` (healthy clips flagged /
    healthy clips), ``recall`` (faulty clips flagged / faulty clips),
    ``precision`` (NaN when nothing is flagged), and the counts ``false_alarms``,
    ``missed``, ``detected``, ``healthy``, ``faulty``.

    Examples
    --------
    >>> evaluate([0, 0, 1, 1], [0.1, 0.6, 0.7, 0.2], 0.5)["recall"]
    0.5
    """
    y, s = _labelled(y_true, scores)
    t = _threshold(threshold)
    flagged = s >= t
    detected = int(np.sum(flagged & y))
    false_alarms = int(np.sum(flagged & ~y))
    return {"threshold": t,
            "false_alarm_rate": false_alarms / int((~y).sum()),
            "recall": detected / int(y.sum()),
            "precision": detected / (detected + false_alarms) if detected + false_alarms
            else float("nan"),
            "false_alarms": false_alarms, "missed": int(y.sum()) - detected,
            "detected": detected, "healthy": int((~y).sum()), "faulty": int(y.sum())}


def per_fault(fault, scores, threshold: float) -> dict:
    """Share of clips flagged, for each fault type (``"none"``: healthy, so false alarms).

    ``fault`` names each clip's fault (as in ``info.details["fault"]`` of
    :func:`tinyml_lib.datasets.load_machine_sound`). Returns ``{name:
    {"clips", "flagged", "rate"}}``, healthy first.

    Examples
    --------
    >>> per_fault(["none", "none", "drift"], [0.1, 0.9, 0.8], 0.5)["drift"]["rate"]
    1.0
    """
    s = _scores(scores)
    names = np.asarray(fault).astype(str)
    if names.shape != s.shape:
        raise ValueError(f"fault and scores must have one entry per clip; got shapes "
                         f"{names.shape} and {s.shape}.")
    t = _threshold(threshold)
    order = sorted({str(n) for n in names}, key=lambda n: (n != "none", n))
    result = {}
    for name in order:
        mask = names == name
        flagged = int(np.sum(s[mask] >= t))
        result[name] = {"clips": int(mask.sum()), "flagged": flagged,
                        "rate": flagged / int(mask.sum())}
    return result


# --------------------------------------------------------------------------- ROC and AUC

def roc(y_true, scores) -> dict[str, np.ndarray]:
    """The ROC curve: false-alarm rate and recall at every threshold.

    Returns arrays ``false_alarm_rate``, ``recall`` and ``threshold``, from the
    strictest threshold (+inf: nothing flagged, the point (0, 0)) to the
    loosest (the lowest score: everything flagged, (1, 1)).

    Examples
    --------
    >>> curve = roc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> curve["false_alarm_rate"].tolist(), curve["recall"].tolist()
    ([0.0, 0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    y, s = _labelled(y_true, scores)
    order = np.argsort(-s, kind="stable")
    s_sorted, y_sorted = s[order], y[order]
    last = np.r_[s_sorted[1:] != s_sorted[:-1], True]     # tied scores flag together
    tp = np.cumsum(y_sorted)[last]
    fp = np.cumsum(~y_sorted)[last]
    return {"false_alarm_rate": np.r_[0.0, fp / (~y).sum()],
            "recall": np.r_[0.0, tp / y.sum()],
            "threshold": np.r_[np.inf, s_sorted[last]]}


def auc(y_true, scores) -> float:
    """Area under the ROC curve, from 0.5 (guessing) to 1 (a threshold separates all).

    Equals the probability that a random faulty clip scores higher than a
    random healthy one (ties count one half).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    curve = roc(y_true, scores)
    x, y = curve["false_alarm_rate"], curve["recall"]
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


# --------------------------------------------------------------------------- plots

def _groups(clips, labels):
    x = _clips(clips)
    names = np.asarray(labels).astype(str)
    if names.shape != (x.shape[0],):
        raise ValueError(f"labels must name each clip; got {names.shape[0] if names.ndim else 0} "
                         f"labels for {x.shape[0]} clips.")
    order = sorted({str(n) for n in names}, key=lambda n: (n not in ("none", "healthy"), n))
    return x, names, order


def _mean_spectra(clips, rate, labels, n_bands):
    x, names, order = _groups(clips, labels)
    f, freqs = features(x, rate, n_bands=n_bands)
    return {name: 10 * f[names == name].mean(axis=0) for name in order}, freqs


def plot_spectra(clips, rate: int, labels, ax=None, n_bands: int = 64):
    """The mean spectrum (in dB, the bands of :func:`features`) of each group of clips.

    ``labels`` names each clip's group, e.g. its fault (``"none"`` for healthy).
    Mel bands are drawn on a logarithmic frequency axis. Returns the Axes.
    """
    spectra, freqs = _mean_spectra(clips, rate, labels, n_bands)
    if ax is None:
        _, ax = plots.figure()
    for name, values in spectra.items():
        healthy = name in ("none", "healthy")
        ax.plot(freqs, values, label="healthy" if name == "none" else name,
                color="black" if healthy else None, linewidth=2.5 if healthy else 1.2,
                zorder=3 if healthy else 2)
    if rate >= MEL_ABOVE_HZ:
        ax.set_xscale("log")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("band power (dB)")
    ax.legend(fontsize="small")
    return ax


def describe_spectra(clips, rate: int, labels, n_bands: int = 64) -> str:
    """Alt text for :func:`plot_spectra`: where each group differs most from healthy."""
    spectra, freqs = _mean_spectra(clips, rate, labels, n_bands)
    reference = spectra.get("none", spectra.get("healthy"))
    text = f"Mean spectra of {len(spectra)} groups of clips from {freqs[0]:.0f} to " \
           f"{freqs[-1]:.0f} Hz"
    if reference is None:
        return text + "."
    parts = []
    for name, values in spectra.items():
        if name in ("none", "healthy"):
            continue
        diff = values - reference
        k = int(np.argmax(np.abs(diff)))
        parts.append(f"{name} differs most from healthy near {freqs[k]:.0f} Hz "
                     f"({diff[k]:+.0f} dB)")
    peak = int(np.argmax(reference))
    text += f"; the healthy spectrum peaks near {freqs[peak]:.0f} Hz"
    return text + ("; " + "; ".join(parts) if parts else "") + "."


def plot_scores(y_true, scores, threshold: float | None = None, ax=None, bins: int = 30,
                names: tuple[str, str] = NAMES):
    """Histograms of the anomaly scores of healthy and faulty clips, with the threshold."""
    y, s = _labelled(y_true, scores)
    if ax is None:
        _, ax = plots.figure()
    edges = np.linspace(s.min(), s.max(), bins + 1)
    ax.hist(s[~y], bins=edges, alpha=0.6, color="tab:blue", label=names[0])
    ax.hist(s[y], bins=edges, alpha=0.6, color="tab:red", label=names[1])
    if threshold is not None:
        ax.axvline(_threshold(threshold), color="black", linestyle="--",
                   label=f"threshold {threshold:.3g}")
    ax.set_xlabel("anomaly score")
    ax.set_ylabel("clips")
    ax.legend()
    return ax


def describe_scores(y_true, scores, threshold: float | None = None,
                    names: tuple[str, str] = NAMES) -> str:
    """Alt text for :func:`plot_scores`: the two ranges and what the threshold does."""
    y, s = _labelled(y_true, scores)
    text = (f"Histograms of anomaly scores: {(~y).sum()} {names[0]} clips from "
            f"{s[~y].min():.3g} to {s[~y].max():.3g} (median {np.median(s[~y]):.3g}), "
            f"{y.sum()} {names[1]} clips from {s[y].min():.3g} to {s[y].max():.3g} "
            f"(median {np.median(s[y]):.3g})")
    if threshold is None:
        return text + "."
    point = evaluate(y, s, threshold)
    return text + (f"; a dashed line marks the threshold {point['threshold']:.3g}: "
                   f"{point['false_alarms']} {names[0]} clips are above it (false alarms) and "
                   f"{point['missed']} {names[1]} clips below it (missed).")


def _named(scores) -> dict:
    if isinstance(scores, Mapping):
        if not scores:
            raise ValueError("scores is an empty dict; pass {name: scores}.")
        return dict(scores)
    return {"detector": scores}


def plot_roc(y_true, scores, threshold=None, ax=None):
    """ROC curves (recall against false-alarm rate), AUC in the legend.

    ``scores`` is one detector's scores or a dict ``{name: scores}``;
    ``threshold`` (a number, or a dict by name) marks operating points.
    """
    named = _named(scores)
    marks = threshold if isinstance(threshold, Mapping) else (
        {} if threshold is None else {name: threshold for name in named})
    if ax is None:
        _, ax = plots.figure()
    for name, s in named.items():
        curve = roc(y_true, s)
        line, = ax.step(curve["false_alarm_rate"], curve["recall"], where="post",
                        label=f"{name} (AUC {auc(y_true, s):.3f})")
        if name in marks:
            point = evaluate(y_true, s, marks[name])
            ax.plot(point["false_alarm_rate"], point["recall"], "o", markersize=8,
                    color=line.get_color())
    ax.plot([0, 1], [0, 1], ":", color="gray", label="guessing (AUC 0.5)")
    ax.set_xlabel("false-alarm rate (healthy clips flagged)")
    ax.set_ylabel("recall (faulty clips flagged)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right", fontsize="small")
    return ax


def describe_roc(y_true, scores, threshold=None) -> str:
    """Alt text for :func:`plot_roc`: each curve's AUC and its marked operating point."""
    named = _named(scores)
    marks = threshold if isinstance(threshold, Mapping) else (
        {} if threshold is None else {name: threshold for name in named})
    parts = []
    for name, s in named.items():
        part = f"{name} with AUC {auc(y_true, s):.3f}"
        if name in marks:
            point = evaluate(y_true, s, marks[name])
            part += (f", marked at threshold {point['threshold']:.3g} (false-alarm rate "
                     f"{100 * point['false_alarm_rate']:.1f}%, recall "
                     f"{100 * point['recall']:.0f}%)")
        parts.append(part)
    return ("ROC curves, recall against false-alarm rate, above the diagonal of guessing: "
            + "; ".join(parts) + ".")


def plot_per_fault(fault, scores, threshold: float, ax=None):
    """Bars: the share of clips flagged for each fault type (healthy: false alarms)."""
    table = per_fault(fault, scores, threshold)
    if ax is None:
        _, ax = plots.figure()
    names = list(table)
    rates = [100 * table[n]["rate"] for n in names]
    colors = ["tab:blue" if n == "none" else "tab:red" for n in names]
    bars = ax.bar(["healthy\n(false alarms)" if n == "none" else n for n in names], rates,
                  color=colors)
    for bar, name in zip(bars, names):
        ax.annotate(f"{table[name]['flagged']}/{table[name]['clips']}",
                    (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize="small")
    ax.set_ylabel("clips flagged (%)")
    ax.set_ylim(0, 110)
    ax.set_title(f"threshold {float(threshold):.3g}")
    return ax


def describe_per_fault(fault, scores, threshold: float) -> str:
    """Alt text for :func:`plot_per_fault`: flagged share per fault type."""
    table = per_fault(fault, scores, threshold)
    parts = []
    for name, row in table.items():
        what = "healthy clips raise a false alarm" if name == "none" else f"{name} clips flagged"
        parts.append(f"{row['flagged']} of {row['clips']} {what} "
                     f"({100 * row['rate']:.0f}%)")
    return (f"Bars of the share of clips flagged at threshold {float(threshold):.3g}: "
            + "; ".join(parts) + ".")
