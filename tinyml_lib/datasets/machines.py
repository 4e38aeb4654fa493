"""Machine vibration and sound, normal and faulty, for anomaly detection.

:func:`load_machine_sound` returns what an anomaly-detection lesson needs:
training clips of a healthy machine only, and a test set of healthy and faulty
clips labelled 0 / 1. The offline source simulates a motor-driven fan (shaft at
about 24.5 Hz, 1,470 rpm, six blades) measured by an accelerometer
(``kind="vibration"``, 1 kHz) or a microphone (``kind="sound"``, 16 kHz), and
injects the faults a maintenance engineer looks for:

``"imbalance"``  a 3-5x stronger vibration at the shaft speed (1x);
``"looseness"``  many shaft harmonics (2x-10x) and half-harmonics;
``"bearing"``    impulses at the outer-race fault frequency (BPFO, 3.57x), each
                 ringing the structure's resonance, modulated by the load zone;
``"drift"``      the speed is off by 6-12 % and wanders (a speed-control fault).

:func:`spectrum` turns clips into log power spectra, the features a k-means or
autoencoder lesson starts from.

Examples
--------
>>> from tinyml_lib.datasets import load_machine_sound
>>> x_train, x_test, y_test, info = load_machine_sound(20, 10, source="offline")
>>> x_train.shape, x_test.shape, int(y_test.sum())
((20, 1000), (20, 1000), 10)
"""

from __future__ import annotations

import numpy as np

from ._core import DatasetInfo, cached_arrays, check_count, check_seed, progress, resolve_source

FAULTS = ("imbalance", "looseness", "bearing", "drift")
KINDS = {"vibration": 1000, "sound": 16000}   # default sampling rate per kind (Hz)
#: No real source: MIMII, ToyADMOS and the DCASE machine-sound sets are
#: multi-gigabyte archives (no small file with a published SHA-256 to pin).
REAL_SOURCES: tuple[str, ...] = ()
SHAFT_HZ = 24.5
BLADES = 6
BPFO_ORDER = 3.57   # outer-race fault frequency / shaft speed (9 balls, d/D = 0.2)


