"""Budgeted network-level selection: one option per layer, exact.

The choice is a multiple-choice knapsack. LUTs and power add up over layers (power on
top of the options-independent static + clock-tree power). Latency adds up in the
``regenerate`` architecture (``Σ L_k·F_k + 1``); in ``stream`` every layer shares ``L``
and the latency ``(L + N - 1)·max_k F_k + 1`` depends on the largest fold, so the
problem is solved once per shared ``L`` with every option's ``F`` capped at the largest
value the latency budget allows — exactly equivalent to the max-F constraint.

Resources are constrained on their upper confidence bound at ``confidence`` (one-sided,
per layer; summing per-layer bounds is conservative for positively correlated errors).
The objective is the sum of per-layer error proxies (see :mod:`.accuracy`).

Pruning, all of it exact: once per layer and sub-problem, whatever the budget, options of
equal predicted cost keep only the most accurate and options dominated in error and every
constrainable cost are dropped (:meth:`LayerOptions.front`); per budget, options that
cannot fit even with every other layer at its cheapest are dropped and the rest pruned
again on the budgeted costs. Sub-problems are solved in order of their LP bound and
skipped when it cannot beat the best found; each knapsack is solved exactly (LP,
reduced-cost fixing, HiGHS MILP; :mod:`.knapsack`). Identical inputs give identical
outputs (options are put in a canonical order).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stochflow.hdl.config import NetworkConfig

from .knapsack import pareto_mask, relax, solve_mckp
from .learned import Prediction
from .space import LayerSpace, apply_options

BUDGET_KEYS: tuple[str, ...] = ("luts", "power_mw", "latency_cycles")


class BudgetError(ValueError):
    """A budget string or value that cannot be used."""


@dataclass(frozen=True)
class Budget:
    """Upper limits; ``None`` means unconstrained."""

    luts: float | None = None
    power_mw: float | None = None
    latency_cycles: float | None = None

    def __post_init__(self) -> None:
        for key in BUDGET_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise BudgetError(f"budget {key}: expected a finite number, got {value!r}")
            if value <= 0:
                raise BudgetError(f"budget {key}: expected a positive limit, got {value!r}")

    @classmethod
    def parse(cls, text: str) -> Budget:
        """``luts=5000,power_mw=20,latency_cycles=3000`` (any subset, at least one)."""
        values: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, raw = part.partition("=")
            key = key.strip()
            if not sep:
                raise BudgetError(f"budget {part!r}: expected KEY=VALUE with KEY one of {', '.join(BUDGET_KEYS)}")
            if key not in BUDGET_KEYS:
                raise BudgetError(f"budget key {key!r}: expected one of {', '.join(BUDGET_KEYS)}")
            if key in values:
                raise BudgetError(f"budget key {key!r} given twice")
            try:
                values[key] = float(raw.replace("_", ""))
            except ValueError:
                raise BudgetError(f"budget {key}: expected a number, got {raw.strip()!r}") from None
        if not values:
            raise BudgetError(f"budget: expected at least one of {', '.join(BUDGET_KEYS)}=VALUE")
        return cls(**values)

    def items(self) -> list[tuple[str, float]]:
        return [(k, float(getattr(self, k))) for k in BUDGET_KEYS if getattr(self, k) is not None]

    def without(self, key: str) -> Budget:
        return Budget(**{k: (None if k == key else getattr(self, k)) for k in BUDGET_KEYS})

    def with_value(self, key: str, value: float) -> Budget:
        return Budget(**{k: (value if k == key else getattr(self, k)) for k in BUDGET_KEYS})

    def to_json(self) -> dict[str, float]:
        return dict(self.items())


@dataclass
class LayerOptions:
    """One layer's options with their error proxy and predicted metrics (arrays).

    ``cost_row`` (optional) gives options with identical predicted costs the same number
    (see :func:`.features.cost_rows`); it only speeds up pruning. Treat an instance as
    immutable once solved (pruning results are cached on it): to change errors, build a
    new one (``dataclasses.replace``).
    """

    space: LayerSpace
    error: np.ndarray
    error_source: str
    luts: Prediction
    ffs: Prediction
    power: Prediction | None  # dynamic power of the layer (mW); None: no power model
    cost_row: np.ndarray | None = None
    cost_class: np.ndarray = field(init=False)
    _fronts: dict[tuple[int | None, str], np.ndarray] = field(
        init=False, default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        classes = {}
        per_variant = np.array(
            [classes.setdefault(v.cost_class, len(classes)) for v in self.space.variants]
        )
        self.cost_class = per_variant[self.space.variant]

    @functools.cached_property
    def latency_term(self) -> np.ndarray:
        return (self.space.lengths * self.space.fold_cycles).astype(float)

    @functools.cached_property
    def lengths(self) -> frozenset[int]:
        """The bitstream lengths this layer's options use."""
        return frozenset(np.unique(self.space.lengths).tolist())

    def subset(self, keep: np.ndarray) -> LayerOptions:
        def cut(p: Prediction | None) -> Prediction | None:
            return None if p is None else p.take(keep)

        return LayerOptions(
            self.space.subset(keep), self.error[keep], self.error_source,
            cut(self.luts), cut(self.ffs), cut(self.power),  # type: ignore[arg-type]
            None if self.cost_row is None else self.cost_row[keep],
        )

    def front(self, length: int | None, architecture: str) -> np.ndarray:
        """Options of one sub-problem that no other option of it dominates, whatever the budget.

        Dominance is over the error and every cost a budget can constrain: LUT and power
        upper bounds and the latency column (``F`` in ``stream``, where the budget caps it;
        ``L·F`` in ``regenerate``, where it adds up). A dominated option is never needed:
        its dominator is allowed under every budget and fold cap that allow it, and costs no
        more in any column. Cached; sorted by error, then costs, then option index.
        """
        key = (length, architecture)
        cached = self._fronts.get(key)
        if cached is not None:
            return cached
        space = self.space
        options = np.arange(space.size) if length is None else np.flatnonzero(space.lengths == length)
        options = options[self._most_accurate_per_cost_row[options]]
        columns = self._dominance_columns(architecture)
        if len(options):
            options = options[pareto_mask(np.column_stack([c[options] for c in columns]))]
            options = options[np.lexsort((options, *(c[options] for c in reversed(columns))))]
        self._fronts[key] = options
        return options

    @functools.cached_property
    def _most_accurate_per_cost_row(self) -> np.ndarray:
        """Mask: per cost row, its most accurate option (lowest index on ties); all if unknown.

        Options of one row cost the same, so the others are dominated; dropping them first
        makes the Pareto filter cheaper.
        """
        mask = np.ones(self.space.size, dtype=bool)
        if self.cost_row is not None and self.space.size:
            order = np.argsort(self.cost_row, kind="stable")
            rows, error = self.cost_row[order], self.error[order]
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            lowest = np.repeat(np.minimum.reduceat(error, starts), np.diff(np.r_[starts, len(rows)]))
            at_lowest = np.flatnonzero(error == lowest)
            group = np.searchsorted(starts, at_lowest, side="right")
            first = at_lowest[np.r_[True, group[1:] != group[:-1]]]
            mask[:] = False
            mask[order[first]] = True
        return mask

    def _dominance_columns(self, architecture: str) -> list[np.ndarray]:
        latency = self.space.fold_cycles if architecture == "stream" else self.latency_term
        columns = [self.error, self.luts.upper]
        if self.power is not None:
            columns.append(self.power.upper)
        columns.append(np.asarray(latency, dtype=float))
        return columns


