"""Train the digits example: a 64-32-10 ReLU MLP on scikit-learn's 8×8 digits.

Writes ``weights.npz`` (float weights and activation scales) and ``network.toml``
beside this script, then prints float and SC (golden model) accuracy on the
held-out split at several bitstream lengths. Deterministic; takes seconds.

    python examples/digits/train.py              # train, write both files, evaluate
    python examples/digits/train.py --evaluate   # only evaluate the files as they are
    python examples/digits/train.py --evaluate --sweep   # and compare alternative knobs
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from stochflow.hdl import golden
from stochflow.hdl.dataset import Dataset, load_dataset
from stochflow.hdl.quantise import FloatLayer
from stochflow.hdl.spec import NetworkSpec, load_spec
from stochflow.hdl.weights_io import activation_scale, save_float_weights
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
HIDDEN = 32
LENGTHS = (64, 256, 1024)

NETWORK_TOML = """\
# The digits example: a 64-32-10 rate-coded SC network for scikit-learn's 8x8 digits.
# Written by train.py (float weights and activation scales in weights.npz).

[network]
name = "digits"
architecture = "stream"
dataset = "sklearn-digits"
weights = "weights.npz"

[defaults]
bitstream_length = 256
precision = 8
membrane_init = "half_threshold"
leak = 0

[defaults.weight_rng]
kind = "lfsr"
width = 16
structure = "fibonacci"
decorrelation = "permuted"

[defaults.input_rng]
kind = "lfsr"
width = 16
seed = 0x1D2C
structure = "fibonacci"
decorrelation = "permuted"

[[layer]]
name = "hidden"
inputs = 64
outputs = {hidden}
weight_rng = {{ seed = 0xACE1 }}

[[layer]]
name = "output"
inputs = {hidden}
outputs = 10
weight_rng = {{ seed = 0x5EED }}
"""


def train_float(data: Dataset) -> tuple[FloatLayer, FloatLayer]:
    """Fit the float MLP (one thread, fixed seed) and scale it by data-based normalisation.

    Activation scales are the 99.9th percentile of each layer's positive activations on
    the training split (inputs are already in [0, 1], scale 1).
    """
    classifier = MLPClassifier(
        hidden_layer_sizes=(HIDDEN,),
        activation="relu",
        alpha=1e-2,
        batch_size=64,
        learning_rate_init=1e-2,
        max_iter=400,
        random_state=0,
    )
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(data.x_train, data.y_train)
    w1, w2 = (np.ascontiguousarray(c.T) for c in classifier.coefs_)
    b1, b2 = classifier.intercepts_
    hidden = np.maximum(data.x_train @ w1.T + b1, 0.0)
    hidden_scale = activation_scale(hidden)
    output_scale = activation_scale(hidden @ w2.T + b2)
    return (
        FloatLayer(w1, b1, 1.0, hidden_scale),
        FloatLayer(w2, b2, hidden_scale, output_scale),
    )


def float_predictions(spec: NetworkSpec, x: np.ndarray) -> np.ndarray:
    activations = x
    for layer in spec.float_layers[:-1]:
        activations = np.maximum(activations @ layer.weight.T + layer.bias, 0.0)
    last = spec.float_layers[-1]
    return np.argmax(activations @ last.weight.T + last.bias, axis=1)


def write_text_atomically(path: Path, text: str) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def evaluate(spec: NetworkSpec, data: Dataset, lengths: tuple[int, ...], console: Console) -> None:
    table = Table(title=f"{spec.name}: held-out accuracy ({len(data.y_test)} samples, sim:golden)")
    for column in ("model", "L", "accuracy", "hidden rate", "thresholds", "time"):
        table.add_column(column, justify="right" if column != "model" else "left")
    float_accuracy = float(np.mean(float_predictions(spec, data.x_test) == data.y_test))
    table.add_row("float", "-", f"{float_accuracy:.2%}", "-", "-", "-")
    for length in lengths:
        network = spec.with_knobs(bitstream_length=length).build()
        inputs_q = golden.quantise_inputs(data.x_test, network.input_precision)
        start = time.perf_counter()
        result = golden.run(network, inputs_q)
        elapsed = time.perf_counter() - start
        accuracy = float(np.mean(result.predictions == data.y_test))
        rate = result.counts[0].mean() / length
        thresholds = ", ".join(str(w.threshold) for w in network.weights)
        table.add_row("SC", str(length), f"{accuracy:.2%}", f"{rate:.3f}", thresholds, f"{elapsed:.2f} s")
    console.print(table)
    clips = [w.clip_fraction for w in spec.build().weights]
    console.print(f"clip fractions per layer: {clips}")


SWEEP_SEEDS = ((0xACE1, 0x1D2C, 0x5EED), (0x1234, 0x4321, 0x0F0F), (0xBEEF, 0x7777, 0x2468))


def sweep(spec: NetworkSpec, data: Dataset, lengths: tuple[int, ...], console: Console) -> None:
    """The comparison behind the defaults: precision, decorrelation and membrane start,
    each averaged over three (hidden weight, input, output weight) LFSR seed sets."""
    table = Table(title="held-out accuracy, mean over three seed sets (sim:golden)")
    for column in ("precision", "decorrelation", "membrane_init", *(f"L={n}" for n in lengths)):
        table.add_column(column)
    inputs = {p: golden.quantise_inputs(data.x_test, p) for p in (6, 8)}
    for precision in (6, 8):
        for decorrelation in ("permuted", "rotated"):
            for start in ("half_threshold", "zero"):
                scores = np.zeros(len(lengths))
                for hidden_seed, input_seed, output_seed in SWEEP_SEEDS:
                    source = {"decorrelation": decorrelation}
                    variant = (
                        spec.with_knobs(precision=precision, membrane_init=start)
                        .with_layer_knobs(0, weight_rng={**source, "seed": hidden_seed},
                                          input_rng={**source, "seed": input_seed})
                        .with_layer_knobs(1, weight_rng={**source, "seed": output_seed})
                    )
                    for n, length in enumerate(lengths):
                        network = variant.with_knobs(bitstream_length=length).build()
                        predictions = golden.run(network, inputs[precision]).predictions
                        scores[n] += np.mean(predictions == data.y_test) / len(SWEEP_SEEDS)
                table.add_row(str(precision), decorrelation, start, *(f"{a:.2%}" for a in scores))
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluate", action="store_true", help="skip training; evaluate the files")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for weights.npz and network.toml")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--sweep", action="store_true", help="also compare the default knobs' alternatives")
    args = parser.parse_args()
    console = Console()
    data = load_dataset("sklearn-digits")
    if not args.evaluate:
        args.out.mkdir(parents=True, exist_ok=True)
        with console.status("training the float MLP"):
            layers = train_float(data)
        save_float_weights(layers, args.out / "weights.npz")
        write_text_atomically(args.out / "network.toml", NETWORK_TOML.format(hidden=HIDDEN))
        console.print(f"wrote {args.out / 'weights.npz'} and {args.out / 'network.toml'}")
    spec = load_spec(args.out / "network.toml")
    evaluate(spec, data, tuple(args.lengths), console)
    if args.sweep:
        sweep(spec, data, tuple(args.lengths), console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
