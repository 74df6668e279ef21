"""A real JupyterLab on 127.0.0.1 driven by Debian's chromium through Playwright (no browser download).

One JupyterLab and one browser serve the whole browser suite; each test writes its own small
notebook, opens it in a fresh page, runs it, and shuts its kernel down afterwards. Screenshots go
to test-artifacts/browser/.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.conftest import ARTIFACTS, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
SHOTS = ARTIFACTS / "browser"
KERNEL = "portalit-local-cpu"
# Settings a fresh JupyterLab would otherwise nag about or virtualise away.
USER_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def _get(url: str, timeout: float = 2.0):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback never via a proxy
    with opener.open(url, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


class Lab:
    """A running JupyterLab: its URL, token and notebook folder."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen):
        self.root, self.port, self.token, self.process = root, port, token, process
        self.base = f"http://127.0.0.1:{port}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def notebook(self, name: str, cells: list[str]) -> str:
        """Writes a notebook of code cells on the PortaLit local-CPU kernel; returns its lab URL."""
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "PortaLit: local CPU (offline)",
                                     "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
        nbformat.write(nb, self.root / name)
        # A workspace of its own, so that tabs of earlier tests are not restored beside it.
        return f"{self.base}/lab/workspaces/{Path(name).stem}/tree/{name}?token={self.token}"

    def shutdown_kernels(self) -> None:
        for session in self.api("/api/sessions") or []:
            self.api(f"/api/sessions/{session['id']}", method="DELETE")
        for kernel in self.api("/api/kernels") or []:
            self.api(f"/api/kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip("browser tests need Debian's chromium (`make test-browser-deps` installs it)")
    home = tmp_path_factory.mktemp("jupyterlab")
    root, config, runtime = home / "notebooks", home / "config", home / "runtime"
    for folder in (root, config, runtime):
        folder.mkdir()
    for name, value in USER_SETTINGS.items():
        path = config / "lab" / "user-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "JUPYTER_RUNTIME_DIR": str(runtime),
           "JUPYTERLAB_SETTINGS_DIR": str(config / "lab" / "user-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "PORTALIT_CACHE": str(home / "cache")}
    args = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip", "127.0.0.1", "--port", str(port),
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            f"--MappingKernelManager.default_kernel_name={KERNEL}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if os.geteuid() == 0:
        args.append("--allow-root")
    log = open(home / "jupyterlab.log", "w")
    process = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    lab = Lab(root, port, token, process)
    deadline = time.time() + 90
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"JupyterLab exited: {(home / 'jupyterlab.log').read_text()[-2000:]}")
        try:
            lab.api("/api/status")
            break
        except OSError:
            if time.time() > deadline:
                process.kill()
                raise RuntimeError("JupyterLab did not answer within 90 s") from None
            time.sleep(0.3)
    yield lab
    try:
        lab.shutdown_kernels()
    except OSError:
        pass
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(home / "jupyterlab.log", SHOTS / "jupyterlab.log")


@pytest.fixture(scope="session")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    SHOTS.mkdir(parents=True, exist_ok=True)
    if getattr(request.node, "failed", False):
        page.screenshot(path=str(SHOTS / f"{request.node.name}-failed.png"))
    context.close()
    lab.shutdown_kernels()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call" and report.failed:
        item.failed = True
    return report


def open_and_run_all(page, url: str, timeout_s: float = 180) -> None:
    """Opens a notebook, waits for its kernel to be really idle, runs every cell and waits for all of them.

    Widget messages queue behind running cells, so tests interact only once every cell has run.
    """
    page.goto(url)
    page.locator(".jp-Notebook").first.wait_for()
    # The toolbar's idle indicator lies while the kernel starts, and a Run All clicked then is lost:
    # wait for the status bar's own text.
    status = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
    status.first.wait_for(timeout=timeout_s * 1000)
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # Each code cell's prompt reads "[ ]:" before it runs, "[*]:" while queued or running, "[n]:" after.
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
            return prompts.length > 0 && prompts.every(p => /\[\d+\]/.test(p.textContent));
        }""", timeout=timeout_s * 1000)


def run_cell(page, index: int) -> None:
    """Runs one cell (0-based) from the keyboard, as a learner would."""
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")


def shot(target, name: str) -> Path:
    """Saves a screenshot of a page or an element into test-artifacts/browser/."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    target.screenshot(path=str(path))
    return path
