"""No autograded part passes with a constant: for every part answered by functions, a learner who
hard-codes what the visible test asks for (each function replaced by one that returns, forever,
what the right function returned on its first call) fails that part's tests, hidden ones included.

Run in a real kernel on each master notebook (hidden tests in place), after the notebook itself.
ps08 (it starts servers) and ps09 (it tunes) are left to their own grading tests for time.
"""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from portalit.autograder import executor

from ..conftest import ROOT

SETS = ["ps01", "ps02", "ps03", "ps04", "ps05", "ps06", "ps07"]

FREEZE = '''
import json as _json
_report = {}
for _grade_id, _spec in _PARTS.items():
    _saved = {n: globals()[n] for n in _spec["names"] if callable(globals().get(n))}
    if not _saved:
        _report[_grade_id] = "no function"
        continue
    for _name, _function in _saved.items():
        def _frozen(*args, _f=_function, _box=[], **kwargs):
            if not _box:
                _box.append(_f(*args, **kwargs))
            return _box[0]
        globals()[_name] = _frozen
    try:
        exec(_spec["source"], globals())
        _report[_grade_id] = "passed"
    except Exception:
        _report[_grade_id] = "failed"
    finally:
        globals().update(_saved)
print(_json.dumps(_report))
'''


def _parts(nb) -> dict:
    """{test grade_id: {"names": what the part's answer cells define, "source": its test cell}}."""
    parts, names = {}, set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code":
            continue
        if meta.get("solution"):
            names |= executor.bound_names(cell.source)
        elif meta.get("grade"):
            parts[meta["grade_id"]] = {"names": sorted(names), "source": cell.source}
            names = set()
    return parts


@pytest.mark.slow
@pytest.mark.parametrize("assignment", SETS)
def test_no_part_passes_when_its_answers_are_frozen_constants(assignment, tmp_path):
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    parts = _parts(nb)
    nb.cells.append(nbformat.v4.new_code_cell(f"_PARTS = {json.dumps(parts)}\n" + FREEZE))
    NotebookClient(nb, kernel_name="portalit-local-cpu", timeout=300,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    report = json.loads(nb.cells[-1].outputs[-1]["text"].strip().splitlines()[-1])
    passed = [grade_id for grade_id, outcome in report.items() if outcome == "passed"]
    assert passed == [], f"{assignment}: these parts pass with hard-coded answers: {passed}"
