"""``stochflow generate`` end to end: spec in, design folder out, errors as exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.hdl.rtl_network import latency_cycles
from stochflow.hdl.spec import load_network_weights, load_spec

SPEC = """\
[network]
name = "tiny_cli"

[network.generator]
kind = "he-normal"
seed = 3

[defaults]
bitstream_length = 16
precision = 4

[defaults.weight_rng]
width = 8
seed = 0x5A

[defaults.input_rng]
kind = "sobol"
width = 8

[[layer]]
name = "hidden"
inputs = 4
outputs = 3

[[layer]]
name = "out"
inputs = 3
outputs = 2
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SPEC)
    return path


def test_generate_writes_a_design_folder(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "build"
    assert main(["generate", str(spec_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    network = load_spec(spec_file).build()
    manifest = json.loads((out / "design.json").read_text())
    assert str(out) in printed and f"latency {latency_cycles(network)} cycles" in printed
    assert manifest["design_hash"] == network.design_hash
    assert manifest["network_file"] == str(spec_file)
    rebuilt = load_network_weights(out / "weights.npz", network.config)
    assert rebuilt.design_hash == network.design_hash  # the folder alone rebuilds the model


def test_choice_changes_the_knobs(spec_file: Path, tmp_path: Path) -> None:
    choice = tmp_path / "choice.json"
    choice.write_text(json.dumps({"layers": [{"name": "hidden", "folding": 2},
                                             {"name": "out", "bitstream_length": 16}]}))
    out = tmp_path / "build"
    assert main(["generate", str(spec_file), "--out", str(out), "--choice", str(choice)]) == 0
    manifest = json.loads((out / "design.json").read_text())
    assert manifest["layers"][0]["folding"] == 2 and manifest["layers"][0]["fold_cycles"] == 3
    assert manifest["cycles_per_period"] == 3
    assert manifest["latency_cycles"] == (16 + 1) * 3 + 1


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda text: text.replace("precision = 4", "precision = 40"), "precision"),
        (lambda text: text.replace("outputs = 3\n", "outputs = 3\nfoo = 1\n", 1), "foo"),
        (lambda text: text + "[[layer\n", "TOML"),
    ],
    ids=["bad-knob", "unknown-key", "bad-toml"],
)
def test_bad_spec_exits_2_with_one_line(
    spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], edit, expected: str  # type: ignore[no-untyped-def]
) -> None:
    spec_file.write_text(edit(SPEC))
    assert main(["generate", str(spec_file), "--out", str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(spec_file) in err and expected in err
    assert not (tmp_path / "b" / "design.json").exists()


def test_bad_choice_exits_2(spec_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    choice = tmp_path / "choice.json"
    choice.write_text('{"layers": [{"name": "hidden", "folding": 99}]}')
    assert main(["generate", str(spec_file), "--out", str(tmp_path / "b"), "--choice", str(choice)]) == 2
    err = capsys.readouterr().err
    assert "folding" in err and str(choice) in err
    choice.write_text('{"layers": [')
    assert main(["generate", str(spec_file), "--out", str(tmp_path / "b"), "--choice", str(choice)]) == 2
    assert f"{choice}:1:" in capsys.readouterr().err


def test_missing_spec_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "b")]) == 2
    assert "nope.toml" in capsys.readouterr().err
