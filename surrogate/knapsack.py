"""Exact multiple-choice knapsack: one option per group, additive costs, minimum objective.

The selector reduces every network-level choice to this problem (per shared ``L`` in the
stream architecture). Options are pruned first (infeasible alone, then dominated), then
the rest is solved exactly as a MILP with HiGHS (``scipy.optimize.milp``).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from scipy.sparse import csr_array

# Relative tolerance when comparing costs with capacities (floating-point sums).
_FEASIBILITY_TOLERANCE = 1e-9


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Mask of the options no other option dominates (all columns minimised).

    Among exact duplicates the first (in input order) survives. Points are sorted
    lexicographically, so a point can only be dominated by an earlier one; each block of
    candidates is checked against the front found so far and within itself.
    """
    n, d = points.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    order = np.lexsort((np.arange(n), *(points[:, c] for c in range(d - 1, -1, -1))))
    sorted_points = points[order]
    keep_sorted = np.zeros(n, dtype=bool)
    if d == 1:
        keep_sorted[0] = True
    elif d == 2:
        running = np.minimum.accumulate(sorted_points[:, 1])
        keep_sorted[0] = True
        keep_sorted[1:] = sorted_points[1:, 1] < running[:-1]
    elif _compiled_front() is not None:
        keep_sorted = _compiled_front()(np.ascontiguousarray(sorted_points, dtype=np.float64))
    else:
        front = np.empty((0, d))
        block = 256
        for start in range(0, n, block):
            chunk = sorted_points[start : start + block]
            alive = np.ones(len(chunk), dtype=bool)
            if len(front):
                dominated = np.zeros(len(chunk), dtype=bool)
                for f_start in range(0, len(front), 512):
                    part = front[f_start : f_start + 512]
                    dominated |= np.all(part[None, :, :] <= chunk[:, None, :], axis=2).any(axis=1)
                alive &= ~dominated
            idx = np.flatnonzero(alive)
            if len(idx) > 1:
                sub = chunk[idx]
                pair = np.all(sub[:, None, :] <= sub[None, :, :], axis=2)
                pair &= np.tri(len(idx), k=-1, dtype=bool).T  # i earlier than j
                alive[idx[pair.any(axis=0)]] = False
            keep_sorted[start : start + len(chunk)] = alive
            front = np.vstack([front, chunk[alive]])
    mask = np.zeros(n, dtype=bool)
    mask[order[keep_sorted]] = True
    return mask


@functools.cache
def _compiled_front() -> Callable[[np.ndarray], np.ndarray] | None:
    """The numba kernel when numba is installed (same result, much faster in 3+ dims)."""
    if importlib.util.find_spec("numba") is None:
        return None
    from .pareto_kernel import sorted_front_mask

    return sorted_front_mask


@dataclass(frozen=True)
class KnapsackResult:
    choice: tuple[int, ...] | None  # one option index per group; None: infeasible
    objective: float


def _fits(total: np.ndarray, capacities: np.ndarray) -> bool:
    return bool(np.all(total <= capacities + _FEASIBILITY_TOLERANCE * np.maximum(1.0, np.abs(capacities))))


