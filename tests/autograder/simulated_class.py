"""A simulated class for problem set 3 (words as vectors): 32 submissions built from the master
notebook, each with the total score a fair grader must give it, or the error it must report.

Parts (2 points each): test_vector_cosine, test_nearest, test_analogy_3cosadd, test_same_as_only_b,
test_gender_score. Expected scores follow from what each submission does, part by part (the
comment beside each says why); none is copied from a grader's output.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat

ASSIGNMENT = "ps03"
CELL_TIMEOUT_S = 20  # short, so the hung submissions cost little; every healthy cell takes < 5 s

WRONG_COSINE = '''
def vector(word):
    return glove.vectors[glove.index[word.lower()]]


def cosine(u, v):
    return float(np.dot(u, v))  # forgot to divide by the lengths
'''

NEAREST_WITH_SELF = '''
def nearest(word, k=5):
    scores = glove.unit @ glove.unit[glove.index[word.lower()]]
    return [glove.words[i] for i in np.argsort(-scores)[:k]]  # the word itself comes first
'''

NEAREST_HARDCODED = '''
def nearest(word, k=5):
    return ['snake', 'ape', 'toad', 'monkey', 'spider'][:k]  # passes the visible test only
'''

ANALOGY_NO_EXCLUSION = '''
def analogy_3cosadd(a, b, c):
    rows = [glove.index[w] for w in (a, b, c)]
    target = glove.unit[rows[1]] - glove.unit[rows[0]] + glove.unit[rows[2]]
    return glove.words[int(np.argmax(glove.unit @ target))]  # inputs not excluded: "king"
'''

HUNG_LOOP = '''
while True:  # never ends; nbgrader interrupts it at the timeout and moves on
    pass
'''

SWALLOWS_INTERRUPT = '''
import time
while True:
    try:
        time.sleep(0.5)
    except BaseException:  # swallows the KeyboardInterrupt sent at the timeout
        pass
'''

CRASH = '''
import os
os._exit(1)  # the kernel process dies
'''

SYNTAX_ERROR = '''
def vector(word)
    return glove.vectors[glove.index[word]]
'''

# Right answers, but from the reference functions the parts ask to write by hand (read from the
# source by grading.check_by_hand, however the call is dressed up).
COSINE_BY_REFERENCE = '''
def vector(word):
    return glove.vectors[glove.index[word.lower()]]


def cosine(u, v):
    return float(portalit.geometry.cosine(u, v))
'''

NEAREST_THROUGH_AN_ALIAS = '''
g = geometry


def nearest(word, k=5):
    return [w for w, _ in g.neighbours(word, k)]
'''

NOT_IMPLEMENTED = "# YOUR CODE HERE\nraise NotImplementedError()"

# student -> (what to do to the master notebook, expected total score or "error")
CASES = {
    **{f"correct-{i:02d}": ([], 10) for i in range(1, 9)},
    "release-01": (["release"], 0),  # untouched: every part raises NotImplementedError
    "release-02": (["release"], 0),
    # cosine wrong: Part 1 and Part 5 (which uses cosine) fail; the others do not use it.
    "wrong-cosine": ([("answer", "vector_cosine", WRONG_COSINE)], 6),
    "wrong-nearest": ([("answer", "nearest", NEAREST_WITH_SELF)], 8),
    # passes the visible test, fails the hidden ones.
    "hidden-fail": ([("answer", "nearest", NEAREST_HARDCODED)], 8),
    # Part 1 (Part 2) gives the right numbers through the library: 0 for that part only.
    "reference-cosine": ([("answer", "vector_cosine", COSINE_BY_REFERENCE)], 8),
    "reference-nearest": ([("answer", "nearest", NEAREST_THROUGH_AN_ALIAS)], 8),
    # Part 3 fails (king - man + woman gives "king"), and so does Part 4, which uses it: for
    # slow : slower :: fast : ? the unexcluded answer is "slower", not the only-b "faster".
    "wrong-analogy": ([("answer", "analogy_3cosadd", ANALOGY_NO_EXCLUSION)], 6),
    "partial": ([("answer", "analogy_3cosadd", NOT_IMPLEMENTED), ("answer", "same_as_only_b", NOT_IMPLEMENTED),
                 ("answer", "gender_score", NOT_IMPLEMENTED)], 4),
    # The loop runs before `def nearest`: interrupted, nearest undefined, the rest unaffected.
    "hung-loop": ([("prepend", "nearest", HUNG_LOOP)], 8),
    # Ignores the interrupt: the kernel is restarted in Part 3; Parts 3-5 then lack glove etc.
    "hung-swallows-interrupt": ([("prepend", "analogy_3cosadd", SWALLOWS_INTERRUPT)], 4),
    # The kernel dies in Part 4: Parts 4-5 run in a fresh kernel without earlier definitions.
    "crashes-kernel": ([("prepend", "same_as_only_b", CRASH)], 6),
    "syntax-error": ([("answer", "vector_cosine", SYNTAX_ERROR)], 6),
    # Test cells edited to `pass` (and points raised): nbgrader restores them from the master.
    "tampered-tests": ([("tests", "test_nearest", "pass"), ("points", "test_nearest", 100)], 10),
    "tampered-tests-wrong": ([("tests", "test_nearest", "pass"), ("answer", "nearest", NEAREST_WITH_SELF)], 8),
    # Deleted test cells are put back, so the parts are still graded.
    "deleted-tests": ([("delete", "test_nearest"), ("delete", "test_gender_score")], 10),
    "deleted-tests-wrong": ([("delete", "test_nearest"), ("answer", "nearest", NEAREST_WITH_SELF)], 8),
    "duplicated-test": ([("duplicate", "test_vector_cosine")], 10),
    "duplicated-answer": ([("duplicate", "nearest")], 10),
    "other-kernel": ([("kernelspec", "python3")], 10),  # nbgrader grades with the master's kernel
    "extra-cells": ([("extra", "print('trying things out')\nx = nearest('cat', 3)")], 10),
    "corrupted-json": (["corrupt"], "error"),
    "not-a-notebook": (["not-notebook"], "error"),
    "missing-notebook": (["missing"], "error"),
}


def expected_scores() -> dict:
    return {student: expected for student, (_, expected) in CASES.items()}


def build(course: Path) -> dict:
    """Writes submitted/<student>/ps03/ for every case; returns student -> expected score."""
    master = nbformat.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    for student, (actions, _) in CASES.items():
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
        path = folder / f"{ASSIGNMENT}.ipynb"
        if "corrupt" in actions:
            text = nbformat.writes(release)
            path.write_text(text[: len(text) // 2])  # cut off mid-file: not JSON
            continue
        if "not-notebook" in actions:
            path.write_text(json.dumps({"answer": 42}))
            continue
        if "missing" in actions:
            (folder / "my_work.ipynb").write_text(nbformat.writes(release))
            continue
        nb = copy.deepcopy(release if "release" in actions else _as_submitted(master, release))
        for action in actions:
            if isinstance(action, tuple):
                _apply(nb, *action)
        nbformat.write(nb, path)
    return expected_scores()


def _as_submitted(master, release):
    """What a learner who solved everything submits: the release with the master's answers."""
    nb = copy.deepcopy(release)
    answers = {c.id: c.source for c in master.cells if c.metadata.get("nbgrader", {}).get("solution")}
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = _strip_markers(answers[cell.id])
    return nb


def _strip_markers(source: str) -> str:
    return "\n".join(line for line in source.splitlines()
                     if "### BEGIN SOLUTION" not in line and "### END SOLUTION" not in line)


def _index(nb, cell_id):
    return next(i for i, c in enumerate(nb.cells) if c.id == cell_id)


def _apply(nb, kind, target, value=None):
    if kind in ("answer", "tests"):
        nb.cells[_index(nb, target)].source = value.strip("\n")
    elif kind == "prepend":
        cell = nb.cells[_index(nb, target)]
        cell.source = value.strip("\n") + "\n\n" + cell.source
    elif kind == "points":
        nb.cells[_index(nb, target)].metadata.nbgrader["points"] = value
    elif kind == "delete":
        del nb.cells[_index(nb, target)]
    elif kind == "duplicate":
        i = _index(nb, target)
        twin = copy.deepcopy(nb.cells[i])
        twin.id = f"{target}-copy"
        nb.cells.insert(i + 1, twin)
    elif kind == "kernelspec":
        nb.metadata.kernelspec = {"name": target, "display_name": target, "language": "python"}
    elif kind == "extra":
        nb.cells.append(nbformat.v4.new_code_cell(target))
    else:
        raise ValueError(kind)
