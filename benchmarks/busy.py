"""`--busy`: a benchmark measured again with one core held by a CPU hog the benchmark owns.

The hog is a child process that spins on one core (pinned to it) until it is stopped or its own
time limit passes, so it can never outlive a run. Under it, the same measurement runs with the
thread policy (portalit.threads) and with every fixed thread count, in the same run:

    quiet            the policy, no hog
    quiet_default    every core, no hog: what the engines did before the policy
    busy             the policy, hog running
    fixed_busy       {threads: throughput} with the hog running
    best_fixed_busy  the best of those
    policy_ratio     busy / best_fixed_busy (1.0: the policy found the best count)
    quiet_ratio      quiet / quiet_default (1.0: the policy costs nothing on a quiet machine)
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from contextlib import contextmanager

HOG_LIMIT_S = 900  # the hog stops itself after this long, whatever happens to its parent
SETTLE_S = 1.0  # the policy averages the last 0.5 s of load: let it see the hog first

SPIN = ("import os, sys, time\n"
        "os.sched_setaffinity(0, {int(sys.argv[1])})\n"
        "end = time.monotonic() + float(sys.argv[2])\n"
        "while time.monotonic() < end:\n"
        "    pass\n")


def cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


@contextmanager
def hog(core: int | None = None, seconds: float = HOG_LIMIT_S):
    """One core held busy by a child process for the duration of the block."""
    core = cores()[-1] if core is None else core
    child = subprocess.Popen([sys.executable, "-c", SPIN, str(core), str(seconds)])
    try:
        time.sleep(SETTLE_S)
        yield core
    finally:
        child.kill()
        child.wait()


@contextmanager
def fixed_threads(n: int | None):
    """PORTALIT_THREADS=n for the block (None: the policy decides)."""
    before = os.environ.get("PORTALIT_THREADS")
    if n is None:
        os.environ.pop("PORTALIT_THREADS", None)
    else:
        os.environ["PORTALIT_THREADS"] = str(n)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PORTALIT_THREADS", None)
        else:
            os.environ["PORTALIT_THREADS"] = before


def compare(measure, rounds: int = 2) -> dict:
    """Runs measure() (one throughput number, higher is better) in every condition above.

    Conditions take turns within each round, so slow drift in the machine's load hits all alike;
    each figure is the mean over rounds."""
    counts = list(range(1, len(cores()) + 1))
    quiet, quiet_default, busy = [], [], []
    fixed = {n: [] for n in counts}
    measure()  # warm: imports, model loads
    for _ in range(rounds):
        with fixed_threads(None):
            quiet.append(measure())
        with fixed_threads(counts[-1]):
            quiet_default.append(measure())
        with hog():
            conditions = [None, *counts]
            shift = len(quiet) - 1  # each round starts the turn with another condition
            for n in conditions[shift % len(conditions):] + conditions[:shift % len(conditions)]:
                with fixed_threads(n):
                    (busy if n is None else fixed[n]).append(measure())
        time.sleep(SETTLE_S)  # the next quiet figure must not inherit the hog in the policy's window
    mean = {name: sum(values) / len(values) for name, values in
            (("quiet", quiet), ("quiet_default", quiet_default), ("busy", busy))}
    fixed_mean = {n: sum(v) / len(v) for n, v in fixed.items()}
    best = max(fixed_mean, key=fixed_mean.get)
    return {
        "quiet": round(mean["quiet"], 2), "quiet_default": round(mean["quiet_default"], 2),
        "busy": round(mean["busy"], 2),
        "fixed_busy": {str(n): round(v, 2) for n, v in fixed_mean.items()},
        "best_fixed_busy": round(fixed_mean[best], 2), "best_fixed_threads": best,
        "policy_ratio": round(mean["busy"] / fixed_mean[best], 3),
        "quiet_ratio": round(mean["quiet"] / mean["quiet_default"], 3),
        "cores": len(counts), "rounds": rounds,
    }
