"""How faithful is a 2-D map of embeddings? Compare the map's distances and neighbours with the full space.

`X` is the full space (n, d), compared by cosine, as embeddings are; `coords` is the map (n, 2),
compared by the Euclidean distance your eye uses on a plot. Each score comes with its reference
point: 1 for a perfect map, and what a map of random points scores.
"""
from __future__ import annotations

import numpy as np

from .arrays import matrix
from ..errors import PortalitError


def distance_correlation(X, coords) -> float:
    """Spearman rank correlation of all pairwise distances, full space (cosine) vs map (Euclidean).

    1 means the map orders every pair by distance exactly as the full space does; 0 means no relation.
    """
    X, coords = _pair(X, coords)
    from scipy.stats import spearmanr

    upper = np.triu_indices(len(X), k=1)
    return float(spearmanr(_distances(X, "cosine")[upper], _distances(coords, "euclidean")[upper]).statistic)


def neighbours_kept(X, coords, k: int = 10) -> dict:
    """Share of each point's k nearest neighbours in the full space that are also its k nearest on the map.

    Returns {score, chance, k, n}; chance = k / (n - 1) is what a map of random points keeps on average.
    """
    X, coords = _pair(X, coords)
    k = _check_k(k, len(X))
    near_x = _knn(_distances(X, "cosine"), k)
    near_map = _knn(_distances(coords, "euclidean"), k)
    shared = [len(set(a) & set(b)) for a, b in zip(near_x.tolist(), near_map.tolist())]
    return {"score": float(np.mean(shared) / k), "chance": k / (len(X) - 1), "k": k, "n": len(X)}


def label_purity(Z, labels, k: int = 5, metric: str = "euclidean") -> dict:
    """Share of each point's k nearest neighbours (by `metric`) that carry the point's own label.

    Returns {score, chance, k, n}; chance is the share of same-label pairs among all pairs, what
    neighbours picked at random would score. Use metric="cosine" for embeddings, "euclidean" for maps.
    """
    Z = matrix(Z, "Z", min_rows=3)
    labels = np.asarray([str(label) for label in labels])
    if len(labels) != len(Z):
        raise PortalitError(f"{len(labels)} labels for {len(Z)} points; give one label per point")
    if metric not in ("cosine", "euclidean"):
        raise PortalitError(f"unknown metric {metric!r}; choose cosine or euclidean")
    k = _check_k(k, len(Z))
    near = _knn(_distances(Z, metric), k)
    score = float((labels[near] == labels[:, None]).mean())
    _, counts = np.unique(labels, return_counts=True)
    n = len(Z)
    chance = float((counts * (counts - 1)).sum() / (n * (n - 1)))
    return {"score": score, "chance": chance, "k": k, "n": n}


def _distances(Z, metric):
    if metric == "cosine":
        unit = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)
        return 1.0 - unit @ unit.T
    squared = (Z ** 2).sum(axis=1)
    return np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2.0 * Z @ Z.T, 0.0))


def _knn(D, k):
    D = D.copy()
    np.fill_diagonal(D, np.inf)  # a point is not its own neighbour
    # A stable sort breaks ties by index, so duplicate points give the same answer every run.
    return np.argsort(D, axis=1, kind="stable")[:, :k]


def _check_k(k, n):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise PortalitError(f"k must be a whole number from 1 to {n - 1} (points - 1), got {k!r}")
    return int(k)


def _pair(X, coords):
    X, coords = matrix(X, "X", min_rows=3), matrix(coords, "coords", min_rows=3)
    if len(X) != len(coords):
        raise PortalitError(f"X has {len(X)} rows but coords has {len(coords)}; row i of each must be the same item")
    return X, coords


