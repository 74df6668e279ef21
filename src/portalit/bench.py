"""`portalit bench`: runs benchmarks/bench_<what>.py from the course checkout.

The benchmarks live beside the package (not inside it) because they need peers the course does not
(sentence-transformers, gensim) and the checkout's data; `make setup` installs the package editable.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from .errors import PortalitError

KINDS = ("chat", "embed", "analogy")


def folder() -> Path:
    env = os.environ.get("PORTALIT_BENCHMARKS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "benchmarks"


def run(what: str, quick: bool = False) -> dict:
    if what not in KINDS:
        raise PortalitError(f"unknown benchmark {what!r}; choose one of: {', '.join(KINDS)}")
    path = folder() / f"bench_{what}.py"
    if not path.exists():
        raise PortalitError(f"{path} not found: run `portalit bench` from a course checkout "
                            "(or set PORTALIT_BENCHMARKS to its benchmarks folder)")
    spec = importlib.util.spec_from_file_location(f"portalit_bench_{what}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(quick=quick)
