"""collect-synthesis rules that need no report text: design manifest, accuracy, latency,
energy, slots, device/version agreement and resource-name mapping."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow import collect
from stochflow.flow.errors import UsageError
from stochflow.flow.report_resources import DEFAULT_MAPS, canonical_from_report, merge_resources
from stochflow.flow.targets import TARGETS
from stochflow.parsers.report import Power, Report, ResourceCount
from stochflow.surrogate.observation import CANONICAL_RESOURCES, Figure, PowerFigure
from test_evidence_helpers import small_network, write_design

# -- design.json ----------------------------------------------------------------------


def test_design_identity_comes_from_the_real_manifest(tmp_path: Path) -> None:
    path = write_design(tmp_path)
    identity = collect.read_design(path)
    network = small_network()
    assert identity.design_hash == network.design_hash
    assert identity.name == "tiny" and identity.architecture == "stream"
    assert identity.layers == tuple(network.layer_record(i) for i in range(2))
    assert identity.latency_cycles == json.loads(path.read_text())["latency_cycles"]
    assert identity.tops == ("sc_network", "sc_board")
    assert identity.sha256 is not None and len(identity.sha256) == 64


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"schema": "stochflow.design/0"}, "schema: expected 'stochflow.design/1'"),
        ({"design_hash": "XYZ"}, "design_hash: expected a sha256"),
        ({"architecture": "ring"}, "architecture: expected stream or regenerate"),
        ({"layers": []}, "layers: expected a non-empty list"),
        ({"latency_cycles": 2.5}, "latency_cycles: expected a whole number"),
        ({"latency_cycles": True}, "latency_cycles: expected a whole number"),
    ],
)
def test_bad_design_manifest_names_file_and_field(
    tmp_path: Path, changes: dict, words: str
) -> None:
    path = write_design(tmp_path, **changes)
    with pytest.raises(UsageError, match=f"{path}: {words}"):
        collect.read_design(path)


def test_unreadable_design_manifest(tmp_path: Path) -> None:
    (tmp_path / "design.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"design\.json:1:2: design manifest is not valid JSON"):
        collect.read_design(tmp_path / "design.json")
    with pytest.raises(UsageError, match="cannot read design manifest"):
        collect.read_design(tmp_path / "absent.json")


# -- accuracy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "fraction"),
    [
        ("0.9375", 0.9375),
        ("1", 1.0),
        ("0", 0.0),
        ("93.75", 0.9375),
        ("93.75%", 0.9375),
        ("0.5%", 0.005),
        ("100", 1.0),
        (0.25, 0.25),
        (87, 0.87),
    ],
)
def test_accuracy_rule(given: str | float, fraction: float) -> None:
    assert collect.parse_accuracy(given) == pytest.approx(fraction)


@pytest.mark.parametrize("given", ["-0.1", "100.5", "101%", "nan", "inf", "high", ""])
def test_accuracy_out_of_range(given: str) -> None:
    with pytest.raises(UsageError, match="--accuracy-score"):
        collect.parse_accuracy(given)


# -- latency --------------------------------------------------------------------------


def _identity(tmp_path: Path, **changes: object) -> collect.DesignIdentity:
    return collect.read_design(write_design(tmp_path, **changes))


def test_latency_from_design_manifest(tmp_path: Path) -> None:
    identity = _identity(tmp_path)
    figure = collect._latency(identity, [], None)
    assert figure == Figure(identity.latency_cycles, "design:latency")
    assert collect._latency(identity, [], identity.latency_cycles) == figure


def test_latency_flag_contradicting_the_manifest_is_an_error(tmp_path: Path) -> None:
    identity = _identity(tmp_path)
    with pytest.raises(
        UsageError,
        match=rf"--latency-cycles 7 contradicts .*latency_cycles {identity.latency_cycles}",
    ):
        collect._latency(identity, [], 7)


def test_latency_flag_only_when_manifest_states_none(tmp_path: Path) -> None:
    identity = _identity(tmp_path, latency_cycles=None)
    assert collect._latency(identity, [], 40) == Figure(40, "user:latency-cycles")
    with pytest.raises(UsageError, match="states no latency_cycles"):
        collect._latency(identity, [], None)
    with pytest.raises(UsageError, match="whole number"):
        collect._latency(identity, [], 0)


# -- energy ---------------------------------------------------------------------------

POWER = PowerFigure(0.5, "vendor:vivado")
LATENCY = Figure(1000, "design:latency")


def test_energy_needs_clock_and_inferences_per_run() -> None:
    assert collect._energy(POWER, LATENCY, None, None, ()) is None
    assert collect._energy(POWER, LATENCY, 100.0, None, ()) is None
    assert collect._energy(POWER, LATENCY, None, 4, ()) is None
    energy = collect._energy(POWER, LATENCY, 100.0, 4, ())
    # 0.5 W × (1000 cycles / 100 MHz) / 4 inferences
    assert energy is not None and energy.value == pytest.approx(0.5 * 1e-5 / 4)
    assert energy.source == "derived:power-latency-clock"


def test_energy_without_power_is_an_error() -> None:
    with pytest.raises(UsageError, match="needs a power report"):
        collect._energy(None, LATENCY, 100.0, 4, ())


def test_clock_above_achieved_fmax_is_an_error() -> None:
    from stochflow.surrogate.observation import ClockFigure

    clocks = (ClockFigure("clk", 41.5, "tool:nextpnr"),)
    with pytest.raises(UsageError, match=r"--clock-mhz 50 is above the achieved Fmax 41\.5 MHz"):
        collect._energy(POWER, LATENCY, 50.0, 1, clocks)
    assert collect._energy(POWER, LATENCY, 40.0, 1, clocks) is not None


# -- slots and agreement --------------------------------------------------------------


def test_slots_are_parser_roles() -> None:
    from stochflow.parsers.api import ROLES

    for role in collect.SLOTS.values():
        assert role in ROLES


def test_power_report_in_the_utilisation_slot_names_both() -> None:
    report = Report(tool="vivado", kind="power", file="top_power_routed.rpt")
    with pytest.raises(UsageError) as caught:
        collect.check_slot("utilisation", report)
    message = str(caught.value)
    assert message.startswith("--utilisation: top_power_routed.rpt: a vivado power report")
    assert "utilization report" in message


def test_every_collectable_kind_fits_its_slot() -> None:
    for tool, kind, slot in [
        ("vivado", "utilization", "utilisation"),
        ("quartus", "fit_rpt", "utilisation"),
        ("yosys", "stat", "utilisation"),
        ("nextpnr", "pnr_log", "utilisation"),
        ("quartus", "pow_summary", "power"),
        ("quartus", "sta_summary", "timing"),
        ("icetime", "icetime", "timing"),
        ("nextpnr", "pnr_report", "timing"),
    ]:
        collect.check_slot(slot, Report(tool=tool, kind=kind))  # type: ignore[arg-type]


def test_device_spellings_of_one_part_agree() -> None:
    assert collect._same_device("7z020clg400-1", "xc7z020clg400-1")
    assert collect._same_device("7z020-clg400", "xc7z020clg400-1")
    assert collect._same_device("xc7z045", "xc7z045ffg900-2")
    assert not collect._same_device("EP4CGX30CF23C6", "EP4CE6F17C6")


def test_version_tokens() -> None:
    token = collect._version_token
    assert token("Vivado v.2017.2 (win64) Build 1909853 Thu Jun 15 18:39:09 MDT 2017") == "2017.2"
    assert token("v.2017.2 (lin64) Build 1909853") == "2017.2"
    assert token("23.1std.1 Build 993 05/14/2024 SC Lite Edition") == "23.1std.1"
    assert token("Yosys 0.33 (git sha1 2584903a060)") == "0.33"


def test_registered_target_found_from_the_stated_device() -> None:
    assert collect._registered_target(None, "xc7a35ticsg324-1L").name == "xc7a35t"
    assert collect._registered_target(None, "7z020clg400-1") is None
    assert collect._normal_target("10M08SAE144C8G") == "10m08sae144c8g"


# -- resource names -------------------------------------------------------------------


def test_default_maps_only_name_canonical_resources() -> None:
    for mapping in DEFAULT_MAPS.values():
        for canonical in (*mapping.cells.values(), *mapping.sites.values()):
            assert canonical in CANONICAL_RESOURCES
    for target in TARGETS.values():
        for canonical in (*target.resources.cells.values(), *target.resources.sites.values()):
            assert canonical in CANONICAL_RESOURCES


def test_vivado_rows_map_with_footnotes_and_case() -> None:
    report = Report(
        tool="vivado",
        kind="utilization",
        resources={
            "Slice LUTs*": ResourceCount(738, 53200),
            "LUT as Logic": ResourceCount(651, 53200),
            "Block RAM Tile": ResourceCount(2.5, 140),
            "bonded iob": ResourceCount(12, 125),
        },
    )
    figures = canonical_from_report(report, DEFAULT_MAPS["vivado"])
    assert set(figures) == {"lut", "bram_tile", "io"}
    assert figures["lut"].used == 738 and figures["lut"].source == "vendor:vivado"
    assert figures["bram_tile"].used == 2.5


def test_yosys_cells_sum_and_nextpnr_completes_them() -> None:
    stat = Report(
        tool="yosys",
        kind="stat",
        cells_by_type={"SB_LUT4": 40, "SB_DFF": 5, "SB_DFFE": 7, "SB_CARRY": 9, "$scopeinfo": 3},
    )
    pnr = Report(
        tool="nextpnr",
        kind="pnr_log",
        resources={"ICESTORM_LC": ResourceCount(52, 5280), "SB_IO": ResourceCount(6, 96)},
    )
    mapping = TARGETS["ice40-up5k"].resources
    primary = canonical_from_report(stat, mapping)
    assert {name: fig.used for name, fig in primary.items()} == {"lut": 40, "ff": 12, "carry": 9}
    merged = merge_resources(primary, [(pnr, canonical_from_report(pnr, mapping))], mapping)
    assert merged["lut"].available == 5280 and merged["lut"].source == "tool:yosys"
    assert merged["lc"].used == 52 and merged["lc"].source == "tool:nextpnr"
    assert merged["io"].used == 6


def test_power_report_without_total_is_a_report_error() -> None:
    from stochflow.parsers.report import ReportError

    report = Report(tool="vivado", kind="power", file="p.rpt", power=Power(dynamic_w=0.1))
    with pytest.raises(ReportError, match=r"p\.rpt: the power report states no total power"):
        collect._power(report)
