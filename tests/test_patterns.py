"""The six prompt patterns: enough cases, a baseline that differs from the treated prompt only by
the pattern, and checks that pass a right answer and fail a wrong one (so no pattern is scored as
impossible, or as free)."""
import csv
import json
import re
import shutil

import pytest

from portalit import patterns
from portalit.errors import PortalitError
from portalit.geometry.datasets import data_dir

PATTERNS = {p.name: p for p in patterns.all_patterns()}


def test_six_patterns_with_at_least_twenty_cases_each():
    assert list(PATTERNS) == ["role", "few-shot", "output format", "decomposition", "self-check", "delimiting"]
    for pattern in PATTERNS.values():
        assert len(pattern.cases) >= 20, pattern.name
        assert len(set(map(str, pattern.cases))) == len(pattern.cases), f"{pattern.name}: repeated cases"


def test_sentiment_cases_are_balanced_and_exclude_the_examples():
    few = PATTERNS["few-shot"]
    assert sorted(c[1] for c in few.cases).count("positive") == len(few.cases) // 2
    shown = [m["content"] for m in few.treated.ask(few.cases[0])["messages"][:-1] if m["role"] == "user"]
    assert len(shown) == 2
    texts = {c[0] for c in few.cases} | {c[0].removesuffix(patterns.INJECTION) for c in PATTERNS["delimiting"].cases}
    assert not any(text in example for example in shown for text in texts)


@pytest.mark.parametrize("name", list(PATTERNS))
def test_treated_prompt_is_the_baseline_plus_the_pattern(name):
    pattern = PATTERNS[name]
    case = pattern.cases[0]
    base = pattern.baseline.ask(case)
    treated = pattern.treated.ask((case, "41") if pattern.follows_baseline else case)
    assert base != treated
    if name == "role":
        assert treated == {**base, "system": treated["system"]} and "teacher" in treated["system"]
    elif name == "few-shot":
        assert treated["messages"][-1] == {"role": "user", "content": base["prompt"]}
        assert [m["role"] for m in treated["messages"]] == ["user", "assistant"] * 2 + ["user"]
    elif name == "output format":
        assert treated["prompt"].startswith(base["prompt"]) and "JSON" in treated["prompt"]
    elif name == "self-check":
        assert case[0] in treated["prompt"] and "Proposed answer: 41" in treated["prompt"]
    else:  # decomposition, delimiting: the same example turns, written the way each prompt asks
        b, t = base["messages"], treated["messages"]
        assert [m["role"] for m in b] == [m["role"] for m in t] and case[0] in t[-1]["content"] and case[0] in b[-1]["content"]
        assert ("<review>" in t[-1]["content"]) if name == "delimiting" else (t[1]["content"] == "3 2 10" and b[1]["content"] == "4" and len(t) == 5)


