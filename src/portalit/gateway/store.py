"""The gateway's state in SQLite: learners with their key hashes, and tokens used per learner per
day (so the daily quota survives a restart). One writer (the gateway); WAL lets `usage` read
while it runs."""
from __future__ import annotations

import datetime
import json
import sqlite3
import time
from pathlib import Path

from ..errors import PortalitError

FILE = "gateway.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS learners (name TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS usage (
    learner TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
    refused INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (learner, day));
"""


def today() -> str:
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


class Store:
    def __init__(self, directory: Path, create: bool = False):
        path = Path(directory) / FILE
        if not create and not path.exists():
            raise PortalitError(f"no gateway in {directory} (no {FILE}); make one with "
                                f"`portalit gateway init ROSTER.csv --out {directory}`")
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.db.executescript(SCHEMA)
        if "limits" not in [row[1] for row in self.db.execute("PRAGMA table_info(learners)")]:
            self.db.execute("ALTER TABLE learners ADD COLUMN limits TEXT")  # per-learner overrides (JSON)

    def add_learners(self, hashes: dict[str, str], overrides: dict[str, dict] | None = None) -> None:
        now, overrides = time.time(), overrides or {}
        with self.db:
            self.db.executemany("INSERT INTO learners (name, key_hash, created, limits) VALUES (?, ?, ?, ?)",
                                [(n, h, now, json.dumps(overrides[n]) if overrides.get(n) else None)
                                 for n, h in hashes.items()])

    def overrides(self) -> dict[str, dict]:
        """learner -> their own limits, where the roster set any."""
        return {n: json.loads(v) for n, v in self.db.execute("SELECT name, limits FROM learners WHERE limits IS NOT NULL")}

    def learners(self) -> dict[str, str]:
        """key hash -> learner."""
        return {h: n for n, h in self.db.execute("SELECT name, key_hash FROM learners")}

    def names(self) -> list[str]:
        return [n for (n,) in self.db.execute("SELECT name FROM learners ORDER BY name")]

    def record(self, learner: str, prompt: int = 0, completion: int = 0, refused: bool = False) -> None:
        self.db.execute(
            "INSERT INTO usage (learner, day, requests, prompt_tokens, completion_tokens, refused) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (learner, day) DO UPDATE SET requests = requests + excluded.requests, "
            "prompt_tokens = prompt_tokens + excluded.prompt_tokens, "
            "completion_tokens = completion_tokens + excluded.completion_tokens, refused = refused + excluded.refused",
            (learner, today(), 0 if refused else 1, prompt, completion, int(refused)))

    def tokens_today(self, learner: str) -> int:
        row = self.db.execute("SELECT prompt_tokens + completion_tokens FROM usage WHERE learner = ? AND day = ?",
                              (learner, today())).fetchone()
        return row[0] if row else 0

    def report(self, day: str | None = None) -> list[dict]:
        day = day or today()
        rows = {n: {"learner": n, "requests": 0, "prompt_tokens": 0, "completion_tokens": 0, "refused": 0}
                for n in self.names()}
        for learner, requests, prompt, completion, refused in self.db.execute(
                "SELECT learner, requests, prompt_tokens, completion_tokens, refused FROM usage WHERE day = ?", (day,)):
            rows.setdefault(learner, {"learner": learner}).update(
                requests=requests, prompt_tokens=prompt, completion_tokens=completion, refused=refused)
        for row in rows.values():
            row["total_tokens"] = row["prompt_tokens"] + row["completion_tokens"]
        return list(rows.values())
