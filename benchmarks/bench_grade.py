"""Grading speed: `portalit grade --workers 2` vs sequential `nbgrader autograde`, same run.

Builds a scratch course with N submissions of one assignment (three in four are the solution, one
in four the untouched release) and grades one copy with `nbgrader autograde ASSIGNMENT` (the
peer: one process, one submission after another) and another with
`portalit grade ASSIGNMENT --workers W` (ours), each as fresh commands. The submissions arrive in
4 batches and the two tools take turns in the order peer-ours, ours-peer, peer-ours, ours-peer,
so a change in the machine's load during the run (other work on shared cores) falls on both
alike. Each tool pays its start-up once per batch. Checks that both gave every student the same
score. Ours does more work than the peer: it also writes every student's feedback and exports
grades.csv. Run: python benchmarks/bench_grade.py [--quick]
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
    }
    batches = 1 if n < 8 else 4
    seconds = {"peer": 0.0, "ours": 0.0}
    with tempfile.TemporaryDirectory(prefix="portalit-bench-grade-") as tmp:
        base = Path(tmp) / "base"
        _course(base, assignment)
        dirs = {"peer": Path(tmp) / "peer", "ours": Path(tmp) / "ours"}
        for folder in dirs.values():
            shutil.copytree(base, folder)
        load_before = os.getloadavg()[0]
        for b in range(batches):
            _submit(dirs.values(), assignment, range(b * n // batches, (b + 1) * n // batches))
            for who in (("peer", "ours") if b % 2 == 0 else ("ours", "peer")):
                start = time.perf_counter()
                done = subprocess.run(commands[who], cwd=dirs[who], env=env, capture_output=True, text=True)
                seconds[who] += time.perf_counter() - start
                if done.returncode != 0:
                    raise RuntimeError(f"{' '.join(commands[who][-4:])} failed: {done.stderr[-2000:]}")
                if who == "ours":
                    result = json.loads(done.stdout)
        ours_scores = {r["student"]: r["score"] for r in result["students"]}
        peer_scores = _peer_scores(dirs["peer"], assignment)
    ours_s, peer_s = seconds["ours"], seconds["peer"]
    ours_rate, peer_rate = n / ours_s, n / peer_s
    return {
        "ours": round(ours_rate, 4), "peer": round(peer_rate, 4), "ratio": round(ours_rate / peer_rate, 3),
        "unit": "submissions/s", "assignment": assignment, "submissions": n, "workers": workers,
        "ours_s": round(ours_s, 1), "peer_s": round(peer_s, 1), "same_scores": ours_scores == peer_scores,
        "batches": batches, "errors": result["errors"], "cpus": os.cpu_count(),
        "load_avg_before": round(load_before, 2), "load_avg_after": round(os.getloadavg()[0], 2),
        "peer_command": f"nbgrader autograde {assignment}",
        "ours_command": f"portalit grade {assignment} --workers {workers}",
    }


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv)))
