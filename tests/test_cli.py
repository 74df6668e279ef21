"""The `portalit` command as a contract: verbs, JSON keys, exit code 2 with one line on errors."""
import json

import pytest

from portalit import models

from .conftest import run_cli


def test_doctor_json_shows_local_cpu_ready():
    out = run_cli("doctor", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["backends"]["local-cpu"]["ready"]
    assert "llama.cpp" in body["backends"]["local-cpu"]["detail"]
    shipped = {"smollm2-135m", "gemma3-270m", "minilm", "glove-50d"}
    # plus lesson 09's router once `portalit tune` has built it (make setup does); same family as its base
    built = {"smollm2-135m-router"} if models.get("smollm2-135m-router").installed() else set()
    assert {m["name"] for m in body["embedded_models"] if m["installed"]} == shipped | built
    assert len(body["chat_families"]) == 2
    assert set(body["backends"]) == {"local-cpu", "local-gpu", "server", "cloud"}


def test_doctor_text_says_what_is_missing_and_why(monkeypatch):
    out = run_cli("doctor", env={"OPENAI_API_KEY": "", "PORTALIT_API_BASE": "http://127.0.0.1:9/v1"})
    assert out.returncode == 0
    assert "OPENAI_API_KEY" in out.stdout and "http://127.0.0.1:9/v1 is unreachable" in out.stdout


def test_chat_json_has_the_contract_keys():
    out = run_cli("chat", "--json", "--max-tokens", "24", "Which city is the capital of France?")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert {"text", "backend", "model", "usage", "latency_s", "tokens_per_s"} <= set(body)
    assert body["backend"] == "local-cpu" and "Paris" in body["text"]


def test_chat_plain_prints_the_answer():
    out = run_cli("chat", "--temperature", "0", "Which", "city", "is", "the", "capital", "of", "France?")
    assert out.returncode == 0 and "Paris" in out.stdout


def test_embed_json():
    out = run_cli("embed", "--json", "hello world", "good morning")
    body = json.loads(out.stdout)
    assert body["model"] == "minilm" and body["dim"] == 384 and len(body["vectors"]) == 2
    out = run_cli("embed", "--model", "glove-50d", "--json", "king")
    assert json.loads(out.stdout)["dim"] == 50


def test_analogy_json_king_man_woman_is_queen():
    out = run_cli("analogy", "king", "man", "woman", "--k", "3", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["results"][0]["word"] == "queen" and len(body["results"]) == 3
    assert "query" in body and isinstance(body["results"][0]["score"], float)


def test_eval_analogies_json_on_a_restricted_vocabulary():
    out = run_cli("eval", "analogies", "--restrict-vocab", "10000", "--json")
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert {"questions", "answered", "accuracy", "seconds"} <= set(body)
    assert body["questions"] == 19544 and 0 < body["answered"] < body["questions"]
    assert 0.3 < body["accuracy"] < 0.9


@pytest.mark.parametrize("args, env, words", [
    (["chat", "--backend", "gpu", "hi"], {}, ("invalid choice: 'gpu'", "local-cpu", "local-gpu", "server", "cloud")),
    (["chat", "--model", "gpt-5", "hi"], {}, "unknown chat model 'gpt-5'; choose one of: smollm2-135m"),
    (["chat", ""], {}, "the prompt is empty"),
    (["chat", "--backend", "cloud", "hi"], {"OPENAI_API_KEY": ""}, "needs OPENAI_API_KEY"),
    (["chat", "--backend", "server", "--api-base", "http://127.0.0.1:9/v1", "hi"], {}, "server http://127.0.0.1:9/v1 is unreachable"),
    (["chat", "--temperature", "hot", "hi"], {}, "invalid float value: 'hot'"),
    (["embed", "--model", "word2vec", "x"], {}, ("invalid choice: 'word2vec'", "minilm", "glove-50d")),
    (["analogy", "king", "man", "womann"], {}, "'womann'"),
    (["bench", "gpu"], {}, "invalid choice: 'gpu'"),
    (["frobnicate"], {}, "invalid choice: 'frobnicate'"),
    (["serve", "--port", "70000"], {}, "--port 70000 is not a port number"),
])
def test_user_errors_exit_2_with_one_line(args, env, words):
    out = run_cli(*args, env=env)
    assert out.returncode == 2, (out.stdout, out.stderr)
    for word in [words] if isinstance(words, str) else words:
        assert word in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_unknown_word_suggests_close_spellings():
    out = run_cli("analogy", "king", "man", "womann")
    assert "woman" in out.stderr.replace("'womann'", "")
