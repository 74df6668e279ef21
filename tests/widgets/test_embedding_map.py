import numpy as np
import pytest

from portalit.models import load_glove
from portalit.widgets import EmbeddingMap

from .conftest import TOPICS, WORDS, assert_controls_labelled, click


@pytest.fixture(scope="module")
def topic_map():
    texts = [t for group in TOPICS.values() for t in group]
    labels = [label for label, group in TOPICS.items() for _ in group]
    return EmbeddingMap(texts, labels)


def test_texts_are_embedded_and_mapped_by_pca(topic_map):
    m = topic_map
    assert m.error is None
    assert m.vectors.shape == (21, 384) and m.coords.shape == (21, 2) and m.method == "pca"
    names = [trace.name for trace in m.figure.data]
    assert names == ["pets", "finance", "sport", "neighbours", "selected"]
    assert sum(len(trace.x) for trace in m.figure.data[:3]) == 21
    assert "The cat sleeps on the sofa." in m.figure.data[0].hovertext[0]
    assert "pets" in m.figure.data[0].hovertext[0]


def test_clicking_a_point_lists_its_neighbours(topic_map):
    m = topic_map
    click(m.figure, 1, 0)  # the first finance sentence
    assert m.selected == 7 and m.error is None
    assert len(m.neighbours) == 5
    labels = [m.labels[j] for j, _, _ in m.neighbours]
    assert labels.count("finance") >= 3
    assert "Stocks fell sharply today." in m.neighbour_list.value
    assert list(m.figure.data[-1].customdata) == [7]
    assert list(m.figure.data[-2].customdata) == [j for j, _, _ in m.neighbours]
    scores = [s for _, _, s in m.neighbours]
    assert scores == sorted(scores, reverse=True)


def test_find_a_point_by_keyboard_and_k(topic_map):
    m = topic_map
    m.finder.value = m.finder.options[14]  # "14: The striker scored twice."
    assert m.selected == 14 and m.texts[14] == "The striker scored twice."
    m.k.value = 3
    assert len(m.neighbours) == 3
    assert m.select("The cat sleeps on the sofa.")[0][0] in range(7)
    m.k.value = 5


def test_colour_by_label_off_gives_one_trace(topic_map):
    m = topic_map
    m.colour.value = False
    assert [t.name for t in m.figure.data] == [None, "neighbours", "selected"]
    m.colour.value = True
    assert len(m.figure.data) == 5


def test_umap_runs_in_the_background_then_comes_from_the_cache(topic_map, umap_cache):
    m = topic_map
    m.project("umap")
    assert m.busy.busy and "UMAP" in m.busy.message  # the progress line is up while it runs
    assert m.wait(180)
    assert m.error is None and m.method == "umap" and not m.cached and not m.busy.busy
    assert "UMAP of 21 points" in m.busy.message
    assert list(umap_cache.glob("umap/*.npy"))
    m.project("pca")
    assert m.method == "pca"
    m.project("umap", wait=True)
    assert m.method == "umap" and m.cached and m.projection_s < 0.5
    assert m.projection.value == "umap"
    m.project("pca")


def test_switching_back_to_pca_while_umap_runs_keeps_pca(umap_cache):
    vectors = np.random.default_rng(1).normal(size=(40, 8))
    m = EmbeddingMap(vectors=vectors)
    m.project("umap")
    m.project("pca")
    assert m.wait(180)
    assert m.method == "pca" and m.projection.value == "pca"


def test_words_with_glove():
    m = EmbeddingMap(WORDS, model="glove-50d")
    assert m.error is None and m.vectors.shape == (40, 50)
    near = [text for _, text, _ in m.select("cat")]
    assert "dog" in near[:3]


def test_precomputed_vectors():
    glove = load_glove()
    rows = [glove.index[w] for w in WORDS]
    m = EmbeddingMap(WORDS, vectors=glove.vectors[rows], k=3)
    assert m.error is None and m.embed_model == "minilm" and m.coords.shape == (40, 2)
    assert m.select("paris")[0][1] in {"france", "rome", "berlin", "madrid"}
    m = EmbeddingMap(vectors=glove.vectors[rows])
    assert m.texts[0] == "item 0"


def test_few_points_under_umap_fall_back_to_pca_and_say_so():
    m = EmbeddingMap(vectors=np.eye(5), method="umap")
    assert m.wait(60)
    assert m.method == "pca" and "UMAP needs at least 15 points" in m.note and m.note in m.busy.message


@pytest.mark.parametrize("args, kwargs, message", [
    (([],), {}, "empty list"),
    (("just one string",), {}, "single string"),
    ((None,), {}, "needs a list of texts"),
    ((["a", "b"], ["x"]), {}, "1 labels for 2 texts"),
    ((["a"],), {"vectors": np.ones((2, 3))}, "1 texts but 2 vectors"),
    ((None,), {"vectors": np.ones((0, 3))}, "non-empty (n, d) array"),
    ((["fine", "   "],), {}, "non-empty texts"),
])
def test_bad_input_is_one_clear_error(args, kwargs, message):
    m = EmbeddingMap(*args, **kwargs)
    assert m.error and message in m.error and "\n" not in m.error
    assert m.vectors is None and m.coords is None and len(m.figure.data) == 0
    assert m.select(0) is None and m.error  # still one line, nothing raised
    m.project("umap", wait=True)
    assert m.error


def test_bad_selection_is_one_line(topic_map):
    assert topic_map.select(999) is None and "does not exist" in topic_map.error
    assert topic_map.select("no such text") is None and "no point has the text" in topic_map.error
    topic_map.select(0)
    assert topic_map.error is None


def test_controls_are_labelled(topic_map):
    assert_controls_labelled(topic_map)
