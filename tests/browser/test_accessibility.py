"""Every widget, in each of its states, has no WCAG 2.2 A/AA violation that axe-core finds, and works
from the keyboard alone: Tab reaches every control (with a visible focus ring), Enter, Space and the
arrow keys operate them.

One notebook holds every widget, so the whole file costs one kernel start; the tests run in file
order against that page. States: initial, result (after a keyboard action), error (bad input),
busy (while a call runs: only PromptLab and EmbeddingMap's UMAP work in the background; the other
widgets answer within the same kernel message and never show a busy state).

The last two tests check what a screen reader is given, not a screen reader (none can run here: no
desktop, no AT-SPI): the accessibility tree, as Playwright's aria snapshot computes it from the page
(roles, names, values, by the WAI-ARIA and HTML-AAM rules), and Chromium's own tree read over CDP
for live regions (whether a change is announced). The snapshots are saved as
test-artifacts/browser/aria-*.yml.
"""
import re

import pytest

from .a11y import (Audit, controls, heard_controls, live_region, placeholders, plain_tree, select_all_and_type,
                   tab_through, violations)
from .conftest import SHOTS, open_and_run_all, shot

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


class Hearing:
    """What a screen-reader user is given, widget by widget: the aria snapshot (saved beside the
    screenshots) checked for lines, controls named by their labels, and live regions; every miss is
    collected, so that one run reports them all."""

    def __init__(self):
        self.misses: list[str] = []

    def tree(self, locator, name: str) -> str:
        snapshot = locator.aria_snapshot()
        SHOTS.mkdir(parents=True, exist_ok=True)
        (SHOTS / f"aria-{name}.yml").write_text(snapshot)
        return plain_tree(snapshot)

    def has(self, tree: str, where: str, *patterns: str) -> None:
        """Each pattern (a regex) matches somewhere in the tree."""
        for pattern in patterns:
            if not re.search(pattern, tree, re.MULTILINE):
                self.misses.append(f"{where}: nothing in the tree matches {pattern!r}")

    def controls(self, widget, tree: str, where: str, expected: list[tuple[str, str]]) -> None:
        """Every control is announced with a name that is not only its placeholder; `expected`
        (role regex, exact name) are all there."""
        heard, hints = heard_controls(tree), placeholders(widget)
        for role, name in heard:
            if not name.strip():
                self.misses.append(f"{where}: a {role} with no name")
            elif name in hints:
                self.misses.append(f"{where}: {role} {name!r} is named only by its placeholder")
        for role, name in expected:
            if not any(re.fullmatch(role, r) and n == name for r, n in heard):
                self.misses.append(f"{where}: no {role} named {name!r} among {heard}")

    def announced(self, locator, where: str, politeness: str = "polite") -> None:
        """The element sits in a live region Chromium announces (role alert: 'assertive')."""
        region = live_region(locator)
        if region is None or region[0] != politeness:
            self.misses.append(f"{where}: not in a {politeness} live region (Chromium says {region})")

    def figures(self, widget, where: str, names: list[str], min_rows: list[int]) -> None:
        """Each figure frame is a `figure` named by `names[i]` (regex) with its data as a table of at
        least `min_rows[i]` rows (the header row included), once its disclosure is open."""
        frames = widget.locator(".portalit-figure")
        if frames.count() != len(names):
            self.misses.append(f"{where}: {frames.count()} figure frames, expected {len(names)}")
            return
        for i, (name, rows) in enumerate(zip(names, min_rows)):
            frame = frames.nth(i)
            frame.locator("details.portalit-plot-data").evaluate("d => { d.open = true; }")
            tree = self.tree(frame, f"{where}-figure-{i}")
            self.has(tree, f"{where} figure {i}", rf'^\s*- figure "{name}', r'^\s*- table "')
            found = len(re.findall(r"^\s*- row\b", tree, re.MULTILINE))
            if found < rows:
                self.misses.append(f"{where} figure {i}: its table has {found} rows, expected at least {rows}")

    def assert_clean(self) -> None:
        assert not self.misses, f"{len(self.misses)} thing(s) a screen reader is not given:\n" + "\n".join(self.misses)


def enter(locator, text: str) -> None:
    """Types `text` into a box and sends it with Enter (the boxes report on Enter or blur)."""
    locator.fill(text)
    locator.press("Enter")


