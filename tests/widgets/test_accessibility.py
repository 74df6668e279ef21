"""The Python side of the widgets' accessibility: every plot has a name and its data as a table,
every widget carries the keyboard scope, results are live regions. The browser tests
(tests/browser/test_accessibility.py) check what these produce with axe-core and the keyboard."""
import numpy as np

from portalit.models import load_glove
from portalit.widgets import AlignmentView, AnalogyExplorer, Checklist, CostCalculator, EmbeddingMap
from portalit.widgets._common import Figure, KeyboardScope, LiveHTML

from .conftest import WORDS, descendants


def figures(widget):
    return [child for child in descendants(widget) if isinstance(child, Figure)]


def test_every_plot_is_named_and_tabulated():
    glove = load_glove()
    X = glove.vectors[[glove.index[w] for w in WORDS[:12]]]
    widgets = [AnalogyExplorer("king", "man", "woman"), CostCalculator("openai/gpt-4o-mini"),
               AlignmentView(X, X[:, ::-1], WORDS[:12], k=3), EmbeddingMap(WORDS[:12], vectors=X)]
    for widget in widgets:
        assert widget.error is None
        found = figures(widget)
        assert found, f"{type(widget).__name__} has no Figure"
        for figure in found:
            assert "portalit-plot" in figure.plot._dom_classes
            assert figure.description.label and figure.description.summary.startswith("Data table")
            assert figure.description.table.count("<tr>") > 2  # a header and data rows
        assert any(isinstance(child, KeyboardScope) for child in descendants(widget))
        assert any(isinstance(child, LiveHTML) for child in descendants(widget))
    explorer, calc, view, emap = widgets
    assert "queen" in figures(explorer)[0].description.table
    assert "king" in figures(view)[1].description.table and "king" in figures(emap)[0].description.table


def test_a_plot_that_is_gone_loses_its_name_and_table():
    explorer = AnalogyExplorer("king", "man", "woman")
    explorer.set_words("kingg", "man", "woman")
    assert explorer.error and explorer.plot.outputs == ()
    description = figures(explorer)[0].description
    assert description.label == description.table == ""
    calc = CostCalculator("no-such/model")
    assert calc.error and figures(calc)[0].description.label == ""


def test_long_maps_list_at_most_a_thousand_points():
    vectors = np.random.default_rng(0).normal(size=(1200, 8))
    emap = EmbeddingMap(vectors=vectors)
    table = figures(emap)[0].description.table
    assert table.count("<tr>") == 1001 and "the first 1000 of 1200" in table


def test_the_checklist_verdict_is_live_and_keyboard_scoped():
    box = Checklist()
    assert isinstance(box.verdict, LiveHTML) and "portalit-widget" in box.view._dom_classes
    assert any(isinstance(child, KeyboardScope) for child in box.view.children)
