"""The per-layer design space: every knob combination the selector may pick.

A layer's options are the product of bitstream length ``L``, precision ``p``, a random
source variant (kind, width, structure, polynomial, seed, decorrelation), folding and,
for layers folded enough to read their weights from a ROM (``F ≥ ROM_FOLD_CYCLES``),
where that ROM lives (``weight_memory``: LUTs or block RAM).
Ranges come from :class:`SpaceLimits`, which users may narrow. Options are held as
columns of numpy arrays (:class:`LayerSpace`) so the cost and accuracy models can be
evaluated for tens of thousands of options at once.

Random source variants that cost the same hardware (they differ only in seed, or in a
polynomial with the same number of taps) share a *cost class*; the selector keeps only
the most accurate variant of each class, which is an exact dominance step.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from stochflow.hdl.config import (
    DECORRELATIONS,
    LFSR_STRUCTURES,
    MAX_LOG2_LENGTH,
    MAX_PRECISION,
    MIN_LOG2_LENGTH,
    MIN_PRECISION,
    RNG_KINDS,
    ROM_FOLD_CYCLES,
    WEIGHT_MEMORIES,
    LayerConfig,
    NetworkConfig,
    RngSpec,
)
from stochflow.hdl.errors import SpecError
from stochflow.hdl.lfsr_taps import default_polynomial, is_primitive
from stochflow.hdl.rng import check_streams, derived_seed

ALL_LENGTHS: tuple[int, ...] = tuple(1 << k for k in range(MIN_LOG2_LENGTH, MAX_LOG2_LENGTH + 1))
ALL_PRECISIONS: tuple[int, ...] = tuple(range(MIN_PRECISION, MAX_PRECISION + 1))
# Decorrelation schemes each source kind supports (docs/arithmetic.md).
KIND_DECORRELATIONS: dict[str, tuple[str, ...]] = {
    "lfsr": ("shared", "permuted", "rotated", "independent"),
    "sobol": ("shared", "permuted", "independent"),
    "vdc": ("shared", "permuted"),
}
# The stream index used to derive an encoder's LFSR seed from the weight source's seed,
# chosen beyond any weight stream so the two sources never start in step.
_INPUT_SEED_STREAM = 1 << 20


@dataclass(frozen=True)
class SpaceLimits:
    """User-restrictable ranges of every knob (defaults: the full space).

    ``lfsr_seeds`` is how many seeds are tried per LFSR (seed 1 plus SplitMix64-derived
    ones); ``foldings`` lists columns-per-cycle values, or ``None`` for the ladder
    ``columns, ceil(columns/2), ceil(columns/4), … 1``; ``weight_memories`` where a
    weight ROM may live (``block`` applies only to layers that have one).
    """

    lengths: tuple[int, ...] = ALL_LENGTHS
    precisions: tuple[int, ...] = ALL_PRECISIONS
    rng_kinds: tuple[str, ...] = RNG_KINDS
    widths: tuple[int, ...] = (8, 16)
    structures: tuple[str, ...] = ("fibonacci",)
    polynomials: Mapping[int, tuple[int, ...]] = field(default_factory=dict)
    lfsr_seeds: int = 4
    decorrelations: tuple[str, ...] = DECORRELATIONS
    foldings: tuple[int, ...] | None = None
    weight_memories: tuple[str, ...] = WEIGHT_MEMORIES

    def __post_init__(self) -> None:
        for name in ("lengths", "precisions", "rng_kinds", "widths", "structures", "decorrelations",
                     "weight_memories"):
            values = getattr(self, name)
            if not isinstance(values, tuple) or not values:
                raise SpecError(f"space.{name}", "expected a non-empty list")
        for length in self.lengths:
            if length not in ALL_LENGTHS:
                raise SpecError("space.lengths", f"expected powers of two 16…4096, got {length}")
        for precision in self.precisions:
            if precision not in ALL_PRECISIONS:
                raise SpecError("space.precisions", f"expected 2…16, got {precision}")
        for kind in self.rng_kinds:
            if kind not in RNG_KINDS:
                raise SpecError("space.rng_kinds", f"expected one of {', '.join(RNG_KINDS)}, got {kind!r}")
        for width in self.widths:
            if isinstance(width, bool) or not isinstance(width, int) or not 3 <= width <= 32:
                raise SpecError("space.widths", f"expected widths 3…32, got {width!r}")
        for structure in self.structures:
            if structure not in LFSR_STRUCTURES:
                raise SpecError("space.structures", f"expected fibonacci or galois, got {structure!r}")
        for decorrelation in self.decorrelations:
            if decorrelation not in DECORRELATIONS:
                raise SpecError(
                    "space.decorrelations",
                    f"expected one of {', '.join(DECORRELATIONS)}, got {decorrelation!r}",
                )
        for memory in self.weight_memories:
            if memory not in WEIGHT_MEMORIES:
                raise SpecError(
                    "space.weight_memories",
                    f"expected one of {', '.join(WEIGHT_MEMORIES)}, got {memory!r}",
                )
        for width, masks in self.polynomials.items():
            for mask in masks:
                if not is_primitive(mask, width):
                    raise SpecError(
                        "space.polynomials", f"{mask:#x} is not a maximal-length width-{width} LFSR"
                    )
        if isinstance(self.lfsr_seeds, bool) or not isinstance(self.lfsr_seeds, int) or self.lfsr_seeds < 1:
            raise SpecError("space.lfsr_seeds", f"expected at least 1, got {self.lfsr_seeds!r}")
        if self.foldings is not None and any(
            isinstance(f, bool) or not isinstance(f, int) or f < 1 for f in self.foldings
        ):
            raise SpecError("space.foldings", f"expected positive integers, got {self.foldings!r}")
        if not set(self.precisions) & set(range(MIN_PRECISION, max(self.widths) + 1)):
            raise SpecError("space.precisions", "no precision fits any of the source widths")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "space") -> SpaceLimits:
        """Build from a TOML/JSON table; unknown keys are errors, lists become tuples."""
        known = {f for f in cls.__dataclass_fields__}
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known:
                raise SpecError(f"{where}.{key}", f"unknown key; expected one of {', '.join(sorted(known))}")
            if key == "polynomials":
                if not isinstance(value, Mapping):
                    raise SpecError(f"{where}.polynomials", "expected a table width → list of masks")
                kwargs[key] = {int(w): tuple(int(m) for m in masks) for w, masks in value.items()}
            elif isinstance(value, list):
                kwargs[key] = tuple(value)
            else:
                kwargs[key] = value
        try:
            return cls(**kwargs)
        except SpecError as error:
            raise error.under(where) if not error.field.startswith("space") else error from None

    def restricted(self, **changes: Any) -> SpaceLimits:
        return replace(self, **changes)

    def lfsr_polynomials(self, width: int) -> tuple[int, ...]:
        return self.polynomials.get(width) or (default_polynomial(width),)

    def seeds_for(self, width: int) -> tuple[int, ...]:
        """Deterministic LFSR seeds: 1, then SplitMix64-derived non-zero states."""
        seeds = [1]
        stream = 1
        while len(seeds) < min(self.lfsr_seeds, (1 << width) - 1):
            seed = derived_seed(1, stream, width)
            if seed not in seeds:
                seeds.append(seed)
            stream += 1
        return tuple(seeds)


@dataclass(frozen=True)
class RngVariant:
    """One random-source choice for a layer: the weight source and (if any) the encoder's."""

    weight: RngSpec
    input: RngSpec | None

    @property
    def cost_class(self) -> tuple[Any, ...]:
        """What the hardware cost depends on: not the seed, only the polynomial's tap count."""
        spec = self.weight
        taps = spec.polynomial.bit_count() if spec.polynomial is not None else 0
        return (spec.kind, spec.width, spec.structure if spec.kind == "lfsr" else "", spec.decorrelation, taps)

    @property
    def key(self) -> str:
        """Stable text key of the knobs that change the arithmetic (for caches)."""
        parts = [rng_key(self.weight)]
        if self.input is not None:
            parts.append(rng_key(self.input))
        return "|".join(parts)


