"""Running a model you own: `portalit serve` as a child process, concurrent load on it, and its sockets.

Lesson 08 uses these to measure what a self-hosted endpoint does under load and to show, from the
operating system's own socket table, that serving it opens no connection off the machine.
"""
from __future__ import annotations

import atexit
import ipaddress
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import models
from .processes import die_with_parent
from .errors import PortalitError

_READY = re.compile(r"portalit serve: .* on (http://\S+/v1)")


class ServerProcess:
    """A running `portalit serve` child process: `url`, `pid`, `command`, `log_path`; `stop()` ends it."""

    def __init__(self, proc: subprocess.Popen, url: str, command: list[str], log_path: Path):
        self.proc, self.url, self.command, self.log_path = proc, url, command, log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def log(self) -> list[str]:
        """The server's log so far: one line per request (client address, method, path, status)."""
        return self.log_path.read_text(errors="replace").splitlines()

    def stop(self, timeout: float = 10.0) -> None:
        """Terminates the process (kills it if it does not exit within `timeout` seconds)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running() else f"exited {self.proc.returncode}"
        return f"{type(self).__name__}(pid={self.pid}, url={self.url!r}, {state})"


def start_server(port: int = 0, model: str = models.DEFAULT_CHAT, timeout: float = 120.0) -> ServerProcess:
    """Runs `portalit serve --host 127.0.0.1 --port PORT` as a child process; returns once it is ready.

    port=0 lets the operating system pick a free port. The server's output goes to a log file
    (`log_path`), and the process is stopped when this Python process exits.
    """
    command = [sys.executable, "-m", "portalit.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--model", model]
    return _run(ServerProcess, command, _READY, "portalit serve", timeout)


class GatewayProcess(ServerProcess):
    """A running `portalit gateway serve`: `url`, `directory`, and each learner's key, which never
    reaches the notebook: `key_variable(learner)` puts it in an environment variable and names that."""

    directory: Path

    def key_variable(self, learner: str) -> str:
        import csv
        import os

        with open(self.directory / "keys.csv", newline="") as handle:
            issued = {row["learner"]: row["key"] for row in csv.DictReader(handle)}
        if learner not in issued:
            raise PortalitError(f"no learner {learner!r} in this gateway; choose one of: {', '.join(issued)}")
        name = "PORTALIT_KEY_" + re.sub(r"[^A-Z0-9]", "_", learner.upper())
        os.environ[name] = issued[learner]
        return name

    def usage(self) -> list[dict]:
        """Today's requests, tokens and refusals per learner, as `portalit gateway usage` reports them."""
        from .gateway import usage

        return usage(self.directory)["learners"]

    def restart(self, timeout: float = 120.0) -> None:
        """Stops the gateway and starts it again on the same directory and port, as an instructor
        would after a crash or a reboot: the keys and the daily counts are the directory's, so they
        carry over; clients made before keep working."""
        port = self.url.rsplit(":", 1)[1].split("/", 1)[0]
        self.stop()
        command = list(self.command)
        command[command.index("--port") + 1] = port
        fresh = _run(GatewayProcess, command, _GATEWAY_READY, "portalit gateway", timeout)
        atexit.unregister(fresh.stop)
        self.proc, self.url, self.command, self.log_path = fresh.proc, fresh.url, fresh.command, fresh.log_path


def start_gateway(learners=("you", "classmate"), port: int = 0, rpm: int = 30, tpm: int = 20_000,
                  parallel: int = 2, daily_tokens: int = 200_000, slots: int = 8,
                  timeout: float = 120.0) -> GatewayProcess:
    """Runs `portalit gateway init` for `learners` and `portalit gateway serve` as a child process,
    with these per-learner limits; returns once it is ready."""
    directory = Path(tempfile.mkdtemp(prefix="portalit-gateway-")) / "class"
    roster = directory.parent / "roster.csv"
    roster.write_text("learner\n" + "".join(f"{name}\n" for name in learners))
    made = subprocess.run([sys.executable, "-m", "portalit.cli", "gateway", "init", str(roster), "--out", str(directory)],
                          capture_output=True, text=True)
    if made.returncode:
        raise PortalitError(made.stderr.strip().removeprefix("error: "))
    command = [sys.executable, "-m", "portalit.cli", "gateway", "serve", str(directory), "--host", "127.0.0.1",
               "--port", str(port), "--rpm", str(rpm), "--tpm", str(tpm), "--parallel", str(parallel),
               "--daily-tokens", str(daily_tokens), "--slots", str(slots)]
    gateway = _run(GatewayProcess, command, _GATEWAY_READY, "portalit gateway", timeout)
    gateway.directory = directory
    return gateway


_GATEWAY_READY = re.compile(r"portalit gateway: (http://\S+/v1)")


