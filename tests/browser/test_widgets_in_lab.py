"""The widgets in a real JupyterLab, driven through headless Chromium like a learner would."""
import re

import pytest

from .conftest import open_and_run_all, run_cell, shot

pytestmark = pytest.mark.browser


def test_analogy_explorer_answers_and_reacts_to_exclusion(lab, page):
    from playwright.sync_api import expect

    url = lab.notebook("analogy.ipynb", [
        "from portalit.widgets import AnalogyExplorer\nexplorer = AnalogyExplorer('king', 'man', 'woman')\nexplorer",
    ])
    open_and_run_all(page, url)
    widget = page.locator(".portalit-analogy")
    expect(widget.locator(".portalit-top-answer")).to_have_text("queen", timeout=90_000)
    expect(widget.locator(".portalit-answer").first).to_have_text("queen")
    expect(widget.locator(".portalit-only-b").first).not_to_be_empty()
    expect(widget.locator(".js-plotly-plot")).to_have_count(1)
    shot(widget, "analogy-queen")

    widget.get_by_label("Exclude the three input words", exact=True).uncheck()
    expect(widget.locator(".portalit-top-answer")).to_have_text("king")
    shot(widget, "analogy-inputs-allowed")

    # From the keyboard: Tab moves from one labelled box to the next; Enter submits a word.
    start = widget.get_by_label("Start word", exact=True)
    start.focus()
    page.keyboard.press("Tab")
    expect(widget.get_by_label("Subtract", exact=True)).to_be_focused()
    start.fill("kingg")
    start.press("Enter")
    alert = widget.get_by_role("alert")
    expect(alert).to_contain_text("unknown word 'kingg'")
    expect(alert).to_contain_text("king")
    shot(widget, "analogy-unknown-word")


def test_embedding_map_renders_and_a_click_lists_neighbours(lab, page):
    from playwright.sync_api import expect

    url = lab.notebook("map.ipynb", [
        "from portalit.widgets import EmbeddingMap\n"
        "pets = ['The cat sleeps on the sofa.', 'My dog loves long walks.', 'Kittens chase a ball of yarn.',\n"
        "        'The puppy chewed my shoes.', 'A parrot can learn words.', 'Goldfish swim in a bowl.',\n"
        "        'The hamster runs on its wheel.', 'Our rabbit eats carrots.', 'The vet checked the cat.',\n"
        "        'Dogs bark at the postman.']\n"
        "money = ['Stocks fell sharply today.', 'The central bank raised rates.', 'Bond yields climbed.',\n"
        "         'Investors fear inflation.', 'The market rallied at noon.', 'Oil prices dropped again.',\n"
        "         'The company beat earnings forecasts.', 'The euro weakened against the dollar.',\n"
        "         'Banks tightened lending.', 'Shares of tech firms surged.']\n"
        "sport = ['The striker scored twice.', 'The match went to penalties.', 'She won the marathon.',\n"
        "         'The team lost the final.', 'He broke the sprint record.', 'The coach was sacked.',\n"
        "         'Fans filled the stadium.', 'The tennis final lasted five sets.', 'The keeper saved a penalty.',\n"
        "         'The cyclist won the stage.']\n"
        "texts = pets + money + sport\n"
        "labels = ['pets'] * 10 + ['finance'] * 10 + ['sport'] * 10\n"
        "emap = EmbeddingMap(texts, labels)\nemap",
    ])
    open_and_run_all(page, url)
    widget = page.locator(".portalit-embedding-map")
    plot = widget.locator(".js-plotly-plot")
    expect(plot).to_have_count(1, timeout=120_000)
    points = plot.locator(".scatterlayer .trace path.point")
    expect(points).to_have_count(30, timeout=30_000)
    expect(widget.locator(".legendtext")).to_have_text(["pets", "finance", "sport"])
    shot(widget, "map-pca")

    box = points.first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(widget.locator(".portalit-selected")).to_have_text("The cat sleeps on the sofa.")
    neighbours = widget.locator(".portalit-neighbour")
    expect(neighbours).to_have_count(5)
    shot(widget, "map-click-neighbours")

    widget.get_by_label("Projection", exact=True).select_option("UMAP")
    progress = widget.get_by_role("status")
    # The first UMAP in a kernel takes seconds (numba); a ticking progress line shows meanwhile.
    expect(progress).to_contain_text("UMAP is running")
    expect(widget.locator(".portalit-busy-on .portalit-spinner")).to_be_visible()
    shot(widget, "map-umap-running")
    expect(progress).to_contain_text("UMAP of 30 points", timeout=120_000)
    expect(points).to_have_count(36)  # the 30 points, and the selection (5 rings, 1 star) kept across the switch
    expect(widget.locator(".portalit-selected")).to_have_text("The cat sleeps on the sofa.")
    shot(widget, "map-umap")


def choose(select, starting: str) -> None:
    """Selects the option whose text starts with `starting` (the picker's options read "cloud — not ready")."""
    texts = select.locator("option").all_text_contents()
    select.select_option(label=next(text for text in texts if text.startswith(starting)))


