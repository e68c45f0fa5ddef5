"""``synth`` and ``collect-synthesis`` give one build the same resources (one map per target)."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.flow import collect
from stochflow.flow.cache import DirectoryCache
from stochflow.flow.synth import NEXTPNR_REPORT, STAT_JSON, build
from test_flow_synth_helpers import generated_design


@pytest.mark.slow
@pytest.mark.parametrize("target", ["ice40-up5k", "ecp5-25k"])
def test_synth_and_collect_agree_on_one_build(tmp_path: Path, target: str) -> None:
    design = generated_design(tmp_path / "design")
    result = build(design, target, 24.0, tmp_path / "build", cache=DirectoryCache(tmp_path / "c"))
    assert result.ok and result.observation is not None
    collected = collect.build_observation(
        design,
        result.artefact("yosys_stat"),
        None,
        result.artefact("nextpnr_report"),
        accuracy_score=1.0,
        target=target,
    )
    assert result.artefact("yosys_stat").name == STAT_JSON
    assert result.artefact("nextpnr_report").name == NEXTPNR_REPORT
    assert collected.resources == result.observation.resources
    resources = result.observation.resources
    # Every resource counted after placement states its capacity; on ECP5 that is ff too.
    assert resources["ff"].available is not None and resources["lut"].available is not None
    if target == "ecp5-25k":
        assert resources["ff"].source == resources["lut"].source == "tool:nextpnr"
    else:
        assert resources["ff"].source == resources["lut"].source == "tool:yosys"
    assert collected.build is not None and collected.build.clock_mhz == 24.0
    assert result.observation.build is not None and result.observation.build.clock_mhz == 24.0