def _run(kind, command: list[str], ready: re.Pattern, name: str, timeout: float):
    log_path = Path(tempfile.mkstemp(prefix=f"{name.replace(' ', '-')}-", suffix=".log")[1])
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                preexec_fn=partial(die_with_parent, signal.SIGTERM))
    server = kind(proc, "", command, log_path)
    atexit.register(server.stop)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = ready.search(log_path.read_text(errors="replace"))
        if match:
            server.url = match.group(1)
            return server
        if proc.poll() is not None:
            tail = " | ".join(server.log()[-3:]) or "no output"
            raise PortalitError(f"{name} exited with code {proc.returncode}: {tail}")
        time.sleep(0.1)
    server.stop()
    raise PortalitError(f"{name} did not become ready within {timeout:.0f} s; see {log_path}")


@dataclass
class LoadResult:
    """What `concurrent_load` measured: per-request latencies and the tokens all requests produced."""

    concurrency: int
    latencies_s: list
    completion_tokens: int
    wall_s: float

    def percentile(self, q: float) -> float:
        import numpy as np

        return float(np.percentile(self.latencies_s, q))

    @property
    def tokens_per_s(self) -> float:
        """Aggregate throughput: all answer tokens divided by the wall-clock time of the whole batch."""
        return self.completion_tokens / self.wall_s if self.wall_s > 0 else 0.0

    def row(self) -> dict:
        return {"concurrency": self.concurrency, "requests": len(self.latencies_s),
                "p50_s": round(self.percentile(50), 2), "p95_s": round(self.percentile(95), 2),
                "max_s": round(max(self.latencies_s), 2), "wall_s": round(self.wall_s, 2),
                "tokens_per_s": round(self.tokens_per_s, 1)}


def concurrent_load(client, prompt: str, concurrency: int, requests: int | None = None,
                    max_tokens: int = 32) -> LoadResult:
    """Sends `requests` identical chats (default: `concurrency`), `concurrency` at a time, from threads.

    Every request uses temperature 0 and the same `max_tokens`, so each asks for the same work.
    """
    if int(concurrency) < 1:
        raise PortalitError(f"concurrency {concurrency!r} must be at least 1")
    n = int(requests or concurrency)

    def one(_):
        result = client.chat(prompt, temperature=0.0, max_tokens=max_tokens)
        return result.latency_s, result.usage["completion_tokens"]

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=int(concurrency), thread_name_prefix="portalit-load") as pool:
        done = list(pool.map(one, range(n)))
    wall = time.perf_counter() - start
    return LoadResult(int(concurrency), [d[0] for d in done], sum(d[1] for d in done), wall)


@dataclass(frozen=True, order=True)
class Socket:
    """One socket as the operating system lists it: owning process, addresses, TCP state."""

    pid: int
    kind: str  # "tcp" or "udp"
    local: str  # "address:port"
    remote: str  # "address:port", or "" when not connected (a listening socket)
    status: str

    def leaves_machine(self) -> bool:
        """True when either end has an address that is not loopback (127.0.0.0/8, ::1)."""
        ends = [self.local] + ([self.remote] if self.remote else [])
        return not all(is_loopback(end.rsplit(":", 1)[0]) for end in ends)


def is_loopback(address: str) -> bool:
    """Whether an IP address (v4 or v6, brackets allowed) is on the loopback interface."""
    try:
        return ipaddress.ip_address(address.strip("[]").split("%")[0]).is_loopback
    except ValueError:
        return False


def sockets(pid: int) -> list[Socket]:
    """Every internet (TCP/UDP, IPv4/IPv6) socket that process `pid` holds right now."""
    import socket as sk

    import psutil

    found = []
    for c in psutil.Process(pid).net_connections(kind="inet"):
        kind = "tcp" if c.type == sk.SOCK_STREAM else "udp"
        local = f"{c.laddr.ip}:{c.laddr.port}" if c.laddr else ""
        remote = f"{c.raddr.ip}:{c.raddr.port}" if c.raddr else ""
        found.append(Socket(pid, kind, local, remote, c.status))
    return found


class watch_sockets:
    """`with watch_sockets([pid, ...]) as seen:` samples the processes' sockets until the block ends.

    `seen.sockets` is every distinct socket observed; `seen.samples` how many snapshots were taken.
    """

    def __init__(self, pids, interval_s: float = 0.05):
        self.pids, self.interval_s = list(pids), interval_s
        self.sockets: set[Socket] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="portalit-socket-watch")

    def _sample(self) -> None:
        for pid in self.pids:
            try:
                self.sockets.update(sockets(pid))
            except Exception:  # the process ended meanwhile: nothing more to see
                continue
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def __enter__(self):
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()

    def leaving(self) -> list[Socket]:
        """The observed sockets with a non-loopback end (empty when nothing could leave the machine)."""
        return sorted(s for s in self.sockets if s.leaves_machine())
