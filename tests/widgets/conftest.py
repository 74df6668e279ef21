"""Widget tests drive each widget's Python side without a browser, on real models and data."""

import ipywidgets
import pytest

WORDS = ["king", "queen", "man", "woman", "prince", "princess", "boy", "girl", "father", "mother",
         "paris", "france", "rome", "italy", "berlin", "germany", "madrid", "spain", "tokyo", "japan",
         "cat", "dog", "horse", "cow", "sheep", "lion", "tiger", "mouse", "bird", "fish",
         "red", "green", "blue", "yellow", "black", "white", "car", "bus", "train", "plane"]

TOPICS = {
    "pets": ["The cat sleeps on the sofa.", "My dog loves long walks.", "Kittens chase a ball of yarn.",
             "The puppy chewed my shoes.", "Our rabbit eats carrots.", "The vet checked the cat.",
             "Dogs bark at the postman."],
    "finance": ["Stocks fell sharply today.", "The central bank raised rates.", "Bond yields climbed.",
                "Investors fear inflation.", "The market rallied at noon.", "Banks tightened lending.",
                "Shares of tech firms surged."],
    "sport": ["The striker scored twice.", "The match went to penalties.", "She won the marathon.",
              "The team lost the final.", "The coach was sacked.", "Fans filled the stadium.",
              "The keeper saved a penalty."],
}


@pytest.fixture
def shared_client():
    """Restores the process-wide client after a test that switches backends."""
    from portalit import session

    saved = session._shared
    yield
    session._shared = saved


@pytest.fixture
def umap_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTALIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def descendants(widget):
    """Every widget inside `widget`, itself included."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from descendants(child)


LABELLED = (ipywidgets.Text, ipywidgets.Textarea, ipywidgets.Dropdown, ipywidgets.Checkbox,
            ipywidgets.BoundedFloatText, ipywidgets.BoundedIntText, ipywidgets.Combobox)


def assert_controls_labelled(widget):
    """Each input has a visible label bound to it; sliders are avoided (their label is not bound)."""
    controls = [c for c in descendants(widget) if isinstance(c, LABELLED + (ipywidgets.Button,))]
    assert controls
    for control in controls:
        assert control.description.strip(), f"{type(control).__name__} without a label"
        assert getattr(control, "tabbable", None) is not False
    assert not [c for c in descendants(widget) if isinstance(c, (ipywidgets.IntSlider, ipywidgets.FloatSlider))]


def click(figure, trace_index, point_index):
    """What plotly sends when a point is clicked in the browser, fed to the FigureWidget."""
    trace = figure.data[trace_index]
    figure._handler_js2py_pointsCallback({"new": {
        "event_type": "plotly_click",
        "points": {"trace_indexes": [trace_index], "point_indexes": [point_index],
                   "xs": [trace.x[point_index]], "ys": [trace.y[point_index]]},
        "device_state": {"button": 0, "buttons": 1, "ctrl": False, "meta": False, "shift": False, "alt": False},
        "selector": None,
    }})
