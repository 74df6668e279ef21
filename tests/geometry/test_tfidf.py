"""portalit.geometry.tfidf: TF-IDF vectors behave as the bag-of-words baseline should."""
from __future__ import annotations

import numpy as np
import pytest

from portalit.geometry import datasets
from portalit.errors import PortalitError
from portalit.geometry.tfidf import tfidf_vectors


def test_rows_are_unit_length_and_similar_only_through_shared_words():
    texts = ["the soup was cold", "the soup was hot", "my laptop crashed again"]
    X = tfidf_vectors(texts)
    assert X.dtype == np.float32 and X.shape[0] == 3
    assert np.allclose(np.linalg.norm(X, axis=1), 1.0, atol=1e-6)
    sims = X @ X.T
    assert sims[0, 1] > 0.5  # three shared words out of four
    assert sims[0, 2] == pytest.approx(0.0) and sims[1, 2] == pytest.approx(0.0)  # no shared word


def test_rare_words_weigh_more_than_common_ones():
    texts = ["the cat sat", "the dog ran", "the cow slept"]
    X = tfidf_vectors(texts)
    vocabulary = sorted({w for t in texts for w in t.split()})
    row = dict(zip(vocabulary, X[0]))
    assert row["cat"] > row["the"] > 0


def test_vocabulary_comes_from_fit_on_only():
    train = ["the soup was cold", "the train was late"]
    X = tfidf_vectors(["the soup was cold", "quantum chromodynamics", "cold train"], fit_on=train)
    assert X.shape[1] == 6  # the six distinct words of the training texts
    assert not X[1].any()  # no known word: a zero row, not an error
    assert X[2].any()


def test_on_the_opinions_dataset_topics_share_words():
    data = datasets.load_opinions()
    X = tfidf_vectors(data.texts)
    assert X.shape == (320, X.shape[1]) and 500 < X.shape[1] < 2000
    sims = X @ X.T
    np.fill_diagonal(sims, -1)
    nearest = sims.argmax(axis=1)
    assert (data.topic[nearest] == data.topic).mean() > 0.4  # above the 0.25 of random neighbours


def test_errors_are_one_line():
    with pytest.raises(PortalitError, match="texts must be"):
        tfidf_vectors([])
    with pytest.raises(PortalitError, match="fit_on must be"):
        tfidf_vectors(["a text"], fit_on=[3])
    with pytest.raises(PortalitError, match="no word of 2 or more letters"):
        tfidf_vectors(["a b c"])
