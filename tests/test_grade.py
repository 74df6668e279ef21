"""portalit.grade and the nbgrader pipeline: the committed release is what nbgrader generates from
solutions/, solutions get full marks, untouched releases fail every part, a simulated class grades
to the expected scores, an interrupted run loses nothing, and user errors exit with code 2.

Everything runs in scratch course folders (copies of solutions/ and nbgrader_config.py), never in
the repository.
"""
from __future__ import annotations

import ast
import csv
import importlib.util
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from portalit import grade
from portalit.errors import PortalitError

from .nbgrader import simulated_class

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = [f"ps{i:02d}" for i in range(1, 9)]
KERNEL = {"name": "portalit-local-cpu", "display_name": "PortaLit: local CPU (offline)"}
# grading.check* functions that return None: a test cell may end with a call to one of them.
SILENT_CHECKS = {"check", "check_close", "check_equal", "check_type", "check_shape", "check_word_limit",
                 "check_char_limit", "check_contains", "check_absent", "check_similar"}


def generate(root: Path, assignment: str) -> None:
    """`nbgrader generate_assignment ASSIGNMENT` in `root` (through its API: same converter, one process)."""
    grade.generate_release(root, assignment)


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


# ----------------------------------------------------------------------------------------------
# The notebooks themselves


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
        tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert 3 <= len(tests) <= 6, assignment
        for cell in tests:
            meta = cell.metadata.nbgrader
            assert cell.cell_type == "code" and not meta["solution"] and meta["locked"], f"{assignment}: {cell.id}"
            assert meta["points"] > 0
            visible, _, hidden = cell.source.partition("### BEGIN HIDDEN TESTS")
            assert visible.strip() and "### END HIDDEN TESTS" in hidden, f"{assignment}: {cell.id} needs both"
        # Only autograded parts: nothing left waiting for a manual grade.
        assert not any(c.metadata.get("nbgrader", {}).get("task") for c in nb.cells)
        answers = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        assert answers and all("### BEGIN SOLUTION" in c.source for c in answers)


def test_test_cells_never_end_by_displaying_a_value():
    # nbgrader reads a number shown by a test cell's last line as partial credit.
    for assignment, nb in notebooks("solutions"):
        for cell in nb.cells:
            if not cell.metadata.get("nbgrader", {}).get("grade"):
                continue
            last = ast.parse(cell.source).body[-1]
            if isinstance(last, ast.Expr):
                call = last.value
                assert (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                        and call.func.attr in SILENT_CHECKS), f"{assignment}: {cell.id} ends with {ast.unparse(last)}"


def test_the_release_holds_no_solutions_or_hidden_tests():
    for assignment, nb in notebooks("exercises"):
        text = nbformat.writes(nb)
        for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
            assert marker not in text, f"{assignment} leaks {marker}"


# ----------------------------------------------------------------------------------------------
# Pieces of the pipeline


def test_short_hidden_test_errors_keep_only_the_message():
    cell = nbformat.v4.new_code_cell("x = 1\n### BEGIN HIDDEN TESTS\nassert secret == 42\n### END HIDDEN TESTS")
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="the answer is not the expected value",
                                           traceback=["----> 3 assert secret == 42", "CheckFailed: ..."])]
    visible = nbformat.v4.new_code_cell("assert x == 1")
    visible.outputs = [nbformat.v4.new_output("error", ename="AssertionError", evalue="", traceback=["----> 1 assert x == 1"])]
    pp = grade.ShortHiddenTestErrors()
    assert pp.enabled  # nbconvert skips preprocessors that are not enabled
    pp.preprocess_cell(cell, {}, 0)
    pp.preprocess_cell(visible, {}, 1)
    assert cell.outputs[0].traceback == ["CheckFailed: the answer is not the expected value"]
    assert visible.outputs[0].traceback == ["----> 1 assert x == 1"]  # visible tests keep their traceback


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
    assert grade._restore_cells(submitted, master) == ["setup", "t1", "t2"]
    assert [grade._nbgrader_id(c) for c in submitted.cells] == ["setup", "a1", "t1", "a2", "t2"]
    assert grade._restore_cells(submitted, master) == []  # nothing missing now
    no_answer = nbformat.v4.new_notebook(cells=[_cell("setup", locked=True), _cell("t1", grade=True, locked=True),
                                                _cell("t2", grade=True, locked=True)])
    assert grade._restore_cells(no_answer, master) == []  # a deleted answer cell stays deleted