def rng_key(spec: RngSpec) -> str:
    poly = f"{spec.polynomial:x}" if spec.polynomial is not None else "-"
    return (
        f"{spec.kind}{spec.width}:{spec.structure if spec.kind == 'lfsr' else '-'}:{poly}"
        f":{spec.seed}:{spec.dimension if spec.kind == 'sobol' else '-'}:{spec.decorrelation}"
    )


def encodes_input(architecture: str, index: int) -> bool:
    """Whether layer ``index`` owns an input source (layer 0, or every layer in regenerate)."""
    return index == 0 or architecture == "regenerate"


def _input_source(weight: RngSpec, columns: int) -> RngSpec | None:
    """The encoder source paired with a weight source: same kind and width, other numbers.

    LFSR: seed derived by SplitMix64 from the weight seed; Sobol: the dimensions right
    after the weight streams'; van der Corput: start index one step ahead. Returns
    ``None`` when the pairing is impossible (Sobol table too short).
    """
    n_in = columns - 1
    if weight.kind == "lfsr":
        seed = derived_seed(weight.seed, _INPUT_SEED_STREAM, weight.width)
        return replace(weight, seed=seed)
    if weight.kind == "sobol":
        used = columns if weight.decorrelation == "independent" else 1
        spec = replace(weight, dimension=weight.dimension + used)
        try:
            check_streams(spec, n_in)
        except SpecError:
            return None
        return spec
    return replace(weight, seed=(weight.seed + 1) % (1 << weight.width))


