"""Checking numeric (n, d) inputs once, with one message that names the argument."""
from __future__ import annotations

import numpy as np

from ..errors import PortalitError


def matrix(X, name: str, min_rows: int = 1) -> np.ndarray:
    """X as a float64 (n, d) array with at least `min_rows` rows and only finite values.

    PortalitError naming `name` otherwise (a learner's list of lists is fine; ragged rows are not).
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise PortalitError(f"{name} must be a numeric (n, d) array") from None
    if X.ndim != 2 or X.size == 0 or len(X) < min_rows:
        least = f" with at least {min_rows} rows" if min_rows > 1 else ""
        raise PortalitError(f"{name} must be a non-empty (n, d) array{least}, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise PortalitError(f"{name} contains NaN or infinite values")
    return X
