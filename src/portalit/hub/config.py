"""The files `portalit hub init` writes: the hub's configuration and the Jupyter configuration
each learner's and instructor's own server reads (nbgrader's exchange, which extensions they see)."""
from __future__ import annotations

import json
from pathlib import Path

AUTHENTICATORS = ("pam", "dummy")


def jupyterhub_config(*, here: Path, venv_bin: Path, port: int, hub_port: int, proxy_port: int,
                      learners: list[str], instructors: list[str], auth: str, gateway_url: str | None = None) -> str:
    if auth == "dummy":
        login = f'''# Local trial and tests only: every account shares one password, kept in state/ (root only).
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = open({str(here / "state" / "password")!r}).read().strip()'''
    else:
        login = '''# Learners sign in with their Unix account's password (PAM).
c.JupyterHub.authenticator_class = "pam"'''
    gateway = ""
    if gateway_url:
        gateway = f'''

# The class gateway: each learner's own key (state/gateway-keys.json, root only) in their server's
# environment, so portalit.use("server") reaches it as them. Instructors get none.
import json
with open(os.path.join(HERE, "state", "gateway-keys.json")) as _f:
    _GATEWAY_KEYS = json.load(_f)
c.Spawner.environment["PORTALIT_API_BASE"] = {gateway_url!r}
c.Spawner.environment["PORTALIT_API_KEY"] = lambda spawner: _GATEWAY_KEYS.get(spawner.user.name, "")'''
    return f'''"""JupyterHub for the PortaLit class in {here}, written by `portalit hub init`.

Start it as root: jupyterhub -f {here / "jupyterhub_config.py"}
Each learner's server runs as their own Unix account, from the course's environment, with the
class's nbgrader exchange. Local changes belong in config.d/*.py (loaded last), so that running
`portalit hub init` again does not undo them.

Signing in, for real use (see INSTRUCTORS.md):
- PAM (the default here): Unix passwords; set them with `passwd NAME`, and serve over HTTPS
  (c.JupyterHub.ssl_cert / ssl_key, or a TLS proxy in front).
- OAuth (GitHub, Google, your university's identity provider): pip install oauthenticator, then
  c.JupyterHub.authenticator_class = "generic-oauth" with its client id and secret, and
  c.LocalAuthenticator.create_system_users = True if accounts should follow sign-ins.
- LTI 1.3 from Canvas or Moodle: pip install ltiauthenticator, then
  c.JupyterHub.authenticator_class = "lti13" with the platform's issuer, client id and key URLs.
The names the sign-in yields must be the Unix account names listed below.
"""
import glob
import os

HERE = {str(here)!r}
VENV_BIN = {str(venv_bin)!r}
INSTRUCTORS = {sorted(instructors)!r}
LEARNERS = {sorted(learners)!r}

c = get_config()  # noqa: F821 (JupyterHub provides it)

# Loopback only: put a TLS reverse proxy in front to serve a real class over the network.
c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
# The pure-Python configurable-http-proxy (no Node.js), from the course environment.
c.ConfigurableHTTPProxy.command = [os.path.join(VENV_BIN, "configurable-http-proxy")]
c.ConfigurableHTTPProxy.pid_file = os.path.join(HERE, "state", "proxy.pid")
c.JupyterHub.db_url = "sqlite:///" + os.path.join(HERE, "state", "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(HERE, "state", "cookie_secret")

{login}
c.Authenticator.allowed_users = set(LEARNERS + INSTRUCTORS)
c.Authenticator.admin_users = set(INSTRUCTORS)
c.JupyterHub.load_groups = {{"learners": {{"users": LEARNERS}}, "instructors": {{"users": INSTRUCTORS}}}}

# Each account's own server: the course environment, offline, on loopback, opening JupyterLab.
c.Spawner.cmd = [os.path.join(VENV_BIN, "jupyterhub-singleuser")]
c.Spawner.ip = "127.0.0.1"
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120  # a busy machine, thirty learners signing in at once
c.Spawner.http_timeout = 90


def _jupyter_config(spawner):
    role = "instructor" if spawner.user.name in INSTRUCTORS else "learner"
    return os.path.join(HERE, "etc", role)


c.Spawner.environment = {{
    "JUPYTER_CONFIG_PATH": _jupyter_config,
    "PATH": VENV_BIN + ":/usr/local/bin:/usr/bin:/bin",
    "PORTALIT_BACKEND": "local-cpu",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
}}{gateway}

for extra in sorted(glob.glob(os.path.join(HERE, "config.d", "*.py"))):
    load_subconfig(extra)  # noqa: F821
'''


def nbgrader_exchange(*, here: Path, course_id: str, instructor: bool) -> str:
    text = f'''"""nbgrader for the PortaLit class in {here}: the class's exchange (written by portalit hub init)."""
c = get_config()  # noqa: F821
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {str(here / "exchange")!r}
'''
    if instructor:
        text += f'''# The course folder, shared by the instructors' group; nbgrader keeps group access on what it writes.
c.CourseDirectory.root = {str(here / "course")!r}
c.CourseDirectory.groupshared = True
c.ExchangeFactory.collect = "portalit.hub.exchange.CheckedCollect"
'''
    return text


def server_config(*, here: Path, instructor: bool) -> str:
    course = repr(str(here / "course")) if instructor else "None"
    return f'''"""Each account's own Jupyter server in the PortaLit class (written by portalit hub init)."""
from portalit.hub.learner import prepare_home

prepare_home({str(here / "share" / "lessons")!r}, course={course})
'''


LEARNER_HIDDEN_LAB = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                      "@jupyter/nbgrader:course-list"]
LEARNER_HIDDEN_SERVER = ["nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list"]


def learner_extensions() -> tuple[str, str]:
    """(labconfig/page_config.json, jupyter_server_config.d/portalit-learner.json): learners see the
    Assignments list, not the instructors' grading tools."""
    lab = {"disabledExtensions": {name: True for name in LEARNER_HIDDEN_LAB}}
    server = {"ServerApp": {"jpserver_extensions": {name: False for name in LEARNER_HIDDEN_SERVER}}}
    return json.dumps(lab, indent=1) + "\n", json.dumps(server, indent=1) + "\n"


def course_section(*, here: Path, course_id: str) -> str:
    return f'''

# ----------------------------------------------------------------------------------------------
# The class on this machine (appended by `portalit hub init`).
c.CourseDirectory.course_id = {course_id!r}
c.CourseDirectory.groupshared = True
c.Exchange.root = {str(here / "exchange")!r}
# Collect refuses submissions in another learner's name or holding links, and times them by the
# exchange's clock, not the learner's (portalit/hub/exchange.py).
c.ExchangeFactory.collect = "portalit.hub.exchange.CheckedCollect"
# Due dates: `nbgrader db assignment add ps03 --duedate="2026-12-08 17:00:00 UTC"` in this folder.
# Late work loses a share of its score per started day late, and scores zero after the cut-off.
c.AssignLatePenalties.plugin_class = "portalit.autograder.late.LatePenalty"
c.LatePenalty.percent_per_day = 10
c.LatePenalty.grace_minutes = 15
c.LatePenalty.zero_after_days = 7
'''