@dataclass
class Problem:
    """Everything the selector needs; built by :mod:`.optimise` from a network and target."""

    config: NetworkConfig | None  # None: independent layers (the compatibility API)
    layers: list[LayerOptions]
    budget: Budget
    confidence: float
    power_constant_mw: float | None = None  # static + clock tree; None: no power model
    power_reason: str | None = None  # why power is unavailable
    architecture: str = ""

    def __post_init__(self) -> None:
        if not self.architecture:
            if self.config is None:
                raise ValueError("a problem without a network config needs its architecture")
            self.architecture = self.config.architecture


@dataclass(frozen=True)
class LayerChoice:
    index: int
    name: str
    option: int  # index into the layer's (unpruned) LayerOptions
    knobs: dict[str, Any]
    error: float
    error_source: str
    metrics: dict[str, dict[str, Any]]  # luts / ffs / power_mw / latency_cycles → figure


@dataclass
class Selection:
    """The selector's answer and everything the report explains."""

    feasible: bool
    budget: Budget
    confidence: float
    architecture: str
    choices: list[LayerChoice] = field(default_factory=list)
    config: NetworkConfig | None = None
    objective: float | None = None
    totals: dict[str, dict[str, Any]] = field(default_factory=dict)
    binding: list[str] = field(default_factory=list)
    slack: dict[str, float] = field(default_factory=dict)
    increases: dict[str, float | None] = field(default_factory=dict)  # infeasible only
    unplaceable: list[dict[str, Any]] = field(default_factory=list)  # infeasible only
    pruned_sizes: list[int] = field(default_factory=list)
    option_counts: list[int] = field(default_factory=list)


