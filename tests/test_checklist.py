"""The when-to-own checklist: its verdicts follow the stated rules, and the widget recomputes them."""
import pytest

from portalit import checklist


def test_no_answers_means_cloud_for_now():
    a = checklist.assess({})
    assert a.verdict == "cloud"
    assert a.for_owning == [] and a.for_cloud == []


@pytest.mark.parametrize("key", ["data_must_stay", "offline"])
def test_a_requirement_decides_even_against_every_cloud_reason(key):
    answers = {key: True, "needs_frontier": True, "spiky_volume": True, "no_operators": True}
    a = checklist.assess(answers)
    assert a.verdict == "own"
    assert "capability gap" in a.summary  # the collision with needs_frontier is named, not hidden
    assert len(a.for_cloud) == 3


def test_frontier_need_without_a_passing_open_model_means_cloud():
    a = checklist.assess({"needs_frontier": True, "frozen_model": True, "customise": True})
    assert a.verdict == "cloud"
    assert len(a.for_owning) == 2


def test_reasons_for_owning_win_only_when_an_open_model_passes():
    many = {"frozen_model": True, "customise": True, "steady_volume": True}
    assert checklist.assess(many).verdict == "hybrid"
    assert checklist.assess({**many, "open_model_passes": True}).verdict == "own"


def test_balanced_reasons_give_hybrid_and_more_cloud_reasons_give_cloud():
    assert checklist.assess({"customise": True, "spiky_volume": True}).verdict == "hybrid"
    assert checklist.assess({"customise": True, "spiky_volume": True, "no_operators": True}).verdict == "cloud"


def test_false_answers_count_as_unticked():
    assert checklist.assess({k: False for k in checklist.KEYS}) == checklist.assess({})


def test_unknown_question_is_named():
    with pytest.raises(ValueError, match="cheap_gpu"):
        checklist.assess({"cheap_gpu": True})


def test_every_question_has_a_known_side_and_unique_key():
    assert len(set(checklist.KEYS)) == len(checklist.KEYS)
    assert {q.side for q in checklist.QUESTIONS} == {"require", "own", "cloud"}
