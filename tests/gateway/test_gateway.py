"""The class gateway through the official `openai` SDK: keys, per-learner limits, usage, and
hostile input that must get a 4xx JSON error and leave the gateway healthy."""
from __future__ import annotations

import http.client
import json
import os
import socket
import stat
import time
from pathlib import Path
from urllib.parse import urlparse

import openai
import pytest

from portalit import models

from tests.conftest import run_cli

from .conftest import make_gateway, needs_llama_server, serve

CHAT = "smollm2-135m"


def test_keys_are_handed_out_once_and_stored_only_as_hashes(gateway):
    keys_file = gateway.directory / "keys.csv"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(gateway.directory.stat().st_mode) == 0o700
    stored = (gateway.directory / "gateway.sqlite").read_bytes()
    assert all(key.encode() not in stored for key in gateway.keys.values())
    assert len(set(gateway.keys.values())) == len(gateway.keys)
    again = run_cli("gateway", "init", str(keys_file), "--out", str(gateway.directory))
    assert again.returncode == 2 and "keys are handed out once" in again.stderr


def test_a_learner_chats_streams_and_embeds_with_their_key(gateway):
    client = gateway.client("ada")
    tuned = {"smollm2-135m-router"} if models.get("smollm2-135m-router").installed() else set()
    assert {m.id for m in client.models.list()} == {CHAT, "gemma3-270m", "minilm", "glove-50d"} | tuned
    reply = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Say hello."}],
                                           max_tokens=8, temperature=0)
    assert reply.choices[0].message.content and reply.usage.completion_tokens <= 8
    pieces, usage = [], None
    for chunk in client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Count to three."}],
                                                max_tokens=8, temperature=0, stream=True,
                                                stream_options={"include_usage": True}):
        pieces += [c.delta.content or "" for c in chunk.choices]
        usage = chunk.usage or usage
    assert "".join(pieces) and usage.completion_tokens <= 8 and usage.prompt_tokens > 5
    vectors = client.embeddings.create(model="minilm", input=["a cat", "a dog"])  # the SDK asks for base64
    assert [len(d.embedding) for d in vectors.data] == [384, 384]
    plain = client.embeddings.create(model="glove-50d", input="cat", encoding_format="float")
    assert len(plain.data[0].embedding) == 50


def test_the_second_family_is_served_with_its_own_template_and_turn_end(gateway):
    # Gemma's base model has no chat template: the gateway's llama-server gets the catalogue's, and
    # the model's turn ends where it would start the next "User:" line, as in-process.
    import portalit

    client = gateway.client("ada")  # bob's requests are counted by the rate-limit test
    ask = [{"role": "user", "content": "What is the capital of Japan?"}]
    reply = client.chat.completions.create(model="gemma3-270m", messages=ask, max_tokens=24, temperature=0)
    text = reply.choices[0].message.content
    assert "Tokyo" in text and "User:" not in text
    in_process = portalit.Client("local-cpu", model="gemma3-270m").chat(messages=ask, max_tokens=24)
    assert "Tokyo" in in_process.text and reply.usage.prompt_tokens == in_process.usage["prompt_tokens"]


def test_the_tuned_router_is_served_with_its_adapter_as_in_process(gateway):
    # llama-server loads the GGUF adapter onto the packaged base (--lora): the same answers as the
    # shared client's llama.cpp.
    import portalit
    from portalit.tune import data

    if not models.get("smollm2-135m-router").installed():
        pytest.skip("the router is not built here (make setup runs `portalit tune`)")
    client = gateway.client("cat")  # 3 of cat's 8 requests a minute; ada's go to the other tests
    questions = [e.question for e in data.load("heldout")[::33]]
    served = [client.chat.completions.create(model="smollm2-135m-router", messages=[{"role": "user", "content": q}],
                                             max_tokens=4, temperature=0).choices[0].message.content for q in questions]
    local = portalit.Client("local-cpu", model="smollm2-135m-router")
    in_process = [local.chat(q, max_tokens=4).text for q in questions]
    assert all(data.lesson_of(a) for a in served)
    assert sum(data.lesson_of(a) == data.lesson_of(b) for a, b in zip(served, in_process)) >= len(questions) - 1


def test_a_bad_or_missing_key_is_refused_without_echoing_it(gateway):
    wrong = "plk-" + "x" * 43
    import openai as sdk

    with pytest.raises(sdk.AuthenticationError) as e:
        sdk.OpenAI(base_url=gateway.url, api_key=wrong, max_retries=0).models.list()
    assert e.value.status_code == 401 and wrong not in str(e.value)
    conn = _conn(gateway)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    assert response.status == 401 and json.loads(response.read())["error"]["code"] == "invalid_api_key"


