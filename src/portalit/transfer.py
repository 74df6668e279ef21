"""Does a prompt pattern's effect transfer between models? Measured, with intervals.

For each model and each pattern (portalit.patterns) the baseline and the treated prompt run on the
same cases at temperature 0. The effect is the difference in pass rate; its 95% interval comes from
a paired bootstrap over cases. A pattern transfers when its effect has the same sign on every model
and no interval includes 0: it helped (or hurt) everywhere, by more than the cases' noise.

Local models are measured offline and cached (the same weights, engine and cases give the same
answers at temperature 0): `make setup` measures once into the environment, which a class shares.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from pathlib import Path

from . import models, patterns, suite
from .errors import PortalitError

DEFAULT_MODELS = ("smollm2-135m", "gemma3-270m")
RESAMPLES = 10_000


def client_for(model: str):
    """A client for a catalogue model (local-cpu, offline) or a litellm id like openai/gpt-4o-mini (cloud)."""
    from .session import Client

    if model in models.CATALOGUE:
        models.get(model, "chat")
        return Client("local-cpu", model=model)
    if "/" in model:
        return Client("cloud", model=model)
    raise PortalitError(f"unknown model {model!r} for eval transfer; choose local ones from: "
                        f"{', '.join(models.names('chat'))}, or a cloud id such as openai/gpt-4o-mini")


def bootstrap(baseline: list, treated: list, resamples: int = RESAMPLES, seed: int = 0) -> dict:
    """The paired effect (treated pass rate - baseline pass rate) and its 95% percentile interval."""
    import numpy as np

    if len(baseline) != len(treated) or not baseline:
        raise PortalitError("bootstrap needs two equally long, non-empty lists of pass/fail")
    diff = np.asarray(treated, dtype=float) - np.asarray(baseline, dtype=float)
    picks = np.random.default_rng(seed).integers(0, len(diff), size=(resamples, len(diff)))
    means = diff[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return {"effect": round(float(diff.mean()), 4), "ci_low": round(float(low), 4), "ci_high": round(float(high), 4),
            "baseline": round(float(np.mean(baseline)), 4), "treated": round(float(np.mean(treated)), 4),
            "n": len(diff)}


def transfers(effects: dict) -> bool:
    """Same sign on every model, and every interval excludes 0 (at least two models)."""
    values = list(effects.values())
    if len(values) < 2:
        return False
    helped = all(e["ci_low"] > 0 for e in values)
    hurt = all(e["ci_high"] < 0 for e in values)
    return helped or hurt


def measure_model(model: str, limit: int | None = None, progress=None) -> dict:
    """{pattern name: bootstrap dict} for one model, plus the texts for anyone who wants to read them."""
    client = client_for(model)
    client.spec.prepare(client.target)
    out = {}
    for pattern in patterns.all_patterns():
        cases = list(pattern.cases[:limit] if limit else pattern.cases)
        base = suite.run_task(_with_cases(pattern.baseline, cases), client)
        treated_cases = list(zip(cases, base.texts)) if pattern.follows_baseline else cases
        treated = suite.run_task(_with_cases(pattern.treated, treated_cases), client)
        out[pattern.name] = bootstrap(base.passed, treated.passed)
        if progress:
            e = out[pattern.name]
            progress(f"{model}: {pattern.name:14} baseline {e['baseline']:.2f} -> {e['treated']:.2f} "
                     f"(effect {e['effect']:+.2f}, 95% CI {e['ci_low']:+.2f} to {e['ci_high']:+.2f}; "
                     f"{base.seconds + treated.seconds:.0f} s)")
    return out


def _with_cases(task: suite.Task, cases: list) -> suite.Task:
    return suite.Task(task.name, cases, task.ask, task.check, task.finish, task.max_tokens)


def measure(model_names=DEFAULT_MODELS, limit: int | None = None, cache: bool = True, progress=None) -> dict:
    """Every pattern on every model: the `portalit eval transfer --json` object.

    Local-only runs are cached by what decides their answers (cases, prompts, weights, engine);
    a cloud model is measured afresh each time (its answers and prices change under you).
    """
    names = _parse(model_names)
    local = all(n in models.CATALOGUE for n in names)
    path = _cache_path(names, limit) if cache and local else None
    if path is not None:
        for folder in _cache_folders():
            found = folder / path
            if found.exists():
                try:
                    result = json.loads(found.read_text())
                    result["cached"] = str(found)
                    return result
                except ValueError:
                    pass  # a half-written file: measure again
    skipped = {}
    for name in [n for n in names if n not in models.CATALOGUE]:
        ready = client_for(name).spec.status(name)
        if not ready:
            skipped[name] = ready.detail  # no key: measure the others, and say why this one is missing
    names = [n for n in names if n not in skipped]
    if not names:
        raise PortalitError("no model to measure: " + "; ".join(skipped.values()))
    start = time.perf_counter()
    effects = {name: measure_model(name, limit, progress) for name in names}
    result = {
        "models": names,
        "patterns": [{"name": p.name, "adds": p.adds, "effects": {m: effects[m][p.name] for m in names},
                      "transfers": transfers({m: effects[m][p.name] for m in names})}
                     for p in patterns.all_patterns()],
        "seconds": round(time.perf_counter() - start, 1),
    }
    if skipped:
        result["skipped"] = skipped
    if path is not None:
        _store(path, result)
    return result


def _parse(model_names) -> list[str]:
    names = [n.strip() for n in (model_names.split(",") if isinstance(model_names, str) else model_names)]
    names = [n for n in names if n]
    if len(names) < 1 or len(set(names)) != len(names):
        raise PortalitError(f"--models {','.join(names)!r}: give one or more different models, comma-separated, "
                            f"e.g. {','.join(DEFAULT_MODELS)}")
    for name in names:
        if name not in models.CATALOGUE and "/" not in name:
            client_for(name)  # raises, naming the choices
    return names


def _cache_path(names: list[str], limit) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        engine = version("llama_cpp_python")
    except PackageNotFoundError:
        engine = "transformers"
    weights = []
    for name in names:
        path = models.get(name, "chat").path()
        weights.append([name, path.name, path.stat().st_size])
    key = json.dumps([patterns.fingerprint(), weights, engine, limit, RESAMPLES])
    return f"transfer-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _cache_folders() -> list[Path]:
    """The environment's (shared by everyone who uses it, written by the set-up) and the user's own."""
    shared = Path(sys.prefix) / "share" / "portalit" / "measured"
    own = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "portalit" / "measured"
    return [shared, own]


def _store(name: str, result: dict) -> None:
    # Into every folder that can take it: the environment's serves the class; the user's own
    # survives a rebuilt environment, so a fresh `make setup` on the same machine skips ~5 minutes.
    for folder in _cache_folders():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            partial = folder / f".{name}.{os.getpid()}"
            partial.write_text(json.dumps(result, indent=1))
            partial.replace(folder / name)  # atomic: a reader never sees half a file
        except OSError:
            continue  # a learner cannot write the class's environment: keep it in their own cache


def render(result: dict) -> str:
    """The table lessons and `portalit eval transfer` print: one row per pattern, effect [95% CI] per model."""
    names = result["models"]
    width = max(len(p["name"]) for p in result["patterns"])
    lines = [f"{'pattern':{width}}  " + "  ".join(f"{m:>26}" for m in names) + "  transfers"]
    for p in result["patterns"]:
        cells = []
        for m in names:
            e = p["effects"][m]
            cells.append(f"{e['effect']:+.2f} [{e['ci_low']:+.2f}, {e['ci_high']:+.2f}]".rjust(26))
        lines.append(f"{p['name']:{width}}  " + "  ".join(cells) + f"  {'yes' if p['transfers'] else 'no'}")
    n = {p["effects"][names[0]]["n"] for p in result["patterns"]}
    lines.append(f"effect = pass rate with the pattern - without it, on {min(n)}-{max(n)} cases each; "
                 "[95% bootstrap interval]")
    return "\n".join(lines)
