"""The shared client on the embedded local-cpu backend: real model, real litellm."""
import numpy as np
import pytest

import portalit
from portalit.errors import PortalitError

QUESTION = "Which city is the capital of France?"


def test_chat_answers_through_litellm(local):
    result = local.chat(QUESTION)
    assert "Paris" in result.text
    assert result.backend == "local-cpu" and result.model == "smollm2-135m"
    assert result.usage["completion_tokens"] > 0 and result.usage["prompt_tokens"] > 0
    assert result.usage["total_tokens"] == result.usage["prompt_tokens"] + result.usage["completion_tokens"]
    assert result.latency_s > 0 and result.tokens_per_s > 0
    assert str(result) == result.text and local.last is result


def test_temperature_zero_is_deterministic(local):
    prompt = "Give one tip for writing clear emails."
    assert local.chat(prompt, max_tokens=40).text == local.chat(prompt, max_tokens=40).text


def test_temperature_zero_does_not_depend_on_the_previous_call(local):
    # llama.cpp's reused prompt cache once made this prompt say "10 minutes", then "20 minutes".
    prompt = "Give one tip for staying focused."
    answers = set()
    for before in ["Hello", "Which city is the capital of France?", "Give one tip for staying calm."]:
        local.chat(before, max_tokens=12)
        answers.add(local.chat(prompt, max_tokens=40).text)
    assert len(answers) == 1


def test_same_seed_same_sample_at_high_temperature(local):
    prompt = "Invent a name for a cat."
    a = local.chat(prompt, temperature=1.2, seed=7, max_tokens=12).text
    b = local.chat(prompt, temperature=1.2, seed=7, max_tokens=12).text
    assert a == b


def test_messages_and_system_prompt(local):
    result = local.chat(messages=[{"role": "user", "content": "Say hello."}],
                        system="Answer in French only.", max_tokens=20)
    assert result.messages[0] == {"role": "system", "content": "Answer in French only."}
    assert result.text.strip()


def test_a_list_given_as_the_prompt_is_the_messages_not_their_text(local):
    messages = [{"role": "user", "content": "Say hello."}]
    as_prompt, as_messages = local.chat(messages, max_tokens=8), local.chat(messages=messages, max_tokens=8)
    assert as_prompt.messages == messages and as_prompt.text == as_messages.text
    assert as_prompt.usage["prompt_tokens"] == as_messages.usage["prompt_tokens"]


def test_max_tokens_limits_the_answer(local):
    result = local.chat("Write a long essay about the history of Rome.", max_tokens=8)
    assert result.usage["completion_tokens"] <= 8
    assert result.finish_reason == "length"


def test_stream_yields_the_same_text_as_chat(local):
    pieces = list(local.stream(QUESTION))
    streamed = local.last
    assert len(pieces) > 1 and streamed.text == "".join(pieces)
    assert streamed.first_token_s is not None and streamed.first_token_s < streamed.latency_s
    assert streamed.usage["completion_tokens"] > 0
    assert streamed.text == local.chat(QUESTION).text


def test_embed_minilm_unit_vectors_that_mean_something(local):
    v = local.embed(["A cat sleeps on the sofa.", "A kitten naps on the couch.", "Stock markets fell today."])
    assert v.shape == (3, 384) and v.dtype == np.float32
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3


def test_embed_matches_sentence_transformers_reference(local):
    from sentence_transformers import SentenceTransformer

    from portalit import models

    texts = ["short", "a somewhat longer sentence about embeddings and maps of meaning"]
    reference = SentenceTransformer(str(models.get("minilm").path()), device="cpu").encode(
        texts, normalize_embeddings=True)
    assert np.abs(local.embed(texts) - reference).max() < 1e-4


def test_embed_glove_is_the_mean_of_word_vectors(local):
    from portalit import models

    glove = models.load_glove()
    v = local.embed(["king queen"], model="glove-50d")
    expected = (glove.vectors[glove.index["king"]] + glove.vectors[glove.index["queen"]]) / 2
    assert v.shape == (1, 50) and np.allclose(v[0], expected, atol=1e-5)


