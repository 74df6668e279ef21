"""Fine-tuning the owned model (lesson 09): LoRA on SmolLM2-135M to route a learner's question to
the lesson that answers it. `portalit tune` runs the full, measured comparison (tune.compare);
`quick` is the small tune a notebook can afford.

    from portalit import tune
    result = tune.quick(tune.load("train")[:27], epochs=3)
    result["accuracy"], result["by_lesson"]
"""
from __future__ import annotations

import copy
import time
from functools import lru_cache

from ..errors import PortalitError
from .data import CHANCE, LESSONS, Example, lesson_of, load, shuffled, tuned_messages

__all__ = ["CHANCE", "LESSONS", "Example", "base", "lesson_of", "load", "quick", "shuffled"]


@lru_cache(maxsize=1)
def base():
    """(model, tokenizer): the untuned SmolLM2, loaded once per process (about 20 s)."""
    from . import train

    model, tokenizer = train.load_base()
    return model, train.router_tokenizer(tokenizer)


def quick(training: list[Example], heldout: list[Example] | None = None, epochs: int = 3, seed: int = 0,
          progress=None) -> dict:
    """Tune a fresh LoRA on `training` and score it on `heldout` (the course's held-out set when None).

    {"accuracy", "by_lesson", "answers", "train_seconds", "examples"}: accuracy on the held-out
    questions, per lesson too, and the tuned model's raw answers in order."""
    import torch

    from ..engines.llamacpp import default_threads
    from . import compare, train

    training = _checked(training, "training")
    heldout = _checked(load("heldout") if heldout is None else heldout, "heldout")
    if not 1 <= epochs <= 20:
        raise PortalitError(f"epochs={epochs} must be between 1 and 20")
    torch.set_num_threads(default_threads())
    model, tokenizer = base()
    settings = train.Settings(epochs=epochs, seed=seed)
    started = time.perf_counter()
    tuned, seconds = train.train(copy.deepcopy(model), tokenizer, training, settings, progress=progress)
    answers = train.answers(tuned, tokenizer, [tuned_messages(e.question) for e in heldout])
    return {"accuracy": compare.accuracy(answers, heldout), "by_lesson": compare.by_lesson(answers, heldout),
            "answers": answers,
            "train_seconds": seconds, "examples": len(training),
            "seconds": round(time.perf_counter() - started, 1)}


def _checked(examples, what: str) -> list[Example]:
    examples = list(examples)
    if not examples:
        raise PortalitError(f"{what}: no examples; give a list of tune.Example(question, lesson)")
    for e in examples:
        if not isinstance(e, Example):
            raise PortalitError(f"{what}: {e!r} is not a tune.Example(question, lesson)")
        if e.lesson not in LESSONS:
            raise PortalitError(f"{what}: lesson {e.lesson!r} of {e.question!r} is not one of {', '.join(LESSONS)}")
        if not e.question.strip():
            raise PortalitError(f"{what}: an example has an empty question")
    return examples