def test_one_learner_over_their_rate_limit_is_refused_and_no_one_else_is(gateway):
    bob, cat = gateway.client("bob"), gateway.client("cat")
    for _ in range(8):
        bob.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    with pytest.raises(openai.RateLimitError) as e:
        bob.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    body = e.value.body
    assert body["code"] == "rpm" and "bob" in body["message"] and "8 requests per minute" in body["message"]
    assert 1 <= int(e.value.response.headers["Retry-After"]) <= 60
    started = time.perf_counter()
    cat.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    assert time.perf_counter() - started < 10


def test_requests_at_once_are_limited_per_learner(gateway):
    cat, ada = gateway.client("cat"), gateway.client("ada")
    stream = cat.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Tell a long story."}],
                                         max_tokens=200, stream=True)
    next(iter(stream))  # the first one is running
    with pytest.raises(openai.RateLimitError) as e:
        cat.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    assert e.value.body["code"] == "parallel"
    ada.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    stream.close()


@pytest.mark.parametrize("body, status, words", [
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 0}, 400, "max_tokens"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": -5}, 400, "max_tokens"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 10**9}, 400, "max_tokens"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "n": 2}, 400, "n must be 1"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "temperature": 50}, 400, "temperature"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "logit_bias": {}}, 400, "unsupported field"),
    ({"model": CHAT, "messages": [{"role": "wizard", "content": "hi"}]}, 400, "role must be"),
    ({"model": CHAT, "messages": []}, 400, "messages"),
    ({"model": CHAT, "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}, 400, "only text parts"),
    ({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]}, 404, "not served here"),
    ({"model": CHAT, "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}, 400, "stream"),
])
def test_bad_chat_requests_get_a_4xx_that_names_the_field(gateway, body, status, words):
    response = _post(gateway, "/v1/chat/completions", body, "dan")
    assert response[0] == status and words in response[1]["error"]["message"], response


@pytest.mark.parametrize("body, words", [
    ({"model": "minilm", "input": "hi", "dimensions": 8}, "unsupported field 'dimensions'"),
    ({"model": "minilm", "input": "hi", "encoding_format": "int8"}, "encoding_format"),
    ({"model": "minilm", "input": []}, "input"),
    ({"model": "minilm", "input": [[1, 2, 3]]}, "token arrays"),
])
def test_bad_embedding_requests_get_a_400(gateway, body, words):
    status, payload = _post(gateway, "/v1/embeddings", body, "dan")
    assert status == 400 and words in payload["error"]["message"]


def test_a_prompt_over_the_context_is_a_400_context_length_exceeded_streamed_or_not(gateway):
    client = gateway.client("dan")
    long = "word " * 3000
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": long}], max_tokens=8)
    assert e.value.body["code"] == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as e:
        for _ in client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": long}],
                                                max_tokens=8, stream=True):
            pass
    assert e.value.body["code"] == "context_length_exceeded"


def test_malformed_bodies_get_4xx_and_the_gateway_stays_healthy(gateway):
    key = gateway.keys["dan"]
    cases = [
        ({"Content-Type": "application/json"}, b"{not json", 400, "not valid JSON"),
        ({"Content-Type": "application/json"}, b"[1, 2]", 400, "JSON object"),
        ({"Content-Type": "text/plain"}, b"{}", 415, "Content-Type"),
        ({"Content-Type": "application/json"}, b"{" + b" " * 2_000_000 + b"}", 413, "larger than"),
    ]
    for headers, raw, status, words in cases:
        conn = _conn(gateway)
        conn.request("POST", "/v1/chat/completions", body=raw, headers={**headers, "Authorization": f"Bearer {key}"})
        response = conn.getresponse()
        payload = json.loads(response.read())
        assert response.status == status and words in payload["error"]["message"], (status, payload)
    # A Content-Length larger than the body sent: dropped after the body timeout, not held for good.
    sock = socket.create_connection(_address(gateway), timeout=30)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 500\r\n\r\n{\"model\":")
    started = time.perf_counter()
    reply = sock.recv(4096)
    sock.close()
    assert b" 408 " in reply.split(b"\r\n")[0] and time.perf_counter() - started < 20
    # A request aiohttp cannot parse (a bare CR in a header) is refused, and its bytes (here, the
    # key) never reach the log.
    sock = socket.create_connection(_address(gateway), timeout=30)
    sock.sendall(b"GET /v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + key.encode() + b"\r\r\n\r\n")
    assert b" 400 " in sock.recv(4096).split(b"\r\n")[0]
    sock.close()
    # A chunked body is read as a body, not misread.
    conn = _conn(gateway)
    payload = json.dumps({"model": CHAT, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}).encode()
    conn.request("POST", "/v1/chat/completions", body=iter([payload[:10], payload[10:]]), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}",
                          "Transfer-Encoding": "chunked"})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert gateway.process.poll() is None