def test_backend_picker_switches_and_prompt_lab_answers_on_local_cpu(lab, page):
    from playwright.sync_api import expect

    url = lab.notebook("picker.ipynb", [
        "import portalit\nfrom portalit.widgets import BackendPicker, PromptLab\npicker = BackendPicker()\npicker",
        "lab = PromptLab(max_tokens=24)\nlab",
        "print('active backend:', portalit.client().backend)",
    ])
    open_and_run_all(page, url)
    picker = page.locator(".portalit-backend-picker")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu", timeout=90_000)
    expect(picker.locator("tr[data-backend='local-cpu']")).to_contain_text("ready")
    expect(page.locator(".jp-OutputArea-output", has_text="active backend: local-cpu")).to_have_count(1)

    choose(picker.get_by_label("Backend", exact=True), "cloud")
    expect(picker.locator(".portalit-active-backend")).to_have_text("cloud")
    expect(picker.get_by_label("Model", exact=True)).to_have_value("openai/gpt-4o-mini")
    shot(picker, "picker-cloud")
    run_cell(page, 2)  # a later cell now runs on the picked backend
    expect(page.locator(".jp-OutputArea-output", has_text="active backend: cloud")).to_have_count(1)

    choose(picker.get_by_label("Backend", exact=True), "local-cpu")
    expect(picker.locator(".portalit-active-backend")).to_have_text("local-cpu")

    prompt_lab = page.locator(".portalit-prompt-lab")
    prompt_lab.get_by_label("User prompt", exact=True).fill("Which city is the capital of France?")
    prompt_lab.get_by_role("button", name="Run", exact=True).click()
    expect(prompt_lab.locator(".portalit-meta")).to_contain_text("answer tokens", timeout=120_000)
    expect(prompt_lab.locator(".portalit-answer")).to_contain_text("Paris")
    expect(prompt_lab.locator(".portalit-meta")).to_contain_text("cost $0")
    expect(picker.locator(".portalit-latency")).to_contain_text(re.compile(r"Last call: [0-9.]+ s on local-cpu"))
    shot(prompt_lab, "prompt-lab-local-cpu")
    shot(page, "picker-and-prompt-lab-page")


def test_cost_calculator_and_alignment_view_render(lab, page):
    from playwright.sync_api import expect

    from portalit import costs

    url = lab.notebook("costs-alignment.ipynb", [
        "from portalit.widgets import CostCalculator\nCostCalculator('openai/gpt-4o-mini')",
        "import numpy as np\nfrom portalit.models import load_glove\nfrom portalit.widgets import AlignmentView\n"
        "words = ['king', 'queen', 'man', 'woman', 'paris', 'france', 'rome', 'italy', 'cat', 'dog',\n"
        "         'horse', 'red', 'green', 'blue', 'car', 'bus', 'train', 'boy', 'girl', 'tiger']\n"
        "glove = load_glove()\nX = glove.vectors[[glove.index[w] for w in words]]\n"
        "Y = np.random.default_rng(0).normal(size=(20, 16))  # an unrelated space: alignment near chance\n"
        "AlignmentView(X, Y, words, names=('GloVe', 'random'), k=3)",
        "AlignmentView(X, Y[:19], words)",
    ])
    open_and_run_all(page, url)
    calc = page.locator(".portalit-costs")
    expect(calc.locator(".portalit-break-even")).not_to_be_empty(timeout=90_000)
    expect(calc.locator(".js-plotly-plot")).to_have_count(1)
    calc.get_by_label("Monthly tokens (millions)", exact=True).fill("20000")
    calc.get_by_label("Monthly tokens (millions)", exact=True).press("Enter")
    expect(calc.locator(".portalit-cost-summary")).to_contain_text("20,000.0 million tokens")
    calc.get_by_label("Prefill (prompt tokens/s)", exact=True).fill("50000")
    calc.get_by_label("Prefill (prompt tokens/s)", exact=True).press("Enter")
    mixed = costs.owned_tokens_per_s(3000, 50000, 0.75)  # the widget's default decode rate and share
    expect(calc.locator(".portalit-mixed-rate")).to_have_text(f"{mixed:,.0f}")
    shot(calc, "cost-calculator")

    views = page.locator(".portalit-alignment")
    view = views.first
    expect(view.locator(".portalit-alignment-summary")).to_contain_text("Mutual 3-NN alignment", timeout=60_000)
    expect(view.locator(".js-plotly-plot")).to_have_count(2)  # the bars and the two maps
    view.get_by_label("Item", exact=True).fill("0: king")
    view.get_by_label("Item", exact=True).press("Enter")
    expect(view.locator(".portalit-selected")).to_have_text("king")
    expect(view.locator(".portalit-neighbours-left li")).to_have_count(3)
    shot(view, "alignment-view")
    expect(views.nth(1).get_by_role("alert")).to_have_text(
        "⚠ X has 20 items but Y has 19; row i of each must be the same item")
