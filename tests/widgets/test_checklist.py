import pytest

from portalit.widgets import Checklist


def test_widget_recomputes_on_every_tick():
    box = Checklist()
    assert box.assessment.verdict == "cloud"
    box.boxes["offline"].value = True  # as a click would
    assert box.assessment.verdict == "own"
    assert "Own it" in box.verdict.value
    assert box.set(offline=False, needs_frontier=True).verdict == "cloud"
    with pytest.raises(ValueError):
        box.set(nonsense=True)
    assert box.boxes["needs_frontier"].value is True  # a bad call changed nothing


def test_widget_starts_from_given_answers():
    box = Checklist(data_must_stay=True)
    assert box.boxes["data_must_stay"].value is True
    assert box.assessment.verdict == "own"
