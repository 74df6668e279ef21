"""`portalit.check(N)`: a problem-set part's visible tests, run in the learner's kernel, with hints.

    portalit.check(3)     # Part 3's visible tests; a failure prints the next hint for Part 3
    portalit.check()      # every part, one line each

The tests run are the test cells of the notebook the learner has open, taken from its saved file,
with anything between nbgrader's hidden-test markers dropped: the same code the autograder runs
for the visible part, run on the learner's current definitions. It grades nothing and records
nothing; the hidden tests run only when the instructor grades.

Hints live beside this module, one TOML file per set (`ps01.toml`), three tiers per test cell
from a nudge to nearly the method, never the answer. Each failing check of a part shows the next
tier; a pass starts the part over.
"""
from __future__ import annotations

import io
import os
import re
import sys
import tomllib
import traceback
from contextlib import redirect_stdout
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import PortalitError
from ..grading import without_hidden_tests

SET_NAME = re.compile(r"ps\d\d")
PART_HEADING = re.compile(r"\s*#+\s*Part\s+(\d+)\b", re.IGNORECASE)

_failures: dict[tuple[str, str], int] = {}  # (notebook, test cell) -> failing checks since its last pass


@dataclass(frozen=True)
class Part:
    number: int
    title: str
    grade_id: str
    points: float
    visible: str  # the test cell's source without its hidden tests


@dataclass(frozen=True)
class Result:
    part: Part
    passed: bool
    message: str  # why it failed, in the words of the check; "" when it passed
    output: str  # what the tests printed
    hint: str | None = None  # the hint this failure earned, if the set has hints


def check(part=None, notebook: str | os.PathLike | None = None) -> None:
    """Run the visible tests of `part` (a number, "part3" or a test cell's id), or of every part,
    and print what passed, why the rest did not and a hint for each failing part."""
    found = notebook_path(notebook)
    for result in run(part, namespace=_learner_namespace(), notebook=found):
        print(_report(result))


def run(part=None, namespace: dict | None = None, notebook: str | os.PathLike | None = None) -> list[Result]:
    """The results `check` prints, for callers that want them as data (tests, widgets)."""
    found = notebook_path(notebook)
    chosen = select(parts(found), part, found)
    namespace = _learner_namespace() if namespace is None else namespace
    hints = hints_for(found.stem)
    return [_run_one(p, namespace, str(found.resolve()), hints.get(p.grade_id, [])) for p in chosen]


def parts(notebook: str | os.PathLike) -> list[Part]:
    """The autograded parts of a problem-set notebook, in order, each with its visible tests."""
    import nbformat

    path = Path(notebook)
    try:
        nb = nbformat.read(path, as_version=4)
    except (OSError, ValueError) as error:
        raise PortalitError(f"cannot read the notebook {path}: {error}") from None
    found, number, title = [], 0, ""
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "markdown":
            heading = PART_HEADING.match(cell.source)
            if heading:
                number, title = int(heading.group(1)), cell.source.splitlines()[0].lstrip("# ").strip()
        elif cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            found.append(Part(number, title, meta.get("grade_id", f"part{number}"), float(meta.get("points", 0)),
                              without_hidden_tests(cell.source)))
    if not found:
        raise PortalitError(f"{path.name} has no autograded test cells: check() works in a problem set "
                            "notebook such as ps01.ipynb")
    return found


def select(found: list[Part], part, notebook: Path) -> list[Part]:
    if part is None:
        return found
    key = str(part).strip().lower().replace(" ", "")
    key = key[len("part"):] if key.startswith("part") else key
    chosen = [p for p in found if key in (str(p.number), p.grade_id.lower())]
    if not chosen:
        choices = ", ".join(str(p.number) for p in found)
        raise PortalitError(f"{notebook.name} has no part {part!r}; choose one of: {choices} (or none for all)")
    return chosen