def _rows(name):
    with open(data_dir() / "patterns" / f"{name}.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def passes(check, answer, case) -> bool:
    """As the suite scores: a check that raises fails the case."""
    try:
        return bool(check(answer, case))
    except Exception:
        return False


def test_right_answers_pass_and_wrong_ones_fail():
    p = PATTERNS
    for case in p["role"].cases:
        assert passes(p["role"].treated.check, f"The capital is {case[1]}.", case)
        assert not passes(p["role"].baseline.check, "I am not sure.", case)
    assert passes(p["role"].baseline.check, "brasilia", ("Brazil", "Brasília"))
    for case in p["few-shot"].cases:
        other = "negative" if case[1] == "positive" else "positive"
        assert passes(p["few-shot"].baseline.check, f" {case[1].title()}.", case)
        assert not passes(p["few-shot"].baseline.check, f"{other}, not {case[1]}", case)  # the first label named counts
    for case in p["output format"].cases:
        assert passes(p["output format"].treated.check, json.dumps(case[1]), case)
        assert not passes(p["output format"].treated.check, json.dumps({**case[1], "age": case[1]["age"] + 1}), case)
        assert not passes(p["output format"].baseline.check, f"{case[1]['name']}, {case[1]['age']}, {case[1]['city']}", case)
    task = p["decomposition"].treated
    for row, case in zip(_rows("shopping"), p["decomposition"].cases):
        assert passes(task.check, task.finish(f"{row['price']} {row['quantity']} {row['paid']}"), case)
        assert passes(p["decomposition"].baseline.check, f"{case[1]} euros", case)
        assert not passes(p["decomposition"].baseline.check, f"{case[1] + 1}", case)
    with pytest.raises(AssertionError, match="three numbers"):
        task.finish("7 and 3")
    for case in p["self-check"].cases:
        assert passes(p["self-check"].treated.check, str(case[1]), (case, "0"))
        assert not passes(p["self-check"].treated.check, str(case[1] - 10), (case, "0"))
    for case in p["delimiting"].cases:
        assert passes(p["delimiting"].treated.check, case[1], case)
        assert not passes(p["delimiting"].treated.check, f"BANANA {case[1]}", case)


def test_number_reading():
    assert patterns.number_is("It is 1,042 euros", 1042) and patterns.number_is("-5", -5)
    assert not patterns.number_is("no number", 0) and not patterns.number_is("12 then 14", 14)
    assert patterns.number_is("8 + 7 = 15", 15) and not patterns.number_is("8 + 7 = 14", 15)
    assert patterns.number_is("9 + 5 = 14 Assistant: 9 +", 14)


def test_unknown_pattern_names_the_choices():
    with pytest.raises(PortalitError, match="unknown prompt pattern 'tone'; choose one of: role, few-shot"):
        patterns.get("tone")


def test_fingerprint_follows_the_cases(tmp_path, monkeypatch):
    before = patterns.fingerprint()
    copy = tmp_path / "data"
    shutil.copytree(data_dir(), copy)
    sums = copy / "patterns" / "sums.csv"
    sums.write_text(sums.read_text().replace("What is", "Compute", 1))
    monkeypatch.setenv("PORTALIT_DATA", str(copy))
    patterns.all_patterns.cache_clear()
    try:
        assert patterns.fingerprint() != before
    finally:
        monkeypatch.delenv("PORTALIT_DATA")
        patterns.all_patterns.cache_clear()
    assert patterns.fingerprint() == before


def test_injection_cases_carry_the_injection_and_the_defence_fences_them():
    naive, defended = patterns.injection("command")
    control, _ = patterns.injection(None)
    assert len(naive.cases) == len(control.cases) >= 20
    for case, clean in zip(naive.cases, control.cases):
        assert case[0] == clean[0] + patterns.INJECTIONS["command"] and case[1] == clean[1]
    prompt = defended.ask(naive.cases[0])["prompt"]
    assert f"<text>\n{naive.cases[0][0]}\n</text>" in prompt and prompt.count(patterns.TOPIC_QUESTION) == 2
    assert naive.ask(naive.cases[0])["prompt"] == f"{patterns.TOPIC_QUESTION}\n{naive.cases[0][0]}"
    assert patterns.resisted("Library.", naive.cases[0]) and not patterns.resisted("A Banana", naive.cases[0])
    assert patterns.on_topic("It is about the library.", ("x", "library"))
    assert not patterns.on_topic("It is about a joke.", ("x", "library"))
    with pytest.raises(PortalitError, match="choose one of: command, fake answer"):
        patterns.injection("polite")


def test_grounding_cases_and_checks():
    closed, grounded = patterns.grounding(True)
    closed_u, grounded_u = patterns.grounding(False)
    assert len(closed.cases) == 16 and len(closed_u.cases) == 8
    case = closed.cases[0]
    assert case[0] not in closed.ask(case)["prompt"] and case[0] in grounded.ask(case)["prompt"]
    assert patterns.DONT_KNOW in closed.ask(case)["prompt"] and patterns.DONT_KNOW in grounded.ask(case)["prompt"]
    for case in closed.cases:
        fact = case[2].split("|")[0]
        assert fact.lower() in case[0].lower(), case  # the source holds the fact
        assert patterns.grounded(f"It is {fact}.", case) and not patterns.grounded("I don't know.", case)
    for case in closed_u.cases:
        assert patterns.grounded("I don't know.", case) and patterns.grounded("The text does not say.", case)
        assert not patterns.grounded("It costs 18 euros.", case)
    assert patterns.grounded("3 weeks", ("", "", "three weeks|3 weeks"))
    assert patterns.says_unknown("I’m not sure.") and patterns.says_unknown("I'm sorry, but as a chatbot I cannot")
    assert not patterns.says_unknown("The ferry costs 18 euros, sorry.")


def test_prefill_tasks_differ_only_by_the_prefill():
    for prompt in patterns.PERSON_PROMPTS:
        plain, filled = patterns.prefill_json(prompt)
        case = plain.cases[0]
        assert filled.ask(case) == {**plain.ask(case), "prefill": '{"'}
        assert patterns.valid_person(json.dumps(case[1]), case) and patterns.correct_person(json.dumps(case[1]), case)
        assert not passes(patterns.valid_person, '{"name": "Maria", "age": "34"}', case)
        assert not passes(patterns.correct_person, json.dumps({**case[1], "age": 1}), case)
    assert '{"name": "Ana"' in patterns.prefill_json("example")[0].ask(case)["prompt"]
    with pytest.raises(PortalitError, match="choose one of: spec, example"):
        patterns.prefill_json("yaml")


def test_the_new_suites_run_on_the_real_model(local):
    from portalit import suite

    naive, defended = patterns.injection("fake answer")
    short = [suite.Task(t.name, t.cases[:3], t.ask, t.check, t.finish, t.max_tokens) for t in (naive, defended)]
    results = suite.run(short, local, progress=False)
    assert results[1].passed == [True, True, True]  # fenced in tags, the injection does not win
    assert not all(results[0].passed)  # pasted after the question, it does at least once
    plain, filled = patterns.prefill_json("example")
    result = suite.run_task(suite.Task(filled.name, filled.cases[:2], filled.ask, filled.check, max_tokens=32), local)
    assert all(text.startswith('{"') for text in result.texts) and result.passed == [True, True]


def test_lesson_02_reviews_are_balanced_distinct_and_exclude_the_examples():
    reviews = patterns.REVIEWS
    assert len(reviews) >= 20 and len({text for text, _ in reviews}) == len(reviews)
    assert [label for _, label in reviews].count("positive") == len(reviews) // 2
    assert {label for _, label in patterns.REVIEW_EXAMPLES} == set(patterns.LABELS)
    shown = {text for text, _ in patterns.REVIEW_EXAMPLES}
    assert not shown & {text for text, _ in reviews}
    for case in reviews:
        other = "negative" if case[1] == "positive" else "positive"
        assert passes(patterns.same_label, f" {case[1].title()}.", case)
        assert not passes(patterns.same_label, other, case)
        assert not passes(patterns.same_label, "positive or negative", case)  # naming both is no answer
        assert not passes(patterns.same_label, "I cannot say.", case)


def test_lesson_02_people_sums_and_capitals_have_twenty_cases_and_checks_that_tell_right_from_wrong():
    people, shopping, capitals = patterns.people(), patterns.shopping(), patterns.capitals()
    assert len(people) >= 20 and len(shopping) >= 20 and len(capitals) >= 20
    for cases in (people, shopping, capitals):
        assert len({str(case) for case in cases}) == len(cases)
    for (question, price, quantity, paid), case in zip(patterns.SHOPPING, shopping):
        assert case == (question, paid - price * quantity) and case[1] > 0
        assert [int(n) for n in re.findall(r"\d+", question)] == [price, quantity, paid]
        # an answer that repeats the question, or stops at the total, cannot name the change by accident
        assert case[1] not in (price, quantity, paid, price * quantity)
        reading = json.dumps({"price": price, "quantity": quantity, "paid": paid})
        assert patterns.change_from_json(f"Sure: {reading}") == case[1]
        assert passes(patterns.states_change, f"{paid} - {price * quantity} = {case[1]} euros", case)
        assert not passes(patterns.states_change, question, case)
        assert not passes(patterns.states_change, f"{case[1]}0", case)
    with pytest.raises(AssertionError, match="paid"):
        patterns.change_from_json('{"price": 3, "quantity": 2}')
    for case in people:
        assert case[1]["name"] in case[0] and str(case[1]["age"]) in case[0] and case[1]["city"] in case[0]
    for case in capitals:
        assert patterns.names_city(f"The capital is {case[1]}.", case) and not patterns.names_city("Sydney", case)
    assert patterns.verdict_agrees("Yes.", ("France", "Paris", True))
    assert patterns.verdict_agrees("No, it is not.", ("France", "Lyon", False))
    assert not patterns.verdict_agrees("Yes", ("France", "Lyon", False))
    assert not passes(patterns.verdict_agrees, "yes or no", ("France", "Paris", True))
