"""numba kernels for scan.py: int8 blocks times float32 queries, and the words that clear a floor.

A block is (dim, 2048) int8, dimension by dimension, so each inner loop runs over 2,048
contiguous words and compiles to vector instructions. fastmath lets the compiler reorder the
float32 sums; scan.py's bound allows for any order.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

_OPTIONS = dict(fastmath=True, boundscheck=False, error_model="numpy", nogil=True, cache=True)


@njit(**_OPTIONS)
def _add_one(w, q, acc):
    """acc += q . w over a block w (dim, size), five dimensions per pass over acc."""
    for d in range(0, w.shape[0], 5):
        w0, w1, w2, w3, w4 = w[d], w[d + 1], w[d + 2], w[d + 3], w[d + 4]
        x0, x1, x2, x3, x4 = q[d], q[d + 1], q[d + 2], q[d + 3], q[d + 4]
        for r in range(w.shape[1]):
            acc[r] += (np.float32(w0[r]) * x0 + np.float32(w1[r]) * x1 + np.float32(w2[r]) * x2
                       + np.float32(w3[r]) * x3 + np.float32(w4[r]) * x4)


@njit(**_OPTIONS)
def _add_two(w, q, p, acc, bcc):
    """_add_one for two queries at once: each byte of the block is read and converted once."""
    for d in range(0, w.shape[0], 5):
        w0, w1, w2, w3, w4 = w[d], w[d + 1], w[d + 2], w[d + 3], w[d + 4]
        x0, x1, x2, x3, x4 = q[d], q[d + 1], q[d + 2], q[d + 3], q[d + 4]
        y0, y1, y2, y3, y4 = p[d], p[d + 1], p[d + 2], p[d + 3], p[d + 4]
        for r in range(w.shape[1]):
            v0, v1, v2 = np.float32(w0[r]), np.float32(w1[r]), np.float32(w2[r])
            v3, v4 = np.float32(w3[r]), np.float32(w4[r])
            acc[r] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4
            bcc[r] += v0 * y0 + v1 * y1 + v2 * y2 + v3 * y3 + v4 * y4


def _scan(blocked, scales, queries, rows, lo, hi, floors, keep_all, out, counts, found_rows, found_values):
    """Approximate cosines of blocks lo..hi for 1-3 queries (compiled twice, below).

    keep_all: every cosine into out[j, (block - lo) * size + r]. Otherwise the rows whose cosine
    reaches floors[j] go to found_rows/found_values[block, j, :counts[block, j]].
    Rows at or past `rows` are padding and are skipped.
    """
    m = queries.shape[0]
    size = blocked.shape[2]
    for b in prange(lo, hi):
        acc = np.zeros((m, size), dtype=np.float32)
        if m == 1:
            _add_one(blocked[b], queries[0], acc[0])
        else:
            _add_two(blocked[b], queries[0], queries[1], acc[0], acc[1])
            if m == 3:
                _add_one(blocked[b], queries[2], acc[2])
        end = min(size, rows - b * size)
        for j in range(m):
            if keep_all:
                for r in range(end):
                    out[j, (b - lo) * size + r] = acc[j, r] * scales[b, r]
            else:
                count = 0
                floor = floors[j]
                for r in range(end):
                    value = acc[j, r] * scales[b, r]
                    if value >= floor:
                        found_rows[b, j, count] = b * size + r
                        found_values[b, j, count] = value
                        count += 1
                counts[b, j] = count


# `team` splits the blocks over numba's threads: fastest on idle cores, but each call ends when
# every thread has checked in, so a core busy with another process stalls it for milliseconds.
# `alone` runs on the calling thread; scan.py shares block ranges out to Python threads then.
team = njit(parallel=True, **_OPTIONS)(_scan)
alone = njit(**_OPTIONS)(_scan)


@njit(**_OPTIONS)
def collect(head, floor, counts, found_rows, found_values, lo, j, want, margin):
    """Query j's candidates: rows of `head` (the first blocks' cosines) reaching `floor`, and those
    recorded from blocks lo.. onwards, less any below the want-th best of them all minus `margin`."""
    total = 0
    for r in range(head.shape[0]):
        total += head[r] >= floor
    for b in range(lo, counts.shape[0]):
        total += counts[b, j]
    rows = np.empty(total, dtype=np.int64)
    values = np.empty(total, dtype=np.float32)
    k = 0
    for r in range(head.shape[0]):
        if head[r] >= floor:
            rows[k] = r
            values[k] = head[r]
            k += 1
    for b in range(lo, counts.shape[0]):
        for i in range(counts[b, j]):
            rows[k] = found_rows[b, j, i]
            values[k] = found_values[b, j, i]
            k += 1
    threshold = np.partition(values.copy(), total - want)[total - want] - margin
    return rows[values >= threshold]