def load_machine_sound(n_normal: int, n_anomalous: int, source: str = "auto", seed: int = 0,
                       kind: str = "vibration", faults=FAULTS, seconds: float = 1.0):
    """Healthy training clips, and a test set of healthy and faulty clips.

    Parameters
    ----------
    n_normal : int
        Healthy clips in the training set (anomaly detectors learn "normal" only).
    n_anomalous : int
        Faulty clips in the test set; the test set also holds as many new healthy
        clips, so it is balanced.
    source : {"auto", "offline"}
        Only the offline simulator is available (see the module notes).
    seed : int
        Random seed; the same seed gives the same clips.
    kind : {"vibration", "sound"}
        An accelerometer on the motor housing (1,000 Hz, in g) or a microphone
        next to it (16,000 Hz, in arbitrary units around +-1).
    faults : sequence of str
        Which faults appear in the test set (in turn), from :data:`FAULTS`.
    seconds : float
        Clip length, 0.25 to 10 s.

    Returns
    -------
    x_train : ndarray, float32, shape (n_normal, T)
        Healthy clips, ``T = rate * seconds``.
    x_test : ndarray, float32, shape (2 * n_anomalous, T)
        Healthy and faulty clips, shuffled.
    y_test : ndarray, int64, shape (2 * n_anomalous,)
        0 healthy, 1 faulty.
    info : DatasetInfo
        ``info.details["fault"]`` names each test clip's fault (``"none"`` when
        healthy), ``info.details["severity"]`` its strength in [0.3, 1];
        ``info.details["rate"]`` is the sampling rate.

    Examples
    --------
    >>> x_train, x_test, y_test, info = load_machine_sound(8, 4, kind="sound", seconds=0.5)
    >>> x_train.shape, info.details["rate"]
    ((8, 8000), 16000)
    """
    n_normal = check_count("n_normal", n_normal)
    n_anomalous = check_count("n_anomalous", n_anomalous)
    seed = check_seed(seed)
    if kind not in KINDS:
        raise ValueError(f"kind={kind!r} is not one of 'vibration', 'sound'.")
    if isinstance(faults, str):
        faults = (faults,)
    faults = tuple(faults)
    unknown = [f for f in faults if f not in FAULTS]
    if unknown or not faults:
        raise ValueError(f"faults must be names from {', '.join(FAULTS)}; got {faults!r}.")
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) \
            or not 0.25 <= seconds <= 10:
        raise ValueError(f"seconds must be a clip length between 0.25 and 10; got {seconds!r}.")
    source = resolve_source(source, REAL_SOURCES)
    rate = KINDS[kind]
    length = int(round(rate * seconds))
    settings = {"v": 1, "source": source, "normal": n_normal, "anomalous": n_anomalous,
                "seed": seed, "kind": kind, "faults": faults, "seconds": float(seconds)}

    def build():
        rng = np.random.default_rng([seed, 24])
        test_faults = np.array(["none"] * n_anomalous
                               + [faults[i % len(faults)] for i in range(n_anomalous)])
        test_faults = test_faults[rng.permutation(test_faults.size)]
        plan = ["none"] * n_normal + list(test_faults)
        seeds = rng.integers(0, 2**63 - 1, size=len(plan))
        clips = np.empty((len(plan), length), dtype=np.float32)
        severity = np.zeros(len(plan), dtype=np.float32)
        for i in progress(range(len(plan)), total=len(plan), desc="simulating machines"):
            clip_rng = np.random.default_rng(seeds[i])
            severity[i] = 0.0 if plan[i] == "none" else clip_rng.uniform(0.3, 1.0)
            clips[i] = _clip(clip_rng, plan[i], float(severity[i]), kind, rate, length)
        return {"x_train": clips[:n_normal], "x_test": clips[n_normal:],
                "y_test": (test_faults != "none").astype(np.int64), "fault": test_faults,
                "severity": severity[n_normal:]}

    arrays, path, _ = cached_arrays("machines", settings, build)
    sensor = "an accelerometer (g)" if kind == "vibration" else "a microphone"
    info = DatasetInfo(
        name="machine_sound", source="offline",
        description=(f"Simulated {kind} of a fan motor (about {SHAFT_HZ * 60:.0f} rpm) from "
                     f"{sensor} at {rate} Hz; healthy clips vary in speed, load and noise; "
                     f"faulty test clips have {', '.join(faults)}."),
        classes=["normal", "anomalous"], cache_path=path,
        details={"rate": rate, "seconds": float(seconds), "kind": kind, "faults": list(faults),
                 "fault": arrays["fault"], "severity": arrays["severity"], "seed": seed,
                 "shaft_hz": SHAFT_HZ, "bpfo_order": BPFO_ORDER, "synthetic": True})
    return arrays["x_train"], arrays["x_test"], arrays["y_test"], info


def _resonator(x: np.ndarray, freq: float, rate: float, decay: float) -> np.ndarray:
    """Ring a two-pole resonance at ``freq`` Hz that decays at ``decay`` 1/s."""
    from scipy import signal

    r = np.exp(-decay / rate)
    theta = 2 * np.pi * freq / rate
    return signal.lfilter([1 - r], [1, -2 * r * np.cos(theta), r * r], x)


