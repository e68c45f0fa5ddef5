"""Every number in every cost table has a source; missing figures are absent, not zero."""

from __future__ import annotations

import pytest
from stochflow.sim.cost_models import (
    COMPONENTS,
    STILLMAKER_ENERGY_COEFFICIENTS,
    Citation,
    CostEntry,
    CostModelError,
    cost_model_names,
    get_cost_model,
    scaling_derivation,
    stillmaker_energy_factor,
)


@pytest.mark.parametrize("name", cost_model_names())
def test_every_figure_cites_its_source(name: str) -> None:
    model = get_cost_model(name)
    assert model.regime and model.title
    for component in COMPONENTS:
        entry = model.entry(component)
        if entry.pj is not None:
            assert entry.citation is not None, f"{name}.{component} has no citation"
            assert entry.citation.reference and entry.citation.locator
            assert entry.basis in {"measured", "simulated", "estimate", "derived"}
            assert entry.includes and entry.derivation
        else:
            assert entry.included_in or entry.missing, f"{name}.{component}: silent gap"
            assert entry.pj != 0
    for power in (model.static, model.dynamic):
        assert power is None or power.source
    if model.static is None:
        assert model.static_note


def test_a_figure_without_a_source_is_refused() -> None:
    with pytest.raises(CostModelError, match="no citation"):
        CostEntry("synaptic", 1.0, "an accumulate")
    with pytest.raises(CostModelError, match="say why"):
        CostEntry("routing", None, "a packet")
    with pytest.raises(CostModelError, match="locator"):
        Citation("Someone 2020", "")


def test_stillmaker_coefficients_reproduce_the_corrigendum() -> None:
    # The authors' corrigendum evaluates HP32 at 0.9 V: 0.8367·0.81 − 0.4341·0.9 + 0.1701
    assert stillmaker_energy_factor(32, 0.9) == pytest.approx(0.4571, abs=5e-5)
    assert set(STILLMAKER_ENERGY_COEFFICIENTS) >= {45, 32, 20, 7}


def test_28nm_is_interpolated_between_32_and_20() -> None:
    f32, f20 = stillmaker_energy_factor(32, 0.9), stillmaker_energy_factor(20, 0.9)
    assert stillmaker_energy_factor(28, 0.9) == pytest.approx(f32 + (4 / 12) * (f20 - f32))
    factor, how = scaling_derivation(28)
    assert "interpolated" in how
    assert factor == pytest.approx(
        stillmaker_energy_factor(28, 0.9) / stillmaker_energy_factor(45, 0.9)
    )
    with pytest.raises(CostModelError, match="no Stillmaker"):
        stillmaker_energy_factor(5, 0.9)
