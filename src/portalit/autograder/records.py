"""What was graded: a fingerprint of each submission's files and a marker per graded submission, so
an interrupted run loses nothing already graded and a rerun skips it."""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import stat
from pathlib import Path

from .course import Course


def fingerprint(folder: Path) -> str:
    """A digest of every file's name and bytes; links and special files count by what they are, never
    by what they point to (a link to /dev/zero must not be read)."""
    digest = hashlib.sha256()
    for parent, dirs, files in sorted(os.walk(folder, followlinks=False)):
        for name in sorted(files + [d for d in dirs if os.path.islink(os.path.join(parent, d))]):
            path = Path(parent, name)
            digest.update(str(path.relative_to(folder)).encode() + b"\0")
            if path.is_symlink():
                digest.update(b"link:" + os.readlink(path).encode(errors="replace") + b"\0")
            elif stat.S_ISREG(path.lstat().st_mode):
                digest.update(path.read_bytes() + b"\0")
            else:
                digest.update(b"special\0")
    return digest.hexdigest()


def _marker(course: Course, assignment: str, student: str) -> Path:
    return course.state(assignment) / "graded" / f"{student}.json"


def previous(course: Course, assignment: str, student: str, fingerprint: str) -> dict | None:
    """The row of a submission graded earlier from these same files, or None (grade it)."""
    marker = _marker(course, assignment, student)
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if record.get("fingerprint") != fingerprint:
        return None
    if not (course.autograded / student / assignment).is_dir():
        return None
    from nbgrader.api import Gradebook, MissingEntry

    from .feedback import awaiting

    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            submission = gb.find_submission(assignment, student)
        except MissingEntry:
            return None
        score, max_score = submission.score, submission.max_score
        # Written answers graded by hand since (formgrader) no longer wait, and their parts show the
        # hand score; the rest of the notes stand.
        grades = [g for nb in submission.notebooks for g in nb.grades]
        waiting = [g.name for g in grades if awaiting(g)]
        parts = {g.name: {"score": g.score, "max_score": g.max_score} for g in grades}
    notes = [n for n in record["row"].get("notes", []) if not n.startswith("needs a manual grade")]
    if waiting:
        notes.append(f"needs a manual grade: {', '.join(waiting)}")
    return {**record["row"], "status": "skipped", "score": score, "max_score": max_score, "parts": parts,
            "notes": notes, "seconds": 0.0}


def record(course: Course, assignment: str, student: str, fingerprint: str, row: dict) -> None:
    """Marks `student`'s submission graded from the files with this fingerprint (written atomically)."""
    marker = _marker(course, assignment, student)
    marker.parent.mkdir(parents=True, exist_ok=True)
    partial = marker.with_suffix(".partial")
    partial.write_text(json.dumps({"fingerprint": fingerprint, "row": row,
                                   "graded_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}))
    os.replace(partial, marker)
