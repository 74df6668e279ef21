"""portalit hub init's checks and files, without accounts (the end-to-end test makes real ones)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from traitlets.config.loader import PyFileConfigLoader

import portalit.hub as hub
from portalit.errors import PortalitError
from portalit.hub import config
from tests.conftest import run_cli


@pytest.mark.parametrize("args, message", [
    (["--course", "Bad Course"], "--course 'Bad Course'"),
    (["--auth", "ldap"], "--auth 'ldap': choose one of pam, dummy"),
    (["--port", "8000", "--hub-port", "8000"], "must differ"),
    (["--port", "70000"], "--port 70000 must be a port number"),
])
def test_bad_options_get_one_line_before_anything_is_made(tmp_path, args, message):
    done = run_cli("hub", "init", str(tmp_path / "class"), "--learners", "ada", "--instructors", "tim", *args)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "class").exists()


def test_an_instructor_cannot_also_be_a_learner(tmp_path):
    done = run_cli("hub", "init", str(tmp_path / "c"), "--learners", "ada,tim", "--instructors", "tim")
    assert done.returncode == 2 and "listed as learner and instructor: tim" in done.stderr


def test_an_environment_learners_cannot_reach_is_named(tmp_path):
    closed = tmp_path / "closed"
    (closed / "course" / ".venv").mkdir(parents=True)
    os.chmod(closed, 0o700)
    with pytest.raises(PortalitError, match=f"{closed} is closed to other accounts .mode 700.*/srv/portalit"):
        hub._check_reachable(closed / "course" / ".venv")


def test_a_folder_others_may_write_to_or_a_link_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(PortalitError, match="others may write to it"):
        hub._check_own(shared)
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(PortalitError, match="is a symbolic link"):
        hub._check_own(tmp_path / "link" / "class")
    hub._check_own(tmp_path / "new")  # a new folder is fine


def test_writes_never_follow_a_planted_link(tmp_path):
    target = tmp_path / "victim"
    target.write_text("keep")
    (tmp_path / "config.py").symlink_to(target)
    with pytest.raises(OSError):
        hub._write(tmp_path / "config.py", "overwritten")
    assert target.read_text() == "keep"


def test_the_checkout_is_closed_except_what_learners_run(tmp_path):
    for name in ("src", "data", "widgets", ".venv", "solutions", "tests", ".git"):
        (tmp_path / name).mkdir()
        os.chmod(tmp_path / name, 0o755)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=x")
    os.chmod(tmp_path / ".env", 0o644)
    closed = hub._close_checkout(tmp_path, [tmp_path / ".venv", tmp_path / "src", tmp_path / "data", tmp_path / "widgets"])
    assert closed == [".env", ".git", "solutions", "tests"]
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {"src": 0o755, "data": 0o755, "widgets": 0o755, ".venv": 0o755, "solutions": 0o750,
                     "tests": 0o750, ".git": 0o750, ".env": 0o640}


def test_the_hub_configuration_loads_and_says_what_the_class_needs(tmp_path):
    (tmp_path / "config.d").mkdir()
    (tmp_path / "config.d" / "site.py").write_text("c.JupyterHub.log_level = 'DEBUG'\n")
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "password").write_text("s3cret\n")
    text = config.jupyterhub_config(here=tmp_path, venv_bin=Path("/opt/venv/bin"), port=18000, hub_port=18001,
                                    proxy_port=18002, learners=["bob", "ada"], instructors=["tim"], auth="dummy")
    (tmp_path / "jupyterhub_config.py").write_text(text)
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(tmp_path)).load_config()
    assert c.JupyterHub.bind_url == "http://127.0.0.1:18000"
    assert c.JupyterHub.hub_ip == "127.0.0.1" and c.Spawner.ip == "127.0.0.1"
    assert c.Authenticator.allowed_users == {"ada", "bob", "tim"} and c.Authenticator.admin_users == {"tim"}
    assert c.DummyAuthenticator.password == "s3cret" and "s3cret" not in text
    assert c.Spawner.cmd == ["/opt/venv/bin/jupyterhub-singleuser"]
    assert c.ConfigurableHTTPProxy.command == ["/opt/venv/bin/configurable-http-proxy"]
    assert c.JupyterHub.log_level == "DEBUG"  # config.d/ is loaded last

    class Spawner:
        class user:
            name = "tim"

    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"](Spawner) == str(tmp_path / "etc" / "instructor")
    Spawner.user.name = "ada"
    assert c.Spawner.environment["JUPYTER_CONFIG_PATH"](Spawner) == str(tmp_path / "etc" / "learner")
    pam = config.jupyterhub_config(here=tmp_path, venv_bin=Path("/v"), port=1, hub_port=2, proxy_port=3,
                                   learners=["a"], instructors=["t"], auth="pam")
    assert 'authenticator_class = "pam"' in pam and "password" not in pam.split("Signing in")[0]


def test_learners_do_not_see_the_instructors_tools():
    lab, server = config.learner_extensions()
    assert '"@jupyter/nbgrader:formgrader": true' in lab
    assert '"nbgrader.server_extensions.formgrader": false' in server


@pytest.mark.skipif(os.geteuid() != 0, reason="making a file another account owns needs root")
def test_an_exchange_folder_someone_else_made_first_is_refused(tmp_path):
    share = tmp_path / "exchange" / "course"
    (share / "outbound" / "ps03").mkdir(parents=True)
    (share / "inbound" / "ada+ps03+x").mkdir(parents=True)
    os.chown(share / "inbound" / "ada+ps03+x", 65534, 65534)  # a learner's own submission: expected
    hub._check_exchange(share, 0)
    os.chown(share / "outbound" / "ps03", 65534, 65534)  # a learner's "release": not
    with pytest.raises(PortalitError, match="belongs to uid 65534, not to root or an instructor"):
        hub._check_exchange(share, 0)


def test_each_learner_gets_their_own_gateway_key_and_instructors_none(tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "gateway-keys.json").write_text('{"ada": "plk-ada", "bob": "plk-bob"}')
    text = config.jupyterhub_config(here=tmp_path, venv_bin=Path("/v"), port=1, hub_port=2, proxy_port=3,
                                    learners=["ada", "bob"], instructors=["tim"], auth="pam",
                                    gateway_url="http://127.0.0.1:8000/v1")
    (tmp_path / "jupyterhub_config.py").write_text(text)
    c = PyFileConfigLoader("jupyterhub_config.py", path=str(tmp_path)).load_config()
    env = c.Spawner.environment
    assert env["PORTALIT_API_BASE"] == "http://127.0.0.1:8000/v1" and "plk-" not in text

    def spawner(name):
        return type("S", (), {"user": type("U", (), {"name": name})})

    assert [env["PORTALIT_API_KEY"](spawner(n)) for n in ("ada", "bob", "tim")] == ["plk-ada", "plk-bob", ""]


def test_gateway_options_are_checked_before_anything_is_made(tmp_path):
    done = run_cli("hub", "init", str(tmp_path / "c"), "--learners", "ada", "--instructors", "tim",
                   "--gateway", str(tmp_path / "nogw"), "--gateway-url", "http://127.0.0.1:8000/v1")
    assert done.returncode == 2 and "cannot read the gateway's keys" in done.stderr
    done = run_cli("hub", "init", str(tmp_path / "c"), "--learners", "ada", "--instructors", "tim",
                   "--gateway-url", "http://127.0.0.1:8000/v1")
    assert done.returncode == 2 and "--gateway-url needs --gateway" in done.stderr
    assert not (tmp_path / "c").exists()
