"""Audio features for keyword spotting: the microcontroller's own, and the classics.

:func:`micro_features` computes exactly what the TensorFlow Lite Micro
``micro_speech`` example computes on the board: TensorFlow's own micro frontend
op (30 ms windows every 20 ms, 40 filterbank channels, noise reduction, PCAN
gain control, log scale), scaled by 10/256 as in the script that trained the
``micro_speech`` model. One second of 16 kHz audio gives a (49, 40) picture.
TensorFlow loads on the first call only.

:func:`spectrogram`, :func:`log_mel` and :func:`mfcc` are the textbook features
(plain NumPy), for the lessons that build up to the frontend step by step;
:func:`plot_waveform` and :func:`plot_spectrogram` draw them, and
:func:`describe_waveform` / :func:`describe_spectrogram` write the matching alt
text for :func:`tinyml_lib.plots.show`.

Waveforms are 1-D: float in [-1, 1], or int16 samples.

Examples
--------
>>> import numpy as np
>>> from tinyml_lib import audio
>>> t = np.arange(16000) / 16000
>>> tone = 0.5 * np.sin(2 * np.pi * 1000 * t)          # 1 s of a 1 kHz tone
>>> audio.micro_features(tone).shape                    # doctest: +SKIP
(49, 40)
>>> audio.log_mel(tone).shape
(49, 40)
"""

from __future__ import annotations

import functools
import os

import numpy as np

from . import plots

#: The sample rate the micro frontend and the KWS models expect, in Hz.
SAMPLE_RATE = 16000
#: Window length, window step (both in ms) and number of channels of the micro frontend.
WINDOW_MS = 30
STRIDE_MS = 20
N_CHANNELS = 40
#: The frontend's output is multiplied by this before it reaches the model
#: (``input_data.py`` of TensorFlow's speech_commands example, "micro" mode).
MICRO_SCALE = 10.0 / 256.0

#: Every setting of the micro frontend op, as used to train ``micro_speech``
#: (the op's defaults, with the 30 ms / 20 ms / 40-channel choices).
MICRO_FRONTEND_SETTINGS = {
    "sample_rate": SAMPLE_RATE,
    "window_size": WINDOW_MS,
    "window_step": STRIDE_MS,
    "num_channels": N_CHANNELS,
    "upper_band_limit": 7500.0,
    "lower_band_limit": 125.0,
    "smoothing_bits": 10,
    "even_smoothing": 0.025,
    "odd_smoothing": 0.06,
    "min_signal_remaining": 0.05,
    "enable_pcan": True,
    "pcan_strength": 0.95,
    "pcan_offset": 80.0,
    "gain_bits": 21,
    "enable_log": True,
    "scale_shift": 6,
    "out_scale": 1,
}

_INT16_SCALE = 32768.0
# Float audio may overshoot [-1, 1] by a hair after resampling or filtering.
_RANGE_TOLERANCE = 1e-3


# --------------------------------------------------------------------------- input checks

def _check_rate(sample_rate, name: str = "sample_rate") -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer, float)) \
            or sample_rate != int(sample_rate) or sample_rate <= 0:
        raise ValueError(f"{name} must be a positive whole number of samples per second "
                         f"(e.g. 16000); got {sample_rate!r}.")
    return int(sample_rate)


def _require_16k(sample_rate) -> None:
    rate = _check_rate(sample_rate)
    if rate != SAMPLE_RATE:
        raise ValueError(
            f"the micro frontend (and the models trained on it) expects {SAMPLE_RATE} Hz audio; "
            f"got sample_rate={rate}. Resample first: "
            f"audio.resample(waveform, {rate}, {SAMPLE_RATE}).")


def _check_values(array: np.ndarray, name: str) -> np.ndarray:
    """Float32 copy of int16 or float audio in [-1, 1]; clear errors for anything else."""
    if array.dtype == np.int16:
        return array.astype(np.float32) / np.float32(_INT16_SCALE)
    if array.dtype.kind == "b" or array.dtype.kind in "iu":
        raise ValueError(
            f"{name} has dtype {array.dtype}: integer audio must be int16 samples. If these "
            f"are 16-bit samples, pass {name}.astype(np.int16); otherwise scale to floats "
            f"in [-1, 1].")
    if array.dtype.kind not in "f":
        raise ValueError(f"{name} must hold numbers (float in [-1, 1] or int16); "
                         f"got dtype {array.dtype}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values; clean the recording "
                         f"(e.g. np.nan_to_num) before computing features.")
    peak = float(np.max(np.abs(array))) if array.size else 0.0
    if peak > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            f"float {name} must lie in [-1, 1]; its peak is {peak:.4g}. If these are int16 "
            f"sample values stored as floats, divide by 32768 (or pass .astype(np.int16)).")
    array = array.astype(np.float32, copy=False)
    return np.clip(array, -1.0, 1.0) if peak > 1.0 else array


