"""Numbers a lesson's prose quotes, checked against what the lesson's cells measure.

A lesson that writes "GloVe answers 62% of the analogies" must not drift from what the code
computes. The cell that measures it calls

    quoted.check(accuracy, "62%", within=0.03, what="GloVe's accuracy on the analogy set")

which passes silently while the measurement stays within `within` of the quoted number, and
raises otherwise, so CI (which runs every lesson) fails and names the sentence to update.
tests/test_quoted_numbers.py checks the other direction: every measured-looking number in the
prose (a decimal, a percentage, a ratio like 3.5×, a count like 19,544, and measured amounts in
words: "7 to 8 cases out of 10", "1 in 64", "three of these", "about half", "twice as") is quoted
by such a call or listed there as a fact that cannot drift (a year, a dataset's size, a constant
of a method).

The quote is the prose's own words, and reads the way the prose means it:

- "7 out of 10", "two of the four", "1 in 64", "7/20": a share (0.7, 0.5, 1/64, 0.35);
- "three of these", "one phrasing right", "labelled all eight": a count (3, 1, 8);
- "four times", "twice as", "three-fold", "a factor of twenty": a multiple (4, 2, 3, 20);
- "half", "a third", "two thirds", "¾": a fraction;
- "more than half", "over 130", "at least six": the measurement must lie above (below, for "less
  than", "under", "at most") the number, and at most `within` beyond it; "about", "nearly" and
  the like are only words, the tolerance is `within`;
- "7 to 8 cases out of 10", "two- to five-fold": a range; a single measurement must lie in it
  (give or take `within`), a pair (low, high) must match its two ends;
- "grew from 41 to over 130": two numbers; pass the pair (before, after).
"""
from __future__ import annotations

import math
import re

from .errors import PortalitError

