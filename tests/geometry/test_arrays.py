"""portalit.geometry.arrays.matrix: one check of (n, d) inputs, one message naming the argument."""
from __future__ import annotations

import numpy as np
import pytest

from portalit.geometry.arrays import matrix
from portalit.errors import PortalitError


def test_lists_become_float_matrices():
    out = matrix([[1, 2], [3, 4]], "X")
    assert out.dtype == np.float64 and out.shape == (2, 2)


@pytest.mark.parametrize("value, min_rows, expected", [
    ([[1, 2], [3]], 1, "X must be a numeric (n, d) array"),
    ([["a", "b"]], 1, "X must be a numeric (n, d) array"),
    ([], 1, "X must be a non-empty (n, d) array, got shape (0,)"),
    ([1.0, 2.0], 1, "X must be a non-empty (n, d) array, got shape (2,)"),
    ([[1.0], [2.0]], 3, "X must be a non-empty (n, d) array with at least 3 rows, got shape (2, 1)"),
    ([[1.0, np.nan]], 1, "X contains NaN or infinite values"),
    ([[np.inf, 1.0]], 1, "X contains NaN or infinite values"),
])
def test_bad_input_gets_one_message_naming_it(value, min_rows, expected):
    with pytest.raises(PortalitError) as error:
        matrix(value, "X", min_rows=min_rows)
    assert str(error.value) == expected