def as_waveform(waveform, name: str = "waveform") -> np.ndarray:
    """Check a mono clip and return it as float32 in [-1, 1].

    Parameters
    ----------
    waveform : array-like, 1-D
        Float samples in [-1, 1], or int16 samples (divided by 32768).
    name : str
        What to call the argument in error messages.

    Returns
    -------
    ndarray of float32, shape (n_samples,)

    Raises
    ------
    ValueError
        For empty, multi-channel (e.g. stereo), NaN, out-of-range or wrongly typed input.

    Examples
    --------
    >>> as_waveform(np.array([0, 16384, -32768], dtype=np.int16))
    array([ 0. ,  0.5, -1. ], dtype=float32)
    """
    array = np.asarray(waveform)
    if array.ndim == 2 and min(array.shape) > 1:
        raise ValueError(
            f"{name} has shape {array.shape}: it looks like {min(array.shape)} channels "
            f"(e.g. stereo), but one mono channel is needed. Mix down with "
            f"{name}.mean(axis={int(np.argmin(array.shape))}) or pick one channel.")
    if array.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of samples (one mono clip); "
                         f"got shape {array.shape}. Use .ravel() for a single channel.")
    if array.size == 0:
        raise ValueError(f"{name} is empty: it has no samples.")
    return _check_values(array, name)


def as_batch(waves, name: str = "waves") -> np.ndarray:
    """Check a batch of equal-length mono clips; float32 (n_clips, n_samples) in [-1, 1]."""
    if isinstance(waves, (list, tuple)):
        if not waves:
            raise ValueError(f"{name} is empty: pass at least one clip.")
        lengths = {np.shape(w) for w in waves}
        if len(lengths) > 1:
            raise ValueError(f"all clips in {name} must have the same length; got shapes "
                             f"{sorted(lengths)[:4]}. Pad or trim them (e.g. to 16000 samples).")
    array = np.asarray(waves)
    if array.ndim != 2:
        raise ValueError(f"{name} must be 2-D, (n_clips, n_samples) of mono clips; got shape "
                         f"{array.shape}. For one clip use micro_features(waveform).")
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(f"{name} is empty: it has shape {array.shape}.")
    return _check_values(array, name)


def to_int16(waveform) -> np.ndarray:
    """The clip as int16 samples, as a microphone driver would deliver it.

    Floats are scaled by 32768, rounded and clipped to [-32768, 32767]; int16
    passes through unchanged.

    >>> to_int16(np.array([0.0, 0.5, -1.0, 1.0]))
    array([     0,  16384, -32768,  32767], dtype=int16)
    """
    array = np.asarray(waveform)
    if array.dtype == np.int16:
        as_waveform(array)  # shape checks
        return array.copy()
    return _float_to_int16(as_waveform(array))


def _float_to_int16(x: np.ndarray) -> np.ndarray:
    # x * 32768 is exact in float32 (a power of two), so rounding in float32 is exact too
    scaled = np.rint(np.asarray(x, dtype=np.float32) * np.float32(_INT16_SCALE))
    return np.clip(scaled, -32768, 32767, out=scaled).astype(np.int16)


