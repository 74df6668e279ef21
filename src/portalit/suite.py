"""A prompt-pattern suite: each task's cases run on one backend and are scored by code, not by eye.

A Task is one way of prompting for one job: `ask(case)` builds the chat arguments, an optional
`finish(text)` is code that turns the model's text into the final answer (the code half of a
decomposed task), and `check(answer, case)` says whether the answer passes. A check that raises
(CheckFailed, a KeyError on a missing JSON field, ...) counts as a fail and its message is kept.
Everything runs at temperature 0, so a score on a local backend is repeatable.

A score on 4-24 cases is a small sample: `wilson` gives its 95% interval, `constant` scores an
answer that ignores the input ("always yes", "always the first label") as a baseline to beat,
`swap_labels` asks again with the labels named in the other order, and `compare` gives the paired
difference between two prompts on the same cases with its 95% bootstrap interval.
`describe_compare` puts that difference and its exact McNemar test in one line.
`ask` may return `prefill=`: the first words of the answer, which the model continues
(portalit.prefill: local backends, or a server that says it continues a final assistant message).
"""
from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import PortalitError


@dataclass
class Task:
    name: str
    cases: list
    ask: Callable  # case -> keyword arguments for Client.chat (prompt= or messages=, system=, max_tokens=...)
    check: Callable  # (answer, case) -> truthy when the answer passes; may raise to fail with a reason
    finish: Callable | None = None  # model text -> final answer (None: the text itself)
    max_tokens: int = 32


@dataclass
class Result:
    task: str
    backend: str
    model: str
    texts: list  # what the model wrote, one per case
    answers: list  # after `finish`
    passed: list  # bool per case
    reasons: list  # why a case failed ("" when it passed)
    seconds: float
    usage: dict = field(default_factory=dict)

    @property
    def score(self) -> str:
        return f"{sum(self.passed)}/{len(self.passed)}"

    @property
    def rate(self) -> float:
        return sum(self.passed) / len(self.passed) if self.passed else float("nan")

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the pass rate."""
        return wilson(sum(self.passed), len(self.passed))

    def details(self, width: int = 70) -> str:
        """One line per case: pass mark, the model's text (shortened) and, for a fail, why."""
        lines = []
        for ok, text, reason in zip(self.passed, self.texts, self.reasons):
            shown = " ".join(str(text).split())
            shown = shown if len(shown) <= width else shown[: width - 3] + "..."
            lines.append(f"{'pass' if ok else 'FAIL'}  {shown!r}" + (f"  ({reason})" if reason else ""))
        return "\n".join(lines)


def run_task(task: Task, client=None) -> Result:
    """Runs every case of `task` at temperature 0 on `client` (default: the shared client) and scores it."""
    if client is None:
        from .session import client as shared

        client = shared()
    if not task.cases:
        raise PortalitError(f"task {task.name!r} has no cases to run")
    texts = []
    usage = {"prompt_tokens": 0, "completion_tokens": 0}
    start = time.perf_counter()
    for case in task.cases:
        kwargs = {"max_tokens": task.max_tokens, **task.ask(case), "temperature": 0.0}
        prefix = kwargs.pop("prefill", None)
        if prefix:
            from . import prefill

            result = prefill.chat(client, prefix, **kwargs)
        else:
            result = client.chat(**kwargs)
        for key in usage:
            usage[key] += result.usage[key]
        texts.append(result.text)
    answers, passed, reasons = score_texts(texts, task.cases, task.check, task.finish)
    return Result(task.name, client.backend, client.model, texts, answers, passed, reasons,
                  round(time.perf_counter() - start, 2), usage)


