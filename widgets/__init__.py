"""PortaLit widgets: interactive views over the shared client, the geometry of meaning and costs.

Each widget is an ipywidgets box: put it as the last expression of a cell to show it, and drive
it from code (lessons, tests) with the methods below. Widgets call the library (`portalit.client()`,
`portalit.geometry`, `portalit.costs`) and hold no maths or model code of their own. A failure
never raises out of a widget and never shows a traceback: the widget shows one line and keeps it
in `.error` (None when all went well). Every control has a label and is reached with Tab.

    from portalit.widgets import AnalogyExplorer
    explorer = AnalogyExplorer("king", "man", "woman")
    explorer                      # shows it; explorer.answer == "queen"

BackendPicker()
    Backends with their status (as `portalit doctor` reports it) and models; choosing one calls
    `portalit.use(...)`, so every later cell uses it. Shows the active model and the last call's
    latency. `select(backend, model=None, **options)`, `refresh()`, `model_choices(backend)`.
    State: `active` (the shared Client), `statuses`, `last_call` (ChatResult or None).

PromptLab(compare=False, *, prompt="", system="", temperature=0.0, max_tokens=128,
          second=("local-cpu", None))
    System and user prompt, temperature, max tokens; the answer of the shared client, and with
    compare=True of a second backend beside it (`second` = (backend, model[, options])), each
    with tokens, latency, tokens/s and a cost estimate (`portalit.costs.call_cost`). `run(prompt=None, system=None)` returns `results`
    (a ChatResult or None per panel); `panel_errors` says why a panel has none.

AnalogyExplorer(positive1="king", negative="man", positive2="woman", *, k=10, method="3cosadd",
                exclude_inputs=True, vectors=None)
    positive1 − negative + positive2 over GloVe (or any `portalit.models.WordVectors`), 3CosAdd
    or 3CosMul, with or without the inputs, top-k table beside the only-b baseline, and a PCA
    plot of the four words. Solves on every change. `run()`, `set_words(a, b, c)`; controls
    `word_a`, `word_b`, `word_c`, `method`, `exclude`, `k`. State: `results` (the dict of
    `portalit.geometry.analogy`), `answer`, `words` (the inputs as the vocabulary spells them),
    `figure` (plotly dict), `callback_ms`.

EmbeddingMap(texts=None, labels=None, model="minilm", *, vectors=None, method="pca", k=5, title=None, seed=0)
    A plotly map of texts (or words with model="glove-50d", or precomputed `vectors=`), PCA or
    UMAP (UMAP runs in the background with a progress line; results are cached), hover text,
    colour by label; click a point (or pick it in "Find a point") to list its nearest neighbours
    in the full space. `project(method, wait=False)`, `wait()`, `select(index_or_text)`.
    State: `vectors`, `coords`, `method`, `note`, `cached`, `projection_s`, `selected`,
    `neighbours` [(index, text, cosine)], `figure` (FigureWidget), `callback_ms`.

AlignmentView(X, Y, labels=None, names=("model A", "model B"), *, k=10, seed=0, rotate=True)
    The same n items in two spaces (row i of X and Y): mutual k-NN alignment against chance
    and a shuffled control, linear CKA, and both PCA maps side by side (left rotated onto right
    by Procrustes). Click an item for its neighbours in both spaces. `set_k(k)`,
    `select(index_or_label)`. State: `scores` {score, chance, shuffled, k, n, cka}, `coords`,
    `selected`, `neighbours` {left, right, shared}, `figure`, `callback_ms`.

CostCalculator(model="openai/gpt-4o-mini", *, mtok_per_month=1000.0, gpu_per_hour=2.0,
               tokens_per_s=3000.0, always_on=True, input_share=0.75)
    Monthly cost of a cloud model (litellm list price) against an owned GPU, the break-even
    volume, and a cost-by-volume chart. `set(**values)`, `run()`. State: `result` {price, cloud,
    owned, break_even (a `portalit.costs.BreakEven`)}, `figure` (plotly dict).

Checklist(**answers)
    "When does owning the infrastructure make sense?" as tick boxes with a live verdict
    (`portalit.checklist.assess`). `set(**answers)`; state: `assessment`.

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
