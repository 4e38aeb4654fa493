"""Spoken keywords for keyword spotting, and the learner's own recordings.

Two sources for :func:`load_keywords`, with the same return shape:

``"offline"``
    Words spoken by the espeak-ng synthesizer (shipped by the
    ``espeakng-loader`` wheel: no system install, no network), varied the way
    real recordings vary: 8 English accents x 72 voice variants (the
    "speakers"), speaking rate, pitch, pitch range, loudness, position in the
    1 s window, microphone colour, room echo, and background noise (white,
    pink, brown, mains hum, fan-like band noise, babble of other voices) at a
    chosen signal-to-noise ratio.
``"speech_commands"``
    Google's Speech Commands v2 (105,829 one-second recordings of 35 words by
    2,618 speakers, CC BY 4.0), downloaded once (2.3 GB, SHA-256 checked).

:func:`load_folder` reads a folder of WAV files (one sub-folder per word), the
way the custom-keyword lesson records them.

Examples
--------
>>> from tinyml_lib.datasets import load_keywords
>>> waves, labels, info = load_keywords(["yes", "no"], 20, source="offline",
...                                     silence=True, unknown=True)  # doctest: +SKIP
>>> waves.shape, info.classes                                        # doctest: +SKIP
((80, 16000), ['silence', 'unknown', 'yes', 'no'])
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import _core
from ._core import DatasetInfo

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE  # one second
SILENCE = "silence"
UNKNOWN = "unknown"
REAL_SOURCES = ("speech_commands",)

#: Bump when the offline generator changes what it produces (invalidates caches).
GENERATOR_VERSION = 1

#: The 35 words of Speech Commands v2.
SPEECH_COMMANDS_WORDS = (
    "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward",
    "four", "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on",
    "one", "right", "seven", "sheila", "six", "stop", "three", "tree", "two", "up",
    "visual", "wow", "yes", "zero",
)
SPEECH_COMMANDS_URL = "http://download.tensorflow.org/data/speech_commands_v0.02.tar.gz"
#: SHA-256 of the v0.02 archive (2,428,923,189 bytes), as published in TensorFlow
#: Datasets' checksums for ``speech_commands`` and in torchaudio's ``SPEECHCOMMANDS``.
SPEECH_COMMANDS_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SPEECH_COMMANDS_SPLITS = ("all", "training", "validation", "testing")

#: English accents of espeak-ng used by default (language voice names).
ENGLISH_ACCENTS = (
    "en-us", "en", "en-gb-x-rp", "en-us-nyc", "en-gb-scotland", "en-029",
    "en-gb-x-gbclan", "en-gb-x-gbcwmd",
)
#: espeak-ng voice variants that sound like people (robotic, whispering and
#: effect variants are left out; pass ``voices=`` to use them).
HUMAN_VARIANTS = (
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "f1", "f2", "f3", "f4", "f5",
    "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6",
    "Alex", "Alicia", "Andrea", "Andy", "Annie", "Denis", "Diogo", "Gene", "Henrique", "Hugo",
    "Jacky", "Lee", "Marco", "Mario", "Michael", "Mike", "Nguyen", "Reed", "adam", "anika",
    "antonio", "aunty", "belinda", "benjamin", "boris", "caleb", "david", "ed", "edward",
    "grandma", "grandpa", "gustave", "ian", "iven", "john", "linda", "marcelo", "max", "michel",
    "miguel", "norbert", "pablo", "paul", "pedro", "quincy", "rob", "robert", "sandro", "shelby",
    "steph", "travis", "victor", "zac",
)
#: Words for the "unknown" class (minus the keywords asked for): the other
#: Speech Commands words plus near misses that sound like common keywords.
DEFAULT_UNKNOWN_WORDS = SPEECH_COMMANDS_WORDS + (
    "yet", "yesterday", "yellow", "less", "note", "nose", "nope", "snow", "cup",
    "town", "loud", "lift", "night", "own", "of", "stuff", "top", "goat", "hello",
    "maybe", "water", "light", "okay", "music", "morning", "table", "paper", "window",
)
#: Words mixed into "babble" background noise (never keywords of the course).
_BABBLE_WORDS = ("the", "and", "people", "today", "because", "number", "little", "coffee",
                 "quiet", "garden", "about", "where", "really", "something", "thing", "never")

NOISE_KINDS = ("white", "pink", "brown", "hum", "band", "babble")

_OFFLINE_DEFAULTS: dict[str, Any] = {
    "voices": None, "snr_db": (5.0, 30.0), "noise": True, "reverb": 0.25,
    "unknown_words": None, "n_jobs": None,
}
_REAL_DEFAULTS: dict[str, Any] = {
    "split": "all", "unknown_words": None, "url": None, "sha256": None,
}

# ranges of the per-clip variation (offline source)
_RATE_WPM = (90, 200)
_PITCH = (20, 80)
_PITCH_RANGE = (20, 90)
_PEAK_DB = (-24.0, -1.0)
_SILENCE_DB = (-70.0, -20.0)
_PARALLEL_MIN_CLIPS = 2000


# --------------------------------------------------------------------------- public API

def load_keywords(words: Sequence[str], n_per_word: int, source: str = "auto", seed: int = 0,
                  silence: bool = False, unknown: bool = False, **options):
    """One-second clips of spoken keywords at 16 kHz, with labels and speaker ids.

    Parameters
    ----------
    words : sequence of str
        The keywords, e.g. ``["yes", "no"]``. With ``source="speech_commands"``
        they must be Speech Commands words (see ``SPEECH_COMMANDS_WORDS``).
    n_per_word : int
        Clips per keyword, and per extra class ("silence", "unknown").
    source : {"auto", "offline", "speech_commands"}
        ``"auto"`` downloads Speech Commands when online, and synthesizes
        offline otherwise (``TINYML_OFFLINE=1``, no network, or the download
        cannot be reached: then with a warning). It accepts the options of
        both sources and passes each source its own.
    seed : int
        Same seed, same clips.
    silence : bool
        Add a "silence" class: background noise only, no speech.
    unknown : bool
        Add an "unknown" class: other words (not in ``words``), recorded or
        synthesized the same way.
    **options
        Offline source:

        - ``voices`` (list of str, default all ``ENGLISH_ACCENTS`` with all
          ``HUMAN_VARIANTS``): espeak-ng voices to speak with. A language
          (``"en-us"``, or another language such as ``"de"``, which reads the
          word with that language's spelling rules) uses every human variant;
          ``"en-us+f2"`` names one voice. Hold some out to test on voices a
          model never heard.
        - ``snr_db`` (``(low, high)``, default ``(5, 30)``): signal-to-noise
          ratio range in dB of the background noise mixed into each word.
        - ``noise`` (bool, default True): mix background noise into the words
          (the "silence" class is always background noise).
        - ``reverb`` (float in [0, 1], default 0.25): share of clips spoken in
          an echoing room.
        - ``unknown_words`` (list of str): vocabulary of the "unknown" class
          (default ``DEFAULT_UNKNOWN_WORDS`` minus ``words``).
        - ``n_jobs`` (int): processes used to synthesize (default: one below
          2,000 clips, all cores above; the clips never depend on it).

        Speech Commands source:

        - ``split`` (``"all"``, ``"training"``, ``"validation"``,
          ``"testing"``): the dataset's official split (by speaker).
        - ``unknown_words``: which other word folders feed "unknown".
        - ``url``, ``sha256``: another copy of the archive (a mirror) and its checksum.

    Returns
    -------
    waves : ndarray of float32, shape (N, 16000)
        Audio in [-1, 1], one second at 16 kHz per row.
    labels : ndarray of str, shape (N,)
        The class of each clip: a keyword, ``"silence"`` or ``"unknown"``.
    info : DatasetInfo
        ``info.source`` is ``"offline"`` or ``"speech_commands"``;
        ``info.classes`` is ``["silence", "unknown", *words]`` (the extra
        classes only when asked for), the order of TensorFlow's micro_speech;
        ``info.details["speakers"]`` gives one speaker id per clip, to split
        train/test by speaker; ``info.details["settings"]`` how it was made.

    Examples
    --------
    >>> waves, labels, info = load_keywords(["yes", "no"], 10, source="offline")  # doctest: +SKIP
    >>> waves.shape, waves.dtype, sorted(set(labels))                             # doctest: +SKIP
    ((20, 16000), dtype('float32'), ['no', 'yes'])
    >>> info.details["speakers"][:2]                                              # doctest: +SKIP
    array(['en-gb-x-gbcwmd+Reed', 'en-us+klatt4'], dtype='<U20')
    """
    words = _check_words(words)
    n_per_word = _core.check_count("n_per_word", n_per_word)
    seed = _core.check_seed(seed)
    silence = _check_bool("silence", silence)
    unknown = _check_bool("unknown", unknown)
    resolved = _core.resolve_source(source, REAL_SOURCES)
    classes = ([SILENCE] if silence else []) + ([UNKNOWN] if unknown else []) + list(words)
    if source == _core.AUTO:  # options of either source; each uses its own
        _check_options(options, {**_OFFLINE_DEFAULTS, **_REAL_DEFAULTS}, source)
    if resolved != _core.OFFLINE:
        picked = {k: v for k, v in options.items() if k in _REAL_DEFAULTS}
        opts = _check_options(picked if source == _core.AUTO else options, _REAL_DEFAULTS,
                              resolved)
        try:
            return _load_speech_commands(words, n_per_word, seed, silence, unknown, classes,
                                         opts)
        except ConnectionError as exc:
            if source != _core.AUTO:
                raise
            warnings.warn(f"{exc} Using the offline (synthesized) keywords instead.",
                          RuntimeWarning, stacklevel=2)
    picked = {k: v for k, v in options.items() if k in _OFFLINE_DEFAULTS}
    opts = _check_options(picked if source == _core.AUTO else options, _OFFLINE_DEFAULTS,
                          _core.OFFLINE)
    return _load_offline(words, n_per_word, seed, silence, unknown, classes, opts)


def load_folder(path, sample_rate: int = SAMPLE_RATE, labels_from: str = "folder"):
    """Read every WAV file under ``path`` as one-second clips (a learner's own recordings).

    Each file is converted to mono float32 in [-1, 1], resampled to
    ``sample_rate`` and cut to one second: the loudest second of a longer
    recording, or a shorter one centred and padded with silence.

    Parameters
    ----------
    path : str or Path
        A folder of WAV files, e.g. ``my_words/yes/*.wav`` and ``my_words/no/*.wav``
        (sub-folders are searched recursively).
    sample_rate : int
        Rate of the returned clips in Hz (16,000 for the keyword models).
    labels_from : {"folder", "filename"}
        ``"folder"``: the label is the name of the folder holding the file
        (``my_words/yes/take1.wav`` -> ``"yes"``). ``"filename"``: the start of
        the file name before ``_``, ``-``, a space or digits (``yes_01.wav`` -> ``"yes"``).

    Returns
    -------
    waves : ndarray of float32, shape (N, sample_rate)
    labels : ndarray of str, shape (N,)
    info : DatasetInfo
        ``source="folder"``; ``details["files"]`` lists the files in row order,
        ``details["speakers"]`` the speaker ids when file names carry them
        (``<speaker>_nohash_<n>.wav``, as in Speech Commands), else the file name.

    Examples
    --------
    >>> waves, labels, info = load_folder("my_words")  # doctest: +SKIP
    >>> waves.shape                                     # doctest: +SKIP
    (24, 16000)
    """
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) \
            or not 1000 <= sample_rate <= 192000:
        raise ValueError(f"sample_rate must be an integer number of Hz between 1000 and "
                         f"192000 (16000 for the keyword models); got {sample_rate!r}.")
    if labels_from not in ("folder", "filename"):
        raise ValueError(f"labels_from must be 'folder' (label = the folder holding each "
                         f"file) or 'filename' (label = start of the file name); got "
                         f"{labels_from!r}.")
    root = Path(path).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"the folder {str(root)!r} does not exist: record or copy your "
                                "WAV files there (one sub-folder per word), or check the path.")
    if not root.is_dir():
        raise NotADirectoryError(f"{str(root)!r} is a file, not a folder: pass the folder "
                                 "that holds the WAV files.")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() == ".wav"
                   and not p.name.startswith("."))
    if not files:
        raise ValueError(f"no .wav files in {str(root)!r} or its sub-folders: save the "
                         "recordings as WAV files, e.g. {root}/yes/yes_01.wav.".format(root=root))
    waves = np.zeros((len(files), int(sample_rate)), np.float32)
    labels, speakers, rates = [], [], []
    for i, file in enumerate(_core.progress(files, total=len(files), desc="reading WAVs")):
        audio, rate = read_wav(file)
        waves[i] = fit_length(resample(audio, rate, int(sample_rate)), int(sample_rate))
        rates.append(rate)
        labels.append(file.parent.name if labels_from == "folder" else _label_from_name(file))
        speakers.append(file.name.split("_nohash_")[0] if "_nohash_" in file.name
                        else file.stem)
    labels_arr = np.array(labels, dtype=str)
    info = DatasetInfo(
        name="folder", source="folder",
        description=(f"{len(files)} WAV recording(s) from {root}, converted to mono, resampled "
                     f"to {sample_rate} Hz and cut to one second (the loudest second)."),
        classes=sorted(set(labels)), cache_path=None,
        details={"files": np.array([str(f) for f in files], dtype=str),
                 "speakers": np.array(speakers, dtype=str),
                 "original_sample_rates": np.array(rates), "sample_rate": int(sample_rate),
                 "labels_from": labels_from})
    return waves, labels_arr, info


def available_voices(languages: Sequence[str] | None = None,
                     variants: Sequence[str] | None = None) -> list[str]:
    """Voice names ``"<language>+<variant>"`` for the offline source.

    Parameters
    ----------
    languages : sequence of str, optional
        espeak-ng languages (default ``ENGLISH_ACCENTS``).
    variants : sequence of str, optional
        Voice variants (default ``HUMAN_VARIANTS``; all of them:
        :func:`tinyml_lib.datasets._espeak.variants`).

    Examples
    --------
    >>> voices = available_voices(["en-us"], ["m1", "f2"])  # doctest: +SKIP
    >>> voices
    ['en-us+m1', 'en-us+f2']
    """
    return _resolve_voices(None if languages is None and variants is None else
                           [f"{lang}+{var}" for lang in (languages or ENGLISH_ACCENTS)
                            for var in (variants or HUMAN_VARIANTS)])


# --------------------------------------------------------------------------- validation

def _check_words(words) -> list[str]:
    if isinstance(words, str):
        raise ValueError(f"words must be a list of keywords such as ['yes', 'no'], not the "
                         f"single string {words!r}; write [{words!r}].")
    try:
        words = list(words)
    except TypeError:
        raise ValueError(f"words must be a list of keywords such as ['yes', 'no']; got "
                         f"{words!r}.") from None
    if not words:
        raise ValueError("words is empty: pass at least one keyword, e.g. ['yes'].")
    for word in words:
        if not isinstance(word, str) or not word.strip():
            raise ValueError(f"every keyword must be a non-empty string; got {word!r}.")
        if word in (SILENCE, UNKNOWN):
            raise ValueError(f"{word!r} is a reserved class name; ask for it with "
                             f"{word}=True instead of listing it in words.")
    if len(set(words)) != len(words):
        dupes = sorted({w for w in words if words.count(w) > 1})
        raise ValueError(f"words has duplicates ({', '.join(map(repr, dupes))}): list each "
                         "keyword once.")
    return words


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")
    return bool(value)


def _check_options(options: dict, defaults: dict, source: str) -> dict:
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"load_keywords() got option(s) {', '.join(map(repr, unknown))} that "
                        f"source {source!r} does not take; its options are: "
                        f"{', '.join(defaults)}.")
    opts = {**defaults, **options}
    if "snr_db" in defaults:
        snr = opts["snr_db"]
        try:
            low, high = (float(v) for v in snr)
        except (TypeError, ValueError):
            raise ValueError(f"snr_db must be a (low, high) pair of decibels, e.g. (5, 30); "
                             f"got {snr!r}.") from None
        if not (np.isfinite(low) and np.isfinite(high)) or low > high:
            raise ValueError(f"snr_db must be a (low, high) pair with low <= high, e.g. "
                             f"(5, 30); got {snr!r}.")
        opts["snr_db"] = (low, high)
        opts["noise"] = _check_bool("noise", opts["noise"])
        reverb = opts["reverb"]
        if isinstance(reverb, bool) or not isinstance(reverb, (int, float)) \
                or not 0 <= reverb <= 1:
            raise ValueError(f"reverb is the share of clips with room echo, a number from 0 "
                             f"to 1; got {reverb!r}.")
        opts["reverb"] = float(reverb)
        n_jobs = opts["n_jobs"]
        if n_jobs is not None:
            _core.check_count("n_jobs", n_jobs)
    if "split" in defaults and opts["split"] not in SPEECH_COMMANDS_SPLITS:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPEECH_COMMANDS_SPLITS))}; "
                         f"got {opts['split']!r}.")
    if opts["unknown_words"] is not None:
        opts["unknown_words"] = _check_words(opts["unknown_words"])
    return opts


def _resolve_voices(voices) -> list[str]:
    """Expand languages to ``language+variant`` names and check they exist."""
    from . import _espeak

    if voices is None:
        voices = list(ENGLISH_ACCENTS)
    if isinstance(voices, str):
        voices = [voices]
    try:
        voices = list(voices)
    except TypeError:
        raise ValueError(f"voices must be a list of espeak-ng voice names such as "
                         f"['en-us', 'en-gb-scotland+f2']; got {voices!r}.") from None
    if not voices:
        raise ValueError("voices is empty: pass at least one voice, e.g. ['en-us'].")
    langs = set(_espeak.languages())
    all_variants = {v.lower(): v for v in _espeak.variants()}
    out: list[str] = []
    for voice in voices:
        if not isinstance(voice, str):
            raise ValueError(f"every voice must be a string such as 'en-us+f2'; got {voice!r}.")
        lang, _, variant = voice.partition("+")
        if lang.lower() not in langs:
            raise ValueError(f"espeak-ng has no language {lang!r} (in voice {voice!r}); "
                             f"English accents are {', '.join(ENGLISH_ACCENTS)}.")
        if variant:
            if variant.lower() not in all_variants:
                raise ValueError(f"espeak-ng has no voice variant {variant!r} (in voice "
                                 f"{voice!r}); variants include {', '.join(HUMAN_VARIANTS[:13])}.")
            names = [f"{lang.lower()}+{all_variants[variant.lower()]}"]
        else:
            names = [f"{lang.lower()}+{v}" for v in HUMAN_VARIANTS if v.lower() in all_variants]
        out.extend(n for n in names if n not in out)
    return out


# --------------------------------------------------------------------------- audio helpers

def read_wav(path) -> tuple[np.ndarray, int]:
    """Read a WAV file as mono float32 in [-1, 1]; returns ``(samples, sample_rate)``."""
    from scipy.io import wavfile

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)
            rate, data = wavfile.read(path)
    except (ValueError, OSError, EOFError, IndexError, TypeError) as exc:
        raise ValueError(f"cannot read {str(path)!r} as a WAV file ({exc}); re-save it as "
                         "PCM WAV (e.g. 16-bit, mono) or remove it.") from exc
    data = np.asarray(data)
    if data.ndim == 2:
        data = data.astype(np.float64).mean(axis=1) if data.dtype.kind == "f" else data
    if data.dtype == np.uint8:
        audio = (data.astype(np.float32) - 128.0) / 128.0
    elif data.dtype.kind in "iu":
        scale = float(2 ** (8 * data.dtype.itemsize - 1))
        audio = data.astype(np.float64) / scale
    else:
        audio = data.astype(np.float64)
    if audio.ndim == 2:  # integer multi-channel: average after scaling
        audio = audio.mean(axis=1)
    if audio.size == 0:
        raise ValueError(f"{str(path)!r} holds no audio (0 samples): record it again or "
                         "remove it.")
    if not np.all(np.isfinite(audio)):
        raise ValueError(f"{str(path)!r} contains NaN or infinite samples: re-save it.")
    return np.clip(audio, -1.0, 1.0).astype(np.float32), int(rate)


def resample(audio: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample ``audio`` from ``rate`` to ``target`` Hz.

    The polyphase method and filter of ``scipy.signal.resample_poly`` (a
    Kaiser-windowed sinc, 10 zero crossings per side, zero delay), in NumPy:
    synthesis workers then start without importing scipy.signal.
    """
    audio = np.asarray(audio, np.float64)
    if rate == target:
        return audio.astype(np.float32)
    from math import gcd

    g = gcd(int(rate), int(target))
    up, down = int(target) // g, int(rate) // g
    first, table, pad = _polyphase(up, down)
    n_out = -(-audio.size * up // down)
    # output m is the up-sampled, filtered signal at position m * down:
    # y[m] = up * sum_i x[i] * taps[m * down - i * up + half]; the taps repeat every `up` outputs
    m = np.arange(n_out)
    phase = m % up
    start = first[phase] + (m // up) * down + pad
    padded = np.concatenate([np.zeros(pad), audio, np.zeros(pad + table.shape[1])])
    windows = padded[start[:, None] + np.arange(table.shape[1])]
    return (up * np.einsum("ij,ij->i", windows, table[phase])).astype(np.float32)


_filters: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, int]] = {}


def _polyphase(up: int, down: int):
    """Per output phase: first input index, the taps (x up), and the zero padding needed.

    The filter is scipy's ``firwin(20 * r + 1, 1 / r, window=("kaiser", 5.0))``
    with r = max(up, down), the one ``resample_poly`` uses.
    """
    if (up, down) not in _filters:
        rate = max(up, down)
        n = 20 * rate + 1
        half = (n - 1) // 2
        k = np.arange(n) - half
        taps = np.sinc(k / rate) / rate * np.kaiser(n, 5.0)
        taps /= taps.sum()
        pos = np.arange(up) * down
        first = -((half - pos) // up)  # ceil((pos - half) / up)
        width = 2 * half // up + 2
        tap = pos[:, None] - (first[:, None] + np.arange(width)) * up + half
        table = np.where((tap >= 0) & (tap <= 2 * half), taps[np.clip(tap, 0, 2 * half)], 0.0)
        _filters[(up, down)] = (first, table, int(max(0, -first.min())))
    return _filters[(up, down)]


def fit_length(audio: np.ndarray, length: int = CLIP_SAMPLES) -> np.ndarray:
    """Cut ``audio`` to its loudest ``length`` samples (centred on the sound), or
    centre and zero-pad it when shorter."""
    audio = np.asarray(audio, np.float32)
    if audio.size > length:
        power = audio.astype(np.float64) ** 2
        energy = np.concatenate([[0.0], np.cumsum(power)])
        start = int(np.argmax(energy[length:] - energy[:-length]))
        # centre the window on the sound's centre of energy within the loudest second
        window = power[start:start + length]
        if window.sum() > 0:
            centre = start + float(np.dot(np.arange(length), window) / window.sum())
            start = int(np.clip(round(centre - length / 2), 0, audio.size - length))
        return audio[start:start + length].copy()
    out = np.zeros(length, np.float32)
    left = (length - audio.size) // 2
    out[left:left + audio.size] = audio
    return out


def _label_from_name(file: Path) -> str:
    label = re.split(r"[_\-\s.]", file.stem, maxsplit=1)[0].rstrip("0123456789")
    if not label:
        raise ValueError(f"cannot read a label from the file name {file.name!r}: name files "
                         "like 'yes_01.wav', or use labels_from='folder'.")
    return label


# --------------------------------------------------------------------------- offline source

def _plan(words, n_per_word, seed, silence, unknown, voices, unknown_words, opts):
    """Every clip's settings, drawn from ``seed`` (cheap; the audio is rendered later)."""
    rng = np.random.default_rng(seed)
    rows: list[dict] = []

    def spoken(label: str, text_choices: Sequence[str]) -> None:
        for _ in range(n_per_word):
            rows.append({
                "label": label, "text": str(text_choices[rng.integers(len(text_choices))]),
                "voice": voices[rng.integers(len(voices))],
                "rate": int(rng.integers(_RATE_WPM[0], _RATE_WPM[1] + 1)),
                "pitch": int(rng.integers(_PITCH[0], _PITCH[1] + 1)),
                "pitch_range": int(rng.integers(_PITCH_RANGE[0], _PITCH_RANGE[1] + 1)),
                "peak_db": float(rng.uniform(*_PEAK_DB)),
                "shift": float(rng.uniform()),
                "reverb": bool(rng.uniform() < opts["reverb"]),
                "highpass": float(rng.uniform(50, 300)), "lowpass": float(rng.uniform(3500, 7800)),
                "noise": str(rng.choice(NOISE_KINDS)) if opts["noise"] else "none",
                "snr_db": float(rng.uniform(*opts["snr_db"])) if opts["noise"] else np.inf,
                "engine_seed": int(rng.integers(2 ** 31)),
            })

    if silence:
        for _ in range(n_per_word):
            rows.append({"label": SILENCE, "text": "", "voice": "", "rate": 0, "pitch": 0,
                         "pitch_range": 0, "peak_db": float(rng.uniform(*_SILENCE_DB)),
                         "shift": 0.0, "reverb": False, "highpass": 0.0, "lowpass": 0.0,
                         "noise": str(rng.choice(NOISE_KINDS)), "snr_db": -np.inf})
    if unknown:
        spoken(UNKNOWN, unknown_words)
    for word in words:
        spoken(word, [word])
    for i, row in enumerate(rows):
        row["index"] = i
    return rows


def _render_chunk(rows: list[dict], seed: int) -> np.ndarray:
    """Render clips (runs in worker processes too: module-level and picklable)."""
    return np.stack([_render(row, seed) for row in rows]) if rows else \
        np.zeros((0, CLIP_SAMPLES), np.float32)


def _render(row: dict, seed: int) -> np.ndarray:
    from . import _espeak

    rng = np.random.default_rng([seed, row["index"]])
    if row["label"] == SILENCE:
        noise = _noise(row["noise"], rng)
        return _scale_rms(noise, row["peak_db"]).astype(np.float32)
    raw, rate = _espeak.synthesize(row["text"], voice=row["voice"], rate=row["rate"],
                                   pitch=row["pitch"], pitch_range=row["pitch_range"],
                                   volume=50, seed=row["engine_seed"])
    speech = _trim(raw.astype(np.float64) / 32768.0)
    speech = resample(speech, rate, SAMPLE_RATE).astype(np.float64)
    if row["reverb"]:
        speech = _reverberate(speech, rng)
    speech = _microphone(speech, row["highpass"], row["lowpass"])
    if speech.size > CLIP_SAMPLES:
        speech = fit_length(speech, CLIP_SAMPLES).astype(np.float64)
    peak = np.max(np.abs(speech)) or 1.0
    speech = speech / peak * 10 ** (row["peak_db"] / 20)
    clip = np.zeros(CLIP_SAMPLES)
    start = int(round(row["shift"] * (CLIP_SAMPLES - speech.size)))
    clip[start:start + speech.size] = speech
    if row["noise"] != "none":
        speech_power = np.mean(speech ** 2)
        noise = _noise(row["noise"], rng)
        noise *= np.sqrt(speech_power / (np.mean(noise ** 2) + 1e-20)
                         / 10 ** (row["snr_db"] / 10))
        clip += noise
    return np.clip(clip, -1.0, 1.0).astype(np.float32)


def _trim(x: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.nonzero(np.abs(x) > threshold * (np.max(np.abs(x)) or 1.0))[0]
    return x[loud[0]:loud[-1] + 1] if loud.size else x


def _fft_convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = x.size + h.size - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[:n]


def _band_gain(freqs: np.ndarray, low: float, high: float) -> np.ndarray:
    """Magnitude response of 2nd-order Butterworth high-pass (``low``) and low-pass (``high``)."""
    f = np.maximum(freqs, 1e-6)
    return 1 / np.sqrt(1 + (low / f) ** 4) / np.sqrt(1 + (f / high) ** 4)


def _band_filter(x: np.ndarray, low: float, high: float) -> np.ndarray:
    """Zero-phase band-limiting in the frequency domain (padded: no wrap-around)."""
    size = 1 << (x.size + 2048 - 1).bit_length()
    spectrum = np.fft.rfft(x, size) * _band_gain(np.fft.rfftfreq(size, 1 / SAMPLE_RATE), low, high)
    return np.fft.irfft(spectrum, size)[: x.size]


def _reverberate(x: np.ndarray, rng) -> np.ndarray:
    """Convolve with a synthetic room response (exponentially decaying noise)."""
    rt60 = rng.uniform(0.15, 0.6)
    n = int(rt60 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0 / rng.uniform(0.3, 1.0)  # direct sound vs. echo
    wet = _fft_convolve(x, ir)[: x.size + n // 2]
    return wet / (np.max(np.abs(wet)) or 1.0)


def _microphone(x: np.ndarray, highpass: float, lowpass: float) -> np.ndarray:
    """A microphone / channel colour: band-limit between ``highpass`` and ``lowpass`` Hz."""
    return _band_filter(x, highpass, lowpass)


def _scale_rms(x: np.ndarray, db: float) -> np.ndarray:
    return x * (10 ** (db / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-20))


def _coloured(rng, exponent: float, n: int = CLIP_SAMPLES) -> np.ndarray:
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n)
    freqs[0] = freqs[1]
    return np.fft.irfft(spectrum / freqs ** (exponent / 2), n)


def _noise(kind: str, rng) -> np.ndarray:
    """One second of background noise of ``kind`` (unit-free; scaled by the caller)."""
    n = CLIP_SAMPLES
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _coloured(rng, 1.0)
    elif kind == "brown":
        x = _coloured(rng, 2.0)
    elif kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        f0 = rng.choice([50.0, 60.0])
        x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3))
                for k in range(1, 9))
        x = x + 0.05 * rng.standard_normal(n)
    elif kind == "band":  # fans, engines, running water
        low = rng.uniform(80, 1500)
        x = _band_filter(rng.standard_normal(n), low, low * rng.uniform(1.5, 4.0))
    elif kind == "babble":
        x = _babble(rng)
    else:  # pragma: no cover - kinds come from NOISE_KINDS
        raise ValueError(f"unknown noise kind {kind!r}")
    return x - x.mean()


_babble_bank: list[np.ndarray] = []


def _babble(rng) -> np.ndarray:
    """Several far-away talkers: words from a fixed bank, at random times and levels."""
    from . import _espeak

    if not _babble_bank:
        bank_rng = np.random.default_rng(20240601)  # fixed: the same bank in every process
        voices = available_voices()
        for word in _BABBLE_WORDS:
            raw, rate = _espeak.synthesize(
                word, voice=voices[bank_rng.integers(len(voices))],
                rate=int(bank_rng.integers(130, 220)), pitch=int(bank_rng.integers(20, 80)),
                volume=50, seed=int(bank_rng.integers(2 ** 31)))
            x = resample(_trim(raw / 32768.0), rate, SAMPLE_RATE).astype(np.float64)
            _babble_bank.append(x / (np.max(np.abs(x)) or 1.0))
    out = np.zeros(CLIP_SAMPLES)
    for _ in range(int(rng.integers(3, 7))):  # talkers
        pos = int(rng.integers(-8000, 4000))
        gain = rng.uniform(0.3, 1.0)
        while pos < CLIP_SAMPLES:
            word = _babble_bank[rng.integers(len(_babble_bank))]
            a, b = max(pos, 0), min(pos + word.size, CLIP_SAMPLES)
            if b > a:
                out[a:b] += gain * word[a - pos:b - pos]
            pos += word.size + int(rng.integers(800, 4000))
    return out


def _workers(n_jobs: int | None, n_clips: int) -> int:
    """Processes to use: each new one pays ~2 s of imports, worth it for thousands of clips."""
    if n_jobs is None:
        if n_clips < _PARALLEL_MIN_CLIPS:
            return 1
        try:
            n_jobs = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - macOS, Windows
            n_jobs = os.cpu_count() or 1
    return max(1, min(n_jobs, n_clips))


def _render_all(rows: list[dict], seed: int, n_jobs: int | None) -> np.ndarray:
    workers = _workers(n_jobs, len(rows))
    bar = _core.progress(None, total=len(rows), desc="synthesizing keywords")
    try:
        if workers == 1:
            out = np.zeros((len(rows), CLIP_SAMPLES), np.float32)
            for start in range(0, len(rows), 50):
                out[start:start + 50] = _render_chunk(rows[start:start + 50], seed)
                bar.update(len(rows[start:start + 50]))
            return out
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        size = max(1, min(100, -(-len(rows) // (workers * 4))))
        chunks = [rows[i:i + size] for i in range(0, len(rows), size)]
        parts: list[np.ndarray] = []
        try:
            # "spawn": safe even when the notebook already loaded TensorFlow (threads + fork hang)
            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(workers, mp_context=context) as ex:
                for chunk, part in zip(chunks, ex.map(_render_chunk, chunks,
                                                      [seed] * len(chunks)), strict=True):
                    parts.append(part)
                    bar.update(len(chunk))
        except BrokenProcessPool:
            # e.g. a script without ``if __name__ == "__main__":`` cannot spawn workers
            warnings.warn("could not start worker processes (in a script, call load_keywords "
                          "under `if __name__ == '__main__':`); synthesizing in this process.",
                          RuntimeWarning, stacklevel=3)
            parts += [_render_chunk(chunk, seed) for chunk in chunks[len(parts):]]
        return np.concatenate(parts)
    finally:
        bar.close()


def _load_offline(words, n_per_word, seed, silence, unknown, classes, opts):
    from . import _espeak

    voices = _resolve_voices(opts["voices"])
    unknown_words = [w for w in (opts["unknown_words"] or DEFAULT_UNKNOWN_WORDS)
                     if w not in words]
    if unknown and not unknown_words:
        raise ValueError("unknown=True needs words that are not keywords: every word in "
                         "unknown_words is also in words.")
    settings = {
        "version": GENERATOR_VERSION, "engine": _espeak.engine_version(), "words": words,
        "n_per_word": n_per_word, "seed": seed, "silence": silence, "unknown": unknown,
        "voices": voices, "snr_db": list(opts["snr_db"]), "noise": opts["noise"],
        "reverb": opts["reverb"], "unknown_words": unknown_words if unknown else None,
    }
    rows = _plan(words, n_per_word, seed, silence, unknown, voices, unknown_words, opts)

    def build() -> dict[str, np.ndarray]:
        arrays = {"waves": _render_all(rows, seed, opts["n_jobs"])}
        arrays.update(_plan_arrays(rows))
        return arrays

    arrays, path, hit = _core.cached_arrays("keywords", settings, build)
    speakers = np.array([row["voice"] or f"{SILENCE}-{row['index']}" for row in rows], dtype=str)
    details = {
        "speakers": speakers, "texts": arrays["texts"], "noise": arrays["noise"],
        "snr_db": arrays["snr_db"], "rate_wpm": arrays["rate"], "pitch": arrays["pitch"],
        "settings": settings, "cache_hit": hit, "engine": "espeak-ng (espeakng-loader "
        f"{settings['engine']})",
    }
    info = DatasetInfo(
        name="keywords", source=_core.OFFLINE,
        description=(f"{len(rows)} one-second clips synthesized by espeak-ng with "
                     f"{len(voices)} voices ({len({v.split('+')[0] for v in voices})} "
                     "accents/languages), varied in rate, pitch, loudness, timing, microphone "
                     "and room, with background noise"
                     + (f" at {opts['snr_db'][0]:g}-{opts['snr_db'][1]:g} dB SNR."
                        if opts["noise"] else " only in the silence class.")),
        classes=classes, cache_path=path, details=details)
    return arrays["waves"], arrays["labels"], info


def _plan_arrays(rows: list[dict]) -> dict[str, np.ndarray]:
    return {
        "labels": np.array([r["label"] for r in rows], dtype=str),
        "texts": np.array([r["text"] for r in rows], dtype=str),
        "noise": np.array([r["noise"] for r in rows], dtype=str),
        "snr_db": np.array([r["snr_db"] for r in rows], dtype=np.float32),
        "rate": np.array([r["rate"] for r in rows], dtype=np.int16),
        "pitch": np.array([r["pitch"] for r in rows], dtype=np.int16),
    }


# --------------------------------------------------------------------------- Speech Commands

def _speech_commands_root(url: str, sha256: str) -> Path:
    """Download (once) and extract the archive; returns the extracted folder."""
    parent = _core.cache_dir("speech_commands")
    root = parent / f"v0.02-{sha256[:12]}"
    if (root / ".complete").exists():
        return root
    archive = _core.download(url, sha256, filename=f"{sha256[:12]}-{url.rsplit('/', 1)[-1]}",
                             folder="downloads")
    tmp = parent / f".{root.name}.extracting-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in _core.progress(members, total=len(members),
                                         desc="extracting Speech Commands"):
                name = member.name
                while name.startswith("./"):
                    name = name[2:]
                if not (member.isfile() or member.isdir()):
                    continue
                if name.startswith("/") or ".." in Path(name).parts:
                    raise ValueError(f"refusing unsafe path {member.name!r} in {archive.name}")
                target = tmp / name
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
        (tmp / ".complete").write_text(sha256)
        if root.exists():
            shutil.rmtree(root)
        os.replace(tmp, root)
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ValueError(f"could not unpack {archive} ({exc}); delete it and try again.") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    archive.unlink(missing_ok=True)  # 2.3 GB: the extracted folder is what we keep
    return root


def _read_list(root: Path, name: str) -> set[str]:
    path = root / name
    return set(path.read_text().split()) if path.exists() else set()


def _load_speech_commands(words, n_per_word, seed, silence, unknown, classes, opts):
    not_there = [w for w in words if w not in SPEECH_COMMANDS_WORDS]
    if not_there:
        raise ValueError(f"Speech Commands has no recordings of {', '.join(map(repr, not_there))}; "
                         f"its words are: {', '.join(SPEECH_COMMANDS_WORDS)}. Use "
                         "source='offline' to synthesize any word.")
    url = opts["url"] or SPEECH_COMMANDS_URL
    sha256 = (opts["sha256"] or SPEECH_COMMANDS_SHA256).lower()
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise ValueError(f"sha256 must be 64 hexadecimal digits; got {opts['sha256']!r}.")
    unknown_words = [w for w in (opts["unknown_words"] or SPEECH_COMMANDS_WORDS)
                     if w not in words]
    settings = {"dataset": "speech_commands_v0.02", "sha256": sha256, "words": words,
                "n_per_word": n_per_word, "seed": seed, "silence": silence, "unknown": unknown,
                "split": opts["split"], "unknown_words": unknown_words if unknown else None}
    # the arrays may be cached already: then the archive is not needed at all
    path = _core.cache_dir("keywords") / f"{_core.cache_key(**settings)}.npz"
    root = None if path.exists() else _speech_commands_root(url, sha256)

    def build() -> dict[str, np.ndarray]:
        return _build_speech_commands(root or _speech_commands_root(url, sha256), words,
                                      n_per_word, seed, silence, unknown, unknown_words,
                                      opts["split"])

    arrays, path, hit = _core.cached_arrays("keywords", settings, build)
    info = DatasetInfo(
        name="keywords", source="speech_commands",
        description=(f"{len(arrays['labels'])} one-second recordings from Google's Speech "
                     f"Commands v2 (split: {opts['split']}), many speakers and microphones; "
                     "silence clips are cut from its background-noise recordings. License: "
                     "CC BY 4.0."),
        classes=classes, cache_path=path,
        details={"speakers": arrays["speakers"], "files": arrays["files"], "settings": settings,
                 "url": url, "sha256": sha256, "cache_hit": hit})
    return arrays["waves"], arrays["labels"], info


def _build_speech_commands(root, words, n_per_word, seed, silence, unknown, unknown_words,
                           split) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    validation = _read_list(root, "validation_list.txt")
    testing = _read_list(root, "testing_list.txt")

    def in_split(rel: str) -> bool:
        if split == "all":
            return True
        if split == "validation":
            return rel in validation
        if split == "testing":
            return rel in testing
        return rel not in validation and rel not in testing

    def recordings(word: str) -> list[str]:
        folder = root / word
        if not folder.is_dir():
            return []
        names = (f"{word}/{p.name}" for p in sorted(folder.glob("*.wav")))
        return [rel for rel in names if in_split(rel)]

    chosen: list[tuple[str, str]] = []  # (label, relative path or noise spec)
    silence_rows: list[tuple[str, int, float]] = []
    if silence:
        noises = sorted((root / "_background_noise_").glob("*.wav"))
        if not noises:
            raise ValueError(f"{root} has no _background_noise_/*.wav files for the silence class.")
        lengths = [read_wav(p)[0].size for p in noises]
        for _ in range(n_per_word):
            k = int(rng.integers(len(noises)))
            start = int(rng.integers(max(lengths[k] - CLIP_SAMPLES, 0) + 1))
            silence_rows.append((noises[k].name, start, float(rng.uniform(0, 1))))
    if unknown:
        pool = [rel for w in unknown_words for rel in recordings(w)]
        if len(pool) < n_per_word:
            raise ValueError(f"only {len(pool)} 'unknown' recordings in split {split!r}; ask "
                             f"for at most n_per_word={len(pool)}.")
        chosen += [(UNKNOWN, pool[i]) for i in np.sort(rng.choice(len(pool), n_per_word,
                                                                  replace=False))]
    for word in words:
        files = recordings(word)
        if len(files) < n_per_word:
            raise ValueError(f"only {len(files)} recordings of {word!r} in split {split!r}; ask "
                             f"for at most n_per_word={len(files)}.")
        chosen += [(word, files[i]) for i in np.sort(rng.choice(len(files), n_per_word,
                                                                replace=False))]
    n = len(silence_rows) + len(chosen)
    waves = np.zeros((n, CLIP_SAMPLES), np.float32)
    labels, speakers, files = [], [], []
    cache: dict[str, np.ndarray] = {}
    items = [("s", r) for r in silence_rows] + [("w", c) for c in chosen]
    reading = _core.progress(items, total=n, desc="reading Speech Commands")
    for i, (kind, item) in enumerate(reading):
        if kind == "s":
            name, start, volume = item
            if name not in cache:
                audio, rate = read_wav(root / "_background_noise_" / name)
                cache[name] = resample(audio, rate, SAMPLE_RATE)
            clip = fit_length(cache[name][start:start + CLIP_SAMPLES]) * volume
            waves[i] = clip
            labels.append(SILENCE)
            speakers.append(f"noise-{Path(name).stem}")
            files.append(f"_background_noise_/{name}@{start}")
        else:
            label, rel = item
            audio, rate = read_wav(root / rel)
            waves[i] = fit_length(resample(audio, rate, SAMPLE_RATE))
            labels.append(label)
            speakers.append(Path(rel).name.split("_nohash_")[0])
            files.append(rel)
    return {"waves": waves, "labels": np.array(labels, dtype=str),
            "speakers": np.array(speakers, dtype=str), "files": np.array(files, dtype=str)}
