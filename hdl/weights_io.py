"""Weight files: float weights of a spec, integer weights of a design, synthetic weights.

Float weights (``[network] weights = "weights.npz"``), one entry per layer ``k``:
``w{k}`` float ``(n_out, n_in)``, ``b{k}`` float ``(n_out,)``, and ``scales`` float
``(layers + 1,)``: ``scales[k]`` is the activation scale at layer ``k``'s input (the
float activation that maps to rate 1; ``scales[0]`` is the network input's, 1.0 for
inputs in [0, 1]) and ``scales[-1]`` the last layer's output scale. Optional
``format = "stochflow.float-weights/1"``.

Integer weights (a design folder's ``weights.npz``): ``format =
"stochflow.integer-weights/1"``, ``names`` (layer names), and per layer ``w{k}`` /
``b{k}`` int32 sign-magnitude values, ``threshold{k}`` and ``clip_fraction{k}``.
Enough to rebuild the golden model from the folder alone.
"""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .config import NetworkConfig
from .errors import SpecError
from .network import LayerWeights, Network
from .quantise import FloatLayer

FLOAT_FORMAT = "stochflow.float-weights/1"
INTEGER_FORMAT = "stochflow.integer-weights/1"
CALIBRATION_PERCENTILE = 99.9


def _open_npz(path: Path, field: str, source: str | None) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise SpecError(field, f"no such weights file: {path}", source=source)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise SpecError(field, f"{path} is not a readable .npz archive ({error})", source=source) from None


def _check_keys(data: dict[str, np.ndarray], expected: set[str], path: Path) -> None:
    missing = sorted(expected - set(data))
    unknown = sorted(set(data) - expected)
    if missing:
        raise SpecError(missing[0], f"missing from the archive (expected {', '.join(sorted(expected))})", source=str(path))
    if unknown:
        raise SpecError(unknown[0], f"unknown entry (expected {', '.join(sorted(expected))})", source=str(path))


def _check_format(data: dict[str, np.ndarray], expected: str, path: Path, required: bool) -> None:
    if "format" not in data:
        if required:
            raise SpecError("format", f"missing; expected {expected!r}", source=str(path))
        return
    value = data["format"]
    if value.shape != () or str(value) != expected:
        raise SpecError("format", f"expected {expected!r}, got {value!r}", source=str(path))


def load_float_weights(
    path: Path, shapes: list[tuple[int, int]], *, source: str | None = None
) -> tuple[FloatLayer, ...]:
    """Float layers from an npz; ``shapes[k] = (n_out, n_in)`` as the spec declares."""
    data = _open_npz(path, "network.weights", source)
    count = len(shapes)
    expected = {f"w{k}" for k in range(count)} | {f"b{k}" for k in range(count)} | {"scales"}
    if "format" in data:
        expected.add("format")
    _check_format(data, FLOAT_FORMAT, path, required=False)
    _check_keys(data, expected, path)
    scales = np.asarray(data["scales"])
    if scales.shape != (count + 1,) or not np.issubdtype(scales.dtype, np.floating):
        raise SpecError(
            "scales", f"expected {count + 1} float activation scales, got {scales.dtype} {scales.shape}",
            source=str(path),
        )
    layers = []
    for k, (n_out, n_in) in enumerate(shapes):
        weight, bias = data[f"w{k}"], data[f"b{k}"]
        for name, array, shape in ((f"w{k}", weight, (n_out, n_in)), (f"b{k}", bias, (n_out,))):
            if not np.issubdtype(array.dtype, np.floating):
                raise SpecError(name, f"expected float weights, got dtype {array.dtype}", source=str(path))
            if array.shape != shape:
                raise SpecError(
                    name,
                    f"expected shape {shape} (layer[{k}] has {n_in} inputs, {n_out} outputs), "
                    f"got {tuple(array.shape)}",
                    source=str(path),
                )
        try:
            layers.append(FloatLayer(weight, bias, float(scales[k]), float(scales[k + 1])))
        except SpecError as error:
            field = {"weights": f"w{k}", "bias": f"b{k}"}.get(error.field, "scales")
            raise SpecError(field, error.message, source=str(path)) from None
    return tuple(layers)