def rng_variants(layer: LayerConfig, encoder: bool, limits: SpaceLimits) -> list[RngVariant]:
    """Every valid random-source variant of a layer, in a fixed order."""
    variants: list[RngVariant] = []
    streams = layer.columns
    for kind in limits.rng_kinds:
        decorrelations = [d for d in limits.decorrelations if d in KIND_DECORRELATIONS[kind]]
        for width in sorted(set(limits.widths)):
            if kind == "lfsr":
                specs = [
                    RngSpec(kind="lfsr", width=width, polynomial=poly, seed=seed, structure=structure,
                            decorrelation=decorrelation)
                    for structure in limits.structures
                    for poly in limits.lfsr_polynomials(width)
                    for decorrelation in decorrelations
                    for seed in limits.seeds_for(width)
                ]
            elif kind == "sobol":
                specs = [RngSpec(kind="sobol", width=width, seed=0, dimension=1, decorrelation=d)
                         for d in decorrelations]
            else:
                specs = [RngSpec(kind="vdc", width=width, seed=0, decorrelation=d) for d in decorrelations]
            for spec in specs:
                try:
                    check_streams(spec, streams)
                except SpecError:
                    continue
                partner = _input_source(spec, streams) if encoder else None
                if encoder and partner is None:
                    continue
                variants.append(RngVariant(spec, partner))
    return variants


def folding_ladder(layer: LayerConfig, limits: SpaceLimits) -> tuple[int, ...]:
    """Columns-per-cycle values, one per distinct cycle count ``F``, largest first."""
    columns = layer.columns
    if limits.foldings is not None:
        candidates = [f for f in limits.foldings if f <= columns]
        if not candidates:
            raise SpecError("space.foldings", f"no folding ≤ {columns} columns for layer {layer.name}")
    else:
        candidates = []
        step = 1
        while True:
            candidates.append(math.ceil(columns / step))
            if step >= columns:
                break
            step *= 2
    by_cycles: dict[int, int] = {}
    for fold in candidates:
        # The fewest columns per cycle that still needs no more cycles: least area.
        narrowest = math.ceil(columns / math.ceil(columns / fold))
        by_cycles[math.ceil(columns / narrowest)] = narrowest
    return tuple(by_cycles[c] for c in sorted(by_cycles))


