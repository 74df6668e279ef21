"""Every widget, in each of its states, has no WCAG 2.2 A/AA violation that axe-core finds, and works
from the keyboard alone: Tab reaches every control (with a visible focus ring), Enter, Space and the
arrow keys operate them.

One notebook holds every widget, so the whole file costs one kernel start; the tests run in file
order against that page. States: initial, result (after a keyboard action), error (bad input),
busy (while a call runs: only PromptLab and EmbeddingMap's UMAP work in the background; the other
widgets answer within the same kernel message and never show a busy state).
"""
import re

import pytest

from .a11y import Audit, controls, select_all_and_type, tab_through, violations
from .conftest import open_and_run_all, shot

pytestmark = pytest.mark.browser

CELLS = [
    "import portalit\nfrom portalit.widgets import BackendPicker, PromptLab\npicker = BackendPicker()\npicker",
    "prompt_lab = PromptLab(max_tokens=12)\nprompt_lab",
    "from portalit.widgets import AnalogyExplorer\nAnalogyExplorer('king', 'man', 'woman')",
    "from portalit.widgets import EmbeddingMap\n"
    "texts = ['The cat sleeps on the sofa.', 'My dog loves long walks.', 'The puppy chewed my shoes.',\n"
    "         'Our rabbit eats carrots.', 'The vet checked the cat.',\n"
    "         'Stocks fell sharply today.', 'The central bank raised rates.', 'Bond yields climbed.',\n"
    "         'Investors fear inflation.', 'Banks tightened lending.',\n"
    "         'The striker scored twice.', 'She won the marathon.', 'The team lost the final.',\n"
    "         'Fans filled the stadium.', 'The keeper saved a penalty.']\n"
    "EmbeddingMap(texts, ['pets'] * 5 + ['finance'] * 5 + ['sport'] * 5)  # UMAP needs 15 points",
    "EmbeddingMap('one string is not a list')",
    "import numpy as np\nfrom portalit.models import load_glove\nfrom portalit.widgets import AlignmentView\n"
    "words = ['king', 'queen', 'man', 'woman', 'paris', 'france', 'rome', 'italy', 'cat', 'dog']\n"
    "glove = load_glove()\nX = glove.vectors[[glove.index[w] for w in words]]\n"
    "Y = np.random.default_rng(0).normal(size=(10, 8))\n"
    "AlignmentView(X, Y, words, names=('GloVe', 'random'), k=3)",
    "AlignmentView(X, Y[:9], words)",
    "from portalit.widgets import CostCalculator\nCostCalculator('openai/gpt-4o-mini')",
    "from portalit.widgets import Checklist\nChecklist()",
]


