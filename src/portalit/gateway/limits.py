"""Per-learner limits: requests per minute, tokens per minute, requests at once, tokens per day.

A refusal names the limit, its value and when to try again; it costs the model nothing, so one
learner at their limit never slows another. Minute windows live in memory (a restart forgives
at most a minute); the daily count is the store's, so it survives restarts.
"""
from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, replace

from ..errors import PortalitError


@dataclass(frozen=True)
class Limits:
    rpm: int = 30
    tpm: int = 20_000
    parallel: int = 2
    daily_tokens: int = 200_000

    def __post_init__(self):
        for name in ("rpm", "tpm", "parallel", "daily_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                flag = "--" + name.replace("_", "-")
                raise PortalitError(f"{flag} {value!r} must be a whole number of at least 1")


class Refused(Exception):
    def __init__(self, code: str, message: str, retry_after: float):
        super().__init__(message)
        self.code, self.message, self.retry_after = code, message, max(1, math.ceil(retry_after))


class Limiter:
    WINDOW = 60.0

    def __init__(self, limits: Limits, store):
        self.limits, self.store = limits, store
        self.reload()
        self.requests = defaultdict(deque)  # learner -> request start times
        self.tokens = defaultdict(deque)  # learner -> (time, tokens) of finished requests
        self.running = defaultdict(int)

    def reload(self) -> None:
        """Per-learner limits from the roster (a TA with more, say) over the class's."""
        self.own = {n: replace(self.limits, **o) for n, o in self.store.overrides().items()}

    def admit(self, learner: str, now: float | None = None) -> None:
        """Raises Refused, naming the limit; otherwise counts the request as started."""
        now = time.monotonic() if now is None else now
        lim = self.own.get(learner, self.limits)
        requests, tokens = self.requests[learner], self.tokens[learner]
        while requests and now - requests[0] >= self.WINDOW:
            requests.popleft()
        while tokens and now - tokens[0][0] >= self.WINDOW:
            tokens.popleft()
        if self.running[learner] >= lim.parallel:
            raise Refused("parallel", f"{learner}: at most {lim.parallel} requests at once; wait for one to finish", 1)
        if len(requests) >= lim.rpm:
            raise Refused("rpm", f"{learner}: {lim.rpm} requests per minute reached",
                          self.WINDOW - (now - requests[0]))
        used = sum(n for _, n in tokens)
        if used >= lim.tpm:
            raise Refused("tpm", f"{learner}: {lim.tpm} tokens per minute reached", self.WINDOW - (now - tokens[0][0]))
        if self.store.tokens_today(learner) >= lim.daily_tokens:
            raise Refused("daily_tokens", f"{learner}: the daily quota of {lim.daily_tokens} tokens is used up",
                          _seconds_to_midnight_utc())
        requests.append(now)
        self.running[learner] += 1

    def done(self, learner: str, tokens: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self.running[learner] = max(0, self.running[learner] - 1)
        if tokens:
            self.tokens[learner].append((now, tokens))


def _seconds_to_midnight_utc() -> float:
    now = time.time()
    return 86400 - now % 86400
