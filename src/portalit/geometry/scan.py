"""Approximate cosines from an int8 copy of the unit vectors, with a proven bound on the error.

A query over all 400,000 GloVe words reads the whole table. In float32 that is 80 MB per query,
which is all the time BLAS (and gensim) spend. An int8 copy is a quarter of that, and fbgemm's
int8 kernels (via torch, already installed for the sentence models) multiply it in about 1 ms
for two queries at once. The answers stay exact: `words.py` takes every word whose approximate
score could still reach the top k given `bound`, and rescores just those in float64.

Why the bound holds. Each row v is stored as s * w, w int8 (s = max|v| / 127): its error
||v - s w|| is measured once, exactly (`row_error`). fbgemm quantises the queries itself, per call,
affinely over [min(x, 0), max(x, 0)] with at least 127 levels (reduce_range, which also keeps its
int16 pair sums from saturating), so each query number moves by at most half a step. Integer
sums are exact. So for query q, |approx - v.q| <= row_error * ||q|| + max||s w|| * ||q - q'||.

torch's quantized tensors are deprecated upstream; if they are missing or fail, `build` returns
None and searches fall back to the exact float32 product, which gives the same answers.
"""
from __future__ import annotations

import math
import threading
import warnings

import numpy as np

# torch warns that quantized tensors are deprecated. This runs on a background thread, where
# warnings.catch_warnings() is not safe (it swaps the process-wide filters under other threads),
# so one filter for exactly that notice, instead of a learner seeing it under an unrelated cell.
warnings.filterwarnings("ignore", message="torch.quantize_per_tensor, torch.quantize_per_channel",
                        category=UserWarning)

# Below this many rows the float32 product is already fast and torch's start-up is not worth it.
MIN_ROWS = 50_000
# fbgemm's float work after the exact integer sums: relative error ~1e-7; this is far above it.
_FLOAT_SLACK = 1e-5


class Int8Scan:
    """An int8 copy of a (rows, dim) table of unit vectors: `cosines(queries)` -> (approx, bound)."""

    def __init__(self, unit):
        import torch

        table = torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float32))
        scales = (table.abs().amax(dim=1) / 127.0).clamp_min(1e-12).double()
        zero = torch.zeros(len(table), dtype=torch.long)
        quantized = torch.quantize_per_channel(table, scales, zero, 0, torch.qint8)
        self._packed = torch.ops.quantized.linear_prepack(quantized, None)
        self.row_error, self.stored_norm = _errors(table.numpy(), quantized.int_repr().numpy(), scales.numpy())
        self.dim = table.shape[1]
        self._torch = torch

    def cosines(self, queries):
        """queries (m, dim) -> approx (m, rows) float32 array, bound (m,): |approx - exact| <= bound."""
        torch = self._torch
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        with torch.inference_mode():
            approx = torch.ops.quantized.linear_dynamic(torch.from_numpy(queries), self._packed, True)
        # The step fbgemm's dynamic quantisation uses is at most this (127 levels over the range).
        step = (max(float(queries.max()), 0.0) - min(float(queries.min()), 0.0)) / 127.0
        query_error = 0.5 * step * math.sqrt(self.dim)
        norms = np.linalg.norm(queries, axis=1)
        bound = self.row_error * norms + self.stored_norm * query_error
        return approx.numpy(), bound * (1 + _FLOAT_SLACK) + _FLOAT_SLACK


def _errors(table, ints, scales, chunk=32_768):
    """(max ||v - s w||, max ||s w||) over the rows, in float64, a chunk at a time.

    Whole-table float64 copies would add ~0.4 GB at the peak for GloVe; chunks add ~25 MB.
    """
    worst_error = worst_norm = 0.0
    for lo in range(0, len(table), chunk):
        stored = ints[lo:lo + chunk] * scales[lo:lo + chunk, None]
        worst_error = max(worst_error, float(np.linalg.norm(table[lo:lo + chunk] - stored, axis=1).max()))
        worst_norm = max(worst_norm, float(np.linalg.norm(stored, axis=1).max()))
    return worst_error, worst_norm


def build(unit) -> Int8Scan | None:
    """An Int8Scan of `unit`, or None where torch's int8 kernels are unavailable or misbehave."""
    try:
        scan = Int8Scan(unit)
        probe = np.asarray(unit[:4], dtype=np.float32)
        approx, bound = scan.cosines(probe)
        exact = probe @ np.asarray(unit, dtype=np.float32).T
        if not np.all(np.abs(approx - exact) <= bound[:, None]):
            return None  # a kernel that breaks the bound must not be trusted
        return scan
    except Exception:
        return None


class Background:
    """Builds one table's Int8Scan on a background thread; `get()` is None until it is ready.

    Built in the background so that the first query (and a one-shot CLI call) does not wait the
    ~1.5 s for torch's import and the packing; until then searches use the exact product.
    """

    def __init__(self, unit):
        self._unit = unit
        self._done = threading.Event()
        self._scan: Int8Scan | None = None
        # Not a daemon: a process that ends mid-build (a script that made an AnalogyExplorer)
        # must wait the second or two, since torch aborts if the interpreter dies under its import.
        threading.Thread(target=self._run, name="portalit-int8-scan", daemon=False).start()

    def _run(self):
        try:
            self._scan = build(self._unit)
        finally:
            self._done.set()

    def get(self, wait: bool = False) -> Int8Scan | None:
        if wait:
            self._done.wait()
        return self._scan if self._done.is_set() else None
