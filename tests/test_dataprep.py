"""tinyml_lib.dataprep: bad clips, splits, imbalance, label noise, the lifecycle picture."""

from __future__ import annotations

import numpy as np
import pytest

from tinyml_lib import dataprep


def _speech_like(n=6, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    envelope = np.exp(-((t - 0.5) / 0.15) ** 2)
    waves = np.stack([0.3 * envelope * np.sin(2 * np.pi * (200 + 40 * k) * t)
                      + rng.normal(0, 0.003, t.size) for k in range(n)])
    return waves.astype(np.float32)


# --------------------------------------------------------------------------- find_bad_clips

def test_find_bad_clips_finds_each_problem_with_its_reason():
    waves = _speech_like(8)
    labels = np.array(["yes", "no", "silence", "yes", "no", "yes", "no", "yes"])
    waves[1] = 0.0
    waves[3] *= 0.001
    waves[4] = np.clip(waves[4] * 50, -1, 1)
    waves[6] = waves[5]
    waves[2] *= 0.001                       # quiet background is fine for "silence"
    table = dataprep.find_bad_clips(waves, labels)
    assert table[["clip", "problem"]].values.tolist() == [
        [1, "silent"], [3, "too quiet"], [4, "clipped"], [6, "duplicate"]]
    assert table["label"].tolist() == ["no", "yes", "no", "no"]
    assert "same audio as clip 5" in table["detail"].iloc[3]
    assert "dBFS" in table["detail"].iloc[1]


def test_find_bad_clips_clean_data_and_no_labels():
    waves = _speech_like(5)
    assert dataprep.find_bad_clips(waves).empty
    quiet = waves * 0.001
    assert dataprep.find_bad_clips(quiet).empty             # no labels: loudness not judged
    assert list(dataprep.find_bad_clips(quiet, ["yes"] * 5)["problem"]) == ["too quiet"] * 5
    assert list(dataprep.find_bad_clips(waves).columns) == ["clip", "problem", "detail"]


def test_find_bad_clips_int16_and_thresholds():
    waves = (_speech_like(3) * 32767).astype(np.int16)
    waves[0, :20] = 32767
    assert dataprep.find_bad_clips(waves)["clip"].tolist() == [0]
    assert dataprep.find_bad_clips(waves, clip_samples=50).empty


def test_find_bad_clips_one_clip_can_have_two_problems():
    waves = _speech_like(3)
    waves[0] = np.clip(waves[0] * 50, -1, 1)
    waves[2] = waves[0]
    table = dataprep.find_bad_clips(waves)
    assert table[table["clip"] == 2]["problem"].tolist() == ["clipped", "duplicate"]


@pytest.mark.parametrize("kwargs, match", [
    ({"waves": np.zeros(16000)}, "2-D"),
    ({"waves": np.full((2, 10), np.nan)}, "NaN"),
    ({"waves": np.zeros((2, 10)), "labels": ["a"]}, "one per clip"),
    ({"waves": np.zeros((2, 10)), "quiet_db": 3}, "dBFS"),
    ({"waves": np.zeros((2, 10)), "clip_samples": 0}, "clip_samples"),
    ({"waves": np.array([["a"]])}, "numbers"),
])
def test_find_bad_clips_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        dataprep.find_bad_clips(**kwargs)


# --------------------------------------------------------------------------- record_takes

def test_record_takes_repeats_with_small_differences():
    waves = _speech_like(4)
    takes, source = dataprep.record_takes(waves, takes=3, seed=1)
    assert takes.shape == (12, 16000) and takes.dtype == np.float32
    assert source.tolist() == [0, 1, 2, 3] * 3
    np.testing.assert_array_equal(takes[:4], waves)
    assert not np.allclose(takes[4], waves[0])                  # a new take differs a little
    pitch = np.argmax(np.abs(np.fft.rfft(takes, axis=1)), axis=1)   # Hz (1 s clips)
    assert pitch.tolist() == [200 + 40 * k for k in source]          # ...but is still its clip
    again, _ = dataprep.record_takes(waves, takes=3, seed=1)
    np.testing.assert_array_equal(takes, again)
    with pytest.raises(ValueError, match="takes"):
        dataprep.record_takes(waves, takes=0)


# --------------------------------------------------------------------------- splits

def test_random_split_partitions_and_leaks_speakers():
    train_i, test_i = dataprep.random_split(100, 0.2, seed=0)
    assert len(test_i) == 20 and len(train_i) == 80
    assert sorted(np.concatenate([train_i, test_i]).tolist()) == list(range(100))
    speakers = np.repeat([f"s{k}" for k in range(10)], 10)
    assert len(dataprep.shared_speakers(speakers, train_i, test_i)) > 5
    other = dataprep.random_split(100, 0.2, seed=1)[1]
    assert not np.array_equal(test_i, other)


def test_shared_speakers_is_empty_for_a_speaker_split():
    from tinyml_lib import kws

    speakers = np.repeat([f"s{k}" for k in range(10)], 5)
    train_i, test_i = kws.split_by_speaker(speakers, 0.3, seed=0)
    assert dataprep.shared_speakers(speakers, train_i, test_i) == []
    with pytest.raises(ValueError, match="positions"):
        dataprep.shared_speakers(speakers, [0, 99], [1])


@pytest.mark.parametrize("n, fraction", [(1, 0.5), (10, 0.0), (10, 1.0), (10, 1.5), (True, 0.5)])
def test_random_split_rejects_bad_input(n, fraction):
    with pytest.raises(ValueError):
        dataprep.random_split(n, fraction)


# --------------------------------------------------------------------------- imbalance

def test_imbalance_keeps_the_asked_fraction():
    labels = np.array(["yes"] * 50 + ["no"] * 40 + ["silence"] * 10)
    kept = dataprep.imbalance(labels, {"no": 0.25, "silence": 0.0}, seed=3)
    counts = dict(zip(*np.unique(labels[kept], return_counts=True)))
    assert counts == {"yes": 50, "no": 10, "silence": 1}
    assert np.all(np.diff(kept) > 0)
    with pytest.raises(ValueError, match="not among the labels"):
        dataprep.imbalance(labels, {"maybe": 0.5})
    with pytest.raises(ValueError, match="between 0 and 1"):
        dataprep.imbalance(labels, {"no": 2})
    with pytest.raises(ValueError, match="dict"):
        dataprep.imbalance(labels, {})


# --------------------------------------------------------------------------- flip_labels

def test_flip_labels_changes_exactly_the_fraction_to_other_classes():
    y = np.array([0, 1, 2, 3] * 50)
    noisy = dataprep.flip_labels(y, 0.3, seed=2)
    assert int(np.sum(noisy != y)) == 60
    assert set(noisy.tolist()) <= {0, 1, 2, 3}
    assert np.array_equal(dataprep.flip_labels(y, 0.0), y)
    assert int(np.sum(dataprep.flip_labels(y, 1.0) != y)) == len(y)
    flipped_to = noisy[noisy != y]
    assert len(set(flipped_to.tolist())) == 4                   # spread over the classes
    words = np.array(["yes", "no"] * 10)
    assert set(dataprep.flip_labels(words, 0.5, seed=0).tolist()) == {"yes", "no"}
    assert set(dataprep.flip_labels(["a"] * 10, 1.0, classes=["a", "b"]).tolist()) == {"b"}


def test_flip_labels_rejects_bad_input():
    with pytest.raises(ValueError, match="two classes"):
        dataprep.flip_labels(["a", "a"], 0.5)
    with pytest.raises(ValueError, match="between 0 and 1"):
        dataprep.flip_labels([0, 1], -0.1)
    with pytest.raises(ValueError, match="seed"):
        dataprep.flip_labels([0, 1], 0.5, seed=-1)


# --------------------------------------------------------------------------- recall, picture

def test_per_class_recall():
    recall = dataprep.per_class_recall([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"])
    assert recall == {"a": 0.5, "b": 1.0, "c": 0.0}
    assert np.isnan(dataprep.per_class_recall([0], [0], ["a", "b"])["b"])
    with pytest.raises(ValueError, match="class numbers"):
        dataprep.per_class_recall([0, 5], [0, 0], ["a", "b"])
    with pytest.raises(ValueError, match="same length"):
        dataprep.per_class_recall([0, 1], [0], ["a", "b"])


def test_plot_lifecycle_draws_every_stage():
    ax = dataprep.plot_lifecycle(highlight="clean")
    texts = [t.get_text() for t in ax.texts]
    for name, _ in dataprep.LIFECYCLE:
        assert name in texts
    assert [name for name, _ in dataprep.LIFECYCLE] == [
        "collect", "clean", "split", "train", "optimize", "deploy", "monitor"]
    with pytest.raises(ValueError, match="unknown stages"):
        dataprep.plot_lifecycle(highlight=["tune"])
