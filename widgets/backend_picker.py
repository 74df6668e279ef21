"""BackendPicker: which backends are ready, and one switch that moves every later cell to another."""
from __future__ import annotations

import ipywidgets as w

import portalit
from portalit import backends, doctor
from portalit.backends import server
from portalit.errors import PortalitError

from ._common import CELL, LABEL_STYLE, LiveHTML, PortalitWidget, escape, guarded, rate, table_head, text_input


class BackendPicker(PortalitWidget):
    """`BackendPicker()`: lists the backends with their status (from `portalit doctor`) and models.

    Choosing a backend or a model calls `portalit.use(...)`, so every later cell uses it (and a
    `portalit.use` in a cell moves the picker too). Shows the active model and the last call's
    latency. Drive it with `select(backend, model=None, **options)` and `refresh()`.
    State: `active` (the shared Client), `statuses` ({backend: {ready, detail}}), `last_call`
    (the last ChatResult seen, or None), `error`.
    """

    def __init__(self):
        self.statuses: dict[str, dict] = {}
        self.last_call = None
        self._syncing = False
        self.backend = w.Dropdown(options=[(name, name) for name in backends.names()], description="Backend",
                                  style=LABEL_STYLE, layout=w.Layout(width="22em"))
        self.model = w.Combobox(description="Model", placeholder="blank: the backend's default",
                                continuous_update=False, style=LABEL_STYLE, layout=w.Layout(width="26em"))
        self.api_base = text_input("Server URL", server.base_url(), server.DEFAULT_API_BASE, width="24em")
        self.check = w.Button(description="Check again", tooltip="Check every backend's status again",
                              layout=w.Layout(width="9em"))
        # Live: a switch (here or by a cell) and each call's timing are announced.
        self.active_line = LiveHTML()
        self.latency_line = LiveHTML()
        self.status_table = w.HTML()
        self.backend.observe(self._backend_chosen, names="value")
        self.model.observe(self._model_chosen, names="value")
        self.api_base.observe(self._model_chosen, names="value")
        self.check.on_click(lambda _: self.refresh())
        super().__init__([
            w.HBox([self.backend, self.model, self.check], layout=w.Layout(flex_flow="row wrap")),
            self.api_base, self._error_line, self.active_line, self.latency_line, self.status_table,
        ])
        self.add_class("portalit-backend-picker")
        # Held weakly by the session: a picker that is gone stops being told.
        self._unsubscribe = [portalit.subscribe("use", self._client_changed),
                             portalit.subscribe("call", self._called)]
        self.refresh()

    @property
    def active(self):
        return portalit.client()

    @guarded
    def refresh(self) -> dict | None:
        """Checks every backend again (loads no model) and redraws the list."""
        self.statuses = doctor.report()["backends"]
        labels = [(f"{name} — {'ready' if s['ready'] else 'not ready'}", name) for name, s in self.statuses.items()]
        self._sync(lambda: setattr(self.backend, "options", labels))
        self._client_changed(portalit.client())
        return self.statuses

    def model_choices(self, backend: str) -> list[str]:
        """Models to suggest for `backend` (any other id or local path can be typed in)."""
        return backends.get(backend).models(api_base=self.api_base.value.strip() or None)

    @guarded
    def select(self, backend: str, model: str | None = None, **options):
        """`portalit.use(backend, model, **options)` through the picker; returns the new shared client."""
        if "api_base" in backends.get(backend).options and "api_base" not in options and self.api_base.value.strip():
            options["api_base"] = self.api_base.value.strip()
        try:
            return portalit.use(backend, model or None, **options)
        except PortalitError:
            self._client_changed(portalit.client())  # the controls show what is still in use
            raise

    def _backend_chosen(self, change) -> None:
        if not self._syncing:
            self.select(change["new"])

    def _model_chosen(self, change) -> None:
        if not self._syncing:
            self.select(self.backend.value, self.model.value.strip() or None)

    def _sync(self, action) -> None:
        self._syncing = True
        try:
            action()
        finally:
            self._syncing = False

    @guarded
    def _client_changed(self, client) -> None:
        # Also called from inside portalit.use(): guarded, so it can never make use() fail.
        def show():
            self.backend.value = client.backend
            self.model.options = self.model_choices(client.backend)
            self.model.value = client.model
            self.api_base.layout.display = None if "api_base" in client.spec.options else "none"

        self._sync(show)
        status = self.statuses.get(client.backend)
        warning = ""
        if status is not None and not status["ready"]:
            warning = (f'<div class="portalit-warning" style="color:#8a5300">⚠ {escape(client.backend)} is not '
                       f"ready: {escape(status['detail'])}</div>")
        self.active_line.value = (
            f'<div class="portalit-active">Active: <b class="portalit-active-backend">{escape(client.backend)}</b> · '
            f'<span class="portalit-active-model">{escape(client.model)}</span> '
            f"<small>(embeddings: {escape(client.target.embed_model)}; every later cell uses this)</small></div>"
            + warning)
        self._render_table(client.backend)
        self._render_latency()

    def _render_table(self, active: str) -> None:
        rows = []
        for name, spec in backends.BACKENDS.items():
            status = self.statuses.get(name, {"ready": False, "detail": "not checked"})
            mark = "✓ ready" if status["ready"] else "✗ not ready"
            colour = "#1b7f3b" if status["ready"] else "#b00020"
            here = ' style="font-weight:600"' if name == active else ""
            suggested = spec.suggested()
            shown = ", ".join(suggested[:3]) + (", …" if len(suggested) > 3 else "")
            rows.append(
                f'<tr data-backend="{escape(name)}"{here}><td style="{CELL};white-space:nowrap">{escape(name)}</td>'
                f'<td style="{CELL};color:{colour};white-space:nowrap">{mark}</td>'
                f'<td style="{CELL};white-space:nowrap">{escape(shown)}</td>'
                f'<td style="{CELL}">{escape(status["detail"])}</td></tr>')
        self.status_table.value = (
            '<table class="portalit-table portalit-backends" style="border-collapse:collapse">'
            "<caption style='text-align:left'>Backends (as <code>portalit doctor</code> sees them)</caption>"
            + table_head("backend", "status", "models", "detail") + f'<tbody>{"".join(rows)}</tbody></table>')

    def _render_latency(self) -> None:
        last = self.last_call
        if last is None:
            self.latency_line.value = '<div class="portalit-latency">Last call: none yet</div>'
            return
        self.latency_line.value = (
            f'<div class="portalit-latency">Last call: <b>{last.latency_s:.2f} s</b> on {escape(last.backend)} · '
            f"{escape(last.model)} ({last.usage.get('completion_tokens', 0)} tokens, "
            f"{rate(last.tokens_per_s)} tokens/s)</div>")

    def _called(self, result) -> None:
        self.last_call = result
        self._render_latency()

    def close(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        super().close()
