"""Target registry: devices, exact tool commands, resource naming, cited static power."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cache import DirectoryCache
from stochflow.flow.errors import FlowError, UsageError
from stochflow.flow.synth import device_capacity
from stochflow.flow.targets import (
    TARGETS,
    get_target,
    known_targets,
    open_targets,
    vendor_targets,
)
from stochflow.surrogate.observation import CANONICAL_RESOURCES

OPEN = {
    "ice40-up5k": ("ice40", "iCE40UP5K-SG48", ("--up5k", "--package", "sg48")),
    "ice40-hx8k": ("ice40", "iCE40HX8K-CT256", ("--hx8k", "--package", "ct256")),
    "ecp5-25k": ("ecp5", "LFE5U-25F-CABGA381", ("--25k", "--package", "CABGA381")),
    "ecp5-85k": ("ecp5", "LFE5U-85F-CABGA381", ("--85k", "--package", "CABGA381")),
}


def test_registry_holds_open_and_vendor_targets() -> None:
    assert set(OPEN) <= set(known_targets())
    for name, (family, part, device_args) in OPEN.items():
        target = get_target(name)
        assert (target.family, target.part, target.nextpnr_device_args) == (family, part, device_args)
        assert target.is_open
    vendors = {target.name: target for target in vendor_targets()}
    assert vendors["xc7a35t"].part == "xc7a35ticsg324-1L" and vendors["xc7a35t"].flow == "vivado"
    assert vendors["5csema5"].part == "5CSEMA5F31C6" and vendors["5csema5"].flow == "quartus"
    assert vendors["5csema5"].vendor_family == "Cyclone V"
    assert {t.name for t in open_targets()} | set(vendors) == set(TARGETS)


def test_unknown_target_lists_every_known_one() -> None:
    with pytest.raises(UsageError) as caught:
        get_target("ice40-up9k")
    message = str(caught.value)
    assert "ice40-up9k" in message
    for name in known_targets():
        assert name in message


@pytest.mark.parametrize("name", sorted(OPEN))
def test_open_commands_are_argument_lists_with_relative_paths(name: str) -> None:
    target = get_target(name)
    script = target.yosys_script(("a.v", "b.v"), "sc_board", "netlist.json", "stat.json", abc9=True)
    assert script.splitlines() == [
        "read_verilog a.v",
        "read_verilog b.v",
        f"{target.synth_command} -abc9 -top sc_board -json netlist.json",
        "tee -q -o stat.json stat -json",
    ]
    assert "-abc9" not in target.yosys_script(("a.v",), "t", "n.json", "s.json", abc9=False)
    args = target.nextpnr_args("netlist.json", "routed.x", "report.json", 24.0, seed=3)
    assert args[: len(OPEN[name][2])] == OPEN[name][2]
    def after(flag: str) -> str:
        return args[args.index(flag) + 1]

    assert after("--json") == "netlist.json"
    assert after("--freq") == "24"
    assert after("--report") == "report.json"
    assert after("--seed") == "3"
    assert after(str(target.routed_flag)) == "routed.x"
    assert "--timing-allow-fail" in args  # a missed clock is measured, not fatal
    assert all("/" not in arg for arg in args)
    assert target.packer_args("routed.x", "bitstream.y")[-1] == "bitstream.y"


def test_resource_maps_name_canonical_resources_only() -> None:
    for target in TARGETS.values():
        mapping = target.resources
        for canonical in (*mapping.cells.values(), *mapping.sites.values()):
            assert canonical in CANONICAL_RESOURCES, (target.name, canonical)
        assert set(mapping.available_from) <= set(mapping.cells.values())
        assert target.lut_meaning
    ice40 = get_target("ice40-up5k").resources
    assert ice40.canonical_cell("SB_DFFESR") == "ff"
    assert ice40.canonical_cell("SB_LUT4") == "lut"
    assert ice40.canonical_cell("SB_CARRY") == "carry"
    assert ice40.canonical_cell("SB_IO") is None
    assert ice40.sites["ICESTORM_LC"] == "lc" and ice40.sites["ICESTORM_RAM"] == "bram"
    ecp5 = get_target("ecp5-25k").resources
    assert ecp5.sites["TRELLIS_COMB"] == "lut" and ecp5.sites["TRELLIS_FF"] == "ff"
    assert ecp5.sites["DP16KD"] == "bram" and ecp5.sites["MULT18X18D"] == "dsp"


def test_static_power_is_cited_or_absent() -> None:
    up5k = get_target("ice40-up5k")
    assert up5k.static_power is not None
    assert "85.6" in up5k.static_power.source and "DS1056" in up5k.static_power.source
    assert up5k.static_power_w() == pytest.approx(85.6e-6 * 1.2)
    for name in ("ice40-hx8k", "ecp5-25k", "ecp5-85k", "xc7a35t", "5csema5"):
        target = get_target(name)
        assert target.static_power is None
        with pytest.raises(FlowError, match="no cited static-power figure"):
            target.static_power_w()


def test_vendor_targets_have_no_open_commands() -> None:
    with pytest.raises(FlowError, match="vivado"):
        get_target("xc7a35t").nextpnr_args("n", "r", "p", 10.0)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "site", "canonical"), [("ice40-up5k", "ICESTORM_LC", "lc"), ("ecp5-25k", "TRELLIS_COMB", "lut")])
def test_device_capacity_comes_from_nextpnr(tmp_path: Path, name: str, site: str, canonical: str) -> None:
    cache = DirectoryCache(tmp_path / "cache")
    capacity = device_capacity(name, tmp_path / "probe", cache=cache)
    report = json.loads((tmp_path / "probe" / "probe-report.json").read_text())
    assert capacity[canonical] == report["utilization"][site]["available"]
    assert {"lut", "ff", "bram", "io"} <= set(capacity)
    assert all(isinstance(value, int) and value > 0 for value in capacity.values())
    if name.startswith("ice40"):  # one LUT4, one DFF and one carry per logic cell
        assert capacity["lut"] == capacity["ff"] == capacity["carry"] == capacity["lc"]
    (tmp_path / "probe" / "probe-report.json").unlink()
    assert device_capacity(name, tmp_path / "probe", cache=cache) == capacity  # remembered
    assert not (tmp_path / "probe" / "probe-report.json").exists()
