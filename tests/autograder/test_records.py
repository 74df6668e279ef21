"""What was graded: a submission's fingerprint changes with any of its files."""
from portalit.autograder import records


def test_fingerprint_changes_with_any_submitted_file(tmp_path):
    (tmp_path / "ps01.ipynb").write_text("{}")
    before = records.fingerprint(tmp_path)
    assert records.fingerprint(tmp_path) == before
    (tmp_path / "timestamp.txt").write_text("2026-11-20 10:00:00 UTC")
    assert records.fingerprint(tmp_path) != before
