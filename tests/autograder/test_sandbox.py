"""The sandbox itself, from inside: what a learner's code can see, reach and use, as root (a throwaway
uid, cgroups) and as an ordinary user (an unprivileged user namespace)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from portalit.autograder import sandbox

from ..conftest import ROOT
from .conftest import as_nobody

# Runs one cell in a fresh sandbox and prints what it saw, as JSON: the same check for every identity.
PROBE = textwrap.dedent('''
    import json, os, sys, tempfile, time
    from pathlib import Path
    from portalit.autograder import executor, runner, sandbox
    mode, why = sandbox.mode()
    if mode is None:
        print(json.dumps({"mode": None, "why": why})); sys.exit(0)
    zygote = sandbox.Zygote(runner.serve)
    work = Path(tempfile.mkdtemp())
    (work / "home").mkdir(); (work / "view").mkdir()
    (work / "home" / "mine.txt").write_text("the learner's own file")
    uid = sandbox.THROWAWAY_UID_BASE + os.getpid() % 1_000_000
    if mode == "root":
        for p in [work / "home", work / "home" / "mine.txt"]:
            os.chown(p, uid, uid)
    session = executor.Session(zygote, mode, work / "home", work / "view", sandbox.Limits(memory_mb=512), uid, 1, "t")
    cell = """
    import json, os, resource, socket
    def attempt(f):
        try:
            f(); return "allowed"
        except OSError as e:
            return type(e).__name__
    seen = {
        "pid": os.getpid(), "uid": os.getuid(), "cwd": os.getcwd(), "home": sorted(os.listdir(".")),
        "interfaces": [n for _, n in socket.if_nameindex()], "env": sorted(os.environ),
        "course": sorted(os.listdir(COURSE)),
        "write_package": attempt(lambda: open(os.path.join(PACKAGE, "planted.py"), "w")),
        "write_root": attempt(lambda: open("/planted", "w")),
        "write_home": attempt(lambda: open("written.txt", "w").write("x")),
        "connect_out": attempt(lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
        "caps": open("/proc/self/status").read().split("CapEff:")[1].split()[0],
        "processes": sorted(p for p in os.listdir("/proc") if p.isdigit()),
        "memory_limit": resource.getrlimit(resource.RLIMIT_DATA)[0],
    }
    try:
        big = bytearray(1024 * 1024 * 1024)
        seen["one_gib"] = "allocated"
    except MemoryError:
        seen["one_gib"] = "MemoryError"
    print(json.dumps(seen))
    """.replace("COURSE", repr("@COURSE@")).replace("PACKAGE", repr("@PACKAGE@"))
    result = session.run(cell, 60)
    out = "".join(o.get("text", "") for o in result["outputs"])
    session.close(); zygote.close()
    print(json.dumps({"mode": mode, "seen": json.loads(out.strip().splitlines()[-1]),
                      "home_after": sorted(os.listdir(work / "home"))}))
''')


def probe_script(tmp_path: Path) -> Path:
    script = tmp_path / "probe.py"
    script.write_text(PROBE.replace("@COURSE@", str(ROOT)).replace("@PACKAGE@", str(ROOT / "src" / "portalit")))
    return script


def check(seen: dict, uid_inside) -> None:
    assert seen["pid"] == 1 and seen["processes"] == ["1"]  # its own PID namespace, alone in it
    assert seen["uid"] == uid_inside
    assert seen["cwd"] == sandbox.HOME and seen["home"] == ["mine.txt"]
    assert seen["interfaces"] == ["lo"] and seen["connect_out"] == "ConnectionRefusedError"
    assert set(seen["env"]) == set(sandbox.environment()) | {"LC_CTYPE"} or set(seen["env"]) == set(sandbox.environment())
    assert set(seen["course"]) <= {".venv", "src", "widgets", "data"}  # no solutions, config, gradebook
    assert seen["write_package"] == "OSError" or seen["write_package"] in ("PermissionError",)
    assert seen["write_root"] in ("OSError", "PermissionError")
    assert seen["write_home"] == "allowed"
    assert seen["caps"] == "0000000000000000"
    assert seen["memory_limit"] == 512 * 1024 * 1024 and seen["one_gib"] == "MemoryError"


@pytest.mark.skipif(os.geteuid() != 0, reason="the root mode needs root; the user-namespace test covers others")
def test_as_root_a_throwaway_uid_sees_only_its_view(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-" + "not-a-real-key-but-secret-looking")
    out = subprocess.run([sys.executable, str(probe_script(tmp_path))], capture_output=True, text=True,
                         timeout=300, env={**os.environ})
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["mode"] == "root"
    assert report["seen"]["uid"] >= sandbox.THROWAWAY_UID_BASE
    check(report["seen"], report["seen"]["uid"])
    assert report["home_after"] == ["mine.txt", "written.txt"]  # the scratch copy, not the course


def test_as_an_ordinary_user_a_user_namespace_does_the_same(tmp_path):
    """Run the probe as `nobody`; as root the test makes root's 0700 home passable for the
    interpreter in a mount namespace of its own (nothing outside the test sees it)."""
    if os.geteuid() == 0:
        if not shutil.which("unshare") or not shutil.which("setpriv"):
            pytest.skip("needs unshare and setpriv to become nobody")
        tmp_path = Path(tempfile.mkdtemp(prefix="portalit-probe-"))  # pytest's own is root's only
        tmp_path.chmod(0o755)
    script = probe_script(tmp_path)
    if os.geteuid() == 0:
        script.chmod(0o644)
        view = tempfile.mkdtemp(prefix="portalit-pyenv-")
        command = as_nobody([sys.executable, str(script)], view)
    else:
        command = [sys.executable, str(script)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd="/")
    finally:
        if os.geteuid() == 0:
            os.rmdir(view)
            shutil.rmtree(tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    if report["mode"] is None:
        pytest.skip(f"unprivileged user namespaces are off here: {report['why']}")
    assert report["mode"] == "userns"
    check(report["seen"], 1000)
