"""2-D (or n-D) maps of embeddings: PCA by SVD, or UMAP seeded and cached.

UMAP is slow to import (seconds) and to fit, and a seeded fit is deterministic, so each result is
cached by a hash of the input and the settings: in memory, and on disk under
$PORTALIT_CACHE/umap (default ~/.cache/portalit/umap) so a re-run notebook redraws at once.
"""
from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PortalitError

METHODS = ("pca", "umap")
UMAP_MIN_POINTS = 15  # below this UMAP's neighbour graph is degenerate; PCA is used instead
_MEMORY: dict[str, np.ndarray] = {}
_MEMORY_LIMIT = 64


@dataclass(frozen=True)
class Projection:
    """Coordinates (n, n_components) plus the method actually used and a note saying why if it changed."""

    coords: np.ndarray
    method: str
    note: str = ""
    cached: bool = False
    explained_variance: np.ndarray | None = field(default=None, repr=False)  # PCA only: share per axis


def project(X, method: str = "pca", n_components: int = 2, seed: int = 0) -> Projection:
    """Project the rows of X (n, d) to n_components dimensions.

    "pca": centred SVD, signs fixed so the result is reproducible. "umap": cosine metric,
    n_neighbors = min(15, n - 1), seeded (deterministic), cached; with fewer than 15 rows it falls
    back to PCA and says so in `.note`. Components beyond what the data can supply are zeros.
    """
    method = str(method).lower()
    if method not in METHODS:
        raise PortalitError(f"unknown projection method {method!r}; choose one of: {', '.join(METHODS)}")
    X = _as_matrix(X)
    if isinstance(n_components, bool) or not isinstance(n_components, (int, np.integer)) or n_components < 1:
        raise PortalitError(f"n_components must be a whole number >= 1, got {n_components!r}")
    n_components = int(n_components)
    if method == "umap":
        if len(X) >= UMAP_MIN_POINTS:
            return _umap(X, n_components, int(seed))
        result = pca(X, n_components)
        note = f"UMAP needs at least {UMAP_MIN_POINTS} points, got {len(X)}: used PCA instead"
        return Projection(result.coords, "pca", note, False, result.explained_variance)
    return pca(X, n_components)


def pca(X, n_components: int = 2) -> Projection:
    """Principal components of the rows of X by SVD of the centred matrix."""
    X = _as_matrix(X).astype(np.float64)
    centred = X - X.mean(axis=0)
    if centred.shape[0] >= centred.shape[1]:
        # Many points, few dimensions (a 2,000 x 384 map): the d x d covariance's eigenvectors are
        # the SVD's axes, at a fraction of the cost and with far steadier timing under load.
        variances, vectors = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(variances)[::-1]
        squared = np.clip(variances[order], 0.0, None)
        vt = vectors[:, order].T
    else:
        _, s, vt = np.linalg.svd(centred, full_matrices=False)
        squared = s ** 2
    keep = min(n_components, int((squared > 1e-12 * max(squared.max(), 1e-300)).sum()) or 1, len(squared))
    # Axis signs are arbitrary; make each axis's largest loading positive so runs agree.
    signs = np.sign(vt[np.arange(keep), np.abs(vt[:keep]).argmax(axis=1)])
    signs[signs == 0] = 1.0
    coords = np.zeros((len(X), n_components))
    coords[:, :keep] = centred @ vt[:keep].T * signs
    total = float(squared.sum())
    explained = np.zeros(n_components)
    if total > 0:
        explained[:keep] = squared[:keep] / total
    note = ""
    if keep < n_components:
        note = f"only {keep} component(s) exist for a {X.shape[0]}x{X.shape[1]} input; the rest are zeros"
    return Projection(coords, "pca", note, False, explained)


def _umap(X, n_components, seed):
    n_neighbors = min(15, len(X) - 1)
    key = _cache_key(X, n_components, seed, n_neighbors)
    if key in _MEMORY:
        return Projection(_MEMORY[key].copy(), "umap", "", True)
    path = _cache_dir() / f"{key}.npy"
    coords = _read_cached(path, (len(X), n_components))
    cached = coords is not None
    if coords is None:
        import umap  # slow import (numba), so only when UMAP is asked for

        from .. import threads

        with warnings.catch_warnings(), threads.limited():  # BLAS and numba: only the free cores
            # A seed makes UMAP single-threaded and it warns about that on every fit.
            warnings.simplefilter("ignore")
            reducer = umap.UMAP(n_components=n_components, n_neighbors=n_neighbors, metric="cosine",
                                random_state=seed, precomputed_knn=_exact_knn(X, n_neighbors))
            coords = np.asarray(reducer.fit_transform(X), dtype=np.float32)
        _write_cached(path, coords)
    if len(_MEMORY) >= _MEMORY_LIMIT:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = coords
    return Projection(coords.copy(), "umap", "", cached)


# Up to this many points the exact cosine neighbours take well under a second with numpy; UMAP's
# own neighbour search first compiles its numba code, about half of a first map's 12-15 s.
EXACT_KNN_POINTS = 10_000


def _exact_knn(X, k):
    """UMAP's precomputed_knn: (indices, cosine distances), each point first in its own row.

    None above EXACT_KNN_POINTS, where UMAP's approximate search is the better deal.
    """
    if len(X) > EXACT_KNN_POINTS:
        return (None, None, None)
    unit = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
    indices = np.empty((len(X), k), dtype=np.int64)
    distances = np.empty((len(X), k), dtype=np.float32)
    for lo in range(0, len(X), 1024):  # 1024 rows at a time keeps the distance block small
        rows = np.arange(lo, min(lo + 1024, len(X)))
        block = 1.0 - unit[rows] @ unit.T
        block[np.arange(len(rows)), rows] = -np.inf  # each point is its own nearest, as UMAP expects
        near = np.argpartition(block, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(block, near, axis=1), axis=1, kind="stable")
        indices[rows] = np.take_along_axis(near, order, axis=1)
        distances[rows] = np.clip(np.take_along_axis(block, indices[rows], axis=1), 0.0, 2.0)
    return indices, distances  # no search index: transform() of new points is not used here


def _cache_key(X, n_components, seed, n_neighbors):
    from importlib.metadata import version

    digest = hashlib.sha256()
    data = np.ascontiguousarray(X, dtype=np.float32)
    settings = (data.shape, n_components, seed, n_neighbors, "cosine", "exact-knn", version("umap-learn"))
    digest.update(repr(settings).encode())
    digest.update(data.tobytes())
    return digest.hexdigest()[:32]


def _cache_dir() -> Path:
    root = os.environ.get("PORTALIT_CACHE") or Path.home() / ".cache" / "portalit"
    return Path(root) / "umap"


def _read_cached(path, shape):
    try:
        coords = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    return coords if coords.shape == shape else None


def _write_cached(path, coords):
    # The cache only saves time: a read-only or full disk must not break a lesson.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.npy")
        np.save(partial, coords)
        os.replace(partial, path)
    except OSError:
        pass


def _as_matrix(X):
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PortalitError(f"expected a numeric (n, d) array of embeddings: {first_line}") from None
    if X.size == 0:
        raise PortalitError(f"empty input of shape {X.shape}: give at least one row of embeddings")
    if X.ndim != 2:
        raise PortalitError(f"expected an (n, d) array of embeddings, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise PortalitError("input contains NaN or infinite values; remove or fix those rows")
    return X
