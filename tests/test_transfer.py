"""`portalit eval transfer`: paired bootstrap intervals, the transfer rule, the cache, and real runs
on both local model families."""
import json

import pytest

from portalit import transfer
from portalit.errors import PortalitError
from tests.conftest import run_cli


def test_bootstrap_of_no_change_is_zero_with_a_zero_interval():
    e = transfer.bootstrap([1, 0, 1, 0] * 5, [1, 0, 1, 0] * 5)
    assert (e["effect"], e["ci_low"], e["ci_high"], e["n"]) == (0.0, 0.0, 0.0, 20)


def test_bootstrap_of_a_clear_gain_excludes_zero_and_is_repeatable():
    base, treated = [0] * 20, [1] * 12 + [0] * 8
    e = transfer.bootstrap(base, treated)
    assert e["effect"] == 0.6 and e["baseline"] == 0.0 and e["treated"] == 0.6
    assert 0.3 < e["ci_low"] < 0.6 < e["ci_high"] < 0.85
    assert transfer.bootstrap(base, treated) == e


def test_bootstrap_of_one_lucky_case_includes_zero():
    e = transfer.bootstrap([0] * 20, [1] + [0] * 19)
    assert e["ci_low"] == 0.0 and e["effect"] == 0.05


def test_bootstrap_needs_paired_lists():
    with pytest.raises(PortalitError, match="equally long"):
        transfer.bootstrap([1, 0], [1])


def _e(low, high):
    return {"effect": (low + high) / 2, "ci_low": low, "ci_high": high}


def test_transfer_rule():
    assert transfer.transfers({"a": _e(0.1, 0.5), "b": _e(0.2, 0.9)})
    assert transfer.transfers({"a": _e(-0.5, -0.1), "b": _e(-0.9, -0.2)})
    assert not transfers_with_zero()
    assert not transfer.transfers({"a": _e(0.1, 0.5), "b": _e(-0.9, -0.2)})
    assert not transfer.transfers({"a": _e(0.1, 0.5)})


def transfers_with_zero():
    return transfer.transfers({"a": _e(0.1, 0.5), "b": _e(-0.1, 0.4)})


def test_bad_model_lists_name_the_choices():
    with pytest.raises(PortalitError, match="unknown model 'gpt4' for eval transfer; choose local ones from: smollm2-135m, gemma3-270m"):
        transfer.measure("smollm2-135m,gpt4")
    with pytest.raises(PortalitError, match="different models"):
        transfer.measure("smollm2-135m,smollm2-135m")


def test_a_real_run_is_cached_by_what_decides_it(tmp_path, monkeypatch):
    # The environment's folder cannot be written (it lies under a plain file: refused even to root),
    # so the measurement is kept in the user's own cache.
    (tmp_path / "file").write_text("")
    monkeypatch.setattr(transfer, "_cache_folders", lambda: [tmp_path / "file" / "shared", tmp_path / "own"])
    seen = []
    first = transfer.measure(["smollm2-135m"], limit=2, progress=seen.append)
    assert "cached" not in first and len(seen) == 6
    again = transfer.measure(["smollm2-135m"], limit=2)
    stored = list((tmp_path / "own").glob("transfer-*.json"))
    assert len(stored) == 1 and again["cached"] == str(stored[0])
    assert again["patterns"] == first["patterns"]
    assert {p["name"] for p in first["patterns"]} >= {"role", "few-shot", "delimiting"}
    assert all(p["effects"]["smollm2-135m"]["n"] == 2 and p["transfers"] is False for p in first["patterns"])


def test_an_unkeyed_cloud_model_is_skipped_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder")
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.chdir(tmp_path)
    result = transfer.measure(["gemma3-270m", "openai/gpt-4o-mini"], limit=2)
    assert result["models"] == ["gemma3-270m"] and "cached" not in result  # cloud lists are never cached
    assert "OPENAI_API_KEY" in result["skipped"]["openai/gpt-4o-mini"]


def test_cli_reports_six_patterns_on_two_families_with_intervals():
    # The set-up measured the full suite once (make setup); this reads it, or measures it here.
    done = run_cli("eval", "transfer", "--json", timeout=1800)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["models"] == ["smollm2-135m", "gemma3-270m"]
    assert len(result["patterns"]) >= 6 and result["seconds"] > 0
    for pattern in result["patterns"]:
        assert set(pattern) >= {"name", "effects", "transfers"} and isinstance(pattern["transfers"], bool)
        for model in result["models"]:
            e = pattern["effects"][model]
            assert e["n"] >= 20 and e["ci_low"] <= e["effect"] <= e["ci_high"]
            assert e["effect"] == pytest.approx(e["treated"] - e["baseline"], abs=1e-3)
        assert pattern["transfers"] == transfer.transfers(pattern["effects"])
    text = run_cli("eval", "transfer")
    assert text.returncode == 0 and "transfers" in text.stdout.splitlines()[0]


@pytest.mark.parametrize("args, message", [
    (["--models", "nope"], "unknown model 'nope' for eval transfer"),
    (["--cases", "1"], "--cases 1 must be at least 2"),
])
def test_cli_bad_input_is_one_line(args, message):
    done = run_cli("eval", "transfer", *args)
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.strip().splitlines()) == 1
