"""Child processes that die with their parent, so nothing a notebook or a grading run started
outlives it (a crashed kernel leaves no server, a killed run leaves no worker)."""
from __future__ import annotations

import signal
import sys


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Linux: ask the kernel to send `sig` to this process when its parent exits (elsewhere: nothing).

    Call it first thing in a child (a fork, or Popen's preexec_fn).
    """
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


async def stop_signal() -> None:
    """Returns when this process gets SIGINT (Ctrl-C) or SIGTERM: a server's cue to clean up and exit."""
    import asyncio

    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
