"""AnalogyExplorer: a − b + c over the whole GloVe vocabulary, with the only-b baseline beside it."""
from __future__ import annotations

import time

import ipywidgets as w

from portalit import geometry
from portalit.errors import PortalitError
from portalit.models import load_glove

from ._common import (CELL, LABEL_STYLE, Figure, LiveHTML, PortalitWidget, elapsed_ms, escape, guarded, plotly_output,
                      show_figure, table_head, text_input)

METHOD_OPTIONS = [("3CosAdd", "3cosadd"), ("3CosMul", "3cosmul")]


class AnalogyExplorer(PortalitWidget):
    """`AnalogyExplorer("king", "man", "woman")`: king − man + woman, solved at once and on every change.

    Drive it with `run()`, `set_words(a, b, c)`, or the controls (`word_a`, `word_b`, `word_c`,
    `method`, `exclude`, `k`). State: `results` (the dict from `portalit.geometry.analogy`, None
    after an error), `answer` (the top word), `words` (the inputs as the vocabulary spells them),
    `error`, `figure` (the 2-D plot, a plotly dict), `callback_ms`.
    `vectors` takes a `portalit.models.WordVectors`; None means GloVe 6B 50d.
    """

    def __init__(self, positive1: str = "king", negative: str = "man", positive2: str = "woman", *,
                 k: int = 10, method: str = "3cosadd", exclude_inputs: bool = True, vectors=None):
        self.vectors = vectors
        self.results: dict | None = None
        self.answer: str | None = None
        self.figure = None
        self.words: tuple = ()
        self.callback_ms: float | None = None
        self._holding = False
        self.word_a = text_input("Start word", positive1, "e.g. king", width="15em")
        self.word_b = text_input("Subtract", negative, "e.g. man", width="13em")
        self.word_c = text_input("Add", positive2, "e.g. woman", width="11em")
        self.method = w.Dropdown(options=METHOD_OPTIONS, value=str(method).lower() if str(method).lower() in
                                 ("3cosadd", "3cosmul") else "3cosadd", description="Method", style=LABEL_STYLE,
                                 layout=w.Layout(width="13em"))
        self.exclude = w.Checkbox(value=bool(exclude_inputs), description="Exclude the three input words",
                                  indent=False, layout=w.Layout(width="auto"))
        self.k = w.BoundedIntText(value=min(max(int(k), 1), 50), min=1, max=50, description="Top k",
                                  style=LABEL_STYLE, layout=w.Layout(width="8em"))
        self.solve = w.Button(description="Solve", button_style="primary", tooltip="Solve the analogy",
                              layout=w.Layout(width="6em"))
        self.headline = LiveHTML()  # the answer is announced when a change solves again
        self.table = w.HTML()
        self.plot = plotly_output()
        self.plot_frame = Figure(self.plot)
        for control in (self.word_a, self.word_b, self.word_c, self.method, self.exclude, self.k):
            control.observe(self._changed, names="value")
        self.solve.on_click(lambda _: self.run())
        super().__init__([
            w.HBox([self.word_a, self.word_b, self.word_c, self.solve], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.method, self.k, self.exclude], layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self._error_line, self.headline,
            w.HBox([self.table, self.plot_frame], layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
        ])
        self.add_class("portalit-analogy")
        self.run()
        # Later clicks search through the int8 copy; build it while the learner reads.
        geometry.warm_search(self.vectors, wait=False)

    def _changed(self, change) -> None:
        if not self._holding:
            self.run()

    def set_words(self, positive1: str, negative: str, positive2: str) -> dict | None:
        """Sets the three words and solves once."""
        self._holding = True
        try:
            self.word_a.value, self.word_b.value, self.word_c.value = positive1, negative, positive2
        finally:
            self._holding = False
        return self.run()

    @guarded
    def run(self) -> dict | None:
        """Solves the analogy with the current controls; returns `results` (None on error)."""
        start = time.perf_counter()
        words = (self.word_a.value, self.word_b.value, self.word_c.value)
        try:
            result = geometry.analogy(*words, k=int(self.k.value), method=self.method.value,
                                      exclude_inputs=bool(self.exclude.value), vectors=self.vectors)
        except PortalitError:
            self.results, self.answer = None, None
            self.headline.value = self.table.value = ""
            self.plot.outputs = ()
            self.plot_frame.clear()
            raise
        wv = self.vectors if self.vectors is not None else load_glove()
        self.words = tuple(wv.words[geometry.word_index(word, wv)] for word in words)  # as the vocabulary spells them
        self.results = result
        self.answer = result["results"][0]["word"] if result["results"] else None
        self._render_table(result)
        self._render_plot(result)
        self.callback_ms = elapsed_ms(start)
        return result

    def _render_table(self, result: dict) -> None:
        a, b, c = self.words
        top, base = result["results"], result["only_b"]
        excluded = "inputs excluded" if result["exclude_inputs"] else "inputs allowed"
        name = dict((v, k) for k, v in METHOD_OPTIONS)[result["method"]]
        same = bool(top and base and top[0]["word"] == base[0]["word"])
        note = (f"<br><small>The top answer is also the word nearest to “{escape(c)}” alone: "
                "here the analogy adds nothing to the baseline.</small>" if same else "")
        score = f" ({top[0]['score']:.3f})" if top else ""
        self.headline.value = (f'<div class="portalit-headline">{escape(a)} − {escape(b)} + {escape(c)} ≈ '
                               f'<b class="portalit-top-answer">{escape(self.answer or "—")}</b>{score} '
                               f"<small>({name}, {excluded})</small>{note}</div>")
        rows = []
        for rank in range(max(len(top), len(base))):
            t = top[rank] if rank < len(top) else None
            o = base[rank] if rank < len(base) else None
            cells = [str(rank + 1), escape(t["word"]) if t else "", f"{t['score']:.3f}" if t else "",
                     escape(o["word"]) if o else "", f"{o['score']:.3f}" if o else ""]
            classes = ["", "portalit-answer", "portalit-score", "portalit-only-b", ""]
            rows.append("<tr>" + "".join(f'<td class="{k}" style="{CELL}">{v}</td>'
                                         for k, v in zip(classes, cells)) + "</tr>")
        self.table.value = (
            '<table class="portalit-table" style="border-collapse:collapse;margin-right:1.5em">'
            f"<caption style='text-align:left'>Top {len(top)}: the analogy, and the only-b baseline "
            f"(nearest to “{escape(c)}” alone)</caption>"
            + table_head("#", "answer", "score", f"only “{c}”", "score") +
            f"<tbody>{''.join(rows)}</tbody></table>")

    def _render_plot(self, result: dict) -> None:
        if not self.answer:
            self.plot.outputs = ()
            self.plot_frame.clear()
            return
        wv = self.vectors if self.vectors is not None else load_glove()
        a, b, c = self.words
        words = [a, b, c, self.answer]
        rows = [geometry.word_index(word, wv) for word in words]
        coords = geometry.project(wv.unit[rows], "pca").coords
        roles = ["start", "subtract", "add", "answer"]
        colours = ["#1f77b4", "#7f7f7f", "#2ca02c", "#d62728"]
        # The analogy claims that b → c and a → answer are the same offset: draw both arrows.
        arrows = [{"x": coords[j, 0], "y": coords[j, 1], "ax": coords[i, 0], "ay": coords[i, 1],
                   "xref": "x", "yref": "y", "axref": "x", "ayref": "y", "showarrow": True, "arrowhead": 3,
                   "arrowwidth": 1.5, "arrowcolor": colour, "text": ""}
                  for (i, j), colour in (((1, 2), "#2ca02c"), ((0, 3), "#d62728"))]
        self.figure = {
            "data": [{"type": "scatter", "x": coords[:, 0], "y": coords[:, 1], "mode": "markers+text",
                      "text": words, "textposition": "top center", "customdata": roles,
                      "marker": {"size": 12, "color": colours}, "showlegend": False,
                      "hovertemplate": "%{text} (%{customdata})<extra></extra>"}],
            "layout": {"title": {"text": f"{b} → {c} and {a} → {self.answer}: the four words by PCA",
                                 "font": {"size": 13}},
                       "width": 430, "height": 360, "margin": {"l": 40, "r": 20, "t": 40, "b": 40},
                       "xaxis": {"showticklabels": False, "title": {"text": "PC 1"}, "zeroline": False},
                       "yaxis": {"showticklabels": False, "title": {"text": "PC 2"}, "zeroline": False},
                       "annotations": arrows, "plot_bgcolor": "white"},
        }
        show_figure(self.plot, self.figure)
        self.plot_frame.describe(
            f"Scatter plot: {b} → {c} and {a} → {self.answer}, the four words projected by PCA; "
            "the arrows show the two offsets the analogy claims are equal",
            ["word", "role", "PC 1", "PC 2"],
            [[word, role, f"{x:.3f}", f"{y:.3f}"] for word, role, (x, y) in zip(words, roles, coords[:, :2])],
            caption=f"The four words by PCA ({a}, {b}, {c}, {self.answer})")
