"""What answers behind the gateway: llama.cpp's own `llama-server` for chat (parallel slots,
continuous batching: concurrent learners share each decoding step), and the embedding models
in-process, on a thread of their own.

`make setup` builds llama-server from the llama.cpp sources inside the llama-cpp-python sdist
(the same version the course runs) into the venv's bin; PORTALIT_LLAMA_SERVER names another.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .. import engines
from ..errors import PortalitError
from ..processes import die_with_parent


def binary() -> Path:
    named = os.environ.get("PORTALIT_LLAMA_SERVER")
    for candidate in ([Path(named)] if named else []) + [Path(sys.prefix) / "bin" / "llama-server"]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("llama-server")
    if found:
        return Path(found)
    raise PortalitError("llama-server is not built: run `make setup` (it builds llama.cpp's server from the "
                        "llama-cpp-python sources), or set PORTALIT_LLAMA_SERVER to one you have")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """A llama-server child process on a loopback port, serving one GGUF chat model under `alias`."""

    def __init__(self, model: str, slots: int = 8, context: int = 2048, threads: int | None = None,
                 log: Path | None = None):
        self.alias, self.slots, self.context, self.log = model, slots, context, log
        self.path = engines.resolve_chat_path(model)
        self.threads = threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = None
        self.template_file: Path | None = None

    def start(self, timeout: float = 120.0) -> "LlamaServer":
        from ..engines.llamacpp import default_threads

        command = [str(binary()), "--model", str(self.path), "--alias", self.alias, "--host", "127.0.0.1",
                   "--port", str(self.port), "--parallel", str(self.slots),
                   "--ctx-size", str(self.context * self.slots), "--threads", str(self.threads or default_threads()),
                   "--threads-batch", str(self.threads or default_threads()),
                   "--no-webui", "--log-verbosity", "2",
                   # A trailing assistant message is answered, as by `portalit serve` and OpenAI's API;
                   # continuing it takes the explicit continue_final_message (llama-server continues
                   # it by default).
                   "--no-prefill-assistant"]
        from .. import models

        lora = models.lora_path(self.alias) if self.alias in models.CATALOGUE else None
        if lora:  # a tuned model: its base GGUF with the adapter applied
            command += ["--lora", str(lora)]
        template = engines.template(self.alias)
        if template:  # the file has no chat template: the catalogue's, as in every other engine
            import tempfile

            with tempfile.NamedTemporaryFile("w", suffix=".jinja", prefix="portalit-template-", delete=False) as f:
                f.write(template[0])
            self.template_file = Path(f.name)
            command += ["--jinja", "--chat-template-file", f.name]
        # Its log goes to a file: a pipe nobody reads would fill and stall the server.
        log = open(self.log, "ab") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                        preexec_fn=die_with_parent)
        if self.log:
            log.close()
        deadline = time.monotonic() + timeout
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = Path(self.log).read_text(errors="replace")[-800:] if self.log else ""
                raise PortalitError(f"llama-server exited while starting (code {self.process.returncode}): {tail}")
            try:
                with opener.open(self.url + "/health", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.close()
        raise PortalitError(f"llama-server did not become ready within {timeout:.0f} s")

    def close(self) -> None:
        if self.template_file:
            self.template_file.unlink(missing_ok=True)
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
