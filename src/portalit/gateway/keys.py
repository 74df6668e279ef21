"""Learners' API keys: random, shown once (a file only its owner can read), stored as hashes.

A key is 256 random bits, so a plain SHA-256 of it cannot be reversed or guessed from the
database; no per-key salt is needed (that is for passwords people choose).
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import secrets
from pathlib import Path

PREFIX = "plk-"


def new_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a, b)


def bearer(header: str | None) -> str | None:
    """The key from an `Authorization: Bearer KEY` header, or None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def write_once(path: Path, rows: list[tuple[str, str]]) -> None:
    """learner,key rows into a new file that only its owner can read; never overwrites one."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")  # no \r for a learner to copy along with their key
    writer.writerow(["learner", "key"])
    writer.writerows(rows)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", newline="") as handle:
        handle.write(text.getvalue())


def read(path: Path) -> dict[str, str]:
    """learner -> key from a keys file (the hub hands each learner theirs)."""
    with open(path, newline="") as handle:
        return {row["learner"]: row["key"] for row in csv.DictReader(handle)}


def read_all(directory: Path) -> dict[str, str]:
    """Every key a gateway handed out: keys.csv, then the files of learners added later."""
    issued = {}
    for path in [directory / "keys.csv", *sorted(directory.glob("keys-added-*.csv"))]:
        issued.update(read(path))
    return issued