# -- reduction ---------------------------------------------------------------------------


def _resource_columns(problem: Problem, layer: LayerOptions, budget: Budget) -> list[tuple[str, np.ndarray]]:
    """Additive cost columns constrained by ``budget`` (upper bounds for resources)."""
    columns: list[tuple[str, np.ndarray]] = []
    if budget.luts is not None:
        columns.append(("luts", layer.luts.upper))
    if budget.power_mw is not None:
        if layer.power is None:
            raise BudgetError(f"a power budget needs a power model: {problem.power_reason}")
        columns.append(("power_mw", layer.power.upper))
    if budget.latency_cycles is not None and problem.architecture == "regenerate":
        columns.append(("latency_cycles", layer.latency_term))
    return columns


def _capacities(problem: Problem, budget: Budget) -> list[tuple[str, float]]:
    caps = []
    if budget.luts is not None:
        caps.append(("luts", budget.luts))
    if budget.power_mw is not None:
        assert problem.power_constant_mw is not None
        caps.append(("power_mw", budget.power_mw - problem.power_constant_mw))
    if budget.latency_cycles is not None and problem.architecture == "regenerate":
        caps.append(("latency_cycles", budget.latency_cycles - 1))
    return caps


def stream_fold_cap(problem: Problem, length: int, budget: Budget) -> float:
    """Largest ``max_k F_k`` the latency budget allows at shared length ``length``."""
    if budget.latency_cycles is None:
        return math.inf
    periods = length + len(problem.layers) - 1
    return math.floor((budget.latency_cycles - 1) / periods)


@dataclass(frozen=True)
class Subproblem:
    """Options sharing one ``L`` (stream) or all options (regenerate), ``F`` capped."""

    length: int | None
    fold_cap: float  # largest F the latency budget allows (stream); inf otherwise


def subproblems(problem: Problem, budget: Budget) -> list[Subproblem]:
    """One sub-problem per shared ``L`` in the stream architecture, else one over everything."""
    if problem.architecture != "stream":
        return [Subproblem(None, math.inf)]
    lengths = sorted(frozenset.intersection(*(layer.lengths for layer in problem.layers)))
    return [Subproblem(length, stream_fold_cap(problem, length, budget)) for length in lengths]


def candidates(problem: Problem, sub: Subproblem) -> list[np.ndarray] | None:
    """Per layer: the sub-problem's budget-independent front under its fold cap (None: empty)."""
    out = []
    for layer in problem.layers:
        front = layer.front(sub.length, problem.architecture)
        if math.isfinite(sub.fold_cap):
            front = front[layer.space.fold_cycles[front] <= sub.fold_cap]
        if not len(front):
            return None
        out.append(front)
    return out


