"""The backend registry. A backend is a class (see base.Backend); adding one is one new file here
plus one `register(...)` line below. Nothing here imports litellm or torch: `import portalit`
must stay fast.
"""
from __future__ import annotations

import os

from ..errors import PortalitError
from .base import Backend, Readiness, Target
from .cloud import Cloud
from .local_cpu import LocalCPU
from .local_gpu import LocalGPU
from .server import Server

BACKENDS: dict[str, Backend] = {}
DEFAULT = "local-cpu"


def register(backend: Backend) -> Backend:
    """Adds `backend` (an instance) under its name, replacing one of the same name."""
    BACKENDS[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    BACKENDS.pop(name, None)


register(LocalCPU())
register(LocalGPU())
register(Server())
register(Cloud())


def get(name: str | None = None) -> Backend:
    """The backend called `name`; None: $PORTALIT_BACKEND, else local-cpu."""
    name = name or os.environ.get("PORTALIT_BACKEND") or DEFAULT
    if name not in BACKENDS:
        raise PortalitError(f"unknown backend {name!r}; choose one of: {', '.join(BACKENDS)}")
    return BACKENDS[name]


def names() -> list[str]:
    return list(BACKENDS)


def taking(option: str) -> list[str]:
    """The backends whose target() accepts `option` (e.g. "api_base")."""
    return [name for name, backend in BACKENDS.items() if option in backend.options]


__all__ = ["BACKENDS", "DEFAULT", "Backend", "Readiness", "Target", "get", "names", "register", "taking",
           "unregister"]
