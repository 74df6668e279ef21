"""portalit.check: a part's visible tests in the learner's namespace, hidden tests never, hints in tiers."""
from __future__ import annotations

import json
import tomllib

import nbformat
import pytest
from nbclient import NotebookClient

from portalit import hints
from portalit.errors import PortalitError

from ..autograder import simulated_class
from ..conftest import ROOT

SETS = sorted(p.name for p in (ROOT / "exercises").iterdir() if p.is_dir())


def _cell(kind, source, **nbgrader):
    cell = (nbformat.v4.new_markdown_cell if kind == "md" else nbformat.v4.new_code_cell)(source)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, "locked": True, "task": False, **nbgrader}
    return cell


def _toy(folder, name="ps01.ipynb"):
    """Two parts; Part 2's hidden tests would fail and print a secret if they ever ran."""
    nb = nbformat.v4.new_notebook(cells=[
        _cell("md", "## Part 1 (2 points): double"),
        _cell("code", "def double(x):\n    raise NotImplementedError()", solution=True, grade=False, grade_id="double"),
        _cell("code", "from portalit import grading\ngrading.check_equal(double(2), 4, 'double(2)')\nprint('checked 2')",
              solution=False, grade=True, grade_id="test_capital_prompt", points=2),
        _cell("md", "## Part 2 (1 point): name"),
        _cell("code", "assert isinstance(NAME, str), 'NAME should be text'\n### BEGIN HIDDEN TESTS\n"
              "print('SECRET 42')\nassert NAME == 'never'\n### END HIDDEN TESTS",
              solution=False, grade=True, grade_id="test_name", points=1),
    ])
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_a_failing_part_shows_why_and_a_deeper_hint_each_time_until_it_passes(tmp_path):
    path = _toy(tmp_path)
    tiers = hints.hints_for("ps01")["test_capital_prompt"]
    namespace = {}
    exec("def double(x):\n    return x + 1", namespace)
    seen = []
    for _ in range(4):
        (result,) = hints.run(1, namespace=namespace, notebook=path)
        assert not result.passed and "double(2)" in result.message
        seen.append(result.hint)
    assert seen == [f"hint {t} of 3: {tiers[t - 1]}" for t in (1, 2, 3, 3)]
    exec("def double(x):\n    return 2 * x", namespace)
    (result,) = hints.run("part1", namespace=namespace, notebook=path)
    assert result.passed and result.hint is None and "checked 2" in result.output
    exec("def double(x):\n    return x", namespace)
    assert hints.run(1, namespace=namespace, notebook=path)[0].hint.startswith("hint 1 of 3")  # a pass starts over


def test_hidden_tests_never_run(tmp_path):
    path = _toy(tmp_path)
    (result,) = hints.run("test_name", namespace={"NAME": "mine"}, notebook=path)
    assert result.passed and "SECRET" not in result.output
    assert all("SECRET" not in p.visible for p in hints.parts(path))


def test_unanswered_undefined_and_crashing_parts_say_so(tmp_path, capsys):
    path = _toy(tmp_path)
    namespace = {}
    exec("def double(x):\n    raise NotImplementedError()", namespace)
    assert "not answered yet" in hints.run(1, namespace=namespace, notebook=path)[0].message
    assert "NAME" in hints.run(2, namespace={}, notebook=path)[0].message
    exec("def double(x):\n    return x / 0", namespace)
    assert hints.run(1, namespace=namespace, notebook=path)[0].message.startswith("ZeroDivisionError")
    hints.check(notebook=path)  # the learner's call prints one report per part
    printed = capsys.readouterr().out
    assert "Part 1 (test_capital_prompt, 2 points): not yet" in printed and "Part 2 (test_name, 1 points)" in printed


def test_bad_part_or_notebook_names_the_choices(tmp_path, monkeypatch):
    path = _toy(tmp_path)
    with pytest.raises(PortalitError, match=r"ps01.ipynb has no part '7'; choose one of: 1, 2"):
        hints.run("7", namespace={}, notebook=path)
    with pytest.raises(PortalitError, match="no notebook at"):
        hints.run(1, namespace={}, notebook=tmp_path / "missing.ipynb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert hints.notebook_path() == path  # the only problem set in the folder
    _toy(tmp_path, "ps02.ipynb")
    with pytest.raises(PortalitError, match=r"ps01.ipynb, ps02.ipynb\); pass it"):
        hints.notebook_path()
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "ps02.ipynb"))  # what Jupyter tells its kernel
    assert hints.notebook_path() == tmp_path / "ps02.ipynb"


@pytest.mark.parametrize("assignment", SETS)
def test_every_autograded_part_has_three_hints_and_no_hint_is_orphaned(assignment):
    grade_ids = [p.grade_id for p in hints.parts(ROOT / "exercises" / assignment / f"{assignment}.ipynb")]
    source = ROOT / "src" / "portalit" / "hints" / f"{assignment}.toml"
    table = tomllib.loads(source.read_text())
    assert list(table) == grade_ids, "one table per test cell, in notebook order"
    for grade_id, entry in table.items():
        assert len(entry["hints"]) == 3 and all(h.strip() for h in entry["hints"]), grade_id


def _executed(folder, wrong: str | None):
    """ps03 as a learner who solved it (or got cosine wrong) has it, run top to bottom in a real
    kernel, then check() in the same kernel: which test cells failed, and what check() said."""
    master = nbformat.read(ROOT / "solutions" / "ps03" / "ps03.ipynb", as_version=4)
    release = nbformat.read(ROOT / "exercises" / "ps03" / "ps03.ipynb", as_version=4)
    nb = simulated_class._as_submitted(master, release)
    if wrong:
        next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "vector_cosine").source = wrong
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json, portalit, portalit.hints as h\nprint(json.dumps({r.part.grade_id: r.passed for r in h.run()}))\n"
        "portalit.check(1)"))
    nbformat.write(nb, folder / "ps03.ipynb")
    NotebookClient(nb, kernel_name="portalit-local-cpu", timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    failed = {c.metadata["nbgrader"]["grade_id"]: any(o.output_type == "error" for o in c.outputs)
              for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}
    texts = [o.get("text", "") for o in nb.cells[-1].outputs]
    return failed, json.loads(texts[0].splitlines()[0]), "".join(texts)


@pytest.mark.parametrize("wrong", [None, simulated_class.WRONG_COSINE], ids=["solved", "wrong-cosine"])
def test_check_agrees_with_the_visible_tests_the_grader_runs(tmp_path, wrong, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    failed, passed, printed = _executed(tmp_path, wrong)
    assert passed == {grade_id: not f for grade_id, f in failed.items()}
    assert passed["test_vector_cosine"] is (wrong is None)
    if wrong:
        assert "Part 1 (test_vector_cosine, 2 points): not yet" in printed and "hint 2 of 3" in printed  # run() above was the first failing check
    else:
        assert all(passed.values()) and "visible tests pass" in printed
