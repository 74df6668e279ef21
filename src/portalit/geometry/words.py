"""Word vectors: cosine, exact nearest neighbours and analogies over the whole GloVe vocabulary.

Every search is one matrix product against the unit vectors (kept transposed, see `columns`) plus
a partial sort, so a query over all 400,000 words takes a few milliseconds. `vectors` arguments
take a `portalit.models.WordVectors`; None means GloVe 6B 50d (`load_glove()`).
"""
from __future__ import annotations

import difflib

import numpy as np

from ..errors import PortalitError
from ..models import WordVectors, load_glove
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
    scores = products(query[None, :], wv)[0]
    return [(wv.words[i], float(scores[i])) for i in top_indices(scores, k, skip)]


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
    The baseline costs up to a second query (less under load); baseline=False skips it (`only_b` = []).
    """
    wv = _table(vectors)
    k = _check_k(k)
    method = str(method).lower()
    if method not in METHODS:
        raise PortalitError(f"unknown analogy method {method!r}; choose one of: {', '.join(METHODS)}")
    rows = [word_index(w, wv) for w in (positive1, negative, positive2)]
    skip = set(rows) if exclude_inputs else set()
    unit = wv.unit[rows]
    if method == "3cosadd":
        offset = unit[0] - unit[1] + unit[2]
        offset /= max(float(np.linalg.norm(offset)), 1e-12)
        sims = products(np.stack([offset, unit[2]] if baseline else [offset]), wv)
        scores = sims[0]
        near_b = sims[-1]
    else:
        cosines = products(unit, wv)
        shifted = (cosines + 1.0) * 0.5
        scores = shifted[0] * shifted[2] / (shifted[1] + COSMUL_EPSILON)
        near_b = cosines[2]
    words = [wv.words[r] for r in rows]
    return {
        "query": f"{words[0]} - {words[1]} + {words[2]}",
        "method": method,
        "exclude_inputs": bool(exclude_inputs),
        "results": _scored(wv, scores, k, skip),
        "only_b": _scored(wv, near_b, k, skip) if baseline else [],
    }


def analogy_payload(result: dict) -> dict:
    """The JSON object for `portalit analogy --json`: query, method, exclude_inputs, results, only_b."""

    def rows(items):
        return [{"word": item["word"], "score": round(float(item["score"]), 6)} for item in items]

    return {"query": result["query"], "method": result["method"], "exclude_inputs": result["exclude_inputs"],
            "results": rows(result["results"]), "only_b": rows(result.get("only_b", []))}


def _scored(wv, scores, k, skip):
    return [{"word": wv.words[i], "score": float(scores[i])} for i in top_indices(scores, k, skip)]


def top_indices(scores, k: int, skip=()) -> list[int]:
    """Indices of the k highest scores, best first, leaving out those in `skip`."""
    n = len(scores)
    want = min(n, k + len(skip))
    if n > 64 * want:
        # The want-th best of a 1-in-16 sample is a floor that at least `want` scores reach, so
        # one comparison pass shrinks 400k scores to a few hundred: faster than argpartition.
        sample = np.partition(scores[::16], -want)
        candidates = np.flatnonzero(scores >= sample[-want])
    else:
        candidates = np.arange(n)
    if len(candidates) > want:
        part = np.argpartition(scores[candidates], len(candidates) - want)
        candidates = candidates[part[len(candidates) - want:]]
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
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
