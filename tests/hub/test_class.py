"""A class on JupyterHub, end to end, as root, with real Unix accounts and a real hub on loopback.

`portalit hub init` sets up three learners and one instructor; the hub starts; the instructor
releases ps03; each learner fetches it, fills it in (all right / partly right / blank) and submits
over the hub's REST API, the second one after the due date; one learner also tries to submit in
another's name and to hand in the solutions through a link. The instructor collects, grades with
`portalit grade` and releases feedback; the learners fetch it. Then: the grades are the expected
ones (the late one with its penalty), the feedback holds no hidden test, every learner's files are
theirs, and no learner can read another's home, the solutions or the gradebook. One learner signs in
through the hub's login page in Chromium and opens the Assignments list. Everything the test makes
(accounts, group, processes, folders, permission changes) is removed again, pass or fail.
"""
from __future__ import annotations

import copy
import datetime
import html
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.autograder.simulated_class import CASES, _apply, _as_submitted
from tests.conftest import ARTIFACTS, ROOT, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix accounts and runs a hub: root only"),
    pytest.mark.skipif(not all(shutil.which(t) for t in ("useradd", "userdel", "setpriv", "unshare")),
                       reason="needs useradd, userdel, setpriv and unshare"),
]

ASSIGNMENT = "ps03"
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")


