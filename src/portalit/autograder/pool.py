"""The pool: one worker process per submission, at most `workers` at a time; a worker's result is
recorded as soon as it finishes, and a worker past its overall limit is stopped with everything it started."""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from ..threads import cores
from . import gradebook, records
from ._process import alive, first_line, kill_group
from .forkserver import fork_server, preload_for

STARTUP_ALLOWANCE_S = 180  # kernel start, sanitising, feedback: added to a worker's overall limit


class Pool:
    """Grades submissions in worker processes forked by the fork server, `workers` at a time."""

    def __init__(self, course, assignment, template, workers, timeout, cell_timeout, sandbox_mode):
        import nbformat

        self.course, self.assignment, self.template = course, assignment, template
        self.workers, self.timeout, self.cell_timeout = workers, timeout, cell_timeout
        self.sandbox_mode = sandbox_mode
        self.work = course.state(assignment) / "work"
        cells = sum(sum(c.cell_type == "code" for c in nbformat.read(p, as_version=4).cells)
                    for p in sorted((course.source / assignment).glob("*.ipynb")))
        # A worker's overall limit: every code cell may use its timeout, plus start-up and feedback.
        self.limit_s = cell_timeout * (cells + 2) + STARTUP_ALLOWANCE_S
        # Sandboxes side by side must not oversubscribe the cores this process may use (portalit.threads).
        threads = max(1, cores() // workers)
        self.env = {"PORTALIT_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                    "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}

    def run(self, todo):
        """Yields one row per submission as each finishes."""
        if not todo:
            return
        server = fork_server(preload_for(self.course.source / self.assignment))
        pending = list(todo)
        running: dict = {}  # pid -> (student, fingerprint, work, started)

        def fill():
            while pending and len(running) < self.workers:
                student, fingerprint = pending.pop(0)
                work = self._prepare(student)
                running[server.start(self._job(student, work))] = (student, fingerprint, work, time.monotonic())

        try:
            while pending or running:
                fill()
                time.sleep(0.05)
                now, finished = time.monotonic(), []
                for pid, (student, fingerprint, work, started) in list(running.items()):
                    if (work / "result.json").exists() or not alive(pid):
                        del running[pid]
                        kill_group(pid)  # whatever the worker left behind goes too
                        finished.append((student, fingerprint, work, now - started))
                    elif now - started > self.limit_s:
                        del running[pid]
                        kill_group(pid)
                        yield error_row(student, f"grading took longer than {self.limit_s:.0f} s and was stopped",
                                         now - started, work)
                fill()  # start the next workers before recording these results: the cores stay busy
                for done in finished:
                    yield self._finish(*done)
        finally:
            for pid in running:  # interrupted: stop the workers (their sandboxes die with them)
                kill_group(pid)

    def _prepare(self, student) -> Path:
        work = self.work / student
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        shutil.copyfile(self.template, work / "gradebook.db")
        return work

    def _job(self, student, work) -> dict:
        return {"root": str(self.course.root), "assignment": self.assignment, "student": student,
                "work": str(work), "timeout": self.timeout, "env": self.env,
                "submitted": str(self.course.submitted), "source": str(self.course.source),
                "sandbox": self.sandbox_mode}

    def _finish(self, student, fingerprint, work: Path, seconds) -> dict:
        try:
            result = json.loads((work / "result.json").read_text())
        except (OSError, ValueError):
            return error_row(student, "the grading process ended without a result", seconds, work)
        if result["status"] != "graded":
            return error_row(student, result["error"], seconds, work)
        row = {"student": student, "status": "graded", "score": result["score"], "max_score": result["max_score"],
               "parts": result["parts"], "notes": result["notes"], "error": None, "seconds": round(seconds, 2),
               "timings": result.get("timings", {})}
        try:
            gradebook.merge(self.course, self.assignment, student, f"sqlite:///{work / 'gradebook.db'}")
        except Exception as e:  # e.g. the gradebook is locked by another program: this student only
            return error_row(student, f"could not record the grade in the course gradebook: "
                                       f"{type(e).__name__}: {first_line(e)}", seconds, work)
        replace_dir(work / "autograded" / student / self.assignment, self.course.autograded / student / self.assignment)
        feedback = work / "feedback" / student / self.assignment
        if feedback.is_dir():
            replace_dir(feedback, self.course.feedback / student / self.assignment)
        records.record(self.course, self.assignment, student, fingerprint, row)
        shutil.rmtree(work, ignore_errors=True)
        return row


def error_row(student, message, seconds, work: Path) -> dict:
    """The report row of a submission that could not be graded: its error line and its log."""
    log = work / "log.txt"
    return {"student": student, "status": "error", "score": None, "max_score": None, "parts": {}, "notes": [],
            "error": message, "log": str(log) if log.exists() else None, "seconds": round(seconds, 2)}


def replace_dir(src: Path, dst: Path) -> None:
    """Puts `src` where `dst` is, replacing it (what was there is removed only after the move)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except OSError:  # another file system (e.g. feedback/ mounted elsewhere)
        shutil.move(str(src), str(dst))
    shutil.rmtree(old, ignore_errors=True)
