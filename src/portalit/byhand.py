"""Does a learner's code reach a reference function it was asked to write by hand?

Read from the submitted source (never by running it), so nothing in the learner's process can hide
a call: the grader parses every code cell the learner could write and follows the ways Python
reaches a function of a module: the module under any alias (`import portalit.geometry as g`,
`from portalit import geometry`), a name imported from it or from one of its submodules (with or
without `as`, or `*`), and dotted chains through the package. Lookups the parser cannot follow
(the module handed to `getattr` or to a variable, `eval`, `exec`, `__import__`, `importlib`,
`sys.modules`) count as reaching it too, so a learner cannot disguise the call, and an honest
by-hand answer never needs them.
"""
from __future__ import annotations

import ast

# Calls that look names up by a string the parser cannot see (getattr on the module is caught as
# handing the module on).
DYNAMIC = {"eval", "exec", "compile", "__import__", "globals", "locals"}


def aliases(sources, module: str) -> dict[str, str]:
    """Names bound to `module`, its package or its submodules by the imports in `sources`:
    {name: dotted module}. `portalit` itself is always known, as notebooks import it."""
    found = {module.split(".")[0]: module.split(".")[0]}
    for source in sources:
        for node in _walk(source):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if _related(a.name, module):
                        found[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if _related(full, module):
                        found[a.asname or a.name] = full
    return found


def reaches(source: str, module: str, names, known: dict[str, str]) -> list[str]:
    """How `source` reaches `module`.NAME for NAME in `names` (empty if it does not)."""
    names, found = set(names), []
    known = {**known, **aliases([source], module)}
    nodes = list(_walk(source))
    bases = {id(n.value) for n in nodes if isinstance(n, ast.Attribute)}
    called = {id(n.func) for n in nodes if isinstance(n, ast.Call)}
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if _related(node.module, module):
                found += [f"imports {a.name} from {node.module}" for a in node.names if a.name in names or a.name == "*"]
            elif node.module.split(".")[0] in ("importlib", "builtins"):
                found.append(f"imports from {node.module}")
        elif isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] in ("importlib", "builtins")]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in DYNAMIC:
            found.append(f"calls {node.func.id}()")
        elif isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in bases:
            dotted = _dotted(node, known)
            if not dotted:
                continue
            if dotted == "sys.modules":
                found.append("uses sys.modules")
            elif _related(dotted, module) and dotted.rsplit(".", 1)[-1] in names:
                found.append(f"uses {dotted}")
            elif _related(dotted, module) and id(node) not in called and _is_module(dotted):
                # The module itself handed on (`g = geometry`, `getattr(geometry, ...)`, a default
                # argument): what is done with it afterwards cannot be read, so it counts.
                found.append(f"passes the module {dotted} around")
    return sorted(set(found))


def _walk(source: str):
    try:
        return ast.walk(ast.parse(source))
    except SyntaxError:
        return iter(())


def _related(dotted: str, module: str) -> bool:
    """`dotted` is the module, inside it, or a package above it."""
    return dotted == module or dotted.startswith(module + ".") or module.startswith(dotted + ".")


def _dotted(node, known: dict[str, str]) -> str | None:
    """The dotted name an attribute chain or name stands for, if it starts at a known import."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    root = known.get(node.id, "sys" if node.id == "sys" else None)
    return ".".join([root, *reversed(parts)]) if root else None


def _is_module(dotted: str) -> bool:
    import importlib
    import inspect

    target, _, attr = dotted.rpartition(".")
    try:
        if not target:
            return importlib.util.find_spec(dotted) is not None
        return inspect.ismodule(getattr(importlib.import_module(target), attr, None)) or \
            importlib.util.find_spec(dotted) is not None
    except (ImportError, ValueError):
        return False
