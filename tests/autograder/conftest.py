"""Shared by the autograder tests: scratch course folders (copies of solutions/ and
nbgrader_config.py, never the repository itself) and helpers to submit into them."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from portalit import autograder

from ..conftest import ROOT

ASSIGNMENTS = [f"ps{i:02d}" for i in range(1, 10)]
KERNEL = {"name": "portalit-local-cpu", "display_name": "PortaLit: local CPU (offline)"}
# grading.check* functions that return None: a test cell may end with a call to one of them.
SILENT_CHECKS = {"check", "check_by_hand", "check_close", "check_equal", "check_type", "check_shape", "check_word_limit",
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


def as_nobody(command: list[str], view: str) -> list[str]:
    """`command` run as the user nobody, for tests run as root. Root's home is 0700 and CI's Python
    may live under it (pyenv), so the command gets a mount namespace of its own in which that home
    is an empty tmpfs with only the interpreter's folders bound back in; `view` is an empty
    directory the caller made (and removes) to hold the real home meanwhile."""
    import shlex
    import sys

    from portalit.autograder import sandbox

    home = Path.home()
    inside = sorted(str(p) for p in sandbox.readonly_paths() + [Path(sys.executable).parent.parent] if home in p.parents)
    steps = [f"mount --bind {home} {view}", f"mount -t tmpfs -o mode=755 tmpfs {home}"]
    steps += [f"mkdir -p {p} && mount --bind {view}/{Path(p).relative_to(home)} {p}" for p in inside]
    steps.append("exec setpriv --reuid 65534 --regid 65534 --clear-groups " + shlex.join(command))
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", " && ".join(steps)]
