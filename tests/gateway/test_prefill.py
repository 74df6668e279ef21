"""Prefill through the class gateway: its llama-server continues a final assistant message only
when asked (continue_final_message), the gateway answers with the continuation only, as
`portalit serve` does, and portalit.prefill works through it with a learner's key."""
from __future__ import annotations

import json

import openai
import pytest

import portalit
from portalit import prefill

CHAT = "smollm2-135m"
PERSON = "Maria is 34 and lives in Lisbon. Give her name, age and city as JSON."
CONVERSATION = [{"role": "user", "content": PERSON}, {"role": "assistant", "content": '{"'}]
CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}


@pytest.fixture
def learner(gateway, monkeypatch):
    """The server backend with one learner's key (each test its own learner: 8 requests a minute)."""
    def make(name: str):
        monkeypatch.setenv("PORTALIT_TEST_KEY", gateway.keys[name])
        return portalit.Client("server", api_base=gateway.url, api_key_env="PORTALIT_TEST_KEY")
    return make


def test_the_models_run_here_say_they_continue_and_the_rest_do_not(gateway):
    listed = {m.id: getattr(m, "continue_final_message", False) for m in gateway.client("ada").models.list()}
    assert listed[CHAT] is True and listed["gemma3-270m"] is True
    assert listed["minilm"] is False and listed["glove-50d"] is False


def test_prefill_through_the_gateway_continues_the_prefix_as_in_process(learner):
    """llama-server and llama-cpp-python are the same llama.cpp: at temperature 0 the text agrees with
    local-cpu's prefill, and so does the prompt; llama-server counts one more completion token here
    (the turn's end, which llama-cpp-python leaves out), so usage is only bounded."""
    client = learner("bob")
    assert prefill.supported(client)
    result = prefill.chat(client, '{"', PERSON, max_tokens=30)
    here = prefill.chat(portalit.Client("local-cpu"), '{"', PERSON, max_tokens=30)
    assert result.text == here.text and not result.text.startswith('{"{"'), (result.text, here.text)
    found, _ = json.JSONDecoder().raw_decode(result.text)
    assert found == {"name": "Maria", "age": 34, "city": "Lisbon"}, result.text
    assert result.backend == "server" and result.usage["prompt_tokens"] == here.usage["prompt_tokens"]
    assert 0 < result.usage["completion_tokens"] <= 30


def test_streamed_and_whole_continuations_agree_and_hold_no_prefix(gateway):
    sdk = gateway.client("cat")
    whole = sdk.chat.completions.create(model=CHAT, messages=CONVERSATION, temperature=0, max_tokens=20,
                                        extra_body=CONTINUE).choices[0].message.content
    pieces = [c.choices[0].delta.content or "" for c in sdk.chat.completions.create(
        model=CHAT, messages=CONVERSATION, temperature=0, max_tokens=20, stream=True, extra_body=CONTINUE) if c.choices]
    assert "".join(pieces) == whole and whole.startswith("name"), (pieces, whole)


def test_without_the_flag_a_final_assistant_message_is_answered(gateway):
    """llama-server would continue it by default; the gateway starts it with --no-prefill-assistant,
    so a trailing assistant message is a finished turn, as on `portalit serve` and OpenAI's API."""
    sdk = gateway.client("dan")
    continued = sdk.chat.completions.create(model=CHAT, messages=CONVERSATION, temperature=0, max_tokens=20,
                                            extra_body=CONTINUE).choices[0].message.content
    answered = sdk.chat.completions.create(model=CHAT, messages=CONVERSATION, temperature=0,
                                           max_tokens=20).choices[0].message.content
    assert answered != continued and not answered.startswith("name"), (answered, continued)
    with pytest.raises(openai.BadRequestError, match="cannot both be true"):
        sdk.chat.completions.create(model=CHAT, messages=CONVERSATION, max_tokens=4,
                                    extra_body={"continue_final_message": True})


def test_the_cloud_model_behind_the_gateway_is_not_offered_for_prefill(tmp_path, monkeypatch):
    """Continuing is not tested against any cloud provider, so the gateway neither declares it for
    its cloud model nor passes the flag on (the 'provider' here is a real `portalit serve` on loopback)."""
    from portalit import serve as owned

    from .conftest import make_gateway, needs_llama_server, serve

    needs_llama_server()
    provider, provider_url = owned.start_in_thread()
    running = None
    try:
        running = serve(make_gateway(tmp_path / "cloud"), "--slots", "1", "--cloud-model", "openai/smollm2-135m",
                        "--cloud-api-base", provider_url)
        sdk = running.client("ada")
        listed = {m.id: getattr(m, "continue_final_message", False) for m in sdk.models.list()}
        assert listed["openai/smollm2-135m"] is False and listed[CHAT] is True
        monkeypatch.setenv("PORTALIT_TEST_KEY", running.keys["ada"])
        cloud = portalit.Client("server", model="openai/smollm2-135m", api_base=running.url,
                                api_key_env="PORTALIT_TEST_KEY")
        assert not prefill.supported(cloud)
        with pytest.raises(openai.BadRequestError, match="not for the cloud model 'openai/smollm2-135m'"):
            sdk.chat.completions.create(model="openai/smollm2-135m", messages=CONVERSATION, max_tokens=4,
                                        extra_body=CONTINUE)
    finally:
        if running:
            running.stop()
        provider.shutdown()
