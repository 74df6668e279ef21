"""Spelling suggestions for words outside a word-vector table's vocabulary ("did you mean ...").

difflib over all 400k words takes seconds; the 100k most frequent words, bucketed by first letter,
hold any word a learner is likely to mean and answer in milliseconds. The buckets are built once
per table and kept with it.
"""
from __future__ import annotations

import difflib

from ..models import WordVectors, word_table

_POOL_WORDS = 100_000
_POOL_FREQUENT = 20_000


def unknown_word_message(word: str, vectors: WordVectors | None = None) -> str:
    """One line naming the unknown word and the closest vocabulary words."""
    wv = word_table(vectors)
    if not str(word).strip():
        return f"empty word {word!r}: give a word from the {len(wv):,}-word vocabulary, e.g. 'king'"
    close = suggest(word, wv)
    hint = f"did you mean: {', '.join(close)}?" if close else "no close matches; check the spelling"
    return f"unknown word {word!r}: not among the {len(wv):,} words of the vocabulary; {hint}"


def suggest(word: str, vectors: WordVectors | None = None, n: int = 5) -> list[str]:
    """Up to `n` vocabulary words spelled like `word`, among the frequent ones (fast: tens of ms)."""
    wv = word_table(vectors)
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


def _suggestion_pool(wv: WordVectors):
    def build():
        buckets: dict[str, list[str]] = {}
        for w in wv.words[:_POOL_WORDS]:
            if w[:1].isalpha():
                buckets.setdefault(w[0].lower(), []).append(w)
        return buckets, [w for w in wv.words[:_POOL_FREQUENT] if w[:1].isalpha()]

    return wv.cached("spelling", build)
