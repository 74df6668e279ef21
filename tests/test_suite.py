"""The pattern suite on the real local model: scores come from code, failures keep their reasons."""
import pytest

import portalit
from portalit import grading, suite
from portalit.errors import PortalitError

CAPITALS = [("France", "Paris"), ("Japan", "Tokyo")]


def capital_task(name="capitals", check=None, **kwargs):
    return suite.Task(name, CAPITALS, ask=lambda case: {"prompt": f"Which city is the capital of {case[0]}?"},
                      check=check or (lambda answer, case: grading.contains(answer, case[1])), max_tokens=12, **kwargs)


def test_run_task_scores_each_case_with_the_check(local):
    result = suite.run_task(capital_task(), local)
    assert result.passed == [True, True]
    assert result.score == "2/2"
    assert result.reasons == ["", ""]
    assert result.backend == "local-cpu" and result.model == "smollm2-135m"
    assert "Paris" in result.texts[0] and "Tokyo" in result.texts[1]
    assert result.usage["completion_tokens"] > 0 and result.usage["prompt_tokens"] > 20


def test_a_check_that_raises_fails_the_case_and_keeps_the_reason(local):
    def must_be_json(answer, case):
        return grading.check_json(answer, ["city"])

    result = suite.run_task(capital_task(check=must_be_json), local)
    assert result.passed == [False, False]
    assert all("no valid JSON object" in r for r in result.reasons)
    assert "FAIL" in result.details() and "no valid JSON object" in result.details()


def test_finish_is_the_code_step_and_its_errors_fail_the_case(local):
    task = capital_task(finish=lambda text: text.split()[-1].strip(".").upper(),
                        check=lambda answer, case: answer == case[1].upper())
    result = suite.run_task(task, local)
    assert result.answers == ["PARIS", "TOKYO"] and result.passed == [True, True]
    broken = capital_task(finish=lambda text: {}["paid"])
    result = suite.run_task(broken, local)
    assert result.passed == [False, False] and result.reasons[0] == "KeyError: 'paid'"


def test_a_false_check_is_a_wrong_answer(local):
    result = suite.run_task(capital_task(check=lambda answer, case: False), local)
    assert result.reasons == ["wrong answer", "wrong answer"]


def test_runs_are_repeatable_at_temperature_zero(local):
    task = capital_task()
    first, second = suite.run_task(task, local), suite.run_task(task, local)
    assert first.passed == second.passed


def test_run_uses_the_shared_client_and_prints_progress(capsys):
    portalit.use("local-cpu")
    results = suite.run([capital_task("one"), capital_task("two")])
    out = capsys.readouterr().out
    assert "[1/2] local-cpu smollm2-135m: one" in out and "[2/2] local-cpu smollm2-135m: two" in out and "2/2 passed" in out
    assert [r.task for r in results] == ["one", "two"]


def test_table_has_a_row_per_task_and_a_column_per_backend():
    def result(task, passed):
        return suite.Result(task, "b", "m", [""] * len(passed), [""] * len(passed), passed, [""] * len(passed), 0.0)

    text = suite.table({"local-cpu": [result("a", [True, False]), result("b", [True])],
                        "server": [result("a", [True, True]), result("b", [False])]})
    lines = text.splitlines()
    assert lines[0].split() == ["task", "local-cpu", "server"]
    assert lines[1].split() == ["a", "1/2", "2/2"]
    assert lines[2].split() == ["b", "1/1", "0/1"]
    assert suite.table({}) == ""


def test_a_task_without_cases_is_refused(local):
    with pytest.raises(PortalitError, match="no cases"):
        suite.run_task(suite.Task("empty", [], ask=dict, check=bool), local)


def test_rescore_applies_another_check_without_calling_a_model():
    result = suite.Result("json", "b", "m", ['{"city": "Paris"}', "Rome, I think"], ["", ""], [True, True], ["", ""], 1.0)
    valid = suite.rescore(result, CAPITALS, lambda answer, case: grading.check_json(answer, ["city"]), name="valid")
    assert valid.task == "valid" and valid.passed == [True, False]
    assert "no valid JSON object" in valid.reasons[1]
    assert valid.texts == result.texts and result.passed == [True, True]  # the original is untouched
    upper = suite.rescore(result, CAPITALS, lambda answer, case: answer.isupper(), finish=str.upper)
    assert upper.answers[1] == "ROME, I THINK" and upper.passed == [True, True]
