"""portalit.geometry.probes: linear probes with their controls, on real GloVe vectors of the opinions dataset."""
from __future__ import annotations

import numpy as np
import pytest

from portalit.engines.embedders import GloveTextEmbedder
from portalit.geometry import datasets, probes
from portalit.errors import PortalitError


@pytest.fixture(scope="module")
def data():
    return datasets.load_opinions()


@pytest.fixture(scope="module")
def glove(data):
    return GloveTextEmbedder().embed(data.texts)


def test_split_is_stratified_disjoint_complete_and_seeded(data):
    train, test = probes.split(data.topic, test_fraction=0.25, seed=3)
    assert len(train) + len(test) == 320 and not set(train) & set(test)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(320))
    for topic in datasets.TOPICS:
        assert (data.topic[test] == topic).sum() == 20  # a quarter of each topic's 80
    again = probes.split(data.topic, test_fraction=0.25, seed=3)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert not np.array_equal(test, probes.split(data.topic, test_fraction=0.25, seed=4)[1])


def test_topic_probe_on_glove_beats_both_controls(data, glove):
    result = probes.linear_probe(glove, data.topic)
    assert result["n_train"] == 224 and result["n_test"] == 96
    assert result["majority"] == pytest.approx(0.25)
    assert result["accuracy"] > 0.85
    assert result["shuffled"] < 0.4  # permuted labels carry no information
    assert result["classes"] == sorted(datasets.TOPICS)
    assert len(result["predicted"]) == len(result["test"]) == 96
    assert (result["predicted"] == data.topic[result["test"]]).mean() == result["accuracy"]


def test_probe_on_pure_noise_is_at_chance(data):
    noise = np.random.default_rng(0).normal(size=(320, 50))
    result = probes.linear_probe(noise, data.topic)
    assert result["accuracy"] < 0.4 and abs(result["shuffled"] - 0.25) < 0.1


def test_explicit_train_and_test_rows_and_masks(data, glove):
    food_travel = np.isin(data.topic, ["food", "travel"])
    by_mask = probes.linear_probe(glove, data.sentiment, train=food_travel, test=~food_travel)
    by_index = probes.linear_probe(glove, data.sentiment, train=np.flatnonzero(food_travel),
                                   test=np.flatnonzero(~food_travel))
    assert by_mask["accuracy"] == by_index["accuracy"] and by_mask["n_test"] == 160
    assert by_mask["accuracy"] > 0.6  # sentiment learned on two topics carries to the other two


def test_few_label_curve_improves_with_more_labels(data, glove):
    curve = probes.few_label_curve(glove, data.topic, per_class=(1, 48), repeats=5)
    assert [c["per_class"] for c in curve] == [1, 48]
    assert curve[1]["mean"] > curve[0]["mean"] > 0.25
    assert all(c["low"] <= c["mean"] <= c["high"] for c in curve)
    with pytest.raises(PortalitError, match="only 56 training rows"):
        probes.few_label_curve(glove, data.topic, per_class=(57,))


def test_probe_errors_are_one_line(data, glove):
    with pytest.raises(PortalitError, match="320 rows but there are 319 labels"):
        probes.linear_probe(glove, data.topic[:319])
    with pytest.raises(PortalitError, match="share rows"):
        probes.linear_probe(glove, data.topic, train=np.arange(200), test=np.arange(150, 320))
    with pytest.raises(PortalitError, match="both train and test"):
        probes.linear_probe(glove, data.topic, train=np.arange(200))
    with pytest.raises(PortalitError, match="only one label"):
        probes.linear_probe(glove, data.topic, train=np.arange(40), test=np.arange(100, 140))
    with pytest.raises(PortalitError, match="test_fraction"):
        probes.split(data.topic, test_fraction=1.5)
    with pytest.raises(PortalitError, match="controls"):
        probes.linear_probe(glove, data.topic, controls=0)
