"""``stochflow energy`` and ``stochflow profile`` end to end (golden model, no synthesis)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stochflow.flow.cli import main
from stochflow.hdl import golden
from stochflow.hdl.spec import load_spec

SPEC = """
[network]
name = "digits_small"
dataset = "sklearn-digits"

[network.generator]
kind = "he-normal"
seed = 3

[defaults]
bitstream_length = 32
precision = 6

[defaults.weight_rng]
kind = "lfsr"
width = 8
seed = 0x5A

[defaults.input_rng]
kind = "lfsr"
width = 8
seed = 0xC3

[[layer]]
name = "hidden"
inputs = 64
outputs = 6

[[layer]]
name = "output"
inputs = 6
outputs = 10
"""


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("energy_cli") / "network.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_energy_json_counts_the_held_out_digits(
    spec_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["energy", str(spec_path), "--hardware", "loihi", "--vectors", "12", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["inputs"] == "dataset sklearn-digits, held-out split, first 12 samples"
    spec = load_spec(spec_path)
    network = spec.build()
    x = spec.load_dataset().x_test[:12]
    reference = golden.run(network, golden.quantise_inputs(x, network.input_precision))
    assert [layer["spikes"] for layer in payload["layers"]] == [
        int(np.sum(c)) for c in reference.counts
    ]
    assert payload["inferences"] == 12
    assert payload["counts"] == "measured (sim:golden)"
    assert payload["citations"][0]["locator"].startswith("Table 2")


def test_energy_prints_the_summary(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["energy", str(spec_path), "--hardware", "7nm", "--vectors", "4"]) == 0
    out = capsys.readouterr().out
    assert "Energy accounting — 7nm" in out and "Dominant layer" in out and "Sources:" in out


def test_energy_bad_input_exits_2(spec_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["energy", str(spec_path), "--hardware", "loihi2"]) == 2
    assert "unknown hardware 'loihi2'; known: 45nm" in capsys.readouterr().err
    assert main(["energy", str(spec_path), "--hardware", "loihi", "--vectors", "0"]) == 2
    assert main(["energy", "missing.toml", "--hardware", "loihi"]) == 2


def test_energy_on_a_target_without_observations_fails(
    spec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "evidence.sqlite"
    code = main(["energy", str(spec_path), "--hardware", "ice40-up5k", "--store", str(store)])
    assert code == 1
    assert "no observation of design" in capsys.readouterr().err


def test_profile_prints_a_labelled_table(
    spec_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["profile", str(spec_path), "--vectors", "4", "--store", str(tmp_path / "none.sqlite")]
    assert (
        main([*args, "--platforms", "cpu,verilator,ice40-up5k,truenorth", "--cpu-power-w", "15"])
        == 0
    )
    out = capsys.readouterr().out
    assert "assumption" in out and "unavailable" in out and "truenorth" in out
    assert main([*args, "--platforms", "cpu,tpu"]) == 2