@dataclass
class _Reduced:
    keep: list[np.ndarray]  # per layer: option indices (into LayerOptions) kept, canonical order
    objectives: list[np.ndarray]
    costs: list[np.ndarray]
    capacities: np.ndarray
    names: list[str]


def _reduce(
    problem: Problem,
    budget: Budget,
    allowed: Sequence[np.ndarray],
    objective: str | None = None,
    exceed: str | None = None,
) -> _Reduced:
    """The knapsack of one sub-problem: drop options that cannot fit, then dominated ones.

    ``allowed`` are candidate option indices per layer (a superset of some optimal choice's
    options, e.g. :func:`candidates`); ``objective`` is a metric key to minimise instead of
    the error (for :func:`min_resource`). ``exceed`` adds the constraint "the total of this
    budget's metric reaches the problem's limit" (see :func:`binds`).
    """
    caps = _capacities(problem, budget)
    names = [name for name, _ in caps]
    capacities = np.array([value for _, value in caps], dtype=float)
    columns = [
        np.column_stack([c[allowed[k]] for _, c in _resource_columns(problem, layer, budget)])
        if caps else np.zeros((len(allowed[k]), 0))
        for k, layer in enumerate(problem.layers)
    ]
    # Options that do not fit even with every other layer at its cheapest.
    minimum = np.array([
        columns[k].min(axis=0) if len(allowed[k]) else np.full(len(caps), np.inf)
        for k in range(len(problem.layers))
    ]).reshape(len(problem.layers), len(caps))
    total_min = minimum.sum(axis=0)
    keep, objectives, costs = [], [], []
    for k, layer in enumerate(problem.layers):
        options, cost = allowed[k], columns[k]
        if len(caps) and len(options):
            room = capacities - (total_min - minimum[k])
            fits = np.all(cost <= room + 1e-9 * np.maximum(1.0, np.abs(room)), axis=1)
            options, cost = options[fits], cost[fits]
        value = layer.error[options] if objective is None else _metric_column(problem, layer, objective)[options]
        if len(options) > 1:
            front = pareto_mask(np.column_stack([value, cost]))
            options, cost, value = options[front], cost[front], value[front]
        # Canonical order: by objective, then costs, then option index.
        order = np.lexsort((options, *cost.T[::-1], value))
        keep.append(options[order])
        objectives.append(value[order])
        costs.append(cost[order])
    if exceed is not None:
        limit = float(getattr(problem.budget, exceed)) - _constant(problem, exceed)
        for k, layer in enumerate(problem.layers):
            reverse = -_metric_column(problem, layer, exceed)[keep[k]]
            costs[k] = np.column_stack([costs[k], reverse])
        capacities = np.append(capacities, -limit)
        names.append(f"exceed:{exceed}")
    return _Reduced(keep, objectives, costs, capacities, names)


# -- solving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Solution:
    options: tuple[int, ...]
    objective: float
    sizes: tuple[int, ...]


def _below(value: float, cutoff: float) -> bool:
    """``value`` is strictly better than ``cutoff`` (relative tolerance for float sums)."""
    if math.isinf(cutoff):
        return value < cutoff
    return value < cutoff - 1e-12 * max(1.0, abs(cutoff))


