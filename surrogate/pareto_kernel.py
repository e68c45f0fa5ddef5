"""Compiled (numba) Pareto filter: the fast path of :func:`.knapsack.pareto_mask`.

Imported only when numba is installed; the numpy path gives the same mask.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def sorted_front_mask(points: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Points sorted lexicographically: keep those no earlier kept point dominates."""
    n, d = points.shape
    keep = np.zeros(n, dtype=np.bool_)
    front = np.empty(n, dtype=np.int64)
    size = 0
    for i in range(n):
        dominated = False
        for f in range(size):
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
