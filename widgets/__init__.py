"""PortaLit widgets: interactive views over the shared client, the geometry of meaning and costs.

Each widget is an ipywidgets box: put it as the last expression of a cell to show it, and drive
it from code (lessons, tests) with the methods below. Widgets call the library (`portalit.client()`,
`portalit.geometry`, `portalit.costs`) and hold no maths or model code of their own. A failure
never raises out of a widget and never shows a traceback: the widget shows one line and keeps it
in `.error` (None when all went well). Every control has a label and is reached with Tab.

    from portalit.widgets import AnalogyExplorer
    explorer = AnalogyExplorer("king", "man", "woman")
    explorer                      # shows it; explorer.answer == "queen"

The catalogue is `_WIDGETS` below; each class's docstring says how to build and drive it
(`help(portalit.widgets.AnalogyExplorer)`), and the README's course table says which lesson uses which.

Importing this package is cheap: each widget's module (and plotly) loads on first use, and no
widget imports litellm or umap until a call needs it.
"""
from __future__ import annotations

import importlib

_WIDGETS = {
    "AlignmentView": "alignment_view",
    "AnalogyExplorer": "analogy_explorer",
    "BackendPicker": "backend_picker",
    "Checklist": "checklist",
    "CostCalculator": "cost_calculator",
    "EmbeddingMap": "embedding_map",
    "PromptLab": "prompt_lab",
}

__all__ = sorted(_WIDGETS)


def __getattr__(name: str):
    if name in _WIDGETS:
        value = getattr(importlib.import_module(f".{_WIDGETS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
