"""The committed notebooks: the release is exactly what nbgrader generates from solutions/, nothing
committed has outputs, every part has visible and hidden tests, and the release leaks nothing."""
from __future__ import annotations

import ast
import json

import nbformat
import pytest

from .conftest import ASSIGNMENTS, KERNEL, ROOT, SILENT_CHECKS, notebooks


def test_exercises_are_exactly_what_generate_assignment_produces(course):
    for assignment in ASSIGNMENTS:
        generated = json.loads((course / "exercises" / assignment / f"{assignment}.ipynb").read_text())
        committed = json.loads((ROOT / "exercises" / assignment / f"{assignment}.ipynb").read_text())
        assert committed == generated, f"exercises/{assignment} drifted: run `nbgrader generate_assignment {assignment} --force`"
    assert sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir()) == ASSIGNMENTS


@pytest.mark.parametrize("folder", ["solutions", "exercises"])
def test_committed_notebooks_have_no_outputs_and_use_the_offline_kernel(folder):
    for assignment, nb in notebooks(folder):
        assert {k: nb.metadata.kernelspec[k] for k in KERNEL} == KERNEL, assignment
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{assignment}: {cell.id} has outputs"


def test_each_assignment_has_3_to_6_autograded_parts_with_visible_and_hidden_tests():
    for assignment, nb in notebooks("solutions"):
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        tests = [c for c in graded if c.cell_type == "code"]
        assert 3 <= len(tests) <= 6 and sum(c.metadata.nbgrader["points"] for c in tests) == 10, assignment
        for cell in tests:
            meta = cell.metadata.nbgrader
            assert cell.cell_type == "code" and not meta["solution"] and meta["locked"], f"{assignment}: {cell.id}"
            assert meta["points"] > 0
            visible, _, hidden = cell.source.partition("### BEGIN HIDDEN TESTS")
            assert visible.strip() and "### END HIDDEN TESTS" in hidden, f"{assignment}: {cell.id} needs both"
        assert not any(c.metadata.get("nbgrader", {}).get("task") for c in nb.cells)
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"]
        assert answers and all("### BEGIN SOLUTION" in c.source for c in answers)


def test_each_assignment_ends_with_a_written_part_an_instructor_grades_by_its_rubric():
    for assignment, nb in notebooks("solutions"):
        written = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "markdown"]
        assert 1 <= len(written) <= 2, assignment
        for cell in written:
            meta = cell.metadata.nbgrader
            assert meta["solution"] and not meta["locked"] and meta["points"] == 2, f"{assignment}: {cell.id}"
            assert "**Model answer**" in cell.source and "**Rubric (2 points).**" in cell.source, f"{assignment}: {cell.id}"
            question = nb.cells[nb.cells.index(cell) - 1]
            assert question.source.startswith("## Part ") and "written; your instructor grades it" in question.source


def test_test_cells_never_end_by_displaying_a_value():
    # nbgrader reads a number shown by a test cell's last line as partial credit.
    for assignment, nb in notebooks("solutions"):
        for cell in nb.cells:
            if not cell.metadata.get("nbgrader", {}).get("grade") or cell.cell_type != "code":
                continue
            last = ast.parse(cell.source).body[-1]
            if isinstance(last, ast.Expr):
                call = last.value
                assert (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in SILENT_CHECKS), f"{assignment}: {cell.id} ends with {ast.unparse(last)}"


def test_the_release_holds_no_solutions_or_hidden_tests():
    for assignment, nb in notebooks("exercises"):
        text = nbformat.writes(nb)
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "Model answer", "Rubric ("):
            assert marker not in text, f"{assignment} leaks {marker}"


