"""The late policy: a share of the score per started day late, a grace period, zero after the cut-off."""
from __future__ import annotations

import pytest
from traitlets.config import Config

from portalit.autograder.late import LatePenalty

HOUR = 3600.0


def policy(**settings) -> LatePenalty:
    config = Config()
    for key, value in settings.items():
        setattr(config.LatePenalty, key, value)
    return LatePenalty(config=config)


def test_each_started_day_late_costs_a_share_of_the_score():
    p = policy(percent_per_day=10, grace_minutes=0, zero_after_days=7)
    assert p.late_submission_penalty("ada", 8.0, 0) is None
    assert p.late_submission_penalty("ada", 8.0, 1) == pytest.approx(0.8)
    assert p.late_submission_penalty("ada", 8.0, 24 * HOUR) == pytest.approx(0.8)
    assert p.late_submission_penalty("ada", 8.0, 24 * HOUR + 1) == pytest.approx(1.6)


def test_grace_cut_off_and_a_zero_score():
    p = policy(percent_per_day=25, grace_minutes=15, zero_after_days=2)
    assert p.late_submission_penalty("ada", 10.0, 14 * 60) is None
    assert p.late_submission_penalty("ada", 10.0, 16 * 60) == pytest.approx(2.5)
    assert p.late_submission_penalty("ada", 10.0, 2 * 24 * HOUR + 60 * 15 + 1) == 10.0
    assert p.late_submission_penalty("ada", 0.0, 3 * 24 * HOUR) is None


def test_the_penalty_never_exceeds_the_score_and_zero_after_days_0_means_never():
    p = policy(percent_per_day=40, zero_after_days=0)
    assert p.late_submission_penalty("ada", 5.0, 30 * 24 * HOUR) == 5.0
    assert p.late_submission_penalty("ada", 5.0, 2 * 24 * HOUR) == pytest.approx(4.0)
