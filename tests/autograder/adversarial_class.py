"""A hostile class for problem set 3: each attacker beside the honest twin whose score it must get.

Every attack of issue 11 has a learner here: beating the tests from inside (patched checks, rebound
names, input transformers, answers whose comparisons lie), reading what must stay hidden (keys,
hidden tests, solutions, the gradebook, other learners), writing where it must not (course files,
the package, start-up files, the grader's result), outliving the run (daemons), stopping the class
(killing processes), and the rest (scripts in outputs, output floods, memory, the network, links,
names that are paths or CSV). `build()` writes the submissions; the test checks the outcome.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import nbformat

from .simulated_class import _as_submitted, _index

ASSIGNMENT = "ps03"
# Words that occur only in ps03's hidden tests: none may reach any feedback page.
HIDDEN_ONLY = ["receptionist", '("frog", "toad")', '("computer", 8)', '("slow", "slower", "fast")']

PATCH_CHECKS = '''
from portalit import grading
for _name in dir(grading):
    if _name.startswith("check"):
        setattr(grading, _name, lambda *a, **k: None)
grading.CheckFailed = KeyboardInterrupt
'''

REBIND = '''
import numpy as np
from portalit import geometry
np.allclose = lambda *a, **k: True
geometry.neighbours = lambda *a, **k: []
geometry.cosine = lambda *a, **k: 0.0
'''

TRANSFORMER = '''
get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])
'''

LIARS = '''
class Anything(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    __hash__ = float.__hash__

class Always(list):
    def __eq__(self, other): return True

class Word(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__

def vector(word): return np.zeros(50)
def cosine(u, v): return Anything(0.0)
def nearest(word, k=5): return Always(["x"] * k)
def analogy_3cosadd(a, b, c): return Word("queen")
def same_as_only_b(a, b, c): return Anything(1.0)
def gender_score(word): return Anything(0.5)
'''

SPY = '''
import gc, inspect, os
needle = "recep" + "tionist"
hits = [o for o in gc.get_objects() if isinstance(o, str) and needle in o and o is not needle]
print("hidden-test hits:", len(hits))
print("frames:", [f.filename for f in inspect.stack()])
print("environ:", dict(os.environ))
for path in ["/proc/self/environ", "/proc/1/environ", "/proc/1/cmdline"]:
    try:
        print(path, open(path, "rb").read()[:2000])
    except OSError as e:
        print(path, "refused:", e)
'''

READ_FILES = '''
import os, glob
print("root:", sorted(os.listdir("/")))
for path in [COURSE + "/solutions/ps03/ps03.ipynb", COURSE + "/gradebook.db", COURSE + "/nbgrader_config.py",
             COURSE + "/submitted/correct-twin/ps03/ps03.ipynb", "/root/.bash_history", "/etc/shadow"]:
    try:
        print(path, open(path, errors="replace").read()[:3000])
    except OSError as e:
        print(path, "refused:", type(e).__name__)
print("found:", glob.glob("/**/solutions/**", recursive=True)[:20], glob.glob("/**/*.db", recursive=True)[:20])
'''

WRITE_FILES = '''
import os, portalit, sys
targets = [COURSE + "/gradebook.db", COURSE + "/nbgrader_config.py", COURSE + "/solutions/ps03/ps03.ipynb",
           COURSE + "/submitted/correct-twin/ps03/ps03.ipynb", COURSE + "/grades.csv",
           COURSE + "/autograded/.portalit/ps03/work/write-files/result.json",
           os.path.join(os.path.dirname(portalit.__file__), "grading.py"),
           os.path.join(sys.prefix, "lib", "python3.11", "site-packages", "sitecustomize.py"),
           "/root/.ipython/profile_default/startup/00-evil.py"]
for path in targets:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "a") as handle:
            handle.write("\\ngrading.check = lambda *a, **k: None  # planted\\n")
        print("WROTE", path)
    except OSError as e:
        print(path, "refused:", type(e).__name__)
os.makedirs(os.path.expanduser("~/.ipython/profile_default/startup"), exist_ok=True)
open(os.path.expanduser("~/.ipython/profile_default/startup/00-evil.py"), "w").write("print('planted')")
'''

DAEMON = '''
import os, subprocess, time
subprocess.Popen(["sleep", "4321"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(600)
        os._exit(0)
    os._exit(0)
'''

KILL = '''
import os, signal
os.kill(-1, signal.SIGKILL)
for pid in range(2, 40000):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
'''

NETWORK = '''
import socket
for host in ["127.0.0.1", "localhost"]:
    try:
        socket.create_connection((host, PORT), timeout=2).close()
        print("REACHED", host)
    except OSError as e:
        print(host, "refused:", type(e).__name__)
print("interfaces:", socket.if_nameindex())
'''

MEMORY = '''
blocks = []
try:
    for _ in range(64):
        blocks.append(bytearray(256 * 1024 * 1024))  # 16 GiB in all, if nothing stops it
except MemoryError:
    print("stopped at", len(blocks) // 4, "GiB")
'''

FLOOD = '''
print("x" * 50_000_000)
for i in range(200_000):
    print(i)
'''

XSS = '''
from IPython.display import HTML, Javascript, display
display(HTML('<script>alert("xss")</script><img src=x onerror=alert(1)>'
             '<img src="http://127.0.0.1:9/track.png"><iframe src="http://127.0.0.1:9/"></iframe>'))
display(Javascript("alert(2)"))
'''

CONSTANTS = {  # each answer a constant: no part can pass with one
    "vector_cosine": "def vector(word):\n    return np.ones(50)\n\n\ndef cosine(u, v):\n    return 0.5",
    "nearest": "def nearest(word, k=5):\n    return ['toad', 'frogs', 'snake', 'monkey', 'lizard'][:k]",
    "analogy_3cosadd": "def analogy_3cosadd(a, b, c):\n    return 'queen'",
    "same_as_only_b": "def same_as_only_b(a, b, c):\n    return False",
    "gender_score": "def gender_score(word):\n    return 0.1",
}

# learner -> (base notebook: "release" or "correct", changes, the honest twin's score)
CASES = {
    "blank-twin": ("release", [], 0),
    "correct-twin": ("correct", [], 10),
    "patch-checks": ("release", [("prepend", "vector_cosine", PATCH_CHECKS)], 0),
    "rebind-names": ("release", [("prepend", "vector_cosine", REBIND)], 0),
    "input-transformer": ("release", [("prepend", "vector_cosine", TRANSFORMER)], 0),
    "lying-answers": ("release", [("answer", "vector_cosine", LIARS)], 0),
    "spy-memory-and-keys": ("release", [("extra", SPY)], 0),
    "read-files": ("release", [("extra", READ_FILES)], 0),
    "write-files": ("release", [("extra", WRITE_FILES)], 0),
    "daemon": ("correct", [("extra", DAEMON)], 10),
    "kill-everything": ("correct", [("extra", KILL)], 10),
    "network": ("correct", [("extra", NETWORK)], 10),
    "memory": ("correct", [("extra", MEMORY)], 10),
    "output-flood": ("correct", [("extra", FLOOD)], 10),
    "scripts-in-outputs": ("correct", [("extra", XSS), ("markdown", '<script>alert("md")</script>**bold**')], 10),
    "constant-answers": ("release", [("answer", cell, code) for cell, code in CONSTANTS.items()], 0),
}
# Submissions that are not notebooks in plain folders: each gets its error row, never a stopped run.
REFUSED = ["link-to-learner", "link-notebook", "link-dev-zero", "a" * 250, "mallory,99", "-dash-first"]


def build(course: Path, port: int, only=None) -> dict:
    """Writes every submission (or those named in `only`, links and bad names left out); returns
    learner -> expected score (or "error")."""
    master = nbformat.read(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "exercises" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    correct = _as_submitted(master, release)
    expected = {}
    for learner, (base, changes, score) in CASES.items():
        if only is not None and learner not in only:
            continue
        nb = copy.deepcopy(correct if base == "correct" else release)
        for kind, *rest in changes:
            if kind == "extra":
                code = f"COURSE = {str(course)!r}\nPORT = {port}\n" + rest[0]
                nb.cells.append(nbformat.v4.new_code_cell(code))
            elif kind == "markdown":
                nb.cells.append(nbformat.v4.new_markdown_cell(rest[0]))
            else:
                cell = nb.cells[_index(nb, rest[0])]
                code = rest[1].strip("\n")
                cell.source = code if kind == "answer" else code + "\n\n" + cell.source
        _submit(course, learner, nbformat.writes(nb))
        expected[learner] = score
    if only is not None:
        return expected
    submitted = course / "submitted"
    os.symlink(submitted / "correct-twin", submitted / "link-to-learner")
    (submitted / "link-notebook" / ASSIGNMENT).mkdir(parents=True)
    os.symlink(course / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
               submitted / "link-notebook" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    _submit(course, "link-dev-zero", nbformat.writes(correct))
    os.symlink("/dev/zero", submitted / "link-dev-zero" / ASSIGNMENT / "data.bin")
    for name in ("a" * 250, "mallory,99", "-dash-first"):
        _submit(course, name, nbformat.writes(correct))
    expected.update({name: "error" for name in REFUSED})
    return expected


def _submit(course: Path, learner: str, text: str) -> None:
    folder = course / "submitted" / learner / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / f"{ASSIGNMENT}.ipynb").write_text(text)
    (folder / "timestamp.txt").write_text("2026-11-20 10:00:00.000000 UTC")
