"""What every widget shares: the one-line error display, the busy indicator, labelled controls,
live result regions, plotly figures (shown without a FigureWidget, named, with their data as a
table), and a background job runner. Widgets follow the client
through `portalit.subscribe` (the one mechanism), not through anything here.

Widgets stay thin: they call portalit (client, geometry, costs) and only arrange controls and output.
"""
from __future__ import annotations

import functools
import html
import json
import logging
import threading
import time
from pathlib import Path

import anywidget
import ipywidgets as w
import traitlets

from portalit.errors import PortalitError

HERE = Path(__file__).parent
log = logging.getLogger("portalit.widgets")
# ipywidgets cuts descriptions at a fixed width by default; "initial" shows the whole label.
LABEL_STYLE = {"description_width": "initial"}


def one_line(error: BaseException) -> str:
    """A readable single line for any exception: PortalitError as is, anything else with its type."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if isinstance(error, PortalitError):
        return text or "error"
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def rate(tokens_per_s: float) -> str:
    return f"{tokens_per_s:.1f}" if tokens_per_s < 10 else f"{tokens_per_s:.0f}"


def escape(text) -> str:
    return html.escape(str(text), quote=True)


# Every PortaLit widget holds a KeyboardScope; it and the other anywidgets below carry the shared
# styles (focus ring, target sizes), so they load with the first widget on a page.
CSS = HERE / "widgets.css"


class Busy(anywidget.AnyWidget):
    """A spinner with a message and elapsed seconds counted in the browser (no kernel traffic).

    A live region (role="status"): what `start` and `stop` say is announced by screen readers.
    """

    _esm = HERE / "busy.js"
    _css = CSS
    busy = traitlets.Bool(False).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)

    def start(self, message: str) -> None:
        self.message = message
        self.busy = True

    def stop(self, message: str = "") -> None:
        self.busy = False
        self.message = message


class KeyboardScope(anywidget.AnyWidget):
    """Invisible: keeps JupyterLab's notebook shortcuts (arrows, letters) off the widget's controls.

    Every PortaLit widget holds one; it also brings the shared styles (focus ring, target sizes).
    """

    _esm = HERE / "keys.js"
    _css = CSS


class LiveHTML(anywidget.AnyWidget):
    """An HTML region like `ipywidgets.HTML` whose changes screen readers announce (aria-live).

    For results and verdicts that change when a control does; `live="off"` for large regions.
    """

    _esm = HERE / "live.js"
    _css = CSS
    value = traitlets.Unicode("").tag(sync=True)
    live = traitlets.Unicode("polite").tag(sync=True)


class PlotDescription(anywidget.AnyWidget):
    """The accessible side of a plot: its name (`label`) and its data (`table`, HTML) under `summary`."""

    _esm = HERE / "figure.js"
    _css = CSS
    label = traitlets.Unicode("").tag(sync=True)
    summary = traitlets.Unicode("").tag(sync=True)
    table = traitlets.Unicode("").tag(sync=True)


class Figure(w.VBox):
    """A plot (an Output or a FigureWidget) with an accessible name and its data as a collapsed table.

    Screen readers read plotly's SVG as scattered labels; the plot is announced as a figure named by
    `describe`'s label (what is plotted, in a sentence), and the table beneath carries the numbers.
    """

    def __init__(self, plot: w.DOMWidget, **kwargs):
        plot.add_class("portalit-plot")
        self.plot = plot
        self.description = PlotDescription()
        super().__init__([plot, self.description], **kwargs)
        self.add_class("portalit-figure")

    def describe(self, label: str, columns: list[str], rows: list[list], caption: str | None = None) -> None:
        """Names the plot `label` and shows `rows` (already formatted cells) under `columns`."""
        self.description.label = label
        self.description.summary = f"Data table: {caption or label}"
        self.description.table = data_table(columns, rows, caption or label)

    def clear(self) -> None:
        self.description.label = self.description.summary = self.description.table = ""


def data_table(columns: list[str], rows: list[list], caption: str) -> str:
    """An HTML table of plotted data; every cell is escaped here."""
    body = "".join("<tr>" + "".join(f'<td style="{CELL}">{escape(cell)}</td>' for cell in row) + "</tr>"
                   for row in rows)
    return (f'<table class="portalit-table"><caption style="text-align:left">{escape(caption)}</caption>'
            f"{table_head(*columns)}<tbody>{body}</tbody></table>")


class PortalitWidget(w.VBox):
    """Base of the PortaLit widgets: `error` holds the last error line (None when all went well).

    Subclasses build their controls first (placing `self._error_line` where it reads best), then
    call `super().__init__(children)`.
    """

    error: str | None = None

    def __init__(self, children=(), **kwargs):
        super().__init__([*children, KeyboardScope()], **kwargs)
        self.add_class("portalit-widget")

    @property
    def _error_line(self) -> w.HTML:
        line = self.__dict__.get("_error_line_widget")
        if line is None:
            line = w.HTML(layout=w.Layout(display="none"))
            line.add_class("portalit-error-line")
            self.__dict__["_error_line_widget"] = line
        return line

    def _show_error(self, message: str | None) -> None:
        self.error = message
        if message:
            self._error_line.value = (f'<div role="alert" class="portalit-error" '
                                      f'style="color:#b00020;font-weight:600">⚠ {escape(message)}</div>')
            self._error_line.layout.display = None
        else:
            self._error_line.value = ""
            self._error_line.layout.display = "none"


def guarded(method):
    """Runs a widget method so that any failure becomes the widget's one-line error, never a traceback.

    The method's error is cleared when it starts; on failure it returns None.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        self._show_error(None)
        try:
            return method(self, *args, **kwargs)
        except PortalitError as error:
            self._show_error(one_line(error))
        except Exception as error:  # an engine or a bug: the kernel must stay up and say what failed
            log.debug("%s.%s failed", type(self).__name__, method.__name__, exc_info=True)
            self._show_error(one_line(error))
        return None

    return wrapper


