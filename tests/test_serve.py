"""`portalit serve` as a real process on 127.0.0.1: raw HTTP, the server backend, and the CLI."""
import json
import urllib.error
import urllib.request

import numpy as np
import pytest

import portalit
from portalit.errors import PortalitError

from .conftest import run_cli


def post(url, payload, raw=False):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.read().decode() if raw else json.load(response)


def test_models_lists_chat_and_embedding_models(server_url):
    body = json.load(urllib.request.urlopen(server_url + "/models"))
    assert [m["id"] for m in body["data"]] == ["smollm2-135m", "minilm", "glove-50d"]


def test_chat_completion_openai_shape(server_url):
    body = post(server_url + "/chat/completions", {
        "model": "smollm2-135m", "temperature": 0, "max_tokens": 20,
        "messages": [{"role": "user", "content": "Which city is the capital of France?"}]})
    assert body["object"] == "chat.completion"
    assert "Paris" in body["choices"][0]["message"]["content"]
    assert body["usage"]["completion_tokens"] > 0


def test_streaming_is_server_sent_events_ending_in_done(server_url):
    text = post(server_url + "/chat/completions", {
        "model": "smollm2-135m", "temperature": 0, "max_tokens": 20, "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Which city is the capital of France?"}]}, raw=True)
    events = [line[len("data: "):] for line in text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert "Paris" in content
    assert chunks[-1]["usage"]["completion_tokens"] > 0


def test_embeddings(server_url):
    body = post(server_url + "/embeddings", {"model": "minilm", "input": ["one", "two"]})
    assert len(body["data"]) == 2 and len(body["data"][0]["embedding"]) == 384


@pytest.mark.parametrize("path, payload, status, words", [
    ("/chat/completions", {"model": "gpt-4", "messages": [{"role": "user", "content": "x"}]}, 404, "choose 'smollm2-135m'"),
    ("/chat/completions", {"messages": []}, 400, "messages must be"),
    ("/embeddings", {"model": "ada", "input": "x"}, 404, "minilm, glove-50d"),
    ("/embeddings", {"model": "minilm", "input": []}, 400, "input must be"),
    ("/nowhere", {}, 404, "no route"),
])
def test_bad_requests_get_openai_style_errors(server_url, path, payload, status, words):
    with pytest.raises(urllib.error.HTTPError) as info:
        post(server_url + path, payload)
    assert info.value.code == status
    assert words in json.load(info.value)["error"]["message"]


PREFIX_ASKED = [{"role": "user", "content": "Which city is the capital of France?"},
                {"role": "assistant", "content": "The capital of France is"}]
CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}


def test_models_says_which_model_continues_a_final_assistant_message(server_url):
    body = json.load(urllib.request.urlopen(server_url + "/models"))
    assert {m["id"]: m.get("continue_final_message", False) for m in body["data"]} == \
        {"smollm2-135m": True, "minilm": False, "glove-50d": False}


def test_continuing_the_final_message_streamed_and_whole_agree(server_url):
    asked = {"model": "smollm2-135m", "temperature": 0, "max_tokens": 12, "messages": PREFIX_ASKED, **CONTINUE}
    whole = post(server_url + "/chat/completions", asked)
    text = post(server_url + "/chat/completions", {**asked, "stream": True,
                                                   "stream_options": {"include_usage": True}}, raw=True)
    chunks = [json.loads(line[6:]) for line in text.split("\n\n") if line.startswith("data: {")]
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    continuation = whole["choices"][0]["message"]["content"]
    assert streamed == continuation and "Paris" in continuation
    assert not continuation.lstrip().startswith("The capital")  # the reply holds the continuation only
    assert chunks[-1]["usage"] == whole["usage"]


@pytest.mark.parametrize("fields, words", [
    ({"continue_final_message": True}, "cannot both be true; send add_generation_prompt: false"),
    ({"add_generation_prompt": False}, "only supported with continue_final_message: true"),
    ({"continue_final_message": "yes", "add_generation_prompt": False}, "continue_final_message must be true or false"),
])
def test_bad_continuation_requests_name_the_field(server_url, fields, words):
    with pytest.raises(urllib.error.HTTPError) as info:
        post(server_url + "/chat/completions", {"messages": PREFIX_ASKED, "max_tokens": 4, **fields})
    assert info.value.code == 400 and words in json.load(info.value)["error"]["message"]


@pytest.mark.parametrize("last", [{"role": "user", "content": "Go on."}, {"role": "assistant", "content": ""}])
def test_continuing_needs_a_final_assistant_message_with_text(server_url, last):
    with pytest.raises(urllib.error.HTTPError) as info:
        post(server_url + "/chat/completions", {"messages": [PREFIX_ASKED[0], last], "max_tokens": 4, **CONTINUE})
    assert info.value.code == 400 and "last message to be the assistant's" in json.load(info.value)["error"]["message"]


def test_invalid_json_is_a_400(server_url):
    request = urllib.request.Request(server_url + "/chat/completions", data=b"{not json")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request)
    assert info.value.code == 400