def resample(waveform, orig_rate: int, target_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Change the sample rate (polyphase filtering); float32 in [-1, 1].

    >>> resample(np.zeros(22050), 22050, 16000).shape
    (16000,)
    """
    from scipy.signal import resample_poly

    x = as_waveform(waveform)
    orig_rate, target_rate = _check_rate(orig_rate, "orig_rate"), _check_rate(target_rate, "target_rate")
    if orig_rate == target_rate:
        return x.copy()
    g = np.gcd(orig_rate, target_rate)
    y = resample_poly(x.astype(np.float64), target_rate // g, orig_rate // g)
    return np.clip(y, -1.0, 1.0).astype(np.float32)


def n_frames(n_samples: int, sample_rate: int = SAMPLE_RATE, window_ms: float = WINDOW_MS,
             stride_ms: float = STRIDE_MS) -> int:
    """Frames a clip of ``n_samples`` gives (no padding): 49 for one second at 16 kHz.

    >>> n_frames(16000)
    49
    """
    window = int(sample_rate * window_ms / 1000)
    stride = int(sample_rate * stride_ms / 1000)
    return 0 if n_samples < window else 1 + (n_samples - window) // stride


def _check_long_enough(n_samples: int, sample_rate: int, window_ms: float, name: str) -> None:
    window = int(sample_rate * window_ms / 1000)
    if n_samples < window:
        raise ValueError(f"{name} has {n_samples} samples, shorter than one {window_ms:g} ms "
                         f"window ({window} samples at {sample_rate} Hz): no feature frame fits.")


# --------------------------------------------------------------------------- micro frontend

@functools.lru_cache(maxsize=1)
def _frontend():
    """The TensorFlow micro frontend: (tf, single-clip function)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    from tensorflow.lite.experimental.microfrontend.python.ops import (
        audio_microfrontend_op as frontend_op,
    )

    def one(clip):
        raw = frontend_op.audio_microfrontend(clip, out_type=tf.float32,
                                              **MICRO_FRONTEND_SETTINGS)
        return raw * MICRO_SCALE

    return tf, one


@functools.lru_cache(maxsize=8)
def _batch_function(n_samples: int):
    """A graph that runs the frontend over a batch of clips of ``n_samples`` each.

    The clip length must be static: in a graph with an unknown input length the
    op (TensorFlow 2.21) returns zero frames. The op is stateful within one clip
    only (noise estimate, PCAN), so each clip starts from a fresh state, as in
    training.
    """
    tf, one = _frontend()

    @tf.function(input_signature=[tf.TensorSpec([None, n_samples], tf.int16)])
    def batch(clips):
        return tf.map_fn(one, clips, fn_output_signature=tf.float32, parallel_iterations=8)

    return batch


def micro_features(waveform, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """The TFLM micro frontend features of one clip, as ``micro_speech`` sees them.

    Runs TensorFlow's own ``audio_microfrontend`` op with the ``micro_speech``
    settings (see :data:`MICRO_FRONTEND_SETTINGS`) on the int16 samples and
    multiplies by 10/256, the units the ``micro_speech`` model was trained in
    (roughly 0 to 26). The noise-reduction and gain-control state starts fresh
    for each clip, as during training.

    Parameters
    ----------
    waveform : array-like, 1-D
        Mono audio: float in [-1, 1] (scaled by 32768, rounded and clipped to
        int16) or int16 samples.
    sample_rate : int
        Must be 16000; resample other rates with :func:`resample`.

    Returns
    -------
    ndarray of float32, shape (n_frames, 40)
        ``n_frames = 1 + (n_samples - 480) // 320``: 49 for one second.

    Examples
    --------
    >>> noise = np.random.default_rng(0).normal(0, 0.1, 16000).clip(-1, 1)
    >>> micro_features(noise).shape                 # doctest: +SKIP
    (49, 40)
    """
    _require_16k(sample_rate)
    samples = to_int16(waveform)
    _check_long_enough(samples.size, SAMPLE_RATE, WINDOW_MS, "waveform")
    tf, one = _frontend()
    return one(tf.constant(samples)).numpy().astype(np.float32, copy=False)


def micro_features_batch(waves, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """:func:`micro_features` of many equal-length clips at once: (n_clips, n_frames, 40).

    Each clip gets a fresh frontend state, so the result equals calling
    :func:`micro_features` on each clip, only faster (one TensorFlow graph).

    Parameters
    ----------
    waves : array-like, shape (n_clips, n_samples)
        Float in [-1, 1] or int16.
    sample_rate : int
        Must be 16000.

    Examples
    --------
    >>> micro_features_batch(np.zeros((3, 16000), dtype=np.int16)).shape   # doctest: +SKIP
    (3, 49, 40)
    """
    _require_16k(sample_rate)
    array = np.asarray(waves) if not isinstance(waves, (list, tuple)) else waves
    if isinstance(array, np.ndarray) and array.dtype == np.int16:
        as_batch(array)  # shape checks
        samples = np.array(array, copy=True)
    else:
        samples = _float_to_int16(as_batch(array))
    _check_long_enough(samples.shape[1], SAMPLE_RATE, WINDOW_MS, "each clip in waves")
    tf, _ = _frontend()
    features = _batch_function(int(samples.shape[1]))(tf.constant(samples))
    return features.numpy().astype(np.float32, copy=False)


# --------------------------------------------------------------------------- classic features

def _frames(x: np.ndarray, window: int, stride: int) -> np.ndarray:
    count = 1 + (x.size - window) // stride
    index = np.arange(window)[None, :] + stride * np.arange(count)[:, None]
    return x[index]


def _check_window(sample_rate: int, window_ms, stride_ms, n_fft):
    for label, value in (("window_ms", window_ms), ("stride_ms", stride_ms)):
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{label} must be a positive number of milliseconds; got {value!r}.")
    window = round(sample_rate * window_ms / 1000)
    stride = round(sample_rate * stride_ms / 1000)
    if window < 2 or stride < 1:
        raise ValueError(f"window_ms={window_ms} and stride_ms={stride_ms} are too short at "
                         f"{sample_rate} Hz (window {window}, stride {stride} samples).")
    if n_fft is None:
        n_fft = 1 << (window - 1).bit_length()
    elif int(n_fft) != n_fft or n_fft < window:
        raise ValueError(f"n_fft must be a whole number >= the window length ({window} samples); "
                         f"got {n_fft!r}.")
    return window, stride, int(n_fft)


def spectrogram(waveform, sample_rate: int = SAMPLE_RATE, window_ms: float = WINDOW_MS,
                stride_ms: float = STRIDE_MS, n_fft: int | None = None,
                power: float = 2.0) -> np.ndarray:
    """Short-time Fourier magnitudes (Hann window), one row per frame.

    Parameters
    ----------
    waveform : array-like, 1-D
        Float in [-1, 1] or int16.
    sample_rate : int
        Samples per second of ``waveform``.
    window_ms, stride_ms : float
        Window length and step, in milliseconds (30 and 20 like the micro frontend).
    n_fft : int, optional
        FFT size; default the next power of two >= the window (512 at 16 kHz).
    power : float
        2 for the power spectrum (default), 1 for magnitudes.

    Returns
    -------
    ndarray of float32, shape (n_frames, n_fft // 2 + 1)
        Column ``k`` is the frequency ``k * sample_rate / n_fft`` Hz (see
        :func:`fft_frequencies`).

    Examples
    --------
    >>> spectrogram(np.zeros(16000)).shape
    (49, 257)
    """
    rate = _check_rate(sample_rate)
    x = as_waveform(waveform)
    window, stride, n_fft = _check_window(rate, window_ms, stride_ms, n_fft)
    if power not in (1, 1.0, 2, 2.0):
        raise ValueError(f"power must be 1 (magnitude) or 2 (power); got {power!r}.")
    _check_long_enough(x.size, rate, window_ms, "waveform")
    frames = _frames(x.astype(np.float64), window, stride) * np.hanning(window + 2)[1:-1]
    magnitude = np.abs(np.fft.rfft(frames, n=n_fft, axis=1))
    return (magnitude ** power).astype(np.float32)


def fft_frequencies(sample_rate: int = SAMPLE_RATE, n_fft: int = 512) -> np.ndarray:
    """The frequency in Hz of each column of :func:`spectrogram`."""
    return np.fft.rfftfreq(int(n_fft), d=1.0 / _check_rate(sample_rate))


def hz_to_mel(hz):
    """Hertz to mel (HTK formula, as ``tf.signal`` and the micro frontend use)."""
    return 1127.0 * np.log1p(np.asarray(hz, dtype=float) / 700.0)


def mel_to_hz(mel):
    """Mel to hertz (inverse of :func:`hz_to_mel`)."""
    return 700.0 * np.expm1(np.asarray(mel, dtype=float) / 1127.0)


def mel_filterbank(n_mels: int = N_CHANNELS, n_fft: int = 512, sample_rate: int = SAMPLE_RATE,
                   fmin: float = 125.0, fmax: float = 7500.0) -> np.ndarray:
    """Triangular mel filters, shape (n_fft // 2 + 1, n_mels): ``power @ filters``.

    >>> mel_filterbank(40, 512, 16000).shape
    (257, 40)
    """
    rate = _check_rate(sample_rate)
    if int(n_mels) != n_mels or n_mels < 1:
        raise ValueError(f"n_mels must be a whole number >= 1; got {n_mels!r}.")
    if not 0 <= fmin < fmax <= rate / 2:
        raise ValueError(f"need 0 <= fmin < fmax <= sample_rate / 2 = {rate / 2:g} Hz; "
                         f"got fmin={fmin}, fmax={fmax}.")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), int(n_mels) + 2))
    freqs = fft_frequencies(rate, n_fft)
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs[None, :] - lower) / (center - lower)
    falling = (upper - freqs[None, :]) / (upper - center)
    return np.maximum(0.0, np.minimum(rising, falling)).T.astype(np.float32)


