"""The course gradebook (nbgrader's SQLite database): the assignment recorded, a blank template for
the workers, one student's grades merged in as each finishes, and grades.csv exported."""
from __future__ import annotations

import os
import shutil
import sqlite3
import warnings
from pathlib import Path

from ..errors import PortalitError
from . import exports
from .course import GRADES_CSV, Course, generate_release


def ensure_assignment(course: Course, assignment: str) -> None:
    """The assignment and its cells must be in the gradebook; if not, record them from the source
    (nbgrader generate_assignment into a scratch release folder, so exercises/ is not touched)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            if gb.find_assignment(assignment).notebooks:
                return
        except MissingEntry:
            pass
    scratch = course.state(assignment) / "release"
    shutil.rmtree(scratch, ignore_errors=True)
    generate_release(course.root, assignment, release_directory=scratch)
    shutil.rmtree(scratch, ignore_errors=True)


SUBMISSION_TABLES = ("grade", "comment", "submitted_notebook", "submitted_assignment", "student")


def blank_template(course: Course, state: Path) -> Path:
    """A copy of the course gradebook without any student or submission: each worker's start."""
    source = sqlite_path(course.db_url)
    template = state / "template.db"
    partial = state / "template.db.partial"
    with sqlite3.connect(source) as src, sqlite3.connect(partial) as dst:
        src.backup(dst)
    with sqlite3.connect(partial) as db:
        for table in SUBMISSION_TABLES:
            db.execute(f"DELETE FROM {table}")
    sqlite3.connect(partial).execute("VACUUM").connection.close()
    os.replace(partial, template)
    return template


def sqlite_path(db_url: str) -> str:
    if not db_url.startswith("sqlite:///"):
        raise PortalitError(f"portalit grade needs an SQLite gradebook; the course's db_url is {db_url!r}")
    return db_url[len("sqlite:///"):]


def merge(course: Course, assignment: str, student: str, work_db: str) -> None:
    """Copy one student's autograded submission from a worker's gradebook into the course's."""
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import SAWarning

    with warnings.catch_warnings(), Gradebook(work_db, course.course_id) as wb, \
            Gradebook(course.db_url, course.course_id) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush
        graded = wb.find_submission(assignment, student)
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)
        gb.update_or_create_submission(assignment, student, timestamp=graded.timestamp)
        for notebook in graded.notebooks:
            target = gb.find_submission_notebook(notebook.name, assignment, student)
            target.flagged = notebook.flagged
            target.late_submission_penalty = notebook.late_submission_penalty
            for grade in notebook.grades:
                into = gb.find_grade(grade.name, notebook.name, assignment, student)
                into.auto_score = grade.auto_score
                into.needs_manual_grade = grade.needs_manual_grade
                if into.manual_score is None:
                    into.extra_credit = grade.extra_credit
            for comment in notebook.comments:
                into = gb.find_comment(comment.name, notebook.name, assignment, student)
                into.auto_comment = comment.auto_comment
        gb.db.commit()


def ensure_student(course: Course, student: str) -> None:
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            gb.find_student(student)
        except MissingEntry:
            gb.add_student(student)


CSV_COLUMNS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score"]


def export_csv(course: Course) -> Path:
    """grades.csv with nbgrader's columns (its CsvExportPlugin's), every field quoted as CSV needs:
    a name or an email with a comma, a quote or a line break stays in its own field; and the same
    scores as Canvas and Moodle import files (exports.py)."""
    import csv

    from nbgrader.api import Gradebook, MissingEntry

    path = course.root / GRADES_CSV
    partial = course.root / f".{GRADES_CSV}.partial"
    learners = {}
    with Gradebook(course.db_url, course.course_id) as gb, open(partial, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        totals = [(a.name, a.max_score) for a in gb.assignments]
        for student in gb.students:
            learners[student.id] = {"id": student.id, "first_name": student.first_name, "last_name": student.last_name,
                                    "email": student.email, "lms_user_id": student.lms_user_id, "scores": {}}
        for assignment in gb.assignments:
            for student in gb.students:
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    timestamp, raw, penalty, score = "", 0.0, 0.0, 0.0
                else:
                    timestamp, raw = submission.timestamp, submission.score
                    penalty = submission.late_submission_penalty
                    score = max(0.0, raw - penalty)
                row = [assignment.name, assignment.duedate, timestamp, student.id, student.last_name,
                       student.first_name, student.email, raw, penalty, score, assignment.max_score]
                writer.writerow(["" if value is None else str(value) for value in row])
                learners[student.id]["scores"][assignment.name] = score
    os.replace(partial, path)
    exports.write(course.root, totals, list(learners.values()))  # Canvas and Moodle, beside it
    return path


def assignment_max(course: Course, assignment: str):
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url, course.course_id) as gb:
        return gb.find_assignment(assignment).max_score
