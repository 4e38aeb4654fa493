import socket
import threading
import time

import pytest

from tinyml_lib import config


@pytest.fixture(autouse=True)
def clean_probe_cache():
    config._probe_cache.clear()
    yield
    config._probe_cache.clear()


def test_fast_mode_reads_the_environment(monkeypatch):
    monkeypatch.setenv("TINYML_FAST", "1")
    assert config.fast_mode() and config.FAST
    assert config.pick(fast=2, full=30) == 2
    monkeypatch.setenv("TINYML_FAST", "0")
    assert not config.fast_mode() and not config.FAST
    assert config.pick(fast=2, full=30) == 30
    monkeypatch.delenv("TINYML_FAST")
    assert not config.fast_mode()


@pytest.mark.parametrize("value", ["maybe", "2", "fast"])
def test_a_bad_value_says_what_to_set(monkeypatch, value):
    monkeypatch.setenv("TINYML_FAST", value)
    with pytest.raises(ValueError, match="TINYML_FAST.*set it to 1"):
        config.fast_mode()


def test_offline_flag_wins_over_the_probe(monkeypatch):
    monkeypatch.setenv("TINYML_OFFLINE", "yes")
    monkeypatch.setattr(config, "network_available", lambda *a, **k: pytest.fail("probed"))
    assert config.offline_mode() and config.OFFLINE
    monkeypatch.setenv("TINYML_OFFLINE", "0")
    assert not config.offline_mode()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_switches_on_when_the_network_is_unreachable(monkeypatch):
    monkeypatch.delenv("TINYML_OFFLINE", raising=False)
    monkeypatch.setenv("TINYML_PROBE", f"127.0.0.1:{_closed_port()}")
    assert config.offline_mode() is True


def test_online_when_the_probe_answers(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        monkeypatch.delenv("TINYML_OFFLINE", raising=False)
        monkeypatch.setenv("TINYML_PROBE", f"127.0.0.1:{server.getsockname()[1]}")
        assert config.offline_mode() is False
        assert "offline mode: off" in str(config.settings())
    finally:
        server.close()


def test_a_hanging_network_is_decided_quickly(monkeypatch):
    release = threading.Event()

    def hang(*args, **kwargs):  # like a DNS lookup that never answers
        release.wait(30)
        raise OSError("gave up")

    monkeypatch.setattr(config.socket, "create_connection", hang)
    start = time.monotonic()
    try:
        assert config.network_available("unreachable.invalid", 443, timeout=0.3) is False
        assert time.monotonic() - start < 1.0
        # cached: the second question costs nothing
        start = time.monotonic()
        assert config.network_available("unreachable.invalid", 443, timeout=0.3) is False
        assert time.monotonic() - start < 0.05
    finally:
        release.set()


def test_bad_probe_setting(monkeypatch):
    monkeypatch.setenv("TINYML_PROBE", "no-port-here")
    with pytest.raises(ValueError, match="HOST:PORT"):
        config.network_available()
