"""TF-IDF vectors: the classic bag-of-words baseline that every learned embedding is compared with.

A text becomes one number per vocabulary word: how often the word occurs in it (TF), weighted down
for words that occur in many texts (IDF), the row scaled to unit length (scikit-learn's defaults:
lower case, words of 2+ letters, smoothed IDF). Two texts are similar only if they share words.
"""
from __future__ import annotations

import numpy as np

from ..errors import PortalitError


def tfidf_vectors(texts, fit_on=None) -> np.ndarray:
    """(n, vocabulary) float32 unit rows for `texts`; the vocabulary and IDF come from `fit_on`.

    fit_on defaults to `texts`. Fit on training texts only when the vectors feed a classifier, so
    that nothing about the test texts leaks in; words never seen in fit_on are ignored.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = _texts(texts, "texts")
    fit_on = texts if fit_on is None else _texts(fit_on, "fit_on")
    try:
        vectorizer = TfidfVectorizer().fit(fit_on)
    except ValueError:  # scikit-learn: "empty vocabulary"
        raise PortalitError("tfidf_vectors: fit_on has no word of 2 or more letters to build a vocabulary") from None
    return vectorizer.transform(texts).toarray().astype(np.float32)


def _texts(texts, name):
    texts = [texts] if isinstance(texts, str) else list(texts)
    if not texts or any(not isinstance(t, str) for t in texts):
        raise PortalitError(f"{name} must be one or more strings")
    return texts
