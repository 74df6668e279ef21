"""A sandbox per submission, on one Linux machine without Docker: namespaces, a mount view, limits.

A sandbox is a process tree that sees only this (everything else of the machine is gone from view):
  /usr /lib /lib64 /bin /sbin, Python and its packages, portalit and its data    read-only
  /home/learner: a scratch copy of the submission                                 read-write, its own
  /tmp (a small tmpfs), /dev/null /dev/zero /dev/random /dev/urandom, a fresh /proc
It has its own network namespace (loopback only), PID namespace (when its first process ends, every
process in it is killed), IPC and UTS namespaces; an empty environment; no capabilities and
no_new_privs; limits on memory, CPU time, processes, file size and open files. Its identity:
  mode "root"   (run as root: CI, a hub): a throwaway uid of its own (2,000,000 + a slot), cgroup v1
                memory and pids limits on top of the rlimits;
  mode "userns" (an ordinary user with unprivileged user namespaces): uid 1000 inside a user namespace
                that maps only the instructor's uid; it cannot reach anything the mount view hides.
Where neither works, `mode()` says why and grading refuses untrusted work (see run.py).

`Zygote` is forked by a worker before it reads anything secret (hidden tests, the gradebook), so
that sandboxes forked from it hold nothing to steal in memory.
"""
from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import signal
import socket
import struct
import sys
import traceback
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from ..processes import die_with_parent

HOME = "/home/learner"
THROWAWAY_UID_BASE = 2_000_000  # far above any real account
CGROUP_ROOT = Path("/sys/fs/cgroup")
_libc = ctypes.CDLL(None, use_errno=True)
_CLONE = {"ns": 0x20000, "uts": 0x4000000, "ipc": 0x8000000, "user": 0x10000000, "pid": 0x20000000,
          "net": 0x40000000}
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_NOEXEC, _MS_REMOUNT = 1, 2, 4, 8, 32
_MS_BIND, _MS_REC, _MS_PRIVATE = 4096, 16384, 1 << 18


@dataclass(frozen=True)
class Limits:
    """What one submission's sandbox may use. Memory counts what it allocates (not shared libraries)."""

    memory_mb: int = 3072
    cpu_s: int = 1800
    processes: int = 64
    file_mb: int = 64
    open_files: int = 256
    tmp_mb: int = 256


