"""`portalit bench WHAT`: runs bench_WHAT.py of the package portalit.benchmarks (benchmarks/ in a checkout).

The benchmarks need peers the course itself does not (sentence-transformers, gensim), installed
by `make setup` with the test extras.
"""
from __future__ import annotations

import importlib

from .errors import PortalitError

KINDS = ("chat", "embed", "analogy", "class", "course")


BUSY_KINDS = ("chat", "embed", "analogy")


def run(what: str, quick: bool = False, busy: bool = False) -> dict:
    """`busy`: measured with one core held by a hog the benchmark starts and stops (benchmarks/busy.py)."""
    if what not in KINDS:
        raise PortalitError(f"unknown benchmark {what!r}; choose one of: {', '.join(KINDS)}")
    if busy and what not in BUSY_KINDS:
        raise PortalitError(f"--busy measures {', '.join(BUSY_KINDS)}; not {what!r}")
    module = importlib.import_module(f"portalit.benchmarks.bench_{what}")
    return module.run(quick=quick, busy_run=True) if busy else module.run(quick=quick)
