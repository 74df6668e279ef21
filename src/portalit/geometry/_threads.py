"""Matrix products spread over the cores by Python threads, each running single-threaded BLAS.

OpenBLAS's own worker threads spin-wait for each other. On a small machine that other processes
also use, that waiting dominates: here a 2-thread product ran 2x slower than a 1-thread one under
load, and the full analogy evaluation 4-7x slower. Independent Python threads (numpy releases the
GIL inside BLAS) share the cores without waiting on each other, and are as fast when idle.
`share` goes one step further for numba's kernels: the calling thread works too and never waits
for a pool thread that has not been given a core.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

_lock = threading.Lock()
# One parallel section at a time: the BLAS thread limit is process-wide, and two overlapping
# sections could restore it in the wrong order. They would compete for the same cores anyway.
_section = threading.Lock()
_state: dict = {}


def workers() -> int:
    """Threads to use: every core this process may use, at most 4 (PORTALIT_THREADS overrides).

    Unlike llama.cpp's or torch's thread teams, these pools hand out parts one at a time and never
    wait for a thread that has no core, so a core another process half-uses still adds work:
    measured with one core held, two workers answered 428 analogy queries/s and one 366
    (`portalit bench analogy --busy`). So they do not shrink to the free cores."""
    from .. import threads

    return max(1, min(threads.override() or threads.cores(), 4))


def run_parallel(function, parts) -> list:
    """[function(part) for part in parts], run on the shared threads with one BLAS thread each.

    `function` must not call run_parallel itself.
    """
    parts = list(parts)
    if len(parts) <= 1 or workers() == 1:
        return [function(part) for part in parts]
    with _section, _single_threaded_blas():
        return list(_pool().map(function, parts))


def share(function, parts) -> None:
    """function(part) for every part, by this thread and the pool's, whichever gets there first.

    Unlike run_parallel, this thread never waits for a pool thread that has not started: if the
    other core is busy, this one does every part itself. `function` must release the GIL
    (numba's nogil kernels do) for the threads to overlap.
    """
    parts = list(parts)
    if len(parts) <= 1 or workers() == 1:
        for part in parts:
            function(part)
        return
    state = {"next": 0, "running": 0, "error": None}
    turn = threading.Condition()

    def work():
        while True:
            with turn:
                if state["next"] >= len(parts) or state["error"] is not None:
                    return
                part = parts[state["next"]]
                state["next"] += 1
                state["running"] += 1
            try:
                function(part)
            except BaseException as error:  # handed to the calling thread below
                state["error"] = error
            finally:
                with turn:
                    state["running"] -= 1
                    turn.notify_all()

    for _ in range(workers() - 1):
        _pool().submit(work)
    work()
    with turn:
        turn.wait_for(lambda: state["running"] == 0)
    if state["error"] is not None:
        raise state["error"]


def _pool() -> ThreadPoolExecutor:
    with _lock:
        if "pool" not in _state:
            _state["pool"] = ThreadPoolExecutor(workers(), thread_name_prefix="portalit-geometry")
        return _state["pool"]


@contextmanager
def _single_threaded_blas():
    with _lock:
        if "controller" not in _state:
            try:
                from threadpoolctl import ThreadpoolController  # ships with scikit-learn

                _state["controller"] = ThreadpoolController()
            except Exception:  # no threadpoolctl: BLAS keeps its own threads, still correct
                _state["controller"] = None
        controller = _state["controller"]
    if controller is None:
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
