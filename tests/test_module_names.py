"""Every portalit module or attribute named in a string resolves, so a rename cannot fail silently.

Strings name modules in many places that no import checks: the grader's preload lists, the
fork server's command line, nbgrader_config.py's preprocessors, the Makefile's warm-up, the
console script, `portalit bench`'s benchmark modules, docstrings that tell a reader where to look.
"""
from __future__ import annotations

import ast
import importlib
import importlib.util
import re
from pathlib import Path

import pytest

from portalit.autograder import forkserver

from .conftest import ROOT

NAME = re.compile(r"\bportalit(?:\.[A-Za-z_]\w*)+(?::[A-Za-z_]\w*)?")
CODE = [*sorted((ROOT / "src").rglob("*.py")), *sorted((ROOT / "widgets").glob("*.py")),
        *sorted((ROOT / "benchmarks").glob("*.py"))]
TEXT = [ROOT / "nbgrader_config.py", ROOT / "Makefile", ROOT / "pyproject.toml",
        *sorted((ROOT / "kernels").glob("*/kernel.json"))]


def resolves(name: str) -> bool:
    """A module, or an attribute of one ("pkg.mod:attr" or "pkg.mod.attr")."""
    module, _, attr = name.partition(":")
    if not attr:
        try:
            if importlib.util.find_spec(module) is not None:
                return True
        except ModuleNotFoundError:
            pass
        module, _, attr = module.rpartition(".")
    try:
        return hasattr(importlib.import_module(module), attr)
    except ImportError:
        return False


def named_in(path: Path) -> set[str]:
    if path.suffix != ".py" or path.name == "nbgrader_config.py":
        return set(NAME.findall(path.read_text()))
    tree = ast.parse(path.read_text())
    pieces = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    found = set()
    for node in ast.walk(tree):  # f-string pieces are checked where they are completed (below)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in pieces:
            found.update(NAME.findall(node.value))
    return found


@pytest.mark.parametrize("path", CODE + TEXT, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_portalit_name_in_a_string_resolves(path):
    broken = sorted(name for name in named_in(path) if not resolves(name.rstrip(".")))
    assert not broken, f"{path.relative_to(ROOT)} names what does not exist: {broken}"


def test_the_grader_preloads_only_modules_that_exist():
    everything = forkserver.GRADING_PRELOAD + forkserver.CHAT_PRELOAD + forkserver.EMBED_PRELOAD
    missing = [name for name in everything if not resolves(name)]
    assert not missing
    # What preload_for adds for an assignment that loads GloVe.
    assert resolves("portalit.models:load_glove")


def test_every_benchmark_verb_has_its_module():
    from portalit import bench

    for what in bench.KINDS:
        assert resolves(f"portalit.benchmarks.bench_{what}:run"), what


def test_the_check_itself_catches_a_renamed_module():
    assert not resolves("portalit.grade")  # the old single-file autograder, now portalit.autograder
    assert not resolves("portalit.autograder.feedback.NoSuchPreprocessor")
    assert resolves("portalit.autograder.feedback.ShortHiddenTestErrors")
