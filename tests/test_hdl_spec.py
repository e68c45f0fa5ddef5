"""Network specs (TOML + weights), choices, weight files, quantisation and datasets."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec, weight_memory_choices
from stochflow.hdl.dataset import load_dataset
from stochflow.hdl.errors import SpecError
from stochflow.hdl.quantise import FloatLayer, automatic_threshold, dequantise_layer, quantise_layer
from stochflow.hdl.spec import NetworkSpec, apply_choice, load_spec
from stochflow.hdl.weights_io import (
    generated_float_layers,
    load_network_weights,
    save_float_weights,
    save_network_weights,
)

REPO = Path(__file__).resolve().parents[1]

BASE = """\
[network]
name = "small"
architecture = "stream"
weights = "w.npz"

[defaults]
bitstream_length = 64
precision = 6

[defaults.weight_rng]
kind = "lfsr"
width = 12
seed = 0x5A5

[defaults.input_rng]
kind = "lfsr"
width = 12
seed = 0x2C3
structure = "galois"

[[layer]]
name = "hidden"
inputs = 5
outputs = 4

[[layer]]
name = "out"
inputs = 4
outputs = 3
weight_rng = { seed = 0x1F }
"""


def _write(folder: Path, text: str = BASE) -> Path:
    save_float_weights(generated_float_layers([(4, 5), (3, 4)], seed=3), folder / "w.npz")
    path = folder / "net.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    return caught.value


# --- loading ------------------------------------------------------------------------------


def test_examples_load_and_build() -> None:
    for name in ("tiny", "digits"):
        spec = load_spec(REPO / "examples" / name / "network.toml")
        network = spec.build()
        assert network.config.name == name
        assert all(w.clip_fraction == 0.0 for w in network.weights)
    digits = load_spec(REPO / "examples" / "digits" / "network.toml")
    assert [layer.n_out for layer in digits.layers] == [32, 10]
    assert digits.load_dataset().features == 64


def test_defaults_and_layer_tables_merge(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    hidden, out = spec.layers
    assert hidden.weight_rng == RngSpec(width=12, seed=0x5A5)
    assert out.weight_rng == RngSpec(width=12, seed=0x1F)  # only the seed overridden
    assert hidden.input_rng == RngSpec(width=12, seed=0x2C3, structure="galois")
    assert out.input_rng is None  # stream: only layer 0 encodes
    assert (hidden.bitstream_length, hidden.precision, hidden.folding) == (64, 6, 6)
    assert spec.source == str(tmp_path / "net.toml")


def test_kind_change_in_a_layer_starts_afresh(tmp_path: Path) -> None:
    text = BASE.replace('weight_rng = { seed = 0x1F }', 'weight_rng = { kind = "sobol", width = 8 }')
    out = load_spec(_write(tmp_path, text)).layers[1]
    assert out.weight_rng == RngSpec(kind="sobol", width=8)


def test_regenerate_gives_every_layer_the_default_encoder(tmp_path: Path) -> None:
    text = BASE.replace('architecture = "stream"', 'architecture = "regenerate"')
    spec = load_spec(_write(tmp_path, text))
    assert spec.layers[1].input_rng == spec.layers[0].input_rng


def test_generator_makes_weights_without_a_file(tmp_path: Path) -> None:
    text = BASE.replace('weights = "w.npz"', "[network.generator]\nseed = 11")
    first = load_spec(_write(tmp_path, text))
    again = load_spec(tmp_path / "net.toml")
    assert first.weights_sha256 == again.weights_sha256
    assert first.float_layers[0].shape == (4, 5)


# --- every bad input names its field -------------------------------------------------------

BAD_CASES = {
    "unknown top-level table": ("[network]", "[netwrok]\n[network]", r"netwrok: unknown key; expected one of network, defaults, layer"),
    "unknown network key": ('name = "small"', 'name = "small"\nlayers = 2', r"network\.layers: unknown key"),
    "unknown layer key": ('outputs = 4\n', 'outputs = 4\nthreshhold = 3\n', r"layer\[0\]\.threshhold: unknown key; expected one of name, inputs, outputs, bitstream_length"),
    "unknown rng key": ("seed = 0x5A5", "seed = 0x5A5\nsead = 3", r"defaults\.weight_rng\.sead: unknown key; expected one of kind, width, polynomial, seed"),
    "unknown key in a layer's rng": ("{ seed = 0x1F }", "{ seed = 0x1F, taps = 3 }", r"layer\[1\]\.weight_rng\.taps: unknown key"),
    "length not a power of two": ("bitstream_length = 64", "bitstream_length = 100", r"defaults\.bitstream_length: expected a power of two 16…4096, got 100"),
    "precision wider than the source": ("precision = 6", "precision = 13", r"layer\[0\]\.weight_rng\.width: precision 13 is wider than the lfsr12 source"),
    "zero seed": ("seed = 0x5A5", "seed = 0", r"defaults\.weight_rng\.seed: a zero seed locks an LFSR"),
    "non-maximal polynomial": ("{ seed = 0x1F }", "{ seed = 0x1F, polynomial = 0x801 }", r"layer\[1\]\.weight_rng\.polynomial: 0x801 is not maximal-length for width 12"),
    "polynomial as text": ("{ seed = 0x1F }", '{ seed = 0x1F, polynomial = "0x829" }', r"layer\[1\]\.weight_rng\.polynomial: expected an integer"),
    "allow not a list": ("seed = 0x5A5", 'seed = 0x5A5\nallow = "zero_seed"', r"defaults\.weight_rng\.allow: expected a list of strings"),
    "chained shapes": ("inputs = 4\n", "inputs = 5\n", r"layer\[1\]\.inputs: expected 4 \(outputs of hidden\), got 5"),
    "missing outputs": ("outputs = 3\n", "\n", r"layer\[1\]\.outputs: required"),
    "stream lengths differ": ("weight_rng = { seed = 0x1F }", "bitstream_length = 128\nweight_rng = { seed = 0x1F }", r"layer\[1\]\.bitstream_length: the stream architecture shares one length"),
    "encoder on a stream layer": ("weight_rng = { seed = 0x1F }", "weight_rng = { seed = 0x1F }\ninput_rng = { seed = 3 }", r"layer\[1\]\.input_rng: in the stream architecture only layer 0 encodes"),
    "bad architecture": ('architecture = "stream"', 'architecture = "pipeline"', r"network\.architecture: expected one of stream, regenerate"),
    "bad dataset": ('name = "small"', 'name = "small"\ndataset = "mnist"', r"network\.dataset: expected one of sklearn-digits"),
    "weights and generator": ('weights = "w.npz"', 'weights = "w.npz"\n[network.generator]\nseed = 1', r"network\.weights: give exactly one of"),
    "missing weights file": ('weights = "w.npz"', 'weights = "nothere.npz"', r"network\.weights: no such weights file"),
    "weight memory not a choice": ("outputs = 4\n", 'outputs = 4\nweight_memory = "bram"\n', r"layer\[0\]\.weight_memory: expected one of logic, block, got 'bram'"),
    "block RAM without a ROM": ("precision = 6", 'precision = 6\nweight_memory = "block"', r"defaults\.weight_memory: 'block' places the weight ROM in block RAM, .* at least 8 cycles per period \(this one: 1\)"),
    "too many Sobol dimensions": ("{ seed = 0x1F }", '{ kind = "sobol", width = 8, dimension = 254, decorrelation = "independent" }', r"layer\[1\]\.weight_rng\.dimension: independent Sobol streams need dimensions 254…258"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_spec_names_file_and_field(tmp_path: Path, case: str) -> None:
    old, new, pattern = BAD_CASES[case]
    assert old in BASE
    path = _write(tmp_path, BASE.replace(old, new, 1))
    error = _error(path)
    assert error.source == str(path)
    assert re.search(pattern, str(error)), str(error)
    assert str(error).startswith(f"{path}: ")


def test_malformed_toml_names_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE.replace("precision = 6", "precision = = 6"))
    error = _error(path)
    assert error.source == f"{path}:8:13"
    assert "not valid TOML" in str(error)


def test_weight_file_problems_name_the_array(tmp_path: Path) -> None:
    path = _write(tmp_path)
    np.savez(
        tmp_path / "w.npz", w0=np.zeros((4, 5)), b0=np.zeros(4), w1=np.zeros((3, 5)),
        b1=np.zeros(3), scales=np.ones(3),
    )
    error = _error(path)
    assert error.source == str(tmp_path / "w.npz")
    assert re.search(r"w1: expected shape \(3, 4\) \(layer\[1\] has 4 inputs, 3 outputs\), got \(3, 5\)", str(error))
    np.savez(tmp_path / "w.npz", w0=np.zeros((4, 5)), b0=np.zeros(4), w1=np.zeros((3, 4)), b1=np.zeros(3))
    assert "scales: missing" in str(_error(path))
    np.savez(
        tmp_path / "w.npz", w0=np.zeros((4, 5), int), b0=np.zeros(4), w1=np.zeros((3, 4)),
        b1=np.zeros(3), scales=np.ones(3),
    )
    assert "w0: expected float weights" in str(_error(path))
    (tmp_path / "w.npz").write_text("not a zip")
    assert "not a readable .npz" in str(_error(path))


# --- knobs and choices ----------------------------------------------------------------------


def test_with_layer_knobs_merges_sources(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    changed = spec.with_layer_knobs("out", weight_rng={"seed": 0x77}, precision=5)
    assert changed.layers[1].weight_rng == RngSpec(width=12, seed=0x77)
    assert changed.layers[1].precision == 5 and spec.layers[1].precision == 6
    narrower = spec.with_layer_knobs(1, weight_rng={"width": 8, "seed": 3})
    assert narrower.layers[1].weight_rng.polynomial == RngSpec(width=8).polynomial
    with pytest.raises(SpecError, match=r"layer\[1\]\.colour: unknown knob"):
        spec.with_layer_knobs(1, colour=3)
    with pytest.raises(SpecError, match=r"no layer 'nope'; layers are 0…1: hidden, out"):
        spec.with_layer_knobs("nope", precision=4)
    with pytest.raises(SpecError, match=r"layer\[0\]\.weight_rng\.seed: a zero seed"):
        spec.with_layer_knobs(0, weight_rng={"seed": 0})


def test_weight_memory_is_a_knob_of_folded_layers() -> None:
    """``block`` needs a weight ROM (F ≥ 8); it changes the design, not the arithmetic."""
    tiny = load_spec(REPO / "examples" / "tiny" / "network.toml")  # hidden: 9 columns
    assert [layer.weight_memory for layer in tiny.layers] == ["logic", "logic"]
    folded = tiny.with_layer_knobs("hidden", folding=1)
    block = folded.with_layer_knobs("hidden", weight_memory="block")
    assert block.layers[0].has_weight_rom and block.layers[0].weight_memory == "block"
    logic_net, block_net = folded.build(), block.build()
    assert block_net.layer_record(0)["weight_memory"] == "block"
    assert logic_net.layer_record(0)["weight_memory"] == "logic"
    assert logic_net.design_hash != block_net.design_hash
    assert logic_net.weights_sha256 == block_net.weights_sha256
    with pytest.raises(SpecError, match=r"layer\[1\]\.weight_memory: 'block' .*this one: 1"):
        folded.with_layer_knobs("output", weight_memory="block")
    with pytest.raises(SpecError, match=r"weight_memory: 'block' .*\(this one: 3\); use 'logic'"):
        block.with_layer_knobs("hidden", folding=3)  # the ROM is gone: say so, never drop it
    chosen = apply_choice(tiny, {"layers": [
        {"name": "hidden", "folding": 1, "fold_cycles": 9, "weight_memory": "block"},
    ]})
    assert chosen.layers[0].weight_memory == "block"
    with pytest.raises(SpecError, match=r"^c\.json: choice\.layers\[0\]\.weight_memory: 'block'"):
        apply_choice(tiny, [{"name": "output", "weight_memory": "block"}], source="c.json")
    assert weight_memory_choices(9) == ("logic", "block")
    assert weight_memory_choices(7) == ("logic",)


def test_stream_lengths_may_differ_midway_but_not_at_build(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    halfway = spec.with_layer_knobs(0, bitstream_length=128)
    with pytest.raises(SpecError, match=r"layer\[1\]\.bitstream_length: the stream architecture"):
        halfway.build()
    assert halfway.with_layer_knobs(1, bitstream_length=128).build().layers[1].bitstream_length == 128
    assert spec.with_knobs(bitstream_length=32).config.layers[1].bitstream_length == 32


def test_apply_choice_reads_the_optimisers_document(tmp_path: Path) -> None:
    """The shape ``stochflow optimise`` writes: flat weight source, figures beside the knobs."""
    spec = load_spec(_write(tmp_path))
    figures = {"error": {"value": 0.01, "source": "sim:golden"}, "luts": {"value": 90},
               "ffs": {"value": 40}, "power_mw": None, "latency_cycles": {"value": 66}}
    document = {
        "schema": "stochflow.choice/1", "network": "small", "layers": [
            {"id": "hidden", "name": "hidden", "index": 0, "bitstream_length": 32, "precision": 4,
             "folding": 3, "rng": "sobol", "polynomial": None, "seed": 0, "decorrelation": "permuted",
             "width": 8, "dimension": 1, "allow": [], "fold_cycles": 2,
             "input_rng": RngSpec(kind="sobol", width=8, dimension=2).to_dict(), **figures},
            {"id": "out", "name": "out", "index": 1, "bitstream_length": 32, "precision": 4,
             "folding": 5, "rng": "lfsr", "polynomial": 0x829, "seed": 7, "decorrelation": "shared",
             "width": 12, "structure": "galois", "allow": [], "fold_cycles": 1, **figures},
        ],
    }
    chosen = apply_choice(spec, document)
    assert chosen.layers[0].weight_rng == RngSpec(kind="sobol", width=8, seed=0)
    assert chosen.layers[1].weight_rng == RngSpec(width=12, polynomial=0x829, seed=7,
                                                  structure="galois", decorrelation="shared")
    assert chosen.build().layers[0].fold_cycles == 2


def test_apply_choice_flat_and_nested(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path))
    choice = json.loads(json.dumps({
        "schema": "anything", "predicted": {"lut": 1234},
        "layers": [
            {"name": "hidden", "bitstream_length": 128, "precision": 5, "rng": "lfsr", "width": 16,
             "polynomial": 0xD008, "seed": 44257, "decorrelation": "rotated", "folding": 2,
             "input_rng": {"kind": "sobol", "width": 8, "dimension": 2}},
            {"index": 1, "bitstream_length": 128,
             "weight_rng": {"kind": "vdc", "width": 6, "decorrelation": "shared", "seed": 0}},
        ],
    }))
    chosen = apply_choice(spec, choice)
    hidden, out = chosen.layers
    assert hidden.weight_rng == RngSpec(width=16, polynomial=0xD008, seed=44257, decorrelation="rotated")
    assert hidden.input_rng == RngSpec(kind="sobol", width=8, dimension=2)
    assert (hidden.bitstream_length, hidden.precision, hidden.folding, hidden.fold_cycles) == (128, 5, 2, 3)
    assert out.weight_rng == RngSpec(kind="vdc", width=6, decorrelation="shared", seed=0)
    network = chosen.build()
    golden.run(network, np.zeros((1, 5), np.int32))


@pytest.mark.parametrize(
    ("choice", "pattern"),
    [
        ({"layers": [{"name": "hidden", "bitsream_length": 64}]}, r"choice\.layers\[0\]\.bitsream_length: unknown key; expected one of name, index"),
        ({"layers": [{"name": "hidden", "seed": 0}]}, r"choice\.layers\[0\]\.weight_rng\.seed: a zero seed"),
        ({"layers": [{"name": "hidden", "bitstream_length": 128}]}, r"layer\[1\]\.bitstream_length: the stream architecture shares one length"),
        ({"layers": [{"name": "out"}, {"index": 1}]}, r"choice\.layers\[1\]: layer 'out' is chosen twice"),
        ({"layers": [{"name": "hidden", "index": 1}]}, r"choice\.layers\[0\]\.index: layer 'hidden' is index 0, not 1"),
        ({"layers": [{"name": "h2"}]}, r"choice\.layers\[0\]: no layer 'h2'"),
        ({"network": "small"}, r"choice\.layers: missing"),
        ({"layers": [{"name": "hidden", "rng": "lfsr", "weight_rng": {"seed": 3}}]}, r"either flat or as a table"),
        ({"layers": [{"name": "hidden", "folding": 2, "fold_cycles": 2}]}, r"choice\.layers\[0\]\.fold_cycles: folding 2 takes 3 cycles per period, not 2"),
    ],
)
def test_bad_choice_names_the_entry(tmp_path: Path, choice: object, pattern: str) -> None:
    spec = load_spec(_write(tmp_path))
    with pytest.raises(SpecError) as caught:
        apply_choice(spec, choice, source="choice.json")
    assert re.search(pattern, str(caught.value)), str(caught.value)
    assert str(caught.value).startswith("choice.json: ")


# --- weight files -------------------------------------------------------------------------------


def test_integer_weights_round_trip(tmp_path: Path) -> None:
    network = load_spec(REPO / "examples" / "digits" / "network.toml").build()
    save_network_weights(network, tmp_path / "weights.npz")
    assert (tmp_path / "weights.npz").stat().st_mode & 0o777 == 0o644
    loaded = load_network_weights(tmp_path / "weights.npz", network.config)
    assert loaded.design_hash == network.design_hash
    renamed = NetworkConfig(
        "digits", tuple(layer.with_knobs(name=f"x{k}") for k, layer in enumerate(network.layers))
        , network.config.architecture,
    )
    with pytest.raises(SpecError, match=r"names: the file holds layers \['hidden', 'output'\]"):
        load_network_weights(tmp_path / "weights.npz", renamed)
    save_float_weights(load_spec(REPO / "examples" / "tiny" / "network.toml").float_layers, tmp_path / "f.npz")
    with pytest.raises(SpecError, match=r"format: expected 'stochflow\.integer-weights/1'"):
        load_network_weights(tmp_path / "f.npz", network.config)


# --- quantisation ----------------------------------------------------------------------------


def _float_layer(seed: int = 0) -> FloatLayer:
    rng = np.random.default_rng(seed)
    return FloatLayer(rng.normal(0, 0.5, (6, 10)), rng.normal(0, 0.2, 6), 2.0, 3.0)


def test_quantisation_round_trip_and_threshold_rule() -> None:
    layer = _float_layer()
    for precision in (4, 8, 12):
        weights = quantise_layer(layer, precision)
        effective = layer.effective()
        step = 1.0 / ((1 << precision) * weights.threshold)
        assert np.abs(dequantise_layer(weights, precision) - effective).max() <= step / 2 + 1e-12
        assert weights.clip_fraction == 0.0
        # θ + 1 would clip: θ is the largest that does not
        bigger = np.rint(np.abs(effective) * (weights.threshold + 1) * (1 << precision))
        assert bigger.max() > (1 << precision) - 1
        assert weights.threshold == automatic_threshold(effective, precision)


def test_explicit_threshold_clips_and_reports() -> None:
    layer = _float_layer()
    weights = quantise_layer(layer, 6, threshold=40)
    magnitudes = np.abs(np.concatenate([weights.weights, weights.bias[:, None]], axis=1))
    assert weights.threshold == 40
    assert magnitudes.max() == 63
    raw = np.rint(np.abs(layer.effective()) * 40 * 64)
    assert weights.clip_fraction == pytest.approx(float((raw > 63).mean()))
    assert 0 < weights.clip_fraction < 1
    zero = FloatLayer(np.zeros((2, 3)), np.zeros(2), 1.0, 1.0)
    assert quantise_layer(zero, 8).threshold == 1


def test_quantised_layer_rate_follows_float_relu() -> None:
    """rate ≈ clamp(relu(W a + b) / λ_out, 0, 1) at a long bitstream."""
    layer = FloatLayer(np.array([[0.8, -0.4, 0.3], [0.5, 0.5, 0.5]]), np.array([0.1, -0.2]), 1.0, 1.0)
    config = LayerConfig(
        "q", 3, 2, bitstream_length=4096, precision=10,
        weight_rng=RngSpec(width=16, seed=0xACE1), input_rng=RngSpec(width=16, seed=0x1D2C),
    )
    spec = NetworkSpec("q", "stream", (config,), (layer,))
    x = np.array([[0.5, 0.25, 1.0], [1.0, 0.0, 0.0], [0.1, 0.9, 0.3]])
    rates = golden.run(spec.build(), golden.quantise_inputs(x, 10)).counts[0] / 4096
    expected = np.clip(np.maximum(x @ layer.weight.T + layer.bias, 0), 0, 1)
    assert np.abs(rates - expected).max() < 0.03


def test_float_layer_refuses_bad_scales() -> None:
    with pytest.raises(SpecError, match="output_scale: expected a positive finite number"):
        FloatLayer(np.zeros((2, 3)), np.zeros(2), 1.0, 0.0)
    with pytest.raises(SpecError, match=r"bias: expected shape \(2,\)"):
        FloatLayer(np.zeros((2, 3)), np.zeros(3), 1.0, 1.0)


# --- datasets ---------------------------------------------------------------------------------


def test_digits_dataset_split_is_fixed() -> None:
    data = load_dataset("sklearn-digits")
    assert data.x_train.shape == (1348, 64) and data.x_test.shape == (449, 64)
    assert data.x_train.dtype == np.float64 and data.y_test.dtype == np.int64
    assert data.x_train.min() >= 0.0 and data.x_train.max() == 1.0
    assert sorted(set(data.y_test.tolist())) == list(range(10))
    assert data.classes == 10 and data.image_shape == (8, 8)
    assert np.array_equal(load_dataset("sklearn-digits").x_test, data.x_test)
    with pytest.raises(SpecError, match=r"network\.dataset: expected one of sklearn-digits"):
        load_dataset("mnist")
