"""Numbers a lesson's prose quotes, checked against what the lesson's cells measure.

A lesson that writes "GloVe answers 62% of the analogies" must not drift from what the code
computes. The cell that measures it calls

    quoted.check(accuracy, "62%", within=0.03, what="GloVe's accuracy on the analogy set")

which passes silently while the measurement stays within `within` of the quoted number, and
raises otherwise, so CI (which runs every lesson) fails and names the sentence to update.
tests/test_quoted_numbers.py checks the other direction: every measured-looking number in the
prose (a decimal, a percentage, a ratio like 3.5×, a count like 19,544) is quoted by such a call
or listed there as a fact that cannot drift (a year, a dataset's size, a constant of a method).
"""
from __future__ import annotations

import math
import re

from .errors import PortalitError

NUMBER = re.compile(r"^\s*([-−]?\d[\d,]*(?:\.\d+)?)\s*(%|×|x)?\s*$")


def value_of(text: str) -> float:
    """The number a quote stands for: "62%" -> 0.62, "0.885" -> 0.885, "3.5×" -> 3.5, "19,544" -> 19544."""
    match = NUMBER.match(str(text))
    if not match:
        raise PortalitError(f"quoted number {text!r} is not a number such as 0.62, 62%, 3.5× or 19,544")
    number = float(match.group(1).replace(",", "").replace("−", "-"))
    return number / 100 if match.group(2) == "%" else number


def check(value, quoted: str, within: float, what: str) -> None:
    """Raise if `value` is further than `within` from the number `quoted` in the prose (a
    percentage compares as a fraction: "62%" with within=0.03 accepts 0.59 to 0.65)."""
    target = value_of(quoted)
    try:
        measured = float(value)
    except (TypeError, ValueError):
        raise PortalitError(f"{what}: the measured value {value!r} is not a number") from None
    if not within >= 0:
        raise PortalitError(f"{what}: within must be a tolerance >= 0, got {within!r}")
    if math.isnan(measured) or abs(measured - target) > within + 1e-12:
        shown = f"{measured:.1%}" if quoted.strip().endswith("%") else f"{measured:.4g}"
        raise PortalitError(f"the lesson's text quotes {quoted} for {what}, but this run measured {shown} "
                            f"(allowed: within {within:g}); update the text or find out what changed")
