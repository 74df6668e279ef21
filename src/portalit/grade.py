"""`portalit grade ASSIGNMENT`: autograde every submission of an assignment in parallel, with
nbgrader doing the grading, then write feedback and export grades.csv.

nbgrader grades submissions one after another, and a submission whose kernel dies or ignores the
interrupt after a timeout is left ungraded. Here:

- each submission is graded by nbgrader's own Autograde and GenerateFeedback converters in a
  worker process of its own, with its own copy of the gradebook (SQLite allows one writer);
  workers run side by side (`workers`), forked from a server that has already imported nbgrader
  and the course's heavy libraries, and each notebook's kernel is forked from a prepared process,
  so no submission pays those imports again;
- a cell that runs past the timeout is interrupted (nbgrader's behaviour); if the kernel ignores
  the interrupt or dies, it is restarted and the remaining cells run, so the submission still gets
  a grade; a worker that exceeds its overall limit is killed; unreadable notebooks get a clear
  per-student error; deleted test cells are put back (like tampered ones are overwritten), so
  every part is graded;
- the course gradebook is updated one student at a time as each finishes, and a marker records
  what was graded, so an interrupted run loses nothing already graded and a rerun skips it.

Per-run scratch space and markers live in autograded/.portalit/ (hidden from nbgrader's globs).
"""
from __future__ import annotations

import copy
import datetime
import fcntl
import hashlib
import json
import logging
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbconvert.preprocessors import Preprocessor
from nbgrader.preprocessors import Execute
from traitlets import Bool

from .errors import PortalitError

CONFIG_FILE = "nbgrader_config.py"
STATE = ".portalit"
GRADES_CSV = "grades.csv"
STARTUP_ALLOWANCE_S = 180  # kernel start, sanitising, feedback: added to a worker's overall limit
# Imported once by the fork server, so that neither a worker nor a kernel forked from it imports
# them again: what grading itself needs, what the assignment's notebooks import, and the engines
# behind the portalit calls they make (see preload_for). portalit comes first: it sets the offline
# environment that litellm and the hub libraries read at import.
GRADING_PRELOAD = ["portalit", "portalit.grading", "portalit.grade", "nbgrader.converters", "nbgrader.api",
                   "nbgrader.plugins.export", "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.debugger",
                   "IPython", "numpy"]
CHAT_PRELOAD = ["portalit.client", "portalit.backends.provider", "portalit.backends.llamacpp", "litellm",
                "litellm.main", "llama_cpp"]
EMBED_PRELOAD = ["portalit.client", "portalit.backends.provider", "portalit.backends.embedders", "litellm",
                 "litellm.main", "torch", "transformers"]
USES_CHAT = re.compile(r"\.chat\(|\bask\(|\.stream\(|warm_up\(chat")
USES_EMBED = re.compile(r"\bembed\(|\bsimilarity\(|check_similar\(|warm_up\(.*embed")


class ShortHiddenTestErrors(Preprocessor):
    """Feedback: a failing cell that holds hidden tests shows only `Error: message`.

    A traceback quotes the lines around the failing one, which would leak the hidden test's code;
    the message of a portalit.grading check says what was checked without giving the answer.
    Run it before nbgrader's ClearHiddenTests (which removes the hidden code itself).
    """

    enabled = Bool(True, help="nbconvert runs a preprocessor only when it is enabled").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.ename}: {output.evalue}" if output.evalue else output.ename]
        return cell, resources


# ----------------------------------------------------------------------------------------------
# The course


