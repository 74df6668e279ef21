"""`portalit grade ASSIGNMENT`: autograde every submission of an assignment in parallel, with
nbgrader doing the grading, then write feedback and export grades.csv.

nbgrader grades submissions one after another, and a submission whose kernel dies or ignores the
interrupt after a timeout is left ungraded. Here:

- each submission is graded by nbgrader's own Autograde and GenerateFeedback converters in a
  worker process of its own (worker.py), with its own copy of the gradebook (SQLite allows one
  writer); workers run side by side (pool.py), forked from a server that has already imported
  nbgrader and the course's heavy libraries (forkserver.py), so no submission pays those imports;
- the learner's code runs in a sandbox (sandbox.py) and the tests in the worker (executor.py), so
  no learner code can read, patch or outlive them; where no sandbox can be made, untrusted work
  is refused unless the instructor passes unsafe=True (--unsafe);
- a cell that runs past the timeout is interrupted (nbgrader's behaviour); if the learner's code
  ignores the interrupt or its sandbox dies, a fresh sandbox runs the remaining cells, so the
  submission still gets a grade; a worker that exceeds its overall limit is killed; unreadable
  notebooks, bad names and symbolic links get a clear per-learner error row, never a stopped
  run; deleted test cells are put back (submission.py), so every part is graded;
- the course gradebook is updated one student at a time as each finishes (gradebook.py), and a
  marker records what was graded (records.py), so an interrupted run loses nothing already graded
  and a rerun skips it;
- a written answer waiting for a hand grade says so in the feedback; once the instructor scores or
  comments it in formgrader, the next run rewrites that learner's feedback from the autograded
  notebook (feedback.refresh: nothing runs again, no score changes).
"""
from __future__ import annotations

import fcntl
import signal
import sys
import time
from pathlib import Path

from ..errors import PortalitError
from . import gradebook, records, sandbox
from .course import LEARNER_NAME, Course, config_timeout, venv_bin_on_path
from .forkserver import fork_server, preload_for
from .pool import Pool, error_row


def grade_assignment(assignment: str, workers: int = 2, course_dir=".", timeout=None, unsafe: bool = False) -> dict:
    """Autograde every submission of `assignment` under submitted/, write feedback, export grades.csv.

    Submissions already graded (same files as when they were graded) are skipped, so a rerun after
    an interruption only grades the rest, and a rerun after hand grading in formgrader only rewrites
    the feedback whose grades changed (feedback_updated). `timeout` overrides the per-cell timeout of
    nbgrader_config.py (seconds). Learner code runs sandboxed; where no sandbox can be made the run
    is refused, unless `unsafe` (then it runs in a plain process: for trusted work only).
    Returns a JSON-ready dict; see render().
    """
    start = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise PortalitError(f"workers {workers!r} must be a whole number of at least 1")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise PortalitError(f"timeout {timeout!r} must be a positive number of seconds per cell")
    mode, why = sandbox.mode()
    if mode is None and not unsafe:
        raise PortalitError(f"{why}; grading untrusted work without a sandbox is refused. Run it where "
                            "user namespaces are allowed (or as root), or pass --unsafe for work you trust")
    if mode == "root":
        sandbox.Cgroups.sweep()
    venv_bin_on_path()
    course = Course(course_dir)
    known = course.assignments()
    if assignment not in known:
        listed = ", ".join(known) if known else f"none (no notebooks under {course.source})"
        raise PortalitError(f"unknown assignment {assignment!r}; choose one of: {listed}")
    students = course.students(assignment)
    if not students:
        raise PortalitError(f"no submissions of {assignment} to grade: expected folders "
                            f"{course.submitted}/<student>/{assignment}/ (collect them first, e.g. "
                            f"`nbgrader collect {assignment}` or `nbgrader zip_collect {assignment}`)")
    state = course.state(assignment)
    state.mkdir(parents=True, exist_ok=True)
    with _Lock(state / "lock", assignment):
        rows, todo = {}, []
        for student in students:
            refusal = course.refusal(student, assignment)
            if refusal:
                rows[student] = error_row(student, refusal, 0.0, state)
                continue
            fingerprint = records.fingerprint(course.submitted / student / assignment)
            done = records.previous(course, assignment, student, fingerprint)
            if done:
                rows[student] = done
            else:
                todo.append((student, fingerprint))
        if todo:
            fork_server(preload_for(course.source / assignment))  # imports while the gradebook is prepared
        gradebook.ensure_assignment(course, assignment)
        template = gradebook.blank_template(course, state)
        cell_timeout = float(timeout) if timeout is not None else config_timeout(course.config)
        pool = Pool(course, assignment, template, workers, timeout, cell_timeout, mode or "none")
        for student, row in rows.items():  # refused (a link): in grades.csv with 0, like a missing one
            if row["status"] == "error" and LEARNER_NAME.fullmatch(student):
                gradebook.ensure_student(course, student)
        try:
            with _stop_on_signals():
                for row in pool.run(todo):
                    rows[row["student"]] = row
                    if row["status"] == "error":
                        gradebook.ensure_student(course, row["student"])  # in grades.csv (0 without a submission)
                    _progress(row, len(rows), len(students))
                updated = _refresh_feedback(course, assignment, rows)
        except KeyboardInterrupt:
            gradebook.export_csv(course)  # what was merged so far is safe; the rerun grades the rest
            raise
        csv_path = gradebook.export_csv(course)
    table = [rows[s] for s in students]
    max_score = next((r["max_score"] for r in table if r.get("max_score")), gradebook.assignment_max(course, assignment))
    return {
        "assignment": assignment,
        "course_dir": str(course.root),
        "workers": workers,
        "sandbox": mode or "none (--unsafe)",
        "cell_timeout_s": cell_timeout,
        "submissions": len(table),
        "graded": sum(r["status"] == "graded" for r in table),
        "skipped": sum(r["status"] == "skipped" for r in table),
        "errors": sum(r["status"] == "error" for r in table),
        "feedback_updated": updated,
        "max_score": max_score,
        "seconds": round(time.perf_counter() - start, 2),
        "csv": str(csv_path),
        "feedback": str(course.feedback / "<student>" / assignment),
        "students": table,
    }


