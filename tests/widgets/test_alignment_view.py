import numpy as np
import pytest

import portalit
from portalit.models import load_glove
from portalit.widgets import AlignmentView

from .conftest import WORDS, assert_controls_labelled, click


@pytest.fixture(scope="module")
def spaces():
    glove = load_glove()
    X = glove.vectors[[glove.index[w] for w in WORDS]]
    Y = portalit.Client("local-cpu").embed(WORDS, "minilm")
    return X, Y


@pytest.fixture(scope="module")
def view(spaces):
    return AlignmentView(*spaces, WORDS, names=("GloVe", "MiniLM"), k=5)


def test_scores_beat_chance_and_the_shuffled_control(view):
    assert view.error is None
    s = view.scores
    assert s["n"] == 40 and s["k"] == 5
    assert s["chance"] == pytest.approx(5 / 39)
    assert s["score"] > 2 * s["chance"] and s["score"] > s["shuffled"]
    assert 0 < s["cka"] <= 1
    assert "GloVe" in view.summary.value and f"{s['score']:.3f}" in view.summary.value
    bars = view.bars.outputs[0]["data"]["application/vnd.plotly.v1+json"]["data"][0]
    assert bars["x"] == ["alignment", "chance", "shuffled"]


def test_side_by_side_maps_of_the_same_items(view):
    left, right = view.coords
    assert left.shape == right.shape == (40, 2)
    assert view.figure.data[0].text == tuple(WORDS) and view.figure.data[1].text == tuple(WORDS)
    assert view.figure.layout.annotations[0].text.startswith("GloVe")
    view.rotate.value = False
    unrotated = view.coords[0]
    view.rotate.value = True
    assert not np.allclose(unrotated, view.coords[0])


def test_clicking_an_item_lists_neighbours_in_both_spaces(view):
    click(view.figure, 1, WORDS.index("king"))  # a click on the right-hand map
    assert view.selected == WORDS.index("king") and view.error is None
    left = [label for _, label, _ in view.neighbours["left"]]
    right = [label for _, label, _ in view.neighbours["right"]]
    assert len(left) == len(right) == 5 and "queen" in left
    shared = {label for _, label, _ in view.neighbours["shared"]}
    assert shared == set(left) & set(right)
    assert "Nearest in GloVe" in view.neighbour_list.value and "Nearest in MiniLM" in view.neighbour_list.value
    assert list(view.figure.data[3].customdata) == [view.selected] == list(view.figure.data[5].customdata)


def test_k_and_selection_by_label(view):
    view.select("paris")
    view.k.value = 3
    assert view.scores["k"] == 3 and len(view.neighbours["left"]) == 3
    view.k.value = 5


def test_mismatched_item_counts_are_one_clear_error(spaces):
    X, Y = spaces
    v = AlignmentView(X, Y[:39], WORDS)
    assert v.error == "X has 40 items but Y has 39; row i of each must be the same item"
    assert v.scores is None and v.select(0) is None and v.set_k(3) is None


@pytest.mark.parametrize("labels, names, message", [
    (WORDS[:10], ("a", "b"), "10 labels for 40 items"),
    (WORDS, ("only one",), "names must be two names"),
])
def test_other_bad_input(spaces, labels, names, message):
    v = AlignmentView(*spaces, labels, names=names)
    assert v.error and message in v.error and "\n" not in v.error


def test_empty_and_ragged_input():
    assert "non-empty" in AlignmentView([], [], []).error
    assert AlignmentView([[1, 2], [3]], [[1, 2], [3, 4]]).error


def test_k_is_bounded_by_the_item_count(spaces):
    X, Y = spaces
    v = AlignmentView(X[:6], Y[:6], WORDS[:6], k=10)
    assert v.error is None and v.k.max == 5 and v.scores["k"] == 5
    assert v.set_k(6) is None and "k must be a whole number from 1 to 5" in v.error
    assert v.set_k(2)["k"] == 2 and v.error is None


def test_controls_are_labelled(view):
    assert_controls_labelled(view)