class Course:
    """A course folder: nbgrader_config.py plus the source, submitted, autograded and feedback folders."""

    def __init__(self, course_dir="."):
        self.root = Path(course_dir).resolve()
        if not (self.root / CONFIG_FILE).is_file():
            raise PortalitError(f"no {CONFIG_FILE} in {self.root}: run `portalit grade` in the course folder "
                                "(the one with solutions/ and exercises/)")
        self.config = load_config(self.root)
        from nbgrader.coursedir import CourseDirectory

        coursedir = CourseDirectory(config=self.config)
        coursedir.root = str(self.root)
        self.course_id = coursedir.course_id or "default_course"
        self.db_url = coursedir.db_url
        self.source = self._path(coursedir.source_directory)
        self.submitted = self._path(coursedir.submitted_directory)
        self.autograded = self._path(coursedir.autograded_directory)
        self.feedback = self._path(coursedir.feedback_directory)

    def _path(self, name: str) -> Path:
        return (self.root / name).resolve()

    def assignments(self) -> list[str]:
        if not self.source.is_dir():
            return []
        return sorted(p.name for p in self.source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def students(self, assignment: str) -> list[str]:
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir()
                      if not p.name.startswith(".") and (p / assignment).is_dir())

    def state(self, assignment: str) -> Path:
        return self.autograded / STATE / assignment


def load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    try:
        return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    except Exception as e:  # a broken config is a user error, named in one line
        raise PortalitError(f"{root / CONFIG_FILE} could not be read: {type(e).__name__}: {e}") from None


# ----------------------------------------------------------------------------------------------
# The run


def generate_release(root, assignment: str) -> None:
    """`nbgrader generate_assignment ASSIGNMENT --force` in course folder `root`, in this process."""
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    config = load_config(Path(root))
    config.CourseDirectory.assignment_id = assignment
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.force = True
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    converter.start()


