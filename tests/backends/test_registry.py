"""portalit.backends: the models each backend offers, from the real sources (embedded packages,
a real `portalit serve`, litellm's key checks)."""
from __future__ import annotations

import json
import time

import pytest

import portalit
from portalit import backends, models
from portalit.errors import PortalitError
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


class Echo(backends.Backend):
    """A toy backend, as a contributor would add one: this class plus one register() line. It
    answers through litellm's own mock_response, so the call still goes through litellm."""

    name = "echo"
    summary = "answers every prompt with a fixed reply (a test backend)"
    owned = True
    options = {"reply": "the fixed answer"}
    default_model = "echo-1"
    default_embed = "echo-embed"

    def target(self, model=None, embed_model=None, **options):
        self.check_options(options)
        return backends.Target(self.name, model or self.default_model, "openai/echo-1",
                               embed_model or self.default_embed, "openai/echo-embed",
                               {"mock_response": options.get("reply", "pong"), "api_key": "not-needed"})


@pytest.fixture
def echo():
    backends.register(Echo())
    try:
        yield
    finally:
        backends.unregister("echo")
        portalit.use(backends.DEFAULT)


def test_a_registered_toy_backend_works_everywhere_with_no_other_change(echo, capsys):
    from portalit import cli, costs, doctor
    from portalit.widgets import BackendPicker

    assert "echo" in backends.names() and portalit.ready("echo")
    result = portalit.use("echo", reply="hello from echo").chat("Hi?")
    assert (result.text, result.backend, result.model) == ("hello from echo", "echo", "echo-1")
    assert costs.call_cost("echo", result.model, result.usage) == 0.0  # owned: no list price
    assert doctor.report()["backends"]["echo"]["ready"]
    assert cli.main(["chat", "--backend", "echo", "--json", "Hi?"]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "pong"
    picker = BackendPicker()
    assert 'data-backend="echo"' in picker.status_table.value and picker.backend.value == "echo"
    picker.close()
    with pytest.raises(PortalitError, match="backend 'echo' takes no option api_base; valid options: reply"):
        portalit.use("echo", api_base="http://127.0.0.1:1/v1")


def test_unregistered_backends_are_gone_and_named_choices_say_so():
    assert "echo" not in backends.names()
    with pytest.raises(PortalitError, match="unknown backend 'echo'; choose one of: local-cpu, local-gpu, server, cloud"):
        backends.get("echo")
