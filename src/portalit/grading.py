"""Checks used by the exercise tests: deterministic, fair to free text, and never leaking answers.

Tests that grade model output call `ask()`, which always uses the embedded local model (local-cpu,
smollm2-135m) at temperature 0 with a fixed seed, whatever backend the notebook selected: a grade
must not depend on which model a learner practised with, nor change from one run to the next.
Free text is never compared character by character. Checks look at structure (valid JSON with the
required fields), limits (words, characters), required facts (words that must appear) and, where
meaning matters, semantic similarity with minilm against a reference above a stated threshold.

Every failed check raises CheckFailed (an AssertionError) whose message says what was checked and
how the answer fell short, never what the expected answer is, because hidden tests use the same
checks and their messages reach learners in the feedback. The check_* functions return None (bar
check_json and check_label, which return what they parsed): nbgrader reads a number displayed by a
test cell's last line as partial credit, so a check must never display one.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache

from .errors import PortalitError

GRADING_BACKEND = "local-cpu"
GRADING_SEED = 0
GRADING_MAX_TOKENS = 64
SHOWN_CHARS = 120  # how much of a learner's own answer a message quotes back


class CheckFailed(AssertionError):
    """A check did not pass; the message is safe to show to learners."""


@lru_cache(maxsize=1)
def grading_client():
    """The client that grades: the embedded local model, never the learner's chosen backend."""
    from .session import Client

    return Client(GRADING_BACKEND)


def warm_up(chat: bool = False, embed: bool = False) -> None:
    """Load the grading models now (imports, weights, any one-time library warnings).

    Call it in a notebook's setup cell: nbgrader scores a test cell 0 if it prints anything to
    stderr, so a first-use warning must not land inside a test.
    """
    if chat:
        ask("Hi", max_tokens=1)
    if embed:
        similarity("warm", "up")


def ask(prompt: str, system: str | None = None, max_tokens: int = GRADING_MAX_TOKENS) -> str:
    """The grading model's answer to `prompt`: local-cpu, temperature 0, seed 0 (deterministic)."""
    _require_text(prompt, "the prompt")
    if system is not None:
        _require_text(system, "the system prompt")
    try:
        result = grading_client().chat(prompt, system=system, temperature=0.0, max_tokens=max_tokens,
                                       seed=GRADING_SEED)
    except PortalitError as e:
        raise CheckFailed(f"the grading model could not answer the prompt: {e}") from None
    return result.text.strip()


def words(text: str) -> list[str]:
    """The words of `text` (letters, digits, inner apostrophes and hyphens); punctuation is not a word."""
    return re.findall(r"[^\W_]+(?:['’-][^\W_]+)*", str(text))


def check_word_limit(text: str, max_words: int, min_words: int = 1, what: str = "the answer") -> None:
    """Passes if `text` has min_words..max_words words."""
    n = len(words(text))
    if n < min_words:
        raise CheckFailed(f"{what} has {n} words; it needs at least {min_words}{_shown(text)}")
    if n > max_words:
        raise CheckFailed(f"{what} has {n} words; the limit is {max_words}{_shown(text)}")


def check_char_limit(text: str, max_chars: int, what: str = "the answer") -> None:
    """Passes if `text` (stripped) has at most max_chars characters."""
    n = len(str(text).strip())
    if n > max_chars:
        raise CheckFailed(f"{what} has {n} characters; the limit is {max_chars}{_shown(text)}")


def contains(text: str, fact) -> bool:
    """Whether `text` mentions `fact` (a string, or a tuple/list of acceptable alternatives).

    Case-insensitive and on word boundaries, so "Paris" is found in "paris." but not in "comparison".
    """
    options = [fact] if isinstance(fact, str) else list(fact)
    folded = _fold(text)
    return any(re.search(rf"(?<!\w){re.escape(_fold(o))}(?!\w)", folded) for o in options)


def check_contains(text: str, facts, what: str = "the answer", hint: str | None = None) -> None:
    """Passes if `text` mentions every fact; the message counts the missing ones without naming them.

    `hint` (written by the test's author) says what the facts are about, e.g. "the city asked about".
    """
    facts = [facts] if isinstance(facts, str) else list(facts)
    missing = [f for f in facts if not contains(text, f)]
    if missing:
        about = f" ({hint})" if hint else ""
        raise CheckFailed(f"{what} misses {len(missing)} of {len(facts)} required facts{about}{_shown(text)}")


def check_absent(text: str, forbidden, what: str = "the answer", hint: str | None = None) -> None:
    """Passes if `text` mentions none of the forbidden words or phrases."""
    forbidden = [forbidden] if isinstance(forbidden, str) else list(forbidden)
    found = [f for f in forbidden if contains(text, f)]
    if found:
        about = f" ({hint})" if hint else ""
        raise CheckFailed(f"{what} mentions {len(found)} thing(s) it must not{about}{_shown(text)}")


def parse_json_object(text: str) -> dict:
    """The first JSON object in a model's reply, which may wrap it in prose or ``` fences."""
    text = str(text)
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    raise CheckFailed(f"no valid JSON object found{_shown(text)}")