def grade_assignment(assignment: str, workers: int = 2, course_dir=".", timeout=None) -> dict:
    """Autograde every submission of `assignment` under submitted/, write feedback, export grades.csv.

    Submissions already graded (same files as when they were graded) are skipped, so a rerun after
    an interruption only grades the rest. `timeout` overrides the per-cell timeout of
    nbgrader_config.py (seconds). Returns a JSON-ready dict; see render().
    """
    start = time.perf_counter()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise PortalitError(f"workers {workers!r} must be a whole number of at least 1")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        raise PortalitError(f"timeout {timeout!r} must be a positive number of seconds per cell")
    _venv_bin_on_path()
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
            fingerprint = _fingerprint(course.submitted / student / assignment)
            done = _already_graded(course, assignment, student, fingerprint)
            if done:
                rows[student] = done
            else:
                todo.append((student, fingerprint))
        if todo:
            _fork_server(preload_for(course.source / assignment))  # imports while the gradebook is prepared
        _ensure_in_gradebook(course, assignment)
        template = _template_db(course, state)
        cell_timeout = float(timeout) if timeout is not None else _config_timeout(course.config)
        pool = _Pool(course, assignment, template, workers, timeout, cell_timeout)
        try:
            with _stop_on_signals():
                for row in pool.run(todo):
                    rows[row["student"]] = row
                    if row["status"] == "error":
                        _ensure_student(course, row["student"])  # in grades.csv (0 without a submission)
                    _progress(row, len(rows), len(students))
        except KeyboardInterrupt:
            _export_csv(course)  # what was merged so far is safe; the rerun grades the rest
            raise
        csv_path = _export_csv(course)
    table = [rows[s] for s in students]
    max_score = next((r["max_score"] for r in table if r.get("max_score")), _assignment_max(course, assignment))
    return {
        "assignment": assignment,
        "course_dir": str(course.root),
        "workers": workers,
        "cell_timeout_s": cell_timeout,
        "submissions": len(table),
        "graded": sum(r["status"] == "graded" for r in table),
        "skipped": sum(r["status"] == "skipped" for r in table),
        "errors": sum(r["status"] == "error" for r in table),
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
    lines.append(f"grades: {result['csv']}")
    lines.append(f"feedback: {result['feedback']}")
    return "\n".join(lines)


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def _progress(row: dict, done: int, total: int) -> None:
    if not sys.stderr.isatty():
        return
    score = "" if row.get("score") is None else f" {_num(row['score'])}/{_num(row['max_score'])}"
    print(f"[{done}/{total}] {row['student']}: {row['status']}{score}", file=sys.stderr, flush=True)


def _venv_bin_on_path() -> None:
    # nbgrader runs the `alembic` script when it creates a gradebook: it lives beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


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


def _config_timeout(config) -> float:
    for section in ("Execute", "ExecutePreprocessor"):
        if section in config and "timeout" in config[section]:
            return float(config[section]["timeout"])
    return 30.0  # nbgrader's default


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


# ----------------------------------------------------------------------------------------------
# Gradebook: the assignment, a template for workers, merging a worker's result, export


def _ensure_in_gradebook(course: Course, assignment: str) -> None:
    """The assignment and its cells must be in the gradebook; if not, record them from the source
    (nbgrader generate_assignment into a scratch release folder, so exercises/ is not touched)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    scratch = course.state(assignment) / "release"
    shutil.rmtree(scratch, ignore_errors=True)
    config = copy.deepcopy(course.config)
    config.CourseDirectory.release_directory = str(scratch)
    config.CourseDirectory.assignment_id = assignment
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course.root)
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.force = True
    with _quiet_logs():
        converter.start()
    shutil.rmtree(scratch, ignore_errors=True)


SUBMISSION_TABLES = ("grade", "comment", "submitted_notebook", "submitted_assignment", "student")


def _template_db(course: Course, state: Path) -> Path:
    """A copy of the course gradebook without any student or submission: each worker's start."""
    source = _sqlite_path(course.db_url)
    template = state / "template.db"
    partial = state / "template.db.partial"
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    with sqlite3.connect(partial) as db:
        for table in SUBMISSION_TABLES:
            db.execute(f"DELETE FROM {table}")
    sqlite3.connect(partial).execute("VACUUM").connection.close()
    os.replace(partial, template)
    return template


def _sqlite_path(db_url: str) -> str:
    if not db_url.startswith("sqlite:///"):
        raise PortalitError(f"portalit grade needs an SQLite gradebook; the course's db_url is {db_url!r}")
    return db_url[len("sqlite:///"):]


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _marker(course: Course, assignment: str, student: str) -> Path:
    return course.state(assignment) / "graded" / f"{student}.json"


def _already_graded(course: Course, assignment: str, student: str, fingerprint: str) -> dict | None:
    """The row of a submission graded earlier from these same files, or None."""
    marker = _marker(course, assignment, student)
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    if not (course.autograded / student / assignment).is_dir():
        return None
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        score, max_score = submission.score, submission.max_score
    return {**record["row"], "status": "skipped", "score": score, "max_score": max_score, "seconds": 0.0}


def _merge(course: Course, assignment: str, student: str, work_db: str) -> None:
    """Copy one student's autograded submission from a worker's gradebook into the course's."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush
        _merge_into(course, assignment, student, work_db, Gradebook, MissingEntry)


def _merge_into(course, assignment, student, work_db, Gradebook, MissingEntry) -> None:
    with Gradebook(work_db, course.course_id) as wb, Gradebook(course.db_url, course.course_id) as gb:
        graded = wb.find_submission(assignment, student)
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        gb.update_or_create_submission(assignment, student, timestamp=graded.timestamp)
        for notebook in graded.notebooks:
            target = gb.find_submission_notebook(notebook.name, assignment, student)
            target.flagged = notebook.flagged
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                into = gb.find_grade(grade.name, notebook.name, assignment, student)
                into.auto_score = grade.auto_score
                into.needs_manual_grade = grade.needs_manual_grade
                if into.manual_score is None:
                    into.extra_credit = grade.extra_credit
            for comment in notebook.comments:
                into = gb.find_comment(comment.name, notebook.name, assignment, student)
                into.auto_comment = comment.auto_comment
        gb.db.commit()


def _ensure_student(course: Course, student: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)


def _export_csv(course: Course) -> Path:
    from nbgrader.api import Gradebook
    from nbgrader.plugins.export import CsvExportPlugin

    path = course.root / GRADES_CSV
    partial = course.root / f".{GRADES_CSV}.partial"
    with Gradebook(course.db_url, course.course_id) as gb, _quiet_logs():
        CsvExportPlugin(to=str(partial)).export(gb)
    os.replace(partial, path)
    return path


def _assignment_max(course: Course, assignment: str):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return gb.find_assignment(assignment).max_score


def _replace_dir(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    old = dst.with_name(f".{dst.name}.old-{os.getpid()}")
    if dst.exists():
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except OSError:  # another file system (e.g. feedback/ mounted elsewhere)
        shutil.move(str(src), str(dst))
    shutil.rmtree(old, ignore_errors=True)


class _quiet_logs:
    """nbgrader logs every step at INFO/WARNING; a run's report says what matters."""

    def __enter__(self):
        self.logger = logging.getLogger("traitlets")
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)
        return self

    def __exit__(self, *exc):
        self.logger.setLevel(self.level)


