"""Run inside each learner's (and instructor's) own Jupyter server as it starts, as that account:
give them their own copy of the lessons the first time, so what they edit and save is theirs."""
from __future__ import annotations

import os
import shutil
from pathlib import Path


def prepare_home(lessons: str, course: str | None = None) -> None:
    check_account()
    home = Path.home()
    mine = home / "lessons"
    if not os.path.lexists(mine) and Path(lessons).is_dir():
        shutil.copytree(lessons, mine, symlinks=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    # An instructor's server opens at home; a link to the course folder puts it one click away.
    if course and os.access(course, os.R_OK | os.X_OK) and not os.path.lexists(home / "course"):
        os.symlink(course, home / "course")


def check_account() -> None:
    """nbgrader files a submission under the Unix account's name (its get_username() reads
    JUPYTERHUB_USER only for the account `jovyan`), and the hub's collect refuses a folder whose
    owner is not the learner it names. So a hub name must be its account's name: a sign-in that
    yields other names (an email from OAuth, say) needs username mapping, and is stopped here."""
    import getpass

    hub_name, account = os.environ.get("JUPYTERHUB_USER"), getpass.getuser()
    if hub_name and hub_name != account:
        raise RuntimeError(f"hub user {hub_name!r} runs as Unix account {account!r}: nbgrader would file their "
                           "work under the account's name. Map sign-in names to account names "
                           "(Authenticator.username_map) so that they are the same")