def test_duplicated_cells_keep_metadata_on_the_last_copy_only():
    nb = nbformat.v4.new_notebook(cells=[_cell("t1", grade=True, locked=True), _cell("a1", solution=True),
                                         _cell("t1", grade=True, locked=True)])
    assert grade._keep_last_of_duplicates(nb) == ["t1"]
    assert "nbgrader" not in nb.cells[0].metadata and grade._nbgrader_id(nb.cells[2]) == "t1"


def test_fingerprint_changes_with_any_submitted_file(tmp_path):
    (tmp_path / "ps01.ipynb").write_text("{}")
    before = grade._fingerprint(tmp_path)
    assert grade._fingerprint(tmp_path) == before
    (tmp_path / "timestamp.txt").write_text("2026-11-20 10:00:00 UTC")
    assert grade._fingerprint(tmp_path) != before


def test_user_errors_name_the_bad_input_and_the_choices(course, tmp_path):
    with pytest.raises(PortalitError, match=r"unknown assignment 'ps99'; choose one of: ps01, ps02, .*ps08"):
        grade.grade_assignment("ps99", course_dir=course)
    with pytest.raises(PortalitError, match=r"no submissions of ps08 to grade: expected folders .*submitted/<student>/ps08/"):
        grade.grade_assignment("ps08", course_dir=course)
    with pytest.raises(PortalitError, match="no nbgrader_config.py in"):
        grade.grade_assignment("ps01", course_dir=tmp_path)
    with pytest.raises(PortalitError, match="workers 0 must be"):
        grade.grade_assignment("ps01", workers=0, course_dir=course)
    with pytest.raises(PortalitError, match="timeout -1 must be"):
        grade.grade_assignment("ps01", course_dir=course, timeout=-1)


def test_cli_grade_with_a_bad_assignment_exits_2_with_one_line(course):
    for args, expected in [(["grade", "ps99"], "unknown assignment 'ps99'; choose one of: ps01"),
                           (["grade", "ps01", "--workers", "0"], "--workers 0 must be at least 1")]:
        out = subprocess.run([sys.executable, "-m", "portalit.cli", *args], cwd=course, capture_output=True,
                             text=True, timeout=120)
        assert out.returncode == 2, out.stderr
        assert out.stderr.count("\n") == 1 and expected in out.stderr and "Traceback" not in out.stderr


# ----------------------------------------------------------------------------------------------
# Grading for real


@pytest.mark.slow
def test_solutions_get_full_marks_and_untouched_releases_fail_every_part(course):
    for assignment in ASSIGNMENTS:
        submit(course, "solution", assignment, course / "solutions" / assignment / f"{assignment}.ipynb")
        submit(course, "release", assignment, course / "exercises" / assignment / f"{assignment}.ipynb")
    for assignment in ASSIGNMENTS:
        result = grade.grade_assignment(assignment, workers=2, course_dir=course)
        rows = {r["student"]: r for r in result["students"]}
        solution, release = rows["solution"], rows["release"]
        assert solution["status"] == release["status"] == "graded", (solution.get("error"), release.get("error"))
        assert result["max_score"] == 10
        assert solution["score"] == 10, (assignment, solution["parts"], solution["notes"])
        assert all(p["score"] == p["max_score"] for p in solution["parts"].values()), solution["parts"]
        assert release["score"] == 0 and all(p["score"] == 0 for p in release["parts"].values()), release["parts"]
        # Feedback exists and shows no hidden test.
        for student in ("solution", "release"):
            html = (course / "feedback" / student / assignment / f"{assignment}.html").read_text()
            assert "HIDDEN TESTS" not in html
    master = nbformat.read(course / "solutions" / "ps03" / "ps03.ipynb", as_version=4)
    hidden_only = 'for word, k in [("computer", 8), ("Sweden", 3)]'
    assert hidden_only in "\n".join(c.source for c in master.cells)
    assert "computer" not in (course / "feedback" / "release" / "ps03" / "ps03.html").read_text()
    with open(course / "grades.csv") as f:
        exported = {(r["assignment"], r["student_id"]): float(r["score"]) for r in csv.DictReader(f)}
    assert all(exported[(a, "solution")] == 10 and exported[(a, "release")] == 0 for a in ASSIGNMENTS)


