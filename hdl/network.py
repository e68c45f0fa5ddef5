"""A buildable network: validated knobs plus the integer weights the hardware holds.

This is what both the RTL generator and the golden model take. It is produced from a
network spec (TOML + float weights) by quantisation, or from a saved ``weights.npz``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from stochflow import __version__

from .config import LayerConfig, NetworkConfig
from .errors import SpecError

HASH_SCHEMA = "stochflow.design-hash/1"


@dataclass(frozen=True, eq=False)
class LayerWeights:
    """Sign-magnitude integer weights of one layer, as the RTL holds them.

    ``weights[i, j]`` is neuron ``i``'s weight on input ``j``; ``bias[i]`` is the weight
    of the always-one bias column. Magnitudes are at most ``2^p - 1``.
    ``clip_fraction`` is the share of float weights quantisation had to clip (0 when
    the layer was given integer weights directly).
    """

    weights: np.ndarray
    bias: np.ndarray
    threshold: int
    clip_fraction: float = 0.0

    def validate(self, layer: LayerConfig, field: str) -> None:
        limit = (1 << layer.precision) - 1
        if self.weights.shape != (layer.n_out, layer.n_in):
            raise SpecError(
                f"{field}.weights",
                f"expected shape ({layer.n_out}, {layer.n_in}), got {tuple(self.weights.shape)}",
            )
        if self.bias.shape != (layer.n_out,):
            raise SpecError(f"{field}.bias", f"expected shape ({layer.n_out},), got {tuple(self.bias.shape)}")
        for name, array in (("weights", self.weights), ("bias", self.bias)):
            if not np.issubdtype(array.dtype, np.integer):
                raise SpecError(f"{field}.{name}", f"expected integers, got dtype {array.dtype}")
            if array.size and int(np.abs(array).max()) > limit:
                raise SpecError(
                    f"{field}.{name}",
                    f"magnitudes must fit {layer.precision} bits (≤ {limit}), got {int(np.abs(array).max())}",
                )
        if isinstance(self.threshold, bool) or not isinstance(self.threshold, int) or self.threshold < 1:
            raise SpecError(f"{field}.threshold", f"expected an integer ≥ 1, got {self.threshold!r}")

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for array in (self.weights, self.bias):
            digest.update(np.ascontiguousarray(array, dtype="<i4").tobytes())
        digest.update(str(self.threshold).encode())
        return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class Network:
    """Knobs + integer weights: everything needed to generate RTL or run the golden model."""

    config: NetworkConfig
    weights: tuple[LayerWeights, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.config.layers):
            raise SpecError(
                "layer", f"{len(self.config.layers)} layers but {len(self.weights)} weight sets"
            )
        for index, (layer, weights) in enumerate(zip(self.config.layers, self.weights, strict=True)):
            weights.validate(layer, f"layer[{index}]")
            if layer.threshold is not None and layer.threshold != weights.threshold:
                raise SpecError(
                    f"layer[{index}].threshold",
                    f"knob says {layer.threshold} but the weights were quantised for {weights.threshold}",
                )
            membrane = layer.resolved_membrane_bits(weights.threshold)
            if membrane < layer.min_membrane_bits(weights.threshold):
                raise SpecError(
                    f"layer[{index}].membrane_bits",
                    f"{membrane} bits cannot hold threshold {weights.threshold} + {layer.columns} "
                    f"columns; need {layer.min_membrane_bits(weights.threshold)}",
                )

    @property
    def layers(self) -> tuple[LayerConfig, ...]:
        return self.config.layers

    def membrane_bits(self, index: int) -> int:
        return self.layers[index].resolved_membrane_bits(self.weights[index].threshold)

    def layer_record(self, index: int) -> dict[str, Any]:
        """The per-layer entry of design.json: knobs with every default resolved."""
        layer, weights = self.layers[index], self.weights[index]
        record = layer.to_dict()
        record["threshold"] = weights.threshold
        record["membrane_bits"] = self.membrane_bits(index)
        record["weights_sha256"] = weights.sha256()
        record["clip_fraction"] = weights.clip_fraction
        return record

    @cached_property
    def weights_sha256(self) -> str:
        digest = hashlib.sha256()
        for weights in self.weights:
            digest.update(weights.sha256().encode())
        return digest.hexdigest()

    @cached_property
    def design_hash(self) -> str:
        """Identity of the design point: knobs, integer weights and generator version."""
        canonical = {
            "schema": HASH_SCHEMA,
            "generator": __version__,
            "architecture": self.config.architecture,
            "layers": [self.layer_record(i) for i in range(len(self.layers))],
        }
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def input_precision(self) -> int:
        return self.layers[0].precision

    @property
    def cycles_per_period(self) -> int:
        """Clock cycles per global bit-period in the stream architecture."""
        return max(layer.fold_cycles for layer in self.layers)
