"""What each account's own server does as it starts: its own copy of the lessons, and a check that
the hub name is the account name nbgrader files work under."""
from __future__ import annotations

import getpass

import pytest

from portalit.hub import learner


def test_the_lessons_are_copied_once_and_then_left_alone(tmp_path, monkeypatch):
    share, home = tmp_path / "share", tmp_path / "home"
    (share / ".ipynb_checkpoints").mkdir(parents=True)
    (share / "00_start_here.ipynb").write_text("{}")
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    learner.prepare_home(str(share))
    assert sorted(p.name for p in (home / "lessons").iterdir()) == ["00_start_here.ipynb"]
    (home / "lessons" / "00_start_here.ipynb").write_text("my notes")
    learner.prepare_home(str(share))
    assert (home / "lessons" / "00_start_here.ipynb").read_text() == "my notes"


def test_an_instructor_gets_a_link_to_the_course_folder(tmp_path, monkeypatch):
    course, home = tmp_path / "course", tmp_path / "home"
    course.mkdir()
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    learner.prepare_home(str(tmp_path / "no-lessons"), course=str(course))
    assert (home / "course").resolve() == course
    assert not (home / "lessons").exists()


def test_a_hub_name_that_is_not_the_account_name_stops_the_server(monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", getpass.getuser() + "x")
    with pytest.raises(RuntimeError, match="username_map"):
        learner.check_account()
    monkeypatch.setenv("JUPYTERHUB_USER", getpass.getuser())
    learner.check_account()
