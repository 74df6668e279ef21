"""Every measured-looking number in a lesson's prose is guarded: checked by a `quoted.check` call in
one of the lesson's cells (which fails CI when the measurement drifts), or listed in
tests/lesson_facts.toml as a fact that cannot drift (a year, a data set's size, a method's
constant). And every guard quotes a number the prose still contains.

Two scanners find them. MEASURED finds digits that look measured: decimals, percentages, ratios
and thousands counts. COUNTED finds measured amounts written as counts or in words, where a bare
number word is structural ("two models", "section 3", "three steps") and so is never flagged: a
share ("7 to 8 cases out of 10", "two of the four", "1 in 64", "7/20"), a count of a group ("three
of these"), a multiple in a comparison ("four times as", "twice as", "two- to five-fold", "a factor
of twenty", "3x"), a fraction ("about half", "a tenth", "¾"), a count next to a result word ("one
phrasing right", "failed one", "labelled all eight") and a change ("grew from 41 to over 130").
What it flags that is a definition, not a measurement ("chance is 1 in 64", "one of the three
inputs"), is listed in tests/lesson_facts.toml with its reason."""
from __future__ import annotations

import ast
import re
import tomllib

import nbformat
import pytest

from portalit import quoted

from .conftest import ROOT

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
FACTS = tomllib.loads((ROOT / "tests" / "lesson_facts.toml").read_text())
# A decimal, a percentage, a ratio (3.5×) or a count written with thousands separators.
MEASURED = re.compile(r"(?<![\w.,])(?:\d+\.\d+\s?(?:%|×)?|\d[\d,]*\s?%|\d[\d,]*(?:\.\d+)?×|\d{1,3}(?:,\d{3})+)(?![\w.]\d)")

# A number as a count: digits that are not part of a decimal, or a number word. A bare number is
# structural ("two models", "section 3"); only the shapes below make it a quoted measurement.
_WORD = ("zero|none|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
         "sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred")
_N = rf"(?<![\w.,/])(?:\d+(?![.,]?\d)|(?:{_WORD})\b)"
_SOME = r"(?:\b(?:about|roughly|nearly|almost|around|only|just|a little over|a little under|well over|over|under|" \
        r"more than|less than|fewer than|at least|at most)\s+)?"
_GROUP = r"(?:the|these|those|its|their|each|every|all)"
_RANGE = rf"{_SOME}{_N}(?:-?\s*(?:to|–|or)\s*{_SOME}{_N})?"
_TRIES = r"(?:times?|cases?|runs?|tries|trials|draws|questions|answers)"  # "1 time in 8", not "two models in three"
_COMPARED = r"(?=\s+(?:as|the|more|less|fewer|\w+er)\b)"  # "four times as much", "13 times smaller"
COUNTED = [re.compile(pattern, re.IGNORECASE) for pattern in [
    # a share: "7 to 8 cases out of 10", "two of the four", "1 in 64", "one time in nine", "not one of the six"
    rf"(?:\b(?:every|not)\s+)?{_RANGE}\s+(?:of|(?:\w+\s+)?out\s+of|(?:{_TRIES}\s+)?in)\s+(?:{_GROUP}\s+)?{_N}",
    rf"{_SOME}(?!one\b){_N}\s+of\s+{_GROUP}\b",  # "three of these"; "one of the inputs" names a member, not a count
    rf"{_SOME}{_N}\s*/\s*\d+\b(?![.,/]\d)",                                    # 7/20
    rf"{_RANGE}(?:-fold\b|\s+times\b{_COMPARED})",                              # not "three times:"
    rf"{_SOME}\b(?:twice|thrice)(?=\s+(?:as|the|\w+er)\b)",                    # not "twice more"
    rf"\bfactor\s+of\s+{_SOME}{_N}",
    rf"{_SOME}(?<![\w.,])\d+x\b",
    rf"{_SOME}\b(?:a|one|two|three|four)\s+(?:thirds?|quarters?|fifths?|tenths?)\b",
    rf"{_SOME}\bhalf\b",
    rf"{_SOME}[½⅓⅔¼¾⅕⅒]",
    rf"{_RANGE}\s+(?:\w+\s+)?(?:right|wrong|correct|incorrect|correctly|errors|mistakes|hits|misses)\b",
    rf"\b(?:won|lost|passed|failed|scored|labelled|answered|got|matched)\s+(?:all\s+|only\s+)?{_N}(?:\s*/\s*\d+)?",
    rf"\b(?:grew|rose|fell|dropped|went|climbed|increased|decreased|shrank)\s+from\s+{_SOME}{_N}\s+to\s+{_SOME}{_N}",
]]


def token(text: str) -> str:
    """One spelling per quote, for prose and guards alike: lower case, single spaces, none inside
    "62 %", "3.5 ×" or "10 / 119"."""
    text = " ".join(text.lower().split())
    text = re.sub(r"(?<=[\d.]) (?=[%×])", "", text)
    return re.sub(r" ?/ ?", "/", text)


