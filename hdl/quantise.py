"""Float layer → sign-magnitude integer weights and threshold (``LayerWeights``).

A float ReLU layer computes ``a_out = relu(W a_in + b)``. Its activations are
rate-coded with *activation scales*: ``λ_in`` is the float input activation that maps
to input rate 1, ``λ_out`` the output activation that maps to output rate 1. The SC
neuron (``docs/arithmetic.md``) fires at ``rate ≈ clamp(E[c]/θ, 0, 1)`` with
``E[c_i] = Σ_j sign_ij (m_ij / 2^p) r_j + sign_ib m_ib / 2^p``, so matching the two needs

    m_ij / (2^p θ) = W_ij λ_in / λ_out,        m_ib / (2^p θ) = b_i / λ_out.

The rule, per layer (precision ``p``, limit ``M = 2^p - 1``):

1. Effective weights ``A = [W λ_in / λ_out | b / λ_out]`` (bias column last).
2. Threshold: the layer's ``threshold`` knob if set; otherwise the largest ``θ`` that
   clips nothing, ``θ = floor(M / (2^p · max|A|))``, at least 1 and at most
   ``MAX_THRESHOLD`` (an all-zero layer gets 1).
3. ``m = round_half_even(|A| · θ · 2^p)``; magnitudes above ``M`` are clipped to ``M``
   and counted: ``clip_fraction`` = clipped entries / all entries (weights and biases).
4. The integer weight is ``sign(A) · m`` (a zero magnitude carries no sign).

A larger θ gives finer weights and a quieter rate (each spike needs more evidence), so
the automatic θ is the largest one the precision allows without clipping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SpecError
from .network import LayerWeights

MAX_THRESHOLD = 1 << 16


@dataclass(frozen=True, eq=False)
class FloatLayer:
    """A trained float layer and the activation scales around it."""

    weight: np.ndarray  # (n_out, n_in)
    bias: np.ndarray  # (n_out,)
    input_scale: float
    output_scale: float

    def __post_init__(self) -> None:
        weight = np.asarray(self.weight, dtype=np.float64)
        bias = np.asarray(self.bias, dtype=np.float64)
        if weight.ndim != 2:
            raise SpecError("weights", f"expected a 2-D array (n_out, n_in), got shape {weight.shape}")
        if bias.shape != (weight.shape[0],):
            raise SpecError("bias", f"expected shape ({weight.shape[0]},), got {bias.shape}")
        for name, array in (("weights", weight), ("bias", bias)):
            if not np.all(np.isfinite(array)):
                raise SpecError(name, "contains NaN or infinity")
        for name in ("input_scale", "output_scale"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (
                math.isfinite(value) and value > 0
            ):
                raise SpecError(name, f"expected a positive finite number, got {value!r}")
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "input_scale", float(self.input_scale))
        object.__setattr__(self, "output_scale", float(self.output_scale))

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.weight.shape[0]), int(self.weight.shape[1])

    def effective(self) -> np.ndarray:
        """``A``: weights in rate units, bias column last, shape ``(n_out, n_in + 1)``."""
        return np.concatenate(
            [self.weight * (self.input_scale / self.output_scale), (self.bias / self.output_scale)[:, None]],
            axis=1,
        )


def automatic_threshold(effective: np.ndarray, precision: int) -> int:
    """The largest θ (1 … ``MAX_THRESHOLD``) at which no ``|A|·θ·2^p`` exceeds ``2^p - 1``."""
    largest = float(np.max(np.abs(effective))) if effective.size else 0.0
    if largest == 0.0:
        return 1
    limit = (1 << precision) - 1
    theta = math.floor(limit / ((1 << precision) * largest))
    # Guard the float division: step down while the largest entry would still round over.
    while theta > 1 and round(largest * theta * (1 << precision)) > limit:
        theta -= 1
    return int(min(max(theta, 1), MAX_THRESHOLD))


def quantise_layer(layer: FloatLayer, precision: int, threshold: int | None = None) -> LayerWeights:
    """Integer weights, bias and threshold of one layer (rule in the module docstring)."""
    effective = layer.effective()
    theta = automatic_threshold(effective, precision) if threshold is None else threshold
    if isinstance(theta, bool) or not isinstance(theta, int) or theta < 1:
        raise SpecError("threshold", f"expected an integer ≥ 1, got {theta!r}")
    limit = (1 << precision) - 1
    magnitude = np.rint(np.abs(effective) * (theta * float(1 << precision)))
    clipped = magnitude > limit
    magnitude = np.minimum(magnitude, limit).astype(np.int64)
    signed = np.where(effective < 0, -magnitude, magnitude).astype(np.int32)
    return LayerWeights(
        weights=np.ascontiguousarray(signed[:, :-1]),
        bias=np.ascontiguousarray(signed[:, -1]),
        threshold=int(theta),
        clip_fraction=float(clipped.mean()) if clipped.size else 0.0,
    )


def dequantise_layer(weights: LayerWeights, precision: int) -> np.ndarray:
    """``A`` as the integers represent it: ``m·sign / (2^p θ)``, bias column last."""
    signed = np.concatenate([weights.weights, weights.bias[:, None]], axis=1).astype(np.float64)
    return signed / (float(1 << precision) * weights.threshold)
