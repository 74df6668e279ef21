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
