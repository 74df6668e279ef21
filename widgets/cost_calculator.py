"""CostCalculator: a cloud model's list price against a machine you own, per month, and the break-even."""
from __future__ import annotations

import importlib.metadata

import ipywidgets as w
import numpy as np

from portalit import backends, costs
from portalit.errors import PortalitError

from ._common import LABEL_STYLE, Figure, LiveHTML, PortalitWidget, escape, guarded, plotly_output, show_figure



def money(value: float) -> str:
    return f"${value:,.2f}" if value >= 1 else f"${value:,.4f}"


class CostCalculator(PortalitWidget):
    """`CostCalculator(model="openai/gpt-4o-mini")`: monthly cost of a cloud model vs an owned GPU.

    Inputs: monthly volume in millions of tokens, the model (its list price from litellm's bundled
    map), GPU dollars per hour, throughput in tokens/s, always-on or pay-per-busy-hour, and the
    share of prompt (input) tokens. Drive it with `set(**values)` (keys: model, mtok_per_month,
    gpu_per_hour, tokens_per_s, always_on, input_share) or the controls. State: `result`
    ({price, cloud, owned, break_even}) with `break_even` a `portalit.costs.BreakEven`; `error`; `figure`.
    """

    def __init__(self, model: str = "openai/gpt-4o-mini", *, mtok_per_month: float = 1000.0,
                 gpu_per_hour: float = 2.0, tokens_per_s: float = 3000.0, always_on: bool = True,
                 input_share: float = 0.75):
        self.result: dict | None = None
        self.figure: dict | None = None
        self._holding = False
        options = []
        priced = [m for b in backends.BACKENDS.values() if not b.owned for m in b.suggested()]
        for name in priced:
            try:
                costs.price(name)
            except PortalitError:
                continue
            options.append(name)
        self.model = w.Combobox(value=str(model), options=options, description="Cloud model",
                                placeholder="a litellm model id", continuous_update=False, style=LABEL_STYLE,
                                layout=w.Layout(width="24em"))
        self.volume = _number(mtok_per_month, 0.001, 1e7, 10, "Monthly tokens (millions)", "20em")
        self.input_share = _number(input_share, 0.0, 1.0, 0.05, "Share of prompt tokens (0–1)", "20em")
        self.gpu_per_hour = _number(gpu_per_hour, 0.01, 1000, 0.1, "GPU $ per hour", "16em")
        self.tokens_per_s = _number(tokens_per_s, 0.1, 1e6, 100, "Throughput (tokens/s)", "18em")
        self.always_on = w.Checkbox(value=bool(always_on), description="GPU on all month (else paid per busy hour)",
                                    indent=False, layout=w.Layout(width="auto"))
        self.price_line = w.HTML()
        self.summary = LiveHTML()  # the new totals are announced as a number is changed
        self.chart = plotly_output()
        self.chart_frame = Figure(self.chart)
        for control in (self.model, self.volume, self.input_share, self.gpu_per_hour, self.tokens_per_s,
                        self.always_on):
            control.observe(self._changed, names="value")
        super().__init__([
            w.HBox([self.model, self.volume, self.input_share], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.gpu_per_hour, self.tokens_per_s, self.always_on],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self._error_line, self.price_line, self.summary, self.chart_frame,
        ])
        self.add_class("portalit-costs")
        self.run()

    def _changed(self, change) -> None:
        if not self._holding:
            self.run()

    def set(self, **values) -> dict | None:
        """Sets any of model, mtok_per_month, gpu_per_hour, tokens_per_s, always_on, input_share; recomputes."""
        controls = {"model": self.model, "mtok_per_month": self.volume, "gpu_per_hour": self.gpu_per_hour,
                    "tokens_per_s": self.tokens_per_s, "always_on": self.always_on, "input_share": self.input_share}
        unknown = sorted(set(values) - set(controls))
        if unknown:
            self._show_error(f"unknown setting {', '.join(unknown)}; valid settings: {', '.join(controls)}")
            return None
        self._holding = True
        try:
            for key, value in values.items():
                controls[key].value = value
        finally:
            self._holding = False
        return self.run()

    @guarded
    def run(self) -> dict | None:
        """Recomputes both monthly costs, the break-even volume and the chart."""
        model = self.model.value.strip()
        volume, share = float(self.volume.value), float(self.input_share.value)
        gpu, speed, always = float(self.gpu_per_hour.value), float(self.tokens_per_s.value), bool(self.always_on.value)
        try:
            price = costs.price(model)
            cloud = costs.monthly_cloud_cost(volume, model, share)
            owned = costs.monthly_owned_cost(volume, gpu, speed, always_on=always)
            point = costs.break_even(model, gpu, speed, always_on=always, input_share=share)
        except PortalitError:
            self.result = None
            self.price_line.value = self.summary.value = ""
            self.chart.outputs = ()
            self.chart_frame.clear()
            raise
        self.result = {"price": price, "cloud": cloud, "owned": owned, "break_even": point}
        version = importlib.metadata.version("litellm")
        self.price_line.value = (
            f"<div>{escape(price.model)}: <b>{money(price.input_per_mtok)}</b> per million prompt tokens, "
            f"<b>{money(price.output_per_mtok)}</b> per million answer tokens "
            f"<small>(list price bundled with litellm {escape(version)}; prices change)</small></div>")
        cheaper = "owning" if owned < cloud else "the cloud"
        if point.break_even_mtok_per_month is None:
            even = f"no break-even: {escape(point.note)}"
        else:
            even = (f'break-even at <b class="portalit-break-even">{point.break_even_mtok_per_month:,.1f}</b> '
                    f"million tokens a month ({escape(point.note)})")
        self.summary.value = (
            '<div class="portalit-cost-summary">'
            f'At {volume:,.1f} million tokens a month: cloud <b class="portalit-cloud-cost">{money(cloud)}</b>, '
            f'owned <b class="portalit-owned-cost">{money(owned)}</b> — {cheaper} is cheaper.<br>'
            f"One GPU at {speed:,.0f} tokens/s makes at most {point.capacity_mtok_per_month:,.0f} million tokens "
            f"a month; {even}.</div>")
        self._render_chart(model, volume, share, gpu, speed, always, point)
        return self.result

    def _render_chart(self, model, volume, share, gpu, speed, always, point) -> None:
        marks = [volume, point.capacity_mtok_per_month]
        if point.break_even_mtok_per_month:
            marks.append(point.break_even_mtok_per_month)
        volumes = np.geomspace(max(min(marks) / 100, 1e-3), max(marks) * 10, 80)
        cloud = [costs.monthly_cloud_cost(v, model, share) for v in volumes]
        owned = [costs.monthly_owned_cost(v, gpu, speed, always_on=always) for v in volumes]
        data = [
            {"type": "scatter", "x": volumes, "y": cloud, "mode": "lines", "name": f"cloud: {model}",
             "line": {"color": "#1f77b4"}},
            {"type": "scatter", "x": volumes, "y": owned, "mode": "lines", "name": "owned GPU",
             "line": {"color": "#d62728", "shape": "hv"}},
            {"type": "scatter", "x": [volume, volume],
             "y": [costs.monthly_cloud_cost(volume, model, share),
                   costs.monthly_owned_cost(volume, gpu, speed, always_on=always)],
             "mode": "markers", "name": "your volume", "marker": {"size": 10, "color": "#111"}},
        ]
        shapes = []
        if point.break_even_mtok_per_month:
            shapes.append({"type": "line", "x0": point.break_even_mtok_per_month,
                           "x1": point.break_even_mtok_per_month, "yref": "paper", "y0": 0, "y1": 1,
                           "line": {"dash": "dash", "color": "#555"}})
        self.figure = {
            "data": data,
            "layout": {"title": {"text": "Monthly cost by volume (log scales)", "font": {"size": 14}},
                       "xaxis": {"type": "log", "title": {"text": "million tokens per month"}},
                       "yaxis": {"type": "log", "title": {"text": "US dollars per month"}},
                       "shapes": shapes, "height": 380, "width": 680, "plot_bgcolor": "white",
                       "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
                       "legend": {"orientation": "h", "y": -0.25}},
        }
        show_figure(self.chart, self.figure)
        even = point.break_even_mtok_per_month
        self.chart_frame.describe(
            f"Line chart, log scales: monthly cost of {model} (cloud) and of an owned GPU from "
            f"{volumes[0]:,.3g} to {volumes[-1]:,.0f} million tokens a month; " + (f"the lines cross at {even:,.1f} million tokens"
                                                              if even else "the lines do not cross"),
            ["million tokens per month", "cloud $ per month", "owned GPU $ per month"],
            [[f"{v:,.3f}", money(c), money(o)] for v, c, o in zip(volumes, cloud, owned)],
            caption="Monthly cost by volume")


def _number(value, low, high, step, label, width):
    return w.BoundedFloatText(value=value, min=low, max=high, step=step, description=label, style=LABEL_STYLE,
                              layout=w.Layout(width=width))
