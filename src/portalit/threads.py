"""One thread policy for every engine: never more busy threads than free cores.

llama.cpp, torch, numba and OpenBLAS all split work over worker threads that wait for each other
at every step. When another process holds a core (a browser, JupyterLab, a second kernel), one of
those workers waits for it, and the whole team runs at the pace of the slowest: measured here,
chat fell from 144 to 38 tokens/s with two threads beside one busy core, and gave 108 with one.

So each call asks `threads()` how many to use. It is measured, not guessed: a monitor thread reads
the kernel's per-CPU counters (/proc/stat) for the cores this process may use, every 100 ms while
the engines are in use, and subtracts what this process itself used; what is left is the other
processes' load. A call gets the cores that load leaves free (at least one), so a quiet machine
keeps every core and a busy one stops waiting on a core it cannot have. The monitor reads the
counters in the background, so a call pays nothing for the decision.

PORTALIT_THREADS=N overrides the policy (N threads always), as before.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from contextlib import contextmanager

INTERVAL_S = 0.1  # how often the monitor samples the counters
WINDOW_S = 0.5  # how much recent history a decision averages over
IDLE_STOP_S = 30.0  # the monitor stops when no call has asked for this long
SPARE = 0.25  # a core counts as free when at least 1 - SPARE of it is


def cores() -> int:
    """The cores this process may run on: its CPU affinity, capped by a cgroup CPU quota."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(count, quota) if quota else count)


def override() -> int | None:
    value = os.environ.get("PORTALIT_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def threads() -> int:
    """Threads for the next call: PORTALIT_THREADS if set, else the cores other processes leave free."""
    forced = override()
    if forced:
        return forced
    total = cores()
    if total == 1:
        return 1
    others = _monitor().others_busy()
    if others is None:  # no counters (not Linux) or not yet measured: every core, as before
        return total
    return max(1, min(total, int(total - others + SPARE)))


def others_busy() -> float | None:
    """Cores' worth of CPU the other processes used lately, on the cores this process may use."""
    return _monitor().others_busy()


@contextmanager
def limited(n: int | None = None):
    """Run the block with torch, numba and BLAS limited to `n` threads (default: threads())."""
    n = n or threads()
    restore = []
    torch = sys.modules.get("torch")  # only if already in use: never import torch just to limit it
    if torch is not None:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        restore.append(lambda: torch.set_num_threads(before))
    numba = sys.modules.get("numba")
    if numba is not None:
        before_numba = numba.get_num_threads()
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
        restore.append(lambda: numba.set_num_threads(before_numba))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        pass
    else:
        restore.append(threadpool_limits(limits=n).restore_original_limits)
    try:
        yield n
    finally:
        for undo in reversed(restore):
            undo()


class _Monitor:
    """Samples /proc/stat for the allowed cores, and this process's CPU time, in the background."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[float, float, float]] = []  # (wall, busy seconds on our cores, own seconds)
        self.asked = time.monotonic()
        self.thread: threading.Thread | None = None
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        try:
            self.cpus = sorted(os.sched_getaffinity(0))
        except AttributeError:
            self.cpus = []

    def others_busy(self) -> float | None:
        self.asked = time.monotonic()
        self._ensure_running()
        with self.lock:
            ready = len(self.samples) >= 2
        if not ready:  # the first decision of a session measures one interval itself
            self._record()
            time.sleep(INTERVAL_S)
            self._record()
        with self.lock:
            if len(self.samples) < 2:
                return None
            old, new = self.samples[0], self.samples[-1]
        wall = new[0] - old[0]
        if wall <= 0:
            return None
        return max(0.0, ((new[1] - old[1]) - (new[2] - old[2])) / wall)

    def _ensure_running(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="portalit-threads-monitor", daemon=True)
            self.thread.start()

    def _run(self) -> None:
        while time.monotonic() - self.asked < IDLE_STOP_S:
            self._record()
            time.sleep(INTERVAL_S)
        with self.lock:
            self.samples.clear()

    def _record(self) -> None:
        sample = self._sample()
        if sample is None:
            return
        with self.lock:
            self.samples.append(sample)
            while len(self.samples) > 2 and sample[0] - self.samples[1][0] >= WINDOW_S:
                self.samples.pop(0)

    def _sample(self) -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as f:
                lines = f.readlines()
            with open("/proc/self/stat") as f:
                own = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        wanted = {f"cpu{i}" for i in self.cpus}
        busy = 0
        for line in lines:
            name, *fields = line.split()
            if name in wanted:
                values = [int(v) for v in fields[:8]]
                busy += sum(values) - values[3] - values[4]  # everything but idle and iowait
        own_ticks = int(own[11]) + int(own[12])  # utime + stime of every thread of this process
        return time.monotonic(), busy / self.tick, own_ticks / self.tick


_state: dict = {}
_state_lock = threading.Lock()


def _monitor() -> _Monitor:
    with _state_lock:
        if _state.get("pid") != os.getpid():  # a forked child needs its own thread and counters
            _state.update(pid=os.getpid(), monitor=_Monitor())
        return _state["monitor"]


def _cgroup_quota() -> int | None:
    """Whole cores allowed by a cgroup v2 cpu.max quota, or None if there is none."""
    try:
        with open("/sys/fs/cgroup/cpu.max") as f:
            quota, period = f.read().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return max(1, int(int(quota) / int(period) + 0.5))
