"""The exact knapsack core: equals brute force, respects budgets, monotone, deterministic."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stochflow.surrogate.knapsack import brute_force_mckp, pareto_mask, solve_mckp


@st.composite
def problems(draw: st.DrawFn) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    groups = draw(st.integers(1, 4))
    resources = draw(st.integers(1, 3))
    objectives, costs = [], []
    for _ in range(groups):
        n = draw(st.integers(1, 5))
        objectives.append(np.array(draw(st.lists(st.integers(0, 50), min_size=n, max_size=n)), dtype=float))
        flat = draw(st.lists(st.integers(1, 40), min_size=n * resources, max_size=n * resources))
        costs.append(np.array(flat, dtype=float).reshape(n, resources))
    capacities = np.array(draw(st.lists(st.integers(1, 120), min_size=resources, max_size=resources)), dtype=float)
    return objectives, costs, capacities


def _total(costs: list[np.ndarray], choice: tuple[int, ...]) -> np.ndarray:
    return np.sum([costs[k][i] for k, i in enumerate(choice)], axis=0)


@settings(max_examples=80, deadline=None)
@given(problems())
def test_solver_equals_brute_force(problem) -> None:
    objectives, costs, capacities = problem
    exact = solve_mckp(objectives, costs, capacities)
    brute = brute_force_mckp(objectives, costs, capacities)
    assert (exact.choice is None) == (brute.choice is None)
    if exact.choice is not None:
        assert exact.objective == brute.objective
        assert np.all(_total(costs, exact.choice) <= capacities)


@settings(max_examples=100, deadline=None)
@given(problems(), st.floats(0.3, 1.0), st.floats(1.0, 3.0))
def test_tighter_never_breaks_looser_never_worse(problem, tighter, looser) -> None:
    objectives, costs, capacities = problem
    base = solve_mckp(objectives, costs, capacities)
    tight = solve_mckp(objectives, costs, capacities * tighter)
    loose = solve_mckp(objectives, costs, capacities * looser)
    if tight.choice is not None:
        assert np.all(_total(costs, tight.choice) <= capacities * tighter + 1e-9)
        assert base.choice is not None and base.objective <= tight.objective
    if base.choice is not None:
        assert loose.choice is not None and loose.objective <= base.objective


@settings(max_examples=50, deadline=None)
@given(problems())
def test_identical_inputs_identical_output(problem) -> None:
    objectives, costs, capacities = problem
    first = solve_mckp(objectives, costs, capacities)
    second = solve_mckp([o.copy() for o in objectives], [c.copy() for c in costs], capacities.copy())
    assert first == second


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_pareto_mask_keeps_exactly_the_non_dominated(n: int, d: int, seed: int) -> None:
    points = np.random.default_rng(seed).integers(0, 6, size=(n, d)).astype(float)
    mask = pareto_mask(points)
    for i in range(n):
        dominated = any(
            np.all(points[j] <= points[i]) and (np.any(points[j] < points[i]) or j < i)
            for j in range(n) if j != i
        )
        assert mask[i] == (not dominated), (i, points)


@pytest.mark.slow
@settings(max_examples=2, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.3, 0.9))
def test_reduced_cost_fixing_keeps_the_optimum(seed: int, tightness: float) -> None:
    """Large problems are shrunk by reduced-cost fixing first: same optimum as the plain MILP."""
    from stochflow.surrogate.knapsack import _FIXING_THRESHOLD, _solve_milp

    rng = np.random.default_rng(seed)
    groups, per_group = 16, 30
    assert groups * per_group > _FIXING_THRESHOLD
    costs = [rng.uniform(1, 100, size=(per_group, 2)) for _ in range(groups)]
    objectives = [1.0 / (1.0 + c.sum(axis=1)) + rng.uniform(0, 0.002, per_group) for c in costs]
    capacities = np.array([groups * 100 * tightness * 0.5, groups * 100 * tightness * 0.6])
    fast = solve_mckp(objectives, costs, capacities)
    plain = _solve_milp(objectives, costs, capacities)
    assert (fast.choice is None) == (plain.choice is None)
    if fast.choice is not None:
        assert fast.objective == pytest.approx(plain.objective, rel=1e-9)
        assert np.all(_total(costs, fast.choice) <= capacities + 1e-9)


@pytest.mark.parametrize("compiled", [True, False])
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 80), st.integers(3, 5), st.integers(0, 2**32 - 1))
def test_pareto_mask_on_mixed_scales(compiled: bool, n: int, d: int, seed: int) -> None:
    """Columns of very different scale (rounding ties in the order key): still exact."""
    import stochflow.surrogate.knapsack as knapsack

    rng = np.random.default_rng(seed)
    points = rng.integers(0, 4, size=(n, d)).astype(float)
    points *= np.array([1e-9, 1e6, 1.0, 1e12, 3.0][:d])
    points[:, 0] += rng.integers(0, 2, size=n) * 1e-17  # below the resolution of the sum
    original = knapsack._compiled_front
    try:
        if not compiled:
            knapsack._compiled_front = lambda: None  # type: ignore[assignment]
        mask = knapsack.pareto_mask(points)
    finally:
        knapsack._compiled_front = original
    for i in range(n):
        dominated = any(
            np.all(points[j] <= points[i]) and (np.any(points[j] < points[i]) or j < i)
            for j in range(n) if j != i
        )
        assert mask[i] == (not dominated), i


@st.composite
def mid_sized(draw: st.DrawFn) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Above the fixing threshold: LP, incumbent and reduced-cost fixing are exercised."""
    from stochflow.surrogate.knapsack import _FIXING_THRESHOLD

    seed = draw(st.integers(0, 2**32 - 1))
    resources = draw(st.integers(1, 3))
    rng = np.random.default_rng(seed)
    groups = 10
    per_group = _FIXING_THRESHOLD // groups + 3
    costs = [rng.integers(1, 60, size=(per_group, resources)).astype(float) for _ in range(groups)]
    objectives = [np.round(100.0 / (1.0 + c.sum(axis=1)) + rng.integers(0, 5, per_group), 3)
                  for c in costs]
    tightness = draw(st.floats(0.2, 1.2))
    capacities = np.full(resources, groups * 30.0 * tightness)
    return objectives, costs, capacities


