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
