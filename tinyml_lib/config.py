"""Run-time switches shared by every notebook, read in one place.

``TINYML_FAST=1``
    Small data and few epochs, so that every notebook runs end to end in well
    under a minute on two CPU cores. Results must still be meaningful.
``TINYML_OFFLINE=1``
    Never touch the network; every dataset comes from its offline source.
    Offline mode also switches on by itself when the network is unreachable
    (decided in about a second at most, and only once per process).

Examples
--------
>>> from tinyml_lib import config
>>> epochs = config.pick(fast=2, full=30)   # 2 when TINYML_FAST=1
>>> if config.offline_mode():               # doctest: +SKIP
...     print("using the offline datasets")
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass

FAST_ENV = "TINYML_FAST"
OFFLINE_ENV = "TINYML_OFFLINE"
PROBE_ENV = "TINYML_PROBE"

#: Where the real datasets are hosted; reaching it means "online".
DEFAULT_PROBE = ("storage.googleapis.com", 443)
PROBE_TIMEOUT = 1.0

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

_probe_cache: dict[tuple[str, int], bool] = {}
_probe_lock = threading.Lock()


def _flag(name: str) -> bool | None:
    """Read a boolean environment variable; ``None`` when it is not set."""
    raw = os.environ.get(name)
    if raw is None:
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{name}={raw!r} is not a yes/no value: set it to 1 (on) or 0 (off)."
    )


def fast_mode() -> bool:
    """True when ``TINYML_FAST`` asks for small, quick runs."""
    return bool(_flag(FAST_ENV))


def _probe_target() -> tuple[str, int]:
    raw = os.environ.get(PROBE_ENV)
    if not raw:
        return DEFAULT_PROBE
    host, sep, port = raw.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(
            f"{PROBE_ENV}={raw!r} must look like HOST:PORT, e.g. example.org:443."
        )
    return host, int(port)


def network_available(host: str | None = None, port: int | None = None,
                      timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` s.

    Name resolution and the connection both run in a daemon thread, so a
    hanging DNS lookup cannot stall a notebook: after ``timeout`` seconds the
    answer is "no network". The answer is cached for the process.
    """
    if host is None or port is None:
        default_host, default_port = _probe_target()
        host = host or default_host
        port = port or default_port
    key = (host, int(port))
    with _probe_lock:
        if key in _probe_cache:
            return _probe_cache[key]

    result: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection(key, timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=attempt, name="tinyml-network-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    answer = bool(result and result[0])
    with _probe_lock:
        _probe_cache[key] = answer
    return answer


def offline_mode() -> bool:
    """True when ``TINYML_OFFLINE`` is set, or when the network is unreachable.

    ``TINYML_OFFLINE=0`` forces online mode (downloads will be attempted).
    """
    flag = _flag(OFFLINE_ENV)
    if flag is not None:
        return flag
    return not network_available()


def pick(fast, full):
    """Return ``fast`` in fast mode and ``full`` otherwise.

    >>> pick(fast=2, full=30) in (2, 30)
    True
    """
    return fast if fast_mode() else full


@dataclass(frozen=True)
class Settings:
    fast: bool
    offline: bool

    def __str__(self) -> str:
        return (f"fast mode: {'on' if self.fast else 'off'}, "
                f"offline mode: {'on' if self.offline else 'off'}")


def settings() -> Settings:
    """Both switches at once, e.g. to print at the top of a notebook."""
    return Settings(fast=fast_mode(), offline=offline_mode())


def __getattr__(name):
    # ``config.FAST`` / ``config.OFFLINE`` read the environment at each access.
    if name == "FAST":
        return fast_mode()
    if name == "OFFLINE":
        return offline_mode()
    raise AttributeError(f"module 'tinyml_lib.config' has no attribute {name!r}")
