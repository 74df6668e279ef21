"""AlignmentView: the same items embedded by two models — how alike are the two spaces?"""
from __future__ import annotations

import time

import ipywidgets as w
import numpy as np

from portalit import geometry
from portalit.errors import PortalitError

from ._common import (LABEL_STYLE, Figure, LiveHTML, PortalitWidget, elapsed_ms, escape, guarded, plotly_output,
                      show_figure)

HIGHLIGHT = "#111111"


class AlignmentView(PortalitWidget):
    """`AlignmentView(X, Y, labels, names=("GloVe", "MiniLM"))`: row i of X and of Y is item i.

    Shows mutual k-NN alignment against chance and a shuffled control, linear CKA, and the two
    PCA maps side by side (the left one rotated onto the right by Procrustes, so that positions
    compare). Click an item (or pick it in "Item") to see its neighbours in both spaces.
    Drive it with `set_k(k)`, `select(index_or_label)`, `rotate.value`. State: `scores`
    ({score, chance, shuffled, k, n, cka}), `coords` (left, right), `selected`, `neighbours`
    ({"left": [...], "right": [...], "shared": [...]}), `error`, `figure`, `callback_ms`.
    """

    def __init__(self, X, Y, labels=None, names=("model A", "model B"), *, k: int = 10, seed: int = 0,
                 rotate: bool = True):
        from plotly.subplots import make_subplots

        self.X = self.Y = None
        self.labels: list[str] = []
        self.names = ("model A", "model B")
        self.scores: dict | None = None
        self.coords = None
        self.selected: int | None = None
        self.neighbours: dict = {"left": [], "right": [], "shared": []}
        self.callback_ms: float | None = None
        self.seed = int(seed)
        self._pca = None
        self._syncing = False

        self.k = w.BoundedIntText(value=max(1, int(k)), min=1, max=max(1, int(k)), description="Neighbours k",
                                  style=LABEL_STYLE, layout=w.Layout(width="10em"))
        self.rotate = w.Checkbox(value=bool(rotate), description="Rotate the left map onto the right (Procrustes)",
                                 indent=False, layout=w.Layout(width="auto"))
        self.finder = w.Combobox(description="Item", placeholder="type to search, Enter to select",
                                 ensure_option=True, continuous_update=False, style=LABEL_STYLE,
                                 layout=w.Layout(width="22em"))
        self.summary = LiveHTML()  # new scores are announced when k changes
        self.bars = plotly_output()
        self.bars_frame = Figure(self.bars)
        self.neighbour_list = LiveHTML()
        self.figure = make_subplots(rows=1, cols=2, subplot_titles=("left", "right"), horizontal_spacing=0.06,
                                    figure=_figure_widget())
        self.figure.layout.update(height=460, hovermode="closest", showlegend=False, plot_bgcolor="white",
                                  margin={"l": 30, "r": 20, "t": 50, "b": 30})
        self.figure.update_xaxes(showticklabels=False, zeroline=False)
        self.figure.update_yaxes(showticklabels=False, zeroline=False)
        self.figure._config = {"displaylogo": False}  # plotly's logo: a link with no name, out of the course
        self.figure_frame = Figure(self.figure)
        self.k.observe(lambda change: self._syncing or self.set_k(change["new"]), names="value")
        self.rotate.observe(lambda change: self._draw_maps(), names="value")
        self.finder.observe(self._found, names="value")
        super().__init__([
            w.HBox([self.k, self.rotate, self.finder], layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self._error_line,
            w.HBox([self.summary, self.bars_frame], layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self.figure_frame, self.neighbour_list,
        ])
        self.add_class("portalit-alignment")
        if self._load(X, Y, labels, names):
            self.set_k(self.k.value)  # k clamped to items - 1 by the box
            if self.error is None:
                self._draw_maps()

    @guarded
    def _load(self, X, Y, labels, names) -> bool:
        names = tuple(str(n) for n in names) if names is not None else ()
        if len(names) != 2:
            raise PortalitError(f"names must be two names, one per space, got {names!r}")
        self.names = names
        n_x, n_y = _rows(X, "X"), _rows(Y, "Y")
        if n_x != n_y:
            raise PortalitError(f"X has {n_x} items but Y has {n_y}; row i of each must be the same item")
        labels = [str(i) for i in range(n_x)] if labels is None else [str(label) for label in labels]
        if len(labels) != n_x:
            raise PortalitError(f"{len(labels)} labels for {n_x} items; give one label per item")
        X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64)
        self.X, self.Y, self.labels = X, Y, labels
        # The projections depend on the data only: once per view, not per click or per k.
        self._pca = (geometry.project(X, "pca").coords, geometry.project(Y, "pca").coords)
        self.finder.options = [f"{i}: {label}" for i, label in enumerate(labels)]
        self._syncing = True
        try:
            self.k.max = max(1, n_x - 1)
            self.k.value = min(self.k.value, self.k.max)
        finally:
            self._syncing = False
        return True

    @guarded
    def set_k(self, k: int) -> dict | None:
        """Recomputes the alignment scores with k neighbours."""
        if self.X is None:
            raise PortalitError(self.error or "no data to compare")
        start = time.perf_counter()
        scores = geometry.mutual_knn_alignment(self.X, self.Y, k=int(k), seed=self.seed)
        scores["cka"] = geometry.linear_cka(self.X, self.Y)
        self.scores = scores
        if self.k.value != scores["k"]:
            self._syncing = True
            try:
                self.k.value = scores["k"]
            finally:
                self._syncing = False
        self._render_scores()
        if self.selected is not None:
            self._select(self.selected)
        self.callback_ms = elapsed_ms(start)
        return scores

    def _render_scores(self) -> None:
        s = self.scores
        a, b = (escape(n) for n in self.names)
        times = f"{s['score'] / s['chance']:.1f}× chance" if s["chance"] > 0 else ""
        self.summary.value = (
            '<div class="portalit-alignment-summary" style="max-width:26em">'
            f"<div>Mutual {s['k']}-NN alignment of <b>{a}</b> and <b>{b}</b> over {s['n']} items: "
            f'<b class="portalit-score">{s["score"]:.3f}</b> ({times})</div>'
            f"<div>chance {s['chance']:.3f} · shuffled control {s['shuffled']:.3f}</div>"
            f"<div>linear CKA {s['cka']:.3f} (1 = the same up to rotation and scale)</div>"
            "<small>Score = the share of each item's k nearest neighbours that both spaces agree on.</small></div>")
        values = [s["score"], s["chance"], s["shuffled"]]
        show_figure(self.bars, {
            "data": [{"type": "bar", "x": ["alignment", "chance", "shuffled"], "y": values,
                      "text": [f"{v:.3f}" for v in values], "textposition": "outside",
                      "marker": {"color": ["#1f77b4", "#7f7f7f", "#bcbd22"]}, "hoverinfo": "x+y"}],
            "layout": {"title": {"text": f"mutual {s['k']}-NN alignment", "font": {"size": 13}},
                       "width": 360, "height": 260, "margin": {"l": 40, "r": 10, "t": 40, "b": 30},
                       "yaxis": {"range": [0, max(1.0, max(values) * 1.15)]}, "plot_bgcolor": "white"},
        })
        self.bars_frame.describe(
            f"Bar chart: mutual {s['k']}-NN alignment {s['score']:.3f}, chance {s['chance']:.3f}, "
            f"shuffled control {s['shuffled']:.3f}",
            ["measure", "value"], [[name, f"{v:.3f}"] for name, v in zip(("alignment", "chance", "shuffled"), values)],
            caption=f"Mutual {s['k']}-NN alignment against chance and the shuffled control")

    @guarded
    def _draw_maps(self) -> None:
        if self._pca is None:
            return
        left, right = self._pca
        if self.rotate.value:
            fit = geometry.procrustes(left, right)
            left, right = fit["aligned"], fit["target"]
        self.coords = (np.asarray(left)[:, :2], np.asarray(right)[:, :2])
        n = len(self.labels)
        mode = "markers+text" if n <= 60 else "markers"
        rotated = " (rotated to match)" if self.rotate.value else ""
        with self.figure.batch_update():
            self.figure.data = []
            for col, (coords, name) in enumerate(zip(self.coords, self.names), start=1):
                self.figure.add_scatter(
                    x=coords[:, 0], y=coords[:, 1], mode=mode, text=self.labels, textposition="top center",
                    textfont={"size": 10}, customdata=np.arange(n), hovertext=self.labels, hoverinfo="text",
                    marker={"size": 8, "color": np.arange(n), "colorscale": "Viridis", "opacity": 0.85},
                    name=name, row=1, col=col)
            for col in (1, 2):
                for label, symbol in (("neighbours", "circle-open"), ("selected", "star")):
                    self.figure.add_scatter(x=[], y=[], mode="markers", name=label, customdata=[],
                                            hoverinfo="text", row=1, col=col,
                                            marker={"size": 14 if label == "selected" else 13, "symbol": symbol,
                                                    "color": HIGHLIGHT, "line": {"width": 2, "color": HIGHLIGHT}})
            self.figure.layout.annotations[0].text = escape(self.names[0]) + rotated
            self.figure.layout.annotations[1].text = escape(self.names[1])
            self.figure.layout.title = {"text": "The same items, two maps (PCA): same colour = same item",
                                        "font": {"size": 14}}
        for trace in self.figure.data:
            trace.on_click(self._clicked)
        self.figure_frame.describe(
            f"Two scatter plots side by side: the same {n} items mapped by PCA in {self.names[0]}{rotated} "
            f"(left) and in {self.names[1]} (right); the same colour is the same item. "
            "Select an item with 'Item' to list its neighbours in both.",
            ["#", "item", f"{self.names[0]} x", f"{self.names[0]} y", f"{self.names[1]} x", f"{self.names[1]} y"],
            [[str(i), label, *(f"{v:.3f}" for v in (*self.coords[0][i], *self.coords[1][i]))]
             for i, label in enumerate(self.labels)],
            caption=f"The two maps' coordinates (PCA){rotated}")
        self._highlight()

    def _clicked(self, trace, points, state) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def _found(self, change) -> None:
        if change["new"]:
            self.select(int(change["new"].split(":", 1)[0]))

    @guarded
    def select(self, item) -> dict | None:
        """Selects an item (index or label): its k nearest neighbours in each space, shared ones marked."""
        if self.X is None:
            raise PortalitError(self.error or "no data to compare")
        start = time.perf_counter()
        if isinstance(item, str):
            if item not in self.labels:
                raise PortalitError(f"no item is labelled {item!r}; pick one on the maps or in 'Item'")
            item = self.labels.index(item)
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or not 0 <= item < len(self.labels):
            raise PortalitError(f"item {item!r} does not exist; give an index from 0 to {len(self.labels) - 1} "
                                "or a label")
        result = self._select(int(item))
        self.callback_ms = elapsed_ms(start)
        return result

    def _select(self, i: int) -> dict:
        k = int(self.k.value)
        found = {}
        for side, space in (("left", self.X), ("right", self.Y)):
            scores = geometry.cosine(space[i], space)
            found[side] = [(j, self.labels[j], float(scores[j])) for j in geometry.top_indices(scores, k, skip={i})]
        left = {j for j, _, _ in found["left"]}
        found["shared"] = [(j, label, score) for j, label, score in found["right"] if j in left]
        self.selected, self.neighbours = i, found
        self._render_neighbours()
        self._highlight()
        return found

    def _render_neighbours(self) -> None:
        shared = {j for j, _, _ in self.neighbours["shared"]}

        def column(side, name):
            items = "".join(
                f'<li class="portalit-neighbour{" portalit-shared" if j in shared else ""}">'
                f'{"<b>" if j in shared else ""}{escape(label)}{"</b>" if j in shared else ""} '
                f"<small>({score:.3f})</small></li>" for j, label, score in self.neighbours[side])
            return (f'<div style="margin-right:2em"><b>Nearest in {escape(name)}</b>'
                    f'<ol class="portalit-neighbours-{side}">{items}</ol></div>')

        k = len(self.neighbours["left"])
        self.neighbour_list.value = (
            f'<div><b>Selected:</b> <span class="portalit-selected">{escape(self.labels[self.selected])}</span> '
            f"— {len(shared)} of {k} neighbours shared (bold)</div>"
            f'<div style="display:flex;flex-wrap:wrap">{column("left", self.names[0])}'
            f'{column("right", self.names[1])}</div>')

    def _highlight(self) -> None:
        if self.coords is None or len(self.figure.data) < 6:
            return
        near = [j for j, _, _ in self.neighbours["left"]] if self.selected is not None else []
        near_right = [j for j, _, _ in self.neighbours["right"]] if self.selected is not None else []
        chosen = [self.selected] if self.selected is not None else []
        rings = ((self.figure.data[2], self.coords[0], near), (self.figure.data[3], self.coords[0], chosen),
                 (self.figure.data[4], self.coords[1], near_right), (self.figure.data[5], self.coords[1], chosen))
        with self.figure.batch_update():
            for trace, coords, index in rings:
                trace.x = coords[index, 0] if index else []
                trace.y = coords[index, 1] if index else []
                trace.customdata = index
                trace.hovertext = [self.labels[j] for j in index]


def _figure_widget():
    import plotly.graph_objects as go

    return go.FigureWidget()


def _rows(X, name) -> int:
    try:
        shape = np.shape(X)
    except ValueError:  # ragged lists
        raise PortalitError(f"{name} must be a numeric (n, d) array with rows of equal length") from None
    if len(shape) != 2 or shape[0] == 0:
        raise PortalitError(f"{name} must be a non-empty (n, d) array, got shape {shape}")
    return int(shape[0])
