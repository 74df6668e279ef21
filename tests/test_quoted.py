"""portalit.quoted: a quote in the lesson's words, read as the prose means it, and checked against a measurement."""
import pytest

from portalit import quoted
from portalit.errors import PortalitError


def test_a_drifted_measurement_fails_with_the_quote_and_the_measurement():
    quoted.check(0.61, "62%", within=0.03, what="accuracy")
    quoted.check(19544, "19,544", within=0, what="questions")
    quoted.check(3.4, "3.5×", within=0.2, what="speed-up")
    with pytest.raises(PortalitError, match=r"quotes 62% for accuracy, but this run measured 55.0%"):
        quoted.check(0.55, "62%", within=0.03, what="accuracy")
    with pytest.raises(PortalitError, match="measured nan"):
        quoted.check(float("nan"), "0.5", within=1, what="x")
    with pytest.raises(PortalitError, match="measured nan"):
        quoted.check(float("nan"), "about half", within=1, what="x")


@pytest.mark.parametrize("quote, value", [
    ("62%", 0.62), ("0.885", 0.885), ("3.5×", 3.5), ("19,544", 19544), ("3x", 3),
    ("1 in 64", 1 / 64), ("7/20", 0.35), ("10 / 119", 10 / 119), ("two of the four", 0.5), ("won 7/20", 0.35),
    ("about one time in nine", 1 / 9), ("none of the three", 0), ("not one of the six", 0),
    ("every one of the four", 1), ("three of these", 3), ("about 3 of each", 3), ("labelled all eight", 8),
    ("one phrasing right", 1), ("failed one", 1),
    ("about half", 0.5), ("a tenth", 0.1), ("two thirds", 2 / 3), ("about ¾", 0.75),
    ("twice as", 2), ("13 times", 13), ("factor of about twenty", 20), ("a factor of twenty", 20),
    ("7 to 8 cases out of 10", 0.75), ("two- to five-fold", 3.5),
])
def test_a_quote_in_words_stands_for_the_number_the_prose_means(quote, value):
    assert quoted.value_of(quote) == pytest.approx(value)


def test_a_bound_holds_only_on_its_side():
    quoted.check(0.55, "more than half", within=0.1, what="share")
    quoted.check(0.36, "a little over a third", within=0.05, what="share")
    quoted.check(5, "at most 6", within=2, what="count")
    for value, quote in [(0.5, "more than half"), (0.45, "more than half"), (0.65, "more than half"), (6, "under 6")]:
        with pytest.raises(PortalitError, match=f"quotes {quote} for share, but this run measured"):
            quoted.check(value, quote, within=0.1, what="share")


def test_a_range_takes_one_value_inside_it_or_a_pair_for_its_ends():
    quoted.check(0.75, "7 to 8 cases out of 10", within=0, what="share")
    quoted.check((0.7, 0.81), "7 to 8 cases out of 10", within=0.02, what="shares")
    quoted.check((4.2, 7.6), "four to about eight times", within=0.5, what="price ratios")
    quoted.check((41, 133), "grew from 41 to over 130", within=10, what="prompt tokens")
    with pytest.raises(PortalitError, match="measured 0.6"):
        quoted.check(0.6, "7 to 8 cases out of 10", within=0.05, what="share")
    with pytest.raises(PortalitError, match="measured 0.6 and 0.8"):
        quoted.check((0.6, 0.8), "7 to 8 cases out of 10", within=0.05, what="shares")
    with pytest.raises(PortalitError, match="measured 41 and 129"):
        quoted.check((41, 129), "grew from 41 to over 130", within=10, what="prompt tokens")
    with pytest.raises(PortalitError, match="quotes 2 number"):
        quoted.check((1, 2, 3), "7 to 8 cases out of 10", within=0, what="shares")


@pytest.mark.parametrize("quote", ["a lot", "", "several", "one to two to three"])
def test_a_quote_that_is_no_number_says_which_forms_are(quote):
    with pytest.raises(PortalitError, match=r"is not a number such as 0.62, 62%.*'7 out of 10'"):
        quoted.check(1, quote, within=0, what="x")


def test_a_bad_measurement_or_tolerance_is_named():
    with pytest.raises(PortalitError, match="the measured value 'n/a' is not a number"):
        quoted.check("n/a", "about half", within=0.1, what="share")
    with pytest.raises(PortalitError, match="within must be a tolerance >= 0"):
        quoted.check(0.5, "about half", within=-1, what="share")
