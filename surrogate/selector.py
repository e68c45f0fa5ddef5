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

Before solving, per layer: options that cannot fit even with every other layer at its
cheapest are dropped, seeds (and polynomials with equal tap counts) collapse to the most
accurate one of each cost class, and dominated options are pruned. The MILP (HiGHS) is
exact; identical inputs give identical outputs (options are put in a canonical order).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from stochflow.hdl.config import NetworkConfig

from .knapsack import lp_bound, pareto_mask, solve_mckp
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
    """One layer's options with their error proxy and predicted metrics (arrays)."""

    space: LayerSpace
    error: np.ndarray
    error_source: str
    luts: Prediction
    ffs: Prediction
    power: Prediction | None  # dynamic power of the layer (mW); None: no power model
    cost_class: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        classes = {}
        per_variant = np.array(
            [classes.setdefault(v.cost_class, len(classes)) for v in self.space.variants]
        )
        self.cost_class = per_variant[self.space.variant]

    @property
    def latency_term(self) -> np.ndarray:
        return (self.space.lengths * self.space.fold_cycles).astype(float)

    def subset(self, keep: np.ndarray) -> LayerOptions:
        def cut(p: Prediction | None) -> Prediction | None:
            if p is None:
                return None
            return Prediction(p.value[keep], p.low[keep], p.high[keep], p.upper[keep], p.source)

        out = LayerOptions(
            self.space.subset(keep), self.error[keep], self.error_source,
            cut(self.luts), cut(self.ffs), cut(self.power),  # type: ignore[arg-type]
        )
        return out


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


@dataclass
class _Reduced:
    keep: list[np.ndarray]  # per layer: option indices (into LayerOptions) kept, canonical order
    objectives: list[np.ndarray]
    costs: list[np.ndarray]
    capacities: np.ndarray
    names: list[str]


def _representatives(layer: LayerOptions) -> np.ndarray:
    """Mask of the most accurate option of each (L, p, cost class, folding) group.

    Options in one group cost the same (cost depends on the source's kind, width,
    structure, decorrelation and tap count, not on its seed), so the others are dominated.
    Computed once per layer; a group is allowed or not as a whole (L and F are in the key).
    """
    cached = getattr(layer, "_representatives", None)
    if cached is not None:
        return cached
    space = layer.space
    keys = (space.lengths, space.precisions, layer.cost_class, space.folding)
    order = np.lexsort((np.arange(space.size), layer.error, *keys[::-1]))
    stacked = np.stack([k[order] for k in keys], axis=1)
    first = np.ones(space.size, dtype=bool)
    first[1:] = np.any(stacked[1:] != stacked[:-1], axis=1)
    mask = np.zeros(space.size, dtype=bool)
    mask[order[first]] = True
    layer._representatives = mask  # type: ignore[attr-defined]
    return mask


def _reduce(problem: Problem, budget: Budget, allowed: Sequence[np.ndarray]) -> _Reduced:
    caps = _capacities(problem, budget)
    names = [name for name, _ in caps]
    capacities = np.array([value for _, value in caps], dtype=float)
    columns = [
        np.column_stack([c for _, c in _resource_columns(problem, layer, budget)])
        if caps else np.zeros((layer.space.size, 0))
        for layer in problem.layers
    ]
    # Options that do not fit even with every other layer at its cheapest.
    minimum = np.array([
        columns[k][allowed[k]].min(axis=0) if len(allowed[k]) else np.full(len(caps), np.inf)
        for k in range(len(problem.layers))
    ]).reshape(len(problem.layers), len(caps))
    total_min = minimum.sum(axis=0)
    keep, objectives, costs = [], [], []
    for k, layer in enumerate(problem.layers):
        candidates = allowed[k]
        if len(caps) and len(candidates):
            room = capacities - (total_min - minimum[k])
            fits = np.all(columns[k][candidates] <= room + 1e-9 * np.maximum(1.0, np.abs(room)), axis=1)
            candidates = candidates[fits]
        candidates = candidates[_representatives(layer)[candidates]]
        points = np.column_stack([layer.error[candidates], columns[k][candidates]])
        candidates = candidates[pareto_mask(points)] if len(candidates) else candidates
        # Canonical order: by error, then costs, then option index.
        order = np.lexsort((candidates, *columns[k][candidates].T[::-1], layer.error[candidates]))
        candidates = candidates[order]
        keep.append(candidates)
        objectives.append(layer.error[candidates])
        costs.append(columns[k][candidates])
    return _Reduced(keep, objectives, costs, capacities, names)


