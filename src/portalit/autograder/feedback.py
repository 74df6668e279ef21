"""Feedback is what learners see: hidden tests gone, and no traceback that quotes a hidden test's code."""
from __future__ import annotations

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
