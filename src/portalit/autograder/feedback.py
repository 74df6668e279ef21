"""Feedback is what learners see: hidden tests gone, no traceback that quotes a hidden test's code,
nothing from a learner's outputs that runs or loads in the page, and a part that waits for a hand
grade saying so (not 0 as if final). Each page carries a digest of the grades it shows, so a rerun
of `portalit grade` rewrites exactly the pages whose grades changed in the gradebook since
(formgrader's manual scores and comments), from the autograded notebook, never running it again."""
from __future__ import annotations

import hashlib
import html
import json
import logging
import re
from html.parser import HTMLParser

from nbconvert.exporters import HTMLExporter
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


# -- parts that wait for a hand grade, and the digest of what a page shows ------------------------

AWAITING = "awaiting your instructor's grade"
FORMAT = 1  # bump when the page shows grades differently: every page is then rewritten once


def awaiting(grade) -> bool:
    """An nbgrader Grade that nobody has scored yet: its 0 is not a grade (formgrader clears
    needs_manual_grade when it stores a manual score; a blank answer is autograded 0, final)."""
    return bool(grade.needs_manual_grade) and grade.manual_score is None


def grades_digest(notebook) -> str:
    """A digest of everything a feedback page shows from the gradebook for one SubmittedNotebook:
    each part's score, maximum and whether it waits for a hand grade, each comment, the late penalty."""
    shown = {"format": FORMAT, "late": notebook.late_submission_penalty,
             "grades": sorted([g.name, g.score, g.max_score, awaiting(g)] for g in notebook.grades),
             "comments": sorted([c.name, c.comment or ""] for c in notebook.comments)}
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


_DIGEST_TAG = re.compile(r'<div\b[^>]*\bid="portalit-grades"[^>]*>')
_DIGEST = re.compile(r'\bdata-grades="([0-9a-f]{64})"')


def page_digest(page: str) -> str | None:
    """The grades digest a (sanitised) feedback page was written with, or None (a stock or older page).
    Read only before the notebook's cells, so nothing a learner wrote or printed can pose as it."""
    tag = _DIGEST_TAG.search(page, 0, max(page.find('id="notebook"'), 0))
    found = _DIGEST.search(tag.group(0)) if tag else None
    return found.group(1) if found else None


class MarkAwaitingGrades(Preprocessor):
    """Marks each graded cell that waits for a hand grade (cell.metadata['portalit']['awaiting_grade']) and
    puts the page's grades digest and the waiting parts in resources["portalit"]. Reads the gradebook only."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        from nbgrader import utils
        from nbgrader.api import Gradebook

        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gb:
            notebook = gb.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
            waiting = {g.name for g in notebook.grades if awaiting(g)}
            digest = grades_digest(notebook)
        labels = []
        for cell in nb.cells:
            cell.metadata.pop("portalit", None)  # never what a submission says about itself
            if utils.is_grade(cell) or utils.is_task(cell):
                wait = cell.metadata.nbgrader.get("grade_id") in waiting
                cell.metadata["portalit"] = {"awaiting_grade": wait}
                if wait:
                    labels.append(_part_name(cell))
        resources["portalit"] = {"grades_digest": digest, "awaiting": labels}
        return nb, resources


def _part_name(cell) -> str:
    return "written answer" if cell.cell_type == "markdown" else "answer"


# nbgrader's feedback template (feedback/index.html.j2), with a part that waits for a hand grade
# shown as waiting, in the heading, the contents and the cell; every other cell is nbgrader's own.
# Its macros (nbgrader_footer: the instructor's comment) are usable here; a child cannot replace them.
TEMPLATE = """{%- extends 'index.html.j2' -%}

