"""A real gateway: `portalit gateway init` on a roster, then `portalit gateway serve` in its own
process on a free loopback port, with llama.cpp's llama-server behind it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portalit.errors import PortalitError
from portalit.gateway import upstream
from tests.conftest import free_port, run_cli

LEARNERS = ["ada", "bob", "cat", "dan"]


def needs_llama_server():
    try:
        upstream.binary()
    except PortalitError as e:
        pytest.skip(str(e))


class Running:
    def __init__(self, directory: Path, process: subprocess.Popen, url: str, log: Path):
        self.directory, self.process, self.url, self.log = directory, process, url, log
        self.keys = dict(line.split(",", 1) for line in (directory / "keys.csv").read_text().split()[1:])

    def client(self, learner: str, **options):
        import openai

        return openai.OpenAI(base_url=self.url, api_key=self.keys[learner], max_retries=0, **options)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def make_gateway(directory: Path) -> Path:
    roster = directory.parent / f"{directory.name}-roster.csv"
    roster.write_text("learner,email\n" + "".join(f"{n},{n}@example.org\n" for n in LEARNERS))
    done = run_cli("gateway", "init", str(roster), "--out", str(directory), "--json")
    assert done.returncode == 0, done.stderr
    return directory


def serve(directory: Path, *flags: str, env: dict | None = None) -> Running:
    port = free_port()
    log = directory.parent / f"{directory.name}-{port}.log"
    handle = open(log, "w")
    process = subprocess.Popen([sys.executable, "-m", "portalit.cli", "gateway", "serve", str(directory),
                                "--port", str(port), *flags], stdout=handle, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the gateway exited:\n{log.read_text()[-3000:]}")
        try:
            with opener.open(url + "/health", timeout=1) as response:
                assert json.load(response) == {"status": "ok"}
                return Running(directory, process, url + "/v1", log)
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise AssertionError(f"the gateway did not start within 120 s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    """One gateway for the module: small limits, so that tests can reach them quickly."""
    needs_llama_server()
    directory = make_gateway(tmp_path_factory.mktemp("gateway") / "class")
    running = serve(directory, "--rpm", "8", "--tpm", "100000", "--parallel", "1", "--daily-tokens", "1000000",
                    "--slots", "4", env={"PORTALIT_GATEWAY_BODY_SECONDS": "2"})
    yield running
    running.stop()
