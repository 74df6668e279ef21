"""Process plumbing of the pool: is a worker alive, stop it and what it started, one line of an error."""
from __future__ import annotations

import os
import signal



def first_line(error) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:300] if text else ""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # the fork server reaps its children at once, so a dead worker is gone
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pid) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)  # a worker leads its own process group
    except (ProcessLookupError, PermissionError):
        pass
