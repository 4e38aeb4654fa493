"""Adversarial noise: one quiet sound that makes a keyword spotter hear "yes".

A *universal* adversarial noise is a single one-second waveform that, added
to *any* clip, pushes a keyword-spotting model towards a chosen class. The
lesson builds one and listens to it (:func:`to_wav`), measures how often it
works (:func:`attack_success`) and how loud it is (:func:`snr_db`), and draws
it (:func:`plot_noise`).

What "model" means here
-----------------------
The attack works on *waveforms*, but every model in the course takes
*features*. So the thing under attack is the whole pipeline a device runs::

    clip + noise  ->  clipped to [-1, 1], int16  ->  micro frontend  ->  model  ->  class

The frontend is always the real one, :func:`tinyml_lib.audio.micro_features`
(TensorFlow's TFLM micro-frontend op), for evaluation and for black-box
queries. ``model`` is the classifier behind it, taking ``(49, 40, 1)``
features and giving class probabilities, in one of two forms:

- a **Keras model** (as :func:`tinyml_lib.kws.train` returns): *white box*.
  The real frontend is fixed-point and not differentiable, so gradients flow
  through a differentiable stand-in (:func:`standin_features`: Hann-windowed
  30/20 ms frames, power spectrum, the frontend's 40 mel channels, its noise
  reduction and PCAN gain control in floating point, a smooth log), fitted to
  the real frontend and re-calibrated on the clips being attacked;
- a **.tflite** model, path or bytes, float or int8 (as
  :func:`tinyml_lib.quantize.convert` writes): *black box*. The attack only
  queries it through :func:`tinyml_lib.mcu.run_tflite` and estimates the
  gradient from the answers (NES with antithetic samples in a 400-dimensional
  basis of time-frequency "tiles" of band-limited noise).

Classes default to ``["silence", "unknown", "yes", "no"]``
(:func:`tinyml_lib.kws.label_names` of yes/no); pass ``classes=`` otherwise.

Examples
--------
>>> from tinyml_lib import attacks, kws
>>> result = kws.train(("yes", "no"))                                     # doctest: +SKIP
>>> noise = attacks.universal_noise(result.model, clips, "yes", 0.05)     # doctest: +SKIP
>>> attacks.attack_success(result.model, test_clips, noise, "yes",
...                        labels=test_labels)                            # doctest: +SKIP
0.83
>>> attacks.to_wav(noise, "yes_noise.wav")                                # doctest: +SKIP
"""

from __future__ import annotations

import functools
import os
import time
import wave
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import audio, config, plots

__all__ = [
    "CLIP_SAMPLES",
    "DEFAULT_CLASSES",
    "AttackResult",
    "attack_success",
    "craft_noise",
    "describe_noise",
    "plot_noise",
    "predict_waves",
    "random_shifts",
    "snr_db",
    "standin_features",
    "to_wav",
    "universal_noise",
]

#: One second at 16 kHz: the length of every clip and of the noise.
CLIP_SAMPLES = audio.SAMPLE_RATE
#: The classes of a yes/no keyword spotter, in ``micro_speech`` order.
DEFAULT_CLASSES = ("silence", "unknown", "yes", "no")

_FRAMES = 49
_WINDOW = audio.SAMPLE_RATE * audio.WINDOW_MS // 1000       # 480 samples
_STRIDE = audio.SAMPLE_RATE * audio.STRIDE_MS // 1000       # 320 samples
_FFT = 512

# The differentiable stand-in for the micro frontend, fitted (least absolute
# error, Nelder-Mead) to audio.micro_features on 400 offline yes/no/silence/
# unknown clips. Its structure follows the frontend: amplitude per mel channel
# A = sqrt(power @ filterbank) on int16-scaled samples; noise estimate
# M[t] = M[t-1] + s * (A[t] - M[t-1]) with s alternating between even and odd
# channels; noise reduction S = max(A - min(M, A), 0.05 A); PCAN
# snr = S * gain / (est_scale * M + 80) ** strength; the frontend's shrink
# (quadratic below 8192, linear above); 2.5 * log (x 10/256 of 64 ln).
_STANDIN = {
    "amplitude_scale": 1.0003,
    "est_scale": 0.4567,       # exp(-0.7838)
    "gain": 12688.0,           # exp(9.4484)
    "even_smoothing": 0.02866,
    "odd_smoothing": 0.07245,
    "strength": 1.0024,
    "min_signal_remaining": 0.05,
    "pcan_offset": 80.0,
    "log_scale": 2.5,          # 64 (scale_shift 6) x 10 / 256
    "softness": 4.0,           # log(max(x, 1)) ~ log(1 + x**k) / k, smooth for gradients
}


