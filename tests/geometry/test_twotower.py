"""portalit.geometry.twotower: generated shapes, a two-tower contrastive model trained for real (seconds, CPU)."""
from __future__ import annotations

import numpy as np
import pytest

from portalit import geometry
from portalit.geometry import twotower
from portalit.errors import PortalitError


@pytest.fixture(scope="module")
def split():
    return twotower.split_combinations()


@pytest.fixture(scope="module")
def train_set(split):
    return twotower.make_shapes(1800, split[0], seed=0)


@pytest.fixture(scope="module")
def factored(train_set):
    return twotower.train(train_set, steps=100, image_tower="factored", progress=False)


# --- data ---------------------------------------------------------------------------------------

def test_pictures_show_their_colour_on_a_darker_background():
    data = twotower.make_shapes(48, seed=3)
    assert data.images.shape == (48, 3, 16, 16) and data.images.dtype == np.float32
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    for picture, colour in zip(data.images, data.colours):
        brightness = picture.max(axis=0)
        shape = brightness > brightness.mean() + 0.2  # the drawn shape is brighter than the background
        assert 4 < shape.sum() < 16 * 16 / 2
        drawn = picture[:, shape].mean(axis=1)
        target = np.array(twotower.COLOURS[colour])
        # The same hue (scaled by a random brightness), far from every other colour's hue.
        hue = drawn / np.linalg.norm(drawn)
        scores = {name: hue @ (np.array(rgb) / np.linalg.norm(rgb)) for name, rgb in twotower.COLOURS.items()}
        assert max(scores, key=scores.get) == colour, (colour, drawn, target)


def test_shapes_differ_in_area_as_drawn():
    # For radius r the masks cover about 1.9 r^2 (triangle), 2.2 r^2 (cross), 2.9 r^2 (square) and
    # 3.1 r^2 (circle); averaged over many pictures of random size the order shows.
    area = {}
    for shape in twotower.SHAPES:
        data = twotower.make_shapes(60, [("yellow", shape)], seed=1)
        area[shape] = float((data.images.max(axis=1) > 0.5).sum(axis=(1, 2)).mean())
    assert area["triangle"] < area["cross"] < area["square"] < area["circle"]


def test_captions_name_colour_and_shape_and_generation_is_seeded():
    a = twotower.make_shapes(50, seed=7)
    b = twotower.make_shapes(50, seed=7)
    c = twotower.make_shapes(50, seed=8)
    assert np.array_equal(a.images, b.images) and a.captions == b.captions
    assert not np.array_equal(a.images, c.images)
    assert a.pairs[:24] == twotower.combinations()  # combinations in turn
    for text, (colour, shape) in zip(a.captions, a.pairs):
        assert colour in twotower.tokens(text) and shape in twotower.tokens(text)
    assert len(set(a.captions)) > 24  # several templates are used
    assert twotower.caption("orange", "cross") == "an orange cross"
    assert twotower.caption("red", "cross") == "a red cross"
    assert not any(" a orange" in t or t.startswith("a orange") for t in twotower.make_shapes(200, seed=2).captions)


def test_held_out_combinations_leave_every_word_in_training(split):
    seen, unseen = split
    assert len(seen) == 18 and len(unseen) == 6 and not set(seen) & set(unseen)
    assert {c for c, _ in seen} == set(twotower.COLOURS) and {s for _, s in seen} == set(twotower.SHAPES)


def test_make_shapes_rejects_bad_input():
    with pytest.raises(PortalitError, match="unknown combination.*pink"):
        twotower.make_shapes(3, [("pink", "circle")])
    with pytest.raises(PortalitError, match="n must be"):
        twotower.make_shapes(0)
    with pytest.raises(PortalitError, match="at least one"):
        twotower.make_shapes(3, [])


def test_contact_sheet_tiles_pictures():
    data = twotower.make_shapes(30, seed=0)
    sheet = twotower.contact_sheet(data, columns=12, count=30)
    assert sheet.dtype == np.uint8 and sheet.shape == (3 * 17 + 1, 12 * 17 + 1, 3)
    assert np.array_equal(sheet[1:17, 1:17], (data.images[0].transpose(1, 2, 0) * 255).round().astype(np.uint8))


# --- training -----------------------------------------------------------------------------------

def test_training_is_deterministic_and_lowers_the_loss(train_set):
    a = twotower.train(train_set, steps=20, progress=False)
    b = twotower.train(train_set, steps=20, progress=False)
    assert a.losses == b.losses
    assert a.losses[-1] < a.losses[0] - 1.0
    images = a.embed_images(train_set.images[:5])
    assert images.shape == (5, 32) and np.allclose(np.linalg.norm(images, axis=1), 1, atol=1e-5)


def test_factored_model_matches_unseen_combinations_zero_shot(factored, split):
    unseen = twotower.make_shapes(120, split[1], seed=2)
    result = twotower.zero_shot(factored, unseen)
    assert result["chance"] == 1 / 24 and result["n"] == 120
    assert result["accuracy"] > 0.8 and result["colour_accuracy"] > 0.9
    # Restricting the candidates to the unseen captions makes it easier, never harder.
    assert twotower.zero_shot(factored, unseen, candidates=split[1])["accuracy"] >= result["accuracy"]


def test_untrained_towers_are_at_chance_and_have_a_modality_gap(train_set, factored):
    untrained = twotower.train(train_set, steps=0, image_tower="factored", progress=False)
    assert untrained.losses == []
    one_each = twotower.make_shapes(24, seed=4)
    captions = [twotower.caption(*p) for p in twotower.combinations()]
    before = geometry.modality_gap(untrained.embed_images(one_each.images), untrained.embed_texts(captions))
    after = geometry.modality_gap(factored.embed_images(one_each.images), factored.embed_texts(captions))
    assert before["retrieval_top1"] < 0.2 < 0.8 < after["retrieval_top1"]
    assert after["matched_cosine"] > after["random_cosine"] + 0.5
    assert before["gap"] > after["gap"]


def test_retrieve_finds_pictures_for_a_caption(factored):
    gallery = twotower.make_shapes(240, seed=3)
    found = twotower.retrieve(factored, gallery, ["a green square", "a purple circle"], k=10)
    assert [f["best"] for f in found] == [("green", "square"), ("purple", "circle")]
    assert all(f["share"] >= 0.8 and len(f["top"]) == 10 for f in found)
    with pytest.raises(PortalitError, match="k must be"):
        twotower.retrieve(factored, gallery, "a red circle", k=0)


def test_unknown_words_are_ignored_by_the_learned_text_tower(factored):
    with_noise = factored.embed_texts(["a blue square with flibbertigibbet"])
    plain = factored.embed_texts(["a blue square with"])
    assert np.allclose(with_noise, plain)


def test_frozen_text_vectors_can_replace_the_learned_words(train_set, split):
    from portalit.engines.embedders import GloveTextEmbedder

    glove = GloveTextEmbedder()
    model = twotower.train(train_set, steps=100, image_tower="factored", text_vectors=glove.embed, progress=False)
    assert model.model.words is None  # only a linear layer over the frozen vectors was trained
    seen = twotower.make_shapes(96, split[0], seed=1)
    assert twotower.zero_shot(model, seen)["accuracy"] > 0.5


def test_train_rejects_bad_arguments(train_set):
    with pytest.raises(PortalitError, match="image_tower.*plain, factored"):
        twotower.train(train_set, image_tower="resnet", progress=False)
    with pytest.raises(PortalitError, match="steps must be"):
        twotower.train(train_set, steps=-1, progress=False)
