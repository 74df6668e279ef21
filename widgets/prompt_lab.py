"""PromptLab: one prompt, on the shared client or on two backends side by side."""
from __future__ import annotations

import time

import ipywidgets as w

import portalit
from portalit import backends, costs

from ._common import LABEL_STYLE, Busy, PortalitWidget, escape, one_line, rate, text_input

STREAM_REFRESH_S = 0.15  # redraw streamed text at most this often: fewer messages, same feel


def cost_text(result) -> str:
    cost = costs.call_cost(result.backend, result.model, result.usage)
    if cost is None:
        return f"no list price for {result.model} in litellm's map"
    if backends.get(result.backend).owned:
        return "cost $0 (a machine you own: its cost is the hardware and power)"
    return f"cost ≈ ${cost:.6f} (litellm list price)"


class PromptLab(PortalitWidget):
    """`PromptLab(compare=False)`: system and user prompt, temperature, max tokens, Run.

    The first panel uses the shared client (`portalit.client()`, as set by `portalit.use` or the
    BackendPicker); with `compare=True` a second panel runs the same prompt on another backend
    (`second=("server", None, {"api_base": url})` chooses it: backend, model, options). Each
    answer shows tokens, latency, tokens/s and a cost estimate from litellm's price map.
    Drive it with `run(prompt=None, system=None)`.
    State: `results` (a ChatResult or None per panel), `panel_errors`, `error` (a summary line).
    """

    def __init__(self, compare: bool = False, *, prompt: str = "", system: str = "",
                 temperature: float = 0.0, max_tokens: int = 128, second: tuple = (backends.DEFAULT, None)):
        self.results: list = []
        self.panel_errors: list = []
        self._runs = 0
        self.system = w.Textarea(value=system, description="System prompt",
                                 placeholder="optional: who the model is, rules", rows=2, style=LABEL_STYLE,
                                 layout=w.Layout(width="100%"))
        self.prompt = w.Textarea(value=prompt, description="User prompt", placeholder="your question or instruction",
                                 rows=3, style=LABEL_STYLE, layout=w.Layout(width="100%"))
        self.temperature = w.BoundedFloatText(value=temperature, min=0.0, max=2.0, step=0.1,
                                              description="Temperature (0–2)", style=LABEL_STYLE,
                                              layout=w.Layout(width="13em"))
        self.max_tokens = w.BoundedIntText(value=max_tokens, min=1, max=8192, step=16, description="Max tokens",
                                           style=LABEL_STYLE, layout=w.Layout(width="11em"))
        self.compare = w.Checkbox(value=bool(compare), description="Compare with a second backend", indent=False,
                                  layout=w.Layout(width="auto"))
        backend_b, model_b, options_b = (tuple(second) + (None, None, None))[:3]
        self.second_options = dict(options_b or {})  # e.g. {"api_base": ...} for a server
        self.second_backend = w.Dropdown(options=backends.names(), value=backend_b if backend_b in backends.names()
                                         else backends.DEFAULT, description="Second backend", style=LABEL_STYLE,
                                         layout=w.Layout(width="16em"))
        self.second_model = text_input("Second model", model_b or "", "blank: its default", width="22em")
        self.run_button = w.Button(description="Run", button_style="primary", tooltip="Send the prompt",
                                   layout=w.Layout(width="6em"))
        self.busy = Busy()
        self.panels = [w.HTML(layout=w.Layout(flex="1 1 0", min_width="18em", margin="0 1em 0 0")),
                       w.HTML(layout=w.Layout(flex="1 1 0", min_width="18em"))]
        self._second_row = w.HBox([self.second_backend, self.second_model], layout=w.Layout(flex_flow="row wrap"))
        self.compare.observe(lambda change: self._layout(), names="value")
        self.run_button.on_click(lambda _: self.run())
        super().__init__([
            self.system, self.prompt,
            w.HBox([self.temperature, self.max_tokens, self.compare, self.run_button],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self._second_row, self.busy, self._error_line,
            w.HBox(self.panels, layout=w.Layout(flex_flow="row wrap", align_items="flex-start")),
        ])
        self.add_class("portalit-prompt-lab")
        self._layout()

    def _layout(self) -> None:
        self._second_row.layout.display = None if self.compare.value else "none"
        self.panels[1].layout.display = None if self.compare.value else "none"

    def _clients(self) -> list[tuple[str, object]]:
        chosen = [("shared client", portalit.client)]
        if self.compare.value:
            chosen.append(("second", lambda: portalit.Client(self.second_backend.value,
                                                              self.second_model.value.strip() or None,
                                                              **self.second_options)))
        return chosen

    def run(self, prompt: str | None = None, system: str | None = None) -> list:
        """Sends the prompt to each panel's backend in turn; returns `results`."""
        if prompt is not None:
            self.prompt.value = prompt
        if system is not None:
            self.system.value = system
        self._show_error(None)
        if not self.prompt.value.strip():
            self._show_error("the prompt is empty: type a question or instruction in 'User prompt'")
            return []
        chosen = self._clients()
        self.results, self.panel_errors = [None] * len(chosen), [None] * len(chosen)
        for panel in self.panels:
            panel.value = ""
        self.run_button.disabled = True
        try:
            for i, (role, make) in enumerate(chosen):
                self._run_panel(i, role, make)
        finally:
            self.run_button.disabled = False
            # The busy line is a live region: say that the answers are in (the panels stream, so
            # they are not live themselves; an error in a panel is an alert of its own).
            done = [f"{role}: {r.usage.get('completion_tokens', 0)} tokens in {r.latency_s:.1f} s"
                    for (role, _), r in zip(chosen, self.results) if r is not None]
            self.busy.stop(f"Answered ({'; '.join(done)})" if done else "")
            self._runs += 1
        failed = [f"{role}: {err}" for (role, _), err in zip(chosen, self.panel_errors) if err]
        self.error = "; ".join(failed) or None
        return self.results

    def _run_panel(self, i: int, role: str, make) -> None:
        panel = self.panels[i]
        where = role
        try:
            client = make()
            where = f"{client.backend} · {client.model}"
            first = " (the first call also loads litellm and the model: a few seconds)" if self._runs == 0 else ""
            self.busy.start(f"Asking {where}{first}")
            pieces, shown = [], time.perf_counter()
            for piece in client.stream(self.prompt.value, system=self.system.value.strip() or None,
                                       temperature=float(self.temperature.value),
                                       max_tokens=int(self.max_tokens.value)):
                pieces.append(piece)
                if time.perf_counter() - shown > STREAM_REFRESH_S:
                    panel.value = self._panel_html(role, where, "".join(pieces), None)
                    shown = time.perf_counter()
            result = client.last
        except Exception as error:  # PortalitError or an engine failure: one line in this panel
            self.panel_errors[i] = one_line(error)
            panel.value = (f'<div class="portalit-panel"><div><b>{escape(role)}</b>: {escape(where)}</div>'
                           f'<div role="alert" class="portalit-error" style="color:#b00020">⚠ '
                           f"{escape(self.panel_errors[i])}</div></div>")
            return
        self.results[i] = result
        panel.value = self._panel_html(role, where, result.text, result)

    def _panel_html(self, role: str, where: str, text: str, result) -> str:
        meta = ""
        if result is not None:
            u = result.usage
            first = f" · first token {result.first_token_s:.2f} s" if result.first_token_s is not None else ""
            stopped = " · stopped at max tokens" if result.finish_reason == "length" else ""
            meta = (f'<div class="portalit-meta" style="color:#555;font-size:90%">'
                    f"{u.get('prompt_tokens', 0)} prompt + {u.get('completion_tokens', 0)} answer tokens · "
                    f'<span class="portalit-latency">{result.latency_s:.2f} s</span> · '
                    f"{rate(result.tokens_per_s)} tokens/s{first}{stopped} · {escape(cost_text(result))}</div>")
        return (f'<div class="portalit-panel"><div><b>{escape(role)}</b>: {escape(where)}</div>'
                f'<div class="portalit-answer" style="white-space:pre-wrap;border-left:3px solid #1976d2;'
                f'padding:0.3em 0.6em;margin:0.3em 0">{escape(text)}</div>{meta}</div>')