def _search(
    problem: Problem, budget: Budget, cutoff: float, first: bool, exceed: str | None = None
) -> _Solution | None:
    """The best choice strictly better than ``cutoff`` (or the first one found if ``first``).

    Bounds, cheapest first: every layer at its most accurate candidate (skips a
    sub-problem before it is even pruned), then the LP relaxation of each pruned knapsack.
    Sub-problems are solved in order of their LP bound, so the first solved is usually the
    best and the others are skipped because their bound cannot beat it. The LP solution
    also feeds the exact solve (incumbent and reduced-cost fixing).
    """
    bounded = []
    for position, sub in enumerate(subproblems(problem, budget)):
        allowed = candidates(problem, sub)
        if allowed is None:
            continue
        quick = float(sum(layer.error[a[0]] for layer, a in zip(problem.layers, allowed, strict=True)))
        if not _below(quick, cutoff):
            continue
        reduced = _reduce(problem, budget, allowed, exceed=exceed)
        if any(len(o) == 0 for o in reduced.objectives):
            continue
        relaxation = relax(reduced.objectives, reduced.costs, reduced.capacities)
        if _below(relaxation.bound, cutoff):
            bounded.append((relaxation.bound, position, reduced, relaxation))
    best: _Solution | None = None
    for bound, _, reduced, relaxation in sorted(bounded, key=lambda item: item[:2]):
        if not _below(bound, cutoff):
            break
        result = solve_mckp(reduced.objectives, reduced.costs, reduced.capacities, relaxation,
                            cutoff=cutoff, any_better=first)
        if result.choice is None or not _below(result.objective, cutoff):
            continue
        options = tuple(int(reduced.keep[k][i]) for k, i in enumerate(result.choice))
        best = _Solution(options, result.objective, tuple(len(o) for o in reduced.objectives))
        if first:
            return best
        cutoff = result.objective
    return best


def solve(problem: Problem, budget: Budget | None = None) -> _Solution | None:
    """The exact optimum under ``budget`` (default: the problem's), or None if infeasible."""
    return _search(problem, budget or problem.budget, math.inf, first=False)


def binds(problem: Problem, key: str, solution: _Solution) -> bool:
    """Would dropping budget ``key`` allow a strictly better choice than ``solution`` (optimal)?

    Any such choice must break budget ``key`` (else it would beat the optimum), and so
    must the choice made of its options' dominators, which the pruned sub-problems keep;
    so for an additive budget the search adds "total ≥ limit", which usually lets the LP
    bound settle the question. Stream latency (not additive) is searched without it.
    """
    budget = problem.budget.without(key)
    additive = not (key == "latency_cycles" and problem.architecture == "stream")
    found = _search(problem, budget, solution.objective, first=True, exceed=key if additive else None)
    return found is not None


def min_resource(problem: Problem, key: str) -> float | None:
    """Smallest achievable total of one budgeted resource with the other budgets kept.

    Used to report the smallest single-budget increase that makes a problem feasible.
    """
    budget = problem.budget.without(key)
    if key == "latency_cycles" and problem.architecture == "stream":
        return _min_stream_latency(problem, budget)
    best: float | None = None
    for sub in subproblems(problem, budget):
        allowed = candidates(problem, sub)
        if allowed is None:
            continue
        reduced = _reduce(problem, budget, allowed, objective=key)
        result = solve_mckp(reduced.objectives, reduced.costs, reduced.capacities)
        if result.choice is None:
            continue
        total = result.objective + _constant(problem, key)
        best = total if best is None else min(best, total)
    return best


def _min_stream_latency(problem: Problem, budget: Budget) -> float | None:
    """Fewest cycles of a stream network that meets the other budgets.

    Per shared ``L`` (shortest first), the smallest feasible ``max F`` by bisection over
    the fold-cycle levels: a larger cap only allows more options, so feasibility is
    monotone in it.
    """
    best: float | None = None
    levels = sorted(set().union(*(set(np.unique(lay.space.fold_cycles).tolist()) for lay in problem.layers)))
    periods = len(problem.layers) - 1

    def feasible(length: int, cap: int) -> bool:
        allowed = candidates(problem, Subproblem(length, cap))
        if allowed is None:
            return False
        reduced = _reduce(problem, budget, allowed)
        return solve_mckp(reduced.objectives, reduced.costs, reduced.capacities).choice is not None

    for sub in subproblems(problem, budget):
        assert sub.length is not None
        if best is not None and (sub.length + periods) * levels[0] + 1 >= best:
            break
        if not feasible(sub.length, levels[-1]):
            continue
        low, high = 0, len(levels) - 1  # levels[high] is feasible
        while low < high:
            middle = (low + high) // 2
            if feasible(sub.length, levels[middle]):
                high = middle
            else:
                low = middle + 1
        latency = (sub.length + periods) * levels[high] + 1
        best = latency if best is None else min(best, latency)
    return best


