"""What the loop builds next: the selector's choice with measured-away designs excluded.

The selector (:mod:`stochflow.surrogate.selector`) solves one multiple-choice knapsack
exactly, but it cannot be told "not this design". The loop needs that: a design that
was built and broke a budget, did not fit, or failed its simulation must never be the
answer again, even where the refitted model still predicts it inside the budget.

A design is identified here by its *cost key*: per layer, ``(L, p, random-source cost
class, folding, ROM in block RAM)``. Designs with the same cost key differ only in seeds (or polynomials
with as many taps), which the selector already treats as the same hardware, so
excluding a design excludes its whole cost class. The k best designs outside an
excluded set are found by Murty's partition: when the optimum is excluded, the
problem splits into sub-problems (layers before ``i`` fixed to the optimum's keys,
layer ``i`` forbidden its key), each solved exactly, best first.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from stochflow.hdl.config import LayerConfig, NetworkConfig
from stochflow.surrogate.learned import Prediction
from stochflow.surrogate.selector import Budget, LayerOptions, Problem, Selection, select, solve
from stochflow.surrogate.space import RngVariant, encodes_input

__all__ = [
    "DesignKey",
    "Pick",
    "best_excluding",
    "design_key",
    "drop_options",
    "locate_config",
    "materialise",
    "median_problem",
    "relaxed_problem",
    "restricted",
]

LayerKey = tuple[Any, ...]
DesignKey = tuple[LayerKey, ...]
# Sub-problems solved at most per search (each is one exact solve).
MAX_SOLVES = 64


def layer_key(layer: LayerConfig, encoder: bool) -> LayerKey:
    """``(L, p, cost class of the random sources, folding, ROM in block RAM)`` of one
    configured layer."""
    variant = RngVariant(layer.weight_rng, layer.input_rng if encoder else None)
    return (layer.bitstream_length, layer.precision, variant.cost_class, layer.folding,
            layer.weight_memory == "block")


def design_key(config: NetworkConfig) -> DesignKey:
    """The cost key of a whole network: one :func:`layer_key` per layer."""
    return tuple(
        layer_key(layer, encodes_input(config.architecture, index))
        for index, layer in enumerate(config.layers)
    )


def _option_key_ids(layer: LayerOptions) -> tuple[np.ndarray, list[LayerKey]]:
    """Per option an integer id of its layer key, and the keys by id."""
    space = layer.space
    keys: dict[LayerKey, int] = {}
    ids = np.empty(space.size, dtype=np.int64)
    classes = [variant.cost_class for variant in space.variants]
    for option in range(space.size):
        key = (int(space.lengths[option]), int(space.precisions[option]),
               classes[int(space.variant[option])], int(space.folding[option]),
               bool(space.memory_mask[option]))
        ids[option] = keys.setdefault(key, len(keys))
    by_id = [key for key, _ in sorted(keys.items(), key=lambda item: item[1])]
    return ids, by_id


def _with_layers(problem: Problem, layers: list[LayerOptions], budget: Budget | None = None) -> Problem:
    return Problem(problem.config, layers, budget or problem.budget, problem.confidence,
                   problem.power_constant_mw, problem.power_reason, problem.architecture)


def restricted(problem: Problem, keep: Sequence[np.ndarray]) -> Problem:
    """The problem with only the options ``keep[k]`` (indices) of each layer."""
    return _with_layers(problem, [layer.subset(np.asarray(options, dtype=np.int64))
                                  for layer, options in zip(problem.layers, keep, strict=True)])


def drop_options(problem: Problem, masks: Sequence[np.ndarray]) -> Problem:
    """The problem without the options whose mask entry is False (per layer)."""
    return restricted(problem, [np.flatnonzero(mask) for mask in masks])


def _median(prediction: Prediction | None) -> Prediction | None:
    if prediction is None:
        return None
    return replace(prediction, upper=prediction.value)


def median_problem(problem: Problem) -> Problem:
    """Resources constrained on their median prediction instead of the upper bound."""
    layers = [replace(layer, luts=_median(layer.luts), ffs=_median(layer.ffs),
                      power=_median(layer.power))
              for layer in problem.layers]
    return _with_layers(problem, layers)


def relaxed_problem(problem: Problem, key: str, limit: float) -> Problem:
    """The same problem with one budget raised to ``limit``."""
    return _with_layers(problem, list(problem.layers), problem.budget.with_value(key, limit))


@dataclass(frozen=True)
class Pick:
    """One design the search found: its options (indices into the problem) and cost key."""

    options: tuple[int, ...]
    key: DesignKey
    objective: float


def best_excluding(
    problem: Problem, excluded: Iterable[DesignKey] = (), *, count: int = 1,
    max_solves: int = MAX_SOLVES,
) -> list[Pick]:
    """Up to ``count`` best designs (distinct cost keys) whose key is not ``excluded``.

    Best first by the selector's objective. Empty when no design outside ``excluded``
    meets the problem's budget (or the search used ``max_solves`` exact solves).
    """
    forbidden = set(excluded)
    identified = [_option_key_ids(layer) for layer in problem.layers]
    ids = [pair[0] for pair in identified]
    keys_by_id = [pair[1] for pair in identified]
    order = itertools.count()
    heap: list[tuple[float, int, tuple[int, ...], list[np.ndarray]]] = []
    solves = 0

    def push(masks: list[np.ndarray]) -> None:
        nonlocal solves
        if any(not mask.any() for mask in masks) or solves >= max_solves:
            return
        solves += 1
        indices = [np.flatnonzero(mask) for mask in masks]
        solution = solve(restricted(problem, indices))
        if solution is None:
            return
        options = tuple(int(index[o]) for index, o in zip(indices, solution.options, strict=True))
        heapq.heappush(heap, (float(solution.objective), next(order), options, masks))

    push([np.ones(layer.space.size, dtype=bool) for layer in problem.layers])
    picks: list[Pick] = []
    while heap and len(picks) < count:
        objective, _, options, masks = heapq.heappop(heap)
        chosen_ids = [int(ids[k][o]) for k, o in enumerate(options)]
        key = tuple(keys_by_id[k][i] for k, i in enumerate(chosen_ids))
        if key not in forbidden:
            picks.append(Pick(options, key, objective))
            if len(picks) >= count:
                break
        for position in range(len(options)):
            split = [mask.copy() for mask in masks]
            for k in range(position):
                split[k] &= ids[k] == chosen_ids[k]
            split[position] &= ids[position] != chosen_ids[position]
            push(split)
    return picks


def materialise(problem: Problem, options: Sequence[int]) -> Selection:
    """The selector's full answer (knobs, totals, config) for one option per layer."""
    single = restricted(problem, [np.array([o], dtype=np.int64) for o in options])
    single = _with_layers(single, [replace(layer, luts=_bounded(layer.luts), ffs=_bounded(layer.ffs),
                                           power=_bounded(layer.power))
                                   for layer in single.layers])
    unconstrained = _with_layers(single, list(single.layers), _loosest(single))
    selection = select(unconstrained)
    selection.budget = problem.budget
    selection.slack = {key: limit - float(selection.totals[key]["upper_bound"])
                       for key, limit in problem.budget.items() if key in selection.totals}
    selection.binding = []
    selection.feasible = all(
        slack >= -1e-9 * max(1.0, abs(limit))
        for (key, limit) in problem.budget.items()
        for slack in [selection.slack.get(key, 0.0)]
    )
    return selection