def solve_mckp(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> KnapsackResult:
    """Minimise Σ objective with Σ costs ≤ capacities, exactly one option per group.

    ``objectives[k]``: (n_k,); ``costs[k]``: (n_k, m); ``capacities``: (m,) (``inf``
    allowed). Options must be pre-pruned by the caller if speed matters.
    """
    groups = len(objectives)
    capacities = np.asarray(capacities, dtype=float)
    m = len(capacities)
    if any(len(o) == 0 for o in objectives):
        return KnapsackResult(None, float("inf"))
    sizes = np.array([len(o) for o in objectives])
    # Trivial case: every group's best option fits together.
    best = [int(np.argmin(o)) for o in objectives]
    total = np.sum([costs[k][best[k]] for k in range(groups)], axis=0) if m else np.zeros(0)
    if m == 0 or _fits(total, capacities):
        return KnapsackResult(tuple(best), float(sum(objectives[k][best[k]] for k in range(groups))))
    if int(sizes.sum()) > _FIXING_THRESHOLD:
        kept = _reduced_cost_fixing(objectives, costs, capacities)
        if kept is not None:
            sub = solve_mckp([o[k] for o, k in zip(objectives, kept, strict=True)],
                             [c[k] for c, k in zip(costs, kept, strict=True)], capacities)
            if sub.choice is None:
                return sub
            return KnapsackResult(tuple(int(k[i]) for k, i in zip(kept, sub.choice, strict=True)),
                                  sub.objective)
    return _solve_milp(objectives, costs, capacities)


# Above this many options, reduced-cost fixing shrinks the MILP first.
_FIXING_THRESHOLD = 1500


def _matrices(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> tuple[np.ndarray, csr_array, np.ndarray | None, np.ndarray, np.ndarray]:
    sizes = np.array([len(o) for o in objectives])
    n = int(sizes.sum())
    rows = np.repeat(np.arange(len(objectives)), sizes)
    one_per_group = csr_array((np.ones(n), (rows, np.arange(n))), shape=(len(objectives), n))
    finite = np.isfinite(capacities)
    cost_matrix = np.vstack(list(costs))[:, finite].T if finite.any() else None
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return np.concatenate(objectives).astype(float), one_per_group, cost_matrix, capacities[finite], offsets


def _solve_milp(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray,
    node_limit: int | None = None,
) -> KnapsackResult:
    groups = len(objectives)
    c, one_per_group, cost_matrix, caps, offsets = _matrices(objectives, costs, capacities)
    constraints = [LinearConstraint(one_per_group, 1, 1)]
    if cost_matrix is not None:
        constraints.append(LinearConstraint(cost_matrix, -np.inf, caps))
    options: dict[str, object] = {"disp": False, "mip_rel_gap": 0.0, "presolve": True}
    if node_limit is not None:
        options["node_limit"] = node_limit
    result = milp(c, constraints=constraints, integrality=np.ones(len(c)), bounds=Bounds(0, 1),
                  options=options)
    if result.x is None or (node_limit is None and result.status != 0):
        return KnapsackResult(None, float("inf"))
    x = result.x
    choice = tuple(int(np.argmax(x[offsets[k] : offsets[k + 1]])) for k in range(groups))
    total = np.sum([costs[k][choice[k]] for k in range(groups)], axis=0)
    if not _fits(total, capacities):  # solver tolerance let a hair over through
        return KnapsackResult(None, float("inf"))
    return KnapsackResult(choice, float(sum(objectives[k][choice[k]] for k in range(groups))))


def _reduced_cost_fixing(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> list[np.ndarray] | None:
    """Options that can still be in an optimal solution (exact reduced-cost fixing).

    With the LP bound ``z_LP``, its reduced costs ``d`` and any feasible objective ``z_UB``
    (from a MILP stopped at the root node; deterministic), an option with
    ``z_LP + d > z_UB`` is in no solution as good as ``z_UB``, so it is dropped.
    """
    c, one_per_group, cost_matrix, caps, offsets = _matrices(objectives, costs, capacities)
    lp = linprog(c, A_ub=cost_matrix, b_ub=caps if cost_matrix is not None else None,
                 A_eq=one_per_group, b_eq=np.ones(len(objectives)), bounds=(0, 1), method="highs")
    if lp.status != 0:
        return None
    incumbent = _solve_milp(objectives, costs, capacities, node_limit=1)
    if incumbent.choice is None:
        return None
    reduced = c - one_per_group.T @ lp.eqlin.marginals
    if cost_matrix is not None:
        reduced = reduced - cost_matrix.T @ lp.ineqlin.marginals
    slack = incumbent.objective - lp.fun
    tolerance = 1e-9 * max(1.0, abs(incumbent.objective))
    alive = reduced <= slack + tolerance
    kept = [np.flatnonzero(alive[offsets[k] : offsets[k + 1]]) for k in range(len(objectives))]
    # Keep the incumbent's options so the reduced problem stays feasible.
    for k, i in enumerate(incumbent.choice):
        if i not in kept[k]:
            kept[k] = np.sort(np.append(kept[k], i))
    return kept


def lp_bound(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> float:
    """Lower bound of :func:`solve_mckp` from its LP relaxation (``inf``: infeasible)."""
    if any(len(o) == 0 for o in objectives):
        return float("inf")
    sizes = np.array([len(o) for o in objectives])
    capacities = np.asarray(capacities, dtype=float)
    finite = np.isfinite(capacities)
    if not finite.any():
        return float(sum(o.min() for o in objectives))
    n = int(sizes.sum())
    rows = np.repeat(np.arange(len(objectives)), sizes)
    equality = csr_array((np.ones(n), (rows, np.arange(n))), shape=(len(objectives), n))
    upper = np.vstack(list(costs))[:, finite].T
    result = linprog(
        np.concatenate(objectives), A_ub=upper, b_ub=capacities[finite], A_eq=equality,
        b_eq=np.ones(len(objectives)), bounds=(0, 1), method="highs",
    )
    if result.status == 2:
        return float("inf")
    if result.status != 0:
        return -float("inf")  # no usable bound: never skip on it
    return float(result.fun)


def brute_force_mckp(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> KnapsackResult:
    """Every combination (small problems only): the reference the tests compare with."""
    import itertools

    best: tuple[int, ...] | None = None
    best_value = float("inf")
    for combo in itertools.product(*(range(len(o)) for o in objectives)):
        total = np.sum([costs[k][i] for k, i in enumerate(combo)], axis=0)
        if not _fits(np.atleast_1d(total), capacities):
            continue
        value = float(sum(objectives[k][i] for k, i in enumerate(combo)))
        if value < best_value - 1e-12:
            best, best_value = combo, value
    return KnapsackResult(best, best_value)
