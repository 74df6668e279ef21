"""The course's own time: every lesson run top to bottom in a fresh local-cpu kernel, as a learner
would with Run All, on a quiet machine and with one core held by a hog (benchmarks/busy.py).

As for every benchmark, `ours`/`peer` are throughputs (lessons per hour): `ours` with the hog,
`peer` on the quiet machine, so `ratio` = quiet time / busy time (1.0: the load costs nothing;
busy at most 1.5x quiet is ratio >= 0.67). quick=True runs lesson 00 only.
`python benchmarks/bench_course.py [--quick]` prints one JSON object.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def lessons(quick: bool) -> list[Path]:
    from portalit.benchmarks import __file__ as here

    folder = Path(here).resolve().parent.parent / "lessons"
    found = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not found:
        from portalit.errors import PortalitError

        raise PortalitError(f"no lessons in {folder}: run the course benchmark from a checkout")
    return found[:1] if quick else found


def run_lesson(path: Path) -> float:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, kernel_name="portalit-local-cpu", timeout=600,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def run(quick: bool = False, busy_run: bool = True) -> dict:
    from portalit.benchmarks import busy

    paths = lessons(quick)
    run_lesson(paths[0])  # warm: the first kernel start and model loads fill the page cache
    quiet = {p.stem: round(run_lesson(p), 1) for p in paths}
    with busy.hog():
        loaded = {p.stem: round(run_lesson(p), 1) for p in paths}
    total_quiet, total_busy = sum(quiet.values()), sum(loaded.values())
    per_hour = 3600 * len(paths)
    return {"ours": round(per_hour / total_busy, 2), "peer": round(per_hour / total_quiet, 2),
            "ratio": round(total_quiet / total_busy, 3), "unit": "lessons/hour (busy, quiet)",
            "quiet_total_s": round(total_quiet, 1), "busy_total_s": round(total_busy, 1),
            "busy_over_quiet": round(total_busy / total_quiet, 3), "quiet_s": quiet, "busy_s": loaded}

if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv)))
