"""Input vectors for a simulation and the packing of ``sc_network``'s flat ports.

Vectors are held-out dataset samples when the network's spec names a dataset (so a
simulation sees the inputs the network is meant for, none it was trained on), else
seeded uniform random floats; both are quantised exactly as the golden model does
(:func:`stochflow.hdl.golden.quantise_inputs`). The port packing is ``design.json``'s:
element ``j`` at bits ``[j·w, (j+1)·w)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from stochflow.hdl.dataset import load_dataset
from stochflow.hdl.errors import SpecError
from stochflow.hdl.golden import quantise_inputs
from stochflow.hdl.network import Network

__all__ = [
    "InputVectors",
    "dataset_vectors",
    "pack_elements",
    "random_vectors",
    "unpack_elements",
]


@dataclass(frozen=True, eq=False)
class InputVectors:
    """Quantised inputs ``(vectors, n_in)`` and where they came from."""

    inputs_q: np.ndarray
    origin: str
    labels: np.ndarray | None = None  # dataset classes, when the vectors are samples

    @property
    def count(self) -> int:
        return int(self.inputs_q.shape[0])


def _check_count(count: int) -> None:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise SpecError("vectors", f"expected an integer ≥ 1, got {count!r}")


def random_vectors(network: Network, count: int, seed: int = 0) -> InputVectors:
    """``count`` seeded uniform floats in [0, 1], quantised at layer 1's precision.

    The first vector holds the extremes (1.0 and 0.0) in its first two inputs, so the
    always-one (``q = 2^p``) and never-one encodings are exercised in every run.
    """
    _check_count(count)
    first = network.layers[0]
    x = np.random.default_rng(seed).random((count, first.n_in))
    x[0, 0] = 1.0
    if first.n_in > 1:
        x[0, 1] = 0.0
    return InputVectors(
        quantise_inputs(x, first.precision),
        f"{count} seeded uniform random vectors (seed {seed})",
    )


def dataset_vectors(network: Network, dataset: str, count: int, offset: int = 0) -> InputVectors:
    """Held-out samples ``offset … offset + count - 1`` of ``dataset``, quantised."""
    _check_count(count)
    data = load_dataset(dataset)
    available = int(data.x_test.shape[0])
    if not 0 <= offset < available:
        raise SpecError("vectors", f"offset {offset} is outside the {available} held-out samples")
    if data.features != network.layers[0].n_in:
        raise SpecError(
            "network.dataset",
            f"{dataset} samples have {data.features} features, the network takes "
            f"{network.layers[0].n_in} inputs",
        )
    end = min(available, offset + count)
    x = data.x_test[offset:end]
    origin = f"{dataset} held-out samples {offset}…{end - 1}"
    if end - offset < count:
        origin += f" (the split holds {available}; asked for {count})"
    return InputVectors(
        quantise_inputs(x, network.layers[0].precision), origin, labels=data.y_test[offset:end]
    )


def pack_elements(values: Sequence[int] | np.ndarray, width: int) -> int:
    """Element ``j`` of ``values`` at bits ``[j·width, (j+1)·width)`` of one integer."""
    word = 0
    for j, value in enumerate(values):
        item = int(value)
        if not 0 <= item < 1 << width:
            raise ValueError(f"element {j} = {item} does not fit {width} bits")
        word |= item << (j * width)
    return word


def unpack_elements(word: int, count: int, width: int) -> np.ndarray:
    """Inverse of :func:`pack_elements`: ``count`` unsigned elements of ``width`` bits."""
    mask = (1 << width) - 1
    return np.array([(word >> (j * width)) & mask for j in range(count)], dtype=np.int64)
