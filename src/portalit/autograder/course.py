"""A course folder as nbgrader sees it: nbgrader_config.py and the source, submitted, autograded and
feedback folders; and generating a release from the source."""
from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from ..errors import PortalitError

CONFIG_FILE = "nbgrader_config.py"
# A learner's name becomes a folder, a gradebook id and a CSV field: keep it plain.
LEARNER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
STATE = ".portalit"  # per-run scratch space and markers, under autograded/ (hidden from nbgrader's globs)
GRADES_CSV = "grades.csv"


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
        """Every folder name under submitted/ with this assignment in it, links included (so that a
        link gets its error row instead of vanishing)."""
        if not self.submitted.is_dir():
            return []
        return sorted(p.name for p in self.submitted.iterdir()
                      if not p.name.startswith(".") and (os.path.lexists(p / assignment)))

    def refusal(self, student: str, assignment: str) -> str | None:
        """Why this learner's submission cannot be graded at all (a bad name, a link), or None."""
        if not LEARNER_NAME.fullmatch(student):
            shown = student if len(student) <= 40 else student[:37] + "..."
            return (f"learner name {shown!r} is not allowed: use 1-64 letters, digits, '.', '_', '@' or '-', "
                    "starting with a letter or digit")
        for path in (self.submitted / student, self.submitted / student / assignment):
            if path.is_symlink() or not path.is_dir():
                return f"{path.relative_to(self.submitted)} is a symbolic link or not a folder; links are refused, never followed"
        return None

    def state(self, assignment: str) -> Path:
        return self.autograded / STATE / assignment


def load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader

    try:
        return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()
    except Exception as e:  # a broken config is a user error, named in one line
        raise PortalitError(f"{root / CONFIG_FILE} could not be read: {type(e).__name__}: {e}") from None


def generate_release(root, assignment: str, release_directory=None) -> None:
    """`nbgrader generate_assignment ASSIGNMENT --force` in course folder `root`, in this process.

    It also records the assignment in the gradebook. `release_directory` overrides the course's.
    """
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory

    config = load_config(Path(root))
    config.CourseDirectory.assignment_id = assignment
    if release_directory is not None:
        config.CourseDirectory.release_directory = str(release_directory)
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(root)
    converter = GenerateAssignment(coursedir=coursedir, config=config)
    converter.force = True
    with quiet_logs():
        converter.start()


def config_timeout(config) -> float:
    for section in ("Execute", "ExecutePreprocessor"):
        if section in config and "timeout" in config[section]:
            return float(config[section]["timeout"])
    return 30.0  # nbgrader's default


def venv_bin_on_path() -> None:
    # nbgrader runs the `alembic` script when it creates a gradebook: it lives beside this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ.get("PATH", "")])


class quiet_logs:
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