def log_mel(waveform, sample_rate: int = SAMPLE_RATE, n_mels: int = N_CHANNELS,
            window_ms: float = WINDOW_MS, stride_ms: float = STRIDE_MS, n_fft: int | None = None,
            fmin: float = 125.0, fmax: float = 7500.0, floor: float = 1e-6) -> np.ndarray:
    """Log mel filterbank energies: ``log(power spectrum @ mel filters + floor)``.

    The same band layout as the micro frontend (125 to 7500 Hz, 40 bands), but
    without its noise reduction and gain control.

    Returns
    -------
    ndarray of float32, shape (n_frames, n_mels)

    Examples
    --------
    >>> log_mel(np.zeros(16000)).shape
    (49, 40)
    """
    power = spectrogram(waveform, sample_rate, window_ms, stride_ms, n_fft, power=2.0)
    n_fft = 2 * (power.shape[1] - 1)
    if not floor > 0:
        raise ValueError(f"floor must be > 0 (it keeps log away from log(0)); got {floor!r}.")
    fmax = min(fmax, _check_rate(sample_rate) / 2)
    energies = power.astype(np.float64) @ mel_filterbank(n_mels, n_fft, sample_rate, fmin, fmax)
    return np.log(energies + floor).astype(np.float32)


def mfcc(waveform, sample_rate: int = SAMPLE_RATE, n_mfcc: int = 13, n_mels: int = N_CHANNELS,
         window_ms: float = WINDOW_MS, stride_ms: float = STRIDE_MS, n_fft: int | None = None,
         fmin: float = 125.0, fmax: float = 7500.0) -> np.ndarray:
    """Mel-frequency cepstral coefficients: the DCT (type II, orthonormal) of :func:`log_mel`.

    Returns
    -------
    ndarray of float32, shape (n_frames, n_mfcc)

    Examples
    --------
    >>> mfcc(np.zeros(16000)).shape
    (49, 13)
    """
    from scipy.fft import dct

    if int(n_mfcc) != n_mfcc or not 1 <= n_mfcc <= n_mels:
        raise ValueError(f"n_mfcc must be a whole number between 1 and n_mels={n_mels}; "
                         f"got {n_mfcc!r}.")
    logs = log_mel(waveform, sample_rate, n_mels, window_ms, stride_ms, n_fft, fmin, fmax)
    return dct(logs.astype(np.float64), type=2, norm="ortho", axis=1)[:, :int(n_mfcc)].astype(np.float32)


