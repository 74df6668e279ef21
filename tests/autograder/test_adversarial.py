"""A hostile class (adversarial_class.py) graded for real: every attacker scores exactly what its
honest twin scores, no feedback holds a hidden test, a solution, a key or another learner's work,
the course is byte-identical afterwards, nothing of the run outlives it, and every learner has a row."""
from __future__ import annotations

import csv
import hashlib
import os
import re
import socket
import threading
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from portalit import autograder
from portalit.autograder import sandbox

from . import adversarial_class
from .conftest import ROOT, as_nobody, copy_course

SECRET = "sk-" + "instructor-0123456789abcdef" + "KEY"  # assembled: no scanner mistakes it for a real one


def digests(*folders: Path) -> dict:
    found = {}
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            found[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


class Tags(HTMLParser):
    """The tags, attributes and style sheets of a page as a browser would see them."""

    def __init__(self, page: str):
        super().__init__()
        self.names, self.attributes, self.styles, self._in_style = set(), [], "", False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.names.add(tag)
        self.attributes += [(name, value or "") for name, value in attrs]
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles += data


class Listener:
    """A TCP server on the host's loopback that counts who reaches it (no sandbox may)."""

    def __init__(self):
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.reached = 0
        self.socket.settimeout(0.2)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except OSError:
                continue
            self.reached += 1
            connection.close()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.socket.close()


def survivors() -> list[str]:
    """Processes of a sandbox's throwaway uid, or the attacker's `sleep 4321`, still running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            uid = int((entry / "status").read_text().split("Uid:")[1].split()[0])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if uid >= sandbox.THROWAWAY_UID_BASE or "sleep 4321" in command:
            found.append(f"{entry.name} uid {uid}: {command}")
    return found


@pytest.mark.slow
def test_a_hostile_class_scores_like_its_honest_twins(course, tmp_path, monkeypatch):
    if sandbox.mode()[0] is None:  # as root a sandbox can always be made: then this is a failure
        assert os.geteuid() != 0, sandbox.mode()[1]
        pytest.skip(sandbox.mode()[1])
    root = copy_course(course, tmp_path / "hostile")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # the instructor's key, in the grader's environment
    listener = Listener()
    try:
        expected = adversarial_class.build(root, listener.port)
        course_files = digests(root / "solutions", root / "exercises") | digests(ROOT / "src" / "portalit")
        config = (root / "nbgrader_config.py").read_bytes()
        result = autograder.grade_assignment("ps03", workers=2, course_dir=root, timeout=30)
    finally:
        listener.close()
    rows = {r["student"]: r for r in result["students"]}
    got = {s: ("error" if r["status"] == "error" else r["score"]) for s, r in rows.items()}
    assert got == expected
    for learner in adversarial_class.REFUSED:
        message = rows[learner]["error"]
        assert "\n" not in message and len(message) < 300 and "Traceback" not in message
    assert "symbolic link" in rows["link-dev-zero"]["error"] and "not allowed" in rows["mallory,99"]["error"]

    # Nothing hidden, secret or someone else's in any feedback; nothing that runs or loads either.
    pages = {p.parent.parent.name: p.read_text() for p in (root / "feedback").rglob("*.html")}
    assert set(pages) == {learner for learner, score in expected.items() if score != "error"}
    solution_line = "return glove.vectors[glove.index[word.lower()]]"  # the master's answer to Part 1
    for learner, page in pages.items():
        for secret in adversarial_class.HIDDEN_ONLY + [SECRET, SECRET[10:], "BEGIN SOLUTION", "BEGIN HIDDEN"]:
            assert secret not in page, (learner, secret)
        if learner not in ("correct-twin", "daemon", "kill-everything", "network", "memory", "output-flood",
                           "scripts-in-outputs", "read-files"):
            assert solution_line not in page, learner
        tags = Tags(page)
        assert not tags.names & {"script", "iframe", "object", "embed", "link"}, learner
        assert not [a for a in tags.attributes if a[0].startswith("on")], learner  # no event handler
        loaded = [v for name, v in tags.attributes if name == "src" and not v.startswith("data:image/")]
        assert not loaded and not re.search(r"url\(|@import", tags.styles), learner  # nothing to fetch
        assert len(page.encode()) < 9 * 1024 * 1024
    assert "hidden-test hits: 0" in pages["spy-memory-and-keys"]
    # (write-files may "write" the course's paths into its own /tmp: the digests below say where it did not.)
    assert "127.0.0.1 refused: ConnectionRefusedError" in pages["network"]  # its own loopback: empty
    assert "REACHED 127" not in pages["network"] and "REACHED localhost" not in pages["network"]
    assert listener.reached == 0

    # The course is as it was, nothing of the run survives, and every learner is in grades.csv.
    assert digests(root / "solutions", root / "exercises") | digests(ROOT / "src" / "portalit") == course_files
    assert (root / "nbgrader_config.py").read_bytes() == config
    assert not (Path(os.path.expanduser("~")) / ".ipython" / "profile_default" / "startup" / "00-evil.py").exists()
    deadline = time.monotonic() + 15  # killed processes take a moment to be gone
    while survivors() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert survivors() == []
    leftover = [str(p) for p in sandbox.CGROUP_ROOT.glob("*/portalit")]  # a sandbox's cgroups go with it
    assert not leftover, leftover
    with open(root / "grades.csv", newline="") as handle:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(handle)}
    valid = {s for s in expected if s not in ("a" * 250, "mallory,99", "-dash-first")}
    assert set(exported) == valid
    assert all(exported[s] == (0.0 if expected[s] == "error" else expected[s]) for s in valid)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="run as an ordinary user, the whole suite already grades unprivileged")
def test_an_ordinary_user_grades_in_user_namespaces(course):
    """The instructor need not be root: `portalit grade` as nobody sandboxes with user namespaces."""
    import json
    import shutil
    import subprocess
    import sys
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="portalit-nobody-"))
    view = tempfile.mkdtemp(prefix="portalit-home-")
    try:
        base.chmod(0o755)
        root = copy_course(course, base / "class")
        expected = adversarial_class.build(root, 9, only={"blank-twin", "correct-twin", "patch-checks",
                                                          "lying-answers", "read-files"})
        (root / "home").mkdir()
        for path in [root, *root.rglob("*")]:
            os.chown(path, 65534, 65534, follow_symlinks=False)
        command = as_nobody([sys.executable, "-m", "portalit.cli", "grade", "ps03", "--json"], view)
        out = subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=900,
                             env={**os.environ, "HOME": str(root / "home")})
        assert out.returncode == 0, out.stderr[-3000:]
        result = json.loads(out.stdout)
        assert result["sandbox"] == "userns"
        assert {r["student"]: r["score"] for r in result["students"]} == expected
    finally:
        os.rmdir(view)
        shutil.rmtree(base)
