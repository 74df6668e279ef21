"""`portalit tune`: tune the router, and measure it against what prompting alone gets.

On the held-out paraphrases (never trained on), five ways to answer:
  zero_shot  the untuned model, given the lesson list;
  few_shot   the same, plus one worked example per lesson;
  lora       the peft adapter, asked the bare question;
  shuffled   the control: the same training on permuted labels (near chance, or the tune learned
             something other than the questions' meaning);
  gguf       the adapter converted to GGUF and run by llama.cpp: what `portalit chat`, `serve` and
             the gateway answer with.
Plus a forgetting probe: lesson 01's sentiment prompt, base model against the router.
"""
from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from .. import models
from ..errors import PortalitError
from . import data, export, train

NAME = "smollm2-135m-router"
PROMPTED_TOKENS = 12
PROBE = 40  # opinions in the forgetting probe: every 8th of the 320, so both sentiments and all topics
PROBE_ROLE = "You label customer reviews for an online shop."
PROBE_ASK = "Classify the sentiment of this review as positive or negative. Answer with one word.\nReview: {}"


def subset(examples: list[data.Example], per_lesson: int | None) -> list[data.Example]:
    """The first `per_lesson` examples of each lesson (all of them when None), in file order."""
    if per_lesson is None:
        return list(examples)
    counts: dict[str, int] = {}
    kept = []
    for e in examples:
        if counts.get(e.lesson, 0) < per_lesson:
            counts[e.lesson] = counts.get(e.lesson, 0) + 1
            kept.append(e)
    return kept


def accuracy(answers: list[str], examples: list[data.Example]) -> float:
    return round(sum(data.lesson_of(a) == e.lesson for a, e in zip(answers, examples)) / len(examples), 4)


