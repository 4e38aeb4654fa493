"""A small ctypes binding to the espeak-ng speech synthesizer shipped by ``espeakng-loader``.

Only what the keyword generator needs: pick a voice, set rate / pitch / pitch
range, and synthesize a word into a NumPy array. The C library keeps global
state and is not thread-safe, so every call goes through one lock per process;
generate in several *processes* to use several cores.

Examples
--------
>>> from tinyml_lib.datasets import _espeak
>>> audio, rate = _espeak.synthesize("yes", voice="en-us+m3")  # doctest: +SKIP
>>> rate, audio.dtype                                           # doctest: +SKIP
(22050, dtype('int16'))
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

# espeak_AUDIO_OUTPUT and espeak_PARAMETER values from speak_lib.h
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_espeakRATE, _espeakVOLUME, _espeakPITCH, _espeakRANGE = 1, 2, 3, 4
_espeakCHARS_UTF8 = 1
_POS_CHARACTER = 1
_EE_OK = 0

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.c_void_p)

_lock = threading.Lock()
_state: dict = {}


def _missing_engine(exc: Exception) -> RuntimeError:
    return RuntimeError(
        "the offline keyword generator needs the espeak-ng engine from the "
        "'espeakng-loader' package, which could not be loaded "
        f"({exc}). Install it with: pip install espeakng-loader")


def data_path() -> Path:
    """The ``espeak-ng-data`` folder (voices, languages, dictionaries)."""
    try:
        import espeakng_loader
    except ImportError as exc:
        raise _missing_engine(exc) from exc
    return Path(espeakng_loader.get_data_path())


def engine_version() -> str:
    """The version of the ``espeakng-loader`` package (part of the cache key)."""
    from importlib import metadata

    try:
        return metadata.version("espeakng-loader")
    except metadata.PackageNotFoundError:  # pragma: no cover - a source checkout
        return "unknown"


def _library_file() -> str:
    """A private copy of the library, so that unloading it really resets its state.

    espeak-ng keeps hidden state between calls (pitch flutter phase, noise
    generators), so the same call twice gives slightly different samples.
    Reloading a fresh copy before each call makes every clip depend only on
    its own arguments, whatever was synthesized before, in any process.
    """
    if "file" in _state:
        return _state["file"]
    try:
        import espeakng_loader

        source = espeakng_loader.get_library_path()
    except ImportError as exc:
        raise _missing_engine(exc) from exc
    try:
        folder = tempfile.mkdtemp(prefix="tinyml-espeak-")
        target = os.path.join(folder, "libespeak-ng.so" if os.name != "nt" else "espeak-ng.dll")
        shutil.copy(source, target)
        atexit.register(shutil.rmtree, folder, True)
    except OSError:  # pragma: no cover - no writable temp folder: share the original
        target = source
    _state["file"] = target
    return target


def _engine(fresh: bool = False):
    """Load and initialise the library (again, from scratch, when ``fresh``)."""
    if "lib" in _state:
        if not fresh:
            return _state
        _unload()
    try:
        import espeakng_loader

        lib = ctypes.CDLL(_library_file())
    except (ImportError, OSError) as exc:
        raise _missing_engine(exc) from exc
    data = Path(espeakng_loader.get_data_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetVoiceByName.restype = ctypes.c_int
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_SetParameter.restype = ctypes.c_int
    lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                 ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                 ctypes.c_void_p]
    lib.espeak_Synth.restype = ctypes.c_int
    lib.espeak_SetSynthCallback.argtypes = [_CALLBACK]
    lib.espeak_SetSynthCallback.restype = None
    lib.espeak_Terminate.restype = ctypes.c_int
    seedable = hasattr(lib, "espeak_ng_SetRandSeed")  # espeak-ng >= 1.51
    if seedable:
        lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        lib.espeak_ng_SetRandSeed.restype = None
    # the path is the folder that *contains* espeak-ng-data
    rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, os.fsencode(data.parent), 0)
    if rate <= 0:
        raise RuntimeError(f"espeak-ng could not start with its data in {data} (code {rate}).")
    chunks: list[np.ndarray] = []

    def collect(wav, count, _events):
        if count > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(count,)).copy())
        return 0  # 0 = go on

    callback = _CALLBACK(collect)
    lib.espeak_SetSynthCallback(callback)
    _state.update(lib=lib, rate=rate, chunks=chunks, callback=callback, seedable=seedable,
                  srand=_c_srand())
    return _state


def _c_srand():
    """The C library's ``srand`` (the one espeak-ng's ``rand()`` uses), or None."""
    try:
        libc = ctypes.CDLL(None) if os.name != "nt" else ctypes.cdll.msvcrt
        srand = libc.srand
    except (OSError, AttributeError):  # pragma: no cover
        return None
    srand.argtypes = [ctypes.c_uint]
    srand.restype = None
    return srand


def _unload() -> None:
    import _ctypes

    lib = _state.pop("lib")
    lib.espeak_Terminate()
    dlclose = getattr(_ctypes, "dlclose", None) or getattr(_ctypes, "FreeLibrary", None)
    if dlclose is not None:
        dlclose(lib._handle)


def sample_rate() -> int:
    """The engine's output rate in Hz (22,050 for espeak-ng)."""
    return _engine()["rate"]


