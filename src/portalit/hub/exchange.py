"""nbgrader's collect step, hardened for a class of real accounts.

In nbgrader's exchange every learner can write into inbound/, and a submission is a folder named
`<learner>+<assignment>+<timestamp>+<random>` whose timestamp.txt the learner writes. Its own
collect only warns when a folder's owner is not the learner it names, copies what links point to,
and trusts the timestamp. So a learner could submit in another's name (replacing their work), hand
in the instructor's files through a link, or backdate a late submission. This collect:

- refuses a submission whose folder is not owned by the account it names, or that holds a link or
  anything but plain files and folders, or more than MAX_FILES files / MAX_BYTES bytes;
- records as the submission time when the exchange last saw it change (the newest inode change
  time in the folder, which no learner can set back), not what timestamp.txt claims.

Use it with `c.ExchangeFactory.collect = "portalit.hub.exchange.CheckedCollect"` (hub init does).
"""
from __future__ import annotations

import datetime
import os
import pwd
import stat

from nbgrader.exchange.default.collect import ExchangeCollect

MAX_FILES = 200
MAX_BYTES = 100_000_000
REFUSED = "\0refused:"  # a username no account can have: groups a refused folder apart


class CheckedCollect(ExchangeCollect):

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        problem, received = inspect(path, record["username"])
        if problem:
            self.log.error("Refused %s: %s", record["filename"], problem)
            record["username"] = REFUSED + record["filename"]
        else:
            record["received"] = received
        return record

    def init_src(self):
        super().init_src()
        self.src_records = [r for r in self.src_records if not r["username"].startswith(REFUSED)]
        self.received = {r["filename"]: r["received"] for r in self.src_records}

    def do_copy(self, src, dest):
        super().do_copy(src, dest)
        received = self.received[os.path.basename(src)]
        with open(os.path.join(dest, "timestamp.txt"), "w") as handle:
            handle.write(received.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def inspect(path: str, learner: str) -> tuple[str | None, datetime.datetime | None]:
    """(why the submission folder at `path` is refused, or None; when it last changed, in UTC)."""
    try:
        top = os.lstat(path)
    except OSError as e:
        return f"cannot be read: {e.strerror}", None
    if not stat.S_ISDIR(top.st_mode):
        return "not a folder (a link or a file)", None
    owner = _account(top.st_uid)
    if owner != learner:
        return f"named for {learner!r} but owned by {owner!r}", None
    newest, files, size = top.st_ctime, 0, 0
    for folder, dirs, names in os.walk(path):  # os.walk does not follow links into folders
        for name in dirs + names:
            entry = os.lstat(os.path.join(folder, name))
            if not (stat.S_ISREG(entry.st_mode) or stat.S_ISDIR(entry.st_mode)):
                return f"holds {os.path.relpath(os.path.join(folder, name), path)!r}, which is a link or a special file", None
            if entry.st_uid != top.st_uid:
                return f"holds {os.path.relpath(os.path.join(folder, name), path)!r}, owned by {_account(entry.st_uid)!r}", None
            newest = max(newest, entry.st_ctime)
            if stat.S_ISREG(entry.st_mode):
                files, size = files + 1, size + entry.st_size
        if files > MAX_FILES or size > MAX_BYTES:
            return f"more than {MAX_FILES} files or {MAX_BYTES // 1_000_000} MB", None
    return None, datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).replace(tzinfo=None)


def _account(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"
