"""The router task: a learner's question -> the lesson (00-08) that answers it.

data/router holds 198 training questions and 99 held-out paraphrases, written for the course (CC0).
The tuned model sees only the question; prompting gets the lesson list (and, few-shot, examples),
which is what it needs to stand a chance without tuning.
"""
from __future__ import annotations

import csv
import random
import re
from dataclasses import dataclass

from ..errors import PortalitError

LESSONS = {
    "00": "Start here: one client, many models (backends, tokens, base vs instruct models)",
    "01": "Prompting fundamentals (prompt parts, temperature, seeds, tokens and cost)",
    "02": "Prompt patterns (few-shot, JSON output, decomposition, self-check, injection)",
    "03": "Words as vectors (word embeddings, cosine similarity, analogies)",
    "04": "Maps of meaning (sentence embeddings, semantic search, PCA and UMAP maps)",
    "05": "Same territory, different maps (comparing and aligning embedding spaces)",
    "06": "Across modalities (images, audio and text in one space, two-tower models)",
    "07": "Transfer (linear probes on frozen embeddings, cross-validation)",
    "08": "Owned infrastructure (your own model server, gateway, cost, data sovereignty)",
}
CHANCE = round(1 / len(LESSONS), 4)
INSTRUCTION = ("Which lesson of the course answers this question? The lessons:\n"
               + "\n".join(f"{k} {v}" for k, v in LESSONS.items())
               + "\nReply with the lesson's two-digit number only.")


@dataclass(frozen=True)
class Example:
    question: str
    lesson: str


def load(split: str) -> list[Example]:
    """data/router/<split>.csv: "train" (198) or "heldout" (99 paraphrases never trained on)."""
    from ..geometry.datasets import data_dir

    if split not in ("train", "heldout"):
        raise PortalitError(f"unknown router split {split!r}; choose one of: train, heldout")
    path = data_dir() / "router" / f"{split}.csv"
    if not path.exists():
        raise PortalitError(f"{path} is missing; it ships with the course repository")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [Example(r["question"].strip(), r["lesson"].strip()) for r in csv.DictReader(handle)]
    bad = [r.lesson for r in rows if r.lesson not in LESSONS]
    if bad:
        raise PortalitError(f"{path}: lesson {bad[0]!r} is not one of {', '.join(LESSONS)}")
    return rows


def shuffled(examples: list[Example], seed: int = 0) -> list[Example]:
    """The control: the same questions with their labels permuted, so a question no longer tells
    its lesson. A model tuned on it can learn only the form of the answer, and should score near chance."""
    labels = [e.lesson for e in examples]
    random.Random(seed).shuffle(labels)
    return [Example(e.question, label) for e, label in zip(examples, labels)]


def tuned_messages(question: str) -> list[dict]:
    """What the tuned model is asked: the question alone (it learned the rest)."""
    return [{"role": "user", "content": question}]


def prompted_messages(question: str, shots: list[Example] = ()) -> list[dict]:
    """What the untuned model is asked: the lesson list and, for few-shot, worked examples, in one
    message (the instruction said once: ten turns repeating it overflow a 2,048-token context)."""
    examples = "".join(f"Question: {e.question}\nLesson: {e.lesson}\n" for e in shots)
    text = INSTRUCTION + (f"\n\nExamples:\n{examples}" if shots else "\n") + f"\nQuestion: {question}\nLesson:"
    return [{"role": "user", "content": text}]


def one_per_lesson(examples: list[Example]) -> list[Example]:
    """The few-shot examples: the first training question of each lesson."""
    seen: dict[str, Example] = {}
    for e in examples:
        seen.setdefault(e.lesson, e)
    return [seen[k] for k in sorted(seen)]


def lesson_of(answer: str) -> str | None:
    """The lesson an answer names: its first two-digit 00-08 (a bare 0-8 counts too)."""
    match = re.search(r"\b0?([0-8])\b", str(answer))
    return f"0{match.group(1)}" if match else None
