"""Grading speed: `portalit grade --workers 2` (sandboxed) vs sequential `nbgrader autograde`, and
the cost of the sandbox itself (`portalit grade --unsafe`), same run.

Builds a scratch course with N submissions of one assignment (three in four are the solution, one
in four the untouched release) and grades one copy with `nbgrader autograde ASSIGNMENT` (the
peer: one process, one submission after another, tests inside the learner's kernel), one with
`portalit grade ASSIGNMENT --workers W` (ours: each learner in a sandbox, the tests in the grader)
and one with `--unsafe` added (the same without the sandbox), each as fresh commands. The
submissions arrive in 4 batches and the tools take turns in a rotating order, so a change in the
machine's load during the run falls on all alike. Each tool pays its start-up once per batch.
Checks that all gave every student the same score. Ours does more work than the peer: it also
writes and sanitises every student's feedback and exports grades.csv.
`ratio` = ours / nbgrader throughput; `sandbox_ratio` = ours / unsafe throughput.
Run: python benchmarks/bench_grade.py [--quick]
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ASSIGNMENT = "ps03"  # words as vectors: GloVe over 400,000 words, numpy, no chat model


def _course(root: Path, assignment: str) -> None:
    from portalit import autograder

    shutil.copytree(ROOT / "solutions" / assignment, root / "solutions" / assignment)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    autograder.generate_release(root, assignment)


def _submit(roots, assignment: str, students: range) -> None:
    for root in roots:
        for i in students:
            kind = "exercises" if i % 4 == 3 else "solutions"
            folder = root / "submitted" / f"student{i:03d}" / assignment
            folder.mkdir(parents=True)
            shutil.copy(root / kind / assignment / f"{assignment}.ipynb", folder)


def _peer_scores(root: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", "portalit") as gb:
        return {s.student.id: s.score for s in gb.find_assignment(assignment).submissions}


def run(quick: bool = False, assignment: str = DEFAULT_ASSIGNMENT, submissions: int | None = None,
        workers: int = 2) -> dict:
    n = submissions or (4 if quick else 100)
    # nbgrader runs `alembic` from this environment's bin/ when it creates a gradebook.
    os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ)
    commands = {
        "peer": [str(Path(sys.executable).parent / "nbgrader"), "autograde", assignment],
        "ours": [sys.executable, "-m", "portalit.cli", "grade", assignment, "--workers", str(workers), "--json"],
        "unsafe": [sys.executable, "-m", "portalit.cli", "grade", assignment, "--workers", str(workers), "--json",
                   "--unsafe"],
    }
    batches = 1 if n < 8 else 4
    results = {}
    seconds = {"peer": 0.0, "ours": 0.0, "unsafe": 0.0}
    with tempfile.TemporaryDirectory(prefix="portalit-bench-grade-") as tmp:
        base = Path(tmp) / "base"
        _course(base, assignment)
        dirs = {who: Path(tmp) / who for who in commands}
        for folder in dirs.values():
            shutil.copytree(base, folder)
        load_before = os.getloadavg()[0]
        for b in range(batches):
            _submit(dirs.values(), assignment, range(b * n // batches, (b + 1) * n // batches))
            order = ["peer", "ours", "unsafe"]
            for who in order[b % 3:] + order[:b % 3]:
                start = time.perf_counter()
                done = subprocess.run(commands[who], cwd=dirs[who], env=env, capture_output=True, text=True)
                seconds[who] += time.perf_counter() - start
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(commands[who][-4:])} failed: {done.stderr[-2000:]}")
                if who != "peer":
                    results[who] = json.loads(done.stdout)
        scores = {who: {r["student"]: r["score"] for r in results[who]["students"]} for who in results}
        peer_scores = _peer_scores(dirs["peer"], assignment)
        result = results["ours"]
    ours_s, peer_s, unsafe_s = seconds["ours"], seconds["peer"], seconds["unsafe"]
    ours_rate, peer_rate = n / ours_s, n / peer_s
    return {
        "ours": round(ours_rate, 4), "peer": round(peer_rate, 4), "ratio": round(ours_rate / peer_rate, 3),
        "unsafe": round(n / unsafe_s, 4), "sandbox_ratio": round(unsafe_s / ours_s, 3),
        "unit": "submissions/s", "assignment": assignment, "submissions": n, "workers": workers,
        "ours_s": round(ours_s, 1), "peer_s": round(peer_s, 1), "unsafe_s": round(unsafe_s, 1),
        "same_scores": scores["ours"] == peer_scores == scores["unsafe"],
        "batches": batches, "errors": result["errors"], "cpus": os.cpu_count(),
        "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2),
        "peer_command": f"nbgrader autograde {assignment}",
        "ours_command": f"portalit grade {assignment} --workers {workers}",
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="portalit grade vs nbgrader autograde, same run")
    parser.add_argument("--quick", action="store_true", help="4 submissions: a smoke run")
    parser.add_argument("--submissions", type=int, help="how many (default 100)")
    parser.add_argument("--assignment", default=DEFAULT_ASSIGNMENT)
    args = parser.parse_args()
    print(json.dumps(run(quick=args.quick, assignment=args.assignment, submissions=args.submissions)))
