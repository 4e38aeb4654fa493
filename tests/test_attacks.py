"""tinyml_lib.attacks: the differentiable frontend, the white- and black-box universal noise,
success rates, the epsilon bound, WAV output and clear errors for bad input."""

from __future__ import annotations

import subprocess
import sys
import wave

import numpy as np
import pytest

from tinyml_lib import attacks, audio, kws

CLASSES = ["silence", "unknown", "yes", "no"]


@pytest.fixture(scope="module")
def data():
    from tinyml_lib.datasets import load_keywords

    waves, labels, info = load_keywords(["yes", "no"], 60, source="offline", seed=3,
                                        silence=True, unknown=True)
    speakers = np.asarray(info.details["speakers"])
    train_i, test_i = kws.split_by_speaker(speakers, 0.3, seed=3)
    return waves, labels, speakers, train_i, test_i


@pytest.fixture(scope="module")
def trained(data):
    waves, labels, speakers, _, _ = data
    return kws.train(("yes", "no"), data=(waves, labels, speakers), test_fraction=0.3, seed=3,
                     epochs=8, copies=1)


@pytest.fixture(scope="module")
def white(trained, data):
    waves, labels, _, train_i, _ = data
    return attacks.craft_noise(trained.model, waves[train_i], "yes", 0.05, steps=30, seed=0,
                               labels=labels[train_i])


@pytest.fixture(scope="module")
def int8(trained):
    from tinyml_lib import quantize

    return quantize.convert(trained.model, "int8", representative_data=trained.x_train)


# --------------------------------------------------------------------------- the stand-in frontend

def test_standin_frontend_matches_the_real_micro_frontend(data):
    waves = data[0][::2]
    real = audio.micro_features_batch(waves)
    standin = attacks.standin_features(waves)
    assert standin.shape == real.shape == (len(waves), 49, 40)
    assert np.corrcoef(standin.ravel(), real.ravel())[0, 1] > 0.97
    assert np.mean(np.abs(standin - real)) < 1.5          # features span 0 to ~26
    # and it follows a change made by an added noise, which is what the attack needs
    noise = 0.05 * np.sign(np.random.default_rng(0).standard_normal(16000)).astype(np.float32)
    noisy = np.clip(waves + noise, -1, 1)
    change_real = audio.micro_features_batch(noisy) - real
    change_standin = attacks.standin_features(noisy) - standin
    assert np.corrcoef(change_standin.ravel(), change_real.ravel())[0, 1] > 0.9


# --------------------------------------------------------------------------- white box

def test_white_box_noise_is_bounded_and_makes_the_model_hear_yes(trained, white, data):
    waves, labels, _, _, test_i = data
    noise = white.noise
    assert noise.dtype == np.float32 and noise.shape == (16000,)
    assert float(np.max(np.abs(noise))) <= 0.05
    assert white.method == "white-box" and white.target == "yes" and white.steps == 30
    test, test_labels = waves[test_i], labels[test_i]
    clean = attacks.attack_success(trained.model, test, np.zeros(16000, np.float32), "yes",
                                   labels=test_labels)
    random = np.random.default_rng(1).uniform(-0.05, 0.05, 16000).astype(np.float32)
    by_chance = attacks.attack_success(trained.model, test, random, "yes", labels=test_labels)
    success = attacks.attack_success(trained.model, test, noise, "yes", labels=test_labels)
    assert success >= clean + 0.4, (clean, success)
    assert success >= by_chance + 0.4, (by_chance, success)


def test_white_box_noise_also_fools_the_int8_model_on_tflm(white, int8, data):
    waves, labels, _, _, test_i = data
    clean = attacks.attack_success(int8, waves[test_i], np.zeros(16000, np.float32), "yes",
                                   labels=labels[test_i])
    success = attacks.attack_success(int8, waves[test_i], white.noise, "yes",
                                     labels=labels[test_i], runtime="tflm")
    assert success >= clean + 0.3, (clean, success)