@dataclass(frozen=True)
class LayerSpace:
    """All options of one layer as parallel arrays (index ``i`` is option ``i``)."""

    index: int
    layer: LayerConfig
    encoder: bool
    last: bool  # the network's last layer (its counts feed the board's argmax)
    variants: tuple[RngVariant, ...]
    lengths: np.ndarray  # L
    precisions: np.ndarray  # p
    variant: np.ndarray  # index into ``variants``
    folding: np.ndarray  # columns per cycle
    fold_cycles: np.ndarray  # F
    block_memory: np.ndarray | None = None  # weight ROM in block RAM (None: all in logic)

    def __post_init__(self) -> None:
        if self.block_memory is None:
            object.__setattr__(self, "block_memory", np.zeros(self.lengths.size, dtype=bool))

    @property
    def size(self) -> int:
        return int(self.lengths.size)

    @property
    def widths(self) -> np.ndarray:
        return np.array([v.weight.width for v in self.variants], dtype=np.int64)[self.variant]

    def subset(self, keep: np.ndarray) -> LayerSpace:
        return replace(
            self,
            lengths=self.lengths[keep],
            precisions=self.precisions[keep],
            variant=self.variant[keep],
            folding=self.folding[keep],
            fold_cycles=self.fold_cycles[keep],
            block_memory=self.memory_mask[keep],
        )

    @property
    def memory_mask(self) -> np.ndarray:
        """Per option: the weight ROM is in block RAM (``weight_memory = "block"``)."""
        assert self.block_memory is not None
        return self.block_memory

    def config(self, option: int) -> LayerConfig:
        """The layer's knobs with option ``option`` applied (validated by LayerConfig)."""
        variant = self.variants[int(self.variant[option])]
        return self.layer.with_knobs(
            bitstream_length=int(self.lengths[option]),
            precision=int(self.precisions[option]),
            weight_rng=variant.weight,
            input_rng=variant.input if self.encoder else None,
            folding=int(self.folding[option]),
            weight_memory="block" if self.memory_mask[option] else "logic",
        )


def layer_space(
    layer: LayerConfig, index: int, architecture: str, limits: SpaceLimits, *, last: bool = True
) -> LayerSpace:
    """Enumerate every valid option of one layer (``p ≤ source width`` is enforced)."""
    encoder = encodes_input(architecture, index)
    variants = rng_variants(layer, encoder, limits)
    if not variants:
        raise SpecError(f"layer[{index}]", f"no random source in the space fits layer {layer.name}")
    foldings = np.array(folding_ladder(layer, limits), dtype=np.int64)
    cycles = -(-layer.columns // foldings)
    lengths = np.array(sorted(limits.lengths), dtype=np.int64)
    precisions = np.array(sorted(limits.precisions), dtype=np.int64)
    widths = np.array([v.weight.width for v in variants], dtype=np.int64)
    # Per folding: logic ROM (or none), block ROM; block only where there is a ROM.
    memories = np.stack([
        np.full(len(foldings), "logic" in limits.weight_memories),
        (cycles >= ROM_FOLD_CYCLES) & ("block" in limits.weight_memories),
    ], axis=1)
    # The product L × p × variant × folding × memory in that nesting order, keeping p ≤ width.
    valid = (
        (precisions[:, None] <= widths[None, :])[None, :, :, None, None]
        & memories[None, None, None, :, :]
    )
    valid = np.broadcast_to(valid, (len(lengths), len(precisions), len(variants), len(foldings), 2))
    li, pi, vi, fi, mi = np.nonzero(valid)
    if not len(li):
        raise SpecError(f"layer[{index}]", f"no option of the space fits layer {layer.name}")
    folding = foldings[fi]
    return LayerSpace(
        index=index,
        layer=layer,
        encoder=encoder,
        last=last,
        variants=tuple(variants),
        lengths=lengths[li],
        precisions=precisions[pi],
        variant=vi.astype(np.int64),
        folding=folding,
        fold_cycles=cycles[fi],
        block_memory=mi.astype(bool),
    )


def network_space(config: NetworkConfig, limits: SpaceLimits) -> list[LayerSpace]:
    return [
        layer_space(layer, index, config.architecture, limits, last=index == len(config.layers) - 1)
        for index, layer in enumerate(config.layers)
    ]


def apply_options(config: NetworkConfig, spaces: Sequence[LayerSpace], options: Sequence[int]) -> NetworkConfig:
    """The network's knobs with one option per layer applied."""
    layers = tuple(space.config(option) for space, option in zip(spaces, options, strict=True))
    return replace(config, layers=layers)
