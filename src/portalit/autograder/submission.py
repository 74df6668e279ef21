"""A submission, copied for grading: every notebook must be readable, and test cells the learner
deleted or duplicated are put right, so every part is graded."""
from __future__ import annotations

import copy
import json
import os
import shutil
import stat
from pathlib import Path

from ._process import first_line


class StudentError(Exception):
    """A problem with one submission, said in one line for the instructor."""


def sanitise(submitted: Path, source: Path, into: Path) -> dict:
    """Copy a submission for grading: every notebook must be readable JSON, and test cells the
    learner deleted are put back where they were (nbgrader overwrites edited ones itself)."""
    import nbformat

    notes = []
    _refuse_links(submitted)
    shutil.copytree(submitted, into, symlinks=True)
    for source_path in sorted(source.glob("*.ipynb")):
        path = into / source_path.name
        if not path.exists():
            raise StudentError(f"the submission has no {source_path.name}; nothing to grade")
        text = path.read_text(errors="replace")
        try:
            json.loads(text)
        except ValueError as e:
            raise StudentError(f"{source_path.name} is not valid JSON ({e}); it cannot be graded: "
                               "ask for a resubmission") from None
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception as e:  # nbformat raises several kinds for a JSON that is not a notebook
            raise StudentError(f"{source_path.name} is not a notebook ({type(e).__name__}: {first_line(e)}); "
                               "ask for a resubmission") from None
        master = nbformat.read(source_path, as_version=4)
        duplicated = _keep_last_of_duplicates(nb)
        restored = _restore_cells(nb, master)
        if duplicated:
            notes.append(f"cells duplicated in {source_path.name}; the last copy of each is graded: "
                         f"{', '.join(duplicated)}")
        if restored:
            notes.append(f"cells deleted from {source_path.name} were put back: {', '.join(restored)}")
        if duplicated or restored:
            nbformat.write(nb, path)
    return {"notes": notes}


MAX_FILES, MAX_BYTES = 1000, 200 * 1024 * 1024


def _refuse_links(folder: Path) -> None:
    """StudentError for a link, a device or a pipe anywhere in the submission, or one too large: a
    submission is plain files, and nothing in it is ever followed elsewhere."""
    count, size = 0, 0
    for parent, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            path = Path(parent, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise StudentError(f"{path.relative_to(folder)} is a symbolic link; links are refused, never followed")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise StudentError(f"{path.relative_to(folder)} is not a plain file; only files and folders are graded")
            count += 1
            size += path.lstat().st_size
    if count > MAX_FILES or size > MAX_BYTES:
        raise StudentError(f"the submission has {count} files and {size / 1e6:.0f} MB; the limits are "
                           f"{MAX_FILES} files and {MAX_BYTES // 2**20} MB")


def _nbgrader_id(cell):
    return (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")


def _keep_last_of_duplicates(nb) -> list[str]:
    """nbgrader keeps the last of duplicated cells but leaves the others with empty metadata, which
    it then rejects as an old format, failing the whole submission: drop their metadata instead."""
    seen, duplicated = set(), []
    for cell in reversed(nb.cells):
        grade_id = _nbgrader_id(cell)
        if grade_id is None:
            continue
        if grade_id in seen:
            del cell.metadata["nbgrader"]
            if grade_id not in duplicated:
                duplicated.append(grade_id)
        seen.add(grade_id)
    return sorted(duplicated)


def _restore_cells(nb, master) -> list[str]:
    """Put back deleted test and read-only cells from the master, each after the nearest earlier
    master cell the submission still has (nbgrader overwrites edited ones itself; an answer cell
    the learner deleted stays deleted)."""
    restored = []
    present = {_nbgrader_id(c) for c in nb.cells} - {None}
    for index, cell in enumerate(master.cells):
        meta = cell.get("metadata", {}).get("nbgrader") or {}
        grade_id = meta.get("grade_id")
        if not grade_id or grade_id in present or not (meta.get("grade") or meta.get("locked")):
            continue
        position = 0
        for earlier in reversed(master.cells[:index]):
            match = next((i for i, c in enumerate(nb.cells)
                          if _nbgrader_id(earlier) and _nbgrader_id(c) == _nbgrader_id(earlier)), None)
            if match is not None:
                position = match + 1
                break
        twin = copy.deepcopy(cell)
        if twin.cell_type == "code":
            twin["outputs"] = []
            twin["execution_count"] = None
        nb.cells.insert(position, twin)
        present.add(grade_id)
        restored.append(grade_id)
    return restored