def render(result: dict) -> str:
    """A short human-readable report of grade_assignment's result."""
    lines = [f"{result['assignment']}: {result['submissions']} submissions: {result['graded']} graded, "
             f"{result['skipped']} already graded (skipped), {result['errors']} errors; "
             f"{result['workers']} workers, {result['seconds']:.1f} s"]
    width = max([len("student")] + [len(r["student"]) for r in result["students"]])
    for r in result["students"]:
        score = "-" if r.get("score") is None else f"{_num(r['score'])}/{_num(r['max_score'])}"
        detail = r["status"]
        if r.get("error"):
            detail += f": {r['error']}"
        lines.append(f"  {r['student']:<{width}}  {score:>9}  {detail}")
        for note in r.get("notes", []):
            lines.append(f"  {'':<{width}}  {'':>9}  note: {note}")
    waiting = sum(any(n.startswith("needs a manual grade") for n in r.get("notes", [])) for r in result["students"])
    if result.get("feedback_updated"):
        lines.append(f"feedback rewritten with grades changed in the gradebook: {', '.join(result['feedback_updated'])}")
    if waiting:
        lines.append(f"written answers to grade by hand: {waiting} (nbgrader's formgrader, Manual Grading; "
                     "then run portalit grade again to export them and update those learners' feedback)")
    lines.append(f"grades: {result['csv']}")
    lines.append(f"feedback: {result['feedback']}")
    return "\n".join(lines)


def _refresh_feedback(course: Course, assignment: str, rows: dict) -> list[str]:
    """Rewrites the feedback of every graded submission whose pages show other grades than the
    gradebook holds (hand grades and comments entered since); returns those learners."""
    from . import feedback

    updated = []
    for student, row in rows.items():
        if row["status"] not in ("graded", "skipped"):
            continue
        try:
            if feedback.refresh(course, assignment, student):
                updated.append(student)
        except Exception as e:  # this learner's pages stay as they were; the run goes on
            row["notes"] = [*row.get("notes", []), f"feedback could not be updated: {type(e).__name__}: {e}"]
    return sorted(updated)


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def _progress(row: dict, done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    score = "" if row.get("score") is None else f" {_num(row['score'])}/{_num(row['max_score'])}"
    print(f"[{done}/{total}] {row['student']}: {row['status']}{score}", file=sys.stderr, flush=True)


class _stop_on_signals:
    """SIGTERM and SIGHUP (a killed job, a closed terminal) stop a run like Ctrl-C does: the
    workers are stopped and what was graded is exported."""

    SIGNALS = ("SIGTERM", "SIGHUP")

    def __enter__(self):
        import threading

        self.saved = {}
        if threading.current_thread() is threading.main_thread():
            for name in self.SIGNALS:
                number = getattr(signal, name, None)
                if number is not None:
                    self.saved[number] = signal.signal(number, self._raise)
        return self

    @staticmethod
    def _raise(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def __exit__(self, *exc):
        for number, handler in self.saved.items():
            signal.signal(number, handler)



class _Lock:
    """One `portalit grade` per assignment and course at a time."""

    def __init__(self, path: Path, assignment: str):
        self.path, self.assignment = path, assignment

    def __enter__(self):
        self.file = open(self.path, "w")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.file.close()
            raise PortalitError(f"another `portalit grade {self.assignment}` is running in this course "
                                f"(it holds {self.path}); wait for it to finish") from None
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()
