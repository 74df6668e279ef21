"""Who is in the class: learner and instructor names from the command line or a roster CSV.

A name becomes a Unix account, a JupyterHub user, an nbgrader student id, a folder in the exchange
and a row in every grade export, so it must be valid as all of them at once: a lowercase Unix
account name (JupyterHub lower-cases names at login; useradd refuses most else).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import PortalitError

ACCOUNT_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
ROSTER_COLUMNS = ("learner", "first_name", "last_name", "email", "lms_id")
MAX_ROSTER_BYTES = 5_000_000


@dataclass(frozen=True)
class Person:
    name: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_id: str = ""  # the learner's id in Canvas or Moodle, for the grade exports


def people(value: str, what: str) -> list[Person]:
    """`value` is a comma-separated list of names or the path of a roster CSV (a `learner` column,
    and optionally first_name, last_name, email, lms_id)."""
    value = (value or "").strip()
    if value.lower().endswith(".csv") or Path(value).is_file():
        found = read_roster(Path(value))
    else:
        found = [Person(n.strip()) for n in value.split(",") if n.strip()]
    if not found:
        raise PortalitError(f"--{what}: no names given; pass NAME,NAME,... or a roster .csv with a 'learner' column")
    check_names([p.name for p in found], what)
    return found


def check_names(names: list[str], what: str) -> None:
    bad = [n for n in names if not ACCOUNT_NAME.fullmatch(n)]
    if bad:
        shown = ", ".join(repr(n[:40]) for n in bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise PortalitError(f"--{what}: {shown} cannot be an account name; use 1-32 lowercase letters, digits, "
                            "'_' or '-', starting with a letter or '_'")
    seen, twice = set(), set()
    for n in names:
        (twice if n in seen else seen).add(n)
    if twice:
        raise PortalitError(f"--{what}: listed more than once: {', '.join(sorted(twice))}")


def read_roster(path: Path) -> list[Person]:
    try:
        if path.stat().st_size > MAX_ROSTER_BYTES:
            raise PortalitError(f"roster {path} is larger than {MAX_ROSTER_BYTES // 1_000_000} MB; is it the right file?")
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets often save a byte-order mark
    except (OSError, UnicodeDecodeError) as e:
        raise PortalitError(f"roster {path} could not be read: {type(e).__name__}: {e}") from None
    rows = csv.DictReader(text.splitlines())
    columns = [c.strip() for c in rows.fieldnames or []]
    if "learner" not in columns:
        raise PortalitError(f"roster {path} has no 'learner' column; its columns: {', '.join(columns) or 'none'}; "
                            f"expected {', '.join(ROSTER_COLUMNS)} (only 'learner' is required)")
    found = []
    for number, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if not any(row.values()):
            continue
        if not row.get("learner"):
            raise PortalitError(f"roster {path}, line {number}: the 'learner' field is empty")
        found.append(Person(row["learner"], *(row.get(c, "") for c in ROSTER_COLUMNS[1:])))
    return found
