"""tinyml_lib.audio: micro frontend features equal TensorFlow's op, classic features, plots, bad input."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tinyml_lib import audio

RATE = 16000
T = np.arange(RATE) / RATE


def tone(freq, amplitude=0.5, seconds=1.0):
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def noise():
    return np.random.default_rng(0).normal(0, 0.1, RATE).clip(-1, 1).astype(np.float32)


@pytest.fixture(scope="module")
def chirp():
    """A rising sweep from 200 Hz to 6 kHz in the middle of one second of silence."""
    x = np.zeros(RATE, dtype=np.float32)
    t = np.arange(8000) / RATE
    freq = 200 + (6000 - 200) * t / t[-1]
    x[4000:12000] = 0.6 * np.sin(2 * np.pi * np.cumsum(freq) / RATE) * np.hanning(8000)
    return x


# --------------------------------------------------------------------------- micro frontend

def test_micro_features_shape_and_units(noise):
    features = audio.micro_features(noise)
    assert features.shape == (49, 40) and features.dtype == np.float32
    # the frontend's uint16-range output x 10/256: 0 .. about 26 for 16-bit audio
    assert 0 <= features.min() and features.max() < 30
    assert audio.micro_features(noise[:8000]).shape == (audio.n_frames(8000), 40) == (24, 40)


def test_micro_features_equal_tensorflow_op_times_10_over_256(chirp):
    import tensorflow as tf
    from tensorflow.lite.experimental.microfrontend.python.ops import (
        audio_microfrontend_op as frontend,
    )

    samples = np.clip(np.round(chirp.astype(np.float64) * 32768), -32768, 32767).astype(np.int16)
    raw = frontend.audio_microfrontend(
        tf.constant(samples), sample_rate=16000, window_size=30, window_step=20,
        num_channels=40, upper_band_limit=7500, lower_band_limit=125, smoothing_bits=10,
        even_smoothing=0.025, odd_smoothing=0.06, min_signal_remaining=0.05, enable_pcan=True,
        pcan_strength=0.95, pcan_offset=80.0, gain_bits=21, enable_log=True, scale_shift=6,
        out_scale=1, out_type=tf.float32).numpy()
    expected = raw * (10.0 / 256.0)
    assert raw.max() > 100  # the chirp is loud: a real comparison, not zeros
    np.testing.assert_allclose(audio.micro_features(chirp), expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(audio.micro_features(samples), expected, rtol=0, atol=1e-6)


def test_int16_and_float_input_give_the_same_features(noise):
    as_int16 = audio.to_int16(noise)
    np.testing.assert_array_equal(audio.micro_features(noise), audio.micro_features(as_int16))
    np.testing.assert_array_equal(audio.micro_features(as_int16.astype(np.float32) / 32768),
                                  audio.micro_features(as_int16))


def test_batch_equals_one_by_one_with_a_fresh_state_per_clip(noise, chirp):
    clips = np.stack([noise, chirp, np.zeros(RATE, np.float32), tone(1000)])
    batch = audio.micro_features_batch(clips)
    assert batch.shape == (4, 49, 40) and batch.dtype == np.float32
    for clip, features in zip(clips, batch):
        np.testing.assert_allclose(features, audio.micro_features(clip), atol=1e-6)
    # order does not matter: no state leaks from one clip to the next
    np.testing.assert_allclose(audio.micro_features_batch(clips[::-1])[::-1], batch, atol=1e-6)
    # another clip length works too (int16 input, a list of clips)
    short = audio.micro_features_batch([audio.to_int16(c[:8000]) for c in clips])
    assert short.shape == (4, 24, 40)
    np.testing.assert_allclose(short[0], audio.micro_features(noise[:8000]), atol=1e-6)


@pytest.mark.parametrize("freq", [400, 1000, 2000, 4000])
def test_a_loud_tone_lights_up_the_channel_of_its_frequency(freq):
    features = audio.micro_features(tone(freq))
    strongest = int(np.argmax(features.mean(axis=0)))
    # the NumPy mel filterbank (same 125-7500 Hz band layout) says which channel that is
    expected = int(np.argmax(audio.log_mel(tone(freq)).mean(axis=0)))
    assert abs(strongest - expected) <= 1, (freq, strongest, expected)
    assert features.max() > 15


def test_higher_tones_light_up_higher_channels():
    channels = [int(np.argmax(audio.micro_features(tone(f)).mean(axis=0)))
                for f in (300, 700, 1500, 3000, 6000)]
    assert channels == sorted(channels) and len(set(channels)) == 5


def test_silence_gives_low_values(noise):
    assert audio.micro_features(np.zeros(RATE)).max() < 1.0
    quiet = audio.micro_features(np.zeros(RATE, dtype=np.int16)).mean()
    assert quiet < audio.micro_features(noise).mean() - 5


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("bad, message", [
    (np.zeros(0), "empty"),
    (np.zeros((RATE, 2)), "stereo"),
    (np.zeros((2, RATE)), "stereo"),
    (np.zeros((1, 1, RATE)), "1-D"),
    (np.r_[np.zeros(RATE - 1), np.nan], "NaN"),
    (np.r_[np.zeros(RATE - 1), np.inf], "NaN or infinite"),
    (np.full(RATE, 1000.0), "divide by 32768"),
    (np.zeros(RATE, dtype=np.int32), "int16"),
    (np.zeros(RATE, dtype=bool), "int16"),
    (np.array(["a"] * RATE), "numbers"),
    (np.zeros(100), "shorter than one 30 ms window"),
])
def test_bad_waveforms_are_rejected_with_a_clear_message(bad, message):
    with pytest.raises(ValueError, match=message):
        audio.micro_features(bad)


@pytest.mark.parametrize("rate", [8000, 44100, 22050.0])
def test_wrong_sample_rate_is_rejected_and_resampling_is_suggested(noise, rate):
    with pytest.raises(ValueError, match=r"16000 Hz.*resample"):
        audio.micro_features(noise, sample_rate=rate)
    with pytest.raises(ValueError, match="16000"):
        audio.micro_features_batch(noise[None], sample_rate=rate)


@pytest.mark.parametrize("rate", [0, -16000, 16000.5, "16000", True])
def test_nonsense_sample_rates_are_rejected(noise, rate):
    with pytest.raises(ValueError, match="sample_rate"):
        audio.micro_features(noise, sample_rate=rate)
    with pytest.raises(ValueError, match="sample_rate"):
        audio.spectrogram(noise, sample_rate=rate)


def test_bad_batches_are_rejected(noise):
    with pytest.raises(ValueError, match="same length"):
        audio.micro_features_batch([noise, noise[:8000]])
    with pytest.raises(ValueError, match="2-D"):
        audio.micro_features_batch(noise)
    with pytest.raises(ValueError, match="empty"):
        audio.micro_features_batch([])
    with pytest.raises(ValueError, match="NaN"):
        audio.micro_features_batch(np.full((2, RATE), np.nan))


def test_as_waveform_and_to_int16_convert_exactly():
    samples = np.array([0, 16384, -32768, 32767], dtype=np.int16)
    np.testing.assert_array_equal(audio.as_waveform(samples),
                                  np.array([0, 0.5, -1, 32767 / 32768], dtype=np.float32))
    np.testing.assert_array_equal(audio.to_int16(audio.as_waveform(samples)), samples)
    np.testing.assert_array_equal(audio.to_int16([0.0, 1.0, -1.0, 0.25, 1.0004]),
                                  np.array([0, 32767, -32768, 8192, 32767], dtype=np.int16))
    assert audio.as_waveform([0.1, -0.2]).dtype == np.float32


def test_resample_keeps_the_pitch():
    t = np.arange(22050) / 22050
    original = 0.5 * np.sin(2 * np.pi * 1000 * t)
    resampled = audio.resample(original, 22050, 16000)
    assert resampled.shape == (16000,) and resampled.dtype == np.float32
    spectrum = np.abs(np.fft.rfft(resampled))
    assert abs(np.argmax(spectrum) * 16000 / 16000 - 1000) <= 1
    with pytest.raises(ValueError, match="orig_rate"):
        audio.resample(original, 0, 16000)


# --------------------------------------------------------------------------- classic features

def test_spectrogram_peaks_at_the_tone_frequency():
    power = audio.spectrogram(tone(2000))
    assert power.shape == (49, 257) and power.dtype == np.float32
    freqs = audio.fft_frequencies(RATE, 512)
    assert freqs.shape == (257,) and freqs[-1] == 8000
    assert abs(freqs[np.argmax(power.mean(axis=0))] - 2000) <= RATE / 512
    magnitude = audio.spectrogram(tone(2000), power=1)
    np.testing.assert_allclose(magnitude ** 2, power, rtol=1e-4)
    assert audio.spectrogram(tone(2000), window_ms=25, stride_ms=10, n_fft=1024).shape == (98, 513)


def test_spectrogram_rejects_bad_settings():
    with pytest.raises(ValueError, match="n_fft"):
        audio.spectrogram(tone(1000), n_fft=100)
    with pytest.raises(ValueError, match="stride_ms"):
        audio.spectrogram(tone(1000), stride_ms=0)
    with pytest.raises(ValueError, match="power"):
        audio.spectrogram(tone(1000), power=3)


def test_mel_scale_and_filterbank():
    assert abs(float(audio.hz_to_mel(1000)) - 1000) < 0.1  # the mel scale is anchored at 1 kHz
    np.testing.assert_allclose(audio.mel_to_hz(audio.hz_to_mel([125, 7500])), [125, 7500])
    bank = audio.mel_filterbank(40, 512, RATE)
    assert bank.shape == (257, 40)
    freqs = audio.fft_frequencies(RATE, 512)
    assert np.all(bank[freqs < 125] == 0) and np.all(bank[freqs > 7500] == 0)
    centers = freqs[np.argmax(bank, axis=0)]
    assert np.all(np.diff(centers) >= 0)  # filters go up in frequency
    assert np.all(np.diff(centers)[-5:] > np.diff(centers)[:5].max())  # and widen
    with pytest.raises(ValueError, match="fmax"):
        audio.mel_filterbank(40, 512, RATE, fmin=125, fmax=9000)


def test_log_mel_and_mfcc():
    logs = audio.log_mel(tone(1000))
    assert logs.shape == (49, 40) and logs.dtype == np.float32
    silent = audio.log_mel(np.zeros(RATE))
    np.testing.assert_allclose(silent, np.log(1e-6), rtol=1e-5)  # the floor
    coefficients = audio.mfcc(tone(1000))
    assert coefficients.shape == (49, 13) and coefficients.dtype == np.float32
    # the first coefficient of an orthonormal DCT-II is the scaled sum of the log energies
    np.testing.assert_allclose(coefficients[:, 0], logs.sum(axis=1) / np.sqrt(40), rtol=1e-4)
    assert audio.mfcc(tone(1000), n_mfcc=20).shape == (49, 20)
    with pytest.raises(ValueError, match="n_mfcc"):
        audio.mfcc(tone(1000), n_mfcc=41)
    with pytest.raises(ValueError, match="stereo"):
        audio.log_mel(np.zeros((RATE, 2)))


# --------------------------------------------------------------------------- pictures

def test_plots_return_axes_and_alt_text_describes_them(chirp):
    from tinyml_lib import plots

    ax = audio.plot_waveform(chirp, title="a chirp")
    assert ax.get_xlabel() == "time (s)" and ax.get_title() == "a chirp"
    assert ax.lines[0].get_xdata()[-1] == pytest.approx((RATE - 1) / RATE)
    alt = audio.describe_waveform(chirp)
    assert "1.00 s" in alt and "loud from 0.33 s to 0.67 s" in alt
    plots.show(ax.figure, alt=alt)

    _, ax2 = plots.figure()
    features = audio.micro_features(chirp)
    assert audio.plot_spectrogram(features, ax=ax2) is ax2
    assert ax2.images[0].get_array().shape == (40, 49)  # channels up, time across
    text = audio.describe_spectrogram(features, name="micro features")
    assert "49 frames" in text and "40 channels" in text
    assert "silent" in audio.describe_waveform(np.zeros(RATE))
    plots.show(ax2.figure, alt=text)


def test_plot_spectrogram_rejects_bad_features():
    with pytest.raises(ValueError, match="2-D"):
        audio.plot_spectrogram(np.zeros(40))
    with pytest.raises(ValueError, match="NaN"):
        audio.plot_spectrogram(np.full((49, 40), np.nan))
    with pytest.raises(ValueError, match="2-D"):
        audio.describe_spectrogram(np.zeros((2, 49, 40)))


def test_importing_audio_does_not_load_tensorflow():
    code = ("import sys; import tinyml_lib.audio as a; a.log_mel([0.0] * 16000); "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
