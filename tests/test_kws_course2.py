"""Course 2 additions: the shipped pretrained keyword spotter, its training function, held-out
voices, and audio.play."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tinyml_lib import audio, kws
from tinyml_lib.datasets import keywords


# --------------------------------------------------------------------------- voices

def test_training_and_held_out_voices_partition_the_offline_voices():
    train = kws.training_voices()
    held = kws.held_out_voices()
    everyone = keywords.available_voices()
    assert set(train).isdisjoint(held)
    assert sorted(train + held) == sorted(everyone)
    assert len(held) == len(kws.PRETRAINED_HELD_OUT_VARIANTS) * len(keywords.ENGLISH_ACCENTS)
    assert all(v.split("+")[1] in kws.PRETRAINED_HELD_OUT_VARIANTS for v in held)
    assert kws.held_out_voices(["f2"]) == [f"{a}+f2" for a in keywords.ENGLISH_ACCENTS]
    assert "en-us+f2" not in kws.training_voices(["f2"]) and "en-us+m3" in kws.training_voices(["f2"])


@pytest.mark.parametrize("call, message", [
    (lambda: kws.training_voices("f2"), "single string"),
    (lambda: kws.training_voices(["nobody"]), "not voice variants"),
    (lambda: kws.training_voices(keywords.HUMAN_VARIANTS), "no voice to train on"),
    (lambda: kws.held_out_voices([]), "non-empty"),
    (lambda: kws.held_out_voices(["nobody"]), "not voice variants"),
])
def test_bad_voice_choices_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --------------------------------------------------------------------------- pretrained

def test_the_shipped_model_is_small_and_says_how_it_was_made():
    path = kws._pretrained_file(("yes", "no"))
    assert path.is_file() and path.stat().st_size < 100_000
    info = kws.pretrained_info()
    assert info["trained_by"] == "tinyml_lib.kws.train_pretrained"
    assert info["classes"] == ["silence", "unknown", "yes", "no"]
    assert info["held_out_variants"] == list(kws.PRETRAINED_HELD_OUT_VARIANTS)
    assert {k: info[k] for k in kws.PRETRAINED_SETTINGS} == kws.PRETRAINED_SETTINGS
    assert "synthesized" in info["data"]


def test_the_pretrained_model_recognises_unheard_voices_well_above_chance():
    from tinyml_lib.datasets import load_keywords

    model = kws.pretrained()
    assert model.count_params() == 16652
    waves, labels, _ = load_keywords(["yes", "no"], 15, source="offline", seed=11,
                                     silence=True, unknown=True, voices=kws.held_out_voices())
    x, y = kws.prepare(waves, labels, ["yes", "no"])
    accuracy = kws.evaluate(model, x, y)
    assert accuracy >= 0.7, accuracy   # chance is 0.25; measured 0.90 on 80 clips (seed 7)
    matrix = kws.confusion_matrix(y, kws.predict(model, x), 4)
    # the keywords themselves: most "yes" heard as yes and most "no" as no
    assert matrix[2, 2] >= 10 and matrix[3, 3] >= 9, matrix


@pytest.mark.parametrize("kwargs, error, message", [
    ({"words": ("left", "right")}, ValueError, "no pretrained model ships"),
    ({"words": "yes"}, ValueError, "single string"),
    ({"path": "/nonexistent/model.npz"}, FileNotFoundError, "train_pretrained"),
])
def test_pretrained_bad_requests(kwargs, error, message):
    with pytest.raises(error, match=message):
        kws.pretrained(**kwargs)


def test_train_pretrained_works_in_a_tiny_configuration_and_round_trips(tmp_path):
    path = tmp_path / "tiny.npz"
    result = kws.train_pretrained(path, n_per_word=6, epochs=1, copies=0, seed=3,
                                  held_out=["f2", "m3"])
    assert path.is_file()
    assert result.classes == ["silence", "unknown", "yes", "no"]
    # no held-out voice was used for training or testing
    assert not any(s.endswith(("+f2", "+m3")) for s in result.test_speakers)
    info = kws.pretrained_info(path=path)
    assert (info["n_per_word"], info["epochs"], info["copies"], info["seed"]) == (6, 1, 0, 3)
    assert info["held_out_variants"] == ["f2", "m3"]
    loaded = kws.pretrained(path=path)
    x = result.x_test[:5]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), result.model.predict(x, verbose=0),
                               atol=1e-6)
    with np.load(path) as stored:
        assert json.loads(str(stored["description"]))["model"] == "tiny_conv"


def test_pretrained_rejects_a_file_with_other_weights(tmp_path):
    path = tmp_path / "wrong.npz"
    description = {"classes": ["silence", "unknown", "yes", "no"]}
    np.savez(path, description=np.array(json.dumps(description)), w0=np.zeros((3, 3)))
    with pytest.raises(ValueError, match="does not hold tiny_conv weights"):
        kws.pretrained(path=path)


# --------------------------------------------------------------------------- audio.play

def rate(player) -> int:
    """The sample rate written in the player's WAV header."""
    return int.from_bytes(player.data[24:28], "little")


def test_play_scales_to_full_volume_and_keeps_the_rate():
    pytest.importorskip("IPython")
    clip = 0.1 * np.sin(2 * np.pi * 440 * np.arange(1600) / 16000)
    player = audio.play(clip)
    assert rate(player) == 16000
    assert player.data[:4] == b"RIFF"
    loud = np.frombuffer(player.data[44:], dtype="<i2")
    assert np.abs(loud).max() >= 32000          # normalized to full scale
    quiet = np.frombuffer(audio.play(clip, normalize=False).data[44:], dtype="<i2")
    assert 3000 < np.abs(quiet).max() < 3400     # 0.1 of full scale
    assert rate(audio.play(np.zeros(800, dtype=np.int16))) == 16000   # silence is fine
    assert rate(audio.play(clip, sample_rate=22050)) == 22050


@pytest.mark.parametrize("kwargs, message", [
    ({"waveform": np.zeros((2, 800)) + 0.1}, "channels"),
    ({"waveform": np.array([2.0, 0.0])}, "must lie in"),
    ({"waveform": np.zeros(800), "sample_rate": 0}, "sample_rate"),
    ({"waveform": np.zeros(800), "normalize": "yes"}, "normalize"),
])
def test_play_rejects_bad_input(kwargs, message):
    pytest.importorskip("IPython")
    with pytest.raises(ValueError, match=message):
        audio.play(**kwargs)
