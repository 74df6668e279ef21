"""portalit.backends: the models each backend offers, from the real sources (embedded packages,
a real `portalit serve`, litellm's key checks)."""
from __future__ import annotations

import time

from portalit import backends, models
from portalit import keys
from portalit.backends import cloud

from ..conftest import free_port


def test_local_backends_offer_the_embedded_chat_models():
    for name in ("local-cpu", "local-gpu"):
        offered = backends.get(name).models()
        assert offered == models.names("chat") and models.DEFAULT_CHAT in offered


def test_server_offers_what_its_models_endpoint_lists(server_url):
    offered = backends.get("server").models(api_base=server_url)
    assert models.DEFAULT_CHAT in offered


def test_an_unreachable_server_offers_its_default_model_quickly():
    started = time.perf_counter()
    offered = backends.get("server").models(api_base=f"http://127.0.0.1:{free_port()}/v1")
    assert offered == [backends.get("server").default_model]
    assert time.perf_counter() - started < 5
    assert backends.get("server").models(api_base="not a url") == [backends.get("server").default_model]


def test_cloud_offers_models_with_a_configured_key_first(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env above
    for variable in keys.KEY_VARIABLES.values():
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("MISTRAL_API_KEY", "configured-for-this-test")
    offered = backends.get("cloud").models()
    assert sorted(offered) == sorted(cloud.SUGGESTED_MODELS)
    assert offered[0].startswith("mistral/")
    assert all("/" in m for m in offered)
