"""`portalit bench WHAT`: runs bench_WHAT.py of the package portalit.benchmarks (benchmarks/ in a checkout).

The benchmarks need peers the course itself does not (sentence-transformers, gensim), installed
by `make setup` with the test extras.
"""
from __future__ import annotations

import importlib

from .errors import PortalitError

KINDS = ("chat", "embed", "analogy", "class")


def run(what: str, quick: bool = False) -> dict:
    if what not in KINDS:
        raise PortalitError(f"unknown benchmark {what!r}; choose one of: {', '.join(KINDS)}")
    return importlib.import_module(f"portalit.benchmarks.bench_{what}").run(quick=quick)