# --------------------------------------------------------------------------- input checks

def _check_epsilon(epsilon) -> float:
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.integer, np.floating)) \
            or not np.isfinite(epsilon) or not 0 < epsilon <= 1:
        raise ValueError(f"epsilon is the largest allowed |noise| as a fraction of full scale and "
                         f"must be in (0, 1], e.g. 0.05; got {epsilon!r}.")
    return float(epsilon)


def _bound(epsilon: float) -> np.float32:
    """The largest float32 that is <= epsilon (float32(0.1) is slightly above 0.1)."""
    bound = np.float32(epsilon)
    if float(bound) > epsilon:
        bound = np.nextafter(bound, np.float32(0))
    return bound


def _check_clips(clips, name: str = "clips") -> np.ndarray:
    if isinstance(clips, (list, tuple)):
        if not clips:
            raise ValueError(f"{name} is empty: pass at least one one-second clip.")
        lengths = sorted({int(np.size(c)) for c in clips})
        if len(lengths) > 1 or lengths[0] != CLIP_SAMPLES:
            raise ValueError(f"every clip in {name} must be one second at 16 kHz "
                             f"({CLIP_SAMPLES} samples); got lengths {lengths[:5]}. Pad or trim "
                             f"them first (e.g. np.pad(clip, (0, {CLIP_SAMPLES} - len(clip))) or "
                             f"clip[:{CLIP_SAMPLES}]).")
    array = np.asarray(clips)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[0] == 0:
        raise ValueError(f"{name} must be a batch of clips, shape (n_clips, {CLIP_SAMPLES}); "
                         f"got shape {array.shape}.")
    if array.shape[1] != CLIP_SAMPLES:
        raise ValueError(f"{name} must hold one-second 16 kHz clips ({CLIP_SAMPLES} samples "
                         f"each); got {array.shape[1]} samples per clip. Pad or trim them "
                         f"(or resample with audio.resample) first.")
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.all(np.isfinite(array), axis=1)))
        raise ValueError(f"{name} contains NaN or infinite values ({bad} clip(s)); remove those "
                         f"clips or clean them with np.nan_to_num before attacking.")
    return audio.as_batch(array, name=name)


def _check_noise(noise) -> np.ndarray:
    array = np.asarray(noise)
    if array.ndim != 1 or array.size != CLIP_SAMPLES:
        raise ValueError(f"noise must be one waveform of {CLIP_SAMPLES} samples (one second at "
                         f"16 kHz), as universal_noise returns; got shape {array.shape}.")
    if array.dtype.kind not in "f":
        raise ValueError(f"noise must be float samples in [-1, 1]; got dtype {array.dtype}.")
    if not np.all(np.isfinite(array)):
        raise ValueError("noise contains NaN or infinite values; make it again with "
                         "universal_noise(...).")
    if np.max(np.abs(array)) > 1:
        raise ValueError(f"noise must lie in [-1, 1] (full scale); its peak is "
                         f"{float(np.max(np.abs(array))):.3g}.")
    return array.astype(np.float32)


def _check_classes(classes, n_outputs: int | None) -> list[str]:
    names = list(DEFAULT_CLASSES) if classes is None else list(classes)
    if not names or not all(isinstance(c, str) for c in names):
        raise ValueError(f"classes must be a list of class names, e.g. {list(DEFAULT_CLASSES)}; "
                         f"got {classes!r}.")
    if n_outputs is not None and len(names) != n_outputs:
        raise ValueError(f"the model has {n_outputs} outputs but classes names {len(names)} "
                         f"({names}); pass classes= with one name per output "
                         f"(e.g. result.classes from kws.train).")
    return names


def _target_index(target, classes: list[str]) -> int:
    if isinstance(target, str):
        if target not in classes:
            raise ValueError(f"target {target!r} is not one of the model's classes {classes}; "
                             f"pick one of them (or pass classes= if the model has other classes).")
        return classes.index(target)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool) \
            and 0 <= int(target) < len(classes):
        return int(target)
    raise ValueError(f"target must be a class name from {classes} (or its number 0 to "
                     f"{len(classes) - 1}); got {target!r}.")


def _label_indices(labels, n_clips: int, classes: list[str]) -> np.ndarray:
    array = np.asarray(labels)
    if array.ndim != 1 or array.size != n_clips:
        raise ValueError(f"labels must hold one label per clip: {n_clips} clips but labels has "
                         f"shape {array.shape}.")
    if array.dtype.kind in "iu":
        if array.size and (array.min() < 0 or array.max() >= len(classes)):
            raise ValueError(f"label numbers must be 0 to {len(classes) - 1} for classes {classes}.")
        return array.astype(np.int64)
    names = array.astype(str).tolist()
    unknown = sorted(set(names) - set(classes))
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among the classes {classes}.")
    return np.array([classes.index(n) for n in names], dtype=np.int64)