def test_a_learner_who_hangs_up_frees_the_model_for_the_next(gateway):
    key = gateway.keys["dan"]
    body = json.dumps({"model": CHAT, "messages": [{"role": "user", "content": "Write a very long essay."}],
                       "max_tokens": 1500, "temperature": 1.0}).encode()
    sock = socket.create_connection(_address(gateway), timeout=30)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: " + str(len(body)).encode()
                 + b"\r\n\r\n" + body)
    time.sleep(1.0)
    sock.close()  # gave up waiting
    time.sleep(0.5)
    started = time.perf_counter()
    gateway.client("dan").chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    assert time.perf_counter() - started < 8, "the abandoned request still held the model"


def test_usage_per_learner_and_no_key_in_the_log(gateway):
    done = run_cli("gateway", "usage", str(gateway.directory), "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["learner"]: r for r in json.loads(done.stdout)["learners"]}
    assert set(rows) == {"ada", "bob", "cat", "dan"}
    assert rows["ada"]["total_tokens"] > 0 and rows["bob"]["refused"] >= 1 and rows["bob"]["requests"] >= 8
    log = gateway.log.read_text()
    assert all(key not in log for key in gateway.keys.values())
    assert "bob refused: rpm" in log and "refused a malformed HTTP request" in log


def test_the_daily_quota_survives_a_restart(tmp_path):
    needs_llama_server()
    directory = make_gateway(tmp_path / "quota")
    first = serve(directory, "--daily-tokens", "60")
    try:
        client = first.client("ada")
        client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Tell me about cats."}],
                                       max_tokens=40)
        with pytest.raises(openai.RateLimitError) as e:
            client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        assert e.value.body["code"] == "daily_tokens"
    finally:
        first.stop()
    second = serve(directory, "--daily-tokens", "60")
    try:
        with pytest.raises(openai.RateLimitError):
            second.client("ada").chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}],
                                                         max_tokens=1)
        second.client("bob").chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}],
                                                     max_tokens=1)
    finally:
        second.stop()


