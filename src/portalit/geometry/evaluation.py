"""The Google analogy benchmark (questions-words.txt), scored exactly as gensim scores it, but fast.

Protocol of gensim's `KeyedVectors.evaluate_word_analogies` (gensim 4.4): keep the first
`restrict_vocab` words; fold case to upper on both sides (the first, most frequent spelling wins);
skip a question if any of its four words is outside that vocabulary; answer "a : b :: c : ?" with
the 3CosAdd nearest word to b - a + c among the kept words, the three question words excluded.
gensim runs one `most_similar` per question (about 11 minutes on GloVe's 400k words); here the
questions go through in batches of matrix products with a running argmax, so nothing of size
questions x vocabulary is ever held, and the batches are spread over the cores.
"""
from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import numpy as np

from ..errors import PortalitError
from ..models import WordVectors, load_glove
from ._threads import run_parallel

_BATCH = 512  # questions per matrix product
_CHUNK = 4096  # vocabulary rows per product: a 512 x 4096 block of scores (8 MB) stays in cache
# gensim lists 5 answers after dropping the question words and takes the first that does not fold
# to a question word; that only differs from the plain argmax when a case variant of a question
# word wins, which the slow path below replays.
_GENSIM_TOPN = 5


def google_analogies_path() -> Path:
    """questions-words.txt as shipped in gensim's test data (found without importing gensim)."""
    spec = importlib.util.find_spec("gensim")
    if spec is None or not spec.submodule_search_locations:
        raise PortalitError("the Google analogy set ships with gensim, which is not installed; "
                            "install gensim or pass path= to a questions-words.txt file")
    path = Path(list(spec.submodule_search_locations)[0]) / "test" / "test_data" / "questions-words.txt"
    if not path.exists():
        raise PortalitError(f"{path} is missing from the installed gensim; "
                            "pass path= to a questions-words.txt file")
    return path


def evaluate_analogies(path=None, restrict_vocab: int | None = None, case_insensitive: bool = True,
                       vectors: WordVectors | None = None) -> dict:
    """Accuracy on an analogy file: {questions, answered, correct, accuracy, seconds, sections}.

    `questions` counts every well-formed line, `answered` those whose four words are in the kept
    vocabulary; accuracy = correct / answered, equal to gensim's score on the same vectors.
    `restrict_vocab` None keeps the whole vocabulary. `sections` maps each section name to
    {answered, correct, accuracy}.
    """
    started = time.perf_counter()
    wv = load_glove() if vectors is None else vectors
    path = google_analogies_path() if path is None else Path(path)
    if not path.is_file():
        raise PortalitError(f"analogy file {str(path)!r} not found; "
                            "pass the path of a questions-words.txt file")
    n = len(wv) if restrict_vocab is None else _check_restrict(restrict_vocab, len(wv))
    fold = str.upper if case_insensitive else str
    kept = [fold(w) for w in wv.words[:n]]
    # Built back to front so the first (most frequent) spelling of a folded word keeps its row.
    ok_vocab = dict(zip(reversed(kept), range(n - 1, -1, -1)))

    names, section_of, rows, expected, questions = _read(path, fold, ok_vocab)
    rows = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    predicted = _predict(wv.unit[:n], rows)

    correct = np.zeros(len(rows), dtype=bool)
    for q, (row, guess) in enumerate(zip(rows, predicted)):
        ignore = {kept[r] for r in row}
        word = kept[guess]
        if word in ignore:
            word = _gensim_answer(wv.unit[:n], row, kept, ignore)
        correct[q] = word == expected[q]

    section_of = np.asarray(section_of, dtype=np.int64)
    sections = {}
    for s, name in enumerate(names):
        mine = correct[section_of == s]
        sections[name] = {"answered": int(mine.size), "correct": int(mine.sum()),
                          "accuracy": float(mine.mean()) if mine.size else 0.0}
    answered = int(len(rows))
    return {
        "questions": questions,
        "answered": answered,
        "correct": int(correct.sum()),
        "accuracy": float(correct.mean()) if answered else 0.0,
        "seconds": round(time.perf_counter() - started, 3),
        "restrict_vocab": n,
        "path": str(path),
        "sections": sections,
    }


def _check_restrict(restrict_vocab, size):
    whole = isinstance(restrict_vocab, (int, np.integer)) and not isinstance(restrict_vocab, bool)
    if not whole or restrict_vocab < 1:
        raise PortalitError(f"restrict_vocab must be a whole number >= 1 (or None for all {size:,} words), "
                            f"got {restrict_vocab!r}")
    return min(int(restrict_vocab), size)


def _read(path, fold, ok_vocab):
    names, section_of, rows, expected = [], [], [], []
    questions = 0
    with open(path, encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, start=1):
            if line.startswith(": "):
                names.append(line.lstrip(": ").strip())
                continue
            if not names:
                raise PortalitError(f"{path}: line {number} comes before any ': section' header")
            words = line.split()
            if len(words) != 4:
                continue  # gensim skips malformed lines without counting them
            questions += 1
            a, b, c, d = (fold(w) for w in words)
            if a in ok_vocab and b in ok_vocab and c in ok_vocab and d in ok_vocab:
                section_of.append(len(names) - 1)
                rows.append((ok_vocab[a], ok_vocab[b], ok_vocab[c]))
                expected.append(d)
    return names, section_of, rows, expected, questions


def _predict(unit, rows):
    """Row of the best 3CosAdd answer to each question (b - a + c), its three words masked out."""

    def best_of_batch(start):
        batch = rows[start:start + _BATCH]
        query = unit[batch[:, 1]] - unit[batch[:, 0]] + unit[batch[:, 2]]
        query /= np.maximum(np.linalg.norm(query, axis=1, keepdims=True), 1e-12)
        top = np.full(len(batch), -np.inf, dtype=np.float32)
        arg = np.zeros(len(batch), dtype=np.int64)
        line = np.arange(len(batch))
        for lo in range(0, len(unit), _CHUNK):
            hi = min(lo + _CHUNK, len(unit))
            scores = query @ unit[lo:hi].T
            inside = (batch >= lo) & (batch < hi)
            if inside.any():
                r, c = np.nonzero(inside)
                scores[r, batch[r, c] - lo] = -np.inf
            here = scores.argmax(axis=1)
            value = scores[line, here]
            better = value > top  # strict: on a tie the earlier (more frequent) word stays
            top[better] = value[better]
            arg[better] = here[better] + lo
        return arg

    parts = run_parallel(best_of_batch, range(0, len(rows), _BATCH))
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _gensim_answer(unit, row, kept, ignore):
    """gensim's pick for one question: the first of its top 5 (question rows dropped) that does not
    fold to a question word, else the last of them."""
    query = unit[row[1]] - unit[row[0]] + unit[row[2]]
    scores = unit @ (query / max(float(np.linalg.norm(query)), 1e-12))
    want = _GENSIM_TOPN + 3
    order = np.argsort(-scores)[:want]
    listed = [i for i in order if i not in set(row.tolist())][:_GENSIM_TOPN]
    word = None
    for i in listed:
        word = kept[i]
        if word not in ignore:
            break
    return word
