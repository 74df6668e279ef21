"""portalit.geometry.map_quality on real data: GloVe vectors of words from four categories, and their maps."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from portalit.geometry import map_quality
from portalit.errors import PortalitError
from portalit.geometry import pca
from portalit.models import load_glove

CATEGORIES = {
    "number": "one two three four five six seven eight nine ten eleven twelve twenty hundred thousand",
    "animal": "cat dog horse cow sheep goat pig mouse rabbit fox wolf bear lion tiger elephant",
    "colour": "red blue green yellow purple orange pink brown grey black white violet scarlet crimson turquoise",
    "country": "france germany italy spain portugal poland sweden norway denmark greece turkey egypt india china japan",
}


@pytest.fixture(scope="module")
def words():
    glove = load_glove()
    names = [w for group in CATEGORIES.values() for w in group.split()]
    labels = [label for label, group in CATEGORIES.items() for _ in group.split()]
    X = glove.vectors[[glove.index[w] for w in names]]
    return X, labels


def unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_a_map_that_is_the_unit_vectors_themselves_is_perfect(words):
    X, _ = words
    # On unit vectors Euclidean distance is a monotone function of cosine distance: same order.
    assert map_quality.distance_correlation(X, unit(X)) == pytest.approx(1.0)
    kept = map_quality.neighbours_kept(X, unit(X), k=5)
    assert kept["score"] == pytest.approx(1.0)
    assert kept["chance"] == pytest.approx(5 / (len(X) - 1))


def test_random_points_score_near_chance_and_pca_scores_in_between(words):
    X, _ = words
    rng = np.random.default_rng(0)
    random_map = rng.normal(size=(len(X), 2))
    assert abs(map_quality.distance_correlation(X, random_map)) < 0.1
    random_kept = map_quality.neighbours_kept(X, random_map, k=5)
    assert random_kept["score"] < 2.5 * random_kept["chance"]
    pca_map = pca(unit(X), 2).coords
    pca_kept = map_quality.neighbours_kept(X, pca_map, k=5)
    assert random_kept["score"] < pca_kept["score"] < 1.0
    assert 0.3 < map_quality.distance_correlation(X, pca_map) < 1.0


def test_distance_correlation_matches_scipy_on_the_pairs(words):
    X, _ = words
    coords = pca(unit(X), 2).coords
    cos = 1 - unit(X) @ unit(X).T
    euc = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    upper = np.triu_indices(len(X), 1)
    expected = spearmanr(cos[upper], euc[upper]).statistic
    assert map_quality.distance_correlation(X, coords) == pytest.approx(expected, abs=1e-9)


def test_label_purity_sees_categories_and_shuffled_labels_fall_to_chance(words):
    X, labels = words
    real = map_quality.label_purity(X, labels, k=5, metric="cosine")
    # Four equal groups of 15: 14 of the other 59 points share a point's label.
    assert real["chance"] == pytest.approx(14 / 59)
    assert real["score"] > 0.8
    shuffled = list(np.random.default_rng(1).permutation(labels))
    assert map_quality.label_purity(X, shuffled, k=5, metric="cosine")["score"] < real["chance"] + 0.15


def test_cosine_purity_ignores_vector_length_and_euclidean_does_not(words):
    X, labels = words
    # Rescale each vector by a random factor: cosine neighbours stay, Euclidean ones scramble.
    scaled = X * np.random.default_rng(2).uniform(0.05, 20, size=(len(X), 1))
    before = map_quality.label_purity(X, labels, k=5, metric="cosine")["score"]
    assert map_quality.label_purity(scaled, labels, k=5, metric="cosine")["score"] == pytest.approx(before)
    assert map_quality.label_purity(scaled, labels, k=5, metric="euclidean")["score"] < before - 0.1


@pytest.mark.parametrize("call, message", [
    (lambda X: map_quality.neighbours_kept(X, X[:-1]), "row i of each"),
    (lambda X: map_quality.neighbours_kept(X, X, k=len(X)), "k must be a whole number"),
    (lambda X: map_quality.neighbours_kept(X, X, k=True), "k must be a whole number"),
    (lambda X: map_quality.distance_correlation(X[:2], X[:2]), "at least 3 rows"),
    (lambda X: map_quality.label_purity(X, ["a"] * 3), "one label per point"),
    (lambda X: map_quality.label_purity(X, ["a"] * len(X), metric="manhattan"), "unknown metric"),
    (lambda X: map_quality.distance_correlation(np.full((5, 2), np.nan), np.zeros((5, 2))), "NaN"),
])
def test_bad_input_raises_one_clear_error(words, call, message):
    with pytest.raises(PortalitError, match=message):
        call(words[0])