class SandboxError(RuntimeError):
    """The sandbox could not be set up (said in one line)."""


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise SandboxError(f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = (lambda s: s.encode() if s is not None else None)
    _check(_libc.mount(enc(source), enc(str(target)), enc(fstype), flags, enc(data)), f"mount {target}")


@lru_cache(maxsize=1)
def mode() -> tuple[str | None, str]:
    """("root" | "userns" | None, why): how sandboxes can be made here, tried for real in a child."""
    if not sys.platform.startswith("linux"):
        return None, "sandboxes need Linux namespaces; this is " + sys.platform
    wanted = "root" if os.geteuid() == 0 else "userns"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # try the isolation itself, mounts included, and report
        os.close(read)
        message = b"ok"
        try:
            _isolate(wanted, Limits(), None, probe=True)
        except BaseException as e:  # noqa: BLE001
            message = f"{type(e).__name__}: {e}".encode()[:500]
        os.write(write, message)
        os._exit(0)
    os.close(write)
    answer = os.read(read, 600).decode(errors="replace")
    os.close(read)
    os.waitpid(pid, 0)
    if answer == "ok":
        return wanted, f"sandboxes run in mode {wanted!r}"
    return None, f"no sandbox can be made here ({answer})"


def readonly_paths() -> list[Path]:
    """What a sandbox sees read-only besides the system: Python, its packages, portalit and its data."""
    import importlib.util

    paths = {Path(sys.base_prefix), Path(sys.prefix)}
    for name in ("portalit", "portalit.widgets", "portalit.data"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths.add(Path(list(spec.submodule_search_locations)[0]))
    # The interpreter's real location (a venv's python is a link to it).
    paths.add(Path(os.path.realpath(sys.executable)).parent.parent)
    resolved = sorted({p.resolve() for p in paths if p.exists()})
    # A path inside another one is covered by it.
    return [p for p in resolved if not any(p != q and q in p.parents for q in resolved)]


SYSTEM = ["/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/etc/ld.so.cache", "/etc/ld.so.conf",
          "/etc/ld.so.conf.d", "/etc/localtime", "/etc/fonts", "/etc/mime.types"]


def _isolate(mode_: str, limits: Limits, request: dict | None, probe: bool = False) -> None:
    """In a fresh child: unshare, fork PID 1 of the sandbox and return in it (the parent waits, exits).

    `request` holds the host paths: "root" (an empty directory for the mount view), "scratch" (the
    submission's copy), "cgroups" (root mode), "uid"; probe=True makes a throwaway view to test.
    """
    import tempfile

    uid, gid = os.getuid(), os.getgid()
    if request is None:
        base = Path(tempfile.mkdtemp(prefix="portalit-probe-"))
        request = {"root": str(base / "root"), "scratch": str(base / "home"), "cgroups": [],
                   "uid": THROWAWAY_UID_BASE}
        Path(request["root"]).mkdir()
        Path(request["scratch"]).mkdir()
    for folder in request["cgroups"]:  # root mode: join them before anything else can fork
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
    flags = _CLONE["ns"] | _CLONE["pid"] | _CLONE["net"] | _CLONE["ipc"] | _CLONE["uts"]
    if mode_ == "userns":
        flags |= _CLONE["user"]
    _check(_libc.unshare(flags), "unshare")
    if mode_ == "userns":  # map only our own uid, to 1000 inside
        for name, text in (("setgroups", "deny"), ("uid_map", f"1000 {uid} 1"), ("gid_map", f"1000 {gid} 1")):
            fd = os.open(f"/proc/self/{name}", os.O_WRONLY)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
    child = os.fork()
    if child:  # the sandbox's parent: wait for its PID 1, then leave with its status
        if probe:
            _, status = os.waitpid(child, 0)
            code = os.waitstatus_to_exitcode(status)
            import shutil

            shutil.rmtree(Path(request["root"]).parent, ignore_errors=True)
            if code != 0:
                raise SandboxError(f"the sandbox's first process failed (exit {code})")
            return
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # an interrupt is for the learner's code, not for us
        _, status = os.waitpid(child, 0)
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
    # PID 1 of the sandbox from here on.
    try:
        die_with_parent()
        _mount_view(Path(request["root"]), Path(request["scratch"]), limits)
        _loopback_up()
        _limit(limits)
        _drop_identity(mode_, request["uid"])
        if probe:
            _selftest()
            os._exit(0)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        os._exit(70)


def _mount_view(root: Path, scratch: Path, limits: Limits) -> None:
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16m,mode=755")

    def bind(path: str, writable: bool = False, device: bool = False) -> None:
        inside = root / path.lstrip("/")
        if os.path.islink(path):
            inside.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(os.readlink(path), inside)
            return
        if os.path.isdir(path):
            inside.mkdir(parents=True, exist_ok=True)
        else:
            inside.parent.mkdir(parents=True, exist_ok=True)
            inside.touch()
        _mount(path, inside, None, _MS_BIND | _MS_REC)
        extra = (0 if writable else _MS_RDONLY) | (0 if device else _MS_NODEV)
        _mount(None, inside, None, _MS_BIND | _MS_REMOUNT | _MS_NOSUID | extra)

    # /tmp, /dev and /proc first: a course that lives under /tmp (a CI clone) is bound on top.
    (root / "proc").mkdir()
    _mount("proc", root / "proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    (root / "tmp").mkdir()
    _mount("tmpfs", root / "tmp", "tmpfs", _MS_NOSUID | _MS_NODEV, f"size={limits.tmp_mb}m,mode=1777")
    for device in ("null", "zero", "full", "random", "urandom"):
        bind(f"/dev/{device}", writable=True, device=True)
    (root / "dev" / "shm").mkdir()
    _mount("tmpfs", root / "dev" / "shm", "tmpfs", _MS_NOSUID | _MS_NODEV, "size=64m,mode=1777")
    os.symlink("/proc/self/fd", root / "dev" / "fd")
    for path in SYSTEM + [str(p) for p in readonly_paths()]:
        if os.path.lexists(path) and not (root / path.lstrip("/")).exists():
            bind(path)
    home = root / HOME.lstrip("/")
    home.mkdir(parents=True, exist_ok=True)
    _mount(str(scratch), home, None, _MS_BIND)
    _mount(None, home, None, _MS_BIND | _MS_REMOUNT | _MS_NOSUID | _MS_NODEV)
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(f"learner:x:1000:1000:learner:{HOME}:/bin/sh\n")
    (etc / "group").write_text("learner:x:1000:\n")
    (etc / "hosts").write_text("127.0.0.1 localhost\n::1 localhost\n")
    (root / ".old").mkdir()
    _check(_libc.syscall(155, str(root).encode(), str(root / ".old").encode()), "pivot_root")  # SYS_pivot_root
    os.chdir("/")
    _check(_libc.umount2(b"/.old", 2), "detach the old root")  # MNT_DETACH
    os.rmdir("/.old")
    _mount(None, "/", None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_NOSUID | _MS_NODEV)
    os.chdir(HOME)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", 0x1 | 0x40))  # SIOCSIFFLAGS: IFF_UP | IFF_RUNNING


def _limit(limits: Limits) -> None:
    mb = 1024 * 1024
    for name, value in (("RLIMIT_DATA", limits.memory_mb * mb), ("RLIMIT_CPU", limits.cpu_s),
                        ("RLIMIT_NPROC", limits.processes), ("RLIMIT_FSIZE", limits.file_mb * mb),
                        ("RLIMIT_NOFILE", limits.open_files), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def _drop_identity(mode_: str, uid: int) -> None:
    _check(_libc.prctl(38, 1, 0, 0, 0), "no_new_privs")  # PR_SET_NO_NEW_PRIVS
    if mode_ == "root":
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)  # from root to nobody we know: every capability goes
        return
    for cap in range(64):  # userns: drop the bounding set, then every capability we hold
        _libc.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]

    _check(_libc.syscall(126, ctypes.byref(Header(0x20080522, 0)), (Data * 2)()), "capset")  # SYS_capset


def _selftest() -> None:
    """What the probe checks before it calls a mode usable."""
    assert os.getpid() == 1
    assert [name for _, name in socket.if_nameindex()] == ["lo"]
    assert "CapEff:\t0000000000000000" in Path("/proc/self/status").read_text()
    assert os.listdir(HOME) == [] and Path("/usr").is_dir()
    from portalit.geometry import datasets

    assert (datasets.data_dir() / "opinions" / "opinions.csv").read_text()  # the package's data is readable


def environment(threads: int = 1) -> dict:
    """The sandbox's whole environment: nothing of the instructor's (no keys, no paths of the course)."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin", "HOME": HOME, "USER": "learner",
            "LANG": "C.UTF-8", "TMPDIR": "/tmp", "IPYTHONDIR": "/tmp/.ipython", "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "agg", "PLOTLY_RENDERER": "plotly_mimetype",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", "TOKENIZERS_PARALLELISM": "false",
            "PORTALIT_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
            "OPENBLAS_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


class Cgroups:
    """Root mode: a memory and a pids cgroup (v1) for one sandbox, removed when it is closed."""

    def __init__(self, name: str, limits: Limits):
        self.folders: list[Path] = []
        if os.geteuid() != 0:
            return
        for controller, settings in (("memory", {"memory.limit_in_bytes": limits.memory_mb * 1024 * 1024}),
                                     ("pids", {"pids.max": limits.processes})):
            base = CGROUP_ROOT / controller
            if not (base / "cgroup.procs").exists():
                continue
            folder = base / "portalit" / name
            try:
                folder.mkdir(parents=True, exist_ok=True)
                for key, value in settings.items():
                    (folder / key).write_text(str(value))
            except OSError:
                self._remove(folder)
                continue
            self.folders.append(folder)

    def close(self) -> None:
        for folder in self.folders:
            self._remove(folder)
            try:
                folder.parent.rmdir()  # portalit/ itself, once no other sandbox uses it
            except OSError:
                pass
        self.folders = []

    @staticmethod
    def sweep() -> None:
        """Removes sandbox cgroups a killed run left behind (only empty ones can be removed)."""
        for parent in CGROUP_ROOT.glob("*/portalit"):
            for folder in parent.iterdir():
                if folder.is_dir():
                    try:
                        folder.rmdir()
                    except OSError:
                        pass
            try:
                parent.rmdir()
            except OSError:
                pass

    @staticmethod
    def _remove(folder: Path) -> None:
        import time

        for _ in range(50):  # the last processes may take a moment to leave
            try:
                folder.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.02)


class Zygote:
    """A clean process that forks sandboxes on request. Fork it first thing in a worker.

    `start(scratch, ...)` returns (pid, to_sandbox, from_sandbox): the sandbox's parent process (kill
    it and the whole sandbox goes) and the two ends of its message pipes. In the sandbox, `serve`
    (the runner) is called with the other two ends.
    """

    def __init__(self, serve):
        self.channel, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.pid = os.fork()
        if self.pid == 0:
            self.channel.close()
            code = 0
            try:
                die_with_parent()
                _zygote_loop(theirs, serve)
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        theirs.close()

    def start(self, mode_: str, scratch: Path, root: Path, limits: Limits, cgroups: Cgroups, uid: int,
              threads: int = 1):
        to_sandbox = os.pipe()
        from_sandbox = os.pipe()
        request = {"mode": mode_, "scratch": str(scratch), "root": str(root), "limits": asdict(limits),
                   "cgroups": [str(f) for f in cgroups.folders], "uid": uid, "threads": threads}
        socket.send_fds(self.channel, [json.dumps(request).encode()], [to_sandbox[0], from_sandbox[1]])
        os.close(to_sandbox[0])
        os.close(from_sandbox[1])
        answer = self.channel.recv(64)
        if not answer.startswith(b"pid "):
            os.close(to_sandbox[1])
            os.close(from_sandbox[0])
            raise SandboxError("the sandbox zygote stopped")
        return int(answer.split()[1]), to_sandbox[1], from_sandbox[0]

    def close(self) -> None:
        self.channel.close()  # end of requests: the zygote exits
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass


def _zygote_loop(channel: socket.socket, serve) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # sandboxes are reaped at once
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(channel, 1 << 16, 2)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            channel.close()
            code = 0
            try:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.setpgrp()  # the worker stops a sandbox by its process group
                die_with_parent(signal.SIGKILL)
                if request["mode"] == "none":  # --unsafe: a separate process, no isolation
                    os.chdir(request["scratch"])
                else:
                    _isolate(request["mode"], Limits(**request["limits"]), request)
                _keep_only(fds)
                os.environ.clear()
                os.environ.update(environment(request["threads"]))
                serve(fds[0], fds[1])
            except BaseException:  # noqa: BLE001
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)
        channel.sendall(f"pid {pid}".encode().ljust(64))


def _keep_only(fds) -> None:
    """Closes every inherited descriptor but the message pipes; stdin, stdout, stderr go to /dev/null."""
    null = os.open("/dev/null", os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(null, target)
    keep = {0, 1, 2, *fds}
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass
