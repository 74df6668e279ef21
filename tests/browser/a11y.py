"""Accessibility checks inside the browser: axe-core on a widget's DOM, Tab walks through its controls,
and what a screen reader is given (the accessibility tree: aria snapshots, Chromium's live regions).

axe-core comes from the PyPI package axe-playwright-python (pinned in requirements.txt and in
pyproject's test extra), which ships axe.min.js: `make test` installs it like any other dependency,
nothing is downloaded at run time. Only the script file is used; the run itself is ours, so that the
scan is scoped to one widget's element.
"""
from __future__ import annotations

import re

from axe_playwright_python.base import AXE_FILE_PATH

AXE_VERSION = "4.12.1"  # what axe-playwright-python 0.1.8 bundles; checked when the script loads
# WCAG 2.0, 2.1 and 2.2 at levels A and AA (axe has no wcag22a tag: 2.2's new A criteria are not automatable).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# What a keyboard user can land on inside a widget (Tab reaches nothing inside plotly's plots).
FOCUSABLE = 'input, select, textarea, button, summary, a[href], [tabindex]:not([tabindex="-1"])'


def load_axe(page) -> None:
    """Puts axe-core into the page once."""
    if page.evaluate("() => typeof window.axe === 'undefined'"):
        page.add_script_tag(path=str(AXE_FILE_PATH))
    # JupyterLab's outermost container is 0 px high with overflow hidden (its content is positioned
    # past it), so axe takes all of Lab as clipped off screen and silently skips color-contrast.
    # Nothing is clipped on screen: let it overflow, so that contrast is measured.
    page.evaluate("""() => document.querySelectorAll('.jp-ThemedContainer').forEach(e => {
        if (e.getBoundingClientRect().height === 0) e.style.overflow = 'visible'; })""")
    version = page.evaluate("() => window.axe.version")
    assert version == AXE_VERSION, f"axe-core {version} loaded, the checks were written against {AXE_VERSION}"


def violations(locator) -> list[str]:
    """axe-core's WCAG 2.2 A/AA violations inside `locator`'s element, one line per offending node.

    The scan is scoped to the widget's element: JupyterLab's own chrome around it (menus, toolbars,
    the notebook's cells) is not ours to fix.
    """
    load_axe(locator.page)
    # Contrast is measured where the text is drawn: bring the widget on screen first.
    locator.scroll_into_view_if_needed()
    result = locator.evaluate(
        """async (element, tags) => {
            const r = await axe.run(element, {runOnly: {type: 'tag', values: tags},
                                              resultTypes: ['violations']});
            return {rules: r.passes.length + r.violations.length + r.incomplete.length,
                    violations: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => ({target: n.target.join(' '), why: n.failureSummary,
                            related: [...n.any, ...n.all, ...n.none].flatMap(c => c.relatedNodes)
                                         .map(r => r.target.join(' ')).slice(0, 3)}))}))};
        }""", AXE_TAGS)
    assert result["rules"] > 0, "axe ran no rule on this element: is it in the page?"
    return [f"{v['id']} ({v['impact']}) at {node['target']}: {v['help']}. {' '.join(node['why'].split())}"
            + (f" Related: {'; '.join(node['related'])}" if node["related"] else "")
            for v in result["violations"] for node in v["nodes"]]


class Audit:
    """Collects violations over a widget's states, so that one run reports every state, then fails."""

    def __init__(self):
        self.found: dict[str, list[str]] = {}

    def check(self, locator, state: str) -> None:
        self.found[state] = violations(locator)

    def assert_clean(self) -> None:
        lines = [f"{state}: {line}" for state, found in self.found.items() for line in found]
        assert not lines, f"{len(lines)} WCAG 2.2 A/AA violation(s) (axe-core {AXE_VERSION}):\n" + "\n".join(lines)


def controls(widget) -> list[str]:
    """Names of the visible, enabled controls in a widget, in document order."""
    _define_name(widget)
    return widget.evaluate(
        """(root, selector) => [...root.querySelectorAll(selector)]
            .filter(e => e.getClientRects().length && !e.disabled && !e.closest('[aria-hidden="true"]'))
            .map(e => window.__portalitName(e))""", FOCUSABLE)