# ----------------------------------------------------------------------------------------------
# The pool: one worker process per submission, at most `workers` at a time


class _Pool:
    """Grades submissions in worker processes forked by the fork server, `workers` at a time."""

    def __init__(self, course, assignment, template, workers, timeout, cell_timeout):
        import nbformat

        self.course, self.assignment, self.template = course, assignment, template
        self.workers, self.timeout, self.cell_timeout = workers, timeout, cell_timeout
        self.work = course.state(assignment) / "work"
        cells = sum(sum(c.cell_type == "code" for c in nbformat.read(p, as_version=4).cells)
                    for p in sorted((course.source / assignment).glob("*.ipynb")))
        # A worker's overall limit: every code cell may use its timeout, plus start-up and feedback.
        self.limit_s = cell_timeout * (cells + 2) + STARTUP_ALLOWANCE_S
        threads = max(1, (os.cpu_count() or 1) // workers)  # kernels side by side must not oversubscribe
        self.env = {"PORTALIT_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
                    "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}

    def run(self, todo):
        """Yields one row per submission as each finishes."""
        if not todo:
            return
        server = _fork_server(preload_for(self.course.source / self.assignment))
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
                    if (work / "result.json").exists() or not _alive(pid):
                        del running[pid]
                        _kill_group(pid)  # whatever the worker left behind (kernels) goes too
                        finished.append((student, fingerprint, work, now - started))
                    elif now - started > self.limit_s:
                        del running[pid]
                        _kill_group(pid)
                        yield _error_row(student, f"grading took longer than {self.limit_s:.0f} s and was stopped",
                                         now - started, work)
                fill()  # start the next workers before recording these results: the cores stay busy
                for done in finished:
                    yield self._finish(*done)
        finally:
            for pid in running:  # interrupted: stop the workers and their kernels
                _kill_group(pid)

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
                "prefork": os.environ.get("PORTALIT_GRADE_PREFORK", "1") != "0"}

    def _finish(self, student, fingerprint, work: Path, seconds) -> dict:
        try:
            result = json.loads((work / "result.json").read_text())
        except (OSError, ValueError):
            return _error_row(student, "the grading process ended without a result", seconds, work)
        if result["status"] != "graded":
            return _error_row(student, result["error"], seconds, work)
        row = {"student": student, "status": "graded", "score": result["score"], "max_score": result["max_score"],
               "parts": result["parts"], "notes": result["notes"], "error": None, "seconds": round(seconds, 2),
               "timings": result.get("timings", {})}
        try:
            _merge(self.course, self.assignment, student, f"sqlite:///{work / 'gradebook.db'}")
        except Exception as e:  # e.g. the gradebook is locked by another program: this student only
            return _error_row(student, f"could not record the grade in the course gradebook: "
                                       f"{type(e).__name__}: {_first_line(e)}", seconds, work)
        _replace_dir(work / "autograded" / student / self.assignment, self.course.autograded / student / self.assignment)
        feedback = work / "feedback" / student / self.assignment
        if feedback.is_dir():
            _replace_dir(feedback, self.course.feedback / student / self.assignment)
        marker = _marker(self.course, self.assignment, student)
        marker.parent.mkdir(parents=True, exist_ok=True)
        partial = marker.with_suffix(".partial")
        partial.write_text(json.dumps({"fingerprint": fingerprint, "row": row,
                                       "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}))
        os.replace(partial, marker)
        shutil.rmtree(work, ignore_errors=True)
        return row


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # the fork server reaps its children at once, so a dead worker is gone
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_group(pid) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # a worker leads its own process group: its kernels included
    except (ProcessLookupError, PermissionError):
        pass


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


class _ForkServer:
    """A process that has imported nbgrader and the course's heavy libraries once, and forks a
    worker per submission on request (one JSON line in, the worker's pid out). Its children are
    reaped automatically, so the pool can tell a finished worker by its pid alone."""

    def __init__(self, preload: list[str]):
        self.preload = set(preload)
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from portalit.grade import _serve; _serve()", json.dumps(preload)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1,
            preexec_fn=_die_with_parent)
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
                                f"check that `{sys.executable} -c 'import portalit.grade'` works")
        return line.split(" ", 1)[1].strip()

    def close(self):
        if self.alive():
            self.process.stdin.close()  # end of requests: the server exits
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_SERVER: _ForkServer | None = None


def _fork_server(preload: list[str]) -> _ForkServer:
    """A fork server that has imported `preload`: this process's last one if it did, else a new one
    (kept for later runs, closed at exit)."""
    global _SERVER
    if _SERVER is None or not _SERVER.alive() or not set(preload) <= _SERVER.preload:
        import atexit

        if _SERVER is not None:
            _SERVER.close()
        _SERVER = _ForkServer(preload)
        atexit.register(_SERVER.close)
    return _SERVER


def _warm_nbgrader() -> None:
    """First uses that cost a worker ~1 s of CPU each time: SQLAlchemy's mapper set-up, the
    notebook validator, and the feedback exporter's templates and lexers."""
    import nbformat
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    cell = nbformat.v4.new_code_cell("x = 1\nprint(x)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("error", ename="E", evalue="e", traceback=["E: e"])]
    cell.metadata.nbgrader = {"grade": True, "grade_id": "t", "points": 1, "score": 1, "solution": False,
                              "locked": True, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Warm *up*"), cell])
    nbformat.validate(nb)
    converter = GenerateFeedback(coursedir=CourseDirectory())
    exporter = HTMLExporter(parent=converter, config=converter.config)
    exporter.register_preprocessor("nbconvert.preprocessors.CSSHTMLHeaderPreprocessor", enabled=True)
    exporter.from_notebook_node(nb, resources={"nbgrader": {"notebook": "warm", "score": 1, "max_score": 1,
                                                            "late_penalty": 0}})


def _serve() -> None:
    """The fork server's main loop (see _ForkServer); argv[1] is the JSON list of modules to preload,
    where "module:function" also calls that function (to load data once)."""
    import importlib

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
            sys.modules["portalit.client"].litellm()  # registers the local providers once
        except Exception:  # noqa: BLE001
            pass
    try:
        _warm_nbgrader()
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
                _grade_one(job)
                code = 0
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)


def _error_row(student, message, seconds, work: Path) -> dict:
    log = work / "log.txt"
    return {"student": student, "status": "error", "score": None, "max_score": None, "parts": {}, "notes": [],
            "error": message, "log": str(log) if log.exists() else None, "seconds": round(seconds, 2)}


# ----------------------------------------------------------------------------------------------
# Inside a worker process: grade one submission with nbgrader


class StudentError(Exception):
    """A problem with one submission, said in one line for the instructor."""


_NOTES: list[str] = []
_TIMINGS: dict[str, float] = {}
_ZYGOTE = None


def _grade_one(job: dict) -> None:
    """Worker entry point: grade job["student"]'s submission; write work/result.json."""
    global _ZYGOTE
    os.setpgrp()  # its own process group, so the pool can stop it together with its kernels
    _die_with_parent()
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
    _scratch_sqlite()
    if job["prefork"]:
        _ZYGOTE = _KernelZygote()  # forked now, before nbgrader opens any socket or thread
    started = time.perf_counter()
    try:
        result = {"status": "graded", **_autograde(job, _TIMINGS)}
    except StudentError as e:
        result = {"status": "error", "error": str(e)}
    except BaseException as e:  # noqa: BLE001 (a worker must always leave a result)
        traceback.print_exc()
        result = {"status": "error", "error": f"grading failed: {type(e).__name__}: {_first_line(e)} "
                                              f"(details in {work / 'log.txt'})"}
    finally:
        if _ZYGOTE is not None:
            _ZYGOTE.discard()
    result["seconds"] = round(time.perf_counter() - started, 2)
    result["timings"] = {k: round(v, 2) for k, v in _TIMINGS.items()}
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


def _die_with_parent() -> None:
    """Linux: be killed when the parent exits, so nothing outlives a run that was killed outright
    (the fork server exits when its pool's process does, then its workers, then their kernels)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


def _first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else ""


def _autograde(job: dict, timings: dict) -> dict:
    from nbgrader.api import Gradebook
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    clock = time.perf_counter()
    root, assignment, student, work = Path(job["root"]), job["assignment"], job["student"], Path(job["work"])
    submission = _sanitise(Path(job["submitted"]) / student / assignment, Path(job["source"]) / assignment,
                           work / "submitted" / student / assignment)
    config = load_config(root)
    if job["timeout"] is not None:
        for section in ("ExecutePreprocessor", "Execute", "ResilientExecute"):
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
    autograde.autograde_preprocessors = [ResilientExecute if p is Execute else p
                                         for p in autograde.autograde_preprocessors]
    timings["prepare_s"], clock = time.perf_counter() - clock, time.perf_counter()
    try:
        autograde.start()
    except Exception:
        raise StudentError(errors.summary() or "nbgrader could not autograde this submission") from None
    if not (work / "autograded" / student / assignment).is_dir():
        raise StudentError(errors.summary() or "nbgrader produced no autograded notebook")
    timings["autograde_s"], clock = time.perf_counter() - clock, time.perf_counter()
    feedback = GenerateFeedback(coursedir=coursedir, config=config)
    feedback.force = True
    try:
        feedback.start()
    except Exception:
        _NOTES.append("feedback could not be generated: " + (errors.summary() or "unknown error"))
    timings["feedback_s"] = time.perf_counter() - clock

    with Gradebook(db_url, coursedir.course_id or "default_course") as gb:
        graded = gb.find_submission(assignment, student)
        parts = {g.name: {"score": g.score, "max_score": g.max_score} for nb in graded.notebooks for g in nb.grades}
        manual = [name for nb in graded.notebooks for name in (g.name for g in nb.grades if g.needs_manual_grade)]
        score, max_score = graded.score, graded.max_score
    if manual:
        _NOTES.append(f"needs a manual grade: {', '.join(manual)}")
    return {"score": score, "max_score": max_score, "parts": parts, "notes": submission["notes"] + _NOTES}


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


def _sanitise(submitted: Path, source: Path, into: Path) -> dict:
    """Copy a submission for grading: every notebook must be readable JSON, and test cells the
    learner deleted are put back where they were (nbgrader overwrites edited ones itself)."""
    import nbformat

    notes = []
    shutil.copytree(submitted, into)
    for source_path in sorted(source.glob("*.ipynb")):
        path = into / source_path.name
        if not path.exists():
            raise StudentError(f"the submission has no {source_path.name}; nothing to grade")
        text = path.read_text(errors="replace")
        try:
            json.loads(text)
        except ValueError as e:
            raise StudentError(f"{source_path.name} is not valid JSON ({e}); it cannot be graded: "
                               "ask for a resubmission") from None
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception as e:  # nbformat raises several kinds for a JSON that is not a notebook
            raise StudentError(f"{source_path.name} is not a notebook ({type(e).__name__}: {_first_line(e)}); "
                               "ask for a resubmission") from None
        master = nbformat.read(source_path, as_version=4)
        duplicated = _keep_last_of_duplicates(nb)
        restored = _restore_cells(nb, master)
        if duplicated:
            notes.append(f"cells duplicated in {source_path.name}; the last copy of each is graded: "
                         f"{', '.join(duplicated)}")
        if restored:
            notes.append(f"cells deleted from {source_path.name} were put back: {', '.join(restored)}")
        if duplicated or restored:
            nbformat.write(nb, path)
    return {"notes": notes}


def _nbgrader_id(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _keep_last_of_duplicates(nb) -> list[str]:
    """nbgrader keeps the last of duplicated cells but leaves the others with empty metadata, which
    it then rejects as an old format, failing the whole submission: drop their metadata instead."""
    seen, duplicated = set(), []
    for cell in reversed(nb.cells):
        grade_id = _nbgrader_id(cell)
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            if grade_id not in duplicated:
                duplicated.append(grade_id)
        seen.add(grade_id)
    return sorted(duplicated)


def _restore_cells(nb, master) -> list[str]:
    """Put back deleted test and read-only cells from the master, each after the nearest earlier
    master cell the submission still has (nbgrader overwrites edited ones itself; an answer cell
    the learner deleted stays deleted)."""
    restored = []
    present = {_nbgrader_id(c) for c in nb.cells} - {None}
    for index, cell in enumerate(master.cells):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        grade_id = meta.get("grade_id")
        if not grade_id or grade_id in present or not (meta.get("grade") or meta.get("locked")):
            continue
        position = 0
        for earlier in reversed(master.cells[:index]):
            match = next((i for i, c in enumerate(nb.cells)
                          if _nbgrader_id(earlier) and _nbgrader_id(c) == _nbgrader_id(earlier)), None)
            if match is not None:
                position = match + 1
                break
        twin = copy.deepcopy(cell)
        if twin.cell_type == "code":
            twin["outputs"] = []
            twin["execution_count"] = None
        nb.cells.insert(position, twin)
        present.add(grade_id)
        restored.append(grade_id)
    return restored


# ----------------------------------------------------------------------------------------------
# Kernels: a resilient Execute, and kernels forked from a prepared process


class _KernelProcess:
    """A Popen-like handle on a kernel this worker forked (it is our child, so waitpid works)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode

    def send_signal(self, signum):
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


class _KernelZygote:
    """A process forked from the worker before any kernel is needed: it already holds every
    preloaded module, and becomes a kernel when asked (forking costs milliseconds; starting
    Python and importing litellm, torch and sklearn costs seconds)."""

    def __init__(self):
        read, self._write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            _die_with_parent()
            os.close(self._write)
            code = 1
            try:
                with os.fdopen(read, "rb") as pipe:
                    request = pipe.read()
                code = _become_kernel(json.loads(request)) if request else 0
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(read)

    @staticmethod
    def accepts(cmd) -> bool:
        return len(cmd) > 3 and cmd[0] == sys.executable and list(cmd[1:3]) == ["-m", "ipykernel_launcher"]

    def launch(self, cmd, env, cwd) -> _KernelProcess:
        with os.fdopen(self._write, "wb") as pipe:
            pipe.write(json.dumps({"argv": list(cmd), "env": env, "cwd": str(cwd)}).encode())
        self._write = None
        return _KernelProcess(self.pid)

    def discard(self):
        if self._write is not None:
            os.close(self._write)  # end of file: the zygote exits without becoming a kernel
            self._write = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _become_kernel(request: dict) -> int:
    """In the zygote: turn into `python -m ipykernel_launcher ARGS` run in cwd with env."""
    for name in ("SIGINT", "SIGTERM", "SIGCHLD", "SIGHUP"):
        signal.signal(getattr(signal, name), signal.default_int_handler if name == "SIGINT" else signal.SIG_DFL)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    sys.path.insert(0, request["cwd"])  # as `python -m` puts the working directory first
    if "numpy" in sys.modules:  # a fresh process seeds numpy's global generator from the OS
        sys.modules["numpy"].random.seed()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    if threads.isdigit():  # libraries imported before the fork sized their thread pools for the machine
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(threads))
        if "numpy" in sys.modules:
            try:
                from threadpoolctl import threadpool_limits

                threadpool_limits(limits=int(threads))
            except ImportError:
                pass
    # ipykernel read JPY_PARENT_PID when the server imported it; pass it again so the kernel knows
    # its parent, as a freshly started kernel does.
    parent = [f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}"] if "JPY_PARENT_PID" in os.environ else []
    sys.argv = ["ipykernel_launcher", *request["argv"][3:], *parent]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()
    return 0


class _Provisioner(LocalProvisioner):
    """Starts the first kernel from the worker's zygote and any later one (after a restart) as a
    plain process; every kernel stays in the worker's process group, and signals go to the
    kernel alone (an interrupt must not reach the worker)."""

    async def launch_kernel(self, cmd, **kwargs):
        global _ZYGOTE
        env = dict(kwargs.get("env") or os.environ)
        env["JPY_PARENT_PID"] = str(os.getpid())  # the kernel exits if the worker dies
        cwd = str(kwargs.get("cwd") or os.getcwd())
        if _ZYGOTE is not None and _ZYGOTE.accepts(cmd):
            self.process = _ZYGOTE.launch(cmd, env, cwd)
            _ZYGOTE = None
        else:
            self.process = subprocess.Popen([os.path.expanduser(c) for c in cmd], env=env, cwd=cwd,
                                            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        self.pid, self.pgid, self.cwd = self.process.pid, None, cwd
        return self.connection_info


class _KernelManager(AsyncKernelManager):
    async def _async_pre_start_kernel(self, **kw):
        if self.provisioner is None:
            self.provisioner = _Provisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)


class ResilientExecute(Execute):
    """nbgrader's Execute, except that a kernel which dies, or ignores the interrupt sent at the
    timeout, is restarted and the remaining cells still run: the submission gets a grade (the
    cells that ran before keep their results) instead of none."""

    def __init__(self, *args, **kwargs):
        kwargs["kernel_manager_class"] = _KernelManager
        super().__init__(*args, **kwargs)
        self.shutdown_kernel = "immediate"  # the notebook is done: no need to wait for a clean exit

    def preprocess_cell(self, cell, resources, index):
        self._check_assign_resources(resources)
        try:
            cell = self.execute_cell(cell, index, store_history=True)
        except (DeadKernelError, CellTimeoutError) as error:
            name = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"cell {index + 1}"
            if isinstance(error, DeadKernelError):
                what = "the kernel died while running this cell (a crash, os._exit or too much memory)"
            else:
                what = (f"this cell was still running after the {self.timeout} s timeout and ignored the "
                        "interrupt (does it catch KeyboardInterrupt?)")
            message = f"{what}; the kernel was restarted and later cells ran without this notebook's earlier state"
            import nbformat

            cell.outputs.append(nbformat.v4.new_output("error", ename="KernelRestarted", evalue=message,
                                                       traceback=[f"KernelRestarted: {message}"]))
            _NOTES.append(f"{name}: {what}; kernel restarted")
            self._restart_kernel()
        return cell, self.resources

    def _restart_kernel(self):
        from jupyter_core.utils import ensure_async, run_sync

        async def restart():
            await ensure_async(self.km.restart_kernel(now=True))
            self.kc.stop_channels()
            await self.async_start_new_kernel_client()

        run_sync(restart)()
