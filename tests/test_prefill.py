"""Prefill on the real local model: the answer starts with the prefix and continues it, temperature 0
stays repeatable, and backends that cannot continue a turn say so instead of answering something else."""
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


def test_bad_requests_and_backends_that_cannot_prefill_are_refused(local):
    with pytest.raises(PortalitError, match="non-empty prefix"):
        prefill.chat(local, "", PERSON)
    with pytest.raises(PortalitError, match="already ends with an assistant turn"):
        prefill.chat(local, "x", messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "he"}])
    server = portalit.Client("server", api_base="http://127.0.0.1:9/v1")
    assert not prefill.supported(server) and prefill.supported(local)
    with pytest.raises(PortalitError, match="backend 'server' cannot prefill.*local-cpu, local-gpu"):
        prefill.chat(server, '{"', PERSON)
