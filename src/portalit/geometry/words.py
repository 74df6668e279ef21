"""Word vectors: cosine, exact nearest neighbours and analogies over the whole GloVe vocabulary.

A search reads every word's vector once: a matrix product against the unit vectors, or, from a
table's second search on, an int8 copy a quarter the size (scan.py) whose error has a proven
bound; that scan hands back only the words that could still make the top k within the bound.
Those are rescored in float64, so both routes return the same words and the same scores.
`vectors` arguments take a `portalit.models.WordVectors`; None means GloVe 6B 50d (`load_glove()`).
"""
from __future__ import annotations

import difflib
import os

import numpy as np

from ..errors import PortalitError
from ..models import WordVectors, load_glove
from . import scan
from ._threads import run_parallel, workers

METHODS = ("3cosadd", "3cosmul")
# Levy & Goldberg (2014) keep 3CosMul's denominator away from zero with this epsilon.
COSMUL_EPSILON = 1e-3


def cosine(a, b):
    """Cosine similarity: two vectors -> float; (n, d) with (m, d) -> (n, m); vector with matrix -> 1-D.

    Zero vectors score 0 rather than NaN.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise PortalitError(f"cosine takes vectors or matrices; got arrays of {a.ndim} and {b.ndim} "
                            "dimensions")
    if a.shape[-1] != b.shape[-1]:
        raise PortalitError(f"cosine: dimensions differ ({a.shape[-1]} vs {b.shape[-1]}); "
                            "both need the same length")
    sims = _normalise(a) @ _normalise(b).T
    return float(sims) if sims.ndim == 0 else sims


def _normalise(x):
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def word_index(word: str, vectors: WordVectors | None = None) -> int:
    """Row of `word` (tried as given, then lower-cased); PortalitError with close words otherwise."""
    wv = _table(vectors)
    if not isinstance(word, str):
        raise PortalitError(f"expected a word (a string), got {type(word).__name__} {word!r}")
    key = word.strip()
    if key in wv.index:
        return wv.index[key]
    # GloVe 6B was trained on lower-cased text, so "Paris" lives under "paris".
    if key.lower() in wv.index:
        return wv.index[key.lower()]
    raise PortalitError(unknown_word_message(word, wv))


def unknown_word_message(word: str, vectors: WordVectors | None = None) -> str:
    """One line naming the unknown word and the closest vocabulary words."""
    wv = _table(vectors)
    if not str(word).strip():
        return f"empty word {word!r}: give a word from the {len(wv):,}-word vocabulary, e.g. 'king'"
    close = suggest(word, wv)
    hint = f"did you mean: {', '.join(close)}?" if close else "no close matches; check the spelling"
    return f"unknown word {word!r}: not among the {len(wv):,} words of the vocabulary; {hint}"


def suggest(word: str, vectors: WordVectors | None = None, n: int = 5) -> list[str]:
    """Up to `n` vocabulary words spelled like `word`, among the frequent ones (fast: tens of ms)."""
    wv = _table(vectors)
    key = str(word).strip().lower()
    if not key:
        return []
    buckets, frequent = _suggestion_pool(wv)
    found = difflib.get_close_matches(key, buckets.get(key[0], []), n=n, cutoff=0.6)
    if len(found) < n:
        # A typo in the first letter misses its bucket: also look among the most frequent words.
        extra = difflib.get_close_matches(key, frequent, n=n, cutoff=0.6)
        found += [w for w in extra if w not in found]
    return found[:n]


# difflib over all 400k words takes seconds; the 100k most frequent words, bucketed by first
# letter, hold any word a learner is likely to mean and answer in milliseconds.
_POOL_WORDS = 100_000
_POOL_FREQUENT = 20_000
_pools: dict[int, tuple] = {}


def _suggestion_pool(wv: WordVectors):
    entry = _pools.get(id(wv.words))
    if entry is None or entry[0] is not wv.words:
        buckets: dict[str, list[str]] = {}
        for w in wv.words[:_POOL_WORDS]:
            if w[:1].isalpha():
                buckets.setdefault(w[0].lower(), []).append(w)
        frequent = [w for w in wv.words[:_POOL_FREQUENT] if w[:1].isalpha()]
        entry = (wv.words, buckets, frequent)  # holding wv.words keeps its id from being reused
        _pools[id(wv.words)] = entry
    return entry[1], entry[2]


def neighbours(word_or_vector, k: int = 10, vectors: WordVectors | None = None,
               exclude=()) -> list[tuple[str, float]]:
    """The k words nearest by cosine to a word or a vector: [(word, score)], best first.

    Exact search over the whole vocabulary. A word query never returns the word itself; words in
    `exclude` are skipped too (unknown ones are ignored, since they cannot appear anyway).
    """
    wv = _table(vectors)
    k = _check_k(k)
    skip = {wv.index[w] for w in _known(exclude, wv)}
    if isinstance(word_or_vector, str):
        row = word_index(word_or_vector, wv)
        skip.add(row)
        query = wv.unit[row]
    else:
        query = _query_vector(word_or_vector, wv)
    found = _best(wv, query[None, :], k, skip)[0]
    return [(item["word"], item["score"]) for item in found]


# One transposed copy of the unit vectors, (dim, words) and contiguous: 80 MB more for GloVe,
# but a product against it streams each dimension once and runs 1.3-2x faster than against the
# (words, dim) rows, most of all when other processes share the two cores.
_transposed: dict[int, tuple] = {}


def columns(vectors: WordVectors | None = None):
    """The unit vectors as a contiguous (dim, words) array, built once per table and kept."""
    wv = _table(vectors)
    entry = _transposed.get(id(wv.unit))
    if entry is None or entry[0] is not wv.unit:
        _transposed.clear()  # keep a single table's copy: each is as large as the table
        entry = (wv.unit, np.ascontiguousarray(np.asarray(wv.unit, dtype=np.float32).T))
        _transposed[id(wv.unit)] = entry
    return entry[1]


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


def analogy(positive1: str, negative: str, positive2: str, k: int = 10, method: str = "3cosadd",
            exclude_inputs: bool = True, vectors: WordVectors | None = None, baseline: bool = True) -> dict:
    """positive1 - negative + positive2, e.g. analogy("king", "man", "woman") -> queen first.

    Returns a JSON-ready dict: `query`, `method`, `exclude_inputs`, `results` [{word, score}] and
    `only_b` [{word, score}], the neighbours of positive2 alone under the same exclusion (Linzen
    2016's baseline: show it beside the answer, it is often the same word).
    3cosadd scores are cosines with the offset vector; 3cosmul (Levy & Goldberg 2014) scores are
    cos'(x,positive1) cos'(x,positive2) / (cos'(x,negative) + 0.001) with cos' = (cos + 1) / 2.
    With exclude_inputs=False the three input words may be returned; with GloVe they often are
    (Nissim et al. 2020): king - man + woman is then nearest to king itself.
    The baseline rides along in the same pass (about 30% more time); baseline=False skips it (`only_b` = []).
    """
    wv = _table(vectors)
    k = _check_k(k)
    method = str(method).lower()
    if method not in METHODS:
        raise PortalitError(f"unknown analogy method {method!r}; choose one of: {', '.join(METHODS)}")
    rows = [word_index(w, wv) for w in (positive1, negative, positive2)]
    skip = set(rows) if exclude_inputs else set()
    unit = wv.unit[rows].astype(np.float32)
    if method == "3cosadd":
        offset = unit[0] - unit[1] + unit[2]
        offset /= max(float(np.linalg.norm(offset)), 1e-12)
        found = _best(wv, np.stack([offset, unit[2]] if baseline else [offset]), k, skip)
        results, only_b = found[0], (found[1] if baseline else [])
    else:
        results, only_b = _best(wv, unit, k, skip, score=_cosmul, baseline_row=2 if baseline else None)
    words = [wv.words[r] for r in rows]
    return {
        "query": f"{words[0]} - {words[1]} + {words[2]}",
        "method": method,
        "exclude_inputs": bool(exclude_inputs),
        "results": results,
        "only_b": only_b,
    }


def analogy_payload(result: dict) -> dict:
    """The JSON object for `portalit analogy --json`: query, method, exclude_inputs, results, only_b."""

    def rows(items):
        return [{"word": item["word"], "score": round(float(item["score"]), 6)} for item in items]

    return {"query": result["query"], "method": result["method"], "exclude_inputs": result["exclude_inputs"],
            "results": rows(result["results"]), "only_b": rows(result.get("only_b", []))}


def warm_search(vectors: WordVectors | None = None, wait: bool = True) -> bool:
    """Build the int8 copy that speeds up searches now, rather than on the table's second search.

    Returns whether searches over `vectors` use it (False: small table, PORTALIT_INT8_SCAN=0,
    numba's kernels unavailable, or wait=False and still building in the background).
    Either way the answers are the same; only the speed differs.
    """
    return _int8_scan(_table(vectors), wait=wait, start=True) is not None


# PORTALIT_INT8_SCAN=0 keeps every search on the float32 product (for comparisons and debugging).
_INT8 = os.environ.get("PORTALIT_INT8_SCAN", "1") != "0"
_scans: dict[int, list] = {}
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
    entry = _scans.get(id(wv.unit))
    if entry is None or entry[0] is not wv.unit:
        _scans.clear()  # one table's copy at a time, like `columns`
        entry = [wv.unit, None]
        _scans[id(wv.unit)] = entry
        if not start:
            return None
    if entry[1] is None:
        entry[1] = scan.Background(wv.unit)
    return entry[1].get(wait)


def _cosines(wv, queries, fast):
    """(cosines (m, words), bound (m,)): from the int8 copy `fast` if ready, else the float32 product."""
    if fast is not None:
        return fast.cosines(queries)
    return products(queries, wv), np.full(len(queries), _EXACT_SLACK)


def _best(wv, queries, k, skip, score=None, baseline_row=None):
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


def _cosmul(cos):
    """3CosMul from cosines (3, n): rows 0 and 2 are the positives, row 1 the negative."""
    return (cos[0] + 1.0) * (cos[2] + 1.0) * 0.25 / ((cos[1] + 1.0) * 0.5 + COSMUL_EPSILON)


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


def _table(vectors):
    return load_glove() if vectors is None else vectors


def _known(words, wv):
    if isinstance(words, str):
        words = [words]
    out = []
    for w in words:
        if w in wv.index:
            out.append(w)
        elif isinstance(w, str) and w.lower() in wv.index:
            out.append(w.lower())
    return out


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise PortalitError(f"k must be a whole number >= 1, got {k!r}")
    return int(k)


def _query_vector(vector, wv):
    q = np.asarray(vector, dtype=np.float32).ravel()
    dim = wv.unit.shape[1]
    if q.shape[0] != dim:
        raise PortalitError(f"query vector has {q.shape[0]} numbers; these word vectors have {dim}")
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm == 0.0:
        raise PortalitError("query vector is zero or not finite; give a non-zero vector")
    return q / norm