@pytest.fixture(scope="module")
def notebook(browser, lab):
    """One page with every widget, shared by the tests below (they run in file order)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1500})
    page = context.new_page()
    page.set_default_timeout(30_000)
    open_and_run_all(page, lab.notebook("accessibility.ipynb", CELLS))
    yield page
    context.close()
    lab.shutdown_kernels()


def reaches_every_control(widget, first) -> None:
    visible = controls(widget)
    reached = tab_through(widget, first)
    assert reached == visible, f"Tab reached {reached}, the widget shows {visible}"


def test_axe_reports_a_violation_it_is_shown(notebook):
    """The check itself can fail: an input without a label put into a widget is reported by rule id."""
    from playwright.sync_api import expect

    picker = notebook.locator(".portalit-backend-picker")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu", timeout=120_000)
    picker.evaluate("""root => { const i = document.createElement('input');
                                 i.className = 'portalit-unlabelled'; root.append(i); }""")
    try:
        found = violations(picker)
    finally:
        picker.evaluate("root => root.querySelector('.portalit-unlabelled').remove()")
    assert any(line.startswith("label (critical) at ") and "portalit-unlabelled" in line for line in found), found


def test_backend_picker_and_prompt_lab(notebook):
    from playwright.sync_api import expect

    page, audit = notebook, Audit()
    picker, lab = page.locator(".portalit-backend-picker"), page.locator(".portalit-prompt-lab")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu", timeout=120_000)
    audit.check(picker, "BackendPicker initial")
    audit.check(lab, "PromptLab initial")
    reaches_every_control(picker, picker.get_by_label("Backend", exact=True))
    reaches_every_control(lab, lab.get_by_label("System prompt", exact=True))

    # The arrow keys move the backend select (not Lab's cell cursor); each move is a portalit.use().
    picker.get_by_label("Backend", exact=True).focus()
    for _ in range(3):
        page.keyboard.press("ArrowDown")  # local-gpu, server, cloud
    expect(picker.locator(".portalit-active-backend")).to_have_text("cloud")
    audit.check(picker, "BackendPicker result (cloud)")
    page.keyboard.press("Home")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu")

    # Error: a model the backend does not have, typed and sent with Enter (the picker then shows
    # the model still in use again).
    picker.get_by_label("Model", exact=True).focus()
    select_all_and_type(page, "no-such-model")
    page.keyboard.press("Enter")
    expect(picker.get_by_role("alert")).to_contain_text("unknown chat model 'no-such-model'")
    audit.check(picker, "BackendPicker error")
    shot(picker, "a11y-picker-error")

    # PromptLab's error: Run, pressed with Enter, with the prompt still empty.
    lab.get_by_role("button", name="Run", exact=True).focus()
    page.keyboard.press("Enter")
    expect(lab.get_by_role("alert")).to_contain_text("the prompt is empty")
    audit.check(lab, "PromptLab error")

    # Result, and busy while it runs: type the prompt, Tab to Run, press Space.
    lab.get_by_label("User prompt", exact=True).focus()
    page.keyboard.type("Which city is the capital of France?")
    page.keyboard.press("Tab")  # the temperature box
    page.keyboard.press("Tab")  # max tokens
    page.keyboard.press("Tab")  # the compare tick box
    page.keyboard.press("Tab")
    expect(lab.get_by_role("button", name="Run", exact=True)).to_be_focused()
    page.keyboard.press("Space")
    expect(lab.locator(".portalit-busy-on")).to_be_visible()
    audit.check(lab, "PromptLab busy")
    expect(lab.get_by_role("status")).to_contain_text("Answered", timeout=120_000)
    expect(lab.locator(".portalit-meta")).to_contain_text("answer tokens")
    audit.check(lab, "PromptLab result")
    audit.check(picker, "BackendPicker after a call")
    shot(lab, "a11y-prompt-lab")
    audit.assert_clean()


def test_analogy_explorer(notebook):
    from playwright.sync_api import expect

    page, audit = notebook, Audit()
    widget = page.locator(".portalit-analogy")
    expect(widget.locator(".portalit-top-answer")).to_have_text("queen", timeout=90_000)
    plot = widget.locator(".portalit-plot")
    expect(plot).to_have_attribute("role", "figure")
    expect(plot).to_have_attribute("aria-label", re.compile("man → woman and king → queen"))
    audit.check(widget, "initial")
    reaches_every_control(widget, widget.get_by_label("Start word", exact=True))

    widget.get_by_label("Start word", exact=True).focus()
    select_all_and_type(page, "paris")
    page.keyboard.press("Tab")
    select_all_and_type(page, "france")
    page.keyboard.press("Tab")
    select_all_and_type(page, "italy")
    page.keyboard.press("Enter")
    expect(widget.locator(".portalit-top-answer")).to_have_text("rome")
    # The plotted data, as a table: open it from the keyboard.
    widget.locator(".portalit-plot-data summary").focus()
    page.keyboard.press("Enter")
    expect(widget.locator(".portalit-plot-data table")).to_contain_text("rome")
    audit.check(widget, "result")

    widget.get_by_label("Start word", exact=True).focus()
    select_all_and_type(page, "pariss")
    page.keyboard.press("Enter")
    expect(widget.get_by_role("alert")).to_contain_text("unknown word 'pariss'")
    audit.check(widget, "error")
    shot(widget, "a11y-analogy-error")
    audit.assert_clean()


def test_embedding_map(notebook):
    from playwright.sync_api import expect

    page, audit = notebook, Audit()
    widget, broken = page.locator(".portalit-embedding-map").nth(0), page.locator(".portalit-embedding-map").nth(1)
    plot = widget.locator(".portalit-plot")
    expect(plot).to_have_attribute("aria-label", re.compile("15 texts"), timeout=120_000)
    audit.check(widget, "initial")
    reaches_every_control(widget, widget.get_by_label("Projection", exact=True))

    # A point is selected by typing it into 'Find a point' (the map's clicks are the mouse's way).
    widget.get_by_label("Find a point", exact=True).focus()
    page.keyboard.type("1: My dog loves long walks.")
    page.keyboard.press("Enter")
    expect(widget.locator(".portalit-selected")).to_have_text("My dog loves long walks.")
    audit.check(widget, "result")

    widget.get_by_label("Projection", exact=True).focus()
    page.keyboard.press("ArrowDown")  # PCA -> UMAP, in the background
    expect(widget.locator(".portalit-busy-on")).to_be_visible()
    audit.check(widget, "busy")
    expect(widget.get_by_role("status")).to_contain_text("UMAP of 15 points", timeout=120_000)
    expect(plot).to_have_attribute("aria-label", re.compile("UMAP"))
    audit.check(widget, "result (UMAP)")

    expect(broken.get_by_role("alert")).to_contain_text("wrap it in a list")
    audit.check(broken, "error")
    audit.assert_clean()


def test_alignment_view(notebook):
    from playwright.sync_api import expect

    page, audit = notebook, Audit()
    view, broken = page.locator(".portalit-alignment").nth(0), page.locator(".portalit-alignment").nth(1)
    expect(view.locator(".portalit-alignment-summary")).to_contain_text("Mutual 3-NN", timeout=60_000)
    expect(view.locator(".portalit-plot[role=figure]")).to_have_count(2)  # the bars and the two maps
    audit.check(view, "initial")
    reaches_every_control(view, view.get_by_label("Neighbours k", exact=True))

    view.get_by_label("Neighbours k", exact=True).focus()
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(view.locator(".portalit-alignment-summary")).to_contain_text("Mutual 4-NN")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the rotation tick box
    expect(view.get_by_label("Rotate the left map onto the right (Procrustes)", exact=True)).not_to_be_checked()
    page.keyboard.press("Tab")
    page.keyboard.type("1: queen")
    page.keyboard.press("Enter")
    expect(view.locator(".portalit-selected")).to_have_text("queen")
    audit.check(view, "result")

    expect(broken.get_by_role("alert")).to_contain_text("X has 10 items but Y has 9")
    audit.check(broken, "error")
    audit.assert_clean()


def test_cost_calculator(notebook):
    from playwright.sync_api import expect

    from portalit import costs

    page, audit = notebook, Audit()
    calc = page.locator(".portalit-costs")
    expect(calc.locator(".portalit-break-even")).not_to_be_empty(timeout=60_000)
    expect(calc.locator(".portalit-plot")).to_have_attribute("aria-label", re.compile("Line chart"))
    audit.check(calc, "initial")
    reaches_every_control(calc, calc.get_by_label("Cloud model", exact=True))

    calc.get_by_label("Monthly tokens (millions)", exact=True).focus()
    select_all_and_type(page, "20000")
    page.keyboard.press("Enter")
    expect(calc.locator(".portalit-cost-summary")).to_contain_text("20,000.0 million tokens")
    # The two speeds, each from its own labelled box: the summary gives the GPU's rate on the mix.
    calc.get_by_label("Decode (answer tokens/s)", exact=True).focus()
    select_all_and_type(page, "4000")
    page.keyboard.press("Tab")  # leaving the box sends its value, as Enter does
    expect(calc.get_by_label("Prefill (prompt tokens/s)", exact=True)).to_be_focused()
    select_all_and_type(page, "2000")
    page.keyboard.press("Enter")
    mixed = costs.owned_tokens_per_s(4000, 2000, 0.75)
    expect(calc.locator(".portalit-mixed-rate")).to_have_text(f"{mixed:,.0f}")
    expect(calc.locator(".portalit-cost-summary")).to_contain_text(
        f"At 75% prompt tokens one GPU gets through {mixed:,.0f} tokens/s")
    expect(calc.locator(".portalit-cost-summary")).to_contain_text("Prefill is set slower than decode")
    calc.get_by_label("GPU on all month (else paid per busy hour)", exact=True).focus()
    page.keyboard.press("Space")
    expect(calc.get_by_label("GPU on all month (else paid per busy hour)", exact=True)).not_to_be_checked()
    audit.check(calc, "result")

    calc.get_by_label("Cloud model", exact=True).focus()
    select_all_and_type(page, "no-such/model")
    page.keyboard.press("Enter")
    expect(calc.get_by_role("alert")).to_be_visible()
    audit.check(calc, "error")
    shot(calc, "a11y-costs-error")
    audit.assert_clean()


def test_checklist(notebook):
    from playwright.sync_api import expect

    page, audit = notebook, Audit()
    box = page.locator(".portalit-checklist")
    verdict = box.locator(".portalit-checklist-verdict")
    expect(verdict).not_to_be_empty()
    audit.check(box, "initial")
    first = box.locator("input[type=checkbox]").first
    reaches_every_control(box, first)
    before = verdict.text_content()
    first.focus()
    page.keyboard.press("Space")
    expect(first).to_be_checked()
    expect(verdict).not_to_have_text(before)
    audit.check(box, "result")
    audit.assert_clean()