class Class:
    """Everything one run makes, so that it can all be removed."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.course_id = f"pl{tag}"
        self.learners = [f"pl{tag}{c}" for c in "abc"]
        self.instructor = f"pl{tag}t"
        self.group = f"{self.course_id}-instructors"
        self.dir = Path(tempfile.mkdtemp(prefix="portalit-hub-"))
        self.ports = [free_port() for _ in range(3)]
        self.url = f"http://127.0.0.1:{self.ports[0]}"
        self.token = secrets.token_hex(24)
        self.view = Path(tempfile.mkdtemp(prefix="portalit-view-"))
        self.gateway = Path(tempfile.mkdtemp(prefix="portalit-gateway-")) / "class"
        self.modes = {p: os.lstat(p).st_mode for p in ROOT.iterdir()}
        self.hub = None

    # -- running things as the class's accounts, on the same view of the checkout ------------------
    def wrap(self, command: list[str]) -> list[str]:
        """`command` where every account can reach the checkout. CI may clone it under root's 0700
        home: then it runs in a mount namespace of its own where that folder is opened and the
        checkout bound back in at the same path (the files and their modes are the real ones)."""
        closed = next((p for p in [ROOT, *ROOT.parents] if not os.stat(p).st_mode & 0o001), None)
        if closed is None:
            return command
        inside = ROOT.relative_to(closed)
        steps = [f"mount --bind {closed} {self.view}", f"mount -t tmpfs -o mode=755 tmpfs {closed}",
                 f"mkdir -p {ROOT}", f"mount --bind {self.view}/{inside} {ROOT}", 'exec "$@"']
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", " && ".join(steps), "sh", *command]

    def as_user(self, name: str, command: list[str], cwd=None, check=True) -> subprocess.CompletedProcess:
        role = "instructor" if name == self.instructor else "learner"
        env = [f"HOME={pwd.getpwnam(name).pw_dir}", f"PATH={BIN}:/usr/bin:/bin", "LANG=C.UTF-8",
               f"JUPYTER_CONFIG_PATH={self.dir / 'etc' / role}", "HF_HUB_OFFLINE=1", "TRANSFORMERS_OFFLINE=1",
               "LITELLM_LOCAL_MODEL_COST_MAP=True"]
        full = self.wrap(["setpriv", "--reuid", name, "--regid", name, "--init-groups", "env", "-i", *env, *command])
        done = subprocess.run(full, cwd=cwd, capture_output=True, text=True, timeout=600)
        if check and done.returncode:
            raise AssertionError(f"{command} as {name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def instructor_runs(self, *command: str) -> subprocess.CompletedProcess:
        return self.as_user(self.instructor, list(command), cwd=self.dir / "course")

    # -- the hub ------------------------------------------------------------------------------------
    def start_hub(self):
        log = open(self.dir / "state" / "hub.log", "w")
        self.hub = subprocess.Popen(self.wrap([str(BIN / "jupyterhub"), "-f", str(self.dir / "jupyterhub_config.py")]),
                                    cwd=self.dir / "state", stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline:
            assert self.hub.poll() is None, f"the hub exited:\n{self.log()}"
            try:
                self.http("GET", "/hub/health")
                return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the hub did not answer within 90 s:\n{self.log()}")

    def log(self) -> str:
        path = self.dir / "state" / "hub.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def http(self, method: str, path: str, data=None, body=None):
        headers = {"Authorization": f"token {self.token}"}
        payload = None
        if data is not None:
            payload = urllib.parse.urlencode(data).encode()
        elif body is not None:
            payload, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(self.url + path, data=payload, method=method, headers=headers)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback, never via a proxy
        with opener.open(request, timeout=120) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def start_server(self, name: str):
        try:
            self.http("POST", f"/hub/api/users/{name}/server")
        except urllib.error.HTTPError as e:
            if e.code != 400:  # 400: already running
                raise
        deadline = time.time() + 120
        while time.time() < deadline:
            server = self.http("GET", f"/hub/api/users/{name}")["servers"].get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{name}'s server did not start:\n{self.log()}")

    def nbgrader(self, name: str, action: str) -> dict:
        reply = self.http("POST", f"/user/{name}/assignments/{action}",
                          data={"course_id": self.course_id, "assignment_id": ASSIGNMENT})
        assert reply["success"], f"{action} as {name}: {reply}"
        return reply

    # -- removing it all ------------------------------------------------------------------------------
    def remove(self):
        if self.hub is not None and self.hub.poll() is None:
            os.killpg(self.hub.pid, signal.SIGTERM)  # the hub stops the learners' servers as it goes
            try:
                self.hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.hub.pid, signal.SIGKILL)
                self.hub.wait(timeout=10)
        for name in self.learners + [self.instructor]:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        time.sleep(0.5)
        for name in self.learners + [self.instructor]:
            subprocess.run(["userdel", "--remove", name], capture_output=True)
        subprocess.run(["groupdel", self.group], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
        shutil.rmtree(self.view, ignore_errors=True)
        shutil.rmtree(self.gateway.parent, ignore_errors=True)
        for path, mode in self.modes.items():
            if not path.is_symlink():
                os.chmod(path, mode)


@pytest.fixture
def hub_class():
    made = Class()
    try:
        yield made
    finally:
        made.remove()


def fill(nb, case: str, master):
    """The learner's answers: all right, partly right (the simulated class's 'partial') or blank."""
    if case == "blank":
        return nb
    done = _as_submitted(master, nb)
    if case == "partly":
        for action in CASES["partial"][0]:
            _apply(done, *action)
    return done


def test_a_class_runs_on_the_hub_from_release_to_feedback(hub_class):
    started = time.perf_counter()
    c = hub_class
    a, b, cc = c.learners
    roster = c.dir / "roster.csv"
    roster.write_text("learner,first_name,last_name,email,lms_id\n"
                      f"{a},Ada,Lovelace,ada@example.org,101\n{b},Alan,Turing,alan@example.org,102\n"
                      f"{cc},\"=HYPERLINK(\"\"x\"\")\",Hopper,grace@example.org,103\n")
    made = subprocess.run([str(BIN / "portalit"), "gateway", "init", str(roster), "--out", str(c.gateway)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    gateway_url = f"http://127.0.0.1:{free_port()}/v1"
    init = subprocess.run(c.wrap([str(BIN / "portalit"), "hub", "init", str(c.dir), "--learners", str(roster),
                                  "--instructors", c.instructor, "--port", str(c.ports[0]), "--hub-port", str(c.ports[1]),
                                  "--proxy-port", str(c.ports[2]), "--course", c.course_id, "--auth", "dummy",
                                  "--gateway", str(c.gateway), "--gateway-url", gateway_url, "--json"]),
                          capture_output=True, text=True, timeout=300)
    assert init.returncode == 0, init.stderr
    report = json.loads(init.stdout)
    assert sorted(report["accounts_created"]) == sorted(c.learners + [c.instructor])
    assert "solutions" in report["closed_in_checkout"] and ".git" in report["closed_in_checkout"]
    # A service token for the test, the way a site adds its own settings: config.d/, loaded last.
    (c.dir / "config.d" / "e2e.py").write_text(
        f"c.JupyterHub.services = [{{'name': 'e2e', 'api_token': {c.token!r}}}]\n"
        "c.JupyterHub.load_roles = [{'name': 'e2e', 'services': ['e2e'], "
        "'scopes': ['servers', 'access:servers', 'read:users']}]\n")
    # Late work here loses 10 % per started day from the first second (no grace), for the test.
    with open(c.dir / "course" / "nbgrader_config.py", "a") as config:
        config.write("c.LatePenalty.grace_minutes = 0\n")
    c.start_hub()
    hub_up = time.perf_counter()

    c.instructor_runs("nbgrader", "generate_assignment", ASSIGNMENT)
    c.instructor_runs("nbgrader", "release_assignment", ASSIGNMENT)
    for name in c.learners:
        c.start_server(name)
    # Each learner's server holds their own gateway key, so portalit.use("server") reaches it as them.
    issued = dict(line.split(",", 1) for line in (c.gateway / "keys.csv").read_text().split()[1:])
    for name in c.learners:
        pids = subprocess.run(["pgrep", "-u", name, "-f", "jupyterhub-singleuser"], capture_output=True,
                              text=True).stdout.split()
        assert pids, f"no server process for {name}"
        env = dict(item.split("=", 1) for item in Path(f"/proc/{pids[0]}/environ").read_text().split("\0") if "=" in item)
        assert env["PORTALIT_API_KEY"] == issued[name] and env["PORTALIT_API_BASE"] == gateway_url
    master = nbformat.read(c.dir / "course" / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    notebook = f"/user/{{}}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    for name, case in zip(c.learners, ["right", "partly", "blank"]):
        c.nbgrader(name, "fetch")
        fetched = nbformat.from_dict(c.http("GET", notebook.format(name))["content"])
        c.http("PUT", notebook.format(name), body={"type": "notebook", "format": "json",
                                                   "content": fill(copy.deepcopy(fetched), case, master)})
        c.nbgrader(name, "submit")
        if name == a:  # the due date falls between the first learner's submission and the second's
            time.sleep(1.2)
            due = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=0.6)
            c.instructor_runs("nbgrader", "db", "assignment", "add", ASSIGNMENT,
                              f"--duedate={due.strftime('%Y-%m-%d %H:%M:%S.%f')} UTC")
            time.sleep(0.3)

    # Learner c tries to submit in a's name (later than a's own work), then hands in the solutions
    # through a link in their own name.
    inbound = c.dir / "exchange" / c.course_id / "inbound"
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    forged, linked = inbound / f"{a}+{ASSIGNMENT}+{later}+forged", inbound / f"{cc}+{ASSIGNMENT}+{later}+linked"
    solution = c.dir / "course" / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    c.as_user(cc, ["mkdir", str(forged), str(linked)])
    c.as_user(cc, ["cp", str(c.dir / "share" / "lessons" / "00_start_here.ipynb"), str(forged / f"{ASSIGNMENT}.ipynb")])
    c.as_user(cc, ["ln", "-s", str(solution), str(linked / f"{ASSIGNMENT}.ipynb")])

    collect = c.instructor_runs("nbgrader", "collect", ASSIGNMENT)
    assert f"named for {a!r} but owned by {cc!r}" in collect.stderr
    assert "is a link or a special file" in collect.stderr
    graded = json.loads(c.instructor_runs(str(BIN / "portalit"), "grade", ASSIGNMENT, "--json").stdout)
    scores = {row["student"]: row["score"] for row in graded["students"]}
    assert scores == {a: 10, b: 4, cc: 0}, graded
    c.instructor_runs("nbgrader", "release_feedback", ASSIGNMENT)

    # The grades, late penalty applied, in grades.csv and in the Canvas and Moodle imports.
    import csv

    course = c.dir / "course"
    rows = {r["student_id"]: r for r in csv.DictReader(open(course / "grades.csv"))}
    assert (float(rows[a]["score"]), float(rows[a]["late_submission_penalty"])) == (10.0, 0.0)
    assert float(rows[b]["raw_score"]) == 4.0 and float(rows[b]["late_submission_penalty"]) == pytest.approx(0.4)
    assert float(rows[b]["score"]) == pytest.approx(3.6)
    assert float(rows[cc]["score"]) == 0.0
    canvas = list(csv.reader(open(course / "grades-canvas.csv")))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == 12  # 10 autograded + 2 written
    assert ["Lovelace, Ada", "101", "", a, "", "10"] in canvas
    assert ["Turing, Alan", "102", "", b, "", "3.6"] in canvas
    assert not any(cell.startswith("=") for row in canvas for cell in row)  # a formula stays text
    moodle = list(csv.DictReader(open(course / "grades-moodle.csv")))
    assert {(r["Username"], r["Email address"], r["ps03"]) for r in moodle} == {
        (a, "ada@example.org", "10"), (b, "alan@example.org", "3.6"), (cc, "grace@example.org", "0")}

    # Each learner fetches feedback: their own grade, and no hidden test in it.
    hidden = [line.strip() for cell in master.cells if "BEGIN HIDDEN TESTS" in cell.source
              for line in cell.source.split("### BEGIN HIDDEN TESTS", 1)[1].splitlines()
              if len(line.strip()) > 12 and "HIDDEN TESTS" not in line]
    assert hidden
    for name, score in [(a, 10), (b, 3.6), (cc, 0)]:  # feedback shows the score after the late penalty
        c.nbgrader(name, "fetch_feedback")
        folder = c.http("GET", f"/user/{name}/api/contents/{ASSIGNMENT}/feedback")["content"]
        assert len(folder) == 1, folder
        page = c.http("GET", urllib.parse.quote(f"/user/{name}/api/contents/{folder[0]['path']}/{ASSIGNMENT}.html"))["content"]
        text = html.unescape(page)
        # a and b wrote the written answer, which waits for the instructor; c's blank one is a final 0.
        heading = (f"{ASSIGNMENT} (Score so far: {float(score)} / 12.0; written answer: awaiting your instructor's grade)"
                   if name != cc else f"{ASSIGNMENT} (Score: 0.0 / 12.0)")
        assert heading in text, f"{name}'s feedback lacks their score"
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{name}'s feedback shows hidden tests: {leaked[:3]}"

    # Submissions were filed under each hub user's own name, in folders their account owns.
    for name in c.learners:
        assert (course / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        mine = [p for p in inbound.iterdir() if p.name.startswith(f"{name}+") and not p.name.endswith(("forged", "linked"))]
        assert mine and all(p.stat().st_uid == pwd.getpwnam(name).pw_uid for p in mine)
    # Every file in a learner's home is theirs.
    for name in c.learners:
        entry = pwd.getpwnam(name)
        strangers = [str(p) for p in Path(entry.pw_dir).rglob("*") if p.lstat().st_uid != entry.pw_uid]
        assert not strangers, strangers
        assert (Path(entry.pw_dir) / "lessons" / "00_start_here.ipynb").is_file()

    # No learner reads another's home, the solutions (the class's or the checkout's), the gradebook,
    # the tests' expected answers or the hub's secrets; what they may read, they can.
    closed = [Path(pwd.getpwnam(b).pw_dir) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", solution, course / "gradebook.db",
              course / "grades.csv", ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
              ROOT / "tests" / "autograder" / "simulated_class.py", c.dir / "state" / "password",
              course / "submitted" / b / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"]
    for path in closed:
        assert path.exists(), path
        tried = c.as_user(a, ["cat", str(path)], check=False)
        assert tried.returncode != 0 and "Permission denied" in tried.stderr, (path, tried.stdout[:200])
    for path in [Path(pwd.getpwnam(a).pw_dir) / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", c.dir / "share" / "lessons" / "00_start_here.ipynb",
                 ROOT / "src" / "portalit" / "__init__.py"]:
        c.as_user(a, ["cat", str(path)])
    c.as_user(a, [str(BIN / "python"), "-c", "import portalit, portalit.widgets; from portalit import models; models.load_glove()"])

    in_a_thread(browser_walk, c, a)
    seconds = time.perf_counter() - started
    out = ARTIFACTS / "hub"
    out.mkdir(parents=True, exist_ok=True)
    (out / "class.json").write_text(json.dumps({"learners": 3, "instructors": 1, "seconds": round(seconds, 1),
                                                "hub_start_s": round(hub_up - started, 1), "scores": scores}) + "\n")
    print(f"\nclass on the hub, end to end: {seconds:.1f} s")


def in_a_thread(function, *args):
    """Playwright's sync API refuses a thread where an event loop runs, and the browser suite's
    own Playwright may still hold this one's: a thread of its own has none."""
    import threading

    failure = []

    def run():
        try:
            function(*args)
        except BaseException as e:  # handed to the test's thread
            failure.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=600)
    assert not thread.is_alive(), "the browser walk did not finish in 10 minutes"
    if failure:
        raise failure[0]


def browser_walk(c: Class, learner: str):
    """Sign in on the hub's login page and open the Assignments list, as a learner would."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing (`make test-browser-deps` installs it)")
    from playwright.sync_api import sync_playwright

    password = (c.dir / "state" / "password").read_text().strip()
    shots = ARTIFACTS / "hub"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(f"{c.url}/hub/login", timeout=60_000)
            page.fill("#username_input", learner)
            page.fill("#password_input", "not the password")
            page.click("#login_submit")
            page.wait_for_selector("text=Invalid username or password", timeout=30_000)
            page.fill("#username_input", learner)
            page.fill("#password_input", password)
            page.click("#login_submit")
            page.wait_for_url(f"**/user/{learner}/lab**", timeout=90_000)
            page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
            page.click("text=Nbgrader", timeout=60_000)
            page.click("text=Assignment List", timeout=30_000)
            page.wait_for_selector(f"text={ASSIGNMENT}", timeout=60_000)
            page.screenshot(path=str(shots / "assignments.png"))
            assert not page.query_selector("text=Formgrader"), "a learner sees the instructors' Formgrader"
        finally:
            browser.close()
