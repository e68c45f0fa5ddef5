"""The loop's decisions without tools: stop logic, budget by measurement, exclusions."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stochflow.flow.commands.optimise import target_info
from stochflow.flow.errors import UsageError
from stochflow.flow.loop import compact_choice, next_step
from stochflow.flow.loop_models import fit_loop_models
from stochflow.flow.loop_plots import pareto_front
from stochflow.flow.loop_select import (
    best_excluding,
    design_key,
    materialise,
    median_problem,
)
from stochflow.flow.loop_state import check_budget, load_journal, write_journal
from stochflow.hdl.spec import load_spec
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.optimise import build_problem
from stochflow.surrogate.selector import Budget, select
from stochflow.surrogate.space import SpaceLimits

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "examples" / "tiny" / "network.toml"


# --------------------------------------------------------------------------- stop logic


@pytest.mark.parametrize(
    ("state", "chosen", "previous", "used", "expected"),
    [
        ("within", "a", "a", 1, "converged"),  # measured, within budget, chosen twice
        ("within", "a", "b", 1, "confirm"),  # measured and within, but the choice moved
        ("within", "a", None, 8, "confirm"),  # max builds never stops a measured answer
        ("unmeasured", "a", "a", 0, "build"),
        ("unmeasured", "a", None, 8, "max_builds"),
        ("unmeasured", "a", None, 7, "build"),
        ("pending", "a", "a", 1, "await_vendor"),
    ],
)
def test_next_step(state: str, chosen: str, previous: str | None, used: int, expected: str) -> None:
    assert next_step(state=state, chosen=chosen, previous=previous, builds_used=used,
                     max_builds=8) == expected


# --------------------------------------------------------------------------- budget by measurement


def _measured(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"luts": 4000.0, "power_mw": 2.5, "latency_cycles": 3000,
                               "fmax_mhz": 15.0, "timing_met": True}
    base.update(changes)
    return base


def test_budget_met_by_measurement() -> None:
    verdict = check_budget(_measured(), Budget(luts=4500, power_mw=3, latency_cycles=4000), 12.0)
    assert verdict.within and verdict.violations == ()
    assert verdict.use["luts"] == pytest.approx(4000 / 4500)


def test_budget_broken_names_the_metric_and_the_excess() -> None:
    verdict = check_budget(_measured(power_mw=3.3), Budget(luts=4500, power_mw=3), 12.0)
    assert not verdict.within
    assert len(verdict.violations) == 1 and verdict.violations[0].startswith("power_mw 3.3 > 3")
    assert "+10.0%" in verdict.violations[0]


def test_unmeasured_budgeted_metric_is_a_violation() -> None:
    verdict = check_budget(_measured(power_mw=None), Budget(power_mw=3), 12.0,
                           {"power_mw": "the design uses 23 bram"})
    assert not verdict.within
    assert verdict.violations == ("power_mw not measured (the design uses 23 bram)",)


def test_missed_clock_is_a_violation() -> None:
    verdict = check_budget(_measured(timing_met=False, fmax_mhz=10.5), Budget(luts=4500), 12.0)
    assert not verdict.within
    assert "Fmax 10.5 MHz misses the 12 MHz clock" in verdict.violations[0]


# --------------------------------------------------------------------------- exclusions


@pytest.fixture(scope="module")
def tiny_problem():  # type: ignore[no-untyped-def]
    spec = load_spec(TINY)
    models = fit_loop_models(target_info("ice40-up5k"), [], clock_mhz=12.0)
    limits = SpaceLimits(lengths=(16, 32, 64), precisions=(3, 4, 6), rng_kinds=("lfsr", "vdc"),
                         widths=(8,), lfsr_seeds=2)
    budget = Budget(luts=400, power_mw=2.5, latency_cycles=2000)
    return build_problem(spec.config, models, budget, StreamErrorModel(), limits=limits)


def test_first_pick_is_the_selectors_optimum(tiny_problem) -> None:  # type: ignore[no-untyped-def]
    optimum = select(tiny_problem)
    picks = best_excluding(tiny_problem)
    assert optimum.feasible and optimum.config is not None
    assert picks[0].key == design_key(optimum.config)
    assert picks[0].objective == pytest.approx(optimum.objective)


def test_excluded_designs_are_never_picked(tiny_problem) -> None:  # type: ignore[no-untyped-def]
    ranked = best_excluding(tiny_problem, count=4)
    assert len({pick.key for pick in ranked}) == 4
    objectives = [pick.objective for pick in ranked]
    assert objectives == sorted(objectives)
    after = best_excluding(tiny_problem, {ranked[0].key, ranked[1].key})
    assert after[0].key == ranked[2].key
    # A materialised pick is the same design (same cost key) and meets the budget.
    selection = materialise(tiny_problem, after[0].options)
    assert selection.config is not None and design_key(selection.config) == after[0].key
    assert selection.feasible


def test_median_problem_is_looser(tiny_problem) -> None:  # type: ignore[no-untyped-def]
    median = median_problem(tiny_problem)
    for tight, loose in zip(tiny_problem.layers, median.layers, strict=True):
        assert np.all(loose.luts.upper <= tight.luts.upper)
        np.testing.assert_array_equal(loose.luts.upper, tight.luts.value)


def test_compact_choice_names_every_layer() -> None:
    spec = load_spec(TINY)
    assert compact_choice(spec.config) == "hidden 64/lfsr8/p6/f9 · output 64/lfsr8/p6/f5"


# --------------------------------------------------------------------------- journal, plots


def test_resume_refuses_another_loop(tmp_path: Path) -> None:
    path = tmp_path / "loop.json"
    identity = {"network": "tiny", "budget": {"luts": 400.0}, "clock_mhz": 12.0}
    write_journal(path, identity, [{"round": 1}], None)
    assert load_journal(path, identity) == [{"round": 1}]
    with pytest.raises(UsageError, match="budget"):
        load_journal(path, {**identity, "budget": {"luts": 300.0}})
    with pytest.raises(UsageError, match="nothing to resume"):
        load_journal(tmp_path / "missing.json", identity)
    assert json.loads(path.read_text())["schema"] == "stochflow.loop-journal/1"


def test_pareto_front_keeps_only_undominated_points() -> None:
    points = [(100, 0.9), (120, 0.85), (150, 0.95), (90, 0.7), (150, 0.93)]
    assert pareto_front(points) == [(90, 0.7), (100, 0.9), (150, 0.95)]


def test_fit_constraint_joins_the_lut_column(tiny_problem) -> None:  # type: ignore[no-untyped-def]
    from stochflow.flow.loop_models import FitConstraint, _CellsFromLuts, apply_fit_constraint
    from stochflow.surrogate.features import layer_feature_matrix
    from stochflow.surrogate.learned import ConstantResidual

    models = fit_loop_models(target_info("ice40-up5k"), [], clock_mhz=12.0)
    cells = _CellsFromLuts("lc", models.prior, ConstantResidual(float(np.log(1.3)), 0.05),  # type: ignore[arg-type]
                           0.05, 0.9, 2)
    fit = FitConstraint("lc", 1000.0, cells)
    constrained = apply_fit_constraint(tiny_problem, fit)
    assert constrained.budget == tiny_problem.budget  # the LUT budget (400) is kept
    for before, after in zip(tiny_problem.layers, constrained.layers, strict=True):
        bound = cells.predict(layer_feature_matrix(before.space), tiny_problem.confidence).upper
        np.testing.assert_allclose(after.luts.upper, np.maximum(before.luts.upper, bound * 400 / 1000))
        np.testing.assert_array_equal(after.luts.value, before.luts.value)  # reported LUTs unchanged