def check_json(text, fields, what: str = "the answer") -> dict:
    """Parses a JSON object out of `text` (or takes a dict) and checks its required fields.

    `fields` is a list of names, or a dict of name -> type (or tuple of types); returns the object.
    """
    obj = text if isinstance(text, dict) else parse_json_object(text)
    spec = dict(fields) if isinstance(fields, dict) else {name: object for name in fields}
    for name, kind in spec.items():
        if name not in obj:
            raise CheckFailed(f"{what}: the JSON object has no field {name!r} (fields: {', '.join(map(repr, obj)) or 'none'})")
        if kind is not object and not _is_instance(obj[name], kind):
            raise CheckFailed(f"{what}: field {name!r} should be {_type_name(kind)}, got {type(obj[name]).__name__}")
    return obj


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts' minilm sentence embeddings (unit vectors): 1 = same meaning."""
    _require_text(a, "the first text")
    _require_text(b, "the second text")
    vectors = grading_client().embed([str(a), str(b)], model="minilm")
    return float(vectors[0] @ vectors[1])


def check_similar(text: str, reference: str, threshold: float, what: str = "the answer") -> None:
    """Passes if minilm similarity(text, reference) >= threshold (print `similarity()` to see it)."""
    if not str(text).strip():
        raise CheckFailed(f"{what} is empty")
    score = similarity(text, reference)
    if score < threshold:
        raise CheckFailed(f"{what} is not close enough in meaning to the reference: minilm similarity "
                          f"{score:.2f}, the threshold is {threshold:.2f}{_shown(text)}")


def check_label(text: str, labels, what: str = "the answer") -> str:
    """The one label of `labels` that `text` mentions; CheckFailed if it mentions none or several."""
    labels = list(labels)
    found = [label for label in labels if contains(text, label)]
    if len(found) != 1:
        problem = "none" if not found else f"{len(found)}"
        raise CheckFailed(f"{what} should name exactly one of: {', '.join(labels)}; it names {problem}{_shown(text)}")
    return found[0]


def check_close(value, expected, rel_tol: float = 1e-6, abs_tol: float = 1e-9, what: str = "the value") -> None:
    """Passes if the number `value` is within tolerance of `expected`; the message shows only `value`."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"{what} should be a number, got {type(value).__name__}") from None
    if math.isnan(number) or not math.isclose(number, float(expected), rel_tol=rel_tol, abs_tol=abs_tol):
        raise CheckFailed(f"{what} is not the expected value (got {number:.6g})")


def check_equal(value, expected, what: str = "the value") -> None:
    """Passes if value == expected (words, labels, lists); the message shows only `value`."""
    if value != expected:
        raise CheckFailed(f"{what} is not the expected value (got {_short(repr(value))})")


def check_type(value, kind, what: str = "the value") -> None:
    if not _is_instance(value, kind):
        raise CheckFailed(f"{what} should be {_type_name(kind)}, got {type(value).__name__}")


def check_shape(array, shape, what: str = "the array") -> None:
    """Passes if `array` has this shape (None in `shape` accepts any size on that axis)."""
    got = tuple(getattr(array, "shape", ()))
    if len(got) != len(shape) or any(s is not None and g != s for g, s in zip(got, shape)):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
        raise CheckFailed(f"{what} should have shape {want}, got {got}")


# The code a learner submitted, set by `portalit grade`'s trusted executor while it grades one
# submission: {"cells": [(label, source), ...], "setup": [source, ...]}. None anywhere else.
SUBMITTED: dict | None = None


def check_by_hand(module: str, names, answer: str) -> None:
    """CheckFailed if the code of answer cell `answer` (its grade_id), or of a cell the learner
    added, reaches `module`.NAME for a NAME in `names` (see portalit.byhand). Only `portalit
    grade` supplies the submitted code; elsewhere this check passes."""
    if SUBMITTED is None:
        return
    from . import byhand

    known = byhand.aliases(SUBMITTED["setup"], module)
    for label, source in SUBMITTED["cells"]:
        if label != answer and not label.startswith("cell "):  # other parts' answers are theirs to judge
            continue
        how = byhand.reaches(source, module, names, known)
        if how:
            raise CheckFailed(f"this part is to be written by hand, but your code {how[0]} (in {label})")


def check(condition, message: str) -> None:
    """Passes if `condition` is true; otherwise fails with `message` (say what was checked)."""
    if not condition:
        raise CheckFailed(message)


def without_hidden_tests(source: str) -> str:
    """A test cell's source as learners see it: nbgrader's hidden-test blocks taken out (what the
    grader runs in the learner's sandbox, and what `portalit.check` runs)."""
    lines, hiding = [], False
    for line in source.splitlines(keepends=True):
        if "### BEGIN HIDDEN TESTS" in line:
            hiding = True
        elif "### END HIDDEN TESTS" in line:
            hiding = False
        elif not hiding:
            lines.append(line)
    return "".join(lines)


def _require_text(value, what) -> None:
    if not isinstance(value, str):
        raise CheckFailed(f"{what} should be a string (text), got {type(value).__name__}")
    if not value.strip():
        raise CheckFailed(f"{what} is empty")


def _fold(text) -> str:
    return " ".join(str(text).casefold().split())


def _short(text: str, n: int = SHOWN_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _shown(text) -> str:
    return f"; it was: {_short(text)!r}"


def _is_instance(value, kind) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # JSON true is not a number
    if float in kinds and isinstance(value, int):
        return True
    return isinstance(value, kinds)


def _type_name(kind) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {str: "text", int: "a whole number", float: "a number", bool: "true/false", list: "a list",
             dict: "an object"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
