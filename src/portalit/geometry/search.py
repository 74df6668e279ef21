"""Exact top-k search over a word-vector table: the engine behind neighbours and analogies.

A search reads every word's vector once: a matrix product against the unit vectors, or, from a
table's second search on, an int8 copy a quarter the size (scan.py) whose error has a proven
bound; that scan hands back only the words that could still make the top k within the bound.
Those are rescored in float64, so both routes return the same words and the same scores.
Copies derived from a table (transposed, int8) are built once and kept with it (`WordVectors.cached`).
"""
from __future__ import annotations

import os

import numpy as np

from ..models import WordVectors, word_table
from . import scan
from ._threads import run_parallel, workers

def columns(vectors: WordVectors | None = None):
    """The unit vectors as a contiguous (dim, words) array, built once per table and kept."""
    vectors = word_table(vectors)
    # One transposed copy, (dim, words) and contiguous: 80 MB more for GloVe, but a product against
    # it streams each dimension once and runs 1.3-2x faster than against the (words, dim) rows,
    # most of all when other processes share the two cores.
    return vectors.cached("columns", lambda: np.ascontiguousarray(np.asarray(vectors.unit, dtype=np.float32).T))


def products(queries, vectors: WordVectors | None = None):
    """queries (m, dim) @ the unit vectors' columns -> (m, words), the words split over the cores."""
    table = columns(vectors)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    out = np.empty((len(queries), table.shape[1]), dtype=np.float32)
    step = -(-table.shape[1] // workers())

    def block(lo):
        np.matmul(queries, table[:, lo:lo + step], out=out[:, lo:lo + step])

    run_parallel(block, range(0, table.shape[1], step))
    return out


def warm(vectors: WordVectors, wait: bool = True) -> bool:
    """Build the int8 copy now rather than on the table's second search; True if searches use it."""
    return _int8_scan(vectors, wait=wait, start=True) is not None


# PORTALIT_INT8_SCAN=0 keeps every search on the float32 product (for comparisons and debugging).
_INT8 = os.environ.get("PORTALIT_INT8_SCAN", "1") != "0"
# With the exact product the candidates still pass through the float64 rescoring below, whose last
# bits may differ from the product's: this margin keeps a near-tie from being dropped on the way.
_EXACT_SLACK = 1e-5
# Larger k goes through all the approximate cosines: the floor from the most frequent words would
# let too many words through.
_FAST_WANT = 1024


def _int8_scan(wv, wait=False, start=False):
    """The table's Int8Scan if built; the second search of a table (or `start`) starts building it.

    Not the first: a process that searches once (`portalit analogy`) would pay numba's start-up
    (and, on a fresh machine, its compilation) for nothing.
    """
    if not _INT8 or len(wv) < scan.MIN_ROWS:
        return None
    if "int8" not in wv.cache:
        wv.cache["int8"] = None  # searched once: the next search (or `start`) builds the copy
        if not start:
            return None
    if wv.cache["int8"] is None:
        wv.cache["int8"] = scan.Background(wv.unit)
    return wv.cache["int8"].get(wait)


def _cosines(wv, queries, fast):
    """(cosines (m, words), bound (m,)): from the int8 copy `fast` if ready, else the float32 product."""
    if fast is not None:
        return fast.cosines(queries)
    return products(queries, wv), np.full(len(queries), _EXACT_SLACK)


def best(wv, queries, k, skip, score=None, baseline_row=None):
    """Exact top k: [results] per query row (score=None), or (score(cosines), row `baseline_row`'s).

    Approximate cosines pick the candidates (every word whose score could still reach the top k
    within the bound); exact float64 cosines rank them, so both paths give the same answers.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    want = min(len(wv), k + len(skip))
    if score is None:
        return [_ranked(wv, rows, queries[j:j + 1], k, skip)
                for j, rows in enumerate(_candidates(wv, queries, want))]
    cos, bound = _cosines(wv, queries, _int8_scan(wv))
    candidates = _overlapping(cos, bound, score, want)
    results = _ranked(wv, candidates, queries, k, skip, score)
    if baseline_row is None:
        return results, []
    j = baseline_row
    return results, _ranked(wv, _within(cos[j], want, 2 * bound[j]), queries[j:j + 1], k, skip)


def _candidates(wv, queries, want):
    """Per query row: every row whose cosine could be among the top `want`."""
    fast = _int8_scan(wv)
    if fast is not None and len(queries) <= 3 and want <= _FAST_WANT:
        return fast.candidates(queries, want)
    cos, bound = _cosines(wv, queries, fast)
    return [_within(cos[j], want, 2 * bound[j]) for j in range(len(queries))]


def _ranked(wv, candidates, queries, k, skip, score=None):
    """[{word, score}] best first (ties by row), exact in float64, leaving out rows in `skip`."""
    rows = wv.unit[candidates].astype(np.float64)
    # Row by row, not one matrix product: BLAS may sum in another order for another number of
    # candidates, and the last bit of a score must not depend on which path picked them.
    exact = [(rows * q).sum(axis=1) for q in queries.astype(np.float64)]
    values = exact[0] if score is None else score(np.stack(exact))
    out = []
    for i in np.lexsort((candidates, -values)).tolist():
        row = int(candidates[i])
        if row not in skip:
            out.append({"word": wv.words[row], "score": float(values[i])})
            if len(out) == k:
                break
    return out


def _within(values, want, margin):
    """Indices of the values at least (the want-th largest - margin), in one pass over `values`."""
    if len(values) <= 64 * want:
        return np.flatnonzero(values >= scan.kth_largest(values, want) - margin)
    # The want-th best of any subset is a floor that at least `want` values reach, so all within
    # `margin` of the want-th best are among those above floor - margin. A contiguous prefix
    # (GloVe's most frequent words) is cheap to read, unlike a strided sample, which touches
    # most of the array's cache lines: one full pass instead of two.
    floor = scan.kth_largest(values[:scan.HEAD_ROWS], want)
    rows = np.flatnonzero(values >= floor - margin)
    kept = values[rows]
    return rows[kept >= scan.kth_largest(kept, want) - margin]


def _overlapping(cos, bound, score, want):
    """Rows whose score could still reach the top `want`, from approximate cosines (3, n).

    `score` (3CosMul) rises with the cosines of rows 0 and 2 and falls with row 1's: moving each
    cosine by its bound in the favourable direction bounds it above, in the other direction below.
    Only the upper bound is computed over the whole vocabulary.
    """
    toward = (bound[:, None] * np.array([[1.0], [-1.0], [1.0]])).astype(np.float32)

    def extreme(c, sign):
        return score(np.clip(c + sign * toward, -1.0, 1.0))

    upper = extreme(cos, 1)
    if len(upper) <= 64 * want:
        return np.flatnonzero(upper >= scan.kth_largest(extreme(cos, -1), want))
    # A prefix's want-th largest lower bound is a floor that every top-`want` row's upper bound
    # clears, so the exact threshold can be found among the rows above it.
    rows = np.flatnonzero(upper >= scan.kth_largest(extreme(cos[:, :scan.HEAD_ROWS], -1), want))
    return rows[upper[rows] >= scan.kth_largest(extreme(cos[:, rows], -1), want)]


def top_indices(scores, k: int, skip=()) -> list[int]:
    """Indices of the k highest scores, best first (ties: lower index first), leaving out `skip`."""
    scores = np.asarray(scores)
    want = min(len(scores), k + len(skip))
    if want == 0:
        return []
    candidates = _within(scores, want, 0.0)
    candidates = candidates[np.lexsort((candidates, -scores[candidates]))]
    return [int(i) for i in candidates if int(i) not in skip][:k]


