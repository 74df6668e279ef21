"""Grades for a learning platform: CSV files that Canvas's and Moodle's gradebook imports read,
written beside grades.csv from the same gradebook rows.

- Canvas (Grades > Import): columns Student, ID, SIS User ID, SIS Login ID, Section, then one column
  per assignment, and a "Points Possible" row. Canvas matches learners on ID (its user id: the
  roster's lms_id) or SIS Login ID (the learner's name here); an unknown assignment column becomes a
  new assignment.
- Moodle (Grades > Import > CSV file): any columns; the instructor maps one identifying column
  (Username, ID number or Email address) to the user field and each assignment column to a grade item.
"""
from __future__ import annotations

import csv
from pathlib import Path

CANVAS_CSV = "grades-canvas.csv"
MOODLE_CSV = "grades-moodle.csv"


def write(root: Path, assignments: list[tuple[str, float]], learners: list[dict]) -> list[Path]:
    """`assignments`: (name, max score); `learners`: dicts with id, first_name, last_name, email,
    lms_user_id and scores {assignment: final score}. Returns the files written."""
    names = [name for name, _ in assignments]
    canvas = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", *names],
              ["Points Possible", "", "", "", "", *[_number(top) for _, top in assignments]]]
    moodle = [["Username", "ID number", "First name", "Last name", "Email address", *names]]
    for person in learners:
        full = ", ".join(p for p in (person.get("last_name"), person.get("first_name")) if p) or person["id"]
        scores = [_number(person["scores"].get(name, 0.0)) for name in names]
        canvas.append([full, person.get("lms_user_id") or "", "", person["id"], "", *scores])
        moodle.append([person["id"], person.get("lms_user_id") or "", person.get("first_name") or "",
                       person.get("last_name") or "", person.get("email") or "", *scores])
    return [_write(root / CANVAS_CSV, canvas), _write(root / MOODLE_CSV, moodle)]


def _number(value) -> str:
    return "" if value is None else f"{float(value):g}"


def _cell(value: str) -> str:
    # A field a spreadsheet would run as a formula (=, +, -, @ first) is kept as text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(value) else value


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def _write(path: Path, rows: list[list[str]]) -> Path:
    import os

    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        for row in rows:
            writer.writerow([_cell(str(v)) for v in row])
    os.replace(partial, path)
    return path
