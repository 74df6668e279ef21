"""Checklist: "when does owning the infrastructure make sense?" as tick boxes and a live verdict.

The questions and the verdict rules live in `portalit.checklist`; this is only their view.
"""
from __future__ import annotations

from portalit.checklist import QUESTIONS, Assessment, assess


class Checklist:
    """`Checklist()`: the questions as tick boxes and the verdict, recomputed on every tick.

    Display `.view` (or the object itself, as the last expression of a cell). Drive it with
    `set(**answers)`; `assessment` holds the current verdict.
    """

    def __init__(self, **answers):
        import ipywidgets as w

        self.boxes = {q.key: w.Checkbox(value=bool(answers.get(q.key)), description=q.text, indent=False,
                                        layout=w.Layout(width="auto")) for q in QUESTIONS}
        from ._common import KeyboardScope, LiveHTML

        self.verdict = LiveHTML()  # the verdict is announced on every tick
        for box in self.boxes.values():
            box.observe(lambda change: self._update(), names="value")
        self.view = w.VBox([*self.boxes.values(), self.verdict, KeyboardScope()])
        self.view.add_class("portalit-widget")  # the shared focus ring and target sizes
        self.view.add_class("portalit-checklist")
        self._update()

    def set(self, **answers) -> Assessment:
        """Ticks (True) or clears (False) the named questions and returns the new assessment."""
        assess(answers)  # names unknown keys before anything changes
        for key, value in answers.items():
            self.boxes[key].value = bool(value)
        return self.assessment

    def _update(self) -> None:
        import html

        self.assessment = assess({k: b.value for k, b in self.boxes.items()})
        a = self.assessment
        items = "".join(f"<li>for owning: {html.escape(r)}</li>" for r in a.for_owning)
        items += "".join(f"<li>for the cloud: {html.escape(r)}</li>" for r in a.for_cloud)
        self.verdict.value = (f'<div class="portalit-checklist-verdict"><b>{html.escape(a.summary)}</b>'
                              f"<ul>{items}</ul></div>")

    def _ipython_display_(self):
        from IPython.display import display

        display(self.view)
