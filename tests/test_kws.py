"""tinyml_lib.kws: labels, models, speaker split, training (synthetic and offline speech), plots."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_lib import kws

RATE = 16000
WORDS = ["up", "down"]


def synthetic_keywords(n_per_class=24, n_speakers=8, seed=0):
    """Four classes a tiny model can learn: noise ("silence"), a steady tone ("unknown"),
    a rising ("up") and a falling ("down") sweep; each "speaker" has its own base pitch."""
    rng = np.random.default_rng(seed)
    waves, labels, speakers = [], [], []
    for label in ["silence", "unknown", *WORDS]:
        for i in range(n_per_class):
            speaker = i % n_speakers
            base = 300 * (1 + 0.15 * speaker)
            x = rng.normal(0, 0.003, RATE)
            if label != "silence":
                length, start = 6000, int(rng.integers(1000, 9000))
                ramp = np.linspace(0, 1, length)
                freq = {"up": base + 2500 * ramp, "down": base + 2500 * (1 - ramp),
                        "unknown": np.full(length, base * rng.uniform(2, 5))}[label]
                x[start:start + length] += 0.3 * np.sin(2 * np.pi * np.cumsum(freq) / RATE) \
                    * np.hanning(length)
            waves.append(x)
            labels.append(label)
            speakers.append(f"speaker{speaker}")
    return np.array(waves, np.float32), np.array(labels), np.array(speakers)


@pytest.fixture(scope="module")
def data():
    return synthetic_keywords()


@pytest.fixture(scope="module")
def trained(data):
    return kws.train(WORDS, data=data, epochs=8, copies=1, seed=0)


# --------------------------------------------------------------------------- labels

def test_label_names_follow_micro_speech():
    assert kws.LABELS_PREFIX == ["silence", "unknown"]
    assert kws.label_names(["yes", "no"]) == ["silence", "unknown", "yes", "no"]
    assert kws.label_names(("go",)) == ["silence", "unknown", "go"]


@pytest.mark.parametrize("words, message", [
    ("yes", "single string"),
    ([], "empty"),
    (["yes", "yes"], "duplicates"),
    (["yes", "silence"], "reserved"),
    (["yes", ""], "non-empty"),
    (["yes", 3], "non-empty string"),
])
def test_bad_words_are_rejected(words, message):
    with pytest.raises(ValueError, match=message):
        kws.label_names(words)


def test_encode_labels():
    classes = kws.label_names(["yes", "no"])
    assert kws.encode_labels(["no", "silence", "yes", "unknown"], classes).tolist() == [3, 0, 2, 1]
    with pytest.raises(ValueError, match="'maybe'"):
        kws.encode_labels(["yes", "maybe"], classes)
    with pytest.raises(ValueError, match="1-D"):
        kws.encode_labels([["yes"]], classes)


# --------------------------------------------------------------------------- models

def test_tiny_conv_is_the_micro_speech_model_and_small_enough_for_20_kb():
    model = kws.build_tiny_conv(4, seed=0)
    assert model.input_shape == (None, 49, 40, 1)
    assert model.output_shape == (None, 4)
    conv = model.get_layer("conv")
    assert conv.filters == 8 and conv.kernel_size == (10, 8) and conv.strides == (2, 2)
    # 10*8*8 + 8 conv weights, 25*20*8*4 + 4 dense weights: ~17 KB of int8 weights
    assert model.count_params() == 648 + 4000 * 4 + 4 == 16652
    probs = model.predict(np.zeros((2, 49, 40, 1), np.float32), verbose=0)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
    assert kws.build_tiny_conv(3, input_shape=(24, 40, 1)).output_shape == (None, 3)


def test_ds_cnn_is_depthwise_separable():
    model = kws.build_ds_cnn(4, seed=0)
    assert model.output_shape == (None, 4)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("DepthwiseConv2D") == 4 and "GlobalAveragePooling2D" in kinds
    assert 20_000 < model.count_params() < 30_000  # DS-CNN-S of "Hello Edge"
    small = kws.build_ds_cnn(12, filters=16, blocks=2)
    assert small.output_shape == (None, 12) and small.count_params() < 3000
    assert kws.build_model("ds_cnn", 4, filters=8, blocks=1).name == "ds_cnn"


@pytest.mark.parametrize("kwargs, message", [
    (dict(n_classes=1), "n_classes"),
    (dict(n_classes=4, input_shape=(49, 40)), "input_shape"),
    (dict(n_classes=4, dropout=1.0), "dropout"),
])
def test_bad_model_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        kws.build_tiny_conv(**kwargs)


def test_unknown_model_name_and_bad_ds_cnn_sizes():
    with pytest.raises(ValueError, match="'tiny_conv', 'ds_cnn'"):
        kws.build_model("resnet", 4)
    with pytest.raises(ValueError, match="filters"):
        kws.build_ds_cnn(4, filters=0)


def test_the_same_seed_gives_the_same_weights():
    a = kws.build_tiny_conv(4, seed=3).get_weights()
    b = kws.build_tiny_conv(4, seed=3).get_weights()
    c = kws.build_tiny_conv(4, seed=4).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


# --------------------------------------------------------------------------- data

def test_split_by_speaker_keeps_speakers_apart():
    speakers = np.repeat([f"s{i}" for i in range(10)], [5, 3, 8, 2, 6, 4, 7, 1, 9, 5])
    train_i, test_i = kws.split_by_speaker(speakers, 0.2, seed=1)
    assert sorted(np.r_[train_i, test_i].tolist()) == list(range(len(speakers)))
    assert not set(speakers[train_i]) & set(speakers[test_i])
    assert 0.2 <= len(test_i) / len(speakers) < 0.5
    again = kws.split_by_speaker(speakers, 0.2, seed=1)
    assert np.array_equal(again[1], test_i)
    with pytest.raises(ValueError, match="one speaker"):
        kws.split_by_speaker(["a", "a"], 0.2)
    with pytest.raises(ValueError, match="test_fraction"):
        kws.split_by_speaker(speakers, 1.5)


def test_augment_shifts_within_100_ms_and_is_seeded():
    clicks = np.zeros((20, RATE), np.float32)
    clicks[:, 8000] = 1.0
    shifted = kws.augment(clicks, seed=5, noise_rms=0.0)
    where = np.argmax(shifted, axis=1)
    assert shifted.shape == clicks.shape and np.all(np.abs(where - 8000) <= 1600)
    assert len(set(where.tolist())) > 5
    np.testing.assert_array_equal(shifted, kws.augment(clicks, seed=5, noise_rms=0.0))
    noisy = kws.augment(np.zeros((50, RATE)), seed=0, max_shift_ms=0, noise_rms=0.02,
                        noise_prob=1.0)
    rms = np.sqrt((noisy ** 2).mean(axis=1))
    assert 0 < rms.max() <= 0.021 and np.all(np.abs(noisy) <= 1)
    background = kws.augment(np.zeros((5, RATE)), seed=0, max_shift_ms=0, noise_prob=1.0,
                             background=np.tile(np.sin(np.arange(2 * RATE)), (2, 1)))
    assert np.abs(background).max() > 0
    with pytest.raises(ValueError, match="noise_prob"):
        kws.augment(clicks, noise_prob=2)


def test_prepare_gives_micro_features_and_class_numbers(data):
    waves, labels, _ = data
    x, y = kws.prepare(waves[::24], labels[::24], WORDS)
    assert x.shape == (4, 49, 40, 1) and x.dtype == np.float32
    assert y.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="one label per clip"):
        kws.prepare(waves[:3], labels[:2], WORDS)
    with pytest.raises(ValueError, match="not among the classes"):
        kws.prepare(waves[:2], ["yes", "no"], WORDS)
    with pytest.raises(ValueError, match="16000"):
        kws.prepare(waves[:2], labels[:2], WORDS, sample_rate=8000)


# --------------------------------------------------------------------------- training

def test_training_on_tiny_data_lowers_the_loss_and_beats_chance(trained):
    assert trained.classes == ["silence", "unknown", "up", "down"]
    assert len(trained.history["loss"]) == 8
    assert trained.history["loss"][-1] < 0.6 * trained.history["loss"][0]
    assert trained.test_accuracy >= 0.7  # chance is 0.25
    assert trained.test_accuracy == kws.evaluate(trained.model, trained.x_test, trained.y_test)
    assert trained.x_train.shape[1:] == (49, 40, 1) and trained.source == "your data"
    assert len(trained.test_speakers) >= 1
    assert str(trained).startswith("tiny_conv on")


def test_training_is_reproducible(data):
    small = tuple(part[::3] for part in data)
    first = kws.train(WORDS, data=small, epochs=2, copies=1, seed=7)
    second = kws.train(WORDS, data=small, epochs=2, copies=1, seed=7)
    assert first.history["loss"] == second.history["loss"]


@pytest.mark.parametrize("kwargs, message", [
    (dict(model="lstm"), "model="),
    (dict(epochs=0), "epochs"),
    (dict(copies=-1), "copies"),
    (dict(data=([0.0],)), "tuple"),
])
def test_bad_training_settings_are_rejected(data, kwargs, message):
    kwargs.setdefault("data", data)
    with pytest.raises(ValueError, match=message):
        kws.train(WORDS, **kwargs)


def test_predict_clip_pads_short_clips_and_finds_the_loud_second(trained, data):
    waves, labels, _ = data
    up = waves[labels == "up"][0]
    label, probs = kws.predict_clip(trained.model, up, trained.classes)
    assert label in trained.classes and probs.shape == (4,)
    assert probs.sum() == pytest.approx(1, abs=1e-4)
    index, _ = kws.predict_clip(trained.model, up)
    assert trained.classes[index] == label
    # half a second, and the same clip in 3 s of silence, are heard the same way
    loud = slice(int(np.argmax(np.abs(up))) - 4000, int(np.argmax(np.abs(up))) + 4000)
    assert kws.predict_clip(trained.model, up[loud], trained.classes)[0] == label
    long = np.r_[np.zeros(2 * RATE, np.float32), up, np.zeros(RATE, np.float32)]
    assert kws.predict_clip(trained.model, long, trained.classes)[0] == label
    with pytest.raises(ValueError, match="classes has 2 names"):
        kws.predict_clip(trained.model, up, ["a", "b"])
    with pytest.raises(ValueError, match="stereo"):
        kws.predict_clip(trained.model, np.zeros((RATE, 2)))


def test_confusion_matrix_counts():
    matrix = kws.confusion_matrix([0, 1, 1, 2, 2, 2], [0, 1, 2, 2, 2, 0], n_classes=4)
    assert matrix.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="same length"):
        kws.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match="class numbers"):
        kws.confusion_matrix([0.5], [0])
    with pytest.raises(ValueError, match="n_classes"):
        kws.confusion_matrix([0, 5], [0, 1], n_classes=3)


def test_plots_and_alt_text(trained):
    from tinyml_lib import plots

    ax = kws.plot_history(trained.history)
    assert [line.get_label() for line in ax.lines] == ["training", "held-out speakers"]
    plots.show(ax.figure, alt="Accuracy per epoch.")
    matrix = kws.confusion_matrix(trained.y_test, kws.predict(trained.model, trained.x_test), 4)
    _, ax2 = plots.figure()
    assert kws.plot_confusion(matrix, trained.classes, ax=ax2, normalize=True) is ax2
    assert [t.get_text() for t in ax2.get_yticklabels()] == trained.classes
    alt = kws.describe_confusion(matrix, trained.classes)
    assert f"{np.trace(matrix)} of {matrix.sum()} clips" in alt
    plots.show(ax2.figure, alt=alt)
    with pytest.raises(ValueError, match="4 x 4"):
        kws.plot_confusion(matrix[:3, :3], trained.classes)
    with pytest.raises(ValueError, match="'accuracy'"):
        kws.plot_history({"loss": [1.0]})
    with pytest.raises(ValueError, match="NaN"):
        kws.evaluate(trained.model, np.full((1, 49, 40), np.nan), [0])


# --------------------------------------------------------------------------- real (offline) speech

def test_train_on_offline_speech_generalizes_to_new_speakers():
    """Fast mode, offline espeak-ng keywords: the yes/no spotter hears voices it never heard."""
    result = kws.train(("yes", "no"), source="offline", seed=0)
    assert result.source == "offline"
    assert result.classes == ["silence", "unknown", "yes", "no"]
    assert len(result.y_test) >= 40
    assert result.test_accuracy >= 0.55, str(result)  # chance is 0.25
    assert result.model.count_params() <= 17_000