@settings(max_examples=25, deadline=None)
@given(mid_sized())
def test_fixing_path_equals_the_plain_milp(problem) -> None:
    from stochflow.surrogate.knapsack import _solve_milp

    objectives, costs, capacities = problem
    fast = solve_mckp(objectives, costs, capacities)
    plain = _solve_milp(objectives, costs, capacities)
    assert (fast.choice is None) == (plain.choice is None)
    if fast.choice is not None:
        assert fast.objective == pytest.approx(plain.objective, rel=1e-12, abs=1e-12)
        assert np.all(_total(costs, fast.choice) <= capacities + 1e-9)


@settings(max_examples=25, deadline=None)
@given(mid_sized(), st.floats(0.9, 1.1), st.booleans())
def test_cutoff_only_drops_what_cannot_beat_it(problem, scale: float, any_better: bool) -> None:
    """With a cutoff the answer is the optimum if it beats the cutoff, else 'none better'."""
    objectives, costs, capacities = problem
    exact = solve_mckp(objectives, costs, capacities)
    if exact.choice is None:
        return
    cutoff = exact.objective * scale
    result = solve_mckp(objectives, costs, capacities, cutoff=cutoff, any_better=any_better)
    if exact.objective < cutoff:
        assert result.choice is not None and result.objective < cutoff
        assert np.all(_total(costs, result.choice) <= capacities + 1e-9)
        if not any_better:
            assert result.objective == pytest.approx(exact.objective, rel=1e-12)
    else:
        assert result.choice is None or result.objective >= exact.objective - 1e-12