def _check_whole(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be a whole number >= {low}; got {value!r}.")
    return int(value)


# --------------------------------------------------------------------------- the victim

def _is_keras(model) -> bool:
    return hasattr(model, "predict") and hasattr(model, "layers") and hasattr(model, "inputs")


class _Victim:
    """The model under attack: features in, probabilities out, with a query counter."""

    def __init__(self, model, runtime: str):
        self.model = model
        self.queries = 0
        if _is_keras(model):
            self.kind = "keras"
            shape = tuple(model.input_shape[1:])
            if shape != (_FRAMES, audio.N_CHANNELS, 1):
                raise ValueError(f"the model takes inputs of shape {shape}, but a keyword "
                                 f"spotter for one-second clips takes micro features of shape "
                                 f"({_FRAMES}, {audio.N_CHANNELS}, 1).")
            self.n_outputs = int(model.output_shape[-1])
        elif isinstance(model, (bytes, bytearray, memoryview, str, os.PathLike)):
            from . import _tflite_graph, mcu

            self.kind = "tflite"
            self.data = _tflite_graph.model_bytes(model)
            self.runtime = runtime
            if runtime not in mcu.RUNTIMES:
                raise ValueError(f"runtime must be one of {mcu.RUNTIMES}; got {runtime!r}.")
            self._run = mcu.run_tflite
            self.n_outputs = int(np.prod(self._run(self.data, np.zeros((1, _FRAMES,
                                 audio.N_CHANNELS, 1), np.float32), runtime=runtime).shape[1:]))
        else:
            raise TypeError(f"model must be a Keras model (white box) or a .tflite model as "
                            f"bytes or a file path (black box); got {type(model).__name__}.")

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """Class probabilities for features (n, 49, 40[, 1]); counts n queries."""
        x = np.asarray(features, np.float32)
        if x.ndim == 3:
            x = x[..., None]
        self.queries += len(x)
        if self.kind == "keras":
            # direct calls: no per-batch-size retracing of Keras' predict function
            return np.concatenate([np.asarray(self.model(x[i:i + 512], training=False),
                                              np.float32) for i in range(0, len(x), 512)])
        return self._run(self.data, x, runtime=self.runtime).reshape(len(x), -1)

    def predict_waves(self, waves: np.ndarray) -> np.ndarray:
        return self.probabilities(audio.micro_features_batch(waves))


def _mix(clips: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """What the microphone hears: clip + noise, saturating at full scale."""
    return np.clip(clips + noise[None, :], -1.0, 1.0).astype(np.float32)


def predict_waves(model, waves, classes: Sequence[str] | None = None,
                  runtime: str = "tflm") -> np.ndarray:
    """Class numbers the pipeline (real micro frontend -> ``model``) gives one-second clips.

    Parameters
    ----------
    model : keras.Model or .tflite bytes / path
        A classifier of ``(49, 40, 1)`` micro features (see the module notes).
    waves : array-like, shape (n_clips, 16000)
    classes : sequence of str, optional
        Only checked against the number of outputs.
    runtime : {"tflm", "litert"}
        How a ``.tflite`` model runs (ignored for Keras).

    Examples
    --------
    >>> predict_waves(result.model, test_clips)[:5]      # doctest: +SKIP
    array([2, 0, 3, 1, 2])
    """
    clips = _check_clips(waves, "waves")
    victim = _Victim(model, runtime)
    _check_classes(classes, victim.n_outputs)
    return np.argmax(victim.predict_waves(clips), axis=1)


# --------------------------------------------------------------------------- success and loudness

def attack_success(model, clips, noise, target="yes", *, labels=None,
                   classes: Sequence[str] | None = None, runtime: str = "tflm") -> float:
    """The fraction of non-target clips that the model hears as ``target`` once ``noise`` is added.

    Each clip gets the noise added, saturating at full scale (``clip(x + noise,
    -1, 1)``), goes through the real micro frontend and then ``model``.

    Parameters
    ----------
    model : keras.Model or .tflite bytes / path
        The classifier behind the frontend (see the module notes).
    clips : array-like, shape (n_clips, 16000)
        One-second 16 kHz clips, float in [-1, 1] or int16.
    noise : array-like, shape (16000,)
        The noise (e.g. from :func:`universal_noise`); a zero array measures
        the clean rate.
    target : str or int
        The class the noise should produce (default ``"yes"``).
    labels : array-like, optional
        The true class of each clip (names or numbers). With labels, the
        clips counted are those whose *true* class is not the target. Without
        them, they are the clips the model does *not* hear as the target
        before the noise is added (so the clean rate is 0 by definition).
    classes : sequence of str, optional
        The model's class names; default ``["silence", "unknown", "yes", "no"]``.
    runtime : {"tflm", "litert"}
        How a ``.tflite`` model runs: by default with the microcontroller
        runtime (TFLM). Ignored for Keras models.

    Returns
    -------
    float
        Between 0 and 1. ``nan`` if no clip qualifies (all are the target).

    Raises
    ------
    ValueError
        Wrong clip length or shape, NaN values, a noise louder than full scale,
        an unknown target, or labels of the wrong length.

    Examples
    --------
    >>> attack_success(result.model, test_clips, noise, "yes", labels=test_labels)  # doctest: +SKIP
    0.83
    """
    clips = _check_clips(clips)
    noise = _check_noise(noise)
    victim = _Victim(model, runtime)
    names = _check_classes(classes, victim.n_outputs)
    t = _target_index(target, names)
    if labels is not None:
        others = _label_indices(labels, len(clips), names) != t
    else:
        others = np.argmax(victim.predict_waves(clips), axis=1) != t
    if not np.any(others):
        return float("nan")
    heard = np.argmax(victim.predict_waves(_mix(clips[others], noise)), axis=1)
    return float(np.mean(heard == t))


def snr_db(clips, noise) -> float:
    """Signal-to-noise ratio in dB: the clips' mean power over the noise's power.

    Positive: the noise is quieter than the speech on average; 0 dB: as loud;
    negative: louder.

    Examples
    --------
    >>> t = np.arange(16000) / 16000
    >>> round(snr_db(0.5 * np.sin(2 * np.pi * 440 * t)[None], 0.05 * np.sin(2 * np.pi * 50 * t)), 1)
    20.0
    """
    clips = _check_clips(clips)
    noise = _check_noise(noise)
    noise_power = float(np.mean(noise.astype(np.float64) ** 2))
    if noise_power == 0:
        return float("inf")
    signal_power = float(np.mean(clips.astype(np.float64) ** 2))
    if signal_power == 0:
        return float("-inf")
    return 10 * float(np.log10(signal_power / noise_power))


def to_wav(noise, path) -> Path:
    """Write a waveform (the noise, or a clip with the noise) as a 16-bit 16 kHz mono WAV file.

    Samples are rounded to int16 (x 32768) exactly as the microphone driver
    would deliver them. Returns the path, so a notebook can play it with
    ``IPython.display.Audio(str(path))``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = to_wav(np.zeros(16000, np.float32), pathlib.Path(tempfile.mkdtemp()) / "n.wav")
    >>> path.stat().st_size
    32044
    """
    samples = audio.to_int16(np.asarray(noise))
    path = Path(path)
    if path.suffix.lower() != ".wav":
        raise ValueError(f"path should end in .wav so players recognise it; got {str(path)!r}.")
    if not path.parent.is_dir():
        raise ValueError(f"the folder {str(path.parent)!r} does not exist; create it first.")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.SAMPLE_RATE)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


# --------------------------------------------------------------------------- differentiable frontend

@functools.lru_cache(maxsize=1)
def _standin_constants():
    n = np.arange(_WINDOW)
    hann = (0.5 - 0.5 * np.cos(2 * np.pi * (n + 0.5) / _WINDOW)).astype(np.float32)
    bank = audio.mel_filterbank(audio.N_CHANNELS, _FFT, audio.SAMPLE_RATE,
                                audio.MICRO_FRONTEND_SETTINGS["lower_band_limit"],
                                audio.MICRO_FRONTEND_SETTINGS["upper_band_limit"])
    # The noise estimate is a linear recursion started at 0, so M = A @ smoother
    # per channel: smoother[c, k, t] = s_c (1 - s_c) ** (t - k) for k <= t.
    s = np.where(np.arange(audio.N_CHANNELS) % 2 == 0, _STANDIN["even_smoothing"],
                 _STANDIN["odd_smoothing"])
    lag = np.arange(_FRAMES)[None, :] - np.arange(_FRAMES)[:, None]    # [k, t] = t - k
    smoother = np.where(lag[None] >= 0, s[:, None, None] * (1 - s[:, None, None])
                        ** np.maximum(lag[None], 0), 0.0).astype(np.float32)
    return hann, bank.astype(np.float32), smoother


def _standin_tf(waves, tf):
    """The stand-in on a (batch, 16000) float tensor in [-1, 1]: (batch, 49, 40)."""
    hann, bank, smoother = _standin_constants()
    p = _STANDIN
    frames = tf.signal.frame(waves * 32768.0, _WINDOW, _STRIDE) * hann
    spectrum = tf.signal.rfft(frames, fft_length=[_FFT])
    power = tf.math.real(spectrum) ** 2 + tf.math.imag(spectrum) ** 2
    amp = p["amplitude_scale"] * tf.sqrt(tf.tensordot(power, bank, axes=1) + 1.0)
    estimate = tf.einsum("bkc,ckt->btc", amp, smoother)
    reduced = tf.maximum(amp - tf.minimum(estimate, amp), p["min_signal_remaining"] * amp)
    snr = reduced * p["gain"] / (p["est_scale"] * estimate + p["pcan_offset"]) ** p["strength"]
    shrunk = tf.where(snr < 8192.0, snr ** 2 / 2.0 ** 20, snr / 64.0 - 64.0)
    k = p["softness"]
    return p["log_scale"] / k * tf.math.log1p(shrunk ** k)


def standin_features(waves) -> np.ndarray:
    """The differentiable stand-in for :func:`tinyml_lib.audio.micro_features`.

    The real micro frontend is fixed-point C code and has no gradient; this
    is the same computation in floating-point TensorFlow (frames, Hann window,
    power spectrum, 40 mel channels, noise reduction, PCAN gain control, log),
    with constants fitted to the real frontend. On the offline keyword clips
    it agrees with it to a correlation of about 0.99 and a mean absolute error
    of about 1 (features range 0 to 26); the attack also re-centres it on
    the clips it attacks.

    Parameters
    ----------
    waves : array-like, shape (n_clips, 16000)

    Returns
    -------
    ndarray of float32, shape (n_clips, 49, 40)

    Examples
    --------
    >>> standin_features(np.zeros((1, 16000), np.float32)).shape     # doctest: +SKIP
    (1, 49, 40)
    """
    clips = _check_clips(waves, "waves")
    tf = _tf()
    return _standin_tf(tf.constant(clips), tf).numpy()


def _tf():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


def _calibration(clips: np.ndarray, tf) -> np.ndarray:
    """Additive (frame + channel) correction that centres the stand-in on the real frontend."""
    sample = clips[np.linspace(0, len(clips) - 1, min(len(clips), 64)).astype(int)]
    residual = audio.micro_features_batch(sample) - _standin_tf(tf.constant(sample), tf).numpy()
    by_channel = residual.mean(axis=(0, 1))
    by_frame = (residual - by_channel).mean(axis=(0, 2))
    return (by_frame[:, None] + by_channel[None, :]).astype(np.float32)


# --------------------------------------------------------------------------- augmentation

def random_shifts(clips: np.ndarray, rng: np.random.Generator, max_shift: int = 1600,
                  gain_range=(0.6, 1.4)) -> np.ndarray:
    """Randomly shifted (up to ``max_shift`` samples, gap filled with silence) and scaled copies.

    The attack optimises over these so that the noise does not depend on
    exactly where, or how loudly, the word was spoken.
    """
    n = len(clips)
    out = np.zeros_like(clips)
    shifts = rng.integers(-max_shift, max_shift + 1, size=n)
    for i, s in enumerate(shifts):
        if s >= 0:
            out[i, s:] = clips[i, :CLIP_SAMPLES - s]
        else:
            out[i, :s] = clips[i, -s:]
    gains = rng.uniform(*gain_range, size=(n, 1)).astype(np.float32)
    return np.clip(out * gains, -1, 1).astype(np.float32)


# --------------------------------------------------------------------------- the attacks

@dataclass
class AttackResult:
    """What :func:`craft_noise` returns.

    Attributes
    ----------
    noise : ndarray of float32, shape (16000,)
        The universal noise; ``max |noise| <= epsilon``.
    method : str
        ``"white-box"`` (gradients through the stand-in frontend) or
        ``"black-box"`` (gradient estimates from queries only).
    target : str
    epsilon : float
    steps : int
    queries : int
        Model evaluations (one per clip with one candidate noise) the attack used.
    seconds : float
        Wall time of the attack.
    history : list of float
        Per step: the share of the step's batch heard as the target (measured
        through the stand-in for white box, through the real pipeline for black box).
    """

    noise: np.ndarray
    method: str
    target: str
    epsilon: float
    steps: int
    queries: int
    seconds: float
    history: list = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{self.method} universal noise towards {self.target!r}: epsilon {self.epsilon:g}, "
                f"{self.steps} steps, {self.queries:,} model queries, {self.seconds:.1f} s.")


