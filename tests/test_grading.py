"""portalit.grading: the checks exercise tests use. Deterministic, fair to free text, and their
failure messages never contain the expected answer."""
import pytest

from portalit import grading
from portalit.grading import CheckFailed


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(CheckFailed) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, AssertionError)  # nbgrader and pytest treat it as a failed test
    return str(info.value)


def test_words_ignore_punctuation_and_keep_contractions():
    assert grading.words("Paris, France's capital - is it? Yes!") == ["Paris", "France's", "capital", "is", "it", "Yes"]
    assert grading.words("state-of-the-art models") == ["state-of-the-art", "models"]


def test_word_and_char_limits():
    assert grading.check_word_limit("one two three", 3) is None
    message = fails(grading.check_word_limit, "one two three four", 3, what="the reply")
    assert "the reply has 4 words; the limit is 3" in message
    assert "needs at least 2" in fails(grading.check_word_limit, "one", 5, min_words=2)
    assert grading.check_char_limit("  abc  ", 3) is None
    assert "4 characters" in fails(grading.check_char_limit, "abcd", 3)


def test_contains_matches_whole_words_case_insensitively_with_alternatives():
    assert grading.contains("The capital is PARIS.", "Paris")
    assert not grading.contains("a comparison", "paris")
    assert grading.contains("It is Berlin", ("Bonn", "Berlin"))
    assert grading.contains("New  York city", "new york")  # whitespace is normalised


def test_check_contains_counts_missing_facts_without_naming_them():
    assert grading.check_contains("Paris is in France", ["Paris", "France"]) is None
    message = fails(grading.check_contains, "It is Lyon.", ["Paris", "France"], hint="the capital and its country")
    assert "misses 2 of 2 required facts (the capital and its country)" in message
    assert "Paris" not in message and "France" not in message  # the answer is not leaked
    assert "'It is Lyon.'" in message  # the learner's own answer is shown back


def test_check_absent():
    assert grading.check_absent("a calm answer", ["angry"]) is None
    message = fails(grading.check_absent, "I am angry", ["angry", "furious"])
    assert "1 thing(s) it must not" in message and "furious" not in message


def test_parse_json_object_tolerates_prose_and_fences():
    assert grading.parse_json_object('Sure!\n```json\n{"a": {"b": [1, "}"]}}\n```') == {"a": {"b": [1, "}"]}}
    assert grading.parse_json_object('[1, 2] then {bad then {"ok": true}') == {"ok": True}
    assert "no valid JSON object" in fails(grading.parse_json_object, "[1, 2, 3]")


def test_check_json_checks_fields_and_types():
    obj = grading.check_json('Here: {"name": "Ada", "age": 36, "score": 9}', {"name": str, "age": int, "score": float})
    assert obj["name"] == "Ada"
    assert grading.check_json({"x": 1}, ["x"]) == {"x": 1}
    assert "no field 'age'" in fails(grading.check_json, '{"name": "Ada"}', {"name": str, "age": int})
    assert "should be a whole number, got str" in fails(grading.check_json, '{"age": "36"}', {"age": int})
    assert "got bool" in fails(grading.check_json, '{"age": true}', {"age": int})  # JSON true is not a number


def test_check_label_needs_exactly_one_label():
    assert grading.check_label("The review is Positive.", ["positive", "negative"]) == "positive"
    assert "names none" in fails(grading.check_label, "It is fine.", ["positive", "negative"])
    assert "names 2" in fails(grading.check_label, "positive or negative", ["positive", "negative"])


def test_check_close_and_equal_show_only_the_learners_value():
    assert grading.check_close(0.1 + 0.2, 0.3) is None
    message = fails(grading.check_close, 0.25, 0.3, what="the share")
    assert "the share is not the expected value (got 0.25)" in message and "0.3" not in message
    assert "should be a number, got str" in fails(grading.check_close, "x", 1.0)
    assert "got nan" in fails(grading.check_close, float("nan"), 1.0)
    assert grading.check_equal(["queen"], ["queen"]) is None
    message = fails(grading.check_equal, "king", "queen", "the answer")
    assert "got 'king'" in message and "queen" not in message


def test_check_type_shape_and_check():
    import numpy as np

    assert grading.check_type(3, (int, float)) is None
    assert "got bool" in fails(grading.check_type, True, int)
    assert grading.check_shape(np.zeros((3, 4)), (3, None)) is None
    assert "shape (2, any), got (3, 4)" in fails(grading.check_shape, np.zeros((3, 4)), (2, None))
    assert grading.check(True, "never shown") is None
    assert fails(grading.check, False, "what was checked") == "what was checked"


def test_long_answers_are_shortened_in_messages():
    message = fails(grading.check_word_limit, "word " * 200, 5)
    assert len(message) < 250 and message.endswith("...'")


def test_checks_return_none_so_nbgrader_never_reads_a_score_from_them():
    # nbgrader takes a number displayed by a test cell's last line as partial credit.
    assert grading.check_similar.__annotations__["return"] in ("None", None)
    for name in ("check", "check_close", "check_equal", "check_type", "check_shape", "check_word_limit",
                 "check_char_limit", "check_contains", "check_absent", "check_similar"):
        assert getattr(grading, name).__annotations__.get("return") in ("None", None), name


def test_similarity_with_minilm_orders_meanings():
    reference = "A token is a small piece of text, such as a word or part of a word."
    close = grading.similarity("Tokens are pieces of text, like words or parts of words.", reference)
    far = grading.similarity("The weather in Lisbon is sunny today.", reference)
    assert 0.6 < close <= 1.0 and far < 0.3
    assert grading.check_similar("Tokens are pieces of text, like words or parts of words.", reference, 0.6) is None
    message = fails(grading.check_similar, "The weather in Lisbon is sunny today.", reference, 0.6)
    assert "minilm similarity" in message and "threshold is 0.60" in message and "token" not in message.split(";")[0]


def test_ask_is_the_local_model_at_temperature_zero_and_deterministic(monkeypatch):
    monkeypatch.setenv("PORTALIT_BACKEND", "cloud")  # a learner's choice must not change grading
    grading.grading_client.cache_clear()
    try:
        first = grading.ask("Which city is the capital of France?", max_tokens=16)
        assert grading.grading_client().backend == "local-cpu"
        assert "Paris" in first
        assert grading.ask("Which city is the capital of France?", max_tokens=16) == first
    finally:
        grading.grading_client.cache_clear()
    assert "the prompt is empty" in fails(grading.ask, "   ")
    assert "should be a string" in fails(grading.ask, 42)


def test_warm_up_loads_what_a_notebook_will_use():
    assert grading.warm_up() is None  # nothing asked, nothing loaded
    assert grading.warm_up(chat=True, embed=True) is None
