"""Shared by the autograder tests: scratch course folders (copies of solutions/ and
nbgrader_config.py, never the repository itself) and helpers to submit into them."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from portalit import autograder

from ..conftest import ROOT

ASSIGNMENTS = [f"ps{i:02d}" for i in range(1, 9)]
KERNEL = {"name": "portalit-local-cpu", "display_name": "PortaLit: local CPU (offline)"}
# grading.check* functions that return None: a test cell may end with a call to one of them.
SILENT_CHECKS = {"check", "check_close", "check_equal", "check_type", "check_shape", "check_word_limit",
                 "check_char_limit", "check_contains", "check_absent", "check_similar"}


def generate(root: Path, assignment: str) -> None:
    """`nbgrader generate_assignment ASSIGNMENT` in `root` (through its API: same converter, one process)."""
    autograder.generate_release(root, assignment)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A scratch course with the release generated from solutions/ (and the gradebook filled)."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(ROOT / "solutions", root / "solutions", ignore=shutil.ignore_patterns("*.md"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    for assignment in ASSIGNMENTS:
        generate(root, assignment)
    return root


def copy_course(course: Path, into: Path, extra_config: str = "") -> Path:
    for name in ("solutions", "exercises"):  # no gradebook: portalit grade records the assignment itself
        shutil.copytree(course / name, into / name)
    (into / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text() + extra_config)
    return into


def submit(root: Path, student: str, assignment: str, notebook: Path) -> None:
    folder = root / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(notebook, folder / f"{assignment}.ipynb")


def notebooks(folder: str):
    return [(a, nbformat.read(ROOT / folder / a / f"{a}.ipynb", as_version=4)) for a in ASSIGNMENTS]
