"""Inside a worker process: grade one submission with nbgrader's Autograde and GenerateFeedback,
in a scratch copy of the gradebook, and leave a result file for the pool."""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
import traceback
from pathlib import Path

from ..processes import die_with_parent
from ._process import first_line
from . import executor, runner, sandbox
from .course import config_timeout, load_config
from .feedback import converter as feedback_converter, sanitise_folder
from .submission import StudentError, sanitise


def grade_one(job: dict) -> None:
    """Worker entry point: grade job["student"]'s submission; write work/result.json."""
    os.setpgrp()  # its own process group, so the pool can stop it together with its sandboxes
    die_with_parent()
    work = Path(job["work"])
    log = os.open(work / "log.txt", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the fork server's request pipe is not for workers
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdin = open(os.devnull)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    os.environ.update(job["env"])
    # Forked now, before this process reads a hidden test or the gradebook: sandboxes forked from it
    # have nothing of the course in memory to find.
    zygote = sandbox.Zygote(runner.serve)
    _scratch_sqlite()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        result = {"status": "graded", **_autograde(job, zygote, timings)}
    except StudentError as e:
        result = {"status": "error", "error": str(e)}
    except BaseException as e:  # noqa: BLE001 (a worker must always leave a result)
        traceback.print_exc()
        result = {"status": "error", "error": f"grading failed: {type(e).__name__}: {first_line(e)} "
                                              f"(details in {work / 'log.txt'})"}
    finally:
        zygote.close()
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["timings"] = {k: round(v, 2) for k, v in timings.items()}
    (work / "result.partial").write_text(json.dumps(result))
    os.replace(work / "result.partial", work / "result.json")


def _scratch_sqlite() -> None:
    """The worker's gradebook is a scratch copy: skip the disk syncs of its ~35 commits (if the
    machine crashes, the submission is simply graded again), and let nbgrader's many Gradebook
    objects share one engine, so each query is compiled once rather than once per object."""
    import nbgrader.api
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import Engine

    engines = {}

    def shared_engine(url, *args, **kwargs):
        key = (str(url), repr(args), repr(sorted(kwargs.items())))
        if key not in engines:
            engines[key] = create_engine(url, *args, **kwargs)
        return engines[key]

    nbgrader.api.create_engine = shared_engine

    @event.listens_for(Engine, "connect")
    def _no_sync(connection, record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.close()


def _autograde(job: dict, zygote: sandbox.Zygote, timings: dict) -> dict:
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute

    clock = time.perf_counter()
    root, assignment, student, work = Path(job["root"]), job["assignment"], job["student"], Path(job["work"])
    submission = sanitise(Path(job["submitted"]) / student / assignment, Path(job["source"]) / assignment,
                           work / "submitted" / student / assignment)
    config = load_config(root)
    if job["timeout"] is not None:
        for section in ("ExecutePreprocessor", "Execute"):
            config[section]["timeout"] = math.ceil(job["timeout"])  # nbgrader takes whole seconds
    db_url = f"sqlite:///{work / 'gradebook.db'}"
    config.CourseDirectory.update(
        root=str(root), assignment_id=assignment, student_id=student, db_url=db_url,
        submitted_directory=str(work / "submitted"), autograded_directory=str(work / "autograded"),
        feedback_directory=str(work / "feedback"), source_directory=job["source"])
    coursedir = CourseDirectory(config=config)
    errors = _ErrorLog()
    logging.getLogger("traitlets").addHandler(errors)

    autograde = Autograde(coursedir=coursedir, config=config)
    autograde.force = True
    execute = executor.SandboxedExecute(config=config, timeout=config_timeout(config),
                                        session_factory=_sessions(job, zygote, work / "submitted" / student / assignment),
                                        masters=_masters(Path(job["source"]) / assignment))
    autograde.autograde_preprocessors = [execute if p is Execute else p for p in autograde.autograde_preprocessors]
    timings["prepare_s"], clock = time.perf_counter() - clock, time.perf_counter()
    try:
        autograde.start()
    except Exception:
        raise StudentError(errors.summary() or "nbgrader could not autograde this submission") from None
    if not (work / "autograded" / student / assignment).is_dir():
        raise StudentError(errors.summary() or "nbgrader produced no autograded notebook")
    timings["autograde_s"], clock = time.perf_counter() - clock, time.perf_counter()
    notes = submission["notes"] + execute.notes
    feedback = feedback_converter(coursedir, config)  # a part awaiting a hand grade says so
    try:
        feedback.start()
        sanitise_folder(work / "feedback" / student / assignment)  # learner outputs: nothing that runs or loads
    except Exception:
        notes.append("feedback could not be generated: " + (errors.summary() or "unknown error"))
    timings["feedback_s"] = time.perf_counter() - clock

    with Gradebook(db_url, coursedir.course_id or "default_course") as gb:
        graded = gb.find_submission(assignment, student)
        parts = {g.name: {"score": g.score, "max_score": g.max_score} for nb in graded.notebooks for g in nb.grades}
        manual = [name for nb in graded.notebooks for name in (g.name for g in nb.grades if g.needs_manual_grade)]
        score, max_score = graded.score, graded.max_score
    if manual:
        notes.append(f"needs a manual grade: {', '.join(manual)}")
    return {"score": score, "max_score": max_score, "parts": parts, "notes": notes}


def _sessions(job: dict, zygote: sandbox.Zygote, submitted: Path):
    """Makes the sandbox Session of this submission: its scratch home is a copy of what was submitted."""
    import shutil

    work = Path(job["work"])
    home, view = work / "home", work / "view"
    shutil.copytree(submitted, home)
    view.mkdir()
    uid = sandbox.THROWAWAY_UID_BASE + os.getpid() % 1_000_000  # unique among running workers
    if job["sandbox"] == "root":
        for path in [home, *home.rglob("*")]:
            os.chown(path, uid, uid, follow_symlinks=False)
    threads = int(job["env"].get("PORTALIT_THREADS", "1"))
    return lambda: executor.Session(zygote, job["sandbox"], home, view, sandbox.Limits(), uid, threads,
                                    name=f"{os.getpid()}")


def _masters(folder: Path):
    found = {}

    def master(notebook: str) -> executor.Master:
        if notebook not in found:
            found[notebook] = executor.Master(folder / f"{notebook}.ipynb")
        return found[notebook]

    return master


class _ErrorLog(logging.Handler):
    """Keeps nbgrader's error messages so a failed submission gets a one-line reason."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def summary(self) -> str:
        for message in self.messages:
            lines = [line for line in message.strip().splitlines() if line.strip()]
            if lines and lines[0].startswith("Traceback"):
                return lines[-1][:300]
        return self.messages[0].strip().splitlines()[0][:300] if self.messages else ""