# A far extrapolation of a log-space model can predict 1e30 LUTs, which the solver (HiGHS)
# cannot use as a cost (it reads such numbers as infinite, and loses the budget's scale
# long before); figures are capped at an obviously absurd but finite size here.
_FINITE = 1e9


def _bounded(prediction: Prediction | None) -> Prediction | None:
    if prediction is None:
        return None
    return replace(prediction, value=np.minimum(prediction.value, _FINITE),
                   low=np.minimum(prediction.low, _FINITE),
                   high=np.minimum(prediction.high, _FINITE),
                   upper=np.minimum(prediction.upper, _FINITE))


def _loosest(single: Problem) -> Budget:
    """A budget the one design of ``single`` meets with room (each key kept, so that its
    model is still required): twice its own bounds."""
    limits: dict[str, float] = {}
    for key, _ in single.budget.items():
        if key == "luts":
            total = sum(float(layer.luts.upper[0]) for layer in single.layers)
        elif key == "power_mw":
            total = sum(float(layer.power.upper[0]) for layer in single.layers  # type: ignore[union-attr]
                        ) + float(single.power_constant_mw or 0.0)
        else:
            total = float(sum(int(layer.space.lengths[0]) * int(layer.space.fold_cycles[0])
                              for layer in single.layers)) * 2 + 64
        limits[key] = 2.0 * total + 1.0
    return Budget(**limits)


def locate_config(problem: Problem, config: NetworkConfig) -> list[int] | None:
    """The option of each layer of ``problem`` that is ``config``'s layer (None: not in it)."""
    options = []
    for layer, knobs in zip(problem.layers, config.layers, strict=True):
        space = layer.space
        variant = RngVariant(knobs.weight_rng, knobs.input_rng if space.encoder else None)
        ids = [i for i, v in enumerate(space.variants) if v == variant]
        match = np.flatnonzero((space.lengths == knobs.bitstream_length)
                               & (space.precisions == knobs.precision)
                               & (space.folding == knobs.folding)
                               & (space.memory_mask == (knobs.weight_memory == "block"))
                               & np.isin(space.variant, ids))
        if len(match) == 0:
            return None
        options.append(int(match[0]))
    return options
