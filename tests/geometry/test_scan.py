"""geometry/scan.py and search.py: the int8 copy's error stays within its bound, and searches
through it give exactly the answers of the float32 product, on real GloVe and the Google analogy
questions."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import numpy as np
import pytest

from portalit.geometry import analogy, google_analogies_path, neighbours, scan, search, words
from portalit.models import WordVectors, load_glove

from ..conftest import ROOT


@pytest.fixture(scope="module")
def glove():
    return load_glove()


@pytest.fixture(scope="module")
def int8(glove):
    assert words.warm_search(glove), "the int8 kernels (numba) should build in the course's environment"
    return search._int8_scan(glove)


@pytest.fixture(scope="module")
def questions(glove):
    every = []
    with open(google_analogies_path(), encoding="utf-8") as lines:
        for line in lines:
            parts = line.lower().split()
            if len(parts) == 4 and all(w in glove.index for w in parts):
                every.append((parts[1], parts[0], parts[2]))
    return every[::300]  # ~65 questions from every section


@pytest.fixture
def exact_only(monkeypatch):
    """Run the block below on the float32 product instead of the int8 copy."""

    def switch(on):
        monkeypatch.setattr(search, "_INT8", not on)

    return switch


def test_error_stays_within_the_bound(glove, int8):
    rng = np.random.default_rng(0)
    words_as_queries = glove.unit[rng.choice(len(glove), 40, replace=False)]
    offsets = glove.unit[rng.choice(len(glove), 40)] - glove.unit[rng.choice(len(glove), 40)]
    offsets /= np.linalg.norm(offsets, axis=1, keepdims=True)
    for queries in (words_as_queries, offsets, rng.standard_normal((8, 50)) * 3.0):
        queries = queries.astype(np.float32)
        approx, bound = int8.cosines(queries)
        exact = queries.astype(np.float64) @ glove.unit.astype(np.float64).T
        worst = np.abs(approx - exact).max(axis=1)
        assert np.all(worst <= bound), (worst, bound)
        assert np.all(bound < 0.2 * np.linalg.norm(queries, axis=1))  # tight enough to prune


@pytest.mark.parametrize("method", ["3cosadd", "3cosmul"])
@pytest.mark.parametrize("exclude_inputs", [True, False])
def test_analogies_are_identical_with_and_without_the_int8_copy(int8, questions, exact_only, method,
                                                                exclude_inputs):
    fast = [analogy(*q, method=method, exclude_inputs=exclude_inputs) for q in questions]
    exact_only(True)
    slow = [analogy(*q, method=method, exclude_inputs=exclude_inputs) for q in questions]
    assert fast == slow


def test_neighbours_are_identical_with_and_without_the_int8_copy(glove, int8, exact_only):
    queries = ["the", "king", "paris", "running", "zzz", "quantum"]
    vector = glove.unit[glove.index["ice"]] + glove.unit[glove.index["cream"]]
    fast = [neighbours(w, 20) for w in queries] + [neighbours(vector, 20, exclude=["ice"])]
    exact_only(True)
    assert fast == [neighbours(w, 20) for w in queries] + [neighbours(vector, 20, exclude=["ice"])]


def test_the_first_search_does_not_start_the_build_and_the_second_does():
    code = (
        "import sys; from portalit.geometry import analogy; from portalit.models import load_glove; "
        "analogy('king', 'man', 'woman'); a = 'numba' in sys.modules or load_glove().cache.get('int8') is not None; "
        "analogy('paris', 'france', 'italy'); "
        "b = load_glove().cache.get('int8') is not None; print(bool(a), b)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


def test_switched_off_or_small_tables_use_the_exact_product():
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PORTALIT_INT8_SCAN": "0"}
    code = "from portalit.geometry import words; print(words.warm_search())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.stdout.split() == ["False"], out.stderr

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((2000, 16)).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    names = [f"w{i}" for i in range(2000)]
    small = WordVectors(names, vectors, unit, {w: i for i, w in enumerate(names)})
    assert len(small) < scan.MIN_ROWS and not words.warm_search(small)
    got = neighbours("w7", 5, vectors=small)
    sims = unit @ unit[7]
    sims[7] = -np.inf
    assert [w for w, _ in got] == [f"w{i}" for i in np.argsort(-sims)[:5]]


def test_a_kernel_that_breaks_the_bound_is_not_used(glove, monkeypatch):
    # A wrong kernel is simulated by a bound of zero: build() must refuse the copy.
    monkeypatch.setattr(scan, "_FLOAT_SLACK", 0.0)
    monkeypatch.setattr(scan.Int8Scan, "cosines", lambda self, q: (
        np.zeros((len(q), len(glove)), np.float32), np.zeros(len(q))))
    assert scan.build(glove.unit[:60_000]) is None


def test_a_process_that_exits_mid_build_exits_cleanly():
    # The build thread (numba's import and compiler) is joined at exit rather than killed
    # mid-compile; torch, used here before, aborted the process in that case.
    code = "from portalit.geometry import words; print(words.warm_search(wait=False))"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0 and out.stdout.split() == ["False"], out.stderr


def test_candidates_hold_the_true_top_words(glove, int8):
    # Frequent, rare and made-up queries: a rare word's neighbours are rare too, so the floor
    # taken from the most frequent words is far below its k-th best and many words get through.
    rng = np.random.default_rng(2)
    rows = [glove.index[w] for w in ("the", "king", "zzz", "quantum")] + list(rng.choice(len(glove), 6))
    queries = glove.unit[rows].astype(np.float32)
    for group in (queries[:1], queries[1:3], queries[3:6], queries[6:9]):
        for want in (1, 13, 500):
            found = int8.candidates(group, want)
            for j, q in enumerate(group):
                truth = np.argsort(-(q.astype(np.float64) @ glove.unit.astype(np.float64).T))[:want]
                assert set(truth.tolist()) <= set(found[j].tolist())
    with pytest.raises(ValueError):
        int8.candidates(queries[:4], 10)  # the kernel takes at most three queries


def test_large_k_and_many_queries_take_the_full_pass(glove, int8, exact_only):
    fast = [neighbours("river", 1500)[-3:], search.best(glove, glove.unit[:5], 7, set())]
    exact_only(True)
    assert fast == [neighbours("river", 1500)[-3:], search.best(glove, glove.unit[:5], 7, set())]


def test_shared_block_ranges_give_the_same_candidates_and_cosines(glove, int8):
    queries = glove.unit[[glove.index[w] for w in ("king", "zzz", "paris")]]
    team = int8.candidates(queries[:2], 13), int8.cosines(queries)[0]
    int8._shared_calls = 10  # as after a run of stalled calls
    shared = int8.candidates(queries[:2], 13), int8.cosines(queries)[0]
    assert int8._shared_calls == 8
    assert all(np.array_equal(np.sort(a), np.sort(b)) for a, b in zip(team[0], shared[0]))
    assert np.array_equal(team[1], shared[1])


def test_calls_that_keep_waiting_for_a_busy_core_switch_to_sharing(glove, int8, monkeypatch):
    calls = []

    def waits_for_a_core(*args):  # the team kernel, as when its second thread gets no core
        calls.append(args[4:6])
        time.sleep(0.005)
        int8._kernels.alone(*args)

    int8._shared_calls = int8._stalls = 0
    monkeypatch.setitem(int8._fastest, 1, 1e-6)
    monkeypatch.setattr(int8._kernels, "team", waits_for_a_core)
    query = glove.unit[[glove.index["river"]]]
    for _ in range(scan._STALLS):
        int8.candidates(query, 10)
    assert len(calls) == scan._STALLS and int8._shared_calls == scan._SHARED_CALLS
    int8.candidates(query, 10)
    assert len(calls) == scan._STALLS and int8._shared_calls == scan._SHARED_CALLS - 1
    int8._shared_calls = 0
