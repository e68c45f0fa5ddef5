"""``stochflow optimise`` and ``stochflow surrogate report`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cli import main
from stochflow.flow.store import EvidenceStore
from stochflow.hdl.spec import CHOICE_INFO_KEYS
from stochflow.surrogate.optimise import CHOICE_METADATA_KEYS
from test_surrogate_helpers import recorded_observations

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny" / "network.toml"
SPACE = """
[space]
lengths = [16, 64, 256]
precisions = [4, 6, 8]
widths = [8]
lfsr_seeds = 2
"""


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "space.toml"
    path.write_text(SPACE)
    return path


def _run(argv: list[str]) -> int:
    return main(argv)


def test_optimise_writes_a_choice_that_generate_can_apply(tmp_path: Path, space_file: Path, capsys) -> None:
    out = tmp_path / "choice.json"
    code = _run([
        "optimise", str(TINY), "--target", "ice40-up5k", "--clock-mhz", "12",
        "--budget", "luts=2000,power_mw=50,latency_cycles=400", "--space", str(space_file),
        "--out", str(out),
    ])
    text = capsys.readouterr().out
    assert code == 0, text
    choice = json.loads(out.read_text())
    assert choice["feasible"] is True and choice["budget"]["luts"] == 2000
    assert set(choice["totals"]) >= {"luts", "power_mw", "latency_cycles"}
    assert choice["totals"]["luts"]["upper_bound"] <= 2000
    assert choice["totals"]["latency_cycles"]["value"] <= 400
    for layer in choice["layers"]:
        for key in ("id", "bitstream_length", "rng", "polynomial", "seed", "precision",
                    "decorrelation", "folding", "luts", "power_mw", "latency_cycles"):
            assert key in layer
        for metric in ("luts", "power_mw"):
            assert layer[metric]["source"].startswith(("prior:", "predicted:"))
            low, high = layer[metric]["interval"]
            assert low <= layer[metric]["value"] <= high
    assert "LUTs" in text and "binds" in text
    # `stochflow generate --choice` builds exactly the chosen knobs.
    build = tmp_path / "build"
    assert _run(["generate", str(TINY), "--choice", str(out), "--out", str(build)]) == 0
    design = json.loads((build / "design.json").read_text())
    for built, entry in zip(design["layers"], choice["layers"], strict=True):
        assert built["bitstream_length"] == entry["bitstream_length"]
        assert built["precision"] == entry["precision"] and built["folding"] == entry["folding"]
        assert built["weight_rng"]["kind"] == entry["rng"] and built["weight_rng"]["seed"] == entry["seed"]
    assert design["latency_cycles"] == choice["totals"]["latency_cycles"]["value"]


def test_choice_metadata_keys_are_those_apply_choice_ignores() -> None:
    assert set(CHOICE_METADATA_KEYS) == set(CHOICE_INFO_KEYS)


def test_infeasible_exits_1_with_the_report(tmp_path: Path, space_file: Path, capsys) -> None:
    code = _run([
        "optimise", str(TINY), "--target", "ice40-up5k", "--budget", "luts=10",
        "--space", str(space_file), "--out", str(tmp_path / "c.json"),
    ])
    text = capsys.readouterr().out
    assert code == 1
    assert "infeasible" in text and "raise luts by at least" in text
    assert json.loads((tmp_path / "c.json").read_text())["feasible"] is False


@pytest.mark.parametrize(
    ("budget", "extra", "message"),
    [
        ("luts=abc", [], "budget luts"),
        ("speed=3", [], "budget key"),
        ("power_mw=5", [], "power"),
        ("luts=100", ["--confidence", "1.5"], "--confidence"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path: Path, space_file: Path, capsys, budget, extra, message) -> None:
    code = _run(["optimise", str(TINY), "--target", "ice40-up5k", "--budget", budget,
                 "--space", str(space_file), "--out", str(tmp_path / "c.json"), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1


def test_unknown_target_and_bad_spec_exit_2(tmp_path: Path, capsys) -> None:
    assert _run(["optimise", str(TINY), "--target", "nope", "--budget", "luts=1"]) == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nname = 3\n")
    assert _run(["optimise", str(bad), "--target", "ice40-up5k", "--budget", "luts=1"]) == 2


def test_surrogate_report_cross_validates_stored_evidence(tmp_path: Path, capsys) -> None:
    store_path = tmp_path / "evidence.sqlite"
    with EvidenceStore(store_path) as store:
        for observation in recorded_observations("ice40"):
            store.add(observation)
    assert _run(["surrogate", "report", "--evidence", str(store_path)]) == 0
    text = capsys.readouterr().out
    assert "ice40-up5k" in text and "MAPE" in text and "coverage" in text


def test_surrogate_report_with_too_few_observations_fails(tmp_path: Path, capsys) -> None:
    store_path = tmp_path / "evidence.sqlite"
    with EvidenceStore(store_path) as store:
        for observation in recorded_observations("ice40")[:2]:
            store.add(observation)
    assert _run(["surrogate", "report", "--evidence", str(store_path)]) == 1
    assert "too few observations" in capsys.readouterr().err


DIGITS_SPEC = """
[network]
name = "digits_small"
dataset = "sklearn-digits"

[network.generator]
kind = "he-normal"
seed = 3

[defaults]
bitstream_length = 64
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
name = "out"
inputs = 64
outputs = 10
"""


@pytest.mark.slow
def test_golden_proxy_rescoring_and_measured_accuracy(tmp_path: Path, space_file: Path, capsys) -> None:
    spec = tmp_path / "digits.toml"
    spec.write_text(DIGITS_SPEC)
    out = tmp_path / "choice.json"
    argv = [
        "optimise", str(spec), "--target", "ice40-up5k", "--budget", "luts=4000",
        "--space", str(space_file), "--accuracy", "golden", "--golden-options", "6",
        "--calibration-samples", "16", "--error-cache", str(tmp_path / "errors.sqlite"),
        "--out", str(out),
    ]
    assert _run(argv) == 0, capsys.readouterr().out
    choice = json.loads(out.read_text())
    assert all(layer["error"]["source"] == "sim:golden" for layer in choice["layers"])
    assert choice["accuracy"]["source"] == "sim:golden" and 0 <= choice["accuracy"]["value"] <= 1
    assert "accuracy of the choice" in capsys.readouterr().out
    # Second run: every golden error comes from the on-disk cache.
    assert _run(argv) == 0
    assert json.loads(out.read_text())["layers"] == choice["layers"]
