"""The digits example on iCE40 UP5K: every budget level gets its own choice, within budget."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.commands.optimise import target_info
from stochflow.hdl.spec import load_spec
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.optimise import build_problem, choice_document, fit_models
from stochflow.surrogate.selector import Budget, Problem, Selection, select
from stochflow.surrogate.space import SpaceLimits

DIGITS = Path(__file__).resolve().parents[1] / "examples" / "digits" / "network.toml"
# A small but varied space: the levels below pick different lengths, precisions and sources.
LIMITS = SpaceLimits(
    lengths=(16, 64, 256, 1024, 4096), precisions=(2, 4, 6, 8, 10, 12),
    rng_kinds=("lfsr", "sobol", "vdc"), widths=(8, 16), lfsr_seeds=1,
    decorrelations=("shared", "permuted"),
)
LUT_LEVELS = (3000.0, 3250.0, 3500.0)
CLOCK_MHZ = 12.0


@pytest.fixture(scope="module")
def problem() -> Problem:
    spec = load_spec(DIGITS)
    target = target_info("ice40-up5k")
    models = fit_models(target, clock_mhz=CLOCK_MHZ)
    return build_problem(spec.config, models, Budget(luts=LUT_LEVELS[-1]), StreamErrorModel(),
                         limits=LIMITS)


def _solve(problem: Problem, budget: Budget) -> Selection:
    selection = select(replace(problem, budget=budget))
    assert selection.feasible, budget
    for key, limit in budget.items():
        assert selection.totals[key]["upper_bound"] <= limit * (1 + 1e-9), key
    return selection


def _knobs(selection: Selection) -> list[tuple]:
    return [tuple(sorted((k, str(v)) for k, v in choice.knobs.items())) for choice in selection.choices]


def test_lut_levels_give_different_choices_within_budget(problem: Problem) -> None:
    selections = [_solve(problem, Budget(luts=level)) for level in LUT_LEVELS]
    assert len({tuple(_knobs(s)) for s in selections}) == len(LUT_LEVELS)
    errors = [s.objective for s in selections]
    assert errors == sorted(errors, reverse=True)  # a looser budget is never worse
    assert all("luts" in s.binding for s in selections)


def test_latency_and_power_levels_change_the_choice(problem: Problem) -> None:
    loose = _solve(problem, Budget(luts=LUT_LEVELS[-1]))
    latency = loose.totals["latency_cycles"]["value"]
    power = loose.totals["power_mw"]["upper_bound"]
    seen = {tuple(_knobs(loose))}
    for budget in (
        Budget(luts=LUT_LEVELS[-1], latency_cycles=latency / 2),
        Budget(luts=LUT_LEVELS[-1], latency_cycles=latency / 8),
        Budget(luts=LUT_LEVELS[-1], power_mw=power - 0.05 * (power - problem.power_constant_mw)),
    ):
        selection = _solve(problem, budget)
        assert selection.binding, budget
        assert selection.objective >= loose.objective
        seen.add(tuple(_knobs(selection)))
    assert len(seen) == 4


def test_optimise_cli_writes_the_levels_choice(tmp_path: Path, problem: Problem) -> None:
    """The command users run: same choice as the library, LUT budget met, accuracy measured."""
    space = tmp_path / "space.toml"
    space.write_text(
        "[space]\nlengths = [16, 64, 256, 1024, 4096]\nprecisions = [2, 4, 6, 8, 10, 12]\n"
        'rng_kinds = ["lfsr", "sobol", "vdc"]\nwidths = [8, 16]\nlfsr_seeds = 1\n'
        'decorrelations = ["shared", "permuted"]\n'
    )
    out = tmp_path / "choice.json"
    assert main(["optimise", str(DIGITS), "--target", "ice40-up5k", "--budget", "luts=4500",
                 "--space", str(space), "--out", str(out)]) == 0
    written = json.loads(out.read_text())
    expected = choice_document(_solve(problem, Budget(luts=4500.0)), target_info("ice40-up5k"), "digits")
    assert written["totals"]["luts"]["upper_bound"] <= 4500
    assert [layer["bitstream_length"] for layer in written["layers"]] == [
        layer["bitstream_length"] for layer in expected["layers"]]
    assert [layer["precision"] for layer in written["layers"]] == [
        layer["precision"] for layer in expected["layers"]]
    assert written["accuracy"]["source"] == "sim:golden"