@pytest.mark.slow
def test_a_simulated_class_grades_to_the_expected_scores(course, tmp_path):
    root = copy_course(course, tmp_path / "class")
    expected = simulated_class.build(root)
    assert len(expected) == 30
    result = grade.grade_assignment(simulated_class.ASSIGNMENT, workers=2, course_dir=root,
                                    timeout=simulated_class.CELL_TIMEOUT_S)
    rows = {r["student"]: r for r in result["students"]}
    got = {s: ("error" if r["status"] == "error" else r["score"]) for s, r in rows.items()}
    assert got == expected
    assert result["errors"] == 3 and result["graded"] == 27
    for student in ("corrupted-json", "not-a-notebook", "missing-notebook"):
        message = rows[student]["error"]
        assert "ps03.ipynb" in message and "\n" not in message and "Traceback" not in message
    assert any("kernel restarted" in n for n in rows["hung-swallows-interrupt"]["notes"])
    assert any("kernel died" in n for n in rows["crashes-kernel"]["notes"])
    assert any("put back" in n for n in rows["deleted-tests"]["notes"])
    assert any("duplicated" in n for n in rows["duplicated-test"]["notes"])
    with open(root / "grades.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f) if r["assignment"] == "ps03"}
    assert exported == {s: (0.0 if v == "error" else v) for s, v in expected.items()}  # errors: no submission, 0
    text = grade.render(result)
    assert "corrupted-json" in text and "not valid JSON" in text and "grades: " in text


@pytest.mark.slow
def test_an_interrupted_run_loses_nothing_and_a_rerun_grades_only_the_rest(course, tmp_path):
    root = copy_course(course, tmp_path / "interrupted", "\nc.ExecutePreprocessor.timeout = 300\n")
    solution = course / "solutions" / "ps06" / "ps06.ipynb"
    for student in ("a1", "a2", "a3", "a4"):
        submit(root, student, "ps06", solution)
    stuck = nbformat.read(solution, as_version=4)
    cell = next(c for c in stuck.cells if c.id == "gap")
    cell.source = "while True:\n    pass\n\n" + cell.source  # keeps the run busy until we interrupt it
    (root / "submitted" / "z1" / "ps06").mkdir(parents=True)
    nbformat.write(stuck, root / "submitted" / "z1" / "ps06" / "ps06.ipynb")

    markers = root / "autograded" / ".portalit" / "ps06" / "graded"
    cli = [sys.executable, "-m", "portalit.cli", "grade", "ps06", "--workers", "2", "--json"]
    # Ctrl-C as in a terminal (a background job would inherit SIGINT ignored, so restore it).
    first = subprocess.Popen(cli, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 240
    while time.time() < deadline and len(list(markers.glob("*.json"))) < 2 and first.poll() is None:
        time.sleep(0.05)
    assert first.poll() is None, first.communicate()
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=60)
    assert first.returncode == 130
    done = sorted(p.stem for p in markers.glob("*.json"))
    assert 2 <= len(done) < 5 and "z1" not in done
    kept = {s: (root / "autograded" / s / "ps06" / "ps06.ipynb").stat().st_mtime_ns for s in done}
    assert (root / "grades.csv").exists()

    config = root / "nbgrader_config.py"
    config.write_text(config.read_text().replace("timeout = 300", "timeout = 5"))
    second = subprocess.run(cli, cwd=root, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    result = json.loads(second.stdout)
    rows = {r["student"]: r for r in result["students"]}
    assert sorted(s for s, r in rows.items() if r["status"] == "skipped") == done
    assert all(rows[s]["status"] == "graded" for s in rows if s not in done)
    assert all(rows[s]["score"] == 10 for s in ("a1", "a2", "a3", "a4"))
    assert rows["z1"]["score"] < 10
    assert {s: (root / "autograded" / s / "ps06" / "ps06.ipynb").stat().st_mtime_ns for s in done} == kept


@pytest.mark.slow
def test_bench_grade_quick_reports_ours_peer_and_the_ratio():
    spec = importlib.util.spec_from_file_location("bench_grade", ROOT / "benchmarks" / "bench_grade.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.run(quick=True)
    assert result["ours"] > 0 and result["peer"] > 0 and result["same_scores"]
    assert result["ratio"] == pytest.approx(result["ours"] / result["peer"], rel=0.02)