def test_server_backend_through_the_client(server_url):
    client = portalit.Client("server", api_base=server_url)
    local = portalit.Client("local-cpu")
    prompt = "Name a primary colour."
    answer = client.chat(prompt, max_tokens=20)
    assert answer.backend == "server" and answer.usage["completion_tokens"] > 0
    assert answer.text == local.chat(prompt, max_tokens=20).text  # same model, same greedy answer
    assert "".join(client.stream(prompt, max_tokens=20)) == answer.text
    assert client.last.usage["completion_tokens"] == answer.usage["completion_tokens"]
    vectors = client.embed(["a cat", "a dog"])
    assert np.allclose(vectors, local.embed(["a cat", "a dog"]), atol=1e-5)


def test_server_backend_reads_api_base_from_environment(server_url, monkeypatch):
    monkeypatch.setenv("PORTALIT_API_BASE", server_url)
    assert portalit.Client("server").chat("Say yes.", max_tokens=4).text


def test_unknown_model_on_server_is_one_clear_error(server_url):
    with pytest.raises(PortalitError, match="'gpt-4' is not served here; choose 'smollm2-135m'"):
        portalit.Client("server", model="gpt-4", api_base=server_url).chat("hi")


def test_cli_chat_against_the_server(server_url):
    out = run_cli("chat", "--backend", "server", "--api-base", server_url, "--json",
                  "Which city is the capital of France?")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["backend"] == "server" and "Paris" in body["text"]


def test_serve_refuses_a_taken_port(server_url):
    port = server_url.split(":")[2].split("/")[0]
    out = run_cli("serve", "--port", port, timeout=60)
    assert out.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in out.stderr and "Traceback" not in out.stderr


# -- hostile input: a 4xx JSON error for each, and a server that stays healthy ----------------------
import http.client  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import openai  # noqa: E402


def _address(url):
    parsed = urlparse(url)
    return parsed.hostname, parsed.port


@pytest.mark.parametrize("change, status, words", [
    ({"max_tokens": 0}, 400, "max_tokens"), ({"max_tokens": -5}, 400, "max_tokens"),
    ({"n": 2}, 400, "n must be 1"), ({"temperature": 50}, 400, "temperature"),
    ({"dimensions": 3}, 400, "unsupported field"), ({"messages": [{"role": "wizard", "content": "x"}]}, 400, "role"),
])
def test_bad_fields_are_refused_not_ignored(server_url, change, status, words):
    body = {"model": "smollm2-135m", "messages": [{"role": "user", "content": "hi"}], **change}
    with pytest.raises(urllib.error.HTTPError) as info:
        post(server_url + "/chat/completions", body)
    assert info.value.code == status and words in json.load(info.value)["error"]["message"]


def test_a_prompt_over_the_context_is_a_400_streamed_or_not(server_url):
    client = openai.OpenAI(base_url=server_url, api_key="x", max_retries=0)
    long = [{"role": "user", "content": "word " * 3000}]
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as e:
            reply = client.chat.completions.create(model="smollm2-135m", messages=long, max_tokens=8, stream=stream)
            if stream:
                list(reply)
        assert e.value.body["code"] == "context_length_exceeded"


def test_oversized_lying_and_chunked_bodies(server_url):
    host, port = _address(server_url)
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=b"{" + b" " * 5_000_000 + b"}",
                 headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 413 and "larger than" in json.loads(response.read())["error"]["message"]
    payload = json.dumps({"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}).encode()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=iter([payload[:7], payload[7:]]), encode_chunked=True,
                 headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    assert conn.getresponse().status == 200
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/v1/chat/completions", body=b"{}", headers={"Content-Type": "text/plain"})
    assert conn.getresponse().status == 415


def test_a_client_that_hangs_up_frees_the_model(server_url):
    body = json.dumps({"model": "smollm2-135m", "messages": [{"role": "user", "content": "Write a long essay."}],
                       "max_tokens": 1500, "temperature": 1.0}).encode()
    sock = socket.create_connection(_address(server_url), timeout=30)
    sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    time.sleep(1.0)
    sock.close()
    time.sleep(0.5)
    started = time.perf_counter()
    post(server_url + "/chat/completions", {"model": "smollm2-135m", "messages": [{"role": "user", "content": "Hi"}],
                                            "max_tokens": 2})
    assert time.perf_counter() - started < 8, "the abandoned request still held the model"


def test_streamed_and_plain_answers_count_the_same_prompt_tokens(server_url):
    client = openai.OpenAI(base_url=server_url, api_key="x", max_retries=0)
    messages = [{"role": "user", "content": "Name a primary colour."}]
    plain = client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=5, temperature=0)
    usage = [c.usage for c in client.chat.completions.create(model="smollm2-135m", messages=messages, max_tokens=5,
                                                            temperature=0, stream=True,
                                                            stream_options={"include_usage": True}) if c.usage][-1]
    assert (usage.prompt_tokens, usage.completion_tokens) == (plain.usage.prompt_tokens, plain.usage.completion_tokens)


def test_serve_with_a_key_refuses_requests_without_it(monkeypatch):
    import subprocess
    import sys

    from .conftest import free_port

    port = free_port()
    key = "a-class-key-0123456789"
    proc = subprocess.Popen([sys.executable, "-m", "portalit.cli", "serve", "--port", str(port), "--key-env", "SERVE_KEY"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**__import__("os").environ, "SERVE_KEY": key})
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.3)
        url = f"http://127.0.0.1:{port}/v1"
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=url, api_key="wrong-key-here", max_retries=0).models.list()
        assert [m.id for m in openai.OpenAI(base_url=url, api_key=key, max_retries=0).models.list()][0] == "smollm2-135m"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert key not in out