# -- solving -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Solution:
    options: tuple[int, ...]
    objective: float
    sizes: tuple[int, ...]


def _allowed_sets(problem: Problem, budget: Budget) -> list[tuple[int | None, list[np.ndarray]]]:
    """Sub-problems: one per shared L (stream), else one over every option."""
    if problem.architecture != "stream":
        return [(None, [np.arange(layer.space.size) for layer in problem.layers])]
    lengths = sorted(set.intersection(*(set(layer.space.lengths.tolist()) for layer in problem.layers)))
    out = []
    for length in lengths:
        cap = stream_fold_cap(problem, length, budget)
        out.append((length, [
            np.flatnonzero((layer.space.lengths == length) & (layer.space.fold_cycles <= cap))
            for layer in problem.layers
        ]))
    return out


def solve(problem: Problem, budget: Budget | None = None) -> _Solution | None:
    """The exact optimum under ``budget`` (default: the problem's), or None if infeasible."""
    budget = budget or problem.budget
    subproblems = _allowed_sets(problem, budget)
    # Bounds, cheapest first: every layer at its most accurate allowed option, then the LP
    # relaxation of the pruned sub-problem. Sub-problems run in order of the first bound
    # and are skipped as soon as a bound shows they cannot beat the best found.
    quick = []
    for position, (_, allowed) in enumerate(subproblems):
        if any(len(a) == 0 for a in allowed):
            continue
        bound = sum(float(problem.layers[k].error[a].min()) for k, a in enumerate(allowed))
        quick.append((bound, position))
    best: _Solution | None = None

    def beaten(bound: float) -> bool:
        return best is not None and bound >= best.objective - 1e-12 * max(1.0, abs(best.objective))

    for bound, position in sorted(quick):
        if beaten(bound):
            break
        reduced = _reduce(problem, budget, subproblems[position][1])
        if best is not None and beaten(lp_bound(reduced.objectives, reduced.costs, reduced.capacities)):
            continue
        result = solve_mckp(reduced.objectives, reduced.costs, reduced.capacities)
        if result.choice is None:
            continue
        options = tuple(int(reduced.keep[k][i]) for k, i in enumerate(result.choice))
        candidate = _Solution(options, result.objective, tuple(len(o) for o in reduced.objectives))
        if best is None or candidate.objective < best.objective - 1e-15:
            best = candidate
    return best


def min_resource(problem: Problem, key: str) -> float | None:
    """Smallest achievable total of one budgeted resource with the other budgets kept.

    Used to report the smallest single-budget increase that makes a problem feasible.
    """
    budget = problem.budget.without(key)
    if key == "latency_cycles" and problem.architecture == "stream":
        return _min_stream_latency(problem, budget)
    best: float | None = None
    for _, allowed in _allowed_sets(problem, budget):
        if any(len(a) == 0 for a in allowed):
            continue
        reduced = _reduce(problem, budget, allowed)
        target = [_metric_column(problem, layer, key)[reduced.keep[k]]
                  for k, layer in enumerate(problem.layers)]
        result = solve_mckp(target, reduced.costs, reduced.capacities)
        if result.choice is None:
            continue
        total = result.objective + _constant(problem, key)
        best = total if best is None else min(best, total)
    return best


def _min_stream_latency(problem: Problem, budget: Budget) -> float | None:
    """Fewest cycles of a stream network that meets the other budgets (scan L, then max F)."""
    best: float | None = None
    lengths = sorted(set.intersection(*(set(lay.space.lengths.tolist()) for lay in problem.layers)))
    levels = sorted(set().union(*(set(lay.space.fold_cycles.tolist()) for lay in problem.layers)))
    for length in lengths:
        for cap in levels:
            latency = (length + len(problem.layers) - 1) * cap + 1
            if best is not None and latency >= best:
                break
            allowed = [np.flatnonzero((lay.space.lengths == length) & (lay.space.fold_cycles <= cap))
                       for lay in problem.layers]
            if any(len(a) == 0 for a in allowed):
                continue
            reduced = _reduce(problem, budget, allowed)
            if solve_mckp(reduced.objectives, reduced.costs, reduced.capacities).choice is not None:
                best = latency
                break
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
        relaxed = solve(problem, budget.without(key))
        if relaxed is not None and relaxed.objective < solution.objective - 1e-12 * max(1.0, abs(solution.objective)):
            selection.binding.append(key)
    return selection
