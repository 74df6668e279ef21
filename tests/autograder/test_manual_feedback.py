"""Hand grades reach the learner's feedback: before the instructor grades the written answer the page
says it is awaited (not 0 as if final); after a score and a comment are entered in the gradebook as
formgrader does, a rerun of `portalit grade` rewrites that page with them and the right total,
without running the learner's code again or changing any autograded score."""
from __future__ import annotations

import html
import re
import shutil

import nbformat
import pytest

from portalit import autograder
from portalit.autograder import feedback

from ..conftest import ROOT

ASSIGNMENT = "ps06"  # numpy only: the quickest set to grade
# Prepended to a learner's answer cell: a mark that changes on every run of the cell, and an HTML
# output with a script that the page must not carry.
LEARNER_EXTRA = ('import uuid\nprint("run-id", uuid.uuid4().hex)\nfrom IPython.display import HTML, display\n'
                 'display(HTML("<script>alert(1)</script><b>learner-html</b>"))\n\n')
COMMENT = "Clear on the gap; say why retrieval survives centring."
AWAITING = "written answer: awaiting your instructor's grade"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course with ps06 graded for two learners: ada (every part right, a written answer that
    waits for a hand grade) and bo (the untouched release: a blank written answer, 0 and final)."""
    root = tmp_path_factory.mktemp("manual")
    shutil.copytree(ROOT / "solutions" / ASSIGNMENT, root / "solutions" / ASSIGNMENT)
    shutil.copy(ROOT / "nbgrader_config.py", root)
    ada = nbformat.read(ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    cell = next(c for c in ada.cells if c.id == "matched_and_random")
    cell.source = LEARNER_EXTRA + cell.source
    for student, nb in (("ada", ada), ("bo", nbformat.read(ROOT / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                                                           as_version=4))):
        (root / "submitted" / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(nb, root / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    result = autograder.grade_assignment(ASSIGNMENT, workers=2, course_dir=root)
    assert result["graded"] == 2, [(r["student"], r.get("error")) for r in result["students"]]
    return root, result


def page(root, student) -> str:
    return (root / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()


def visible(page: str) -> str:
    """The page's text without tags, entities decoded and whitespace runs collapsed, as a learner reads it."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", page)))


def scores(root, student) -> dict:
    from nbgrader.api import Gradebook

    course = autograder.Course(root)
    with Gradebook(course.db_url, course.course_id) as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: (g.auto_score, g.manual_score) for g in nb.grades}


