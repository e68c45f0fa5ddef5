"""The sweep grid: strict parsing, points applied to a real spec, errors that name the entry."""

from __future__ import annotations

from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.errors import UsageError
from stochflow.flow.sweep import plan_sweep
from stochflow.flow.sweep_grid import KNOBS, parse_grid

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny" / "network.toml"


def test_grid_points_are_every_combination_first_entry_slowest() -> None:
    grid = parse_grid(" L = 64, 256 ; rng=lfsr16,sobol ;precision=4,6")
    assert [axis.name for axis in grid.axes] == ["L", "rng", "precision"]
    assert grid.size == 8
    points = grid.points()
    assert [(p["L"].text, p["rng"].text, p["precision"].text) for p in points[:3]] == [
        ("64", "lfsr16", "4"), ("64", "lfsr16", "6"), ("64", "sobol", "4"),
    ]  # fmt: skip
    assert points[0]["rng"].value == {"kind": "lfsr", "width": 16}
    assert points[2]["rng"].value == {"kind": "sobol"}


def test_every_knob_parses_its_values() -> None:
    grid = parse_grid(
        "L=16,4096;precision=2,16;folding=1,all;rng=lfsr8,sobol12,vdc10;input_rng=sobol8;"
        "seed=7,0x5A;decorrelation=shared,independent;hidden.precision=3"
    )
    values = {axis.name: [v.value for v in axis.values] for axis in grid.axes}
    assert values["L"] == [16, 4096] and values["precision"] == [2, 16]
    assert values["folding"] == [1, "all"] and values["seed"] == [7, 0x5A]
    assert values["rng"][2] == {"kind": "vdc", "width": 10}
    assert values["decorrelation"] == ["shared", "independent"]
    assert grid.axes[-1].layer == "hidden" and grid.axes[-1].knob == "precision"
    assert set(KNOBS) == {"L", "precision", "folding", "rng", "input_rng", "seed", "decorrelation",
                          "weight_memory"}


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("", r"--grid: empty"),
        ("L=64;", r"--grid entry 2: empty"),
        ("L64", r"entry 1 'L64': expected KNOB=VALUE"),
        ("length=64", r"unknown knob 'length'; expected one of L, precision"),
        ("hidden.width=8", r"unknown knob 'width'"),
        ("L=100", r"L: '100' is not a power of two 16…4096"),
        ("L=8", r"L: '8' is not a power of two"),
        ("L=64,", r"L: empty value"),
        ("L=64,64", r"L: value '64' is given twice"),
        ("seed=90,0x5a", r"seed: value '0x5a' is given twice"),
        ("precision=1", r"precision: '1' is not a whole number of bits 2…16"),
        ("precision=4.5", r"precision: '4.5' is not"),
        ("folding=0", r"folding: '0' is not a whole number of columns ≥ 1, or 'all'"),
        ("rng=xorshift8", r"rng: 'xorshift8' is not a source lfsr\|sobol\|vdc"),
        ("rng=lfsr-8", r"rng: 'lfsr-8' is not"),
        ("seed=-1", r"seed: '-1' is not an integer ≥ 0"),
        ("decorrelation=rotate", r"decorrelation: 'rotate' is not one of shared, permuted"),
        ("L=64;L=128", r"entry 2 'L=128': L is given twice"),
        ("1x.precision=4", r"'1x' is not a layer name"),
    ],
)
def test_grid_errors_name_the_entry(grid: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_grid(grid)


def test_points_applied_to_the_spec() -> None:
    points = plan_sweep(
        TINY, "L=64,128;rng=lfsr16,sobol8;hidden.precision=4;output.seed=0x11;folding=all"
    )
    assert [p.label for p in points][:2] == [
        "L-64_rng-lfsr16_hidden.precision-4_output.seed-0x11_folding-all",
        "L-64_rng-sobol8_hidden.precision-4_output.seed-0x11_folding-all",
    ]
    first = points[0].network.config.layers
    assert [layer.bitstream_length for layer in first] == [64, 64]
    assert [layer.precision for layer in first] == [4, 6]  # only hidden changed
    assert [layer.weight_rng.label for layer in first] == ["lfsr16", "lfsr16"]
    assert first[1].weight_rng.seed == 0x11 and first[0].weight_rng.seed == 0x5A
    assert [layer.folding for layer in first] == [9, 5]  # all columns: inputs + 1
    assert points[1].network.config.layers[0].weight_rng.kind == "sobol"
    assert points[0].values["rng"] == "lfsr16"
    assert len({p.design_hash for p in points}) == 4


def test_layer_scoped_knob_wins_over_the_grid_wide_one() -> None:
    (point,) = plan_sweep(TINY, "rng=sobol8;hidden.rng=lfsr16")
    assert [layer.weight_rng.label for layer in point.network.config.layers] == ["lfsr16", "sobol8"]
    (point,) = plan_sweep(TINY, "input_rng=sobol8")
    assert point.network.config.layers[0].input_rng.label == "sobol8"
    assert point.network.config.layers[1].input_rng is None  # stream: only layer 0 encodes


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ("hidden2.precision=4", r"tiny has no layer 'hidden2'; its layers are hidden, output"),
        ("output.input_rng=sobol8", r"layer 'output' does not encode inputs"),
        ("precision=4;rng=lfsr4,lfsr16;seed=200", r"point precision-4_rng-lfsr4_seed-200: .*seed"),
        ("precision=12", r"point precision-12: .*precision 12 is wider than the lfsr8 source"),
        ("hidden.L=128", r"point hidden\.L-128: .*stream architecture shares one length"),
        ("folding=7", r"point folding-7: .*folding: expected 1…5"),
        ("hidden.folding=9,all", r"points hidden.folding-9 and hidden.folding-all are the same"),
        ("folding=1;weight_memory=block",
         r"point folding-1_weight_memory-block: .*weight_memory: 'block' .* at least 8 cycles"),
    ],
)
def test_points_that_do_not_fit_the_network_are_refused(grid: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan_sweep(TINY, grid)


def test_weight_memory_knob_reaches_the_layers() -> None:
    assert parse_grid("weight_memory=logic,block").axes[0].values[1].value == "block"
    with pytest.raises(UsageError, match=r"weight_memory: 'bram' is not one of logic, block"):
        parse_grid("weight_memory=bram")
    # hidden (9 columns) folded to one per cycle has a 9-deep ROM; output (5) does not.
    points = plan_sweep(TINY, "folding=1;hidden.weight_memory=logic,block")
    assert [[layer.weight_memory for layer in p.network.config.layers] for p in points] == [
        ["logic", "logic"], ["block", "logic"],
    ]  # fmt: skip
    assert points[0].design_hash != points[1].design_hash


def test_cli_bad_grid_exits_2_naming_the_knob(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--target", "ice40-up5k", "--out", str(tmp_path / "o"), "--store", str(tmp_path / "s")]
    assert main(["sweep", str(TINY), "--grid", "L=64;speed=fast", *common]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unknown knob 'speed'" in err
    assert main(["sweep", str(TINY), "--grid", "precision=99", *common]) == 2
    assert "precision: '99' is not a whole number of bits 2…16" in capsys.readouterr().err
    assert main(["sweep", str(TINY), "--grid", "L=64", "--target", "nope", *common[2:]]) == 2
    assert "unknown target 'nope'" in capsys.readouterr().err
    argv = ["sweep", str(TINY), "--grid", "L=64", "--jobs", "0", *common]
    assert main(argv) == 2 and "--jobs" in capsys.readouterr().err
    argv = ["sweep", str(TINY), "--grid", "L=64", "--target", "xc7a35t", *common[2:]]
    assert main(argv) == 2 and "sweep builds open targets" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()
    folder = tmp_path / "a-folder"
    folder.mkdir()
    argv = ["sweep", str(TINY), "--grid", "L=64", *common[:4], "--store", str(folder), "--jobs", "1"]
    assert main(argv) == 2 and "is a folder" in capsys.readouterr().err
