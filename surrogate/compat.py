"""The established optimiser's Python API on top of stochflow's surrogate and selector.

Users of ``SurrogateSCOptimizer`` / ``fit_to_target`` switch by changing the import::

    from stochflow.surrogate import (
        SurrogateSCOptimizer, TargetHardwareProfile, HardwareBudget, LayerProfile,
    )
    report = SurrogateSCOptimizer(target).optimise([LayerProfile("enc", 256, True)])

What differs, because stochflow never invents a number:

- A :class:`LayerProfile` has only a MAC count. It becomes one fully connected layer
  that encodes its own inputs, ``n_in = ceil(sqrt(macs))`` inputs and
  ``n_out = ceil(macs / n_in)`` neurons; layers are independent (latencies add, as in the
  ``regenerate`` architecture). Costs come from the *family prior* of the target
  (``prior:<family>``, Yosys-calibrated, threshold assumed ``2^p``); accuracy from the
  ``model:sc-stream-error`` proxy (no weights exist to run the golden model on).
  ``accuracy_score`` is therefore ``None``; ``error_proxy`` and ``utility_score``
  (``-error``, critical-path layers weighted 1.5× as the established tool does) rank.
- The target's family comes from its name (a registry name like ``ice40-up5k`` or a
  name starting with a family: ``ice40…``, ``ecp5…``, ``xc7…``/``artix7…``/``xilinx7…``,
  ``cyclone…``/``intel…``). A power budget needs ``clock_mhz`` and a cited
  ``static_power_w`` on the profile; without them :meth:`optimise` raises.
- :func:`optimise_from_synthesis_reports` is the one function here that imports
  :mod:`stochflow.flow` (lazily, to parse reports into an observation).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl.config import LayerConfig, RngSpec

from .accuracy import StreamErrorModel
from .evidence import ObservationLoadError, load_observations, observations_from_payload
from .features import layer_feature_matrix
from .observation import BenchmarkObservation, Observation
from .optimise import TargetInfo, fit_models, score_layer
from .prior import PriorUnavailable
from .selector import Budget, BudgetError, Problem, select
from .space import SpaceLimits, layer_space

__all__ = [
    "BenchmarkObservation",
    "HardwareBudget",
    "LayerProfile",
    "ObservationLoadError",
    "OptimizationResult",
    "OptimizationStep",
    "SurrogateLayerConfig",
    "SurrogateOptimizerReport",
    "SurrogateSCOptimizer",
    "SynthesisFeedbackResult",
    "TargetHardwareProfile",
    "fit_to_target",
    "load_observations",
    "observations_from_payload",
    "optimise_from_evidence_payload",
    "optimise_from_synthesis_reports",
]

CRITICAL_PATH_WEIGHT = 1.5
_FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("ice40", "ice40"), ("ecp5", "ecp5"), ("xilinx7", "artix7"), ("artix7", "artix7"),
    ("xc7", "artix7"), ("intel", "cyclone10lp"), ("cyclone", "cyclone10lp"), ("10cl", "cyclone10lp"),
    ("5cs", "cyclone5"),
)


@dataclass(frozen=True)
class HardwareBudget:
    max_luts: int
    max_power_mw: float | None = None
    max_latency_cycles: int | None = None


@dataclass(frozen=True)
class LayerProfile:
    id: str
    mac_count: int
    is_critical_path: bool = False


@dataclass(frozen=True)
class TargetHardwareProfile:
    """A target name, its budget and what power needs (clock, cited static power)."""

    name: str
    budget: HardwareBudget
    clock_mhz: float | None = None
    static_power_w: float | None = None
    static_source: str | None = None

    def target_info(self) -> TargetInfo:
        lowered = self.name.lower()
        for prefix, family in _FAMILY_PREFIXES:
            if lowered.startswith(prefix):
                return TargetInfo(self.name, family, self.static_power_w, self.static_source)
        raise PriorUnavailable(
            f"target {self.name!r}: cannot tell its FPGA family; start the name with one of "
            f"{', '.join(p for p, _ in _FAMILY_PREFIXES)}"
        )


@dataclass(frozen=True)
class SurrogateLayerConfig:
    bitstream_length: int
    decorrelator: str  # the source kind: LFSR, Sobol, VdC
    decorrelation: str  # shared, permuted, rotated, independent
    precision_bits: int
    lfsr_polynomial: str  # "x16+x15+x13+x4+1", or "none" for other sources
    folding: int
    luts_used: float
    power_used: float | None
    latency_cycles: int
    error_proxy: float
    utility_score: float
    accuracy_score: float | None = None
    sources: dict[str, str] = field(default_factory=dict)
    mode: str = "SC"


@dataclass(frozen=True)
class SurrogateOptimizerReport:
    config: dict[str, SurrogateLayerConfig]
    total_luts: float
    total_power_mw: float | None
    total_latency_cycles: int
    mean_accuracy: float | None
    training_points: int
    target_name: str
    rejected_layers: list[str] = field(default_factory=list)
    binding: list[str] = field(default_factory=list)
    why_rejected: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return not self.rejected_layers


def polynomial_text(mask: int | None) -> str:
    """A tap mask as the established tool writes it: ``x16+x15+x13+x4+1``."""
    if mask is None:
        return "none"
    terms = [f"x{k + 1}" for k in range(mask.bit_length() - 1, -1, -1) if mask >> k & 1]
    return "+".join(terms) + "+1"


def profile_layer(profile: LayerProfile) -> LayerConfig:
    """The fully connected layer standing in for a MAC count (see the module docs)."""
    if profile.mac_count < 1:
        raise ValueError(f"layer {profile.id!r}: mac_count must be ≥ 1, got {profile.mac_count}")
    n_in = math.ceil(math.sqrt(profile.mac_count))
    n_out = math.ceil(profile.mac_count / n_in)
    name = profile.id if profile.id.isidentifier() else "layer"
    return LayerConfig(name=name, n_in=n_in, n_out=n_out, input_rng=RngSpec(seed=7))


class SurrogateSCOptimizer:
    """Budgeted per-layer SC configuration (exact selection, learned residuals)."""

    def __init__(
        self,
        target: TargetHardwareProfile,
        *,
        bitstream_options: Iterable[int] | None = None,
        precision_options: Iterable[int] | None = None,
        lfsr_polynomials: Iterable[int] | None = None,
        observations: Iterable[Observation] = (),
        confidence: float = 0.9,
    ) -> None:
        self.target = target
        limits = SpaceLimits()
        changes: dict[str, Any] = {}
        if bitstream_options is not None:
            changes["lengths"] = tuple(sorted({int(v) for v in bitstream_options}))
        if precision_options is not None:
            changes["precisions"] = tuple(sorted({int(v) for v in precision_options}))
        if lfsr_polynomials is not None:
            masks = tuple(int(m) for m in lfsr_polynomials)
            changes["polynomials"] = {m.bit_length(): tuple(x for x in masks if x.bit_length() == m.bit_length()) for m in masks}
            changes["widths"] = tuple(sorted({m.bit_length() for m in masks}))
        self.limits = limits.restricted(**changes) if changes else limits
        self.observations = tuple(observations)
        self.confidence = confidence

    def optimise(self, network: Sequence[LayerProfile]) -> SurrogateOptimizerReport:
        info = self.target.target_info()
        if not network:
            return SurrogateOptimizerReport({}, 0.0, None, 0, None, 0, self.target.name)
        models = fit_models(info, self.observations, clock_mhz=self.target.clock_mhz)
        budget = Budget(
            luts=self.target.budget.max_luts,
            power_mw=self.target.budget.max_power_mw,
            latency_cycles=self.target.budget.max_latency_cycles,
        )
        accuracy = StreamErrorModel()
        layers = []
        for profile in network:
            space = layer_space(profile_layer(profile), 0, "regenerate", self.limits)
            error = accuracy.layer_errors(space)
            if profile.is_critical_path:
                error = error * CRITICAL_PATH_WEIGHT
            layers.append(score_layer(space, models, error, accuracy.source, self.confidence))
        problem = Problem(
            config=None, layers=layers, budget=budget, confidence=self.confidence,
            power_constant_mw=models.prior.network_power_mw() if models.power else None,
            power_reason=None if models.power else models.prior.power_unavailable_reason(),
            architecture="regenerate",
        )
        try:
            selection = select(problem)
        except BudgetError as error:
            raise ValueError(str(error)) from None
        training = models.lut.training_points
        if not selection.feasible:
            named = [u["layer"] for u in selection.unplaceable if u["layer"]]
            rejected = [p.id for p in network if profile_layer(p).name in named] or [p.id for p in network]
            return SurrogateOptimizerReport(
                {}, 0.0, None, 0, None, training, self.target.name, rejected_layers=rejected,
                why_rejected=[u["why"] for u in selection.unplaceable]
                + [f"raise {k} by {v:.4g}" for k, v in selection.increases.items() if v is not None],
            )
        config = {}
        for profile, choice in zip(network, selection.choices, strict=True):
            knobs = choice.knobs
            power = choice.metrics.get("power_mw")
            config[profile.id] = SurrogateLayerConfig(
                bitstream_length=knobs["bitstream_length"],
                decorrelator={"lfsr": "LFSR", "sobol": "Sobol", "vdc": "VdC"}[knobs["rng"]],
                decorrelation=knobs["decorrelation"],
                precision_bits=knobs["precision"],
                lfsr_polynomial=polynomial_text(knobs["polynomial"]),
                folding=knobs["folding"],
                luts_used=choice.metrics["luts"]["value"],
                power_used=None if power is None else power["value"],
                latency_cycles=choice.metrics["latency_cycles"]["value"],
                error_proxy=choice.error,
                utility_score=-choice.error,
                sources={"luts": choice.metrics["luts"]["source"], "error": choice.error_source},
            )
        power_total = selection.totals.get("power_mw")
        return SurrogateOptimizerReport(
            config=config,
            total_luts=selection.totals["luts"]["value"],
            total_power_mw=None if power_total is None else power_total["value"],
            total_latency_cycles=int(selection.totals["latency_cycles"]["value"]),
            mean_accuracy=None,
            training_points=training,
            target_name=self.target.name,
            binding=list(selection.binding),
        )


@dataclass(frozen=True)
class SynthesisFeedbackResult:
    evidence_payload: dict[str, Any]
    observations: tuple[Observation, ...]
    report: SurrogateOptimizerReport


def optimise_from_evidence_payload(
    *, network: Sequence[LayerProfile], target: TargetHardwareProfile, payload: Mapping[str, Any]
) -> SynthesisFeedbackResult:
    """Load observations strictly from a payload and optimise with them."""
    observations = tuple(observations_from_payload(payload))
    report = SurrogateSCOptimizer(target, observations=observations).optimise(network)
    return SynthesisFeedbackResult(dict(payload), observations, report)


def optimise_from_synthesis_reports(
    *,
    network: Sequence[LayerProfile],
    target: TargetHardwareProfile,
    design_path: str | Path,
    utilisation_path: str | Path,
    power_path: str | Path | None,
    accuracy_score: float,
    timing_path: str | Path | None = None,
    latency_cycles: int | None = None,
    clock_mhz: float | None = None,
    inferences_per_run: int | None = None,
    registry_target: str | None = None,
) -> SynthesisFeedbackResult:
    """Parse a build's reports into an observation, then optimise with it.

    The one place in the surrogate that imports :mod:`stochflow.flow` (lazily): report
    parsing and the design/report consistency checks live there.
    """
    from stochflow.flow.collect import build_observation

    from .evidence import payload_from_observations

    observation = build_observation(
        design_path, utilisation_path, power_path, timing_path,
        accuracy_score=accuracy_score, latency_cycles=latency_cycles, clock_mhz=clock_mhz,
        inferences_per_run=inferences_per_run, target=registry_target,
    )
    payload = payload_from_observations([observation])
    return optimise_from_evidence_payload(network=network, target=target, payload=payload)


# -- fit_to_target ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizationStep:
    action: str
    luts_before: float
    luts_after: float


@dataclass(frozen=True)
class OptimizationResult:
    target: str
    fits: bool
    final_luts: float
    target_luts: float
    utilization_pct: float
    final_bitstream_length: int
    final_precision: int
    final_sparsity: float
    steps: list[OptimizationStep]
    weights: list[np.ndarray]
    source: str

    def summary(self) -> str:
        lines = [
            f"Resource Optimization: {self.target}",
            f"  Fits: {'YES' if self.fits else 'NO'}",
            f"  LUTs: {self.final_luts:,.0f} / {self.target_luts:,.0f} ({self.utilization_pct:.1f}%) [{self.source}]",
            f"  Bitstream length: {self.final_bitstream_length}",
            f"  Precision: {self.final_precision} bits",
            f"  Sparsity: {self.final_sparsity:.1%}",
            f"  Steps taken: {len(self.steps)}",
        ]
        lines += [f"    {s.action}: {s.luts_before:,.0f} -> {s.luts_after:,.0f} LUTs" for s in self.steps]
        return "\n".join(lines)


def fit_to_target(
    layer_sizes: Sequence[tuple[int, int]],
    weights: Sequence[np.ndarray],
    target: str = "ice40",
    *,
    max_luts: int,
    max_iterations: int = 10,
    min_bitstream_length: int = 32,
    initial_bitstream_length: int = 256,
    initial_precision: int = 16,
    min_precision: int = 4,
) -> OptimizationResult:
    """Shorten L, prune small weights and quantise until the prior says it fits ``max_luts``.

    ``layer_sizes[k] = (n_in, n_out)``, ``weights[k]`` of shape ``(n_out, n_in)`` (the
    established tool's ``(n_inputs, n_neurons)`` order is accepted when transposed fits).
    Device capacities are not typed anywhere in stochflow, so ``max_luts`` is explicit.
    Unfolded comparators exist only for non-zero weights, so pruning lowers the prior's
    comparator count by the density.
    """
    if len(layer_sizes) != len(weights):
        raise ValueError(f"{len(layer_sizes)} layer sizes but {len(weights)} weight arrays")
    info = TargetHardwareProfile(target, HardwareBudget(max_luts)).target_info()
    models = fit_models(info)
    current = [np.array(w, dtype=float) for w in weights]
    for k, ((n_in, n_out), w) in enumerate(zip(layer_sizes, current, strict=True)):
        if w.shape == (n_in, n_out) and (n_in, n_out) != (n_out, n_in):
            current[k] = w.T
        elif w.shape != (n_out, n_in):
            raise ValueError(f"layer {k}: weights {w.shape} do not match size {(n_in, n_out)}")
    length, precision = initial_bitstream_length, initial_precision

    def estimate() -> float:
        total = 0.0
        for k, (n_in, n_out) in enumerate(layer_sizes):
            layer = LayerConfig(name=f"l{k}", n_in=n_in, n_out=n_out, bitstream_length=length,
                                precision=precision, input_rng=RngSpec(seed=7))
            space = layer_space(layer, k, "regenerate",
                                SpaceLimits(lengths=(length,), precisions=(precision,),
                                            rng_kinds=("lfsr",), widths=(16,), lfsr_seeds=1,
                                            decorrelations=("permuted",), foldings=(n_in + 1,)),
                                last=k == len(layer_sizes) - 1)
            features = layer_feature_matrix(space)
            density = float(np.count_nonzero(current[k])) / current[k].size if current[k].size else 0.0
            features[:, 1] *= density  # const_compare_bits: only non-zero weights compare
            total += float(models.lut.predict(features, 0.5).value[0])
        return total

    steps: list[OptimizationStep] = []
    luts = estimate()
    threshold = 1e-3
    for _ in range(max_iterations):
        if luts <= max_luts:
            break
        before = luts
        if length > min_bitstream_length:
            length = max(length // 2, min_bitstream_length)
            action = f"Reduce L to {length}"
        elif precision > min_precision:
            precision = max(precision - 2, min_precision)
            scale = max(float(np.max(np.abs(np.concatenate([w.ravel() for w in current])))), 1e-12)
            step = scale / ((1 << precision) - 1)
            current = [np.round(w / step) * step for w in current]
            action = f"Quantise to {precision} bits"
        else:
            threshold *= 10
            current = [np.where(np.abs(w) < threshold, 0.0, w) for w in current]
            action = f"Prune |w| < {threshold:g}"
        luts = estimate()
        steps.append(OptimizationStep(action, before, luts))
    total = sum(w.size for w in current)
    zeros = sum(int(np.count_nonzero(w == 0)) for w in current)
    return OptimizationResult(
        target=target, fits=luts <= max_luts, final_luts=luts, target_luts=float(max_luts),
        utilization_pct=100.0 * luts / max_luts, final_bitstream_length=length,
        final_precision=precision, final_sparsity=zeros / total if total else 0.0,
        steps=steps, weights=current, source=models.lut.source,
    )
