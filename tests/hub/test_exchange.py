"""The hub's collect: a submission in another's name, one holding a link, and a backdated one."""
from __future__ import annotations

import datetime
import os
import pwd
import time

import pytest

from portalit.hub.exchange import inspect

NOBODY = 65534


def me() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def test_a_plain_submission_passes_and_is_timed_by_the_exchange_not_by_its_name(tmp_path):
    folder = tmp_path / f"{me()}+ps03+2020-01-01 00:00:00.000000 UTC+abc"
    folder.mkdir()
    (folder / "ps03.ipynb").write_text("{}")
    (folder / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")  # what the learner claims
    problem, received = inspect(str(folder), me())
    assert problem is None
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    assert abs((now - received).total_seconds()) < 60


def test_a_later_change_moves_the_time_later(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")
    before = inspect(str(folder), me())[1]
    time.sleep(0.05)
    os.utime(folder / "a.ipynb", (0, 0))  # setting mtime back changes the inode time forward
    assert inspect(str(folder), me())[1] > before


def test_links_special_files_and_other_names_are_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "ps03.ipynb").symlink_to("/etc/hostname")
    assert "link or a special file" in inspect(str(folder), me())[0]
    (folder / "ps03.ipynb").unlink()
    os.mkfifo(folder / "pipe")
    assert "link or a special file" in inspect(str(folder), me())[0]
    (folder / "pipe").unlink()
    assert "owned by" in inspect(str(folder), "someone-else")[0]
    link = tmp_path / "link"
    link.symlink_to(folder)
    assert "not a folder" in inspect(str(link), me())[0]
    assert "cannot be read" in inspect(str(tmp_path / "gone"), me())[0]


def test_too_many_files_are_refused(tmp_path, monkeypatch):
    from portalit.hub import exchange

    monkeypatch.setattr(exchange, "MAX_FILES", 3)
    folder = tmp_path / "sub"
    folder.mkdir()
    for i in range(4):
        (folder / f"f{i}").write_text("x")
    assert "more than 3 files" in inspect(str(folder), me())[0]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_file_another_account_put_inside_is_refused(tmp_path):
    folder = tmp_path / "sub"
    folder.mkdir()
    (folder / "ps03.ipynb").write_text("{}")
    os.chown(folder / "ps03.ipynb", NOBODY, NOBODY)
    assert "owned by" in inspect(str(folder), me())[0]
