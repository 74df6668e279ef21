"""Submissions put right before grading: deleted test cells back in place, duplicates resolved."""
import nbformat

from portalit.autograder import submission


def _cell(grade_id, grade=False, locked=False, solution=False, source="pass"):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata.nbgrader = {"grade_id": grade_id, "grade": grade, "locked": locked, "solution": solution,
                              "schema_version": 3, "task": False}
    return cell


def test_deleted_test_and_read_only_cells_are_put_back_in_place():
    master = nbformat.v4.new_notebook(cells=[_cell("setup", locked=True), _cell("a1", solution=True),
                                             _cell("t1", grade=True, locked=True), _cell("a2", solution=True),
                                             _cell("t2", grade=True, locked=True)])
    submitted = nbformat.v4.new_notebook(cells=[_cell("a1", solution=True), _cell("a2", solution=True)])
    assert submission._restore_cells(submitted, master) == ["setup", "t1", "t2"]
    assert [submission._nbgrader_id(c) for c in submitted.cells] == ["setup", "a1", "t1", "a2", "t2"]
    assert submission._restore_cells(submitted, master) == []  # nothing missing now
    no_answer = nbformat.v4.new_notebook(cells=[_cell("setup", locked=True), _cell("t1", grade=True, locked=True),
                                                _cell("t2", grade=True, locked=True)])
    assert submission._restore_cells(no_answer, master) == []  # a deleted answer cell stays deleted


def test_duplicated_cells_keep_metadata_on_the_last_copy_only():
    nb = nbformat.v4.new_notebook(cells=[_cell("t1", grade=True, locked=True), _cell("a1", solution=True),
                                         _cell("t1", grade=True, locked=True)])
    assert submission._keep_last_of_duplicates(nb) == ["t1"]
    assert "nbgrader" not in nb.cells[0].metadata and submission._nbgrader_id(nb.cells[2]) == "t1"