def universal_noise(model, clips, target="yes", epsilon: float = 0.05, steps: int | None = None,
                    seed: int = 0, **options) -> np.ndarray:
    """One noise waveform that, added to any clip, pushes the model towards ``target``.

    A Keras ``model`` is attacked white box (projected Adam steps, gradients
    through :func:`standin_features`), a ``.tflite`` one black box (queries
    only, through :func:`tinyml_lib.mcu.run_tflite`). See the module notes
    for what ``model`` means; :func:`craft_noise` takes the same arguments and
    also reports the queries and seconds used.

    Parameters
    ----------
    model : keras.Model or .tflite bytes / path
        The classifier of micro features behind the real frontend.
    clips : array-like, shape (n_clips, 16000)
        One-second 16 kHz clips to make the noise on (float in [-1, 1] or int16).
    target : str or int
        The class to be heard (default ``"yes"``).
    epsilon : float
        Largest allowed ``|noise|``, as a fraction of full scale, in (0, 1].
    steps : int, optional
        Optimisation steps; default ``config.pick(fast=40, full=150)`` white
        box, ``config.pick(fast=30, full=150)`` black box.
    seed : int
        Same seed, same noise.
    **options
        ``labels`` (one per clip: only non-target clips are used),
        ``classes``, ``method`` (``"auto"``, ``"white"``, ``"black"``),
        ``batch_size``, ``runtime`` (``"litert"`` or ``"tflm"`` for black-box
        queries), ``samples`` (antithetic pairs per black-box step),
        ``verbose``; see :func:`craft_noise`.

    Returns
    -------
    ndarray of float32, shape (16000,)
        ``max |noise| <= epsilon`` exactly (in float32).

    Examples
    --------
    >>> noise = universal_noise(result.model, train_clips, "yes", epsilon=0.05)   # doctest: +SKIP
    >>> float(abs(noise).max()) <= 0.05                                             # doctest: +SKIP
    True
    """
    return craft_noise(model, clips, target, epsilon, steps, seed, **options).noise


