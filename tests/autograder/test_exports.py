"""Canvas and Moodle import files: the right columns, every learner, formulas kept as text."""
from __future__ import annotations

import csv

from portalit.autograder import exports


def test_canvas_and_moodle_files_hold_every_learner_with_their_scores(tmp_path):
    learners = [
        {"id": "ada", "first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.org", "lms_user_id": "101",
         "scores": {"ps01": 9.5, "ps03": 3.6}},
        {"id": "alan", "first_name": None, "last_name": None, "email": None, "lms_user_id": None, "scores": {}},
        {"id": "eve", "first_name": "=cmd|' /C calc'!A0", "last_name": "+1", "email": "@x", "lms_user_id": "-2",
         "scores": {"ps01": 0.0}},
    ]
    canvas_path, moodle_path = exports.write(tmp_path, [("ps01", 10.0), ("ps03", 10.0)], learners)
    canvas = list(csv.reader(open(canvas_path)))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "ps01", "ps03"]
    assert canvas[1] == ["Points Possible", "", "", "", "", "10", "10"]
    assert canvas[2] == ["Lovelace, Ada", "101", "", "ada", "", "9.5", "3.6"]
    assert canvas[3] == ["alan", "", "", "alan", "", "0", "0"]  # never submitted: 0, still listed
    assert canvas[4][0] == "'+1, =cmd|' /C calc'!A0"
    moodle = list(csv.DictReader(open(moodle_path)))
    assert moodle[0] == {"Username": "ada", "ID number": "101", "First name": "Ada", "Last name": "Lovelace",
                         "Email address": "ada@example.org", "ps01": "9.5", "ps03": "3.6"}
    assert moodle[2]["First name"].startswith("'=") and moodle[2]["Email address"] == "'@x"
    assert moodle[2]["ID number"] == "-2"  # a number is not a formula
