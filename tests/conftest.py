"""Shared fixtures. Everything here is real: real models, a real `portalit serve` on 127.0.0.1."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
for key, value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}.items():
    os.environ.setdefault(key, value)
# nbgrader runs `alembic` (and notebooks run `jupyter`) from the venv's bin.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
# A stray PORTALIT_BACKEND from a kernel or shell must not change what the tests exercise.
os.environ.pop("PORTALIT_BACKEND", None)
os.environ.pop("PORTALIT_API_BASE", None)

ARTIFACTS = ROOT / "test-artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_cli(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    """`portalit ARGS` in a fresh process, as a person would type it."""
    return subprocess.run([sys.executable, "-m", "portalit.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.fixture(scope="session")
def server_url():
    """A real `portalit serve` process on a free loopback port, stopped after the session."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "portalit.cli", "serve", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"portalit serve exited: {proc.stderr.read()}")
        try:
            urllib.request.urlopen(url + "/models", timeout=1).read()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("portalit serve did not start within 60 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def local():
    import portalit

    return portalit.Client("local-cpu")
