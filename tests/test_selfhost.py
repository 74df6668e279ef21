"""selfhost: a real `portalit serve` child process, real concurrent requests, the real socket table."""
import urllib.request

import pytest

import portalit
from portalit import selfhost
from portalit.errors import PortalitError


@pytest.fixture
def llama_server():
    """The gateway's tests need llama-server (built by make setup): skipped, with why, without it."""
    from tests.gateway.conftest import needs_llama_server

    needs_llama_server()


@pytest.fixture(scope="module")
def served():
    server = selfhost.start_server()
    yield server
    server.stop()


def test_start_server_reports_a_loopback_url_that_answers(served):
    assert served.running()
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/v1")
    assert b"smollm2-135m" in urllib.request.urlopen(served.url + "/models", timeout=30).read()
    assert served.command[-6:-2] == ["--host", "127.0.0.1", "--port", "0"]


def test_concurrent_load_measures_every_request(served):
    client = portalit.Client("server", api_base=served.url)
    result = selfhost.concurrent_load(client, "Write a long story about a cat.", concurrency=2, max_tokens=6)
    assert len(result.latencies_s) == 2
    assert 2 <= result.completion_tokens <= 12
    assert result.wall_s >= max(result.latencies_s) * 0.9
    row = result.row()
    assert row["p50_s"] <= row["p95_s"] <= row["max_s"]
    assert row["tokens_per_s"] == pytest.approx(result.completion_tokens / result.wall_s, abs=0.051)


def test_more_requests_than_concurrency(served):
    client = portalit.Client("server", api_base=served.url)
    result = selfhost.concurrent_load(client, "Say hello.", concurrency=2, requests=3, max_tokens=3)
    assert len(result.latencies_s) == 3


def test_server_sockets_are_all_loopback_during_requests(served):
    client = portalit.Client("server", api_base=served.url)
    import os

    with selfhost.watch_sockets([served.pid, os.getpid()]) as seen:
        selfhost.concurrent_load(client, "Say hello.", concurrency=2, max_tokens=3)
    port = served.url.split(":")[2].split("/")[0]
    mine = [s for s in seen.sockets if s.pid == served.pid]
    assert any(s.status == "LISTEN" and s.local == f"127.0.0.1:{port}" for s in mine)
    assert seen.samples >= 2
    assert seen.leaving() == []
    assert any(line.startswith("127.0.0.1 ") and "POST /v1/chat/completions" in line for line in served.log())


def test_socket_leaving_machine_is_detected():
    assert selfhost.Socket(1, "tcp", "10.0.0.5:5000", "93.184.216.34:443", "ESTABLISHED").leaves_machine()
    assert selfhost.Socket(1, "tcp", "0.0.0.0:8000", "", "LISTEN").leaves_machine()  # listens on every interface
    assert not selfhost.Socket(1, "tcp", "127.0.0.1:8000", "127.0.0.1:5123", "ESTABLISHED").leaves_machine()
    assert not selfhost.Socket(1, "tcp", "::1:8000", "", "LISTEN").leaves_machine()
    found = [selfhost.Socket(2, "tcp", "127.0.0.1:1", "", "LISTEN"), selfhost.Socket(1, "udp", "0.0.0.0:5353", "", "NONE")]
    assert [s.pid for s in sorted(found)] == [1, 2]  # sockets sort, by process first


@pytest.mark.parametrize("address,expected", [("127.0.0.1", True), ("127.3.2.1", True), ("::1", True),
                                              ("[::1]", True), ("192.168.1.2", False), ("localhost", False)])
def test_is_loopback(address, expected):
    assert selfhost.is_loopback(address) is expected


def test_stop_ends_the_process():
    server = selfhost.start_server()
    server.stop()
    assert not server.running()
    assert "exited" in repr(server)


def test_a_bad_model_fails_with_the_servers_own_message():
    with pytest.raises(PortalitError, match="exited with code 2"):
        selfhost.start_server(model="no-such-model")


def test_concurrency_must_be_positive():
    with pytest.raises(PortalitError, match="concurrency"):
        selfhost.concurrent_load(None, "x", 0)


def test_start_gateway_keeps_keys_out_of_sight_and_reports_usage(llama_server):
    import os

    from portalit.session import Client

    gateway = selfhost.start_gateway(learners=("you", "classmate"), rpm=5)
    try:
        name = gateway.key_variable("you")
        assert name == "PORTALIT_KEY_YOU" and os.environ[name].startswith("plk-")
        assert os.environ[name] not in repr(gateway) and repr(gateway).startswith("GatewayProcess(")
        with pytest.raises(PortalitError, match="no learner 'nobody' in this gateway; choose one of: you, classmate"):
            gateway.key_variable("nobody")
        Client("server", api_base=gateway.url, api_key_env=name).chat("Hi", max_tokens=2)
        used = {row["learner"]: row for row in gateway.usage()}
        assert used["you"]["requests"] == 1 and used["classmate"]["requests"] == 0
    finally:
        gateway.stop()
    assert not gateway.running()


def test_a_restarted_gateway_keeps_its_port_keys_and_daily_counts(llama_server):
    from portalit.session import Client

    gateway = selfhost.start_gateway(learners=("you", "classmate"), daily_tokens=40)
    try:
        you = Client("server", api_base=gateway.url, api_key_env=gateway.key_variable("you"))
        with pytest.raises(PortalitError, match="daily quota of 40 tokens"):
            for _ in range(20):  # bounded: each chat spends at least 30 tokens of the 40
                you.chat("Say hello to the class, please.", max_tokens=8)
        before, old_pid = gateway.url, gateway.pid
        gateway.restart()
        assert gateway.url == before and gateway.pid != old_pid and gateway.running()
        with pytest.raises(PortalitError, match="daily quota of 40 tokens"):
            you.chat("Hi", max_tokens=2)
        classmate = Client("server", api_base=gateway.url, api_key_env=gateway.key_variable("classmate"))
        assert classmate.chat("Hi", max_tokens=2).text is not None
    finally:
        gateway.stop()
    assert not gateway.running()