NUMBER = re.compile(r"^\s*([-−]?\d[\d,]*(?:\.\d+)?)\s*(%|×|x)?\s*$")
WORDS = {word: n for n, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
WORDS.update({"none": 0, "no": 0, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
              "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "twice": 2, "thrice": 3})
PARTS = {"half": 2, "halves": 2, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4, "fifth": 5, "fifths": 5,
         "tenth": 10, "tenths": 10}
SIGNS = {"½": 1 / 2, "⅓": 1 / 3, "⅔": 2 / 3, "¼": 1 / 4, "¾": 3 / 4, "⅕": 1 / 5, "⅒": 1 / 10}
ABOVE = ("a little over", "well over", "more than", "at least", "over", "above")
BELOW = ("a little under", "less than", "fewer than", "at most", "under", "below")
GROUP = r"(?:the|these|those|its|their|each|every|all)"
FORMS = ("a number such as 0.62, 62%, 3.5× or 19,544, or words such as '7 out of 10', 'three of these', "
         "'about half', 'twice as'")


def _amount(text: str, quote: str) -> tuple[float, str]:
    """One amount and which way it may lie: "more than half" -> (0.5, ">"), "about 3" -> (3, "~")."""
    text = text.strip()
    side = "~"
    for words, sign in [(ABOVE, ">"), (BELOW, "<")]:
        for word in words:
            if re.search(rf"\b{word}\b", text):
                side = sign
                text = re.sub(rf"\b{word}\b", " ", text, count=1)
    numbers = re.findall(r"\d[\d,]*(?:\.\d+)?|[a-z]+|[½⅓⅔¼¾⅕⅒]", text)
    value = None
    for word in numbers:
        if word in SIGNS:
            return (value or 1) * SIGNS[word], side
        if word in PARTS:  # "a third", "two thirds", "half" ("a" is one only before a part)
            return (1 if value is None else value) / PARTS[word], side
        if word[0].isdigit() and value is None:
            value = float(word.replace(",", ""))
        elif word in WORDS and value is None:
            value = WORDS[word]
    if value is None:
        raise PortalitError(f"quoted number {quote!r} is not {FORMS}")
    return float(value), side


def targets(text: str) -> list[tuple[float, str]]:
    """What a quote claims: one or two (number, side) pairs; side is "=" for an exact digit quote,
    "~" for a worded amount, ">" or "<" for a bound. "62%" -> [(0.62, "=")],
    "7 to 8 cases out of 10" -> [(0.7, "~"), (0.8, "~")]."""
    match = NUMBER.match(str(text))
    if match:
        number = float(match.group(1).replace(",", "").replace("−", "-"))
        return [(number / 100 if match.group(2) == "%" else number, "=")]
    quote = " ".join(str(text).lower().replace("–", " to ").replace("-fold", " fold").split())
    quote = re.sub(r"-(?= to\b)", "", quote)  # "two- to five-fold"
    quote = re.sub(r"\bnot one\b", "none", quote)
    if "/" in quote:
        parts = quote.split("/")
        if len(parts) == 2:
            (top, side), (bottom, _) = _amount(parts[0], text), _amount(parts[1], text)
            return [(top / bottom, side)]
    change = re.search(r"\bfrom (.+) to (.+)$", quote)
    if change:
        return [_amount(change.group(1), text), _amount(change.group(2), text)]
    quote = re.sub(r"\bfactor of\b", " ", quote)
    share = re.search(rf"^(.*?)\b(?:out of|of|in) (?:{GROUP} )?(\S+)$", quote)
    bottom = 1.0
    if share and (share.group(2)[0].isdigit() or share.group(2) in WORDS):
        bottom, _ = _amount(share.group(2), text)
        quote = share.group(1)
        if re.search(r"\bevery one\b", quote):  # "every one of the four": all of them
            quote = share.group(2)
        if bottom == 0:
            raise PortalitError(f"quoted number {text!r} divides by zero")
    ends = re.split(r"\b(?:to|or)\b", quote)
    if len(ends) > 2:
        raise PortalitError(f"quoted number {text!r} is not {FORMS}")
    return [(value / bottom, side) for value, side in (_amount(end, text) for end in ends)]


def value_of(text: str) -> float:
    """The number a quote stands for: "62%" -> 0.62, "0.885" -> 0.885, "3.5×" -> 3.5, "19,544" -> 19544,
    "1 in 64" -> 0.015625, "about half" -> 0.5; the middle of a range ("7 to 8 out of 10" -> 0.75)."""
    found = targets(text)
    return sum(value for value, _ in found) / len(found)


def _holds(measured: float, target: float, side: str, within: float) -> bool:
    if math.isnan(measured):
        return False
    slack = within + 1e-12
    if side == ">":
        return target < measured <= target + slack
    if side == "<":
        return target - slack <= measured < target
    return abs(measured - target) <= slack


def _float(value, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise PortalitError(f"{what}: the measured value {value!r} is not a number") from None


def check(value, quoted: str, within: float, what: str) -> None:
    """Raise if `value` is further than `within` from the number `quoted` in the prose (a
    percentage compares as a fraction: "62%" with within=0.03 accepts 0.59 to 0.65; "1 in 64" as
    the share 1/64). For a quote with two numbers ("7 to 8 out of 10", "from 41 to over 130"),
    `value` is one number that must lie in the range, or a pair matched end by end."""
    found = targets(quoted)
    if not within >= 0:
        raise PortalitError(f"{what}: within must be a tolerance >= 0, got {within!r}")
    if isinstance(value, (tuple, list)):
        if len(value) != len(found):
            raise PortalitError(f"{what}: {quoted!r} quotes {len(found)} number(s), but {len(value)} were measured; "
                                "pass one value per number in the quote")
        measured = [_float(v, what) for v in value]
        ok = all(_holds(m, t, side, within) for m, (t, side) in zip(measured, found))
    else:
        measured = [_float(value, what)]
        if len(found) == 2:  # one measurement inside a range
            (low, _), (high, _) = sorted(found)
            ok = not math.isnan(measured[0]) and low - within - 1e-12 <= measured[0] <= high + within + 1e-12
        else:
            ok = _holds(measured[0], *found[0], within)
    if not ok:
        percent = quoted.strip().endswith("%")
        shown = " and ".join(f"{m:.1%}" if percent else f"{m:.4g}" for m in measured)
        raise PortalitError(f"the lesson's text quotes {quoted} for {what}, but this run measured {shown} "
                            f"(allowed: within {within:g}); update the text or find out what changed")
