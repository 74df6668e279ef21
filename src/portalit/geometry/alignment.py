"""How alike are two embedding spaces of the same items? Row i of X and row i of Y are one item.

Scores come with a reference point (chance level or a shuffled control), because a bare number
such as 0.3 means nothing on its own.
"""
from __future__ import annotations

import numpy as np

from .arrays import matrix
from ..errors import PortalitError


def mutual_knn_alignment(X, Y, k: int = 10, seed: int = 0) -> dict:
    """Mutual k-nearest-neighbour alignment (Huh et al. 2024): {score, chance, shuffled, k, n}.

    score = mean over items of |kNN_X(i) & kNN_Y(i)| / k, neighbours by cosine, the item itself
    excluded; 1 means identical neighbourhoods. chance = k / (n - 1) is what unrelated spaces
    score on average; `shuffled` is the score after permuting Y's rows (seeded), a measured control.
    """
    X, Y = _pair(X, Y)
    n = len(X)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
        raise PortalitError(f"k must be a whole number from 1 to {n - 1} (items - 1) for {n} items, "
                            f"got {k!r}")
    near_x, near_y = _knn(X, k), _knn(Y, k)
    perm = np.random.default_rng(seed).permutation(n)
    # Neighbours of the permuted Y without a second search: relabel item j as its new row.
    new_row = np.empty(n, dtype=np.int64)
    new_row[perm] = np.arange(n)
    near_shuffled = new_row[near_y[perm]]
    return {
        "score": _overlap(near_x, near_y, k),
        "chance": k / (n - 1),
        "shuffled": _overlap(near_x, near_shuffled, k),
        "k": int(k),
        "n": n,
    }


def _knn(X, k, block=1024):
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    out = np.empty((len(X), k), dtype=np.int64)
    for lo in range(0, len(X), block):  # blocks keep memory at block x n, not n x n
        sims = unit[lo:lo + block] @ unit.T
        sims[np.arange(len(sims)), np.arange(lo, lo + len(sims))] = -np.inf
        out[lo:lo + block] = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return out


def _overlap(a, b, k):
    shared = (a[:, :, None] == b[:, None, :]).any(axis=2).sum(axis=1)
    return float(shared.mean() / k)


def linear_cka(X, Y) -> float:
    """Linear centred kernel alignment (Kornblith et al. 2019): 1 = same up to rotation and scale.

    Invariant to orthogonal transforms and isotropic scaling; X and Y may differ in width.
    """
    X, Y = _pair(X, Y)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    # Feature-space form: d x d' products, cheap when there are many more items than dimensions.
    cross = np.linalg.norm(X.T @ Y) ** 2
    norms = np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)
    if norms == 0:
        raise PortalitError("linear_cka: X or Y has no variance (all rows equal); CKA is undefined")
    return float(cross / norms)


def procrustes(X, Y) -> dict:
    """Orthogonal Procrustes: the rotation (and scale) that best maps X onto Y.

    Both are centred and scaled to unit Frobenius norm first. Returns {rotation, scale, aligned,
    target, disparity, dim, note}: aligned = scale * X @ rotation lies on target (standardised Y);
    disparity = |aligned - target|^2 in [0, 1], 0 when Y is a rotated, scaled, shifted copy of X.
    If widths differ, the wider side is first reduced by PCA to the narrower width (`note` says so),
    since a rotation needs equal dimensions.
    """
    X, Y = _pair(X, Y)
    note = ""
    if X.shape[1] != Y.shape[1]:
        dim = min(X.shape[1], Y.shape[1])
        side = "X" if X.shape[1] > dim else "Y"
        wide = max(X.shape[1], Y.shape[1])
        note = f"{side} reduced by PCA from {wide} to {dim} dimensions to match the other"
        X, Y = (_pca_reduce(X, dim), Y) if side == "X" else (X, _pca_reduce(Y, dim))
    X, Y = _standardise(X, "X"), _standardise(Y, "Y")
    u, s, vt = np.linalg.svd(X.T @ Y)
    rotation = u @ vt
    scale = float(s.sum())
    aligned = scale * (X @ rotation)
    return {
        "rotation": rotation,
        "scale": scale,
        "aligned": aligned,
        "target": Y,
        "disparity": float(max(0.0, 1.0 - scale ** 2)),
        "dim": int(X.shape[1]),
        "note": note,
    }


def _pca_reduce(X, dim):
    centred = X - X.mean(axis=0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    out = np.zeros((len(X), dim))
    keep = min(dim, len(s))
    out[:, :keep] = u[:, :keep] * s[:keep]
    return out


def _standardise(X, name):
    X = X - X.mean(axis=0)
    norm = np.linalg.norm(X)
    if norm == 0:
        raise PortalitError(f"procrustes: {name} has no variance (all rows equal)")
    return X / norm


def linear_map_retrieval(X, Y, train_fraction: float = 0.8, alpha: float = 1.0, seed: int = 0) -> dict:
    """Learn a ridge map X -> Y on some pairs, then retrieve held-out Y rows from mapped X rows.

    Returns {accuracy, chance, n_train, n_test, alpha}: accuracy is top-1 retrieval (cosine, among
    the held-out Y rows) of each held-out item's own partner; chance = 1 / n_test. The split is
    seeded; the map has an intercept (both sides centred on the training means).
    """
    X, Y = _pair(X, Y)
    n = len(X)
    if not 0 < train_fraction < 1:
        raise PortalitError(f"train_fraction must lie strictly between 0 and 1, got {train_fraction!r}")
    if alpha < 0:
        raise PortalitError(f"alpha (ridge penalty) must be >= 0, got {alpha!r}")
    n_train = int(round(train_fraction * n))
    if n_train < 1 or n - n_train < 2:
        raise PortalitError(f"{n} items with train_fraction={train_fraction} leave {n_train} to train and "
                            f"{n - n_train} to test; need at least 1 and 2")
    order = np.random.default_rng(seed).permutation(n)
    train, test = order[:n_train], order[n_train:]
    mean_x, mean_y = X[train].mean(axis=0), Y[train].mean(axis=0)
    xt, yt = X[train] - mean_x, Y[train] - mean_y
    try:
        if xt.shape[1] <= len(xt):
            weights = np.linalg.solve(xt.T @ xt + alpha * np.eye(xt.shape[1]), xt.T @ yt)
        else:  # more dimensions than pairs: the dual form solves an n_train x n_train system instead
            weights = xt.T @ np.linalg.solve(xt @ xt.T + alpha * np.eye(len(xt)), yt)
    except np.linalg.LinAlgError:
        raise PortalitError(f"the ridge system is singular with alpha={alpha}; use alpha > 0") from None
    predicted = (X[test] - mean_x) @ weights + mean_y
    sims = _unit(predicted) @ _unit(Y[test]).T
    accuracy = float((sims.argmax(axis=1) == np.arange(len(test))).mean())
    return {"accuracy": accuracy, "chance": 1.0 / len(test), "n_train": int(n_train),
            "n_test": int(len(test)), "alpha": float(alpha)}


def _unit(X):
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


def _pair(X, Y):
    X, Y = matrix(X, "X"), matrix(Y, "Y")
    if len(X) != len(Y):
        raise PortalitError(f"X has {len(X)} rows but Y has {len(Y)}; row i of each must be the same item")
    if len(X) < 3:
        raise PortalitError(f"need at least 3 paired items to compare spaces, got {len(X)}")
    return X, Y