def tab_through(widget, first) -> list[str]:
    """Focuses `first`, then presses Tab until focus leaves the widget; returns the controls reached.

    Every control reached must show a focus indicator (WCAG 2.4.7): an outline or a box shadow.
    """
    _define_name(widget)
    page = widget.page
    first.focus()
    reached = [widget.evaluate("() => window.__portalitName(document.activeElement)")]
    for _ in range(40):
        page.keyboard.press("Tab")
        now = widget.evaluate(
            """root => {
                const e = document.activeElement;
                const style = getComputedStyle(e);
                const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 1)
                             || style.boxShadow !== 'none';
                return {inside: root.contains(e), name: window.__portalitName(e), ring};
            }""")
        if not now["inside"]:
            return reached
        assert now["ring"], f"no visible focus indicator on {now['name']}"
        reached.append(now["name"])
    raise AssertionError(f"Tab never left the widget (a focus trap?): {reached[-5:]}")


def _define_name(widget) -> None:
    # A short readable name for a control: its label's text, else its own text, else its tag.
    widget.page.evaluate(
        """() => { window.__portalitName = e => {
            const label = (e.labels && e.labels[0] && e.labels[0].textContent)
                          || e.getAttribute('aria-label') || e.textContent || '';
            return `${e.tagName.toLowerCase()}${e.type ? '[' + e.type + ']' : ''} "${label.trim().slice(0, 40)}"`;
        }; }""")


def select_all_and_type(page, text: str) -> None:
    """Replaces a focused text box's content from the keyboard, as a learner would."""
    page.keyboard.press("Control+A")
    page.keyboard.press("Backspace")
    page.keyboard.type(text)



# What a screen reader is given: the accessibility tree, not a screen reader (none can run here).
# Roles a user operates: each must be announced with a name of its own.
CONTROL_ROLES = ("button", "checkbox", "combobox", "listbox", "radio", "searchbox", "slider", "spinbutton",
                 "switch", "textbox")
_NODE = re.compile(r'^\s*- (?P<role>[a-z]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')


def plain_tree(snapshot: str) -> str:
    """An aria snapshot with YAML's quoting taken off (`- 'checkbox "a: b"'` reads `- checkbox "a: b"`),
    so that one pattern matches a name whatever characters it holds."""
    import yaml

    def lines(nodes, indent):
        for node in nodes:
            if isinstance(node, dict):
                for key, value in node.items():
                    if isinstance(value, list):
                        yield f"{indent}- {key}:"
                        yield from lines(value, indent + "  ")
                    else:
                        yield f"{indent}- {key}: {value}" if value is not None else f"{indent}- {key}:"
            else:
                yield f"{indent}- {node}"

    return "\n".join(lines(yaml.safe_load(snapshot) or [], ""))


def heard_controls(tree: str) -> list[tuple[str, str]]:
    """(role, accessible name) of every control in an aria snapshot, in reading order ('' when unnamed)."""
    found = []
    for line in tree.splitlines():
        match = _NODE.match(line)
        if match and match["role"] in CONTROL_ROLES:
            found.append((match["role"], match["name"] or ""))
    return found


def placeholders(widget) -> set[str]:
    """The placeholder texts inside a widget: a control whose only name is one of them has no label."""
    return set(widget.evaluate("root => [...root.querySelectorAll('[placeholder]')].map(e => e.placeholder)"))


def live_region(locator) -> tuple[str, str] | None:
    """Chromium's own view (over CDP, as it tells assistive technology) of the live region around
    `locator`'s element: (politeness, role of the region), e.g. ('polite', 'generic') or
    ('assertive', 'alert'); None when a change there would not be announced."""
    page = locator.page
    cdp = page.context.new_cdp_session(page)
    try:
        locator.evaluate("e => e.setAttribute('data-portalit-ax', '')")
        root = cdp.send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "[data-portalit-ax]"})["nodeId"]
        backend = cdp.send("DOM.describeNode", {"nodeId": node})["node"]["backendNodeId"]
        # With fetchRelatives the answer holds the element's node and all its ancestors.
        nodes = cdp.send("Accessibility.getPartialAXTree", {"backendNodeId": backend, "fetchRelatives": True})["nodes"]
    finally:
        locator.evaluate("e => e.removeAttribute('data-portalit-ax')")
        cdp.detach()
    by_id = {n["nodeId"]: n for n in nodes}
    here = next((n for n in nodes if n.get("backendDOMNodeId") == backend), None)
    while here is not None:
        properties = {p["name"]: p["value"].get("value") for p in here.get("properties", [])}
        if properties.get("live") in ("polite", "assertive"):
            return properties["live"], here["role"]["value"]
        here = by_id.get(here.get("parentId"))
    return None
