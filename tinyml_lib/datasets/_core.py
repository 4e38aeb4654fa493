"""What every dataset loader shares: sources, the cache, downloads, progress, and ``DatasetInfo``.

Every loader takes ``source="auto" | "offline" | <real source>`` and a ``seed``:

- ``"offline"`` builds the data here, from generators or files shipped with the
  package; it never touches the network.
- a real source (e.g. ``"speech_commands"``) downloads the real dataset once,
  checks its SHA-256, and caches it.
- ``"auto"`` is the real source when online and ``"offline"`` when
  :func:`tinyml_lib.config.offline_mode` says so (``TINYML_OFFLINE=1``, or no network).

What a loader builds or downloads is cached under :func:`cache_dir`
(``$TINYML_CACHE_DIR``, default ``~/.cache/tinyml``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import config

CACHE_ENV = "TINYML_CACHE_DIR"
OFFLINE = "offline"
AUTO = "auto"


@dataclass
class DatasetInfo:
    """Where a dataset came from and how it was made.

    Attributes
    ----------
    name : str
        The dataset, e.g. ``"keywords"``.
    source : str
        The source actually used: ``"offline"`` or the real source's name.
    description : str
        One or two sentences a learner can read: what the data is and how it was made.
    classes : list of str
        Class names in label order (empty for unlabelled or regression data).
    cache_path : Path or None
        The cached file the arrays came from.
    details : dict
        Anything else worth knowing (generator settings, URL, checksum, per-example metadata).
    """

    name: str
    source: str
    description: str
    classes: list[str] = field(default_factory=list)
    cache_path: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        text = f"{self.name} ({self.source}): {self.description}"
        if self.classes:
            text += f" Classes: {', '.join(self.classes)}."
        return text


def cache_dir(*parts: str) -> Path:
    """The cache folder (created if needed): ``$TINYML_CACHE_DIR`` or ``~/.cache/tinyml``."""
    root = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".cache", "tinyml")
    path = Path(root, *parts)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create the dataset cache {path} ({exc.strerror}); set "
                      f"{CACHE_ENV} to a writable folder") from exc
    return path


def resolve_source(source: str, real_sources: Sequence[str]) -> str:
    """Turn ``source`` into ``"offline"`` or one of ``real_sources``, or explain what is allowed."""
    allowed = [AUTO, OFFLINE, *real_sources]
    if source not in allowed:
        raise ValueError(f"source={source!r} is not one of {', '.join(map(repr, allowed))}.")
    if source == AUTO:
        if config.offline_mode() or not real_sources:
            return OFFLINE
        return real_sources[0]
    if source != OFFLINE and config.offline_mode() and os.environ.get(config.OFFLINE_ENV):
        raise RuntimeError(f"source={source!r} needs the network, but TINYML_OFFLINE is set: "
                           "use source='offline' (or 'auto'), or unset TINYML_OFFLINE.")
    return source


def cache_key(**settings: Any) -> str:
    """A short stable hash of the settings that decide a dataset's content."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place.

    A crash half-way never leaves a half-written file at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def cached_arrays(name: str, settings: dict[str, Any], build: Callable[[], dict[str, Any]]):
    """Load the arrays for ``settings`` from the cache, or ``build()`` and cache them.

    Returns ``(arrays, path, hit)``: a dict of NumPy arrays, the ``.npz`` path, and
    whether it came from the cache.
    """
    import numpy as np

    path = cache_dir(name) / f"{cache_key(**settings)}.npz"
    if path.exists():
        try:
            with np.load(path, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}, path, True
        except (OSError, ValueError, EOFError, zipfile.BadZipFile):  # damaged: rebuilt, not trusted
            path.unlink(missing_ok=True)
    arrays = build()

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)

    atomic_write(path, write)
    return arrays, path, False


def download(url: str, sha256: str, filename: str | None = None, folder: str = "downloads") -> Path:
    """Download ``url`` once into the cache, verified against ``sha256``.

    Uses pooch (progress bar, resumable cache). A checksum mismatch raises a
    ``ValueError`` that says so, and leaves nothing behind in the cache.
    """
    if config.offline_mode() and os.environ.get(config.OFFLINE_ENV):
        raise RuntimeError(f"cannot download {url}: TINYML_OFFLINE is set. Use source='offline'.")
    import pooch

    target = cache_dir(folder)
    fname = filename or url.rstrip("/").rsplit("/", 1)[-1]
    try:
        path = pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=fname, path=target,
                              progressbar=_want_progress())
    except ValueError as exc:
        (target / fname).unlink(missing_ok=True)
        raise ValueError(f"the download of {url} is corrupted (SHA-256 mismatch); nothing was "
                         "kept in the cache. Try again; if it persists, the file on the server "
                         f"changed. ({exc})") from exc
    except Exception as exc:
        (target / fname).unlink(missing_ok=True)
        raise ConnectionError(f"could not download {url}: {exc}. Check the connection or use "
                              "source='offline'.") from exc
    return Path(path)


def _want_progress() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:  # pragma: no cover
        return False
    return True


def progress(iterable: Iterable, total: int | None = None, desc: str = "", min_items: int = 50):
    """A tqdm progress bar over ``iterable`` when there are at least ``min_items`` items."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, leave=False,
                disable=(total is not None and total < min_items) or None)


def check_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int,)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}.")
    return int(seed)


def check_count(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}.")
    return int(value)