def score_texts(texts, cases, check, finish=None) -> tuple[list, list, list]:
    """(answers, passed, reasons) for model texts already in hand: score the same answers another way."""
    answers, passed, reasons = [], [], []
    for text, case in zip(texts, cases):
        try:
            answer = finish(text) if finish else text
        except Exception as e:  # the code step failed on this text: the case fails, with the reason
            answers.append(None)
            passed.append(False)
            reasons.append(_reason(e))
            continue
        answers.append(answer)
        try:
            ok = bool(check(answer, case))
            reason = "" if ok else "wrong answer"
        except Exception as e:
            ok, reason = False, _reason(e)
        passed.append(ok)
        reasons.append(reason)
    return answers, passed, reasons


def rescore(result: Result, cases, check, finish=None, name: str | None = None) -> Result:
    """`result` scored again with another check (no model call): e.g. "valid JSON" beside "correct JSON"."""
    answers, passed, reasons = score_texts(result.texts, cases, check, finish)
    return Result(name or result.task, result.backend, result.model, result.texts, answers, passed, reasons,
                  result.seconds, dict(result.usage))


def run(tasks, client=None, progress: bool = True) -> list[Result]:
    """Runs each task in turn; with progress=True prints one line per task as it finishes."""
    tasks = list(tasks)
    results = []
    for i, task in enumerate(tasks, 1):
        result = run_task(task, client)
        results.append(result)
        if progress:
            print(f"[{i}/{len(tasks)}] {result.backend} {result.model}: {task.name:38} {result.score:>5} passed "
                  f"({result.seconds:.1f} s)", flush=True)
    return results


def table(results: dict) -> str:
    """A text table of {column name: [Result, ...]}: one row per task, passed/total per column."""
    columns = list(results)
    if not columns:
        return ""
    names = [r.task for r in results[columns[0]]]
    width = max(len(n) for n in names + ["task"])
    lines = [f"{'task':{width}}  " + "  ".join(f"{c:>12}" for c in columns)]
    for i, name in enumerate(names):
        cells = []
        for c in columns:
            row = results[c][i] if i < len(results[c]) else None
            cells.append(f"{row.score if row and row.task == name else '-':>12}")
        lines.append(f"{name:{width}}  " + "  ".join(cells))
    return "\n".join(lines)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for k passes out of n (95% with z=1.96); unlike rate +- 1.96 SE it
    stays inside [0, 1] and is not zero-width at 0/n or n/n."""
    if n <= 0 or not 0 <= k <= n:
        raise PortalitError(f"an interval needs 0 <= passes <= cases and at least one case, got {k}/{n}")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, round(centre - half, 4)), min(1.0, round(centre + half, 4))


def constant(task: Task, text: str, name: str | None = None) -> Result:
    """A baseline with no model call: `text` given as the answer to every case, scored by the task's check."""
    texts = [text] * len(task.cases)
    answers, passed, reasons = score_texts(texts, task.cases, task.check, task.finish)
    return Result(name or f"always {text!r}", "constant", "none", texts, answers, passed, reasons, 0.0)


def swap_labels(task: Task, first: str, second: str, name: str | None = None) -> Task:
    """The same task with "FIRST or SECOND" written "SECOND or FIRST" in every message: a model that
    picks whichever label is named first changes its answers; one that reads the input does not."""
    pattern = re.compile(rf"\b{re.escape(first)} or {re.escape(second)}\b")

    def swapped(text):
        return pattern.sub(f"{second} or {first}", text) if isinstance(text, str) else text

    def ask(case):
        kwargs = dict(task.ask(case))
        if "prompt" in kwargs:
            kwargs["prompt"] = swapped(kwargs["prompt"])
        if "messages" in kwargs:
            kwargs["messages"] = [{**m, "content": swapped(m.get("content"))} for m in kwargs["messages"]]
        return kwargs

    probe = task.ask(task.cases[0]) if task.cases else {}
    if task.cases and not pattern.search(str(probe)):
        raise PortalitError(f"task {task.name!r} never writes {first!r} or {second!r}: nothing to swap")
    return Task(name or f"{task.name} ({second} or {first})", task.cases, ask, task.check, task.finish, task.max_tokens)