def _metric_column(problem: Problem, layer: LayerOptions, key: str) -> np.ndarray:
    if key == "luts":
        return layer.luts.upper
    if key == "power_mw":
        assert layer.power is not None
        return layer.power.upper
    return layer.latency_term


def _constant(problem: Problem, key: str) -> float:
    if key == "power_mw":
        return float(problem.power_constant_mw or 0.0)
    if key == "latency_cycles":
        return 1.0
    return 0.0


def _stream_latency(problem: Problem, options: Sequence[int]) -> int:
    length = int(problem.layers[0].space.lengths[options[0]])
    folds = max(int(layer.space.fold_cycles[o]) for layer, o in zip(problem.layers, options, strict=True))
    return (length + len(problem.layers) - 1) * folds + 1


def _latency(problem: Problem, options: Sequence[int]) -> int:
    if problem.architecture == "stream":
        return _stream_latency(problem, options)
    return int(sum(layer.latency_term[o] for layer, o in zip(problem.layers, options, strict=True))) + 1


# -- the answer --------------------------------------------------------------------------


def _figure(prediction: Prediction, option: int) -> dict[str, Any]:
    return {
        "value": float(prediction.value[option]),
        "interval": [float(prediction.low[option]), float(prediction.high[option])],
        "upper_bound": float(prediction.upper[option]),
        "source": prediction.source,
    }


def _layer_knobs(space: LayerSpace, option: int) -> dict[str, Any]:
    config = space.config(option)
    weight = config.weight_rng
    return {
        "bitstream_length": config.bitstream_length,
        "precision": config.precision,
        "rng": weight.kind,
        "rng_width": weight.width,
        "polynomial": weight.polynomial,
        "seed": weight.seed,
        "structure": weight.structure if weight.kind == "lfsr" else None,
        "decorrelation": weight.decorrelation,
        "folding": config.folding,
        "fold_cycles": config.fold_cycles,
        "weight_memory": config.weight_memory,
        "weight_rng": weight.to_dict(),
        "input_rng": config.input_rng.to_dict() if config.input_rng is not None else None,
    }


def _choice(problem: Problem, k: int, option: int, interval_confidence: float) -> LayerChoice:
    layer = problem.layers[k]
    metrics = {"luts": _figure(layer.luts, option), "ffs": _figure(layer.ffs, option)}
    if layer.power is not None:
        metrics["power_mw"] = _figure(layer.power, option)
    term = int(layer.latency_term[option])
    metrics["latency_cycles"] = {
        "value": term, "interval": [term, term], "upper_bound": term,
        "source": "exact:architecture",
        "meaning": "L·F, this layer's share (regenerate) or its own bit-periods (stream)",
    }
    return LayerChoice(
        index=k,
        name=layer.space.layer.name,
        option=option,
        knobs=_layer_knobs(layer.space, option),
        error=float(layer.error[option]),
        error_source=layer.error_source,
        metrics=metrics,
    )