def test_what_a_screen_reader_is_given(notebook):
    """For each widget, its accessibility tree: controls by role and label, results and errors in
    live regions, figures named with their data as a table."""
    from playwright.sync_api import expect

    from portalit import costs
    from portalit.checklist import QUESTIONS, assess

    page, hear = notebook, Hearing()
    combo = "combobox|textbox"  # ipywidgets' Combobox is an <input list=...>: either is announced as a text box

    # BackendPicker: the backend choices are options of a named select; the active backend is live.
    picker = page.locator(".portalit-backend-picker")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu", timeout=120_000)
    tree = hear.tree(picker, "backend-picker")
    hear.controls(picker, tree, "BackendPicker", [("combobox", "Backend"), (combo, "Model"),
                                                  ("button", "Check again")])
    hear.has(tree, "BackendPicker", *[rf'^\s*- option "{name} — (not )?ready"( \[selected\])?$'
                                      for name in ("local-cpu", "local-gpu", "server", "cloud")],
             r'option "local-cpu — (not )?ready" \[selected\]', r"Active: local-cpu ·")
    hear.announced(picker.locator(".portalit-active"), "BackendPicker active line")
    hear.announced(picker.locator(".portalit-latency"), "BackendPicker last call")

    # PromptLab: its answer is announced by the status line (run one if no test before did).
    lab = page.locator(".portalit-prompt-lab")
    status = lab.get_by_role("status")
    if "Answered" not in (status.text_content() or ""):
        lab.get_by_label("User prompt", exact=True).fill("Which city is the capital of France?")
        lab.get_by_role("button", name="Run", exact=True).click()
    expect(status).to_contain_text("Answered", timeout=120_000)
    tree = hear.tree(lab, "prompt-lab")
    hear.controls(lab, tree, "PromptLab", [("textbox", "System prompt"), ("textbox", "User prompt"),
                                           ("spinbutton", "Temperature (0–2)"), ("spinbutton", "Max tokens"),
                                           ("checkbox", "Compare with a second backend"), ("button", "Run")])
    hear.has(tree, "PromptLab", r"^\s*- status: Answered \(")
    hear.announced(status, "PromptLab status")

    # AnalogyExplorer: the three words, the answer said when it is solved, its figure, its error.
    analogy = page.locator(".portalit-analogy")
    for label, word in (("Start word", "paris"), ("Subtract", "france"), ("Add", "italy")):
        enter(analogy.get_by_label(label, exact=True), word)
    expect(analogy.locator(".portalit-top-answer")).to_have_text("rome", timeout=60_000)
    tree = hear.tree(analogy, "analogy")
    hear.controls(analogy, tree, "AnalogyExplorer", [
        ("textbox", "Start word"), ("textbox", "Subtract"), ("textbox", "Add"), ("button", "Solve"),
        ("combobox", "Method"), ("spinbutton", "Top k"), ("checkbox", "Exclude the three input words")])
    hear.has(tree, "AnalogyExplorer", r'textbox "Start word":\n\s+- /placeholder: e\.g\. king\n\s+- text: paris$',
             r"paris − france \+ italy ≈ rome")
    hear.announced(analogy.locator(".portalit-top-answer"), "AnalogyExplorer answer")
    hear.figures(analogy, "analogy", ["Scatter plot: france → italy and paris → rome"], [5])
    enter(analogy.get_by_label("Start word", exact=True), "pariss")
    expect(analogy.get_by_role("alert")).to_contain_text("unknown word 'pariss'")
    hear.has(hear.tree(analogy, "analogy-error"), "AnalogyExplorer error", r"^\s*- alert: .*unknown word 'pariss'")
    hear.announced(analogy.get_by_role("alert"), "AnalogyExplorer error", "assertive")

    # EmbeddingMap: a point found by typing, its neighbours said; the map as a table; the broken one's error.
    emap, broken_map = page.locator(".portalit-embedding-map").nth(0), page.locator(".portalit-embedding-map").nth(1)
    expect(emap.locator(".portalit-plot")).to_have_attribute("aria-label", re.compile("15 texts"), timeout=120_000)
    enter(emap.get_by_label("Find a point", exact=True), "2: The puppy chewed my shoes.")
    expect(emap.locator(".portalit-selected")).to_have_text("The puppy chewed my shoes.")
    tree = hear.tree(emap, "embedding-map")
    hear.controls(emap, tree, "EmbeddingMap", [("combobox", "Projection"), ("checkbox", "Colour by label"),
                                               ("spinbutton", "Neighbours to list"), (combo, "Find a point")])
    hear.has(tree, "EmbeddingMap", r"Selected: The puppy chewed my shoes\.")
    hear.announced(emap.locator(".portalit-selected"), "EmbeddingMap selection")
    hear.figures(emap, "embedding-map", [r"[^\"]*15 texts"], [16])
    hear.has(hear.tree(broken_map, "embedding-map-error"), "EmbeddingMap error",
             r"^\s*- alert: .*wrap it in a list")
    hear.announced(broken_map.get_by_role("alert"), "EmbeddingMap error", "assertive")

    # AlignmentView: the scores said, a found item's neighbours said, both figures as tables.
    view, broken_view = page.locator(".portalit-alignment").nth(0), page.locator(".portalit-alignment").nth(1)
    expect(view.locator(".portalit-alignment-summary")).to_contain_text("NN", timeout=60_000)
    enter(view.get_by_label("Item", exact=True), "5: france")
    expect(view.locator(".portalit-selected")).to_have_text("france")
    tree = hear.tree(view, "alignment")
    hear.controls(view, tree, "AlignmentView", [
        ("spinbutton", "Neighbours k"), ("checkbox", "Rotate the left map onto the right (Procrustes)"),
        (combo, "Item")])
    hear.has(tree, "AlignmentView", r"Mutual \d-NN", r"Selected: france")
    hear.announced(view.locator(".portalit-alignment-summary"), "AlignmentView scores")
    hear.announced(view.locator(".portalit-selected"), "AlignmentView selection")
    hear.figures(view, "alignment", [r"[^\"]+", r"[^\"]+"], [2, 11])
    hear.has(hear.tree(broken_view, "alignment-error"), "AlignmentView error",
             r"^\s*- alert: .*X has 10 items but Y has 9")
    hear.announced(broken_view.get_by_role("alert"), "AlignmentView error", "assertive")

    # CostCalculator: the two speeds by their labels; the new totals said after a change.
    calc = page.locator(".portalit-costs")
    enter(calc.get_by_label("Cloud model", exact=True), "openai/gpt-4o-mini")
    enter(calc.get_by_label("Decode (answer tokens/s)", exact=True), "4000")
    enter(calc.get_by_label("Prefill (prompt tokens/s)", exact=True), "30000")
    share = float(calc.get_by_label("Share of prompt tokens (0–1)", exact=True).input_value())
    mixed = f"{costs.owned_tokens_per_s(4000, 30000, share):,.0f}"
    expect(calc.locator(".portalit-mixed-rate")).to_have_text(mixed, timeout=60_000)
    tree = hear.tree(calc, "costs")
    hear.controls(calc, tree, "CostCalculator", [
        (combo, "Cloud model"), ("spinbutton", "Monthly tokens (millions)"),
        ("spinbutton", "Share of prompt tokens (0–1)"), ("spinbutton", "GPU $ per hour"),
        ("spinbutton", "Decode (answer tokens/s)"), ("spinbutton", "Prefill (prompt tokens/s)"),
        ("checkbox", "GPU on all month (else paid per busy hour)")])
    hear.has(tree, "CostCalculator", r'spinbutton "Decode \(answer tokens/s\)": "?4000',
             r'spinbutton "Prefill \(prompt tokens/s\)": "?30000', rf"one GPU gets through {mixed} tokens/s")
    hear.announced(calc.locator(".portalit-cost-summary"), "CostCalculator summary")
    hear.figures(calc, "costs", [rf"Line chart, log scales: monthly cost of openai/gpt-4o-mini \(cloud\) and of an "
                                 rf"owned GPU at {mixed} tokens/s"], [81])
    enter(calc.get_by_label("Cloud model", exact=True), "no-such/model")
    expect(calc.get_by_role("alert")).to_be_visible()
    hear.has(hear.tree(calc, "costs-error"), "CostCalculator error", r"^\s*- alert: .*no-such/model")
    hear.announced(calc.get_by_role("alert"), "CostCalculator error", "assertive")

    # Checklist: every question a named tick box; the verdict said on every tick.
    box = page.locator(".portalit-checklist")
    second = box.get_by_role("checkbox").nth(1)
    second.focus()
    page.keyboard.press("Space")
    answers = {q.key: box.get_by_role("checkbox", name=q.text, exact=True).is_checked() for q in QUESTIONS}
    verdict = assess(answers).summary
    expect(box.locator(".portalit-checklist-verdict b")).to_have_text(verdict)
    tree = hear.tree(box, "checklist")
    hear.controls(box, tree, "Checklist", [("checkbox", q.text) for q in QUESTIONS])
    hear.has(tree, "Checklist", re.escape(verdict))
    hear.announced(box.locator(".portalit-checklist-verdict"), "Checklist verdict")
    hear.assert_clean()


