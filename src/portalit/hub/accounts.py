"""Unix accounts for a class: each learner and instructor is an account of their own, so the
operating system keeps learners out of each other's files and out of the instructors' course.
As root they are created; otherwise they must exist already, and what is missing is named."""
from __future__ import annotations

import grp
import os
import pwd
import subprocess

from ..errors import PortalitError

UID_MIN = 1000  # below this are system accounts (Debian's login.defs); never enrol one in a class
NOBODY = 65534  # the overflow account: many services run as it


def is_root() -> bool:
    return os.geteuid() == 0


def ensure(learners: list[str], instructors: list[str], group: str) -> list[str]:
    """Every account exists, with a home only its owner can open; instructors are in `group`.
    Returns the accounts created now."""
    names = learners + instructors
    missing = [n for n in names if not _exists(n)]
    if missing and not is_root():
        raise PortalitError(f"these accounts do not exist: {', '.join(missing)}; run `portalit hub init` as root "
                            "to create them, or create them first (e.g. `sudo useradd --create-home NAME`)")
    system = [n for n in names if n not in missing and (pwd.getpwnam(n).pw_uid < UID_MIN or pwd.getpwnam(n).pw_uid == NOBODY)]
    if system:
        raise PortalitError(f"{', '.join(system)}: system accounts (uid below {UID_MIN}, or nobody) cannot join a class; "
                            "choose other names")
    for name in missing:
        _run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name])
    if not is_root():
        _check_group(group, instructors)
        return []
    try:
        grp.getgrnam(group)
    except KeyError:
        _run(["groupadd", group])
    for name in instructors:
        _run(["usermod", "--append", "--groups", group, name])
    for name in names:
        home = pwd.getpwnam(name).pw_dir
        if os.path.isdir(home) and not os.path.islink(home):
            os.chmod(home, 0o700)  # learners' homes: their work is theirs alone
    return missing


def ids(name: str) -> tuple[int, int]:
    entry = pwd.getpwnam(name)
    return entry.pw_uid, entry.pw_gid


def _exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _check_group(group: str, instructors: list[str]) -> None:
    try:
        members = set(grp.getgrnam(group).gr_mem)
    except KeyError:
        raise PortalitError(f"group {group!r} does not exist; run as root, or `sudo groupadd {group}` and add "
                            "the instructors to it") from None
    outside = [n for n in instructors if n not in members and grp.getgrgid(pwd.getpwnam(n).pw_gid).gr_name != group]
    if outside:
        raise PortalitError(f"instructors not in group {group!r}: {', '.join(outside)}; "
                            f"`sudo usermod -aG {group} NAME` for each")


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise PortalitError(f"`{' '.join(command)}` failed: {done.stderr.strip() or done.returncode}")
