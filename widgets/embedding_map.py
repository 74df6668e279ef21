"""EmbeddingMap: texts (or words) as points on a 2-D map; click a point to list its neighbours."""
from __future__ import annotations

import time
from collections import OrderedDict

import ipywidgets as w
import numpy as np

import portalit
from portalit import backends, geometry, models
from portalit.errors import PortalitError

from ._common import (LABEL_STYLE, Background, Busy, Figure, LiveHTML, PortalitWidget, elapsed_ms, escape, guarded,
                      one_line)

PROJECTIONS = [("PCA", "pca"), ("UMAP", "umap")]
HIGHLIGHT = "#111111"
_EMBEDDINGS: OrderedDict = OrderedDict()  # (backend, model, texts) -> vectors: re-running a cell re-embeds nothing
_EMBEDDINGS_LIMIT = 8
TABLE_ROWS = 1000  # the data table under the map lists at most this many points (a page stays light)


def embed_texts(texts: list[str], model: str | None):
    """Vectors for `texts`: embedded catalogue models run locally whatever backend chats; else the shared client."""
    shared = portalit.client()
    if model and model in models.names("embed") and not shared.spec.in_process:
        embedder = portalit.Client(backends.DEFAULT)
    else:
        embedder = shared
    key = (embedder.backend, model or embedder.target.embed_model, tuple(texts))
    if key in _EMBEDDINGS:
        _EMBEDDINGS.move_to_end(key)
        return _EMBEDDINGS[key]
    vectors = embedder.embed(texts, model)
    _EMBEDDINGS[key] = vectors
    while len(_EMBEDDINGS) > _EMBEDDINGS_LIMIT:
        _EMBEDDINGS.popitem(last=False)
    return vectors


def hover_text(text: str, width: int = 60, limit: int = 240) -> str:
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + len(word) > width:
            lines.append(line)
            line = ""
        line = f"{line} {word}".strip()
    lines.append(line)
    return "<br>".join(escape(part) for part in lines)


def point_options(texts: list[str], limit: int = 80) -> list[str]:
    """Combobox entries, one per point: "index: text" (the index makes duplicates distinct)."""
    return [f"{i}: {t if len(t) <= limit else t[: limit - 1] + '…'}" for i, t in enumerate(texts)]