@pytest.mark.parametrize("epsilon", [0.1, 0.01, 1e-3, 1.0])
def test_epsilon_bound_holds_exactly_in_float32(trained, data, epsilon):
    waves = data[0][:8]
    noise = attacks.universal_noise(trained.model, waves, "yes", epsilon, steps=2, seed=0,
                                    learning_rate=10 * epsilon)  # big steps hit the bound
    assert noise.dtype == np.float32
    assert float(np.max(np.abs(noise.astype(np.float32)))) <= epsilon
    assert float(np.max(np.abs(noise))) >= 0.9 * epsilon


def test_same_seed_same_noise(trained, data):
    waves = data[0][:16]
    a = attacks.universal_noise(trained.model, waves, "yes", 0.05, steps=3, seed=7)
    b = attacks.universal_noise(trained.model, waves, "yes", 0.05, steps=3, seed=7)
    c = attacks.universal_noise(trained.model, waves, "yes", 0.05, steps=3, seed=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# --------------------------------------------------------------------------- black box

def test_black_box_on_int8_tflite_counts_queries_and_raises_success(int8, data, tmp_path):
    waves, labels, _, train_i, _ = data
    path = tmp_path / "kws_int8.tflite"
    path.write_bytes(int8)
    train, train_labels = waves[train_i], labels[train_i]
    result = attacks.craft_noise(str(path), train, "yes", 0.2, steps=12, seed=0,
                                 labels=train_labels, samples=6, batch_size=16)
    assert result.method == "black-box"
    assert result.queries == 12 * (2 * 6 + 1) * 16
    assert result.seconds > 0 and len(result.history) == 12
    assert float(np.max(np.abs(result.noise))) <= 0.2
    clean = attacks.attack_success(int8, train, np.zeros(16000, np.float32), "yes",
                                   labels=train_labels, runtime="litert")
    success = attacks.attack_success(int8, train, result.noise, "yes", labels=train_labels,
                                     runtime="litert")
    assert success >= clean + 0.2, (clean, success)
    # a .tflite model has no gradients
    with pytest.raises(ValueError, match="black box"):
        attacks.universal_noise(int8, train, "yes", 0.1, method="white")


# --------------------------------------------------------------------------- success rate

def test_attack_success_counts_only_non_target_clips(trained, data):
    waves, labels, _, _, test_i = data
    test, test_labels = waves[test_i], labels[test_i]
    zero = np.zeros(16000, np.float32)
    # without labels, the clips counted are those not heard as "yes" when clean: 0 by definition
    assert attacks.attack_success(trained.model, test, zero, "yes") == 0.0
    predicted = attacks.predict_waves(trained.model, test)
    others = test_labels != "yes"
    expected = np.mean(predicted[others] == CLASSES.index("yes"))
    assert attacks.attack_success(trained.model, test, zero, "yes", labels=test_labels) \
        == pytest.approx(expected)
    # labels as class numbers work the same
    numbers = np.array([CLASSES.index(x) for x in test_labels])
    assert attacks.attack_success(trained.model, test, zero, 2, labels=numbers) \
        == pytest.approx(expected)
    only_yes = test[test_labels == "yes"]
    assert np.isnan(attacks.attack_success(trained.model, only_yes, zero, "yes",
                                           labels=["yes"] * len(only_yes)))


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("epsilon", [0, -0.1, 1.5, float("nan"), float("inf"), True, "0.1"])
def test_epsilon_outside_zero_one_is_refused(trained, data, epsilon):
    with pytest.raises(ValueError, match=r"epsilon .* \(0, 1\]"):
        attacks.universal_noise(trained.model, data[0][:4], "yes", epsilon, steps=1)


def test_bad_clips_get_clear_errors(trained, data):
    waves = data[0][:4]
    with pytest.raises(ValueError, match="16000 samples"):
        attacks.universal_noise(trained.model, [waves[0], waves[1][:8000]], "yes", 0.05)
    with pytest.raises(ValueError, match="16000 samples"):
        attacks.universal_noise(trained.model, waves[:, :8000], "yes", 0.05)
    with pytest.raises(ValueError, match="16000 samples"):
        attacks.attack_success(trained.model, waves[:, :12000], np.zeros(16000, np.float32))
    nan_clips = waves.copy()
    nan_clips[1, 100] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        attacks.universal_noise(trained.model, nan_clips, "yes", 0.05)
    with pytest.raises(ValueError, match="NaN"):
        attacks.attack_success(trained.model, nan_clips, np.zeros(16000, np.float32))
    with pytest.raises(ValueError, match="shape"):
        attacks.universal_noise(trained.model, waves[None], "yes", 0.05)


def test_bad_noise_target_labels_and_classes_get_clear_errors(trained, data):
    waves, labels = data[0][:4], data[1][:4]
    zero = np.zeros(16000, np.float32)
    with pytest.raises(ValueError, match="one waveform of 16000"):
        attacks.attack_success(trained.model, waves, np.zeros(8000, np.float32))
    bad = zero.copy()
    bad[5] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        attacks.attack_success(trained.model, waves, bad)
    with pytest.raises(ValueError, match="not one of the model's classes"):
        attacks.universal_noise(trained.model, waves, "maybe", 0.05)
    with pytest.raises(ValueError, match="not one of the model's classes"):
        attacks.attack_success(trained.model, waves, zero, "maybe")
    with pytest.raises(ValueError, match="4 clips but labels has shape"):
        attacks.attack_success(trained.model, waves, zero, "yes", labels=labels[:3])
    with pytest.raises(ValueError, match="one label per clip"):
        attacks.universal_noise(trained.model, waves, "yes", 0.05, labels=labels[:2])
    with pytest.raises(ValueError, match="4 outputs"):
        attacks.attack_success(trained.model, waves, zero, "yes", classes=["yes", "no"])
    with pytest.raises(TypeError, match="Keras model .* .tflite"):
        attacks.universal_noise(object(), waves, "yes", 0.05)
    with pytest.raises(ValueError, match="already"):
        attacks.universal_noise(trained.model, waves, "yes", 0.05, labels=["yes"] * 4)
    with pytest.raises(ValueError, match="steps"):
        attacks.universal_noise(trained.model, waves, "yes", 0.05, steps=0)


# --------------------------------------------------------------------------- listening, loudness, pictures

def test_to_wav_writes_16_bit_16_khz_mono_that_reads_back(white, tmp_path):
    path = attacks.to_wav(white.noise, tmp_path / "noise.wav")
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    np.testing.assert_array_equal(samples, audio.to_int16(white.noise))
    assert np.max(np.abs(samples / 32768.0 - white.noise)) <= 0.5 / 32768 + 1e-9
    with pytest.raises(ValueError, match=".wav"):
        attacks.to_wav(white.noise, tmp_path / "noise.mp3")


def test_snr_db_of_known_levels():
    t = np.arange(16000) / 16000
    clip = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    noise = (0.05 * np.sin(2 * np.pi * 50 * t)).astype(np.float32)
    assert attacks.snr_db(clip[None], noise) == pytest.approx(20.0, abs=0.01)
    assert attacks.snr_db(clip[None], 0.5 * clip) == pytest.approx(6.02, abs=0.01)
    assert attacks.snr_db(clip[None], np.zeros(16000, np.float32)) == float("inf")


def test_plot_noise_returns_axes_with_budget_lines(white):
    ax = attacks.plot_noise(white.noise, epsilon=0.05)
    assert len(ax.lines) == 3                       # the noise and two dashed budget lines
    assert ax.get_ylim()[1] > 0.05
    text = attacks.describe_noise(white.noise, epsilon=0.05)
    assert "0.05" in text and "Hz" in text
    import matplotlib.pyplot as plt

    plt.close(ax.figure)


def test_importing_attacks_does_not_load_tensorflow():
    code = ("import sys, tinyml_lib.attacks; "
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)
