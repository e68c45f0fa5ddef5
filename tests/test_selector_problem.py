"""Network-level selection vs brute force over whole networks, in both architectures."""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.features import FEATURES, layer_feature_matrix
from stochflow.surrogate.features import cost_rows as feature_rows
from stochflow.surrogate.learned import Prediction
from stochflow.surrogate.prior import latency_cycles
from stochflow.surrogate.selector import Budget, BudgetError, LayerOptions, Problem, select, solve
from stochflow.surrogate.space import SpaceLimits, apply_options, network_space

LIMITS = SpaceLimits(
    lengths=(16, 64, 256), precisions=(4, 6), rng_kinds=("lfsr", "sobol"), widths=(8,),
    lfsr_seeds=2, decorrelations=("shared", "permuted"),
)
# Cost weights of the test problems (a fixed linear cost over the structural features, so
# the selector is tested on costs with the real structure; not a claim about hardware).
WEIGHTS = np.linspace(0.2, 1.4, len(FEATURES))


def _config(architecture: str) -> NetworkConfig:
    layers = (
        LayerConfig("a", 6, 3, input_rng=RngSpec(width=8, seed=9)),
        LayerConfig("b", 3, 2, input_rng=RngSpec(width=8, seed=5) if architecture == "regenerate" else None),
    )
    return NetworkConfig("net", layers, architecture)  # type: ignore[arg-type]


def _prediction(values: np.ndarray, spread: float) -> Prediction:
    return Prediction(values, values / spread, values * spread, values * spread, "test:linear")


def _problem(architecture: str, budget: Budget, cost_rows: bool = False) -> Problem:
    """``cost_rows``: tell the selector which options share a feature row (as build does)."""
    config = _config(architecture)
    errors = StreamErrorModel()
    layers = []
    for space in network_space(config, LIMITS):
        features = layer_feature_matrix(space)
        luts = features @ WEIGHTS + 1.0
        layers.append(LayerOptions(space, errors.layer_errors(space), errors.source,
                                   _prediction(luts, 1.1), _prediction(luts / 2, 1.1),
                                   _prediction(luts * 0.01, 1.05),
                                   feature_rows(space)[1] if cost_rows else None))
    return Problem(config, layers, budget, 0.9, power_constant_mw=1.0)


def _brute(problem: Problem) -> float:
    best = math.inf
    spaces = [layer.space for layer in problem.layers]
    for combo in itertools.product(*(range(s.size) for s in spaces)):
        lengths = {int(s.lengths[o]) for s, o in zip(spaces, combo, strict=True)}
        if problem.architecture == "stream" and len(lengths) > 1:
            continue
        luts = sum(layer.luts.upper[o] for layer, o in zip(problem.layers, combo, strict=True))
        power = 1.0 + sum(layer.power.upper[o] for layer, o in zip(problem.layers, combo, strict=True))
        latency = latency_cycles(apply_options(problem.config, spaces, combo))
        b = problem.budget
        if (b.luts and luts > b.luts) or (b.power_mw and power > b.power_mw) or (
            b.latency_cycles and latency > b.latency_cycles
        ):
            continue
        best = min(best, sum(layer.error[o] for layer, o in zip(problem.layers, combo, strict=True)))
    return best


budgets = st.builds(
    Budget,
    luts=st.one_of(st.none(), st.floats(150, 900)),
    power_mw=st.one_of(st.none(), st.floats(3, 12)),
    latency_cycles=st.one_of(st.none(), st.integers(20, 2000).map(float)),
)


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["stream", "regenerate"]), budgets, st.booleans())
def test_selection_equals_brute_force(architecture: str, budget: Budget, cost_rows: bool) -> None:
    problem = _problem(architecture, budget, cost_rows)
    solution = solve(problem)
    expected = _brute(problem)
    if solution is None:
        assert expected == math.inf
    else:
        assert solution.objective == pytest.approx(expected, rel=1e-12, abs=1e-15)


@functools.cache
def _free_totals(architecture: str) -> dict[str, float]:
    """Totals of the unconstrained optimum: budgets below them are likely to bind."""
    totals = select(_problem(architecture, Budget(luts=1e9))).totals
    return {key: float(totals[key]["upper_bound"]) for key in ("luts", "power_mw", "latency_cycles")}