def test_screen_reader_checks_can_fail(notebook):
    """The checks above see a missing label and a silenced live region (put back afterwards)."""
    from playwright.sync_api import expect

    calc, hear = notebook.locator(".portalit-costs"), Hearing()
    decode = calc.get_by_label("Decode (answer tokens/s)", exact=True)
    expect(decode).to_be_visible()
    box = decode.element_handle()  # the label-based locator finds nothing once the label is gone
    box.evaluate("e => { window.__portalitLabel = e.labels[0]; window.__portalitLabel.remove(); }")
    try:
        hear.controls(calc, plain_tree(calc.aria_snapshot()), "no label",
                      [("spinbutton", "Decode (answer tokens/s)")])
    finally:
        box.evaluate("e => e.before(window.__portalitLabel)")
    assert any("spinbutton with no name" in m for m in hear.misses), hear.misses
    assert any("no spinbutton named 'Decode (answer tokens/s)'" in m for m in hear.misses), hear.misses
    expect(decode).to_be_visible()  # the label is back

    hear.misses.clear()
    region = notebook.locator(".portalit-checklist .portalit-live")
    expect(region).not_to_be_empty()
    region.evaluate("e => e.setAttribute('aria-live', 'off')")
    try:
        hear.announced(region, "silenced")
    finally:
        region.evaluate("e => e.setAttribute('aria-live', 'polite')")
    assert hear.misses and "not in a polite live region" in hear.misses[0], hear.misses
    assert live_region(region) == ("polite", "generic")