def prose(nb) -> str:
    """The lesson's markdown up to its references, without code spans, links' targets and tags."""
    text = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        source = cell.source.split("## References")[0]
        source = re.sub(r"`[^`]*`", " ", source)
        source = re.sub(r"\]\([^)]*\)", "]", source)
        source = re.sub(r"<[^>]+>", " ", source)
        source = re.sub(r"\*+", "", source)  # emphasis: "**none** of the three"
        text.append(source)
        if "## References" in cell.source:
            break
    return "\n".join(text)


def numbers(text: str) -> set[str]:
    text = re.sub(r"(?i)arxiv:\s*\d{4}\.\d{4,5}(?:v\d+)?", " ", text)  # a citation, not a number
    found = {token(n) for n in MEASURED.findall(text)}
    kept = []  # the longest of overlapping quotes: "none of the eight", not "labelled none" or "none of the"
    for start, stop in sorted({match.span() for pattern in COUNTED for match in pattern.finditer(text)},
                              key=lambda span: (span[0] - span[1], span[0])):
        if all(stop <= other_start or start >= other_stop for other_start, other_stop in kept):
            kept.append((start, stop))
            found.add(token(text[start:stop]))
    return found


def facts(path) -> set[str]:
    """What tests/lesson_facts.toml lists for a lesson: its facts, and the quotes still pending a guard."""
    lesson = path.stem[:2]
    return set(FACTS.get(lesson, {}).get("facts", [])) | set(FACTS.get("pending", {}).get(lesson, {}).get("facts", []))


def guards(nb) -> set[str]:
    """The numbers the lesson's cells pass to quoted.check."""
    found = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "check" \
                    and getattr(node.func.value, "id", None) == "quoted" and len(node.args) >= 2 \
                    and isinstance(node.args[1], ast.Constant):
                found.add(token(node.args[1].value))
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem[:2])
def test_every_measured_number_in_the_prose_is_guarded_or_a_fact(path):
    nb = nbformat.read(path, as_version=4)
    unguarded = sorted(numbers(prose(nb)) - guards(nb) - facts(path))
    assert not unguarded, (f"{path.name} quotes numbers nothing checks: {unguarded}; guard each with "
                           "quoted.check in the cell that measures it, print it instead, or list a true "
                           "constant in tests/lesson_facts.toml")


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem[:2])
def test_every_guard_quotes_a_number_the_prose_still_has(path):
    nb = nbformat.read(path, as_version=4)
    stale = sorted(guards(nb) - numbers(prose(nb)))
    assert not stale, f"{path.name} guards numbers its prose no longer quotes: {stale}"


def test_facts_are_listed_only_for_numbers_the_prose_has():
    for path in LESSONS:
        gone = sorted(facts(path) - numbers(prose(nbformat.read(path, as_version=4))))
        assert not gone, f"{path.name}: tests/lesson_facts.toml lists {gone}, which its prose no longer quotes"


def test_the_prose_scanner_sees_what_it_should():
    assert numbers("it reached 0.885, then 62 % and 3.5× on 19,544 questions in 2014 (section 4, arXiv:1309.4168)") == \
        {"0.885", "62%", "3.5×", "19,544"}


@pytest.mark.parametrize("text, found", [
    ("the top answer is an input in 7 to 8 cases out of 10 (last column)", {"7 to 8 cases out of 10"}),
    ("Chance is 1 in 64.", {"1 in 64"}), ("right about one time in nine", {"about one time in nine"}),
    ("In two of the four answers", {"two of the four"}),
    ("it won 7/20 and 10 / 119 ≈ 0.08", {"won 7/20", "10/119", "0.08"}),
    ("below it in three of these sections", {"three of these"}),
    ("None of the three transferred", {"none of the three"}),
    ("labelled none of the eight reviews, then labelled all eight", {"none of the eight", "labelled all eight"}),
    ("About half right overall", {"about half"}), ("more than half of them", {"more than half"}),
    ("PCA a little over a third; axes keep about a tenth", {"a little over a third", "about a tenth"}),
    ("about twice as fast, and four to about eight times as much", {"about twice", "four to about eight times"}),
    ("the search is 13 times smaller; a 3x speed-up", {"13 times", "3x"}),
    ("spread them out two- to five-fold", {"two- to five-fold"}),
    ("a factor of about twenty", {"factor of about twenty"}),
    ("about ¾ of a word", {"about ¾"}), ("get one phrasing right; it failed one", {"one phrasing right", "failed one"}),
    ("the prompt grew from 41 to over\n130", {"grew from 41 to over 130"}),
])
def test_the_prose_scanner_sees_counts_and_number_words(text, found):
    assert numbers(text) == found


def test_the_prose_scanner_leaves_structural_numbers_alone():
    text = ("Section 3 compares two models in three steps (Part 2, lesson 03, 2014). The top-5 answers of six "
            "topics, 20 in each; run the cell twice; twice more; the same question three times; resample 10,000 "
            "times is a fact; one of the inputs; 150 steps of 128 pairs; one wins by luck; all three match; the "
            "five parts of a prompt")
    assert numbers(text) == {"10,000"}