def test_init_refuses_a_roster_without_learners_or_with_twins(tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_text("learner\nada\nada\n")
    done = run_cli("gateway", "init", str(roster), "--out", str(tmp_path / "g"))
    assert done.returncode == 2 and "more than once: ada" in done.stderr
    roster.write_text("name\nada\n")
    done = run_cli("gateway", "init", str(roster), "--out", str(tmp_path / "g"))
    assert done.returncode == 2 and "no 'learner' column" in done.stderr
    assert not (tmp_path / "g").exists()


def _address(gateway):
    url = urlparse(gateway.url)
    return url.hostname, url.port


def _conn(gateway):
    return http.client.HTTPConnection(*_address(gateway), timeout=60)


def _post(gateway, path, body, learner):
    conn = _conn(gateway)
    conn.request("POST", path, body=json.dumps(body), headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {gateway.keys[learner]}"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_the_shared_client_reports_a_limit_in_the_gateways_words(gateway, monkeypatch):
    from portalit import PortalitError
    from portalit.session import Client

    monkeypatch.setenv("PORTALIT_TEST_KEY", gateway.keys["bob"])  # bob is over his rpm limit by now
    client = Client("server", api_base=gateway.url, api_key_env="PORTALIT_TEST_KEY")
    with pytest.raises(PortalitError) as e:
        for _ in range(9):
            client.chat("Hi", max_tokens=1)
    assert str(e.value).startswith("server: over a limit: bob: 8 requests per minute reached")
    assert gateway.keys["bob"] not in str(e.value)


def test_a_cloud_model_behind_the_instructors_key(tmp_path):
    """The 'provider' is a real OpenAI-compatible server on loopback that demands its own key (a
    `portalit serve --key-env`): learners reach it through the gateway with their gateway keys only."""
    import subprocess
    import sys
    import urllib.request

    from tests.conftest import free_port

    needs_llama_server()
    provider_port, provider_key = free_port(), "provider-key-0123456789abcdef"
    provider = subprocess.Popen([sys.executable, "-m", "portalit.cli", "serve", "--port", str(provider_port),
                                 "--key-env", "PROVIDER_KEY"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**__import__("os").environ, "PROVIDER_KEY": provider_key})
    directory = make_gateway(tmp_path / "cloud")
    running = None
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{provider_port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        running = serve(directory, "--cloud-model", "openai/smollm2-135m", "--cloud-api-base",
                        f"http://127.0.0.1:{provider_port}/v1", env={"OPENAI_API_KEY": provider_key})
        client = running.client("ada")
        assert "openai/smollm2-135m" in {m.id for m in client.models.list()}
        reply = client.chat.completions.create(model="openai/smollm2-135m", max_tokens=6, temperature=0,
                                               messages=[{"role": "user", "content": "Say hello."}])
        assert reply.choices[0].message.content and reply.usage.completion_tokens > 0
        pieces = [c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="openai/smollm2-135m", max_tokens=6, temperature=0, stream=True,
            messages=[{"role": "user", "content": "Say hello."}]) if c.choices]
        assert "".join(pieces)
        rows = {r["learner"]: r for r in json.loads(run_cli("gateway", "usage", str(directory), "--json").stdout)["learners"]}
        assert rows["ada"]["requests"] == 2 and rows["ada"]["total_tokens"] > 0
        assert provider_key not in running.log.read_text()
    finally:
        if running:
            running.stop()
        provider.terminate()
        provider.wait(timeout=30)


def test_a_cloud_model_without_its_key_is_one_clear_error(tmp_path, monkeypatch):
    directory = make_gateway(tmp_path / "nokey")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    from tests.conftest import free_port

    done = run_cli("gateway", "serve", str(directory), "--port", str(free_port()), "--cloud-model", "anthropic/claude-3-5-haiku-latest",
                   timeout=120)
    assert done.returncode == 2 and "needs ANTHROPIC_API_KEY" in done.stderr and "Traceback" not in done.stderr


def test_learners_added_later_get_keys_of_their_own_and_in_without_a_restart(gateway, tmp_path):
    from portalit.gateway import keys as keyfile

    before = (gateway.directory / "keys.csv").read_text()
    roster = tmp_path / "more.csv"
    roster.write_text("learner\nada\neve\n")
    done = run_cli("gateway", "init", str(roster), "--out", str(gateway.directory), "--json")
    assert done.returncode == 0, done.stderr
    added = json.loads(done.stdout)
    assert added["learners"] == 1 and "keys-added-" in added["keys"]
    assert stat.S_IMODE(os.stat(added["keys"]).st_mode) == 0o600
    assert list(keyfile.read(Path(added["keys"]))) == ["eve"]  # ada's key is not shown again
    assert (gateway.directory / "keys.csv").read_text() == before
    eve = keyfile.read_all(gateway.directory)["eve"]
    client = openai.OpenAI(base_url=gateway.url, api_key=eve, max_retries=0)
    deadline = time.time() + 10
    while True:
        try:
            client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
            break
        except openai.AuthenticationError:
            assert time.time() < deadline, "the running gateway never let the new learner in"
            time.sleep(0.5)
    again = run_cli("gateway", "init", str(roster), "--out", str(gateway.directory))
    assert again.returncode == 2 and "already has a key" in again.stderr


def test_a_roster_can_give_some_learners_limits_of_their_own(tmp_path):
    needs_llama_server()
    roster = tmp_path / "class.csv"
    roster.write_text("learner,rpm,daily_tokens\nada,,\nta,20,\n")
    done = run_cli("gateway", "init", str(roster), "--out", str(tmp_path / "gw"))
    assert done.returncode == 0, done.stderr
    running = serve(tmp_path / "gw", "--rpm", "2")
    try:
        ada, ta = running.client("ada"), running.client("ta")
        for _ in range(2):
            ada.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        with pytest.raises(openai.RateLimitError, match="2 requests per minute"):
            ada.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
        for _ in range(5):
            ta.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": "Hi"}], max_tokens=1)
    finally:
        running.stop()
    roster.write_text("learner,rpm\nbo,many\n")
    bad = run_cli("gateway", "init", str(roster), "--out", str(tmp_path / "gw2"))
    assert bad.returncode == 2 and "line 2 (bo)" in bad.stderr and "rpm" in bad.stderr
    assert not (tmp_path / "gw2").exists()