class EmbeddingMap(PortalitWidget):
    """`EmbeddingMap(texts, labels=None, model="minilm")`: a PCA/UMAP map of the texts' embeddings.

    Pass `vectors=` (an (n, d) array) to map precomputed embeddings; `texts` then only label the
    points (default "item i"). Words work too: `EmbeddingMap(words, model="glove-50d")`.
    Drive it with `project("pca" | "umap", wait=True)`, `select(index_or_text)`, `wait()`.
    State: `vectors`, `coords` (n, 2), `method` (the projection shown), `note`, `cached`,
    `projection_s`, `selected` (index or None), `neighbours` [(index, text, cosine)], `error`,
    `figure` (a plotly FigureWidget), `callback_ms` (the last select's time).
    """

    def __init__(self, texts=None, labels=None, model: str | None = "minilm", *, vectors=None,
                 method: str = "pca", k: int = 5, title: str | None = None, seed: int = 0):
        import plotly.graph_objects as go

        self.texts: list[str] = []
        self.labels: list[str] | None = None
        self.embed_model = model
        self.vectors = None
        self.coords = None
        self.method: str | None = None
        self.note = ""
        self.cached = False
        self.projection_s: float | None = None
        self.selected: int | None = None
        self.neighbours: list[tuple[int, str, float]] = []
        self.callback_ms: float | None = None
        self.seed = int(seed)
        self._title = title
        self._jobs = Background()
        self._syncing = False
        self._drawn: list = []  # (label, size) of the traces on the figure
        self._hovers: list[str] = []
        self._projections: dict = {}  # method -> Projection of these vectors: switching back is free

        self.projection = w.Dropdown(options=PROJECTIONS, value="umap" if str(method).lower() == "umap" else "pca",
                                     description="Projection", style=LABEL_STYLE, layout=w.Layout(width="13em"))
        self.colour = w.Checkbox(value=True, description="Colour by label", indent=False,
                                 layout=w.Layout(width="auto"))
        self.k = w.BoundedIntText(value=min(max(int(k), 1), 50), min=1, max=50, description="Neighbours to list",
                                  style=LABEL_STYLE, layout=w.Layout(width="13em", margin="2px 0 2px 1em"))
        self.finder = w.Combobox(description="Find a point", placeholder="type to search, Enter to select",
                                 ensure_option=True, continuous_update=False, style=LABEL_STYLE,
                                 layout=w.Layout(width="28em"))
        self.busy = Busy()
        self.neighbour_list = LiveHTML()  # a selection's neighbours are announced
        self.figure = go.FigureWidget()
        self.figure._config = {"displaylogo": False}  # plotly's logo: a link with no name, out of the course
        self.figure_frame = Figure(self.figure)
        self.figure.layout.update(height=520, hovermode="closest", margin={"l": 40, "r": 20, "t": 50, "b": 40},
                                  plot_bgcolor="white", legend={"title": {"text": "label"}},
                                  xaxis={"showticklabels": False, "zeroline": False},
                                  yaxis={"showticklabels": False, "zeroline": False})
        self.projection.observe(lambda change: self._syncing or self.project(change["new"]), names="value")
        self.colour.observe(lambda change: self._draw(), names="value")
        self.k.observe(lambda change: self.selected is not None and self.select(self.selected), names="value")
        self.finder.observe(self._found, names="value")
        super().__init__([
            w.HBox([self.projection, self.colour, self.k], layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self.finder, self.busy, self._error_line,
            w.HBox([self.figure_frame, self.neighbour_list], layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
        ])
        self.add_class("portalit-embedding-map")
        self._load(texts, labels, vectors)
        if self.vectors is not None:
            self.project(self.projection.value)

    @guarded
    def _load(self, texts, labels, vectors) -> None:
        if vectors is not None:
            vectors = np.asarray(vectors)
            if vectors.ndim != 2 or len(vectors) == 0:
                raise PortalitError(f"vectors must be a non-empty (n, d) array, got shape {vectors.shape}")
            texts = [f"item {i}" for i in range(len(vectors))] if texts is None else texts
        if texts is None or isinstance(texts, str):
            raise PortalitError("EmbeddingMap needs a list of texts (or vectors=...); got "
                                + ("a single string: wrap it in a list" if isinstance(texts, str) else "none"))
        texts = list(texts)
        if not texts:
            raise PortalitError("EmbeddingMap got an empty list: give at least one text to map")
        if any(not isinstance(t, str) for t in texts):
            raise PortalitError("EmbeddingMap: every text must be a string")
        if vectors is not None and len(texts) != len(vectors):
            raise PortalitError(f"{len(texts)} texts but {len(vectors)} vectors; give one text per row")
        if labels is not None:
            labels = [str(label) for label in labels]
            if len(labels) != len(texts):
                raise PortalitError(f"{len(labels)} labels for {len(texts)} texts; give one label per text")
        self.texts, self.labels = texts, labels
        # Hover texts are made once: redraws and clicks reuse them.
        self._hovers = [hover_text(t) + (f"<br><i>{escape(labels[i])}</i>" if labels else "")
                        for i, t in enumerate(texts)]
        self.colour.layout.display = None if labels else "none"
        self.finder.options = point_options(texts)
        self.vectors = vectors if vectors is not None else embed_texts(texts, self.embed_model)

    def project(self, method: str = "pca", wait: bool = False) -> None:
        """Shows the map by `method`; UMAP runs in the background (`wait=True` blocks until it is drawn)."""
        method = str(method).lower()
        if self.projection.value != method and method in ("pca", "umap"):
            self._syncing = True
            try:
                self.projection.value = method
            finally:
                self._syncing = False
        if method == "umap":
            self._project_umap()
            if wait:
                self.wait()
        else:
            self._jobs.cancel()
            self.busy.stop()
            self._project_now(method)

    @guarded
    def _project_now(self, method: str) -> None:
        start = time.perf_counter()
        result = self._projections.get(method)
        if result is None:
            result = geometry.project(self._checked_vectors(), method, seed=self.seed)
            self._projections[method] = result
        self._apply(result, time.perf_counter() - start)

    @guarded
    def _project_umap(self) -> None:
        vectors = self._checked_vectors()
        self.busy.start("UMAP is running (the first time for these points takes seconds; then it is cached)")

        def job(current):
            start = time.perf_counter()
            try:
                result = geometry.project(vectors, "umap", seed=self.seed)
            except Exception as error:  # shown as one line; the thread must not die with a traceback
                if current():
                    self.busy.stop()
                    self._show_error(one_line(error))
                return
            if current():
                self._apply(result, time.perf_counter() - start)

        self._jobs.submit(job)

    def wait(self, timeout: float | None = 120) -> bool:
        """Blocks until a background projection has finished; True if none is running."""
        return self._jobs.wait(timeout)

    def _checked_vectors(self):
        if self.vectors is None:
            raise PortalitError(self.error or "nothing to map: the texts could not be embedded")
        return self.vectors

    def _apply(self, result, seconds: float) -> None:
        self.coords = np.asarray(result.coords)[:, :2]
        self.method, self.note, self.cached = result.method, result.note, bool(result.cached)
        self.projection_s = round(seconds, 3)
        self._draw()
        how = "from the cache" if self.cached else f"in {seconds:.1f} s"
        message = f"{self.method.upper()} of {len(self.texts)} points {how}"
        self.busy.stop(f"{message}. {self.note}" if self.note else message)

    def _draw(self) -> None:
        """Redraws the map: a new projection only moves the points; colouring rebuilds the traces."""
        if self.coords is None:
            return
        groups = self._groups()
        shape = [(label, len(index)) for label, index in groups]
        name = self.embed_model or "embedding"
        noun = "words" if name == "glove-50d" else "texts"
        title = self._title or f"{len(self.texts)} {noun} ({name}), {self.method.upper()}"
        with self.figure.batch_update():
            if shape != self._drawn:
                self.figure.data = []
                for label, index in groups:
                    self.figure.add_scatter(
                        x=self.coords[index, 0], y=self.coords[index, 1], mode="markers", name=label,
                        customdata=index, hovertext=[self._hovers[i] for i in index], hoverinfo="text",
                        marker={"size": 7 if len(self.texts) < 500 else 5, "opacity": 0.85},
                        showlegend=label is not None)
                for label, symbol in (("neighbours", "circle-open"), ("selected", "star")):
                    self.figure.add_scatter(x=[], y=[], mode="markers", name=label, customdata=[], hoverinfo="text",
                                            showlegend=False, marker={"size": 14 if label == "selected" else 12,
                                                                      "symbol": symbol, "color": HIGHLIGHT,
                                                                      "line": {"width": 2, "color": HIGHLIGHT}})
            else:
                for trace, (_, index) in zip(self.figure.data, groups):
                    trace.x, trace.y = self.coords[index, 0], self.coords[index, 1]
            self.figure.layout.title = {"text": escape(title), "font": {"size": 14}}
            self.figure.layout.xaxis.title = f"{self.method.upper()} 1"
            self.figure.layout.yaxis.title = f"{self.method.upper()} 2"
        self._describe(title)
        if shape != self._drawn:
            for trace in self.figure.data:
                trace.on_click(self._clicked)
            self._drawn = shape
        self._highlight()

    def _describe(self, title: str) -> None:
        """Names the map and lists its points as a table (keyboard users select in 'Find a point')."""
        method = self.method.upper()
        shown = min(len(self.texts), TABLE_ROWS)
        rows = [[str(i), self.texts[i], *([self.labels[i]] if self.labels else []),
                 f"{self.coords[i, 0]:.3f}", f"{self.coords[i, 1]:.3f}"] for i in range(shown)]
        more = f" (the first {shown} of {len(self.texts)})" if shown < len(self.texts) else ""
        self.figure_frame.describe(
            f"Scatter plot: {title}; points that lie close had similar embeddings. "
            "Select a point with 'Find a point' to list its neighbours.",
            ["#", "text", *(["label"] if self.labels else []), f"{method} 1", f"{method} 2"], rows,
            caption=f"{title}{more}")

    def _groups(self):
        if self.labels and self.colour.value:
            order = list(dict.fromkeys(self.labels))
            where = {label: [] for label in order}
            for i, label in enumerate(self.labels):
                where[label].append(i)
            return [(label, np.asarray(where[label])) for label in order]
        return [(None, np.arange(len(self.texts)))]


    def _clicked(self, trace, points, state) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def _found(self, change) -> None:
        value = change["new"]
        if value and not self._syncing:
            self.select(int(value.split(":", 1)[0]))

    @guarded
    def select(self, item) -> list[tuple[int, str, float]] | None:
        """Selects a point (index or exact text) and lists its nearest neighbours in the embedding space."""
        start = time.perf_counter()
        vectors = self._checked_vectors()
        i = self._index_of(item)
        scores = geometry.cosine(vectors[i], vectors)
        near = geometry.top_indices(scores, int(self.k.value), skip={i})
        self.selected = i
        self.neighbours = [(j, self.texts[j], float(scores[j])) for j in near]
        self._render_neighbours()
        self._highlight()
        self.callback_ms = elapsed_ms(start)
        return self.neighbours

    def _index_of(self, item) -> int:
        if isinstance(item, str):
            if item in self.texts:
                return self.texts.index(item)
            raise PortalitError(f"no point has the text {item[:60]!r}; pick one on the map or in 'Find a point'")
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < len(self.texts):
            return int(item)
        raise PortalitError(f"point {item!r} does not exist; give an index from 0 to {len(self.texts) - 1} or a text")

    def _render_neighbours(self) -> None:
        i = self.selected
        dim = self.vectors.shape[1]
        items = "".join(
            f'<li class="portalit-neighbour" data-index="{j}">{escape(text)} '
            f'<small>({score:.3f}{", " + escape(self.labels[j]) if self.labels else ""})</small></li>'
            for j, text, score in self.neighbours)
        self.neighbour_list.value = (
            '<div class="portalit-neighbours" style="max-width:28em">'
            f'<div><b>Selected:</b> <span class="portalit-selected">{escape(self.texts[i])}</span></div>'
            f"<div><b>Nearest {len(self.neighbours)}</b> by cosine in the {dim}-dimensional space "
            "(ringed on the map):</div>"
            f'<ol class="portalit-neighbour-list">{items}</ol>'
            "<small>Close on a 2-D map is not always close in the space: compare.</small></div>")

    def _highlight(self) -> None:
        if self.coords is None or len(self.figure.data) < 2:
            return
        ring, star = self.figure.data[-2], self.figure.data[-1]
        near = [j for j, _, _ in self.neighbours] if self.selected is not None else []
        chosen = [self.selected] if self.selected is not None else []
        with self.figure.batch_update():
            for trace, index in ((ring, near), (star, chosen)):
                trace.x = self.coords[index, 0] if index else []
                trace.y = self.coords[index, 1] if index else []
                trace.customdata = index
                trace.hovertext = [self._hovers[j] for j in index]

    def close(self) -> None:
        self._jobs.cancel()
        super().close()