fractions = st.one_of(st.none(), st.floats(0.3, 1.2))


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["stream", "regenerate"]), fractions, fractions, fractions)
def test_binding_budgets_are_those_whose_removal_helps(
    architecture: str, luts: float | None, power: float | None, latency: float | None
) -> None:
    """The warm binding test agrees with re-solving from scratch without each budget."""
    free = _free_totals(architecture)
    limits = {"luts": luts, "power_mw": power, "latency_cycles": latency}
    if all(v is None for v in limits.values()):
        return
    budget = Budget(**{k: (None if f is None else f * free[k]) for k, f in limits.items()})
    problem = _problem(architecture, budget, cost_rows=True)
    selection = select(problem)
    if not selection.feasible:
        return
    expected = []
    for key, _ in budget.items():
        relaxed = solve(_problem(architecture, budget, cost_rows=True), budget.without(key))
        assert relaxed is not None
        if relaxed.objective < selection.objective - 1e-12 * max(1.0, selection.objective):
            expected.append(key)
    assert selection.binding == expected


@settings(max_examples=10, deadline=None)
@given(st.sampled_from(["stream", "regenerate"]), budgets, st.floats(0.5, 1.0), st.floats(1.0, 2.0))
def test_tighter_budget_never_breaks_looser_never_worse(
    architecture: str, budget: Budget, tighter: float, looser: float
) -> None:
    def scaled(factor: float) -> Budget:
        return Budget(**{k: v * factor for k, v in budget.items()})

    base = solve(_problem(architecture, budget, cost_rows=True))
    tight_problem = _problem(architecture, scaled(tighter), cost_rows=True)
    tight = select(tight_problem)
    loose = solve(_problem(architecture, scaled(looser), cost_rows=True))
    if tight.feasible:
        for key, limit in scaled(tighter).items():
            assert tight.totals[key]["upper_bound"] <= limit * (1 + 1e-9)
        assert base is not None and base.objective <= tight.objective + 1e-12
    if base is not None:
        assert loose is not None and loose.objective <= base.objective + 1e-12


@pytest.mark.parametrize("architecture", ["stream", "regenerate"])
def test_report_totals_binding_and_determinism(architecture: str) -> None:
    loose = select(_problem(architecture, Budget(luts=1e6)))
    assert loose.feasible and not loose.binding
    tight_budget = Budget(luts=loose.totals["luts"]["upper_bound"] * 0.8, latency_cycles=5000)
    first = select(_problem(architecture, tight_budget))
    second = select(_problem(architecture, tight_budget))
    assert first.feasible
    assert [c.knobs for c in first.choices] == [c.knobs for c in second.choices]
    assert first.totals["luts"]["upper_bound"] <= tight_budget.luts
    assert "luts" in first.binding and first.slack["luts"] >= 0
    assert first.objective >= loose.objective
    assert first.totals["latency_cycles"]["value"] == latency_cycles(first.config)


@pytest.mark.parametrize("architecture", ["stream", "regenerate"])
def test_infeasible_report_names_increase_and_layers(architecture: str) -> None:
    problem = _problem(architecture, Budget(luts=20, latency_cycles=10_000))
    selection = select(problem)
    assert not selection.feasible
    needed = selection.increases["luts"]
    assert needed is not None and needed > 0
    relaxed = select(_problem(architecture, Budget(luts=20 + needed * 1.000001, latency_cycles=10_000)))
    assert relaxed.feasible
    assert any(item["budget"] == "luts" and item["layer"] for item in selection.unplaceable)


def test_power_budget_without_power_model_is_a_budget_error() -> None:
    problem = _problem("stream", Budget(power_mw=5))
    problem.power_constant_mw = None
    problem.power_reason = "no clock frequency given"
    with pytest.raises(BudgetError, match="clock"):
        select(problem)


@pytest.mark.parametrize(
    "text",
    ["luts", "luts=abc", "bogus=3", "luts=-1", "luts=1,luts=2", "", "power_mw=nan"],
)
def test_bad_budget_strings(text: str) -> None:
    with pytest.raises(BudgetError):
        Budget.parse(text)


def test_budget_parse() -> None:
    assert Budget.parse("luts=5_000, power_mw=2.5,latency_cycles=300") == Budget(5000, 2.5, 300)


@pytest.mark.parametrize("architecture", ["stream", "regenerate"])
def test_latency_increase_is_the_smallest_that_fits(architecture: str) -> None:
    budget = Budget(luts=_free_totals(architecture)["luts"] * 0.8, latency_cycles=10)
    selection = select(_problem(architecture, budget))
    assert not selection.feasible
    needed = selection.increases["latency_cycles"]
    assert needed is not None and needed > 0
    enough = select(_problem(architecture, budget.with_value("latency_cycles", 10 + needed)))
    assert enough.feasible
    short = select(_problem(architecture, budget.with_value("latency_cycles", 10 + needed - 1)))
    assert not short.feasible