def assert_safe(page: str) -> None:
    master = (ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_text()
    text = visible(page)
    for hidden in ("BEGIN HIDDEN TESTS", '"clip_random": (A0, B0)', "def _reference(X, Y, t)"):  # hidden tests' code
        assert hidden in master.replace('\\"', '"') and hidden not in text, hidden
    assert "<script>alert" not in page and "learner-html" in text  # the learner's output, sanitised


def test_feedback_says_a_written_answer_is_awaited_until_it_is_graded_by_hand(graded):
    root, result = graded
    rows = {r["student"]: r for r in result["students"]}
    assert rows["ada"]["score"] == 10 and rows["ada"]["max_score"] == 12
    assert "needs a manual grade: written" in rows["ada"]["notes"]
    ada = page(root, "ada")
    assert_safe(ada)
    text = visible(ada)
    assert f"Score so far: 10.0 / 12.0; {AWAITING}" in text
    assert f"Written response ({AWAITING} (2.0 points))" in text  # the contents, not "Score: 0.0 / 2.0"
    assert text.count(AWAITING) == 3  # heading, contents, the answer's own panel
    assert "Score: 0.0 / 2.0" not in text
    # A blank written answer is autograded 0: final, so no "awaiting".
    bo = visible(page(root, "bo"))
    assert "awaiting" not in bo and "Score: 0.0 / 12.0" in bo and "Written response (Score: 0.0 / 2.0)" in bo
    assert result["feedback_updated"] == []  # the workers' pages already show the gradebook's grades


def test_a_hand_grade_and_comment_reach_the_feedback_without_running_anything_again(graded):
    from nbgrader.api import Gradebook

    root, _ = graded
    autograded = root / "autograded" / "ada" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    before_nb, before_bo = autograded.read_bytes(), page(root, "bo")
    run_id = re.search(r"run-id ([0-9a-f]{32})", page(root, "ada")).group(1)
    auto_before = scores(root, "ada")

    course = autograder.Course(root)
    with Gradebook(course.db_url, course.course_id) as gb:  # what formgrader's grade and comment handlers store
        grade = gb.find_grade("written", ASSIGNMENT, ASSIGNMENT, "ada")
        grade.manual_score, grade.extra_credit = 1.5, None
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.find_comment("written", ASSIGNMENT, ASSIGNMENT, "ada").manual_comment = COMMENT
        gb.db.commit()

    again = autograder.grade_assignment(ASSIGNMENT, workers=2, course_dir=root)
    assert again["graded"] == 0 and again["feedback_updated"] == ["ada"]
    rows = {r["student"]: r for r in again["students"]}
    assert rows["ada"]["score"] == 11.5 and rows["ada"]["parts"]["written"] == {"score": 1.5, "max_score": 2}
    assert not any("manual" in n for n in rows["ada"]["notes"])
    assert "feedback rewritten with grades changed in the gradebook: ada" in autograder.render(again)

    ada = page(root, "ada")
    assert_safe(ada)
    text = visible(ada)
    assert "awaiting" not in text
    assert "Score: 11.5 / 12.0" in text and "Written response (Score: 1.5 / 2.0)" in text
    assert f"Comments: {COMMENT}" in text
    # Built from the autograded notebook: the learner's cell was not run again (same run-id), and no
    # autograded score, notebook or other learner's page changed.
    assert re.findall(r"run-id ([0-9a-f]{32})", ada) == [run_id]
    assert autograded.read_bytes() == before_nb and page(root, "bo") == before_bo
    after = scores(root, "ada")
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in auto_before.items()}
    assert after["written"] == (None, 1.5)

    # Nothing changed since: nothing is rewritten. A changed comment alone is rewritten.
    assert autograder.grade_assignment(ASSIGNMENT, workers=2, course_dir=root)["feedback_updated"] == []
    with Gradebook(course.db_url, course.course_id) as gb:
        gb.find_comment("written", ASSIGNMENT, ASSIGNMENT, "ada").manual_comment = "Well argued."
        gb.db.commit()
    assert autograder.grade_assignment(ASSIGNMENT, workers=2, course_dir=root)["feedback_updated"] == ["ada"]
    assert "Comments: Well argued." in visible(page(root, "ada"))

    # A resubmission is graded again (its code runs again); the hand grade and comment stay in the
    # gradebook, so the worker's page (written without them) is rewritten with them.
    (root / "submitted" / "ada" / ASSIGNMENT / "notes.txt").write_text("resubmitted")
    regraded = autograder.grade_assignment(ASSIGNMENT, workers=2, course_dir=root)
    assert regraded["graded"] == 1 and regraded["feedback_updated"] == ["ada"]
    text = visible(page(root, "ada"))
    assert "Score: 11.5 / 12.0" in text and "Comments: Well argued." in text and "awaiting" not in text
    assert re.findall(r"run-id ([0-9a-f]{32})", page(root, "ada")) != [run_id]


def test_a_page_digest_is_read_before_the_notebook_only():
    ours, forged = "ab" * 32, "cd" * 32
    div = '<div data-grades="{}" hidden="" id="portalit-grades"></div>'
    page = f'<body>{div.format(ours)}<div class="border-box-sizing" id="notebook"><p>{div.format(forged)}</p>'
    assert feedback.page_digest(page) == ours
    # A stock page (nbgrader generate_feedback) has none, and a learner's output cannot supply one.
    assert feedback.page_digest(page.replace(div.format(ours), "")) is None
    assert feedback.page_digest("<body><h4>ps06 (Score: 10.0 / 12.0)</h4>") is None
