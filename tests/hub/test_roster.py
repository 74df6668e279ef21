"""Who is in the class: names that must be valid Unix accounts, hub users and nbgrader ids at once."""
from __future__ import annotations

import pytest

from portalit.errors import PortalitError
from portalit.hub import roster


def test_names_from_a_comma_list():
    assert [p.name for p in roster.people(" ada, alan ,grace", "learners")] == ["ada", "alan", "grace"]


@pytest.mark.parametrize("bad", ["Ada", "ada lovelace", "../etc", "ada;rm", "-x", "a" * 33, "ada@uni", "1ada"])
def test_a_name_that_cannot_be_an_account_is_refused_by_name(bad):
    with pytest.raises(PortalitError, match="cannot be an account name") as e:
        roster.people(f"ok,{bad}", "learners")
    assert "--learners" in str(e.value)


def test_no_names_and_repeated_names_are_refused():
    with pytest.raises(PortalitError, match="no names given"):
        roster.people(" , ", "learners")
    with pytest.raises(PortalitError, match="more than once: ada"):
        roster.people("ada,alan,ada", "learners")


def test_a_roster_csv_with_a_byte_order_mark_and_optional_columns(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("\ufefflearner, first_name ,last_name,email,lms_id,extra\n"
                    "ada,Ada,Lovelace,ada@example.org,101,x\n\n"
                    'alan,"Alan, M.",Turing,,102,\n', encoding="utf-8")
    found = roster.people(str(path), "learners")
    assert found == [roster.Person("ada", "Ada", "Lovelace", "ada@example.org", "101"),
                     roster.Person("alan", "Alan, M.", "Turing", "", "102")]


def test_a_roster_without_a_learner_column_or_with_an_empty_one_names_the_problem(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("name,email\nada,ada@example.org\n")
    with pytest.raises(PortalitError, match="no 'learner' column; its columns: name, email"):
        roster.people(str(path), "learners")
    path.write_text("learner,email\nada,a@example.org\n,b@example.org\n")
    with pytest.raises(PortalitError, match="line 3: the 'learner' field is empty"):
        roster.people(str(path), "learners")


def test_a_missing_or_binary_roster_is_one_clear_error(tmp_path):
    with pytest.raises(PortalitError, match="could not be read"):
        roster.people(str(tmp_path / "nope.csv"), "learners")
    path = tmp_path / "class.csv"
    path.write_bytes(b"\xff\xfe\x00learner")
    with pytest.raises(PortalitError, match="could not be read"):
        roster.people(str(path), "learners")
