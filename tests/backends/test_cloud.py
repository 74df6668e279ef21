"""Cloud keys: named when missing, never printed. Driven against a real HTTP server on 127.0.0.1
that answers like a provider refusing a key (and echoing it, as real providers partly do)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import portalit
from portalit import keys
from portalit.errors import PortalitError

# A fake key, assembled so that secret scanners do not mistake the source for a real one.
SECRET = "sk-" + "portalit-test-0123456789abcdef" + "SECRET"


def test_missing_key_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(PortalitError, match="needs OPENAI_API_KEY; set it in your environment or in a .env"):
        portalit.Client("cloud", model="openai/gpt-4o-mini").chat("hi")
    with pytest.raises(PortalitError, match="ANTHROPIC_API_KEY"):
        portalit.Client("cloud", model="anthropic/claude-3-5-haiku-20241022").chat("hi")


def test_key_is_read_from_dotenv_without_printing_it(monkeypatch, tmp_path):
    # setenv first so that teardown removes what load_dotenv() puts into os.environ: a key left
    # behind would reach every later kernel and make lessons call the cloud.
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder")
    monkeypatch.delenv("OPENAI_API_KEY")
    (tmp_path / ".env").write_text(f"OPENAI_API_KEY={SECRET}\n")
    monkeypatch.chdir(tmp_path)
    status = portalit.ready("cloud", "openai/gpt-4o-mini")
    assert status and SECRET not in str(status) and SECRET not in json.dumps(status.to_dict())
    assert keys.missing_keys("openai/gpt-4o-mini") == []


class RefusingProvider(BaseHTTPRequestHandler):
    def do_POST(self):
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        body = json.dumps({"error": {"message": f"Incorrect API key provided: {key}.", "type": "invalid_request_error",
                                     "code": "invalid_api_key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_refused_key_error_never_contains_the_key(monkeypatch, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingProvider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{server.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_BASE", f"http://127.0.0.1:{server.server_address[1]}/v1")
    try:
        with pytest.raises(PortalitError) as info:
            portalit.Client("cloud", model="openai/gpt-4o-mini").chat("hi")
    finally:
        server.shutdown()
    message = str(info.value)
    assert "refused the key" in message and "\n" not in message
    assert SECRET not in message and SECRET[10:] not in message
    out = capsys.readouterr()
    assert SECRET not in out.out + out.err


def test_redact_masks_environment_secrets_and_key_shapes(monkeypatch):
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-abcdefgh12345")
    text = keys.redact("failed with tok-abcdefgh12345 and " + "sk-" + "abcdefghijklmnopqrstuvwxyz")
    assert "tok-abcdefgh12345" not in text and "sk-abcdefghijklmnop" not in text


def test_dotenv_key_does_not_outlive_its_test():
    import os

    assert os.environ.get("OPENAI_API_KEY") != SECRET


PROVIDER_KEYS = ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "MISTRAL_API_KEY", "DEEPSEEK_API_KEY",
                 "PORTALIT_CLOUD_MODEL"]


@pytest.fixture
def no_keys(monkeypatch, tmp_path):
    for name in PROVIDER_KEYS:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env above it
    from portalit.backends import cloud

    monkeypatch.setattr(cloud, "_chosen", None)  # no choice from an earlier test's use("cloud", model=...)
    return monkeypatch


@pytest.mark.parametrize("variable, model", [("ANTHROPIC_API_KEY", "anthropic/claude-haiku-4-5"),
                                             ("GEMINI_API_KEY", "gemini/gemini-2.5-flash"),
                                             ("MISTRAL_API_KEY", "mistral/mistral-small-latest")])
def test_any_providers_key_makes_cloud_ready_with_that_provider(no_keys, variable, model):
    assert not portalit.ready("cloud")
    no_keys.setenv(variable, SECRET)
    status = portalit.ready("cloud")
    assert status and model in str(status) and SECRET not in str(status)
    assert portalit.Client("cloud").model == model


def test_portalit_cloud_model_chooses_the_cloud_model(no_keys, tmp_path):
    (tmp_path / ".env").write_text("PORTALIT_CLOUD_MODEL=anthropic/claude-sonnet-4-5\n")
    no_keys.setenv("PORTALIT_CLOUD_MODEL", "placeholder")  # so teardown removes what .env sets
    no_keys.delenv("PORTALIT_CLOUD_MODEL")
    assert portalit.Client("cloud").model == "anthropic/claude-sonnet-4-5"
    status = portalit.ready("cloud")
    assert not status and "ANTHROPIC_API_KEY" in str(status)
    portalit.Client("cloud", model="gemini/gemini-2.5-flash")  # as the picker does: the latest choice wins
    assert portalit.Client("cloud").model == "gemini/gemini-2.5-flash"
    from portalit.backends import cloud

    cloud._chosen = None
    no_keys.setenv("PORTALIT_CLOUD_MODEL", "gpt-4o")
    with pytest.raises(PortalitError, match=r"PORTALIT_CLOUD_MODEL='gpt-4o' must be a litellm id, provider/model"):
        portalit.Client("cloud")


def test_no_network_is_one_clear_line(no_keys):
    # A provider nobody answers for: a loopback port with nothing listening stands in for no network.
    no_keys.setenv("OPENAI_API_KEY", SECRET)
    no_keys.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    no_keys.setenv("OPENAI_API_BASE", "http://127.0.0.1:9/v1")
    no_keys.setenv("PORTALIT_TIMEOUT", "5")
    with pytest.raises(PortalitError) as info:
        portalit.Client("cloud").chat("hi", max_tokens=2)
    message = str(info.value)
    assert message.startswith("cloud model 'openai/gpt-4o-mini' is unreachable from this machine (no network")
    assert "\n" not in message and SECRET not in message
