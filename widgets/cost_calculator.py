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
    map), GPU dollars per hour, the GPU's two speeds (decode: answer tokens written per second;
    prefill: prompt tokens read per second, usually many times faster), always-on or
    pay-per-busy-hour, and the share of prompt (input) tokens. The owned side runs at the mixed rate
    `costs.owned_tokens_per_s(decode, prefill, input_share)`: the summary, both costs, the break-even,
    the chart and its table all use it. Drive it with `set(**values)` (keys: model, mtok_per_month,
    gpu_per_hour, decode_tokens_per_s, prefill_tokens_per_s, always_on, input_share; `tokens_per_s`
    is kept as another name for the decode rate) or the controls. State: `result` ({price, cloud,
    owned, break_even, tokens_per_s}) with `break_even` a `portalit.costs.BreakEven` and
    `tokens_per_s` the mixed rate; `error`; `figure`. A prefill equal to the decode rate gives the
    old single-rate numbers (every token at one speed).
    """

    def __init__(self, model: str = "openai/gpt-4o-mini", *, mtok_per_month: float = 1000.0,
                 gpu_per_hour: float = 2.0, decode_tokens_per_s: float | None = None,
                 prefill_tokens_per_s: float = 25000.0, always_on: bool = True, input_share: float = 0.75,
                 tokens_per_s: float | None = None):
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
        try:
            decode, problem = _decode_rate(decode_tokens_per_s, tokens_per_s), None
        except PortalitError as error:
            decode, problem = DEFAULT_DECODE, str(error)
        numbers = {"mtok_per_month": mtok_per_month, "input_share": input_share, "gpu_per_hour": gpu_per_hour,
                   "decode_tokens_per_s": decode, "prefill_tokens_per_s": prefill_tokens_per_s}
        problem = problem or _out_of_range(numbers)
        # A bounded box would clamp a bad number silently: it shows the default and the error says what was wrong.
        numbers = {k: DEFAULTS[k] if _out_of_range({k: v}) else v for k, v in numbers.items()}
        self.model = w.Combobox(value=str(model), options=options, description="Cloud model",
                                placeholder="a litellm model id", continuous_update=False, style=LABEL_STYLE,
                                layout=w.Layout(width="24em"))
        self.volume = _number(numbers["mtok_per_month"], "mtok_per_month", 10, "20em")
        self.input_share = _number(numbers["input_share"], "input_share", 0.05, "20em")
        self.gpu_per_hour = _number(numbers["gpu_per_hour"], "gpu_per_hour", 0.1, "16em")
        self.decode = _number(numbers["decode_tokens_per_s"], "decode_tokens_per_s", 100, "20em")
        self.prefill = _number(numbers["prefill_tokens_per_s"], "prefill_tokens_per_s", 1000, "20em")
        self.always_on = w.Checkbox(value=bool(always_on), description="GPU on all month (else paid per busy hour)",
                                    indent=False, layout=w.Layout(width="auto"))
        self.price_line = w.HTML()
        self.summary = LiveHTML()  # the new totals are announced as a number is changed
        self.chart = plotly_output()
        self.chart_frame = Figure(self.chart)
        for control in (self.model, self.volume, self.input_share, self.gpu_per_hour, self.decode, self.prefill,
                        self.always_on):
            control.observe(self._changed, names="value")
        super().__init__([
            w.HBox([self.model, self.volume, self.input_share], layout=w.Layout(flex_flow="row wrap")),
            w.HBox([self.gpu_per_hour, self.decode, self.prefill, self.always_on],
                   layout=w.Layout(flex_flow="row wrap", align_items="center")),
            self._error_line, self.price_line, self.summary, self.chart_frame,
        ])
        self.add_class("portalit-costs")
        if problem:
            self._show_error(problem)
        else:
            self.run()

    def _changed(self, change) -> None:
        if not self._holding:
            self.run()

    def set(self, **values) -> dict | None:
        """Sets any of model, mtok_per_month, gpu_per_hour, decode_tokens_per_s (or its old name
        tokens_per_s), prefill_tokens_per_s, always_on, input_share; recomputes."""
        controls = {"model": self.model, "mtok_per_month": self.volume, "gpu_per_hour": self.gpu_per_hour,
                    "decode_tokens_per_s": self.decode, "prefill_tokens_per_s": self.prefill,
                    "always_on": self.always_on, "input_share": self.input_share}
        unknown = sorted(set(values) - set(controls) - {"tokens_per_s"})
        if unknown:
            self._show_error(f"unknown setting {', '.join(unknown)}; valid settings: {', '.join(controls)}")
            return None
        if "tokens_per_s" in values:  # the old name of the decode rate
            try:
                old_name = values.pop("tokens_per_s")
                values["decode_tokens_per_s"] = _decode_rate(values.get("decode_tokens_per_s"), old_name)
            except PortalitError as error:
                self._show_error(str(error))
                return None
        problem = _out_of_range({k: v for k, v in values.items() if k in LIMITS})
        if problem:
            self._show_error(problem)
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
        """Recomputes both monthly costs, the break-even volume and the chart, at the mixed rate."""
        model = self.model.value.strip()
        volume, share = float(self.volume.value), float(self.input_share.value)
        gpu, always = float(self.gpu_per_hour.value), bool(self.always_on.value)
        decode, prefill = float(self.decode.value), float(self.prefill.value)
        try:
            price = costs.price(model)
            cloud = costs.monthly_cloud_cost(volume, model, share)
            owned = costs.monthly_owned_cost(volume, gpu, decode, always_on=always,
                                             prefill_tokens_per_s=prefill, input_share=share)
            point = costs.break_even(model, gpu, decode, always_on=always, input_share=share,
                                     prefill_tokens_per_s=prefill)
        except PortalitError:
            self.result = None
            self.price_line.value = self.summary.value = ""
            self.chart.outputs = ()
            self.chart_frame.clear()
            raise
        speed = point.owned_tokens_per_s  # the machine's rate on this mix of prompt and answer tokens
        self.result = {"price": price, "cloud": cloud, "owned": owned, "break_even": point, "tokens_per_s": speed}
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
        # Allowed, since it is the learner's assumption, but a GPU reads prompts faster than it writes answers.
        odd = (" Prefill is set slower than decode, which is unusual: check the two speeds are not swapped."
               if prefill < decode else "")
        self.summary.value = (
            '<div class="portalit-cost-summary">'
            f'At {volume:,.1f} million tokens a month: cloud <b class="portalit-cloud-cost">{money(cloud)}</b>, '
            f'owned <b class="portalit-owned-cost">{money(owned)}</b> — {cheaper} is cheaper.<br>'
            f'At {share:.0%} prompt tokens one GPU gets through <b class="portalit-mixed-rate">{speed:,.0f}</b> '
            f"tokens/s (reading prompts at {prefill:,.0f}, writing answers at {decode:,.0f}), so at most "
            f"{point.capacity_mtok_per_month:,.0f} million tokens a month; {even}.{escape(odd)}</div>")
        self._render_chart(model, volume, share, gpu, decode, prefill, always, point)
        return self.result

    def _render_chart(self, model, volume, share, gpu, decode, prefill, always, point) -> None:
        marks = [volume, point.capacity_mtok_per_month]
        if point.break_even_mtok_per_month:
            marks.append(point.break_even_mtok_per_month)
        volumes = np.geomspace(max(min(marks) / 100, 1e-3), max(marks) * 10, 80)
        cloud = [costs.monthly_cloud_cost(v, model, share) for v in volumes]
        def owned_cost(v):
            return costs.monthly_owned_cost(v, gpu, decode, always_on=always, prefill_tokens_per_s=prefill,
                                            input_share=share)

        owned = [owned_cost(v) for v in volumes]
        data = [
            {"type": "scatter", "x": volumes, "y": cloud, "mode": "lines", "name": f"cloud: {model}",
             "line": {"color": "#1f77b4"}},
            {"type": "scatter", "x": volumes, "y": owned, "mode": "lines", "name": "owned GPU",
             "line": {"color": "#d62728", "shape": "hv"}},
            {"type": "scatter", "x": [volume, volume],
             "y": [costs.monthly_cloud_cost(volume, model, share),
                   owned_cost(volume)],
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
        cross = f"the lines cross at {even:,.1f} million tokens" if even else "the lines do not cross"
        self.chart_frame.describe(
            f"Line chart, log scales: monthly cost of {model} (cloud) and of an owned GPU at "
            f"{point.owned_tokens_per_s:,.0f} tokens/s on this mix, from "
            f"{volumes[0]:,.3g} to {volumes[-1]:,.0f} million tokens a month; {cross}",
            ["million tokens per month", "cloud $ per month", "owned GPU $ per month"],
            [[f"{v:,.3f}", money(c), money(o)] for v, c, o in zip(volumes, cloud, owned)],
            caption="Monthly cost by volume")


DEFAULT_DECODE = 3000.0
DEFAULTS = {"mtok_per_month": 1000.0, "gpu_per_hour": 2.0, "input_share": 0.75, "decode_tokens_per_s": DEFAULT_DECODE,
            "prefill_tokens_per_s": 25000.0}
# Each number's control: its bounds and its label. Rates and prices must be positive (the bounded box
# would otherwise clamp a 0 silently); the share of prompt tokens may be 0 or 1.
LIMITS = {
    "mtok_per_month": (0.001, 1e7, "Monthly tokens (millions)"),
    "input_share": (0.0, 1.0, "Share of prompt tokens (0–1)"),
    "gpu_per_hour": (0.01, 1000, "GPU $ per hour"),
    "decode_tokens_per_s": (0.1, 1e6, "Decode (answer tokens/s)"),
    "prefill_tokens_per_s": (0.1, 1e7, "Prefill (prompt tokens/s)"),
}


def _number(value, key, step, width):
    low, high, label = LIMITS[key]
    return w.BoundedFloatText(value=value, min=low, max=high, step=step, description=label, style=LABEL_STYLE,
                              layout=w.Layout(width=width))


def _out_of_range(values: dict) -> str | None:
    """The first number outside its control's bounds, said with the input's name and the valid range."""
    for key, value in values.items():
        low, high, label = LIMITS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            return f"{label}: {value!r} is not allowed; {key} must be a number from {_plain(low)} to {_plain(high)}"
    return None


def _decode_rate(new, old):
    """The decode rate from decode_tokens_per_s (`new`) or its old name tokens_per_s (`old`)."""
    if new is not None and old is not None and new != old:
        raise PortalitError(f"tokens_per_s {old!r} and decode_tokens_per_s {new!r} disagree; tokens_per_s is the "
                            "old name of the decode rate: give only decode_tokens_per_s")
    if new is None and old is None:
        return DEFAULT_DECODE
    return new if new is not None else old


def _plain(x: float) -> str:
    return f"{x:,.0f}" if x >= 1 else f"{x:g}"
