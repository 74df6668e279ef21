"""A late policy for nbgrader: a share of the score per day late, after a grace period, and zero
after a cut-off. nbgrader itself offers only "no penalty" or "zero"; courses usually want this.

Configure it in the course's nbgrader_config.py (`portalit hub init` writes these lines):
    c.AssignLatePenalties.plugin_class = "portalit.autograder.late.LatePenalty"
    c.LatePenalty.percent_per_day = 10
Due dates live in the gradebook (`nbgrader db assignment add ps03 --duedate="2026-12-08 17:00 UTC"`);
when a submission arrived is what the exchange saw (portalit.hub.exchange), not what the learner wrote.
"""
from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

DAY_S = 86400.0


class LatePenalty(LateSubmissionPlugin):
    percent_per_day = Float(10.0, help="share of the notebook's score lost per started day late").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that still count as on time").tag(config=True)
    zero_after_days = Float(7.0, help="more than this many days late scores zero (0: never)").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        late = total_seconds_late - 60.0 * self.grace_minutes
        if late <= 0 or not score:
            return None
        days = math.ceil(late / DAY_S)
        if self.zero_after_days and late > self.zero_after_days * DAY_S:
            return score
        return min(score, score * self.percent_per_day / 100.0 * days)