def fingerprint(settings: train.Settings, per_lesson: int | None) -> str:
    """What decides the tuned model: the data, the settings, the base weights and the libraries."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    folder = _data_folder()
    base = models.get(train.BASE, "chat").path()
    key = json.dumps([
        [hashlib.sha256((folder / f"{s}.csv").read_bytes()).hexdigest() for s in ("train", "heldout")],
        asdict(settings), per_lesson, base.name, base.stat().st_size,
        [installed(p) for p in ("torch", "transformers", "peft", "llama_cpp_python")], models.ROUTER_TEMPLATE,
        data.INSTRUCTION, PROMPTED_TOKENS, PROBE, PROBE_ASK,
    ], default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _data_folder() -> Path:
    from ..geometry.datasets import data_dir

    return data_dir() / "router"


def run(settings: train.Settings = train.Settings(), per_lesson: int | None = None, heldout_per_lesson=None,
        install: bool = True, keep: Path | None = None, progress=None) -> dict:
    """Tune, score everything on the held-out set and (full data only) install the router.

    per_lesson trains on that many examples per lesson (a quick, honest small version: CI and the
    lesson use it) and then nothing is installed. keep= leaves the adapter files in that folder."""
    import copy

    import torch

    from ..engines.llamacpp import LlamaCppChat, default_threads

    if install and per_lesson is not None:
        raise PortalitError("only a tune on the full training set is installed as the router; "
                            "drop --per-lesson, or keep the small tune without installing it")
    say = progress or (lambda message: None)
    torch.set_num_threads(default_threads())
    started = time.perf_counter()
    training = subset(data.load("train"), per_lesson)
    heldout = subset(data.load("heldout"), heldout_per_lesson)
    result = {"chance": data.CHANCE, "examples": len(training), "heldout": len(heldout)}

    say("the untuned model, prompted (zero-shot, then few-shot)")
    base_engine = LlamaCppChat(str(models.get(train.BASE, "chat").path()))
    shots = data.one_per_lesson(data.load("train"))
    # Prompting gets a longer reply than the router's 4 tokens: a number anywhere in its first 12
    # tokens counts ("The answer is lesson 3" is right), so the comparison is fair to it.
    zero = [_ask_reusing(base_engine, data.prompted_messages(e.question)) for e in heldout]
    few = [_ask_reusing(base_engine, data.prompted_messages(e.question, shots)) for e in heldout]
    result["zero_shot"], result["few_shot"] = accuracy(zero, heldout), accuracy(few, heldout)
    result["answered_zero_shot"] = round(sum(data.lesson_of(a) is not None for a in zero) / len(zero), 4)
    result["answered_few_shot"] = round(sum(data.lesson_of(a) is not None for a in few) / len(few), 4)
    say(f"zero-shot {result['zero_shot']:.2f}, few-shot {result['few_shot']:.2f}; loading the base for training")

    base, tokenizer = train.load_base()
    tokenizer = train.router_tokenizer(tokenizer)
    pristine = copy.deepcopy(base)  # the control trains on an untouched copy

    tuned, result["train_seconds"] = train.train(base, tokenizer, training, settings, progress=say)
    lora_answers = train.answers(tuned, tokenizer, [data.tuned_messages(e.question) for e in heldout])
    result["lora"] = accuracy(lora_answers, heldout)
    result["lora_by_lesson"] = by_lesson(lora_answers, heldout)
    say(f"LoRA {result['lora']:.2f}; converting the adapter to GGUF")

    folder = Path(tempfile.mkdtemp(prefix="portalit-tune-", dir=keep.parent if keep else None))
    try:
        export.save(tuned, folder)
        adapter = export.to_gguf(folder)
        del tuned, base
        router = LlamaCppChat(str(models.get(train.BASE, "chat").path()),
                              template=(models.ROUTER_TEMPLATE, models.ROUTER_STOP), lora=adapter)
        gguf_answers = [_ask(router, data.tuned_messages(e.question)) for e in heldout]
        result["gguf"] = accuracy(gguf_answers, heldout)
        result["agreement_gguf_lora"] = round(
            sum(data.lesson_of(a) == data.lesson_of(b) for a, b in zip(gguf_answers, lora_answers)) / len(heldout), 4)
        result["forgetting"] = {"task": "lesson 01's sentiment prompt", "n": PROBE,
                                "base": _probe(base_engine), "router": _probe(router)}
        router.llm.close()

        say("the control: the same training on shuffled labels")
        control, _ = train.train(pristine, tokenizer, data.shuffled(training, settings.seed), settings, progress=say)
        result["shuffled"] = accuracy(train.answers(control, tokenizer, [data.tuned_messages(e.question)
                                                                         for e in heldout]), heldout)
        del control, pristine
        base_engine.llm.close()
        result["total_seconds"] = round(time.perf_counter() - started, 1)
        result["peak_memory_gb"] = _peak_gb()
        result["settings"] = asdict(settings)
        result["fingerprint"] = fingerprint(settings, per_lesson)
        result["measured"] = time.strftime("%Y-%m-%d %H:%M")
        (folder / "report.json").write_text(json.dumps(result, indent=1, default=str))
        if install:
            result["installed"] = str(_install(folder))
        if keep:
            shutil.rmtree(keep, ignore_errors=True)
            folder.rename(keep)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def _ask(engine, messages, max_tokens: int = 4) -> str:
    return engine.generate(messages, temperature=0.0, max_tokens=max_tokens).text


def _ask_reusing(engine, messages) -> str:
    """Greedy reply to a prompt that begins like the one before: llama.cpp keeps the shared
    beginning (the lesson list, the examples) and evaluates only the new question, about five
    times faster than starting from an empty context each time."""
    with engine.lock:
        out = engine.llm.create_chat_completion(messages=messages, temperature=0.0, max_tokens=PROMPTED_TOKENS, seed=0)
    return out["choices"][0]["message"]["content"] or ""


def by_lesson(answers, examples) -> dict:
    """Accuracy per lesson, {"00": ..., ...}."""
    lessons = sorted({e.lesson for e in examples})
    return {k: accuracy([a for a, e in zip(answers, examples) if e.lesson == k],
                        [e for e in examples if e.lesson == k]) for k in lessons}


def _probe(engine) -> float:
    """Share of PROBE opinions whose sentiment the model names correctly, asked as lesson 01 asks."""
    from ..geometry.datasets import load_opinions

    opinions = load_opinions()
    picked = range(0, len(opinions), len(opinions) // PROBE)
    right = 0
    for i in picked:
        text = engine.generate([{"role": "system", "content": PROBE_ROLE},
                                {"role": "user", "content": PROBE_ASK.format(opinions.texts[i])}],
                               temperature=0.0, max_tokens=4).text.lower()
        other = "negative" if opinions.sentiment[i] == "positive" else "positive"
        right += opinions.sentiment[i] in text and other not in text
    return round(right / len(picked), 4)


def _peak_gb() -> float:
    """Peak resident memory of this process and its children (the converter), in GB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return round(max(own, children) * 1024 / 1e9, 2)


