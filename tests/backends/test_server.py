"""The `server` backend against servers that misbehave: one that never answers, one that refuses."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from portalit import keys
from portalit.backends.base import request_timeout
from portalit.errors import PortalitError
from portalit.session import Client


@pytest.fixture
def silent_server():
    """Accepts connections on loopback, reads, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    listener.close()


def test_a_server_that_never_answers_is_an_error_after_portalit_timeout(silent_server, monkeypatch):
    monkeypatch.setenv("PORTALIT_TIMEOUT", "2")
    client = Client("server", api_base=silent_server)
    for call in (lambda: client.chat("Hi", max_tokens=2), lambda: client.embed("hi")):
        started = time.perf_counter()
        with pytest.raises(PortalitError, match="did not answer within 2.0 s .PORTALIT_TIMEOUT"):
            call()
        assert time.perf_counter() - started < 15


def test_portalit_timeout_must_be_a_positive_number(monkeypatch):
    monkeypatch.delenv("PORTALIT_TIMEOUT", raising=False)
    assert request_timeout() == 120.0
    monkeypatch.setenv("PORTALIT_TIMEOUT", "soon")
    with pytest.raises(PortalitError, match="PORTALIT_TIMEOUT='soon' must be a number of seconds"):
        request_timeout()
    monkeypatch.setenv("PORTALIT_TIMEOUT", "-1")
    with pytest.raises(PortalitError, match="PORTALIT_TIMEOUT"):
        Client("server", api_base="http://127.0.0.1:9/v1")


def test_keys_are_masked_whatever_holds_them(monkeypatch):
    monkeypatch.setenv("CLASS_THING", "plainlookingvalue123")  # a plain name: caught when named
    fake = "sk-" + "ant-api03-" + "abcdefghijk"  # built in pieces: not a key, and no scanner should think so
    text = f"failed: plainlookingvalue123 plk-abcdefghijklmnopqrstuvwx Bearer xyzxyzxyz123 {fake}"
    masked = keys.redact(text, "plainlookingvalue123")
    assert "plainlookingvalue123" not in masked and "ghijklmnop" not in masked and "xyzxyzxyz123" not in masked
    assert "abcdefghijk" not in masked and masked.startswith("failed: ***")