def synthesize(text: str, voice: str = "en", rate: int = 175, pitch: int = 50,
               pitch_range: int = 50, volume: int = 100, seed: int = 0) -> tuple[np.ndarray, int]:
    """Speak ``text`` with ``voice`` and return ``(int16 samples, sample rate)``.

    The same arguments always give the same samples, in any process: the
    engine is reloaded before each call (about 1.5 ms) to clear its hidden
    state, and its random generator (breathy voices), otherwise seeded from
    the clock, is seeded with ``seed``.

    Parameters
    ----------
    text : str
        What to say (a word or a short phrase).
    voice : str
        An espeak-ng voice: a language such as ``"en-us"``, optionally with a
        variant, e.g. ``"en-us+f2"`` (see :func:`variants`).
    rate : int
        Speaking rate in words per minute (80 to 450).
    pitch, pitch_range : int
        Base pitch and pitch range, 0 to 100 (50 is the voice's normal).
    volume : int
        Amplitude, 0 to 200 (100 is normal).
    seed : int
        Seed of the engine's random generator (0 to 2**31 - 1).
    """
    with _lock:
        state = _engine(fresh=True)
        lib = state["lib"]
        if state["seedable"]:
            lib.espeak_ng_SetRandSeed(int(seed))
        if state["srand"] is not None:  # some voices also draw from the C library's rand()
            state["srand"](int(seed) & 0x7FFFFFFF)
        if lib.espeak_SetVoiceByName(voice.encode()) != _EE_OK:
            raise ValueError(f"espeak-ng has no voice {voice!r}; see "
                             "tinyml_lib.datasets.keywords.available_voices().")
        for param, value in ((_espeakRATE, rate), (_espeakPITCH, pitch),
                             (_espeakRANGE, pitch_range), (_espeakVOLUME, volume)):
            lib.espeak_SetParameter(param, int(value), 0)
        data = text.encode("utf-8") + b"\0"
        state["chunks"].clear()
        code = lib.espeak_Synth(data, len(data), 0, _POS_CHARACTER, 0, _espeakCHARS_UTF8,
                                None, None)
        if code != _EE_OK:
            raise RuntimeError(f"espeak-ng failed to synthesize {text!r} (code {code}).")
        chunks = list(state["chunks"])
        state["chunks"].clear()
    audio = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
    return audio.astype(np.int16, copy=False), state["rate"]


def languages() -> list[str]:
    """The language voices in the data folder, e.g. ``["af", ..., "en-us", ...]`` (lower case)."""
    root = data_path() / "lang"
    return sorted(p.name.lower() for p in root.rglob("*") if p.is_file())


def variants() -> list[str]:
    """The voice variants (``"m1"``, ``"f2"``, ``"klatt"``, ...) that can follow ``+``."""
    root = data_path() / "voices" / "!v"
    return sorted(p.name for p in root.iterdir() if p.is_file())
