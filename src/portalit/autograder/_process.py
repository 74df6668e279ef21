"""Process plumbing shared by the pool, the fork server, the workers and their kernels."""
from __future__ import annotations

import os
import signal
import sys


def die_with_parent() -> None:
    """Linux: be killed when the parent exits, so nothing outlives a run that was killed outright
    (the fork server exits when its pool's process does, then its workers, then their kernels)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


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
        os.killpg(pid, signal.SIGKILL)  # a worker leads its own process group: its kernels included
    except (ProcessLookupError, PermissionError):
        pass
