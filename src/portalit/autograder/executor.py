"""Running a submission for nbgrader with the tests out of the learner's reach.

nbgrader runs a notebook's test cells in the learner's own kernel, where learner code can patch the
checks, read the hidden tests and forge results. Here the learner's cells run in a sandbox
(sandbox.py, runner.py), and each test cell runs in this trusted process instead, from the master
notebook's source (never the submission's): the names the master's answer cells define are fetched
from the sandbox at that moment, as strict data (wire.py), or as functions that run back in the
sandbox with data in and data out. So no test code or expected value ever enters the learner's
process, and nothing the learner patches there can change a score. The cells' outputs go back into
the notebook as nbgrader's Execute would leave them; nbgrader scores and records them as usual.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import itertools
import linecache
import os
import select
import signal
import time
import traceback

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from ..grading import without_hidden_tests
from . import sandbox, wire

INTERRUPT_GRACE_S = 5.0  # how long interrupted learner code has to stop before its sandbox is killed
OUTPUT_BUDGET = 4 * 1024 * 1024  # bytes of outputs one notebook keeps (its feedback page stays small)


class SandboxDied(Exception):
    """The learner's sandbox stopped answering (a crash, the memory limit, an ignored interrupt)."""


class Remote:
    """Something of the learner's that stays in the sandbox: a function (callable) or another object."""

    def __init__(self, session, ref: dict, generation: int, label: str):
        self._session, self._ref, self._generation, self._label = session, ref, generation, label

    def __call__(self, *args, **kwargs):
        if "function" not in self._ref:
            raise TypeError(f"{self._label} is not callable")
        return self._session.call(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<{self._label}>"


class Session:
    """The grader's end of one submission's sandbox: run cells, read values, call learner functions.

    A learner cell or call past `timeout` is interrupted; one that ignores the interrupt (or a
    sandbox that dies) is killed and a fresh sandbox starts for the cells after it.
    """

    def __init__(self, zygote: sandbox.Zygote, mode: str, scratch, root, limits: sandbox.Limits, uid: int,
                 threads: int, name: str):
        self.zygote, self.mode, self.scratch, self.root = zygote, mode, scratch, root
        self.limits, self.uid, self.threads, self.name = limits, uid, threads, name
        self.generation = 0
        self.shared: dict = {}  # set-up objects both sides made: passed by name, not by value
        self.deadline = 0.0
        self.callbacks: dict[int, object] = {}
        self.ids = itertools.count(1)
        self.pid = None
        self._start()

    def _start(self) -> None:
        self.generation += 1
        self.cgroups = sandbox.Cgroups(f"{self.name}-{self.generation}", self.limits)
        self.pid, self.outbox, self.inbox = self.zygote.start(
            self.mode, self.scratch, self.root, self.limits, self.cgroups, self.uid, self.threads)

    def restart(self) -> None:
        self.kill()
        self._start()

    def kill(self) -> None:
        if self.pid is None:
            return
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for fd in (self.outbox, self.inbox):
            try:
                os.close(fd)
            except OSError:
                pass
        self.pid = None
        self.cgroups.close()

    close = kill

    # -- the protocol -------------------------------------------------------------------------

    def _exchange(self, message: dict, deadline: float) -> dict:
        """Sends `message` and returns the sandbox's answer, running grader callbacks it asks for."""
        if self.pid is None:
            raise SandboxDied("the sandbox is not running")
        try:
            wire.send(self.outbox, message)
        except (OSError, wire.WireError) as e:
            raise SandboxDied(f"could not reach the sandbox ({e})") from None
        interrupted = False
        while True:
            wait = deadline - time.monotonic()
            if wait <= 0:
                if interrupted:
                    raise SandboxDied("the learner's code ignored the interrupt")
                interrupted = True
                try:
                    os.killpg(self.pid, signal.SIGINT)
                except ProcessLookupError:
                    raise SandboxDied("the sandbox is gone") from None
                deadline = time.monotonic() + INTERRUPT_GRACE_S
                continue
            ready, _, _ = select.select([self.inbox], [], [], wait)
            if not ready:
                continue
            try:
                answer = wire.receive(self.inbox)
            except (EOFError, OSError):
                raise SandboxDied("the sandbox stopped (a crash, os._exit or too much memory)") from None
            except wire.WireError as e:
                raise SandboxDied(f"the sandbox sent what the grader cannot read ({e})") from None
            if answer.get("op") != "callback":
                answer["interrupted"] = interrupted
                return answer
            self._run_callback(answer)

    def _run_callback(self, request: dict) -> None:
        function = self.callbacks.get(request.get("id"))
        try:
            args = wire.decode(request.get("args", []), self._resolve)
            kwargs = wire.decode(request.get("kwargs", {"dict": []}), self._resolve)
            value = function(*args, **kwargs)
            reply = {"op": "return", "value": wire.encode(value, self._refer)}
        except Exception as e:  # noqa: BLE001 (a failing grader callback is an answer too)
            reply = {"op": "raise", "error": wire.exception_data(e)}
        wire.send(self.outbox, reply)

    def _refer(self, value) -> dict:
        """How a grader value that is not data goes to the sandbox: a reference or a callback."""
        if isinstance(value, Remote):
            if value._generation != self.generation:
                raise wire.WireError(f"{value._label} is from before the sandbox was restarted")
            return value._ref
        name = next((n for n, v in self.shared.items() if v is value), None)
        if name is not None:
            return {"ref": name}
        if callable(value):
            key = next(self.ids)
            self.callbacks[key] = value
            return {"callback": key}
        raise wire.WireError(f"a {type(value).__name__} cannot be passed to the learner's code")

    def _resolve(self, data: dict):
        if "function" in data:
            return Remote(self, {"function": data["function"]}, self.generation, "the learner's function")
        if "handle" in data:
            kind = str(data.get("type", "object"))[:60]
            return Remote(self, {"handle": data["handle"]}, self.generation, f"the learner's {kind} object")
        raise wire.WireError(f"unknown reference {sorted(data)!r}")

    def run(self, code: str, timeout: float) -> dict:
        """{"outputs", "error"} of a cell run in the sandbox."""
        answer = self._exchange({"op": "run", "code": code}, time.monotonic() + timeout)
        if answer.get("op") != "done" or type(answer.get("outputs")) is not list:
            raise SandboxDied("the sandbox answered out of turn")
        return {"outputs": [_clean_output(o) for o in answer["outputs"]][:100], "error": bool(answer.get("error"))}

    def values(self, names, deadline: float) -> dict:
        """The sandbox's values of `names` (absent ones left out)."""
        answer = self._exchange({"op": "get", "names": sorted(names)}, deadline)
        found = {}
        for name, data in (answer.get("values") or {}).items():
            if type(data) is dict and ("missing" in data or "unsendable" in data):
                continue
            found[name] = wire.decode(data, self._resolve)
        return found

    def call(self, remote: Remote, args, kwargs):
        if remote._generation != self.generation:
            raise wire.LearnerError(f"{remote._label} is gone: its sandbox was restarted after an earlier failure")
        message = {"op": "call", "target": remote._ref, "args": wire.encode(list(args), self._refer),
                   "kwargs": wire.encode(dict(kwargs), self._refer)}
        answer = self._exchange(message, self.deadline)
        for output in answer.get("outputs") or []:  # what the learner's function printed
            if type(output) is dict and type(output.get("text")) is str:
                print(output["text"], end="")
        if answer.get("op") == "result":
            return wire.decode(answer.get("value"), self._resolve)
        if answer.get("interrupted"):
            raise TimeoutError("the learner's function was still running at the cell's time limit")
        raise wire.exception_from(answer.get("error"))


def _clean_output(output) -> dict:
    """An output from the sandbox as a valid nbformat output (anything else becomes a short note)."""
    try:
        if type(output) is dict and output.get("output_type") in ("stream", "display_data", "error"):
            node = nbformat.from_dict(output)
            nbformat.validate(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[node])]))
            return node
    except Exception:  # noqa: BLE001
        pass
    return nbformat.v4.new_output("stream", name="stderr", text="[an output the grader could not read]\n")