def craft_noise(model, clips, target="yes", epsilon: float = 0.05, steps: int | None = None,
                seed: int = 0, *, labels=None, classes: Sequence[str] | None = None,
                method: str = "auto", batch_size: int | None = None, runtime: str = "litert",
                samples: int | None = None, learning_rate: float | None = None,
                verbose: bool = False) -> AttackResult:
    """:func:`universal_noise` with its bill: the noise, queries, seconds and progress.

    Parameters
    ----------
    model, clips, target, epsilon, steps, seed
        As in :func:`universal_noise`.
    labels : array-like, optional
        The true class of each clip; clips already of the target class are
        left out of the optimisation.
    classes : sequence of str, optional
        The model's class names; default ``["silence", "unknown", "yes", "no"]``.
    method : {"auto", "white", "black"}
        ``"auto"``: white box for a Keras model, black box for ``.tflite``.
        ``"black"`` also works on a Keras model (queries only).
    batch_size : int, optional
        Clips per step; default 64 white box, 24 black box.
    runtime : {"litert", "tflm"}
        How black-box queries run a ``.tflite`` model. LiteRT's reference
        kernels give the same int8 results as TFLM, faster.
    samples : int, optional
        Black box: antithetic pairs of random directions per step (default 12).
    learning_rate : float, optional
        Adam's step; default ``epsilon / 10`` white box, 0.05 black box (in
        basis coefficients).
    verbose : bool
        Print progress every few steps.

    Returns
    -------
    AttackResult

    Examples
    --------
    >>> result = craft_noise(tflite_int8, train_clips, "yes", epsilon=0.1)   # doctest: +SKIP
    >>> print(result)                                                         # doctest: +SKIP
    black-box universal noise towards 'yes': epsilon 0.1, 30 steps, 8,640 model queries, 21.0 s.
    """
    epsilon = _check_epsilon(epsilon)
    clips = _check_clips(clips)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be a whole number; got {seed!r}.")
    if method not in ("auto", "white", "black"):
        raise ValueError(f"method must be 'auto', 'white' or 'black'; got {method!r}.")
    victim = _Victim(model, runtime)
    names = _check_classes(classes, victim.n_outputs)
    t = _target_index(target, names)
    if labels is not None:
        keep = _label_indices(labels, len(clips), names) != t
        if not np.any(keep):
            raise ValueError(f"every clip is labelled {names[t]!r} already: pass clips of "
                             f"other classes to attack.")
        clips = clips[keep]
    if method == "auto":
        method = "white" if victim.kind == "keras" else "black"
    if method == "white" and victim.kind != "keras":
        raise ValueError("a white-box attack needs the Keras model (gradients); a .tflite model "
                         "can only be attacked black box: method='black' (or 'auto').")
    black = method == "black"
    if steps is None:
        steps = config.pick(fast=30, full=150) if black else config.pick(fast=40, full=150)
    steps = _check_whole(steps, "steps")
    batch_size = _check_whole(batch_size if batch_size is not None else (24 if black else 64),
                              "batch_size")
    if learning_rate is not None and not (np.isfinite(learning_rate) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number; got {learning_rate!r}.")
    start = time.perf_counter()
    if black:
        samples = _check_whole(12 if samples is None else samples, "samples")
        rate = 0.05 if learning_rate is None else float(learning_rate)
        noise, history = _black_box(victim, clips, t, epsilon, steps, int(seed), batch_size,
                                    samples, rate, verbose)
    else:
        rate = epsilon / 10 if learning_rate is None else float(learning_rate)
        noise, history = _white_box(victim, clips, t, epsilon, steps, int(seed), batch_size,
                                    rate, verbose)
    bound = _bound(epsilon)
    noise = np.clip(noise.astype(np.float32), -bound, bound)
    return AttackResult(noise=noise, method="black-box" if black else "white-box",
                        target=names[t], epsilon=epsilon, steps=steps, queries=victim.queries,
                        seconds=time.perf_counter() - start, history=history)


def _white_box(victim, clips, t, epsilon, steps, seed, batch_size, rate, verbose):
    tf = _tf()
    import keras

    rng = np.random.default_rng(seed)
    bound = float(_bound(epsilon))
    correction = tf.constant(_calibration(clips, tf))
    network = victim.model
    delta = tf.Variable(rng.uniform(-bound, bound, CLIP_SAMPLES).astype(np.float32) * 0.1)
    optimizer = keras.optimizers.Adam(learning_rate=rate)

    @tf.function(reduce_retracing=True)
    def step(batch):
        with tf.GradientTape() as tape:
            mixed = tf.clip_by_value(batch + delta[None, :], -1.0, 1.0)
            features = _standin_tf(mixed, tf) + correction
            probs = network(features[..., None], training=False)
            log_p = tf.math.log(tf.clip_by_value(probs, 1e-7, 1.0))
            loss = -tf.reduce_mean(log_p[:, t])
        grad = tape.gradient(loss, delta)
        optimizer.apply_gradients([(grad, delta)])
        delta.assign(tf.clip_by_value(delta, -bound, bound))
        hit = tf.reduce_mean(tf.cast(tf.argmax(probs, axis=1) == t, tf.float32))
        return loss, hit

    history = []
    for i in range(steps):
        pick = rng.choice(len(clips), size=min(batch_size, len(clips)), replace=False)
        batch = random_shifts(clips[pick], rng)
        loss, hit = step(tf.constant(batch))
        history.append(float(hit))
        if verbose and (i % 10 == 0 or i == steps - 1):
            print(f"step {i + 1}/{steps}: loss {float(loss):.3f}, batch heard as target "
                  f"{100 * float(hit):.0f}%")
    return delta.numpy(), history


# --- black box: a basis of time-frequency tiles of band-limited noise

_TILE_BANDS = 20
_TILE_SLOTS = 20


@functools.lru_cache(maxsize=4)
def _tiles(seed: int) -> np.ndarray:
    """(400, 16000) unit-peak atoms: 20 mel-spaced bands x 20 overlapping 100 ms slots."""
    rng = np.random.default_rng(10_000 + seed)
    edges = audio.mel_to_hz(np.linspace(audio.hz_to_mel(150.0), audio.hz_to_mel(7000.0),
                                        _TILE_BANDS + 1))
    freqs = np.fft.rfftfreq(CLIP_SAMPLES, 1 / audio.SAMPLE_RATE)
    hop = CLIP_SAMPLES // _TILE_SLOTS                       # 800 samples = 50 ms
    width = 2 * hop
    window = np.hanning(width)
    atoms = np.zeros((_TILE_BANDS * _TILE_SLOTS, CLIP_SAMPLES), np.float32)
    for b in range(_TILE_BANDS):
        spectrum = np.where((freqs >= edges[b]) & (freqs < edges[b + 1]),
                            np.exp(2j * np.pi * rng.random(freqs.size)), 0)
        carrier = np.fft.irfft(spectrum, CLIP_SAMPLES)
        carrier /= np.max(np.abs(carrier))
        for s in range(_TILE_SLOTS):
            begin = s * hop - hop // 2
            lo, hi = max(begin, 0), min(begin + width, CLIP_SAMPLES)
            atom = np.zeros(CLIP_SAMPLES)
            atom[lo:hi] = carrier[lo:hi] * window[lo - begin:hi - begin]
            atoms[b * _TILE_SLOTS + s] = atom / max(np.max(np.abs(atom)), 1e-9)
    return atoms


def _noise_from(z: np.ndarray, atoms: np.ndarray, bound: float) -> np.ndarray:
    """Coefficients -> waveform, scaled so its peak is exactly the budget."""
    wave_ = z @ atoms
    return (wave_ * (bound / max(float(np.max(np.abs(wave_))), 1e-12))).astype(np.float32)


def _margin(probs: np.ndarray, t: int, cap: float = 2.0) -> np.ndarray:
    """Per clip: log p(target) - log max p(other), capped so won clips stop pulling."""
    floor = 1.0 / 256                                  # an int8 output's resolution
    others = np.delete(probs, t, axis=-1).max(axis=-1)
    return np.minimum(np.log(probs[..., t] + floor) - np.log(others + floor), cap)


def _black_box(victim, clips, t, epsilon, steps, seed, batch_size, samples, rate, verbose):
    rng = np.random.default_rng(seed)
    bound = float(_bound(epsilon))
    atoms = _tiles(0)
    z = rng.standard_normal(len(atoms)).astype(np.float32)
    sigma = 0.5
    m = np.zeros_like(z)
    v = np.zeros_like(z)
    history = []
    for i in range(steps):
        pick = rng.choice(len(clips), size=min(batch_size, len(clips)), replace=False)
        batch = random_shifts(clips[pick], rng)
        u = rng.standard_normal((samples, len(z))).astype(np.float32)
        candidates = np.concatenate([z + sigma * u, z - sigma * u, z[None]])
        mixed = np.concatenate([_mix(batch, _noise_from(c, atoms, bound)) for c in candidates])
        probs = victim.predict_waves(mixed).reshape(len(candidates), len(batch), -1)
        score = _margin(probs, t).mean(axis=1)
        history.append(float(np.mean(np.argmax(probs[-1], axis=-1) == t)))
        diff = score[:samples] - score[samples:2 * samples]
        if np.std(diff) > 0:
            diff = diff / np.std(diff)
        grad = (diff[:, None] * u).mean(axis=0) / sigma     # ascent direction
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad ** 2
        z = z + rate * (m / (1 - 0.9 ** (i + 1))) / (np.sqrt(v / (1 - 0.999 ** (i + 1))) + 1e-8)
        if verbose and (i % 5 == 0 or i == steps - 1):
            print(f"step {i + 1}/{steps}: batch heard as target {100 * history[-1]:.0f}%, "
                  f"margin {score[-1]:.2f}, {victim.queries:,} queries")
    return _noise_from(z, atoms, bound), history


# --------------------------------------------------------------------------- pictures

def plot_noise(noise, ax=None, epsilon: float | None = None, title: str | None = None):
    """The noise against time, with the ``±epsilon`` budget as dashed lines. Returns the Axes.

    Show it with alt text::

        ax = attacks.plot_noise(noise, epsilon=0.05)
        plots.show(ax.figure, alt=attacks.describe_noise(noise, epsilon=0.05))
    """
    noise = _check_noise(noise)
    if epsilon is not None:
        epsilon = _check_epsilon(epsilon)
    if ax is None:
        _, ax = plots.figure()
    seconds = np.arange(noise.size) / audio.SAMPLE_RATE
    ax.plot(seconds, noise, linewidth=0.6, color="tab:red", label="noise")
    peak = epsilon if epsilon is not None else float(np.max(np.abs(noise)))
    if epsilon is not None:
        for level in (-epsilon, epsilon):
            ax.axhline(level, color="black", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, noise.size / audio.SAMPLE_RATE)
    ax.set_ylim(-1.15 * max(peak, 1e-6), 1.15 * max(peak, 1e-6))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude (full scale = 1)")
    ax.set_title(title or "universal adversarial noise")
    return ax


def describe_noise(noise, epsilon: float | None = None) -> str:
    """One or two sentences of alt text for :func:`plot_noise`."""
    noise = _check_noise(noise)
    peak = float(np.max(np.abs(noise)))
    rms = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
    text = (f"A one-second noise waveform; its peak amplitude is {peak:.3f} of full scale and "
            f"its RMS level {rms:.3f}")
    if epsilon is not None:
        text += f", inside the dashed budget lines at plus and minus {float(epsilon):g}"
    spectrum = np.abs(np.fft.rfft(noise)) ** 2
    if spectrum.sum() > 0:
        freqs = np.fft.rfftfreq(noise.size, 1 / audio.SAMPLE_RATE)
        text += f". Most of its energy is near {freqs[int(np.argmax(spectrum))]:.0f} Hz"
    return text + "."