# --------------------------------------------------------------------------- pictures

def plot_waveform(waveform, sample_rate: int = SAMPLE_RATE, ax=None, title: str | None = None):
    """Amplitude against time. Returns the Axes.

    Show it with alt text::

        ax = audio.plot_waveform(clip)
        plots.show(ax.figure, alt=audio.describe_waveform(clip))
    """
    rate = _check_rate(sample_rate)
    x = as_waveform(waveform)
    if ax is None:
        _, ax = plots.figure()
    ax.plot(np.arange(x.size) / rate, x, linewidth=0.7, color="tab:blue")
    ax.set_xlim(0, x.size / rate)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if title:
        ax.set_title(title)
    return ax


def plot_spectrogram(features, ax=None, stride_ms: float = STRIDE_MS, title: str | None = None,
                     ylabel: str = "channel", colorbar: bool = True, cmap: str = "viridis"):
    """A feature picture (frames x channels) with time across and channels up. Returns the Axes.

    Works for :func:`micro_features`, :func:`log_mel`, :func:`mfcc` or a
    :func:`spectrogram` (pass ``ylabel="frequency bin"``). Alt text:
    :func:`describe_spectrogram`.
    """
    values = np.asarray(features, dtype=float)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"features must be 2-D (frames, channels); got shape {np.shape(features)}.")
    if not np.all(np.isfinite(values)):
        raise ValueError("features contain NaN or infinite values.")
    if ax is None:
        _, ax = plots.figure()
    seconds = values.shape[0] * stride_ms / 1000
    image = ax.imshow(values.T, origin="lower", aspect="auto", cmap=cmap,
                      extent=(0, seconds, -0.5, values.shape[1] - 0.5))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return ax