def test_use_switches_the_shared_client():
    seen = []
    unsubscribe = portalit.subscribe("use", seen.append)
    try:
        chosen = portalit.use("server", api_base="http://127.0.0.1:9/v1")
        assert portalit.client() is chosen and chosen.backend == "server"
        assert seen and seen[-1] is chosen
        back = portalit.use("local-cpu")
        assert portalit.client().backend == "local-cpu" and back.model == "smollm2-135m"
    finally:
        unsubscribe()
        portalit.use("local-cpu")
    portalit.use("local-cpu")
    assert len(seen) == 2  # unsubscribed: the third use() was not seen


def test_backend_from_environment(monkeypatch):
    monkeypatch.setenv("PORTALIT_BACKEND", "cloud")
    assert portalit.Client().backend == "cloud"
    assert portalit.Client().model == "openai/gpt-4o-mini"


@pytest.mark.parametrize("call, message", [
    (lambda c: c.chat(""), "prompt is empty"),
    (lambda c: c.chat("   "), "prompt is empty"),
    (lambda c: c.chat(messages=[]), "non-empty list"),
    (lambda c: c.chat(messages=[{"role": "robot", "content": "x"}]), "role system, user or assistant"),
    (lambda c: c.chat({"role": "user"}), "the prompt must be text, or a list of {role, content} messages; got dict"),
    (lambda c: c.chat("hi", temperature=5), "temperature 5 is out of range; choose a number from 0 to 2"),
    (lambda c: c.chat("hi", max_tokens=0), "max_tokens 0"),
    (lambda c: c.embed([]), "non-empty texts"),
    (lambda c: c.embed(["ok"], model="word2vec"), "unknown embed model 'word2vec'; choose one of: minilm, glove-50d"),
    (lambda c: c.embed(["qqqzzzx"], model="glove-50d"), "no word of 'qqqzzzx'"),
])
def test_bad_input_gets_one_clear_error(local, call, message):
    with pytest.raises(PortalitError) as info:
        call(local)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_backend_and_model_name_the_choices():
    with pytest.raises(PortalitError, match="unknown backend 'gpu'; choose one of: local-cpu, local-gpu, server, cloud"):
        portalit.use("gpu")
    with pytest.raises(PortalitError, match="unknown chat model 'llama-70b'; choose one of: smollm2-135m"):
        portalit.use("local-cpu", model="llama-70b")
    with pytest.raises(PortalitError, match="takes no option api_base"):
        portalit.use("local-cpu", api_base="http://127.0.0.1:1/v1")


def test_local_gpu_without_cuda_is_a_clear_error():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA; the error path is for machines without")
    with pytest.raises(PortalitError, match="'local-gpu' needs a CUDA GPU.*local-cpu, server, cloud"):
        portalit.Client("local-gpu").chat("hi")


def test_unreachable_server_names_the_url():
    with pytest.raises(PortalitError, match=r"server http://127.0.0.1:9/v1 is unreachable"):
        portalit.Client("server", api_base="http://127.0.0.1:9/v1").chat("hi")


def test_embedding_requests_are_batched_by_count_and_size():
    from portalit.session import EMBED_BATCH, EMBED_BATCH_CHARS, _batches

    texts = [f"t{i}" for i in range(EMBED_BATCH * 2 + 3)]
    assert [len(b) for b in _batches(texts)] == [EMBED_BATCH, EMBED_BATCH, 3]
    long = ["x" * (EMBED_BATCH_CHARS // 2 + 1)] * 3 + ["y"]
    assert [len(b) for b in _batches(long)] == [1, 1, 2]
    assert sum(_batches(texts), []) == texts


def test_many_texts_embed_through_a_server_as_locally(server_url):
    texts = [f"sentence number {i} about cats and dogs" for i in range(1200)]
    remote = portalit.Client("server", api_base=server_url).embed(texts)
    local = portalit.Client("local-cpu").embed(texts)
    assert remote.shape == (1200, 384) and np.allclose(remote, local, atol=1e-5)