{%- macro part_score(cell) -%}
{%- if cell.metadata['portalit'] and cell.metadata['portalit']['awaiting_grade'] -%}
{{ 'written answer' if cell.cell_type == 'markdown' else 'answer' }}: AWAITING (
{{- cell.metadata.nbgrader.points | float | round(2) }} points)
{%- else -%}
Score: {{ cell.metadata.nbgrader.score | float | round(2) }} / {{ cell.metadata.nbgrader.points | float | round(2) }}
{%- endif -%}
{%- endmacro -%}

{%- macro waiting_heading(cell) -%}
<a name="comment-{{ cell.metadata.nbgrader.grade_id }}"></a><a name="{{ cell.metadata.nbgrader.grade_id }}"></a>
<div class="panel-heading">
  <span class="nbgrader-label">{{ "Student's task" if cell.metadata.nbgrader.task else "Student's answer" }}</span>
  <span class="pull-right">{{ part_score(cell) }} <a href="#top">(Top)</a></span>
</div>
{%- endmacro -%}

{% block body %}
<body>
  <a name="top"></a>
  <div hidden id="portalit-grades" data-grades="{{ resources['portalit']['grades_digest'] }}"></div>
  <div class="container">
    <div class="panel panel-default">
      <div class="panel-heading">
        <h4>{{ resources.nbgrader.notebook }} (
        {%- if resources['portalit']['awaiting'] -%}
        Score so far: {{ resources.nbgrader.score | float | round(2) }} / {{ resources.nbgrader.max_score | float | round(2) -}}
        ; {{ resources['portalit']['awaiting'] | unique | join(", ") }}: AWAITING
        {%- else -%}
        Score: {{ resources.nbgrader.score | float | round(2) }} / {{ resources.nbgrader.max_score | float | round(2) }}
        {%- endif -%})</h4>
        <div id="toc">
          <ol>
          {% for cell in nb.cells %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.grade and not cell.metadata.nbgrader.solution %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Test cell</a> ({{ part_score(cell) }})</li>
            {% elif cell.cell_type == "code" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Coding free-response</a> ({{ part_score(cell) }})</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.grade %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Written response</a> ({{ part_score(cell) }})</li>
            {% elif cell.cell_type == "markdown" and cell.metadata.nbgrader and cell.metadata.nbgrader.task %}
            <li><a href="#{{ cell.metadata.nbgrader.grade_id }}">Task</a> ({{ part_score(cell) }})</li>
            {% endif %}
            {% if cell.metadata.nbgrader and cell.metadata.nbgrader.comment %}
            <li><a href="#comment-{{ cell.metadata.nbgrader.grade_id }}">Comment</a></li>
            {% endif %}
          {% endfor %}
          {% if resources.nbgrader.late_penalty > 0 %}
            <li class="late-penalty">Late submission penalty (Score: -{{ resources.nbgrader.late_penalty | float | round(2) }})</li>
          {% endif %}
          </ol>
        </div>
      </div>
      <div class="panel-body">
        <div id="notebook" class="border-box-sizing">
          <div class="container" id="notebook-container">
            {{ super.super() }}
          </div>
        </div>
      </div>
    </div>
  </div>
</body>
{%- endblock body %}

{% block markdowncell scoped %}
{%- if cell.metadata['portalit'] and cell.metadata['portalit']['awaiting_grade'] -%}
<div class="cell border-box-sizing text_cell rendered">
  {{ self.empty_in_prompt() }}
  <div class="panel panel-primary nbgrader_cell">
    {{ waiting_heading(cell) }}
    <div class="panel-body">
      <div class="text_cell_render border-box-sizing rendered_html">
        {{ cell.source | markdown2html | strip_files_prefix }}
      </div>
    </div>
    {{ nbgrader_footer(cell) }}
  </div>
</div>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock markdowncell %}

{% block input %}
{%- if cell.metadata['portalit'] and cell.metadata['portalit']['awaiting_grade'] -%}
  <div class="panel panel-primary nbgrader_cell">
    {{ waiting_heading(cell) }}
    <div class="panel-body">
      <div class="input_area">
        {{ cell.source | highlight_code(metadata=cell.metadata) }}
      </div>
    </div>
    {{ nbgrader_footer(cell) }}
  </div>
{%- else -%}
{{ super() }}
{%- endif -%}
{% endblock input %}
""".replace("AWAITING", AWAITING)

TEMPLATE_FILE = "portalit_feedback.html.j2"


class FeedbackExporter(HTMLExporter):
    """nbgrader's feedback page (GenerateFeedback sets its template and folders on HTMLExporter's
    config, which this inherits) drawn with TEMPLATE, after MarkAwaitingGrades."""

    def __init__(self, **kwargs):
        from jinja2 import DictLoader

        super().__init__(extra_loaders=[DictLoader({TEMPLATE_FILE: TEMPLATE})], **kwargs)
        self.template_file = TEMPLATE_FILE
        self.register_preprocessor(MarkAwaitingGrades(parent=self), enabled=True)


def converter(coursedir, config):
    """nbgrader's GenerateFeedback for `coursedir`, with the course's preprocessors (nbgrader_config.py:
    hidden tests removed, short errors) and FeedbackExporter's page. Reads autograded notebooks and the
    gradebook; runs nothing."""
    from nbgrader.converters import GenerateFeedback

    generate = GenerateFeedback(coursedir=coursedir, config=config)
    generate.exporter_class = FeedbackExporter
    generate.force = True
    return generate


def refresh(course, assignment: str, student: str) -> bool:
    """Rewrites `student`'s feedback on `assignment` if any page is missing or shows other grades than
    the course gradebook holds now (an instructor scored or commented in formgrader since). Built from
    the autograded notebooks like the first time: nothing runs, no score is written. Returns whether
    it rewrote them."""
    from nbgrader.api import Gradebook

    notebooks = sorted(p.stem for p in (course.autograded / student / assignment).glob("*.ipynb"))
    with Gradebook(course.db_url, course.course_id) as gb:
        wanted = {nb: grades_digest(gb.find_submission_notebook(nb, assignment, student)) for nb in notebooks}
    pages = course.feedback / student / assignment
    if all(_digest_of(pages / f"{nb}.html") == digest for nb, digest in wanted.items()):
        return False
    _write(course, assignment, student)
    return True


def _digest_of(page) -> str | None:
    try:
        return page_digest(page.read_text(errors="replace"))
    except OSError:
        return None


def _write(course, assignment: str, student: str) -> None:
    """GenerateFeedback into a scratch folder, sanitised, then put in place of the old pages at once."""
    import shutil

    from nbgrader.coursedir import CourseDirectory

    from .course import load_config
    from .pool import replace_dir

    scratch = course.state(assignment) / "feedback"
    shutil.rmtree(scratch, ignore_errors=True)
    config = load_config(course.root)
    config.CourseDirectory.update(root=str(course.root), assignment_id=assignment, student_id=student,
                                  feedback_directory=str(scratch))
    errors = _Errors()
    logger = logging.getLogger("traitlets")
    saved = logger.handlers, logger.propagate, logger.level
    # nbgrader logs each step; keep only why it failed, for the run's report
    logger.handlers, logger.propagate = [errors], False
    logger.setLevel(logging.ERROR)
    try:
        converter(CourseDirectory(config=config), config).start()
    except Exception as e:
        raise RuntimeError(errors.first or f"{type(e).__name__}: {e}") from None
    finally:
        logger.handlers, logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])
    made = scratch / student / assignment
    sanitise_folder(made)
    replace_dir(made, course.feedback / student / assignment)
    shutil.rmtree(scratch, ignore_errors=True)


class _Errors(logging.Handler):
    """Keeps the first line that says why nbgrader failed (the last line of its first traceback)."""

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.first = ""

    def emit(self, record):
        lines = [line for line in record.getMessage().strip().splitlines() if line.strip()]
        if lines and lines[0].startswith("Traceback") and not self.first:
            self.first = lines[-1][:300]


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
