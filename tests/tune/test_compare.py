"""`portalit tune`: a small real tune end to end (peft, the GGUF conversion, llama.cpp), the cache
and install, the CLI's errors, and the installed router scored through the shared client."""
import json

import pytest

from portalit import models
from portalit.tune import compare, data, train
from tests.conftest import run_cli

NAME = compare.NAME


@pytest.mark.slow
def test_a_small_tune_runs_end_to_end_and_the_gguf_answers_as_peft_does(tmp_path):
    keep = tmp_path / "router"
    result = compare.run(train.Settings(epochs=3), per_lesson=3, heldout_per_lesson=3, install=False, keep=keep)
    for key in ("zero_shot", "few_shot", "lora", "shuffled", "gguf", "chance", "train_seconds", "examples"):
        assert key in result
    assert result["examples"] == 27 and result["heldout"] == 27 and result["chance"] == round(1 / 9, 4)
    # The converted adapter is the same model: llama.cpp and peft pick the same lesson almost always.
    assert result["agreement_gguf_lora"] >= 0.9
    assert abs(result["gguf"] - result["lora"]) <= 0.08
    assert result["forgetting"]["base"] >= 0.6  # the untuned model does lesson 01's task
    assert (keep / "adapter.gguf").stat().st_size > 1_000_000
    assert json.loads((keep / "report.json").read_text())["gguf"] == result["gguf"]
    assert not (keep / "installed").exists() and "installed" not in result


def test_only_a_full_tune_is_installed():
    with pytest.raises(Exception, match="only a tune on the full training set is installed"):
        compare.run(per_lesson=3, install=True)


def test_a_matching_tune_in_the_users_cache_is_put_back_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(models, "_assembly_folders", lambda: [tmp_path / "env" / "models", tmp_path / "own" / "models"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "own"))
    monkeypatch.setattr(compare, "fingerprint", lambda settings, per_lesson: "f" * 16)
    assert compare.cached() is None
    copy = compare._user_copy()
    copy.mkdir(parents=True)
    (copy / "adapter.gguf").write_bytes(b"GGUF")
    (copy / "report.json").write_text(json.dumps({"fingerprint": "0" * 16, "lora": 0.8}))
    assert compare.cached() is None  # built from other data or settings: tune again
    (copy / "report.json").write_text(json.dumps({"fingerprint": "f" * 16, "lora": 0.8}))
    found = compare.cached()
    assert found["lora"] == 0.8 and found["installed"] == str(tmp_path / "env" / "models" / NAME)
    assert models.lora_path(NAME) == tmp_path / "env" / "models" / NAME / "adapter.gguf"
    installed = tmp_path / "env" / "models" / NAME
    assert installed.stat().st_mode & 0o777 == 0o755  # other accounts (learners, the grader) read it
    assert (installed / "adapter.gguf").stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs 0 must be between 1 and 50"),
    (["--per-lesson", "0"], "--per-lesson 0 must be between 1 and"),
    (["--per-lesson", "999"], "--per-lesson 999 must be between 1 and"),
    (["--epochs", "many"], "invalid int value: 'many'"),
])
def test_bad_flags_get_one_clear_line(flags, message):
    done = run_cli("tune", *flags)
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def _installed_report():
    report = compare.cached()
    if report is None:
        pytest.skip("the router is not built here (make setup runs `portalit tune`)")
    return report


def test_the_installed_router_learned_the_task_and_not_the_form():
    # What the tune must show, whatever its exact score: far above prompting and above its own
    # control, which stays near chance; llama.cpp runs it as peft does; it fits a laptop.
    report = _installed_report()
    assert report["examples"] >= 190 and report["heldout"] >= 90
    assert report["lora"] >= 0.5 and report["lora"] >= max(report["few_shot"], report["zero_shot"]) + 0.3
    assert abs(report["shuffled"] - report["chance"]) <= 0.12 and report["lora"] >= report["shuffled"] + 0.3
    # The same adapter in llama.cpp answers as in peft: 0.96-0.98 of answers agree. The accuracy gap
    # was 0.010 on one machine and 0.030 (3 of 99 answers) on another with the same data and
    # settings: float paths differ by CPU and load, so the bound leaves room for a few near-ties.
    assert report["agreement_gguf_lora"] >= 0.95
    assert abs(report["gguf"] - report["lora"]) <= 0.04
    assert report["peak_memory_gb"] <= 3.0
    assert report["forgetting"]["base"] >= 0.6


def test_the_installed_router_answers_through_the_shared_client_as_measured():
    import portalit

    report = _installed_report()
    client = portalit.Client("local-cpu", model=NAME)
    heldout = data.load("heldout")
    answers = [client.chat(e.question, temperature=0, max_tokens=4).text for e in heldout]
    assert compare.accuracy(answers, heldout) == report["gguf"]
    done = run_cli("chat", "--model", NAME, "--temperature", "0", "How do I compute the cosine similarity of two word vectors?")
    assert done.returncode == 0 and data.lesson_of(done.stdout) is not None


@pytest.mark.slow
def test_batched_answers_equal_answers_one_at_a_time():
    """Scoring runs in left-padded batches; each answer must be the one its chat gets alone. A fresh
    adapter trained one epoch on a few questions makes the answers differ from question to question."""
    from portalit import tune

    model, tokenizer = tune.base()
    tuned, _ = train.train(__import__("copy").deepcopy(model), tokenizer, tune.load("train")[:9],
                           train.Settings(epochs=1, variants=0))
    chats = [data.tuned_messages(e.question) for e in tune.load("heldout")[::7]]  # 15, of varied lengths
    alone = [train.answer(tuned, tokenizer, chat) for chat in chats]
    assert train.answers(tuned, tokenizer, chats, batch=4) == alone
    assert len(set(alone)) > 1  # not one constant answer, which any padding bug would also reproduce
