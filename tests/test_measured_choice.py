"""A design measured within the budget answers when the predicted bounds allow nothing better."""

from __future__ import annotations

from stochflow.flow.measured_choice import best_measured, measured_within
from stochflow.hdl.config import NetworkConfig
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.learned import observation_config
from stochflow.surrogate.optimise import TargetInfo, build_problem, fit_models
from stochflow.surrogate.selector import Budget, select
from stochflow.surrogate.space import SpaceLimits
from test_surrogate_helpers import recorded_observations

TARGET = TargetInfo("ice40-up5k", "ice40")


def _problem_around(observed, budget: Budget):  # type: ignore[no-untyped-def]
    """The observed design's network with a space of its own knobs (seed variants included)."""
    config, _ = observation_config(observed)
    layer = config.layers[0]
    config = NetworkConfig(config.name, tuple(lay.with_knobs(threshold=None) for lay in config.layers),
                           config.architecture)
    limits = SpaceLimits(
        lengths=(layer.bitstream_length, 2 * layer.bitstream_length),
        precisions=(layer.precision,), rng_kinds=(layer.weight_rng.kind,),
        widths=(layer.weight_rng.width,), lfsr_seeds=1,
        decorrelations=(layer.weight_rng.decorrelation,), foldings=(layer.folding,),
        weight_memories=(layer.weight_memory,),
    )
    problem = build_problem(config, fit_models(TARGET), budget, StreamErrorModel(), limits=limits)
    for options in problem.layers:  # the space's only source becomes the observed one
        variants = tuple(type(v)(layer.weight_rng, layer.input_rng) for v in options.space.variants)
        object.__setattr__(options.space, "variants", variants)
    return problem


def _single_layer(observations):  # type: ignore[no-untyped-def]
    return next(o for o in observations if len(o.layers) == 1)


def test_the_measured_design_answers_where_the_bound_finds_nothing() -> None:
    observed = _single_layer(recorded_observations("ice40"))
    luts = observed.resources["lut"].used
    budget = Budget(luts=luts)  # the measurement fits exactly; its upper bound cannot
    problem = _problem_around(observed, budget)
    assert not select(problem).feasible
    measured = best_measured(problem, [observed], TARGET)
    assert measured is not None and measured.observation is observed
    selection = measured.selection
    assert selection.feasible and selection.binding == []
    assert selection.totals["luts"] == {"value": luts, "interval": [luts, luts], "upper_bound": luts,
                                        "source": "tool:yosys", "design_hash": observed.design_hash}
    assert selection.slack["luts"] == 0.0


def test_a_design_measured_over_the_budget_or_unmeasured_in_it_never_answers() -> None:
    observed = _single_layer(recorded_observations("ice40"))
    luts = observed.resources["lut"].used
    assert not measured_within(observed, Budget(luts=luts - 1))
    assert best_measured(_problem_around(observed, Budget(luts=luts - 1)), [observed], TARGET) is None
    # No power was measured: a power budget cannot be shown to hold.
    assert observed.power is None and not measured_within(observed, Budget(luts=luts, power_mw=1e6))
    other = TargetInfo("ice40-hx8k", "ice40")
    assert best_measured(_problem_around(observed, Budget(luts=luts)), [observed], other) is None