def bound_names(source: str) -> set:
    """Names a cell binds at its top level (assignments, defs, imports, loop and with targets);
    not the names local to its functions, classes, lambdas or comprehensions."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set = set()
    scopes = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda, ast.ListComp, ast.SetComp,
              ast.DictComp, ast.GeneratorExp)

    def visit(node):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        if not isinstance(node, scopes):
            for child in ast.iter_child_nodes(node):
                visit(child)

    for statement in tree.body:
        visit(statement)
    return names


def used_names(source: str) -> set:
    try:
        return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}
    except SyntaxError:
        return set()


class Master:
    """What the grader trusts of a notebook: its master's test and read-only cells, by grade_id, and the
    names its answer cells define (the learner's side of the interface)."""

    def __init__(self, path):
        nb = nbformat.read(path, as_version=4)
        self.tests, self.locked, self.answer_names = {}, {}, set()
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader") or {}
            grade_id = meta.get("grade_id")
            if cell.cell_type != "code" or not grade_id:
                continue
            if meta.get("solution"):
                self.answer_names |= bound_names(cell.source)
            elif meta.get("grade"):
                self.tests[grade_id] = cell.source
            elif meta.get("locked"):
                self.locked[grade_id] = cell.source


class SandboxedExecute(NbGraderPreprocessor):
    """nbgrader's Execute, with learner cells in a sandbox and test cells in this trusted process."""

    def __init__(self, *args, session_factory, masters, timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.session_factory, self.masters, self.cell_timeout = session_factory, masters, timeout
        self.notes: list[str] = []
        self.budget = OUTPUT_BUDGET

    def preprocess(self, nb, resources):
        self.budget = OUTPUT_BUDGET
        master = self.masters(resources["nbgrader"]["notebook"])
        session = self.session_factory()
        trusted = {"__name__": "__main__", "__builtins__": builtins}
        count = itertools.count(1)
        from .. import grading  # the trusted process's copy, which the tests import

        # The learner's own code, for grading.check_by_hand: every code cell but the course's test and
        # set-up cells, and but copies of them (a duplicated test cell loses its id, not its origin).
        course_code = {without_hidden_tests(src).strip() for src in master.tests.values()}
        course_code |= {src.strip() for src in master.locked.values()}
        grading.SUBMITTED = {"setup": list(master.locked.values()),
                             "cells": [((c.get("metadata", {}).get("nbgrader") or {}).get("grade_id") or f"cell {i + 1}",
                                        c.source) for i, c in enumerate(nb.cells) if c.cell_type == "code"
                                       and (c.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
                                       not in master.tests.keys() | master.locked.keys()
                                       and c.source.strip() not in course_code]}
        try:
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                grade_id = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
                if grade_id in master.tests:
                    source = master.tests[grade_id]
                    self._in_sandbox(session, without_hidden_tests(source), grade_id or f"cell {index + 1}")
                    cell.outputs = self._trusted(session, trusted, source, grade_id, master)
                else:
                    cell.outputs = self._in_sandbox(session, cell.source, grade_id or f"cell {index + 1}")
                    if grade_id in master.locked:  # course set-up: the same objects on both sides
                        self._trusted(session, trusted, master.locked[grade_id], grade_id, master, quiet=True)
                        session.shared.update({n: trusted[n] for n in bound_names(master.locked[grade_id])
                                               if n in trusted})
                cell.outputs = self._within_budget(cell.outputs)
                cell.execution_count = next(count)
        finally:
            session.close()
            grading.SUBMITTED = None
        return nb, resources

    def _within_budget(self, outputs: list) -> list:
        kept = []
        for output in outputs:
            size = len(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(outputs=[output])])))
            if size > self.budget:
                kept.append(nbformat.v4.new_output("stream", name="stderr",
                                                   text="[further output left out: the notebook's outputs are over 4 MB]\n"))
                self.budget = 0
                break
            self.budget -= size
            kept.append(output)
        return kept

    def _in_sandbox(self, session: Session, code: str, label: str) -> list:
        if not code.strip():
            return []
        try:
            return session.run(code, self.cell_timeout)["outputs"]
        except SandboxDied as e:
            return self._restarted(session, label, str(e))

    def _restarted(self, session: Session, label: str, why: str) -> list:
        message = f"{why}; the learner's sandbox was restarted and later cells ran without this notebook's earlier state"
        self.notes.append(f"{label}: {why}; sandbox restarted")
        session.restart()
        return [nbformat.v4.new_output("error", ename="SandboxRestarted", evalue=message,
                                       traceback=[f"SandboxRestarted: {message}"])]

    def _trusted(self, session: Session, namespace: dict, source: str, grade_id: str, master: Master,
                 quiet: bool = False) -> list:
        """Runs test (or set-up) code here, with the learner's answer names fetched from the sandbox."""
        filename = f"<test {grade_id}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
        session.deadline = time.monotonic() + self.cell_timeout
        out = io.StringIO()
        error, restarted = None, []
        try:
            wanted = used_names(source) & master.answer_names
            if wanted:
                namespace.update(session.values(wanted, session.deadline))
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                exec(compile(source, filename, "exec"), namespace)  # noqa: S102 (the course's own tests)
        except SandboxDied as e:
            restarted = self._restarted(session, grade_id, str(e))
        except BaseException as e:  # noqa: BLE001 (a failing test is a result)
            error = e
        if quiet:
            return []
        printed = out.getvalue()
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=_cap(printed))] if printed else []
        if error is not None:
            outputs.append(_test_error(error, filename))
        return outputs + restarted


def _test_error(error: BaseException, filename: str) -> dict:
    frames = [line for line in traceback.format_exception(error) if "portalit/autograder" not in line]
    return nbformat.v4.new_output("error", ename=type(error).__name__, evalue=_cap(str(error), 4000),
                                  traceback=[_cap("".join(frames), 16 * 1024)])


def _cap(text: str, limit: int = 64 * 1024) -> str:
    data = text.encode(errors="replace")
    return text if len(data) <= limit else data[:limit].decode(errors="ignore") + "\n... [cut]\n"
