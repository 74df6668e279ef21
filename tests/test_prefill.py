"""Prefill on the real local model and through a real `portalit serve`: the answer starts with the
prefix and continues it, temperature 0 stays repeatable (and the same on both), and backends that
cannot continue a turn say so instead of answering something else."""
import json

import pytest

import portalit
from portalit import prefill, suite
from portalit.errors import PortalitError

PERSON = "Maria is 34 and lives in Lisbon. Give her name, age and city as JSON."


def test_the_answer_starts_with_the_prefix_and_continues_it(local):
    result = prefill.chat(local, '{"', PERSON, max_tokens=30)
    assert result.text.startswith('{"name": "Maria"')
    found, _ = json.JSONDecoder().raw_decode(result.text)
    assert found == {"name": "Maria", "age": 34, "city": "Lisbon"}
    assert result.backend == "local-cpu" and result.model == "smollm2-135m"
    assert result.usage["prompt_tokens"] > 20 and 0 < result.usage["completion_tokens"] <= 30
    assert result.messages[-1] == {"role": "assistant", "content": '{"'}


def test_the_prefix_changes_the_answer_and_is_repeatable(local):
    plain = local.chat("What is the capital of France?", max_tokens=12).text
    first = prefill.chat(local, "Answer:", "What is the capital of France?", max_tokens=8)
    second = prefill.chat(local, "Answer:", "What is the capital of France?", max_tokens=8)
    assert first.text == second.text and first.text.startswith("Answer:") and "Paris" in first.text
    assert not plain.startswith("Answer:")


def test_a_chat_call_after_a_prefilled_one_is_unchanged(local):
    before = local.chat("Which city is the capital of Japan?", max_tokens=10).text
    prefill.chat(local, '{"', PERSON, max_tokens=10)
    assert local.chat("Which city is the capital of Japan?", max_tokens=10).text == before


def test_a_suite_task_can_prefill(local):
    task = suite.Task("prefilled", [("France", "Paris")], max_tokens=8,
                      ask=lambda case: {"prompt": f"What is the capital of {case[0]}?", "prefill": "The capital is"},
                      check=lambda answer, case: answer.startswith("The capital is") and case[1] in answer)
    result = suite.run_task(task, local)
    assert result.passed == [True], result.texts


def test_bad_requests_and_backends_that_cannot_prefill_are_refused(local, server_url):
    with pytest.raises(PortalitError, match="non-empty prefix"):
        prefill.chat(local, "", PERSON)
    with pytest.raises(PortalitError, match="already ends with an assistant turn"):
        prefill.chat(local, "x", messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "he"}])
    cloud = portalit.Client("cloud")
    assert not prefill.supported(cloud) and prefill.supported(local)
    with pytest.raises(PortalitError, match="backend 'cloud' cannot prefill.*local-cpu, local-gpu, or server"):
        prefill.chat(cloud, '{"', PERSON)
    nowhere = portalit.Client("server", api_base="http://127.0.0.1:9/v1")
    assert not prefill.supported(nowhere)
    with pytest.raises(PortalitError, match="127.0.0.1:9/v1 is unreachable"):
        prefill.chat(nowhere, '{"', PERSON)
    # A model the server lists without "continue_final_message": true (its embedding model) would be
    # answered, not continued: refused before anything is sent.
    undeclared = portalit.Client("server", model="minilm", api_base=server_url)
    assert not prefill.supported(undeclared)
    with pytest.raises(PortalitError, match="does not say that it continues.*'minilm'"):
        prefill.chat(undeclared, '{"', PERSON)


# -- the server backend, against a real `portalit serve` ----------------------------------------------
@pytest.fixture
def server(server_url):
    return portalit.Client("server", api_base=server_url)


def test_the_server_continues_the_prefix_as_the_local_model_does(server, local):
    assert prefill.supported(server)
    remote = prefill.chat(server, '{"', PERSON, max_tokens=30)
    here = prefill.chat(local, '{"', PERSON, max_tokens=30)
    assert remote.text.startswith('{"') and remote.text == here.text, (remote.text, here.text)
    assert json.JSONDecoder().raw_decode(remote.text)[0] == {"name": "Maria", "age": 34, "city": "Lisbon"}
    assert remote.backend == "server" and remote.model == "smollm2-135m" and remote.finish_reason == here.finish_reason
    assert remote.usage == here.usage
    assert remote.messages == here.messages and remote.messages[-1] == {"role": "assistant", "content": '{"'}


def test_a_suite_task_can_prefill_on_the_server(server):
    task = suite.Task("prefilled", [("France", "Paris")], max_tokens=8,
                      ask=lambda case: {"prompt": f"What is the capital of {case[0]}?", "prefill": "The capital is"},
                      check=lambda answer, case: answer.startswith("The capital is") and case[1] in answer)
    assert suite.run_task(task, server).passed == [True]


def test_an_opt_in_stands_for_the_servers_own_word(server_url):
    declared = portalit.Client("server", api_base=server_url, continue_final_message=True)
    assert prefill.supported(declared)
    assert prefill.chat(declared, "Answer:", "What is the capital of France?", max_tokens=8).text.startswith("Answer:")


def test_the_openai_sdk_continues_only_with_the_flag(server_url, local):
    """The wire convention, through the real openai SDK: vLLM's two fields continue the last
    message and the reply holds the continuation only; without them it is answered, as before."""
    import openai

    sdk = openai.OpenAI(base_url=server_url, api_key="not-needed", max_retries=0)
    conversation = [{"role": "user", "content": PERSON}, {"role": "assistant", "content": '{"'}]
    continued = sdk.chat.completions.create(model="smollm2-135m", messages=conversation, temperature=0, max_tokens=30,
                                            extra_body={"continue_final_message": True, "add_generation_prompt": False})
    expected = prefill.chat(local, '{"', PERSON, max_tokens=30).text
    assert '{"' + continued.choices[0].message.content == expected
    answered = sdk.chat.completions.create(model="smollm2-135m", messages=conversation, temperature=0, max_tokens=30)
    assert answered.choices[0].message.content == local.chat(messages=conversation, max_tokens=30).text
    assert '{"' + answered.choices[0].message.content != expected