def compare(a: Result, b: Result) -> dict:
    """b's pass rate minus a's on the same cases: the effect with a 95% paired bootstrap interval
    (portalit.transfer's), and the exact two-sided McNemar p-value, which counts only the cases where
    the two prompts disagree. On a handful of cases the bootstrap interval is too narrow (4 cases that
    all flip the same way give [1, 1]); the exact test is not: 4 of 4 flips in one direction happen
    by chance 1 time in 8. `distinguishable` needs both: the interval excludes 0 and p < 0.05."""
    from .transfer import bootstrap

    if len(a.passed) != len(b.passed):
        raise PortalitError(f"{a.task!r} and {b.task!r} ran on different numbers of cases; compare the same cases")
    out = bootstrap(a.passed, b.passed)
    gained = sum(1 for x, y in zip(a.passed, b.passed) if y and not x)
    lost = sum(1 for x, y in zip(a.passed, b.passed) if x and not y)
    out.update(gained=gained, lost=lost, p_exact=mcnemar_exact(gained, lost))
    out["distinguishable"] = (out["ci_low"] > 0 or out["ci_high"] < 0) and out["p_exact"] < 0.05
    return out


def head(item, n: int):
    """A Task or a Result cut to its first `n` cases: a quick run of a suite on another backend,
    and the same cases of a run already made, to set beside it."""
    if n < 1:
        raise PortalitError(f"head needs at least one case, got n={n}")
    if isinstance(item, Task):
        return Task(item.name, item.cases[:n], item.ask, item.check, item.finish, item.max_tokens)
    if isinstance(item, Result):
        return Result(item.task, item.backend, item.model, item.texts[:n], item.answers[:n], item.passed[:n],
                      item.reasons[:n], item.seconds, dict(item.usage))
    raise PortalitError(f"head cuts a suite.Task or a suite.Result, not {type(item).__name__}")


def describe_compare(first: Result, second: Result) -> str:
    """`compare` in one line: second's rate minus first's on the same cases, its 95% bootstrap
    interval, the cases second won and lost against first, the exact McNemar p and the verdict."""
    d = compare(first, second)
    verdict = "clear" if d["distinguishable"] else "cannot be told apart from luck"
    return (f"{second.task} vs {first.task}: {d['effect']:+.2f} [{d['ci_low']:+.2f}, {d['ci_high']:+.2f}], "
            f"won {d['gained']}, lost {d['lost']}, exact p = {d['p_exact']:.3g}: {verdict}")


def mcnemar_exact(gained: int, lost: int) -> float:
    """Two-sided exact McNemar test: the chance of a split of the disagreeing cases at least this
    uneven if either prompt were equally likely to win each one (a sign test on the disagreements)."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(gained, lost) + 1)) / 2 ** n
    return round(min(1.0, 2 * tail), 6)


def describe(result: Result, width: int = 38) -> str:
    """One line: name, passed/total, the rate and its 95% Wilson interval."""
    low, high = result.interval
    return f"{result.task:{width}} {result.score:>6}  {result.rate:.2f}  [{low:.2f}, {high:.2f}]"


def report(results, baselines=(), width: int | None = None) -> str:
    """Each result with its 95% interval, then the baselines (e.g. `constant` answers) the same way."""
    width = width or max(len(r.task) for r in [*results, *baselines])
    lines = [f"{'':{width}} {'passed':>6}  rate  [95% interval]"]
    lines += [describe(r, width) for r in results]
    if baselines:
        lines.append("baselines:")
        lines += [describe(r, width) for r in baselines]
    return "\n".join(lines)


def _reason(error: Exception) -> str:
    from .grading import CheckFailed

    text = str(error).split("; it was:")[0].strip()
    if not isinstance(error, CheckFailed):  # a KeyError's message alone ("'paid'") says too little
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= 90 else text[:87] + "..."
