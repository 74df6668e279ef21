"""Approximate cosines from an int8 copy of the unit vectors, with a proven bound on the error.

A query over all 400,000 GloVe words reads the whole table: 80 MB per query in float32, which is
all the time BLAS (and gensim) spend. The int8 copy is a quarter of that. A numba kernel reads it
in blocks of 2,048 words stored dimension by dimension (so the inner loop runs over contiguous
words and vectorises) and keeps each block's sums in cache. When searching it writes out only the
words that clear a floor (the k-th best of the 16,384 most frequent words, less the bound), so no
(queries x words) array is written and read back. `words.py` rescores those few words in float64,
so the answers are exactly those of the float32 product.

Why the bound holds. Each row v is stored as s * w, w int8 (s = max|v| / 127, a float32): its
error ||v - s w|| is measured once, exactly (`row_error`). The query stays float32. The kernel
adds the dim products in float32, in whatever order the compiler picks; every rounding along the
way is relative, so the float error is at most gamma * sum|s w_d q_d| <= gamma * ||s w|| * ||q||,
with gamma twice Higham's (n u) for a sum of n terms plus the final scaling. So for query q,
|approx - v.q| <= ||q|| * (row_error + gamma * max||s w||).
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np

from . import _threads

# Below this many rows the float32 product is already fast and numba's start-up is not worth it.
MIN_ROWS = 50_000
BLOCK = 2048
# Floors come from the first HEAD_ROWS rows: GloVe's most frequent words, cheap to read.
HEAD_ROWS = 16 * 1024
# Dimensions added per pass over a block's running sums (the kernel is unrolled by five):
# five times fewer loads and stores of the sums than one dimension per pass.
_UNROLL = 5
# A team call (numba's threads) this many times slower per block than the fastest one seen waited
# for a busy core, or ran on cold memory after a pause (the first call after idling is slow here
# too, in any mode). _STALLS such calls in a row mean a busy core: the next _SHARED_CALLS calls
# share _SHARE_PARTS block ranges between this thread and a pool thread, which never waits for a
# thread without a core (see _threads.share). Under a one-core hog: 1.4-2 ms a search, not 6-8.
_STALLED = 3.0
_STALLS = 3
_SHARED_CALLS = 50
_SHARE_PARTS = 16
# Absolute slack on top of the bound, for the float64 sums that measure row_error.
_FLOAT_SLACK = 1e-6


class Int8Scan:
    """An int8 copy of a (rows, dim) table of unit vectors.

    `cosines(queries)` -> (approx (m, rows), bound (m,)); `candidates(queries, want)` -> for each
    query the rows whose cosine could be among its `want` best, without writing every cosine.
    """

    def __init__(self, unit):
        from . import _kernels  # numba: imported here, in the build thread, not at start-up

        self._kernels = _kernels
        unit = np.asarray(unit, dtype=np.float32)
        self.rows, self.dim = unit.shape
        self.blocks = -(-self.rows // BLOCK)
        width = -(-self.dim // _UNROLL) * _UNROLL  # padded with zero dimensions
        self._blocked = np.zeros((self.blocks, width, BLOCK), dtype=np.int8)
        self._scales = np.zeros((self.blocks, BLOCK), dtype=np.float32)
        worst_error = worst_norm = 0.0
        for b in range(self.blocks):
            v = unit[b * BLOCK:(b + 1) * BLOCK]
            scales = np.maximum(np.abs(v).max(axis=1) / np.float32(127), np.float32(1e-12))
            ints = np.clip(np.rint(v / scales[:, None]), -127, 127).astype(np.int8)
            self._blocked[b, :self.dim, :len(v)] = ints.T
            self._scales[b, :len(v)] = scales
            stored = ints.astype(np.float64) * scales.astype(np.float64)[:, None]
            worst_error = max(worst_error, float(np.linalg.norm(v - stored, axis=1).max()))
            worst_norm = max(worst_norm, float(np.linalg.norm(stored, axis=1).max()))
        self.row_error, self.stored_norm = worst_error, worst_norm
        self._gamma = 2.0 * (width + 2) * 2.0 ** -24
        # One kernel call at a time: they share the buffers below, and numba's fallback thread
        # pool (where OpenMP is missing) aborts on calls from two threads at once.
        self._lock = threading.Lock()
        self._found_rows = np.zeros((self.blocks, 3, BLOCK), dtype=np.int32)
        self._found_values = np.zeros((self.blocks, 3, BLOCK), dtype=np.float32)
        self._counts = np.zeros((self.blocks, 3), dtype=np.int64)
        self._fastest: dict[int, float] = {}  # queries -> seconds per block of the quickest team call
        self._shared_calls = self._stalls = 0

    def bound(self, queries) -> np.ndarray:
        """|approx - exact| <= bound, per query row."""
        queries = np.asarray(queries, dtype=np.float64)
        norms = np.sqrt(np.einsum("ij,ij->i", queries, queries))
        return norms * (self.row_error + self._gamma * self.stored_norm) * (1 + 1e-6) + _FLOAT_SLACK

    def cosines(self, queries):
        """queries (m, dim) -> approx (m, rows) float32 array, bound (m,): |approx - exact| <= bound."""
        queries = self._padded(queries)
        out = np.empty((len(queries), self.blocks * BLOCK), dtype=np.float32)
        with self._lock:
            for lo in range(0, len(queries), 3):  # the kernel takes up to three queries at a time
                self._run(queries[lo:lo + 3], 0, self.blocks, None, out[lo:lo + 3])
        return out[:, :self.rows], self.bound(queries)

    def candidates(self, queries, want: int) -> list[np.ndarray]:
        """For each query (at most 3): rows within twice the bound of its want-th best approximation.

        Every row of the true top `want` is among them. `want` may be at most HEAD_ROWS.
        """
        queries = self._padded(queries)
        head_rows = min(self.rows, HEAD_ROWS)
        if not 1 <= len(queries) <= 3 or not 1 <= want <= head_rows:
            raise ValueError(f"candidates takes 1-3 queries and 1 <= want <= {head_rows}")
        margins = 2.0 * self.bound(queries)
        head_blocks = -(-head_rows // BLOCK)
        head = np.empty((len(queries), head_blocks * BLOCK), dtype=np.float32)
        kernels = self._kernels
        with self._lock:
            self._run(queries, 0, head_blocks, None, head, alone=True)  # too small to split
            head = head[:, :head_rows]
            # The want-th best of a subset is a floor that the true want-th best reaches.
            floors = np.array([kth_largest(h, want) for h in head]) - margins
            floors = np.nextafter(floors.astype(np.float32), np.float32(-np.inf))  # round down
            self._run(queries, head_blocks, self.blocks, floors, None)
            return [kernels.collect(head[j], floors[j], self._counts, self._found_rows, self._found_values,
                                    head_blocks, j, want, margins[j]) for j in range(len(queries))]

    def _padded(self, queries):
        queries = np.asarray(queries, dtype=np.float32)
        out = np.zeros((len(queries), self._blocked.shape[1]), dtype=np.float32)
        out[:, :self.dim] = queries
        return out

    def _run(self, queries, lo, hi, floors, out, alone=False):
        """Blocks lo..hi through the kernel: all cosines into `out` (floors None) or those above floors."""
        keep_all = floors is None
        queries = np.ascontiguousarray(queries)
        if keep_all:
            floors = np.zeros(len(queries), np.float32)
        else:
            out = np.empty((len(queries), 0), np.float32)

        def blocks(start, stop, kernel=self._kernels.alone):
            part = out[:, (start - lo) * BLOCK:] if keep_all else out  # the kernel counts from `start`
            kernel(self._blocked, self._scales, queries, self.rows, start, stop, floors, keep_all, part,
                   self._counts, self._found_rows, self._found_values)

        if alone:
            blocks(lo, hi)
        elif self._shared_calls > 0:
            self._shared_calls -= 1
            step = max(1, -(-(hi - lo) // _SHARE_PARTS))
            _threads.share(lambda start: blocks(start, min(start + step, hi)), range(lo, hi, step))
        else:
            started = time.perf_counter()
            blocks(lo, hi, self._kernels.team)
            self._note_team_call((time.perf_counter() - started) / (hi - lo), hi - lo, len(queries))

    def _note_team_call(self, per_block, blocks, queries):
        fastest = self._fastest[queries] = min(self._fastest.get(queries, math.inf), per_block)
        stalled = per_block > _STALLED * fastest and blocks * per_block > 2e-4
        self._stalls = self._stalls + 1 if stalled else 0
        if self._stalls >= _STALLS:
            # numba's threads keep waiting for a core another process holds: share for a while.
            self._shared_calls, self._stalls = _SHARED_CALLS, 0


def kth_largest(values, want):
    """The want-th largest of a 1-D array (numpy's partition: several times faster than numba's)."""
    return np.partition(values, len(values) - want)[len(values) - want]


def build(unit) -> Int8Scan | None:
    """An Int8Scan of `unit`, or None where numba is unavailable or the kernel misbehaves."""
    try:
        scan = Int8Scan(unit)
        probe = np.asarray(unit[:4], dtype=np.float32)
        approx, bound = scan.cosines(probe)
        exact = probe.astype(np.float64) @ np.asarray(unit, dtype=np.float64).T
        if not np.all(np.abs(approx - exact) <= bound[:, None]):
            return None  # a kernel that breaks the bound must not be trusted
        # The selecting path must keep each probe row's own best matches (itself among them).
        best = np.argsort(-exact[:2], axis=1)[:, :10]
        kept = scan.candidates(probe[:2], 10)
        if not all(set(best[j]) <= set(kept[j].tolist()) for j in range(2)):
            return None
        return scan
    except Exception:
        return None


class Background:
    """Builds one table's Int8Scan on a background thread; `get()` is None until it is ready.

    Built in the background so that the first query (and a one-shot CLI call) does not wait
    ~1-2 s for numba's import, the packing and (on a fresh machine) the compilation; until then
    searches use the exact product.
    """

    def __init__(self, unit):
        self._unit = unit
        self._done = threading.Event()
        self._scan: Int8Scan | None = None
        # Not a daemon: a process that ends mid-build (a script that made an AnalogyExplorer)
        # waits the second or two rather than killing the thread inside numba's compiler.
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
