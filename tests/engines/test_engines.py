"""The local engines directly: llama.cpp, and the transformers fallback when llama_cpp is missing."""
import subprocess
import sys

import pytest

from portalit import engines
from portalit.engines import llamacpp


def test_local_cpu_uses_llama_cpp_when_installed():
    assert llamacpp.available()
    engine = engines.chat_engine("smollm2-135m")
    assert engine.engine == "llama.cpp"
    assert engines.chat_engine("smollm2-135m") is engine  # loaded once


def test_llama_cpp_uses_every_core():
    import os

    assert engines.chat_engine("smollm2-135m").llm.n_threads == (os.cpu_count() or 1)


FALLBACK = r"""
import sys, warnings
sys.modules["llama_cpp"] = None  # as if llama-cpp-python were not installed
warnings.simplefilter("always")
import portalit
from portalit import engines
with warnings.catch_warnings(record=True) as caught:
    result = portalit.Client("local-cpu").chat("Which city is the capital of France?", max_tokens=16)
print(engines.chat_engine("smollm2-135m").engine)
print(result.text)
print(any("slower" in str(w.message) for w in caught))
"""


@pytest.mark.slow
def test_without_llama_cpp_the_same_model_runs_through_transformers():
    out = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    engine, text, warned = out.stdout.strip().splitlines()[-3:]
    assert engine == "transformers"
    assert "Paris" in text
    assert warned == "True"


def test_a_base_model_chats_through_its_transcript_and_stops_at_the_next_user_line():
    client = __import__("portalit").Client("local-cpu", model="gemma3-270m")
    answer = client.chat("What is the capital of Japan?", max_tokens=24)
    assert "Tokyo" in answer.text and "User:" not in answer.text
    streamed = "".join(client.stream("What is the capital of Japan?", max_tokens=24))
    assert streamed == answer.text
    engine = engines.chat_engine("gemma3-270m")
    assert engine.llm.chat_handler is not None  # the catalogue's template, not llama.cpp's guess


def test_a_streamed_stop_text_split_over_pieces_is_held_back():
    from portalit.engines.transformers_chat import _held_back

    pieces = [" The", " capital", " is", " Tokyo.", "\n", "User", ":", " more"]
    assert "".join(_held_back(pieces, ["\nUser:"])) == " The capital is Tokyo."
    assert "".join(_held_back(["no", " stop"], ["\nUser:", None])) == "no stop"
    assert list(_held_back(["\nUser: x"], ["\nUser:"])) == []
