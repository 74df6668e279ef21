"""Feedback is what learners see: hidden tests gone, no traceback that quotes a hidden test's code,
and nothing from a learner's outputs that runs or loads in the page."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class ShortHiddenTestErrors(Preprocessor):
    """Feedback: a failing cell that holds hidden tests shows only `Error: message`.

    A traceback quotes the lines around the failing one, which would leak the hidden test's code;
    the message of a portalit.grading check says what was checked without giving the answer.
    Run it before nbgrader's ClearHiddenTests (which removes the hidden code itself).
    """

    enabled = Bool(True, help="nbconvert runs a preprocessor only when it is enabled").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and "BEGIN HIDDEN TESTS" in cell.source:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.ename}: {output.evalue}" if output.evalue else output.ename]
        return cell, resources


# ----------------------------------------------------------------------------------------------


def warm_up() -> None:
    """First uses that cost a worker ~1 s of CPU each time: SQLAlchemy's mapper set-up, the
    notebook validator, and the feedback exporter's templates and lexers."""
    import nbformat
    from nbconvert.exporters import HTMLExporter
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    cell = nbformat.v4.new_code_cell("x = 1\nprint(x)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n"),
                    nbformat.v4.new_output("error", ename="E", evalue="e", traceback=["E: e"])]
    cell.metadata.nbgrader = {"grade": True, "grade_id": "t", "points": 1, "score": 1, "solution": False,
                              "locked": True, "schema_version": 3}
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Warm *up*"), cell])
    nbformat.validate(nb)
    converter = GenerateFeedback(coursedir=CourseDirectory())
    exporter = HTMLExporter(parent=converter, config=converter.config)
    exporter.register_preprocessor("nbconvert.preprocessors.CSSHTMLHeaderPreprocessor", enabled=True)
    exporter.from_notebook_node(nb, resources={"nbgrader": {"notebook": "warm", "score": 1, "max_score": 1,
                                                            "late_penalty": 0}})


# -- what a learner's outputs may put into the feedback page ------------------------------------

MAX_FEEDBACK_BYTES = 8 * 1024 * 1024
_DROPPED_WITH_CONTENT = {"script", "iframe", "frame", "frameset", "object", "embed", "applet", "noscript",
                         "template", "foreignobject", "audio", "video", "form"}
_DROPPED = {"base", "meta", "link", "input", "button", "textarea", "select", "source", "track"}
_URL_ATTRIBUTES = {"src", "href", "xlink:href", "action", "formaction", "background", "poster", "data",
                   "srcset", "ping", "lowsrc", "dynsrc", "cite", "longdesc", "manifest", "codebase"}
_RASTER = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]*", re.I)
_CSS_URL = re.compile(r"@import[^;]*;?|url\s*\([^)]*\)|expression\s*\(", re.I)


class _Sanitiser(HTMLParser):
    """Rebuilds a page keeping its text, layout and styles, without anything that runs or loads:
    no scripts, frames or plugins, no event handlers, no remote images, styles or links to load."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        self._tag(tag, attrs, closed=False)

    def handle_startendtag(self, tag, attrs):
        self._tag(tag, attrs, closed=True)

    def _tag(self, tag, attrs, closed):
        tag = tag.lower()
        if self.skipping or tag in _DROPPED:
            return
        if tag in _DROPPED_WITH_CONTENT:
            if not closed:
                self.skipping.append(tag)
            return
        kept = []
        for name, value in attrs:
            name = name.lower()
            value = value or ""
            if name.startswith("on") or name in ("srcdoc", "formaction", "http-equiv"):
                continue
            if name in _URL_ATTRIBUTES:
                plain = "".join(value.split()).lower()
                if not (plain.startswith("#") or (name == "src" and _RASTER.fullmatch(value.strip()))
                        or (tag == "a" and name == "href" and plain.startswith(("http://", "https://")))):
                    continue
            if name == "style" and _CSS_URL.search(value):
                continue
            kept.append(f' {name}="{html.escape(value, quote=True)}"')
        if tag == "a" and any(k.startswith(" href=") for k in kept):
            kept.append(' rel="noopener noreferrer nofollow"')
        self.out.append(f"<{tag}{''.join(kept)}{' /' if closed else ''}>")
        self.in_style = tag == "style" and not closed

    def handle_endtag(self, tag):
        tag = tag.lower()
        if self.skipping:
            if tag == self.skipping[-1]:
                self.skipping.pop()
            return
        if tag not in _DROPPED and tag not in _DROPPED_WITH_CONTENT:
            self.out.append(f"</{tag}>")
        if tag == "style":
            self.in_style = False

    def handle_data(self, data):
        if self.skipping:
            return
        if self.in_style:
            self.out.append(_CSS_URL.sub("", data).replace("</", "<\\/"))
        else:
            self.out.append(html.escape(data, quote=False))

    def handle_decl(self, decl):
        if decl.lower().startswith("doctype"):
            self.out.append(f"<!{decl}>")


def sanitise_html(page: str) -> str:
    """`page` without scripts, event handlers or remote resources, and at most MAX_FEEDBACK_BYTES."""
    parser = _Sanitiser()
    parser.feed(page)
    parser.close()
    clean = "".join(parser.out)
    if len(clean.encode()) > MAX_FEEDBACK_BYTES:
        cut = clean.encode()[:MAX_FEEDBACK_BYTES].decode(errors="ignore")
        clean = cut + "<p><b>The feedback was cut here: the notebook's outputs are too large.</b></p>"
    return clean


def sanitise_folder(folder) -> None:
    """Sanitises every feedback page under `folder` in place."""
    from pathlib import Path

    for page in Path(folder).rglob("*.html"):
        page.write_text(sanitise_html(page.read_text(errors="replace")))