def describe_waveform(waveform, sample_rate: int = SAMPLE_RATE) -> str:
    """One sentence of alt text for :func:`plot_waveform`: length, peak, and where it is loud."""
    rate = _check_rate(sample_rate)
    x = as_waveform(waveform)
    peak = float(np.max(np.abs(x)))
    text = f"A waveform of {x.size / rate:.2f} s; the peak amplitude is {peak:.2f}"
    step = max(1, rate // 100)  # 10 ms blocks
    usable = x[: x.size - x.size % step] if x.size >= step else x
    energy = np.sqrt(np.mean(usable.reshape(-1, min(step, usable.size)) ** 2, axis=1))
    loud = np.flatnonzero(energy >= 0.25 * energy.max()) if energy.max() > 1e-4 else []
    if len(loud):
        start, end = loud[0] * step / rate, (loud[-1] + 1) * step / rate
        text += f", and the sound is loud from {start:.2f} s to {end:.2f} s."
    else:
        text += ", and it is silent throughout."
    return text


def describe_spectrogram(features, stride_ms: float = STRIDE_MS, name: str = "features") -> str:
    """One sentence of alt text for :func:`plot_spectrogram`: size, range and where the energy is."""
    values = np.asarray(features, dtype=float)
    if values.ndim == 3 and values.shape[-1] == 1:
        values = values[..., 0]
    if values.ndim != 2 or values.size == 0:
        raise ValueError(f"features must be 2-D (frames, channels); got shape {np.shape(features)}.")
    frames, channels = values.shape
    by_time = values.mean(axis=1)
    by_channel = values.mean(axis=0)
    peak_time = int(np.argmax(by_time)) * stride_ms / 1000
    return (f"A picture of the {name}: {frames} frames over {frames * stride_ms / 1000:.2f} s "
            f"across, {channels} channels from low (bottom) to high (top), values from "
            f"{values.min():.1f} to {values.max():.1f}; the brightest moment is near "
            f"{peak_time:.2f} s and the strongest channel on average is {int(np.argmax(by_channel))}.")


# --------------------------------------------------------------------------- listening

def play(waveform, sample_rate: int = SAMPLE_RATE, normalize: bool = True):
    """A player for the clip in a notebook (``IPython.display.Audio``).

    Return it as the last line of a cell (or pass it to ``display``) to get a
    play button. Say in the text what the clip is: a screen-reader user hears
    the clip, but not what it is meant to be.

    Parameters
    ----------
    waveform : array-like, 1-D
        Mono audio, float in [-1, 1] or int16.
    sample_rate : int
        Samples per second of ``waveform``.
    normalize : bool
        True: scale the loudest sample to full volume, so quiet clips are
        audible (the data itself is unchanged). False: play at the recorded
        level.

    Returns
    -------
    IPython.display.Audio

    Examples
    --------
    >>> player = play(np.zeros(16000))       # doctest: +SKIP
    >>> player                                # doctest: +SKIP
    """
    from IPython.display import Audio

    rate = _check_rate(sample_rate)
    x = as_waveform(waveform)
    if not isinstance(normalize, (bool, np.bool_)):
        raise ValueError(f"normalize must be True or False; got {normalize!r}.")
    peak = float(np.max(np.abs(x)))
    if normalize and peak > 0:
        x = x / peak
    # Audio(normalize=False) needs values in [-1, 1]; x is already there
    return Audio(data=x.astype(np.float64), rate=rate, normalize=False)