def hints_for(assignment: str) -> dict[str, list[str]]:
    """The hint tiers of each test cell of `assignment` ("ps01"), {} for a set without hints."""
    name = SET_NAME.match(assignment)
    if not name:
        return {}
    source = resources.files(__name__) / f"{name.group(0)}.toml"
    if not source.is_file():
        return {}
    table = tomllib.loads(source.read_text(encoding="utf-8"))
    return {grade_id: list(entry.get("hints", [])) for grade_id, entry in table.items()}


def notebook_path(notebook=None) -> Path:
    """The problem-set notebook to check: `notebook`, else the kernel's own (Jupyter names it in
    JPY_SESSION_NAME), else the only psNN notebook in the working folder."""
    if notebook is not None:
        path = Path(notebook).expanduser()
        if not path.is_file():
            raise PortalitError(f"no notebook at {path}: pass the path of your problem set, e.g. 'ps01.ipynb'")
        return path
    session = os.environ.get("JPY_SESSION_NAME", "")
    for candidate in (Path(session), Path.cwd() / Path(session).name) if session.endswith(".ipynb") else ():
        if candidate.is_file() and SET_NAME.match(candidate.name):
            return candidate
    here = sorted(p for p in Path.cwd().glob("ps[0-9][0-9]*.ipynb") if SET_NAME.match(p.name))
    if len(here) == 1:
        return here[0]
    names = ", ".join(p.name for p in here) or "none"
    raise PortalitError(f"cannot tell which problem set to check (psNN notebooks in {Path.cwd()}: {names}); "
                        "pass it: portalit.check(3, notebook='ps03.ipynb')")


def _run_one(part: Part, namespace: dict, notebook: str, hints: list[str]) -> Result:
    out = io.StringIO()
    try:
        with redirect_stdout(out):
            exec(compile(_python(part.visible), f"<{part.grade_id} visible tests>", "exec"), namespace)
    except KeyboardInterrupt:
        raise
    except Exception as error:  # noqa: BLE001 - any failure of a learner's code is a failed check
        key = (notebook, part.grade_id)
        _failures[key] = _failures.get(key, 0) + 1
        hint = None
        if hints:
            tier = min(_failures[key], len(hints))
            hint = f"hint {tier} of {len(hints)}: {hints[tier - 1]}"
        return Result(part, False, _why(error), out.getvalue(), hint)
    _failures.pop((notebook, part.grade_id), None)
    return Result(part, True, "", out.getvalue())


def _why(error: Exception) -> str:
    if isinstance(error, NotImplementedError):
        return "not answered yet: replace `raise NotImplementedError()` with your code and run that cell"
    if isinstance(error, NameError):
        return f"{error}: run the setup cell and the cell that defines it first"
    if isinstance(error, AssertionError):  # CheckFailed included: its message is written for learners
        return str(error) or "an assertion in the visible tests failed"
    # An error inside the learner's code: name it and where in their code it was raised.
    theirs = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith("<test_") and "site-packages" not in f.filename
              and f"{os.sep}portalit{os.sep}" not in f.filename]
    where = f" (in {theirs[-1].name}, line {theirs[-1].lineno})" if theirs else ""
    return f"{type(error).__name__}: {error}{where}"


def _report(result: Result) -> str:
    part = result.part
    head = f"Part {part.number} ({part.grade_id}, {part.points:g} points): "
    lines = [head + ("visible tests pass (hidden tests run when your work is graded)" if result.passed
                     else "not yet - " + result.message)]
    if result.output.strip() and not result.passed:
        lines += ["  " + line for line in result.output.rstrip().splitlines()[-5:]]
    if result.hint:
        lines.append("  " + result.hint)
    return "\n".join(lines)


def _python(source: str) -> str:
    """IPython syntax (magics) as plain Python, when running inside IPython."""
    shell = _shell()
    return shell.transform_cell(source) if shell is not None else source


def _shell():
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _learner_namespace() -> dict:
    shell = _shell()
    if shell is not None:
        return shell.user_ns
    frame = sys._getframe(1)
    while frame.f_globals.get("__name__", "") in (__name__, "portalit"):  # past check() and portalit.check()
        frame = frame.f_back
    return frame.f_globals