def _totals(problem: Problem, options: Sequence[int]) -> dict[str, dict[str, Any]]:
    layers = problem.layers
    pairs = list(zip(layers, options, strict=True))
    totals: dict[str, dict[str, Any]] = {
        "luts": {
            "value": float(sum(lay.luts.value[o] for lay, o in pairs)),
            "interval": [float(sum(lay.luts.low[o] for lay, o in pairs)), float(sum(lay.luts.high[o] for lay, o in pairs))],
            "upper_bound": float(sum(lay.luts.upper[o] for lay, o in pairs)),
            "source": layers[0].luts.source,
        },
        "ffs": {
            "value": float(sum(lay.ffs.value[o] for lay, o in pairs)),
            "interval": [float(sum(lay.ffs.low[o] for lay, o in pairs)), float(sum(lay.ffs.high[o] for lay, o in pairs))],
            "upper_bound": float(sum(lay.ffs.upper[o] for lay, o in pairs)),
            "source": layers[0].ffs.source,
        },
    }
    if all(lay.power is not None for lay in layers) and problem.power_constant_mw is not None:
        base = problem.power_constant_mw
        totals["power_mw"] = {
            "value": base + float(sum(lay.power.value[o] for lay, o in pairs)),  # type: ignore[union-attr]
            "interval": [base + float(sum(lay.power.low[o] for lay, o in pairs)),  # type: ignore[union-attr]
                         base + float(sum(lay.power.high[o] for lay, o in pairs))],  # type: ignore[union-attr]
            "upper_bound": base + float(sum(lay.power.upper[o] for lay, o in pairs)),  # type: ignore[union-attr]
            "source": layers[0].power.source,  # type: ignore[union-attr]
        }
    latency = _latency(problem, options)
    totals["latency_cycles"] = {"value": latency, "interval": [latency, latency],
                                "upper_bound": latency, "source": "exact:architecture"}
    return totals


def _used(totals: dict[str, dict[str, Any]], key: str) -> float:
    return float(totals[key]["upper_bound"])


def _unplaceable(problem: Problem) -> list[dict[str, Any]]:
    """Layers whose cheapest option alone exceeds what a budget leaves for them."""
    out: list[dict[str, Any]] = []
    budget = problem.budget
    for key, limit in budget.items():
        if key == "latency_cycles" and problem.architecture == "stream":
            # The fewest cycles any shared L allows: every layer at F = 1.
            lengths = [int(lay.space.lengths.min()) for lay in problem.layers]
            minimum = (max(lengths) + len(problem.layers) - 1) + 1
            if minimum > limit:
                out.append({"layer": None, "budget": key, "needs": minimum, "room": limit,
                            "why": "even L = min and no folding exceed the latency budget"})
            continue
        columns = [_metric_column(problem, lay, key) for lay in problem.layers]
        mins = np.array([c.min() for c in columns])
        constant = _constant(problem, key)
        for k, layer in enumerate(problem.layers):
            room = limit - constant - (mins.sum() - mins[k])
            if mins[k] > room:
                out.append({
                    "layer": layer.space.layer.name, "budget": key, "needs": float(mins[k]),
                    "room": float(room),
                    "why": f"its cheapest option needs {mins[k]:.4g} {key} but only {room:.4g} is left "
                           "with every other layer at its cheapest",
                })
    return out


def select(problem: Problem, interval_confidence: float = 0.9) -> Selection:
    """Solve, then explain: totals vs budgets, binding budgets, or why it is infeasible."""
    budget = problem.budget
    for key, _ in budget.items():
        if key == "power_mw" and problem.power_constant_mw is None:
            raise BudgetError(f"a power budget needs a power model: {problem.power_reason}")
    solution = solve(problem)
    selection = Selection(
        feasible=solution is not None,
        budget=budget,
        confidence=problem.confidence,
        architecture=problem.architecture,
        option_counts=[layer.space.size for layer in problem.layers],
    )
    if solution is None:
        selection.unplaceable = _unplaceable(problem)
        for key, limit in budget.items():
            needed = min_resource(problem, key)
            selection.increases[key] = None if needed is None else max(0.0, needed - limit)
        return selection
    options = solution.options
    selection.pruned_sizes = list(solution.sizes)
    selection.objective = solution.objective
    selection.choices = [_choice(problem, k, o, interval_confidence) for k, o in enumerate(options)]
    if problem.config is not None:
        selection.config = apply_options(problem.config, [lay.space for lay in problem.layers], options)
    selection.totals = _totals(problem, options)
    for key, limit in budget.items():
        selection.slack[key] = limit - _used(selection.totals, key)
        if binds(problem, key, solution):
            selection.binding.append(key)
    return selection
