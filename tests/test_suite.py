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


def test_wilson_interval_matches_the_textbook_values():
    # Wilson (1927); the values of Newcombe (1998), table I: 81/263 -> 0.2553-0.3662, 0/20 -> 0-0.1611
    assert suite.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    assert suite.wilson(0, 20) == pytest.approx((0.0, 0.1611), abs=1e-4)
    low, high = suite.wilson(4, 8)
    assert low < 0.25 and high > 0.75  # 4/8 says little: the interval spans half the scale
    with pytest.raises(PortalitError, match="0 <= passes <= cases"):
        suite.wilson(3, 2)


def test_exact_mcnemar_matches_the_binomial_sign_test():
    assert suite.mcnemar_exact(0, 0) == 1.0
    assert suite.mcnemar_exact(6, 0) == 0.03125 and suite.mcnemar_exact(0, 5) == 0.0625  # 2 / 2**n
    assert suite.mcnemar_exact(8, 2) == pytest.approx(0.109375)  # 2 * (1 + 10 + 45) / 1024
    assert suite.mcnemar_exact(3, 3) == 1.0


def test_a_result_has_a_rate_and_an_interval():
    result = suite.Result("t", "b", "m", ["", ""], ["", ""], [True, False], ["", ""], 0.0)
    assert result.rate == 0.5 and result.interval == suite.wilson(1, 2)
    assert "1/2  0.50  [0.09, 0.91]" in suite.describe(result)


def test_constant_answers_are_baselines_scored_by_the_task_check():
    cases = [("good", "positive"), ("bad", "negative"), ("fine", "positive")]
    task = suite.Task("sentiment", cases, ask=lambda case: {"prompt": case[0]},
                      check=lambda answer, case: grading.check_label(answer, ["positive", "negative"]) == case[1])
    always = suite.constant(task, "positive")
    assert always.passed == [True, False, True] and always.task == "always 'positive'" and always.seconds == 0.0
    text = suite.report([always], baselines=[suite.constant(task, "negative", name="always negative")])
    assert "baselines:" in text and "always negative" in text and "1/3" in text


def test_swap_labels_rewrites_only_the_label_order():
    task = suite.Task("judge", [("x",)], max_tokens=3, check=bool,
                      ask=lambda case: {"messages": [{"role": "user", "content": "Is it right? Answer yes or no."},
                                                     {"role": "assistant", "content": "yes"}]})
    swapped = suite.swap_labels(task, "yes", "no")
    messages = swapped.ask(("x",))["messages"]
    assert messages[0]["content"] == "Is it right? Answer no or yes." and messages[1]["content"] == "yes"
    assert swapped.name == "judge (no or yes)" and swapped.max_tokens == 3
    with pytest.raises(PortalitError, match="nothing to swap"):
        suite.swap_labels(task, "positive", "negative")


def test_swapped_labels_run_on_the_model(local):
    task = suite.Task("judge", [("Paris", "France")], max_tokens=4, check=lambda answer, case: True,
                      ask=lambda case: {"prompt": f"Is {case[0]} the capital of {case[1]}? Answer yes or no."})
    result = suite.run_task(suite.swap_labels(task, "yes", "no"), local)
    assert result.passed == [True] and result.texts[0]


def test_compare_gives_the_paired_difference_and_says_whether_it_is_clear():
    def result(passed):
        return suite.Result("t", "b", "m", [""] * len(passed), [""] * len(passed), passed, [""] * len(passed), 0.0)

    small = suite.compare(result([True, False, True, False]), result([True, True, True, False]))
    assert small["effect"] == 0.25 and small["ci_low"] <= 0 and not small["distinguishable"]
    assert (small["gained"], small["lost"], small["p_exact"]) == (1, 0, 1.0)
    large = suite.compare(result([False] * 20), result([True] * 18 + [False] * 2))
    assert large["effect"] == 0.9 and large["ci_low"] > 0.7 and large["distinguishable"] and large["p_exact"] < 1e-4
    # four of four: the bootstrap sees no spread at all, the exact test sees 1 chance in 8
    four = suite.compare(result([False] * 4), result([True] * 4))
    assert (four["ci_low"], four["ci_high"]) == (1.0, 1.0) and four["p_exact"] == 0.125 and not four["distinguishable"]
    with pytest.raises(PortalitError, match="different numbers of cases"):
        suite.compare(result([True]), result([True, False]))


def test_describe_compare_puts_the_difference_and_the_exact_test_in_one_line():
    def result(name, passed):
        return suite.Result(name, "b", "m", [""] * len(passed), [""] * len(passed), passed, [""] * len(passed), 0.0)

    line = suite.describe_compare(result("plain", [False] * 20), result("pattern", [True] * 18 + [False] * 2))
    assert line.startswith("pattern vs plain: +0.90 [") and "won 18, lost 0" in line and line.endswith(": clear")
    four = suite.describe_compare(result("plain", [False] * 4), result("pattern", [True] * 4))
    assert "[+1.00, +1.00]" in four and "exact p = 0.125" in four and four.endswith("cannot be told apart from luck")


def test_head_cuts_a_task_or_a_result_to_its_first_cases():
    task = capital_task()
    short = suite.head(task, 1)
    assert short.cases == CAPITALS[:1] and short.name == task.name and short.max_tokens == task.max_tokens
    result = suite.Result("t", "b", "m", ["a", "b", "c"], ["A", "B", "C"], [True, False, True], ["", "x", ""], 1.0)
    first = suite.head(result, 2)
    assert (first.texts, first.passed, first.score) == (["a", "b"], [True, False], "1/2") and result.score == "2/3"
    with pytest.raises(PortalitError, match="at least one case"):
        suite.head(task, 0)
    with pytest.raises(PortalitError, match="not list"):
        suite.head([], 2)
