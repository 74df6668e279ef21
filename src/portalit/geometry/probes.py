"""Linear probes: how much of a label can a straight line read off frozen embeddings?

The recipe is the same for every model: a seeded, stratified train/test split; scikit-learn's
logistic regression on the training rows; accuracy on the test rows, reported beside two
references: the majority-class baseline (always answer the commonest training label) and a
shuffled-label control (the same recipe trained on permuted labels, which can only learn noise;
averaged over several permutations, because one permutation of a few hundred labels can land well
above chance by luck when the embeddings form tight clusters).
"""
from __future__ import annotations

import numpy as np

from ..errors import PortalitError


def split(labels, test_fraction: float = 0.3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) index arrays, stratified: each label keeps its share in both parts; seeded."""
    labels = _labels(labels)
    if not 0 < test_fraction < 1:
        raise PortalitError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction!r}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for value in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == value))
        cut = int(round(test_fraction * len(rows)))
        if cut < 1 or cut == len(rows):
            raise PortalitError(f"label {value!r} has {len(rows)} rows: too few to put some in both train and test")
        test.extend(rows[:cut])
        train.extend(rows[cut:])
    return np.sort(np.array(train)), np.sort(np.array(test))


def linear_probe(X, labels, *, train=None, test=None, test_fraction: float = 0.3, seed: int = 0,
                 C: float = 1.0, controls: int = 10) -> dict:
    """Train a logistic-regression probe on rows `train`, score it on rows `test`.

    Without train/test, `split(labels, test_fraction, seed)` makes them. Returns {accuracy,
    majority, shuffled, n_train, n_test, classes, predicted, test}: `shuffled` is the mean test
    accuracy of `controls` probes trained on seeded permutations of the training labels;
    `predicted` holds the probe's label for each test row (in the order of `test`).
    """
    X, labels = _data(X, labels)
    if (train is None) != (test is None):
        raise PortalitError("give both train and test row indices, or neither (then a seeded split is made)")
    if train is None:
        train, test = split(labels, test_fraction, seed)
    train, test = _rows(train, len(X), "train"), _rows(test, len(X), "test")
    if np.intersect1d(train, test).size:
        raise PortalitError("train and test share rows: a probe must be scored on rows it never saw")
    classes = np.unique(labels[train])
    if len(classes) < 2:
        raise PortalitError(f"the training rows hold only one label ({classes[0]!r}); a probe needs two or more")
    model = _fit(X[train], labels[train], C)
    predicted = model.predict(X[test])
    values, counts = np.unique(labels[train], return_counts=True)
    majority = values[counts.argmax()]
    if isinstance(controls, bool) or not isinstance(controls, (int, np.integer)) or controls < 1:
        raise PortalitError(f"controls (shuffled-label probes) must be a whole number >= 1, got {controls!r}")
    rng = np.random.default_rng(seed)
    shuffled = [float((_fit(X[train], rng.permutation(labels[train]), C).predict(X[test]) == labels[test]).mean())
                for _ in range(controls)]
    return {
        "accuracy": float((predicted == labels[test]).mean()),
        "majority": float((labels[test] == majority).mean()),
        "shuffled": float(np.mean(shuffled)),
        "n_train": int(len(train)),
        "n_test": int(len(test)),
        "classes": [str(c) for c in classes],
        "predicted": predicted,
        "test": test,
    }


def few_label_curve(X, labels, per_class=(1, 4, 16, 48), repeats: int = 10, test_fraction: float = 0.3,
                    seed: int = 0, C: float = 1.0) -> list[dict]:
    """Probe accuracy when only k labelled examples per class are available, for each k in per_class.

    One seeded split fixes the test rows; for each k, `repeats` draws of k training rows per class
    (from the training part) are probed. Returns [{per_class, mean, low, high}] (low/high: the worst
    and best draw).
    """
    X, labels = _data(X, labels)
    train, test = split(labels, test_fraction, seed)
    rng = np.random.default_rng(seed)
    out = []
    for k in per_class:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise PortalitError(f"per_class values must be whole numbers >= 1, got {k!r}")
        scores = []
        for _ in range(repeats):
            chosen = []
            for value in np.unique(labels[train]):
                rows = train[labels[train] == value]
                if k > len(rows):
                    raise PortalitError(f"label {value!r} has only {len(rows)} training rows; cannot draw {k} per class")
                chosen.extend(rng.choice(rows, size=k, replace=False))
            chosen = np.array(chosen)
            scores.append(float((_fit(X[chosen], labels[chosen], C).predict(X[test]) == labels[test]).mean()))
        out.append({"per_class": int(k), "mean": float(np.mean(scores)), "low": min(scores), "high": max(scores)})
    return out


def _fit(X, y, C):
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    # One BLAS thread: these fits are small (ms), and on a busy 2-core machine two BLAS threads
    # were measured 6x slower than one.
    with threadpool_limits(1):
        return LogisticRegression(C=C, max_iter=2000).fit(X, y)


def _data(X, labels):
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise PortalitError("X must be a numeric (n, d) array of embeddings") from None
    if X.ndim != 2 or X.size == 0:
        raise PortalitError(f"X must be a non-empty (n, d) array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise PortalitError("X contains NaN or infinite values")
    labels = _labels(labels)
    if len(labels) != len(X):
        raise PortalitError(f"X has {len(X)} rows but there are {len(labels)} labels; one label per row")
    return X, labels


def _labels(labels):
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise PortalitError("labels must be a non-empty list, one label per row")
    return labels


def _rows(index, n, name):
    index = np.asarray(index)
    if index.dtype == bool:
        if len(index) != n:
            raise PortalitError(f"{name} mask has {len(index)} entries for {n} rows")
        index = np.flatnonzero(index)
    if index.size == 0 or not np.issubdtype(index.dtype, np.integer) or index.min() < 0 or index.max() >= n:
        raise PortalitError(f"{name} must be a non-empty list of row numbers from 0 to {n - 1} (or a boolean mask)")
    return index
