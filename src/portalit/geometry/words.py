"""Word vectors: cosine, exact nearest neighbours and analogies over the whole GloVe vocabulary.

The lesson API of lesson 03. The searches themselves are exact and fast (search.py); unknown
words get spelling suggestions (spelling.py). `vectors` arguments take a
`portalit.models.WordVectors`; None means GloVe 6B 50d (`load_glove()`).
"""
from __future__ import annotations

import numpy as np

from ..errors import PortalitError
from ..models import WordVectors, word_table
from . import search
from .spelling import unknown_word_message

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
    wv = word_table(vectors)
    if not isinstance(word, str):
        raise PortalitError(f"expected a word (a string), got {type(word).__name__} {word!r}")
    key = word.strip()
    if key in wv.index:
        return wv.index[key]
    # GloVe 6B was trained on lower-cased text, so "Paris" lives under "paris".
    if key.lower() in wv.index:
        return wv.index[key.lower()]
    raise PortalitError(unknown_word_message(word, wv))


def neighbours(word_or_vector, k: int = 10, vectors: WordVectors | None = None,
               exclude=()) -> list[tuple[str, float]]:
    """The k words nearest by cosine to a word or a vector: [(word, score)], best first.

    Exact search over the whole vocabulary. A word query never returns the word itself; words in
    `exclude` are skipped too (unknown ones are ignored, since they cannot appear anyway).
    """
    wv = word_table(vectors)
    k = _check_k(k)
    skip = {wv.index[w] for w in _known(exclude, wv)}
    if isinstance(word_or_vector, str):
        row = word_index(word_or_vector, wv)
        skip.add(row)
        query = wv.unit[row]
    else:
        query = _query_vector(word_or_vector, wv)
    found = search.best(wv, query[None, :], k, skip)[0]
    return [(item["word"], item["score"]) for item in found]


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
    wv = word_table(vectors)
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
        found = search.best(wv, np.stack([offset, unit[2]] if baseline else [offset]), k, skip)
        results, only_b = found[0], (found[1] if baseline else [])
    else:
        results, only_b = search.best(wv, unit, k, skip, score=_cosmul, baseline_row=2 if baseline else None)
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
    return search.warm(word_table(vectors), wait=wait)


def _cosmul(cos):
    """3CosMul from cosines (3, n): rows 0 and 2 are the positives, row 1 the negative."""
    return (cos[0] + 1.0) * (cos[2] + 1.0) * 0.25 / ((cos[1] + 1.0) * 0.5 + COSMUL_EPSILON)




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
