"""Matrix products spread over the cores by Python threads, each running single-threaded BLAS.

OpenBLAS's own worker threads spin-wait for each other. On a small machine that other processes
also use, that waiting dominates: here a 2-thread product ran 2x slower than a 1-thread one under
load, and the full analogy evaluation 4-7x slower. Independent Python threads (numpy releases the
GIL inside BLAS) share the cores without waiting on each other, and are as fast when idle.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

_lock = threading.Lock()
# One parallel section at a time: the BLAS thread limit is process-wide, and two overlapping
# sections could restore it in the wrong order. They would compete for the same cores anyway.
_section = threading.Lock()
_state: dict = {}


def workers() -> int:
    """Threads to use: the cores this process may run on, at most 4."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))


def run_parallel(function, parts) -> list:
    """[function(part) for part in parts], run on the shared threads with one BLAS thread each.

    `function` must not call run_parallel itself.
    """
    parts = list(parts)
    if len(parts) <= 1 or workers() == 1:
        return [function(part) for part in parts]
    with _section, _single_threaded_blas():
        return list(_pool().map(function, parts))


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
