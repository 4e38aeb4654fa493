"""Keyword-speech loaders: offline espeak-ng synthesis, Speech Commands download, load_folder."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import tarfile
import threading
import wave
from pathlib import Path

import numpy as np
import pytest

from tinyml_lib.datasets import DatasetInfo, load_folder, load_keywords
from tinyml_lib.datasets import keywords as kw


# --------------------------------------------------------------------------- offline source

def test_offline_shapes_labels_and_info(cache):
    waves, labels, info = load_keywords(["yes", "no"], 3, source="offline", seed=0,
                                        silence=True, unknown=True)
    assert waves.shape == (12, 16000) and waves.dtype == np.float32
    assert np.all(np.abs(waves) <= 1.0) and np.all(np.isfinite(waves))
    assert labels.dtype.kind == "U"
    assert list(labels) == ["silence"] * 3 + ["unknown"] * 3 + ["yes"] * 3 + ["no"] * 3
    assert isinstance(info, DatasetInfo)
    assert (info.name, info.source) == ("keywords", "offline")
    assert info.classes == ["silence", "unknown", "yes", "no"]
    speakers = info.details["speakers"]
    assert speakers.shape == (12,) and speakers.dtype.kind == "U"
    voices = set(kw.available_voices())
    assert all(s in voices for s in speakers[3:])
    texts = info.details["texts"]
    assert list(texts[6:]) == ["yes"] * 3 + ["no"] * 3
    assert not set(texts[3:6]) & {"yes", "no"}  # unknown words are other words
    assert "espeak-ng" in info.description and "offline" in str(info)
    assert info.details["settings"]["seed"] == 0
    # every clip holds sound, and silence clips are quieter than spoken ones
    rms = np.sqrt(np.mean(waves ** 2, axis=1))
    assert np.all(rms > 0)


def test_only_requested_classes(cache):
    waves, labels, info = load_keywords(["go"], 2, source="offline")
    assert info.classes == ["go"] and list(labels) == ["go", "go"] and waves.shape == (2, 16000)


def test_auto_is_offline_when_offline_mode(cache, monkeypatch):
    monkeypatch.setenv("TINYML_OFFLINE", "1")
    _, _, info = load_keywords(["yes"], 1)
    assert info.source == "offline"


def test_determinism_cache_and_processes(cache, tmp_path, monkeypatch):
    a, la, ia = load_keywords(["yes", "no"], 4, source="offline", seed=3, unknown=True)
    assert ia.details["cache_hit"] is False and Path(ia.cache_path).exists()
    assert Path(ia.cache_path).is_relative_to(cache)
    b, lb, ib = load_keywords(["yes", "no"], 4, source="offline", seed=3, unknown=True)
    assert ib.details["cache_hit"] is True
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(ia.details["speakers"], ib.details["speakers"])
    # rebuilt from scratch, in two worker processes: still the very same samples
    monkeypatch.setenv("TINYML_CACHE_DIR", str(tmp_path / "other-cache"))
    c, _, ic = load_keywords(["yes", "no"], 4, source="offline", seed=3, unknown=True, n_jobs=2)
    assert ic.details["cache_hit"] is False
    np.testing.assert_array_equal(a, c)
    d, _, _ = load_keywords(["yes", "no"], 4, source="offline", seed=4, unknown=True)
    assert not np.array_equal(a, d)


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_damaged_cache_is_rebuilt(cache, damage):
    a, _, info = load_keywords(["up"], 2, source="offline", seed=1)
    path = Path(info.cache_path)
    data = path.read_bytes()
    path.write_bytes(b"not an npz file" if damage == "garbage" else data[: len(data) // 2])
    b, _, info2 = load_keywords(["up"], 2, source="offline", seed=1)
    assert info2.details["cache_hit"] is False
    np.testing.assert_array_equal(a, b)


def test_voices_can_be_held_out(cache):
    _, _, info = load_keywords(["yes"], 6, source="offline", voices=["en-gb-scotland"])
    assert all(s.startswith("en-gb-scotland+") for s in info.details["speakers"])
    _, _, info = load_keywords(["yes"], 3, source="offline", voices=["en-us+m3"])
    assert set(info.details["speakers"]) == {"en-us+m3"}
    with pytest.raises(ValueError, match="no language 'xx-nowhere'"):
        load_keywords(["yes"], 1, source="offline", voices=["xx-nowhere"])
    with pytest.raises(ValueError, match="no voice variant 'nobody'"):
        load_keywords(["yes"], 1, source="offline", voices=["en-us+nobody"])


def _quietest_window_db(clip):
    frames = clip[: 16000 // 400 * 400].reshape(-1, 400)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return 10 * np.log10(power.min() / power.max() + 1e-30)


def test_noise_and_snr(cache):
    clean, _, info = load_keywords(["yes"], 4, source="offline", noise=False, reverb=0.0)
    assert set(info.details["noise"]) == {"none"}
    # clean words sit in digital silence: most of the second is exactly zero
    assert all(np.mean(c == 0) > 0.3 for c in clean)
    loud, _, _ = load_keywords(["yes"], 6, source="offline", snr_db=(0, 0), seed=1)
    soft, _, _ = load_keywords(["yes"], 6, source="offline", snr_db=(40, 40), seed=1)
    assert np.all(loud != 0, axis=1).mean() > 0.9  # noise everywhere
    floor_loud = np.median([_quietest_window_db(c) for c in loud])
    floor_soft = np.median([_quietest_window_db(c) for c in soft])
    assert floor_loud > floor_soft + 15


def test_synthetic_words_are_learnable_across_accents(cache):
    """'yes' ends in a hiss (/s/), 'no' does not: a one-number classifier trained on
    some accents must work on an accent it never heard (the data teaches the lesson)."""
    def hiss(waves):
        spec = np.abs(np.fft.rfft(waves, axis=1)) ** 2
        freqs = np.fft.rfftfreq(16000, 1 / 16000)
        return np.log(spec[:, freqs > 3500].sum(1) / spec[:, (freqs > 100) & (freqs < 1500)].sum(1))

    train_w, train_l, _ = load_keywords(["yes", "no"], 20, source="offline", snr_db=(20, 30),
                                        voices=["en-us", "en-gb-x-rp", "en"], reverb=0.0)
    test_w, test_l, _ = load_keywords(["yes", "no"], 20, source="offline", snr_db=(20, 30),
                                      voices=["en-gb-scotland", "en-029"], seed=7, reverb=0.0)
    x = hiss(train_w)
    threshold = (np.median(x[train_l == "yes"]) + np.median(x[train_l == "no"])) / 2
    predicted = np.where(hiss(test_w) > threshold, "yes", "no")
    assert np.mean(predicted == test_l) >= 0.8


@pytest.mark.parametrize("call, error, message", [
    (dict(words="yes"), ValueError, r"not the single string 'yes'; write \['yes'\]"),
    (dict(words=[]), ValueError, "words is empty"),
    (dict(words=["yes", "yes"]), ValueError, "duplicates"),
    (dict(words=["yes", ""]), ValueError, "non-empty string"),
    (dict(words=["silence"]), ValueError, "reserved class name; ask for it with silence=True"),
    (dict(n_per_word=0), ValueError, "n_per_word must be an integer >= 1"),
    (dict(n_per_word=2.5), ValueError, "n_per_word must be an integer"),
    (dict(n_per_word=True), ValueError, "n_per_word must be an integer"),
    (dict(seed=-1), ValueError, "seed must be a non-negative integer"),
    (dict(silence="yes"), ValueError, "silence must be True or False"),
    (dict(source="youtube"), ValueError, "source='youtube' is not one of"),
    (dict(loudness=3), TypeError, "'loudness' that source 'offline' does not take"),
    (dict(split="testing"), TypeError, "'split' that source 'offline' does not take"),
    (dict(snr_db=(30, 5)), ValueError, "low <= high"),
    (dict(snr_db="loud"), ValueError, r"snr_db must be a \(low, high\) pair"),
    (dict(reverb=2), ValueError, "reverb is the share of clips"),
    (dict(noise="yes"), ValueError, "noise must be True or False"),
    (dict(n_jobs=0), ValueError, "n_jobs must be an integer >= 1"),
    (dict(voices=[]), ValueError, "voices is empty"),
])
def test_bad_arguments_are_rejected(cache, call, error, message):
    args = {"words": ["yes", "no"], "n_per_word": 2, "source": "offline", **call}
    with pytest.raises(error, match=message):
        load_keywords(args.pop("words"), args.pop("n_per_word"), **args)


def test_real_source_refused_when_offline_is_set(cache, monkeypatch):
    monkeypatch.setenv("TINYML_OFFLINE", "1")
    with pytest.raises(RuntimeError, match="needs the network, but TINYML_OFFLINE is set"):
        load_keywords(["yes"], 1, source="speech_commands")


# --------------------------------------------------------------------------- Speech Commands

def _wav_bytes(samples: np.ndarray, rate: int = 16000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.asarray(samples, "<i2").tobytes())
    return buffer.getvalue()


def _tone(freq: float, seconds: float = 1.0, amp: int = 8000) -> np.ndarray:
    t = np.arange(int(16000 * seconds)) / 16000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


WORD_FREQ = {"yes": 500.0, "no": 900.0, "up": 1300.0, "cat": 1700.0}


@pytest.fixture(scope="module")
def tiny_speech_commands(tmp_path_factory):
    """A tiny archive in the real layout, served over HTTP on 127.0.0.1."""
    root = tmp_path_factory.mktemp("server")
    files, testing = {}, []
    for word, freq in WORD_FREQ.items():
        for i in range(6):
            name = f"{word}/{i:08x}_nohash_{i % 2}.wav"
            seconds = 0.75 if i == 0 else 1.0  # a short one, as in the real data
            files[name] = _wav_bytes(_tone(freq + 10 * i, seconds))
            if i >= 4:
                testing.append(name)
    files["_background_noise_/hum.wav"] = _wav_bytes(_tone(60.0, 3.0, amp=3000))
    files["_background_noise_/README.md"] = b"noise"
    files["testing_list.txt"] = "\n".join(testing).encode()
    files["validation_list.txt"] = b""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            member = tarfile.TarInfo(f"./{name}")
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    archive = buffer.getvalue()
    (root / "speech_commands_v0.02.tar.gz").write_bytes(archive)
    (root / "corrupted.tar.gz").write_bytes(archive[:-200] + b"\0" * 200)
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield {"url": f"{base}/speech_commands_v0.02.tar.gz",
           "corrupted": f"{base}/corrupted.tar.gz",
           "sha256": hashlib.sha256(archive).hexdigest(), "testing": set(testing)}
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def online(monkeypatch, cache):
    monkeypatch.setenv("TINYML_OFFLINE", "0")
    return cache


def _dominant_freq(clip):
    return np.fft.rfftfreq(16000, 1 / 16000)[np.argmax(np.abs(np.fft.rfft(clip)))]


def test_speech_commands_download_and_read(online, tiny_speech_commands):
    server = tiny_speech_commands
    waves, labels, info = load_keywords(["yes", "no"], 3, source="speech_commands", seed=0,
                                        silence=True, unknown=True, url=server["url"],
                                        sha256=server["sha256"])
    assert waves.shape == (12, 16000) and waves.dtype == np.float32
    assert list(labels) == ["silence"] * 3 + ["unknown"] * 3 + ["yes"] * 3 + ["no"] * 3
    assert (info.name, info.source) == ("keywords", "speech_commands")
    assert info.classes == ["silence", "unknown", "yes", "no"]
    files = info.details["files"]
    # the real recordings, scaled to [-1, 1]: each clip is its word's tone
    for clip, label, name in zip(waves[3:], labels[3:], files[3:], strict=True):
        word = name.split("/")[0]
        assert word == label if label != "unknown" else word in ("up", "cat")
        index = int(name.split("/")[1][:8], 16)
        assert abs(_dominant_freq(clip) - (WORD_FREQ[word] + 10 * index)) <= 2
        assert 0.2 < np.abs(clip).max() <= 8000 / 32768 + 1e-6
    for clip in waves[:3]:  # silence: cut from the background noise, random volume
        assert np.abs(clip).max() <= 3000 / 32768 + 1e-6
    speakers = info.details["speakers"]
    expected = [Path(f).name.split("_nohash_")[0] for f in files[3:]]
    assert list(speakers[3:]) == expected
    # the archive was unpacked once and removed; the arrays were cached
    assert list((online / "speech_commands").glob("v0.02-*/.complete"))
    assert not list((online / "downloads").iterdir())
    assert Path(info.cache_path).exists()


def test_speech_commands_cache_needs_no_server(online, tiny_speech_commands):
    server = tiny_speech_commands
    args = dict(source="speech_commands", url=server["url"], sha256=server["sha256"])
    a, la, _ = load_keywords(["yes"], 2, seed=5, **args)
    dead = dict(args, url="http://127.0.0.1:9/nothing-here.tar.gz")  # the arrays are cached
    b, lb, info = load_keywords(["yes"], 2, seed=5, **dead)
    assert info.details["cache_hit"] is True
    np.testing.assert_array_equal(a, b)
    # a new selection comes from the unpacked archive, still without the server
    picks = {tuple(load_keywords(["yes"], 2, seed=s, **dead)[2].details["files"]) for s in range(6)}
    assert len(picks) > 1  # the seed decides which recordings are drawn


def test_speech_commands_split(online, tiny_speech_commands):
    server = tiny_speech_commands
    _, _, info = load_keywords(["yes", "no"], 2, source="speech_commands", split="testing",
                               url=server["url"], sha256=server["sha256"])
    assert set(info.details["files"]) <= server["testing"]
    with pytest.raises(ValueError, match="only 2 recordings of 'yes' in split 'testing'"):
        load_keywords(["yes"], 3, source="speech_commands", split="testing",
                      url=server["url"], sha256=server["sha256"])


def test_speech_commands_rejects_unknown_words(online):
    with pytest.raises(ValueError, match="Speech Commands has no recordings of 'hello'"):
        load_keywords(["hello"], 1, source="speech_commands")
    with pytest.raises(TypeError, match="'voices' that source 'speech_commands' does not take"):
        load_keywords(["yes"], 1, source="speech_commands", voices=["en"])
    with pytest.raises(ValueError, match="split must be one of"):
        load_keywords(["yes"], 1, source="speech_commands", split="train")


def test_corrupted_download_leaves_nothing(online, tiny_speech_commands):
    server = tiny_speech_commands
    with pytest.raises(ValueError, match="corrupted \\(SHA-256 mismatch\\)"):
        load_keywords(["yes"], 1, source="speech_commands", url=server["corrupted"],
                      sha256=server["sha256"])
    leftovers = [p for p in online.rglob("*") if p.is_file()]
    assert leftovers == []
    assert not list((online / "speech_commands").glob("*"))


def test_auto_falls_back_to_offline_when_download_fails(online):
    with pytest.warns(RuntimeWarning, match="offline"):
        waves, _, info = load_keywords(["yes"], 2, url="http://127.0.0.1:9/none.tar.gz",
                                       snr_db=(10, 20))
    assert info.source == "offline" and waves.shape == (2, 16000)


# --------------------------------------------------------------------------- load_folder

def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_load_folder_formats_and_resampling(tmp_path):
    from scipy.io import wavfile

    root = tmp_path / "my_words"
    # 2 s stereo 44.1 kHz int16 with a 1 kHz burst in the middle: the burst is kept, centred
    t = np.arange(88200) / 44100
    burst = np.where((t > 1.2) & (t < 1.5), 0.5 * np.sin(2 * np.pi * 1000 * t), 0.001)
    stereo = (np.stack([burst, burst], axis=1) * 32767).astype(np.int16)
    (root / "yes").mkdir(parents=True)
    wavfile.write(root / "yes" / "take1.wav", 44100, stereo)
    # 0.5 s float32 at 8 kHz, and 8-bit unsigned at 16 kHz
    (root / "no").mkdir()
    tone = 0.25 * np.sin(2 * np.pi * 440 * np.arange(4000) / 8000)
    wavfile.write(root / "no" / "take1.wav", 8000, tone.astype(np.float32))
    wavfile.write(root / "no" / "take2.WAV", 16000,
                  (128 + 100 * np.sin(np.arange(16000) / 5)).astype(np.uint8))
    waves, labels, info = load_folder(root)
    assert waves.shape == (3, 16000) and waves.dtype == np.float32
    assert list(labels) == ["no", "no", "yes"] and info.classes == ["no", "yes"]
    assert info.source == "folder" and len(info.details["files"]) == 3
    assert list(info.details["original_sample_rates"]) == [8000, 16000, 44100]
    yes = waves[2]
    loud = np.nonzero(np.abs(yes) > 0.1)[0]
    assert abs((loud[0] + loud[-1]) / 2 - 8000) < 400  # the loudest second, burst centred
    assert abs(_dominant_freq(yes) - 1000) <= 2
    assert abs(np.abs(yes).max() - 0.5) < 0.02
    short = waves[0]  # 0.5 s centred, zero-padded both sides
    assert np.all(short[:3900] == 0) and np.all(short[-3900:] == 0)
    assert abs(_dominant_freq(short) - 440) <= 3
    assert np.abs(waves[1]).max() <= 1.0 and np.abs(waves[1]).max() > 0.7


def test_load_folder_other_rate_and_filename_labels(tmp_path):
    from scipy.io import wavfile

    for name in ("yes_01.wav", "yes-02.wav", "no3.wav"):
        wavfile.write(tmp_path / name, 16000, _tone(300, 1.2))
    waves, labels, info = load_folder(tmp_path, sample_rate=8000, labels_from="filename")
    assert waves.shape == (3, 8000)
    assert list(labels) == ["no", "yes", "yes"]
    assert info.details["sample_rate"] == 8000


def test_load_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_folder(tmp_path / "missing")
    _write(tmp_path / "notes.txt", b"hello")
    with pytest.raises(NotADirectoryError, match="is a file, not a folder"):
        load_folder(tmp_path / "notes.txt")
    with pytest.raises(ValueError, match="no .wav files in"):
        load_folder(tmp_path)
    good = tmp_path / "words" / "yes" / "good.wav"
    _write(good, _wav_bytes(_tone(300)))
    _write(tmp_path / "words" / "yes" / "broken.wav", b"RIFF\x00\x00garbage")
    with pytest.raises(ValueError, match="broken.wav"):
        load_folder(tmp_path / "words")
    with pytest.raises(ValueError, match="sample_rate must be an integer"):
        load_folder(good.parent, sample_rate=0)
    with pytest.raises(ValueError, match="labels_from must be 'folder'"):
        load_folder(good.parent, labels_from="speaker")
    empty = _write(tmp_path / "empty" / "x.wav", _wav_bytes(np.zeros(0, np.int16)))
    with pytest.raises(ValueError, match="holds no audio"):
        load_folder(empty.parent)
