"""Compiled (numba) Pareto filters: the fast path of :func:`.knapsack.pareto_mask`.

Imported only when numba is installed; the numpy path gives the same mask.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sorted_front_mask(points: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Points in an order where dominators come first: keep those no kept point dominates.

    The front is scanned newest first: a dominated point's dominator is usually a recent
    one (similar costs), which makes the scan end early.
    """
    n, d = points.shape
    keep = np.zeros(n, dtype=np.bool_)
    front = np.empty(n, dtype=np.int64)
    size = 0
    for i in range(n):
        dominated = False
        for f in range(size - 1, -1, -1):
            j = front[f]
            all_le = True
            for c in range(d):
                if points[j, c] > points[i, c]:
                    all_le = False
                    break
            if all_le:
                dominated = True
                break
        if not dominated:
            keep[i] = True
            front[size] = i
            size += 1
    return keep


@njit(cache=True)
def undominated_mask(points: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Distinct points: keep those no other point is ≤ in every column."""
    n, d = points.shape
    keep = np.ones(n, dtype=np.bool_)
    for i in range(n):
        for j in range(n):
            if j == i:
                continue
            all_le = True
            for c in range(d):
                if points[j, c] > points[i, c]:
                    all_le = False
                    break
            if all_le:
                keep[i] = False
                break
    return keep
