"""The router data: sizes, no leakage between the splits, clear errors, and the prompts."""
import pytest

from portalit import tune
from portalit.errors import PortalitError
from portalit.tune import data


def test_splits_have_every_lesson_and_share_no_question():
    train, heldout = tune.load("train"), tune.load("heldout")
    assert len(train) >= 190 and len(heldout) >= 90
    assert {e.lesson for e in train} == {e.lesson for e in heldout} == set(tune.LESSONS)
    seen = {e.question.strip().lower() for e in train}
    assert not [e.question for e in heldout if e.question.strip().lower() in seen]
    assert len(seen) == len(train)  # no duplicate inside training either


def test_unknown_split_and_bad_label_name_the_choices(tmp_path, monkeypatch):
    with pytest.raises(PortalitError, match="unknown router split 'test'; choose one of: train, heldout"):
        tune.load("test")
    (tmp_path / "router").mkdir()
    (tmp_path / "router" / "train.csv").write_text("question,lesson\nWhat is a token?,9\n")
    monkeypatch.setenv("PORTALIT_DATA", str(tmp_path))
    with pytest.raises(PortalitError, match="lesson '9' is not one of 00, 01"):
        tune.load("train")


@pytest.mark.parametrize("answer, lesson", [
    ("03", "03"), ("03 Words as vectors", "03"), ("Lesson 7.", "07"), (" 8", "08"),
    ("The answer is 05", "05"), ("09", None), ("12", None), ("no idea", None), ("", None),
])
def test_lesson_of_reads_the_first_lesson_number(answer, lesson):
    assert tune.lesson_of(answer) == lesson


def test_shuffled_keeps_questions_and_label_counts_but_moves_labels():
    train = tune.load("train")
    control = tune.shuffled(train, seed=0)
    assert [e.question for e in control] == [e.question for e in train]
    assert sorted(e.lesson for e in control) == sorted(e.lesson for e in train)
    moved = sum(a.lesson != b.lesson for a, b in zip(control, train)) / len(train)
    assert moved > 0.7  # about 8 in 9 by chance
    assert tune.shuffled(train, seed=0) == control and tune.shuffled(train, seed=1) != control


def test_prompts_give_the_untuned_model_the_lesson_list_and_the_tuned_one_the_question_alone():
    shots = data.one_per_lesson(tune.load("train"))
    assert [e.lesson for e in shots] == list(tune.LESSONS)
    prompt = data.prompted_messages("What is a token?", shots)
    text = "\n".join(m["content"] for m in prompt)
    assert all(title in text for title in tune.LESSONS.values()) and prompt[-1]["content"].endswith("Question: What is a token?\nLesson:")
    assert all(e.question in text for e in shots)
    assert data.tuned_messages("What is a token?") == [{"role": "user", "content": "What is a token?"}]


def test_quick_refuses_bad_examples_before_loading_anything():
    with pytest.raises(PortalitError, match="is not a tune.Example"):
        tune.quick([("What is a token?", "00")])
    with pytest.raises(PortalitError, match="lesson '9' of 'What is a token\\?' is not one of 00"):
        tune.quick([tune.Example("What is a token?", "9")])
    with pytest.raises(PortalitError, match="training: no examples"):
        tune.quick([])
    with pytest.raises(PortalitError, match="epochs=0 must be between 1 and 20"):
        tune.quick(tune.load("train")[:3], epochs=0)