def _install(folder: Path) -> Path:
    """The adapter and its report into place, atomically (a reader sees the old router or the new);
    a copy goes to the user's cache too, so a rebuilt environment finds it without tuning again."""
    target = models.tuned_folder(NAME)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{NAME}.{os.getpid()}")
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(folder, staged, ignore=shutil.ignore_patterns("base"))
    # mkdtemp made the folder 0700 and copytree keeps that: a hub's learners and the grader's
    # sandbox (other accounts) must be able to read the router.
    for path in [staged, *staged.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    old = target.with_name(f".{NAME}.old.{os.getpid()}")
    if target.exists():
        target.rename(old)
    staged.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    own = _user_copy()
    if own != target:
        try:
            shutil.rmtree(own, ignore_errors=True)
            shutil.copytree(target, own)
        except OSError:
            pass  # only a convenience
    return target


def _user_copy() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "portalit" / "tuned" / NAME


def cached(settings: train.Settings = train.Settings()) -> dict | None:
    """The installed router's report when it was built from these data, settings and libraries;
    a matching copy in the user's cache is put back in place first. None: tune again."""
    want = fingerprint(settings, None)
    try:
        installed = models.get(NAME).adapter().parent
    except PortalitError:
        installed = None
    for folder in [installed, _user_copy()]:
        report = folder / "report.json" if folder else None
        if report is None or not report.is_file() or not (folder / "adapter.gguf").is_file():
            continue
        try:
            result = json.loads(report.read_text())
        except ValueError:
            continue
        if result.get("fingerprint") != want:
            continue
        if folder != installed:
            result["installed"] = str(_install(folder))
        result["cached"] = str(folder / "report.json")
        return result
    return None


def render(result: dict) -> str:
    """The comparison as a learner reads it."""
    lines = [f"Routing {result['heldout']} held-out questions to their lesson (chance {result['chance']:.2f}), "
             f"after training on {result['examples']} examples:"]
    for key, label in [("zero_shot", "zero-shot prompt, untuned"), ("few_shot", "few-shot prompt, untuned"),
                       ("lora", "LoRA (peft)"), ("gguf", "LoRA as GGUF (llama.cpp)"),
                       ("shuffled", "control: LoRA on shuffled labels")]:
        lines.append(f"  {label:34} {result[key]:.2f}")
    if "answered_zero_shot" in result:
        lines.append(f"  (the untuned model named a lesson at all in {result['answered_zero_shot']:.0%} of its zero-shot "
                     f"and {result['answered_few_shot']:.0%} of its few-shot replies)")
    probe = result.get("forgetting")
    if probe:
        lines.append(f"Forgetting probe ({probe['task']}, {probe['n']} opinions): base {probe['base']:.2f}, "
                     f"router {probe['router']:.2f}")
    lines.append(f"Training took {result['train_seconds']:.0f} s; the whole run {result.get('total_seconds', 0):.0f} s, "
                 f"peak memory {result.get('peak_memory_gb', 0):.1f} GB.")
    if result.get("installed"):
        lines.append(f"Installed: `portalit chat --model {NAME} \"QUESTION\"` ({result['installed']})")
    return "\n".join(lines)