def save_float_weights(layers: tuple[FloatLayer, ...] | list[FloatLayer], path: str | os.PathLike[str]) -> None:
    """Write float layers and their scales (the format :func:`load_float_weights` reads)."""
    arrays: dict[str, np.ndarray] = {"format": np.array(FLOAT_FORMAT)}
    for k, layer in enumerate(layers):
        arrays[f"w{k}"] = np.asarray(layer.weight, dtype=np.float64)
        arrays[f"b{k}"] = np.asarray(layer.bias, dtype=np.float64)
    scales = [layers[0].input_scale, *(layer.output_scale for layer in layers)]
    arrays["scales"] = np.asarray(scales, dtype=np.float64)
    _write_npz_atomically(Path(path), arrays)


def save_network_weights(network: Network, path: str | os.PathLike[str]) -> None:
    """Write a network's integer weights and thresholds (atomically)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(INTEGER_FORMAT),
        "names": np.array([layer.name for layer in network.layers]),
    }
    for k, weights in enumerate(network.weights):
        arrays[f"w{k}"] = np.asarray(weights.weights, dtype=np.int32)
        arrays[f"b{k}"] = np.asarray(weights.bias, dtype=np.int32)
        arrays[f"threshold{k}"] = np.array(weights.threshold, dtype=np.int64)
        arrays[f"clip_fraction{k}"] = np.array(weights.clip_fraction, dtype=np.float64)
    _write_npz_atomically(Path(path), arrays)


def load_network_weights(path: str | os.PathLike[str], config: NetworkConfig) -> Network:
    """A :class:`Network` from ``config`` and an integer weights file."""
    file = Path(path)
    data = _open_npz(file, "weights", None)
    count = len(config.layers)
    expected = {"format", "names"} | {
        f"{name}{k}" for k in range(count) for name in ("w", "b", "threshold", "clip_fraction")
    }
    _check_format(data, INTEGER_FORMAT, file, required=True)
    _check_keys(data, expected, file)
    names = [str(name) for name in np.atleast_1d(data["names"])]
    if names != [layer.name for layer in config.layers]:
        raise SpecError(
            "names", f"the file holds layers {names}, the network {[layer.name for layer in config.layers]}",
            source=str(file),
        )
    weights = []
    for k in range(count):
        threshold = data[f"threshold{k}"]
        if threshold.shape != () or not np.issubdtype(threshold.dtype, np.integer):
            raise SpecError(f"threshold{k}", f"expected an integer scalar, got {threshold!r}", source=str(file))
        weights.append(
            LayerWeights(
                weights=np.asarray(data[f"w{k}"]),
                bias=np.asarray(data[f"b{k}"]),
                threshold=int(threshold),
                clip_fraction=float(data[f"clip_fraction{k}"]),
            )
        )
    try:
        return Network(config, tuple(weights))
    except SpecError as error:
        raise error.with_source(str(file)) from None


def generated_float_layers(
    shapes: list[tuple[int, int]],
    seed: int,
    *,
    bias_std: float = 0.1,
    calibration_samples: int = 512,
) -> tuple[FloatLayer, ...]:
    """Synthetic ``he-normal`` layers that are active on inputs in [0, 1].

    NumPy's ``default_rng(seed)`` draws ``calibration_samples`` uniform inputs, then per
    layer ``W ~ N(0, 2/n_in)`` and a jitter ``e ~ N(0, bias_std²)``. The bias centres
    each neuron on its calibration inputs, ``b_i = -median(W_i·a) + e_i``, so about half
    of them activate. The output scale is the 99.9th percentile of the positive
    activations, raised when needed to 1.25 × the largest weight in rate units
    (``|W|·λ_in``, ``|b|``) so that θ = 1 clips nothing at precision ≥ 3.
    """
    rng = np.random.default_rng(seed)
    activations = rng.random((calibration_samples, shapes[0][1]))
    input_scale = 1.0
    layers = []
    for n_out, n_in in shapes:
        weight = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
        jitter = rng.normal(0.0, bias_std, size=n_out)
        bias = -np.median(activations @ weight.T, axis=0) + jitter
        activations = np.maximum(activations @ weight.T + bias, 0.0)
        largest = max(float(np.abs(weight).max()) * input_scale, float(np.abs(bias).max()))
        output_scale = max(activation_scale(activations), 1.25 * largest)
        layers.append(FloatLayer(weight, bias, input_scale, output_scale))
        input_scale = output_scale
    return tuple(layers)


def activation_scale(activations: np.ndarray, percentile: float = CALIBRATION_PERCENTILE) -> float:
    """Data-based normalisation: a high percentile of the positive activations."""
    positive = activations[activations > 0]
    return float(np.percentile(positive, percentile)) if positive.size else 1.0


def _write_npz_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **arrays)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would make a shared design folder private
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
