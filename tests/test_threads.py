"""portalit.threads: threads follow the cores other processes leave free, measured, not guessed."""
import os
import subprocess
import sys
import threading
import time

import pytest

from portalit import threads
from portalit.benchmarks import busy


def _wait_for(condition, seconds=5.0):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    return condition()


def test_portalit_threads_overrides_the_policy(monkeypatch):
    monkeypatch.setenv("PORTALIT_THREADS", "3")
    assert threads.threads() == 3
    monkeypatch.setenv("PORTALIT_THREADS", "zero")  # not a count: the policy decides
    assert 1 <= threads.threads() <= threads.cores()


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores to hold one")
def test_a_core_held_by_another_process_is_not_counted_free(monkeypatch):
    monkeypatch.delenv("PORTALIT_THREADS", raising=False)
    threads.others_busy()
    time.sleep(threads.WINDOW_S)
    base = threads.others_busy()
    if base > threads.cores() - 1.2:
        pytest.skip(f"other processes already hold {base:.1f} of {threads.cores()} cores: one more cannot show")
    with busy.hog():
        held = _wait_for(lambda: threads.others_busy() >= base + 0.7 and threads.others_busy())
        assert held >= base + 0.7, f"a spinning process measured as {held - base:.2f} cores"
        assert threads.threads() <= threads.cores() - 1
    time.sleep(threads.WINDOW_S + 2 * threads.INTERVAL_S)
    assert threads.others_busy() < held - 0.5  # the hog gone, its core is free again


def test_this_process_own_work_is_not_counted_as_others(monkeypatch):
    monkeypatch.delenv("PORTALIT_THREADS", raising=False)
    threads.others_busy()
    time.sleep(threads.WINDOW_S)
    before = threads.others_busy()
    stop = time.monotonic() + 1.0
    spinner = threading.Thread(target=lambda: [None for _ in iter(lambda: time.monotonic() < stop, False)])
    spinner.start()
    time.sleep(0.8)
    during = threads.others_busy()
    spinner.join()
    assert during < before + 0.5, (before, during)


def test_limited_sets_and_restores_torch_threads():
    import torch

    before = torch.get_num_threads()
    with threads.limited(1) as n:
        assert n == 1 and torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_llama_cpp_takes_its_thread_count_per_call(monkeypatch):
    import llama_cpp

    import portalit
    from portalit import engines

    client = portalit.Client("local-cpu")
    for n in (1, 2):
        monkeypatch.setenv("PORTALIT_THREADS", str(n))
        client.chat("Hi", max_tokens=2)
        engine = next(e for key, e in engines._cache.items() if key[0] == "chat" and hasattr(e, "llm"))
        assert llama_cpp.llama_n_threads(engine.llm._ctx.ctx) == n
        assert llama_cpp.llama_n_threads_batch(engine.llm._ctx.ctx) == n


def test_the_hog_never_outlives_its_block():
    with busy.hog(seconds=30) as core:
        assert core in os.sched_getaffinity(0)
        found = subprocess.run(["pgrep", "-f", "sched_setaffinity"], capture_output=True, text=True).stdout.split()
        assert found
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", f"{sys.executable} -c import os, sys, time"], capture_output=True, text=True)
    assert left.stdout.strip() == ""
