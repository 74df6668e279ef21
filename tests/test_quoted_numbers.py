"""Every measured-looking number in a lesson's prose is guarded: checked by a `quoted.check` call in
one of the lesson's cells (which fails CI when the measurement drifts), or listed in
tests/lesson_facts.toml as a fact that cannot drift (a year, a data set's size, a method's
constant). And every guard quotes a number the prose still contains."""
from __future__ import annotations

import ast
import re
import tomllib

import nbformat
import pytest

from portalit import quoted
from portalit.errors import PortalitError

from .conftest import ROOT

LESSONS = sorted((ROOT / "lessons").glob("[0-9][0-9]_*.ipynb"))
FACTS = tomllib.loads((ROOT / "tests" / "lesson_facts.toml").read_text())
# A decimal, a percentage, a ratio (3.5×) or a count written with thousands separators.
MEASURED = re.compile(r"(?<![\w.,])(?:\d+\.\d+\s?(?:%|×)?|\d[\d,]*\s?%|\d[\d,]*(?:\.\d+)?×|\d{1,3}(?:,\d{3})+)(?![\w.]\d)")


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
        text.append(source)
        if "## References" in cell.source:
            break
    return "\n".join(text)


def numbers(text: str) -> set[str]:
    text = re.sub(r"(?i)arxiv:\s*\d{4}\.\d{4,5}(?:v\d+)?", " ", text)  # a citation, not a number
    return {re.sub(r"\s", "", n) for n in MEASURED.findall(text)}


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
                found.add(re.sub(r"\s", "", node.args[1].value))
    return found


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem[:2])
def test_every_measured_number_in_the_prose_is_guarded_or_a_fact(path):
    nb = nbformat.read(path, as_version=4)
    facts = set(FACTS.get(path.stem[:2], {}).get("facts", []))
    unguarded = sorted(numbers(prose(nb)) - guards(nb) - facts)
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
        facts = set(FACTS.get(path.stem[:2], {}).get("facts", []))
        assert facts <= numbers(prose(nbformat.read(path, as_version=4))), path.name


def test_a_drifted_measurement_fails_with_the_quote_and_the_measurement():
    quoted.check(0.61, "62%", within=0.03, what="accuracy")
    quoted.check(19544, "19,544", within=0, what="questions")
    quoted.check(3.4, "3.5×", within=0.2, what="speed-up")
    with pytest.raises(PortalitError, match=r"quotes 62% for accuracy, but this run measured 55.0%"):
        quoted.check(0.55, "62%", within=0.03, what="accuracy")
    with pytest.raises(PortalitError, match="not a number such as"):
        quoted.check(1, "about sixty", within=0, what="x")
    with pytest.raises(PortalitError, match="measured nan"):
        quoted.check(float("nan"), "0.5", within=1, what="x")


def test_the_prose_scanner_sees_what_it_should():
    assert numbers("it reached 0.885, then 62 % and 3.5× on 19,544 questions in 2014 (section 4, arXiv:1309.4168)") == \
        {"0.885", "62%", "3.5×", "19,544"}
