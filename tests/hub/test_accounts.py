"""Accounts for a class: created as root, otherwise checked, with the missing ones named."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

from portalit.errors import PortalitError
from portalit.hub import accounts
from tests.autograder.conftest import as_nobody


def test_system_accounts_never_join_a_class():
    with pytest.raises(PortalitError, match="daemon, nobody: system accounts"):
        accounts.ensure(["daemon"], ["nobody"], "no-such-group-portalit")


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the check as the account nobody, which needs root")
def test_without_root_missing_accounts_are_named_and_nothing_is_made():
    code = ("import json; from portalit.errors import PortalitError; from portalit.hub import accounts\n"
            "try:\n    accounts.ensure(['plnosuchlearner'], ['plnosuchteacher'], 'plnosuch-instructors')\n"
            "except PortalitError as e:\n    print(json.dumps(str(e)))\n")
    view = tempfile.mkdtemp(prefix="portalit-view-")
    try:
        done = subprocess.run(as_nobody([sys.executable, "-c", code], view), capture_output=True, text=True,
                              timeout=120, cwd="/")
    finally:
        os.rmdir(view)
    assert done.returncode == 0, done.stderr[-2000:]
    message = json.loads(done.stdout.strip().splitlines()[-1])
    assert "these accounts do not exist: plnosuchlearner, plnosuchteacher" in message
    assert "useradd" in message
    assert subprocess.run(["id", "plnosuchlearner"], capture_output=True).returncode != 0
