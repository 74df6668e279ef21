"""`portalit grade` for real: solutions get full marks, untouched releases fail every part, a simulated
class grades to the expected scores, an interrupted run loses nothing, and user errors exit with code 2."""
from __future__ import annotations

import csv
import importlib.util
import json
import signal
import subprocess
import sys
import time

import nbformat
import pytest

from portalit import autograder
from portalit.errors import PortalitError

from . import simulated_class
from .conftest import ASSIGNMENTS, ROOT, copy_course, submit


def test_user_errors_name_the_bad_input_and_the_choices(course, tmp_path):
    with pytest.raises(PortalitError, match=r"unknown assignment 'ps99'; choose one of: ps01, ps02, .*ps08"):
        autograder.grade_assignment("ps99", course_dir=course)
    with pytest.raises(PortalitError, match=r"no submissions of ps08 to grade: expected folders .*submitted/<student>/ps08/"):
        autograder.grade_assignment("ps08", course_dir=course)
    with pytest.raises(PortalitError, match="no nbgrader_config.py in"):
        autograder.grade_assignment("ps01", course_dir=tmp_path)
    with pytest.raises(PortalitError, match="workers 0 must be"):
        autograder.grade_assignment("ps01", workers=0, course_dir=course)
    with pytest.raises(PortalitError, match="timeout -1 must be"):
        autograder.grade_assignment("ps01", course_dir=course, timeout=-1)


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
        result = autograder.grade_assignment(assignment, workers=2, course_dir=course)
        rows = {r["student"]: r for r in result["students"]}
        solution, release = rows["solution"], rows["release"]
        assert solution["status"] == release["status"] == "graded", (solution.get("error"), release.get("error"))
        assert result["max_score"] == 12  # 10 autograded + the written part (2)
        # Every autograded part in full; the written answer waits for the instructor, and says so.
        assert solution["score"] == 10, (assignment, solution["parts"], solution["notes"])
        assert all(p["score"] == p["max_score"] for name, p in solution["parts"].items() if name != "written"), solution["parts"]
        assert solution["parts"]["written"] == {"score": 0, "max_score": 2}
        assert "needs a manual grade: written" in solution["notes"]
        # An untouched release: 0 everywhere, and nothing to grade by hand (its answer cell is blank).
        assert release["score"] == 0 and all(p["score"] == 0 for p in release["parts"].values()), release["parts"]
        assert not any("manual" in note for note in release["notes"])
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
    assert len(expected) == 32
    result = autograder.grade_assignment(simulated_class.ASSIGNMENT, workers=2, course_dir=root,
                                    timeout=simulated_class.CELL_TIMEOUT_S)
    rows = {r["student"]: r for r in result["students"]}
    got = {s: ("error" if r["status"] == "error" else r["score"]) for s, r in rows.items()}
    assert got == expected
    assert result["errors"] == 3 and result["graded"] == 29
    for student in ("corrupted-json", "not-a-notebook", "missing-notebook"):
        message = rows[student]["error"]
        assert "ps03.ipynb" in message and "\n" not in message and "Traceback" not in message
    assert any("ignored the interrupt" in n and "sandbox restarted" in n for n in rows["hung-swallows-interrupt"]["notes"])
    assert any("sandbox stopped" in n for n in rows["crashes-kernel"]["notes"])
    assert any("put back" in n for n in rows["deleted-tests"]["notes"])
    assert any("duplicated" in n for n in rows["duplicated-test"]["notes"])
    feedback = (root / "feedback" / "reference-nearest" / "ps03" / "ps03.html").read_text()
    assert "to be written by hand, but your code passes the module portalit.geometry around" in feedback
    with open(root / "grades.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f) if r["assignment"] == "ps03"}
    assert exported == {s: (0.0 if v == "error" else v) for s, v in expected.items()}  # errors: no submission, 0
    text = autograder.render(result)
    assert "corrupted-json" in text and "not valid JSON" in text and "grades: " in text

    # The instructor grades a written answer (as nbgrader's formgrader does, in the gradebook); a
    # rerun of portalit grade keeps it, counts it and exports it.
    assert any("needs a manual grade: written" in n for n in rows["correct-01"]["notes"])
    from nbgrader.api import Gradebook

    course_db = autograder.Course(root)
    with Gradebook(course_db.db_url, course_db.course_id) as gb:
        grade = gb.find_grade("written", "ps03", "ps03", "correct-01")
        grade.manual_score, grade.needs_manual_grade = 1.5, False  # what formgrader's grade handler stores
        gb.db.commit()
    again = autograder.grade_assignment(simulated_class.ASSIGNMENT, workers=2, course_dir=root)
    assert again["graded"] == 0  # nothing changed: every submission is skipped, none regraded
    assert "written answers to grade by hand: " in autograder.render(result)
    left = {r["student"]: r["notes"] for r in again["students"]}
    assert not any("manual" in n for n in left["correct-01"]) and any("manual" in n for n in left["correct-02"])
    with open(root / "grades.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f) if r["assignment"] == "ps03"}
    assert exported["correct-01"] == 11.5 and exported["correct-02"] == 10.0


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


def test_without_a_sandbox_grading_is_refused_unless_unsafe(course, monkeypatch):
    from portalit.autograder import sandbox

    monkeypatch.setattr(sandbox, "mode", lambda: (None, "no sandbox can be made here (user namespaces are off)"))
    with pytest.raises(PortalitError, match=r"user namespaces are off\); grading untrusted work without a "
                                            r"sandbox is refused.*--unsafe"):
        autograder.grade_assignment("ps01", course_dir=course)
