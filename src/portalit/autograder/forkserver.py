"""The fork server: a process that has imported nbgrader and the course's heavy libraries once and
forks a worker per submission, so no submission pays those imports again."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import traceback
from pathlib import Path
from typing import ClassVar

from ..errors import PortalitError
from ..processes import die_with_parent

# Imported once by the fork server, so that neither a worker nor a kernel forked from it imports
# them again: what grading itself needs, what the assignment's notebooks import, and the engines
# behind the portalit calls they make (see preload_for). portalit comes first: it sets the offline
# environment that litellm and the hub libraries read at import.
# Every name here is checked by tests/autograder/test_forkserver.py, so a rename cannot fail silently.
GRADING_PRELOAD = ["portalit", "portalit.grading", "portalit.autograder.worker", "portalit.autograder.feedback",
                   "nbgrader.converters", "nbgrader.api", "nbgrader.plugins.export", "ipykernel.kernelapp",
                   "ipykernel.ipkernel", "ipykernel.debugger", "IPython", "numpy"]
CHAT_PRELOAD = ["portalit.session", "portalit.engines.bridge", "portalit.engines.llamacpp", "litellm",
                "litellm.main", "llama_cpp"]
EMBED_PRELOAD = ["portalit.session", "portalit.engines.bridge", "portalit.engines.embedders", "litellm",
                 "litellm.main", "torch", "transformers"]
USES_CHAT = re.compile(r"\.chat\(|\bask\(|\.stream\(|warm_up\(chat")
USES_EMBED = re.compile(r"\bembed\(|\bsimilarity\(|check_similar\(|warm_up\(.*embed")


# What of the instructor's environment the graders see: no keys, no tokens, no backend choice (a
# grade never depends on which model the instructor last used, and a sandbox forked from a grader
# must find no secret in its memory, /proc/self/environ included).
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV", "PORTALIT_THREADS",
                  "PORTALIT_INT8_SCAN", "PORTALIT_CACHE", "PORTALIT_DATA", "OMP_NUM_THREADS",
                  "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "MKL_NUM_THREADS",
                  "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "LITELLM_LOCAL_MODEL_COST_MAP")
KEPT_PREFIXES = ("LC_", "NUMBA_")


def grading_environment() -> dict:
    """The environment the fork server (and so every worker) starts with."""
    return {k: v for k, v in os.environ.items() if k in KEPT_VARIABLES or k.startswith(KEPT_PREFIXES)}


def preload_for(folder: Path) -> list[str]:
    """Modules worth importing once for grading the notebooks in `folder` (an assignment)."""
    import ast

    import nbformat

    modules = list(GRADING_PRELOAD)
    code = []
    for path in sorted(folder.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            code.append(cell.source)
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:  # e.g. IPython magics
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    # `from portalit import geometry` imports a submodule; names that are not
                    # modules fail to import in the server, which is harmless.
                    modules += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    text = "\n".join(code)
    if USES_CHAT.search(text):
        modules += CHAT_PRELOAD
    if USES_EMBED.search(text):
        modules += EMBED_PRELOAD
    if "load_glove" in text:
        modules.append("portalit.models:load_glove")  # 400,000 word vectors, numpy only: safe to share
    return list(dict.fromkeys(modules))


class ForkServer:
    """A process that has imported nbgrader and the course's heavy libraries once, and forks a
    worker per submission on request (one JSON line in, the worker's pid out). Its children are
    reaped automatically, so the pool can tell a finished worker by its pid alone."""

    def __init__(self, preload: list[str]):
        self.preload = set(preload)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from portalit.autograder.forkserver import serve; serve()", json.dumps(preload)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
            preexec_fn=die_with_parent, env=grading_environment())
        self.ready = False

    def alive(self) -> bool:
        return self.process.poll() is None

    def start(self, job: dict) -> int:
        if not self.ready:
            self._expect("ready")
            self.ready = True
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()
        return int(self._expect("pid"))

    def _expect(self, key: str) -> str:
        line = self.process.stdout.readline()
        if not line.startswith(key + " "):
            raise PortalitError(f"the grading fork server stopped unexpectedly ({line.strip() or 'no output'}); "
                                f"check that `{sys.executable} -c 'import portalit.autograder.worker'` works")
        return line.split(" ", 1)[1].strip()

    def close(self):
        if self.alive():
            self.process.stdin.close()  # end of requests: the server exits
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


    _current: ClassVar[ForkServer | None] = None  # one per process, kept between runs

    @classmethod
    def having(cls, preload: list[str]) -> ForkServer:
        """A fork server that has imported `preload`: this process's last one if it did, else a new
        one (kept for later runs, closed at exit)."""
        server = cls._current
        if server is None or not server.alive() or not set(preload) <= server.preload:
            import atexit

            if server is not None:
                server.close()
            server = cls._current = cls(preload)
            atexit.register(server.close)
        return server


def fork_server(preload: list[str]) -> ForkServer:
    """`ForkServer.having(preload)`."""
    return ForkServer.having(preload)


def serve() -> None:
    """The fork server's main loop (see ForkServer); argv[1] is the JSON list of modules to preload,
    where "module:function" also calls that function (to load data once)."""
    import importlib

    from . import feedback, worker

    for name in json.loads(sys.argv[1]):
        module, _, function = name.partition(":")
        try:
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception:  # noqa: BLE001 (a module missing here only costs its import later)
            pass
    if "litellm" in sys.modules:
        try:
            from ..engines import bridge

            bridge.litellm()  # registers the local providers once
        except Exception:  # noqa: BLE001
            pass
    try:
        feedback.warm_up()
    except Exception:  # noqa: BLE001 (warming is an optimisation; the workers do the real thing)
        pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel at once
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the pool, which stops the workers
    print("ready 1", flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                worker.grade_one(job)
                code = 0
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