def _clip(rng, fault: str, severity: float, kind: str, rate: int, length: int) -> np.ndarray:
    t = np.arange(length) / rate
    load = rng.uniform(0.8, 1.2)
    speed = SHAFT_HZ * (1 + rng.normal(0, 0.01))
    if fault == "drift":
        speed *= 1 + rng.choice([-1, 1]) * (0.06 + 0.06 * severity)
    wander = 0.002 if fault != "drift" else 0.02 * severity
    f_inst = speed * (1 + wander * np.sin(2 * np.pi * rng.uniform(0.2, 1.0) * t
                                          + rng.uniform(0, 2 * np.pi)))
    phase = 2 * np.pi * np.cumsum(f_inst) / rate + rng.uniform(0, 2 * np.pi)
    # healthy machine: 1x, 2x, 3x and the blade-pass tone, plus broadband noise
    amps = {1: 0.05, 2: 0.02, 3: 0.01, BLADES: 0.015}
    if fault == "imbalance":
        amps[1] *= 1 + 2 + 2 * severity
    x = sum(load * a * (1 + rng.normal(0, 0.1)) * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
            for k, a in amps.items())
    if fault == "looseness":
        for k in range(2, 11):
            x = x + 0.025 * severity * k**-0.5 * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
        for k in (0.5, 1.5, 2.5):
            x = x + 0.015 * severity * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    resonance = 380.0 if kind == "vibration" else 2600.0
    noise_level = 0.01 * rng.uniform(0.7, 1.3)
    noise = rng.normal(0, noise_level, length)
    x = x + noise + 3.0 * _resonator(rng.normal(0, noise_level, length), resonance, rate, 60.0)
    if fault == "bearing":
        period = rate / (BPFO_ORDER * speed)
        hits = np.arange(rng.uniform(0, period), length, period)
        hits = np.clip(np.round(hits + rng.normal(0, 0.01 * period, hits.size)), 0, length - 1)
        impulses = np.zeros(length)
        zone = 1 + 0.5 * np.cos(phase[hits.astype(int)])   # load zone modulation
        impulses[hits.astype(int)] = 2.0 * severity * zone * rng.uniform(0.8, 1.2, hits.size)
        x = x + _resonator(impulses, resonance * rng.uniform(0.95, 1.05), rate, 150.0)
    if kind == "sound":
        hum = rng.choice([50.0, 60.0])
        x = 4 * x + 0.02 * np.sin(2 * np.pi * hum * t) + 0.01 * np.sin(4 * np.pi * hum * t)
        x = x + rng.normal(0, 0.01, length)                 # room noise
    return x.astype(np.float32)


def spectrum(x, rate: float, n_bins: int = 64, frame: int = 256):
    """Log power spectra: the average over frames, pooled into ``n_bins`` bands.

    Parameters
    ----------
    x : array of shape (N, T) or (T,)
        Clips.
    rate : float
        Sampling rate in Hz.
    n_bins : int
        Number of equal-width frequency bands from 0 to ``rate / 2``.
    frame : int
        Samples per FFT frame (Hann window, half overlap).

    Returns
    -------
    features : ndarray, float32, shape (N, n_bins)
        ``log10`` of the mean power in each band.
    freqs : ndarray, shape (n_bins,)
        Centre frequency of each band in Hz.

    Examples
    --------
    >>> x_train, _, _, info = load_machine_sound(4, 2)
    >>> features, freqs = spectrum(x_train, info.details["rate"], n_bins=32)
    >>> features.shape
    (4, 32)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[None]
    n_bins = check_count("n_bins", n_bins)
    frame = check_count("frame", frame, minimum=8)
    if x.ndim != 2 or x.shape[1] < frame:
        raise ValueError(f"x must be clips of shape (N, T) with T >= frame ({frame}); got "
                         f"shape {x.shape}.")
    if n_bins > frame // 2:
        raise ValueError(f"n_bins={n_bins} is more than the {frame // 2} FFT bins of a "
                         f"{frame}-sample frame; use fewer bins or a longer frame.")
    hop = frame // 2
    starts = np.arange(0, x.shape[1] - frame + 1, hop)
    frames = np.stack([x[:, s:s + frame] for s in starts], axis=1) * np.hanning(frame)
    power = (np.abs(np.fft.rfft(frames, axis=-1)) ** 2).mean(axis=1)[:, 1:frame // 2 + 1]
    edges = np.linspace(0, power.shape[1], n_bins + 1).astype(int)
    pooled = np.stack([power[:, a:b].mean(axis=1) for a, b in zip(edges[:-1], edges[1:])], 1)
    freqs = (edges[:-1] + edges[1:]) / 2 * rate / frame
    return np.log10(pooled + 1e-12).astype(np.float32), freqs


def plot_spectrum(x, rate: float, label: str | None = None, ax=None, n_bins: int = 128):
    """Plot the log power spectrum of one clip (or the mean of several); returns the Axes."""
    from .. import plots

    features, freqs = spectrum(x, rate, n_bins=n_bins, frame=max(256, 2 * n_bins))
    if ax is None:
        _, ax = plots.figure()
    ax.plot(freqs, features.mean(axis=0), label=label)
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("log10 power")
    if label:
        ax.legend()
    return ax