CELL = "padding:0 0.6em;text-align:left"


def table_head(*columns: str) -> str:
    """A table's header row; column names are escaped here."""
    cells = "".join(f'<th scope="col" style="{CELL}">{escape(c)}</th>' for c in columns)
    return f"<thead><tr>{cells}</tr></thead>"


def text_input(description: str, value: str = "", placeholder: str = "", width: str = "14em", **kwargs) -> w.Text:
    """A labelled text box that reports its value on Enter or when it loses focus."""
    return w.Text(value=value, description=description, placeholder=placeholder, continuous_update=False,
                  style=LABEL_STYLE, layout=w.Layout(width=width), **kwargs)


def plotly_output(figure=None) -> w.Output:
    """An output area that shows plotly figures through JupyterLab's plotly renderer.

    A FigureWidget carries its own 5 MB copy of plotly.js and validates every property in Python
    (tens of ms per update); plots that need no Python callbacks are sent as plain plotly JSON.
    """
    out = w.Output()
    if figure is not None:
        show_figure(out, figure)
    return out


def show_figure(out: w.Output, figure: dict) -> None:
    """Shows a plotly figure given as a plain dict {"data": [...], "layout": {...}}."""
    # Setting `outputs` directly works with or without a running IPython (tests drive widgets bare).
    spec = json.loads(json.dumps(figure, default=_jsonable))
    # plotly's logo is a link with no accessible name (an axe violation) and leads out of the course.
    spec.setdefault("config", {"displaylogo": False})
    title = ((figure.get("layout") or {}).get("title") or {}).get("text") or "plot"
    out.outputs = ({"output_type": "display_data", "metadata": {},
                    "data": {"application/vnd.plotly.v1+json": spec, "text/plain": f"<plotly figure: {title}>"}},)


def _jsonable(value):
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to a plot")


class Background:
    """Runs one job at a time in a thread; a newer job makes older results stale (`current` is False)."""

    def __init__(self):
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, job) -> threading.Thread:
        with self._lock:
            self._generation += 1
            generation = self._generation
        thread = threading.Thread(target=job, args=(lambda: generation == self._generation,), daemon=True,
                                  name="portalit-widget-job")
        self._thread = thread
        thread.start()
        return thread

    def cancel(self) -> None:
        with self._lock:
            self._generation += 1

    def wait(self, timeout: float | None = None) -> bool:
        """True when no job is running (after waiting up to `timeout` seconds)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True


def elapsed_ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 1)
