"""Inside a sandbox: runs a learner's cells and answers the grader's questions over two pipes.

Requests (wire frames): {"op": "run", "code"} runs a cell; {"op": "get", "names"} sends the values
of names; {"op": "call", "target", "args", "kwargs"} calls a learner function. Values go out as
strict data (wire.encode); functions and other objects stay here, sent as references the grader
can only call or pass back. A grader callable passed as an argument comes back here as a stub that
asks the grader to run it. Nothing here can see a test: the grader never sends one.
"""
from __future__ import annotations

import itertools
import json
import signal
import sys

from . import wire

MAX_TEXT = 64 * 1024  # bytes of stdout/stderr kept per cell or call
MAX_DATA = 1024 * 1024  # bytes of one rich output (an image, a plot)


class Runner:
    def __init__(self, inbox: int, outbox: int):
        from IPython.core.interactiveshell import InteractiveShell
        from traitlets.config import Config

        config = Config()
        config.HistoryManager.enabled = False
        self.shell = InteractiveShell.instance(config=config)
        self.inbox, self.outbox = inbox, outbox
        self.objects: dict[int, object] = {}
        self.ids = itertools.count(1)

    def loop(self) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        while True:
            try:
                request = wire.receive(self.inbox)
            except EOFError:
                return
            op = request.get("op")
            if op == "run":
                self._reply({"op": "done", **self.run(str(request.get("code", "")))})
            elif op == "get":
                self._reply({"op": "values", "values": {str(n): self._value_of(str(n)) for n in request.get("names", [])}})
            elif op == "call":
                self._reply(self.call(request))
            else:
                self._reply({"op": "error", "message": f"unknown request {op!r}"})

    def _reply(self, message: dict) -> None:
        try:
            wire.send(self.outbox, message)
        except wire.WireError as e:  # too big to send: say so instead
            wire.send(self.outbox, {"op": "error", "message": str(e)})

    # -- cells --------------------------------------------------------------------------------

    def run(self, code: str) -> dict:
        from IPython.utils.capture import capture_output

        try:
            with capture_output() as captured:
                result = self.shell.run_cell(code, store_history=True)
        except KeyboardInterrupt:  # arrived outside the cell's own code
            return {"outputs": [_error_output(KeyboardInterrupt())], "error": True}
        outputs = _streams(captured.stdout, captured.stderr)
        for rich in captured.outputs:
            outputs.append(_display(rich.data, rich.metadata))
        error = result.error_in_exec or result.error_before_exec
        if error is not None:
            outputs = [o for o in outputs if o.get("name") != "stderr" or "Traceback" not in o["text"]]
            outputs.append(_error_output(error))
        return {"outputs": outputs, "error": error is not None}

    # -- values and calls ---------------------------------------------------------------------

    def _refer(self, value) -> dict:
        key = next(self.ids)
        self.objects[key] = value
        if callable(value) and not isinstance(value, type):
            return {"function": key}
        return {"handle": key, "type": wire.type_name(value)}

    def _value_of(self, name: str):
        namespace = self.shell.user_ns
        if name not in namespace:
            return {"missing": name}
        try:
            return wire.encode(namespace[name], self._refer)
        except wire.WireError as e:
            return {"unsendable": str(e)}

    def _resolve(self, data: dict):
        if "handle" in data or "function" in data:
            key = data.get("handle", data.get("function"))
            if key not in self.objects:
                raise wire.WireError("an unknown reference")
            return self.objects[key]
        if "ref" in data:  # an object the course's setup made on both sides, by its name
            return self.shell.user_ns[str(data["ref"])]
        if "callback" in data:
            return _Callback(self, data["callback"])
        raise wire.WireError(f"unknown reference {sorted(data)!r}")

    def call(self, request: dict) -> dict:
        from IPython.utils.capture import capture_output

        try:
            target = self._resolve(request["target"])
            args = wire.decode(request.get("args", []), self._resolve)
            kwargs = wire.decode(request.get("kwargs", {"dict": []}), self._resolve)
        except (wire.WireError, KeyError, TypeError) as e:
            return {"op": "raised", "error": {"ename": "LearnerError", "evalue": f"bad call: {e}"}, "outputs": []}
        error = None
        with capture_output(display=False) as captured:
            try:
                value = target(*args, **kwargs)
            except BaseException as e:  # noqa: BLE001 (the learner's exception is the grader's answer)
                error = e
        outputs = _streams(captured.stdout, captured.stderr)
        if error is not None:
            return {"op": "raised", "error": wire.exception_data(error), "outputs": outputs}
        try:
            return {"op": "result", "value": wire.encode(value, self._refer), "outputs": outputs}
        except wire.WireError as e:
            return {"op": "raised", "error": {"ename": "LearnerError", "evalue": str(e)}, "outputs": outputs}


class _Callback:
    """A grader function passed to a learner function: calling it asks the grader to run it."""

    def __init__(self, runner: Runner, key):
        self.runner, self.key = runner, key

    def __call__(self, *args, **kwargs):
        runner = self.runner
        wire.send(runner.outbox, {"op": "callback", "id": self.key, "args": wire.encode(list(args), runner._refer),
                                  "kwargs": wire.encode(dict(kwargs), runner._refer)})
        answer = wire.receive(runner.inbox)
        if answer.get("op") == "return":
            return wire.decode(answer.get("value"), runner._resolve)
        raise wire.exception_from(answer.get("error"))


def _cap(text: str, limit: int = MAX_TEXT) -> str:
    data = text.encode(errors="replace")
    if len(data) <= limit:
        return text
    return data[:limit].decode(errors="ignore") + f"\n... [output cut at {limit // 1024} KB]\n"


def _streams(stdout: str, stderr: str) -> list:
    return [{"output_type": "stream", "name": name, "text": _cap(text)}
            for name, text in (("stdout", stdout), ("stderr", stderr)) if text]


def _display(data: dict, metadata: dict) -> dict:
    kept = {}
    for mime, value in (data or {}).items():
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) <= MAX_DATA:
            kept[str(mime)] = value
    if not kept:
        kept = {"text/plain": "[an output too large to keep]"}
    return {"output_type": "display_data", "data": kept, "metadata": {}}


def _error_output(error: BaseException) -> dict:
    import traceback

    data = wire.exception_data(error)
    name = type.__dict__["__name__"].__get__(type(error))
    evalue = data["evalue"] if data["ename"] != "LearnerError" else data["evalue"].split(": ", 1)[-1]
    lines = traceback.format_exception(error)
    # The learner's own frames only: the runner's frames say nothing to them.
    shown = [line for line in lines if "portalit/autograder" not in line and "IPython/core" not in line]
    return {"output_type": "error", "ename": name[:200], "evalue": _cap(evalue, 4000),
            "traceback": [_cap("".join(shown), 16 * 1024)]}


def serve(inbox: int, outbox: int) -> None:
    """The sandbox's main: a Runner until the grader closes the pipe."""
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    Runner(inbox, outbox).loop()
