"""Exact multiple-choice knapsack: one option per group, additive costs, minimum objective.

The selector reduces every network-level choice to this problem (per shared ``L`` in the
stream architecture) after pruning dominated options (:func:`pareto_mask`). Larger
problems are solved from their LP relaxation (HiGHS): the LP solution, rounded, repaired
and improved by single swaps, is an incumbent, and reduced-cost fixing drops every option
that cannot be in a solution as good as it; the rest is solved exactly as a MILP with
HiGHS (``scipy.optimize.milp``, zero gap).
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

    Among exact duplicates the first (in input order) survives. In one and two columns the
    points are sorted lexicographically and swept. In more, they are ordered by the sum of
    min-max scaled columns (one sort instead of a lexicographic one; a dominator's sum is
    never larger), each point is checked against the kept ones before it, and a last pass
    over the kept points removes any whose dominator came later through a rounding tie.
    """
    n, d = points.shape
    if n == 0:
        return np.zeros(0, dtype=bool)
    mask = np.zeros(n, dtype=bool)
    if d <= 2:
        order = np.lexsort((np.arange(n), *(points[:, c] for c in range(d - 1, -1, -1))))
        keep_sorted = np.zeros(n, dtype=bool)
        keep_sorted[0] = True
        if d == 2:
            running = np.minimum.accumulate(points[order, 1])
            keep_sorted[1:] = points[order[1:], 1] < running[:-1]
        mask[order[keep_sorted]] = True
        return mask
    low = points.min(axis=0)
    span = points.max(axis=0) - low
    span[span == 0] = 1.0
    order = np.argsort(((points - low) / span).sum(axis=1), kind="stable")
    sorted_points = np.ascontiguousarray(points[order], dtype=np.float64)
    kernels = _compiled_front()
    if kernels is not None:
        kept = np.flatnonzero(kernels[0](sorted_points))
        kept = kept[kernels[1](np.ascontiguousarray(sorted_points[kept]))]
    else:
        kept = np.flatnonzero(_numpy_front(sorted_points))
        kept = kept[_numpy_undominated(sorted_points[kept])]
    mask[order[kept]] = True
    return mask


def _numpy_front(sorted_points: np.ndarray) -> np.ndarray:
    """Blocked numpy version of :func:`.pareto_kernel.sorted_front_mask`."""
    n, d = sorted_points.shape
    keep = np.zeros(n, dtype=bool)
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
        keep[start : start + len(chunk)] = alive
        front = np.vstack([front, chunk[alive]])
    return keep


def _numpy_undominated(points: np.ndarray) -> np.ndarray:
    """Blocked numpy version of :func:`.pareto_kernel.undominated_mask` (distinct points)."""
    keep = np.ones(len(points), dtype=bool)
    for start in range(0, len(points), 256):
        chunk = points[start : start + 256]
        le = np.all(points[None, :, :] <= chunk[:, None, :], axis=2)  # (chunk, all)
        le[np.arange(len(chunk)), start + np.arange(len(chunk))] = False
        keep[start : start + len(chunk)] = ~le.any(axis=1)
    return keep


Kernel = Callable[[np.ndarray], np.ndarray]


@functools.cache
def _compiled_front() -> tuple[Kernel, Kernel] | None:
    """The numba kernels when numba is installed (same result, much faster in 3+ dims)."""
    if importlib.util.find_spec("numba") is None:
        return None
    from .pareto_kernel import sorted_front_mask, undominated_mask

    return sorted_front_mask, undominated_mask


@dataclass(frozen=True)
class KnapsackResult:
    choice: tuple[int, ...] | None  # one option index per group; None: infeasible
    objective: float


def _fits(total: np.ndarray, capacities: np.ndarray) -> bool:
    return bool(np.all(total <= capacities + _FEASIBILITY_TOLERANCE * np.maximum(1.0, np.abs(capacities))))


@dataclass(frozen=True)
class Relaxation:
    """The LP relaxation of a knapsack: its bound and what reduced-cost fixing needs."""

    bound: float  # inf: infeasible; -inf: no usable bound (never prune on it)
    x: np.ndarray | None = None
    reduced: np.ndarray | None = None  # reduced costs of every option

    @property
    def usable(self) -> bool:
        return self.x is not None and self.reduced is not None


