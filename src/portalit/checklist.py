"""When does owning the model make sense? A short checklist and its verdict (widget: portalit.widgets.Checklist).

The verdict is deliberately simple and explained: a requirement (data that may not leave, work that
must run offline) decides on its own; otherwise the reasons for owning are weighed against the
reasons for the cloud. Price is only one reason among several, and rarely the deciding one.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import PortalitError


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    side: str  # "require": decides for owning on its own; "own" or "cloud": a reason for that side
    why: str  # one line shown with the verdict when the box is ticked


QUESTIONS = [
    Question("data_must_stay", "The data may not leave your organisation (law, contract, patients, trade secrets).",
             "require", "the data cannot be sent to a provider, so the model has to come to the data"),
    Question("offline", "It must work without internet (field work, ships, air-gapped networks).",
             "require", "a cloud model is unreachable offline"),
    Question("frozen_model", "You need the exact same model for years (audits, reproducible research).",
             "own", "cloud models change and are retired on the provider's schedule; weights you hold do not"),
    Question("customise", "You need to fine-tune the model or read its internals (embeddings, probabilities).",
             "own", "open weights can be fine-tuned and inspected; most cloud APIs expose neither"),
    Question("steady_volume", "Your volume is high and steady: above your break-even, busy most hours.",
             "own", "a busy machine you pay for anyway is cheaper per token than list prices"),
    Question("open_model_passes", "An open model you can run passes your task's tests (lesson 02's suite).",
             "own", "the capability you need is available in weights you can hold"),
    Question("needs_frontier", "The task needs frontier capability that no open model you can run reaches.",
             "cloud", "only the frontier models pass your tests"),
    Question("spiky_volume", "Your volume is small or spiky (a few calls a day, bursts).",
             "cloud", "an idle machine still costs money; per-token prices do not"),
    Question("no_operators", "Nobody on your team can run, update and secure a server.",
             "cloud", "a server nobody maintains becomes a liability"),
]
KEYS = [q.key for q in QUESTIONS]


@dataclass(frozen=True)
class Assessment:
    verdict: str  # "own", "hybrid" or "cloud"
    summary: str
    for_owning: list
    for_cloud: list


def assess(answers: dict) -> Assessment:
    """The verdict for `answers` ({question key: True/False}; missing keys count as False)."""
    unknown = sorted(set(answers) - set(KEYS))
    if unknown:
        raise PortalitError(f"unknown checklist question(s) {', '.join(unknown)}; valid: {', '.join(KEYS)}")
    ticked = [q for q in QUESTIONS if answers.get(q.key)]
    required = [q.why for q in ticked if q.side == "require"]
    own = required + [q.why for q in ticked if q.side == "own"]
    cloud = [q.why for q in ticked if q.side == "cloud"]
    if required:
        summary = "Own it: a requirement decides, whatever the price."
        if answers.get("needs_frontier"):
            summary += (" It collides with a capability gap: test the strongest open model you can host, "
                        "and narrow the task until it passes.")
        return Assessment("own", summary, own, cloud)
    if answers.get("needs_frontier") and not answers.get("open_model_passes"):
        return Assessment("cloud", "Use the cloud: nothing you can own passes your tests yet. Re-test open models "
                          "as they improve.", own, cloud)
    score = len(own) - len(cloud)
    if score >= 2 and answers.get("open_model_passes"):
        return Assessment("own", "Owning makes sense: an open model passes and the reasons for owning outweigh "
                          "those against.", own, cloud)
    if score >= 0 and own:
        return Assessment("hybrid", "Hybrid: prototype on the cloud, and move the workloads that pass on an open "
                          "model to infrastructure you own.", own, cloud)
    return Assessment("cloud", "Use the cloud for now: few reasons to own, and the skills you learn there "
                      "transfer if that changes.", own, cloud)