def solve_mckp(
    objectives: Sequence[np.ndarray],
    costs: Sequence[np.ndarray],
    capacities: np.ndarray,
    relaxation: Relaxation | None = None,
    *,
    cutoff: float = float("inf"),
    any_better: bool = False,
) -> KnapsackResult:
    """Minimise Σ objective with Σ costs ≤ capacities, exactly one option per group.

    ``objectives[k]``: (n_k,); ``costs[k]``: (n_k, m); ``capacities``: (m,) (``inf``
    allowed). Options must be pre-pruned by the caller if speed matters. Above
    :data:`_FIXING_THRESHOLD` options the LP relaxation (``relaxation`` if the caller
    already has it) and a feasible incumbent remove every option reduced-cost fixing
    proves useless, then the rest is solved exactly.

    ``cutoff``: only solutions better than it matter (an infeasible answer then means
    "none better"); ``any_better``: a feasible solution better than ``cutoff`` is enough.
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
    if relaxation is None and int(sizes.sum()) <= _FIXING_THRESHOLD:
        return _solve_milp(objectives, costs, capacities)
    relaxation = relaxation or relax(objectives, costs, capacities)
    if relaxation.bound == float("inf") or relaxation.bound > cutoff:
        return KnapsackResult(None, float("inf"))
    if not relaxation.usable:
        return _solve_milp(objectives, costs, capacities)
    flat = _Flat.of(objectives, costs, capacities)
    incumbent = flat.improve(flat.round(relaxation.x))
    if incumbent is not None and any_better and incumbent.objective < cutoff:
        return incumbent
    limit = min(cutoff, incumbent.objective if incumbent is not None else float("inf"))
    if not np.isfinite(limit):
        return _solve_milp(objectives, costs, capacities)
    kept = _reduced_cost_fixing(flat, relaxation, limit, incumbent)
    if kept is None:  # some group has no option left: nothing beats ``limit``
        return incumbent or KnapsackResult(None, float("inf"))
    sub = _solve_milp([o[k] for o, k in zip(objectives, kept, strict=True)],
                      [c[k] for c, k in zip(costs, kept, strict=True)], capacities)
    if sub.choice is None:
        return incumbent or sub
    found = KnapsackResult(tuple(int(k[i]) for k, i in zip(kept, sub.choice, strict=True)), sub.objective)
    if incumbent is not None and incumbent.objective <= found.objective:
        return incumbent  # never worse than the incumbent (solver tolerances)
    return found


# Above this many options, reduced-cost fixing shrinks the MILP first.
_FIXING_THRESHOLD = 64


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


@dataclass(frozen=True)
class _Flat:
    """A knapsack with every option in one array (``group_of`` each), finite budgets only."""

    objectives: np.ndarray
    costs: np.ndarray  # (n, m_finite)
    capacities: np.ndarray
    offsets: np.ndarray
    group_of: np.ndarray
    local: np.ndarray  # index of each option within its group

    @classmethod
    def of(cls, objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray],
           capacities: np.ndarray) -> _Flat:
        finite = np.isfinite(capacities)
        offsets = np.concatenate([[0], np.cumsum([len(o) for o in objectives])])
        group_of = np.repeat(np.arange(len(objectives)), np.diff(offsets))
        return cls(np.concatenate(objectives).astype(float), np.vstack(list(costs))[:, finite],
                   capacities[finite], offsets, group_of, np.arange(offsets[-1]) - offsets[group_of])

    def _room(self) -> np.ndarray:
        return self.capacities + _FEASIBILITY_TOLERANCE * np.maximum(1.0, np.abs(self.capacities))

    def round(self, x: np.ndarray) -> np.ndarray | None:
        """A feasible choice near the LP optimum: round, then swap options until it fits."""
        starts = self.offsets[:-1]
        current = np.array([s + int(np.argmax(x[s:e])) for s, e in zip(starts, self.offsets[1:], strict=True)])
        scale = np.maximum(np.abs(self.capacities), 1e-12)

        def violation(total: np.ndarray) -> np.ndarray:
            return np.sum(np.maximum(0.0, (total - self.capacities) / scale), axis=-1)

        for _ in range(10 * len(current)):
            total = self.costs[current].sum(axis=0)
            if np.all(total <= self._room()):
                return current
            now = float(violation(total))
            moved = total[None, :] - self.costs[current[self.group_of]] + self.costs
            gain = now - violation(moved)
            worse = self.objectives - self.objectives[current[self.group_of]]
            useful = gain > 1e-15
            if not useful.any():
                break
            score = np.where(useful, worse / np.where(useful, gain, 1.0), np.inf)
            best = int(np.argmin(score))
            current[self.group_of[best]] = best
        return None

    def improve(self, current: np.ndarray | None) -> KnapsackResult | None:
        """Take the best single-option swap that keeps the choice feasible, until none helps."""
        if current is None:
            return None
        current = current.copy()
        room = self._room()
        for _ in range(4 * len(current)):
            total = self.costs[current].sum(axis=0)
            moved = total[None, :] - self.costs[current[self.group_of]] + self.costs
            gain = self.objectives[current[self.group_of]] - self.objectives
            gain[~np.all(moved <= room, axis=1)] = 0.0
            best = int(np.argmax(gain))
            if gain[best] <= 1e-15 * max(1.0, abs(float(self.objectives[current].sum()))):
                break
            current[self.group_of[best]] = best
        return KnapsackResult(tuple(int(i) for i in self.local[current]),
                              float(self.objectives[current].sum()))


def _reduced_cost_fixing(
    flat: _Flat, relaxation: Relaxation, limit: float, incumbent: KnapsackResult | None
) -> list[np.ndarray] | None:
    """Options that can still be in a solution no worse than ``limit`` (exact).

    With the LP bound ``z_LP`` and reduced costs ``d``, every solution that takes option
    ``j`` costs at least ``z_LP + d_j``; options with ``z_LP + d_j > limit`` are dropped.
    ``limit`` is the incumbent's objective (deterministic: the LP solution rounded,
    repaired and improved) or a caller's cutoff. None: some group has nothing left.
    """
    assert relaxation.reduced is not None
    tolerance = 1e-9 * max(1.0, abs(limit))
    alive = relaxation.reduced <= limit - relaxation.bound + tolerance
    offsets = flat.offsets
    kept = [np.flatnonzero(alive[offsets[k] : offsets[k + 1]]) for k in range(len(offsets) - 1)]
    if incumbent is not None and incumbent.choice is not None and incumbent.objective <= limit:
        # Keep the incumbent's options so the reduced problem stays feasible.
        for k, i in enumerate(incumbent.choice):
            if i not in kept[k]:
                kept[k] = np.sort(np.append(kept[k], i))
    if any(len(k) == 0 for k in kept):
        return None
    return kept


def relax(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> Relaxation:
    """The LP relaxation (HiGHS): bound, solution and reduced costs."""
    if any(len(o) == 0 for o in objectives):
        return Relaxation(float("inf"))
    capacities = np.asarray(capacities, dtype=float)
    c, one_per_group, cost_matrix, caps, _ = _matrices(objectives, costs, capacities)
    if cost_matrix is None:
        return Relaxation(float(sum(o.min() for o in objectives)))
    result = linprog(c, A_ub=cost_matrix, b_ub=caps, A_eq=one_per_group,
                     b_eq=np.ones(len(objectives)), bounds=(0, 1), method="highs")
    if result.status == 2:
        return Relaxation(float("inf"))
    if result.status != 0:
        return Relaxation(-float("inf"))  # no usable bound: never skip on it
    reduced = c - one_per_group.T @ result.eqlin.marginals - cost_matrix.T @ result.ineqlin.marginals
    return Relaxation(float(result.fun), result.x, reduced)


def lp_bound(
    objectives: Sequence[np.ndarray], costs: Sequence[np.ndarray], capacities: np.ndarray
) -> float:
    """Lower bound of :func:`solve_mckp` from its LP relaxation (``inf``: infeasible)."""
    return relax(objectives, costs, capacities).bound


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
