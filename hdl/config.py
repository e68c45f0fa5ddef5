"""Typed, validated configuration of an SC network: the knobs the optimiser turns.

These types hold hardware knobs only (no weights). They are frozen and hashable so the
surrogate can enumerate and cache them, and each validates itself on construction:
a bad knob raises :class:`SpecError` naming the field and what was expected.
The arithmetic they describe is in ``docs/arithmetic.md``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from .errors import SpecError
from .lfsr_taps import MAX_WIDTH, MIN_WIDTH, default_polynomial, is_primitive

RngKind = Literal["lfsr", "sobol", "vdc"]
LfsrStructure = Literal["fibonacci", "galois"]
Decorrelation = Literal["shared", "permuted", "rotated", "independent"]
Architecture = Literal["stream", "regenerate"]
MembraneInit = Literal["zero", "half_threshold"]
WeightMemory = Literal["logic", "block"]

RNG_KINDS: tuple[str, ...] = ("lfsr", "sobol", "vdc")
LFSR_STRUCTURES: tuple[str, ...] = ("fibonacci", "galois")
DECORRELATIONS: tuple[str, ...] = ("shared", "permuted", "rotated", "independent")
ARCHITECTURES: tuple[str, ...] = ("stream", "regenerate")
MEMBRANE_INITS: tuple[str, ...] = ("zero", "half_threshold")
ALLOWANCES: tuple[str, ...] = ("zero_seed", "non_maximal_polynomial")
WEIGHT_MEMORIES: tuple[str, ...] = ("logic", "block")

# A folded layer with at least this many fold cycles per period reads its weights from a
# ROM (``stochflow.hdl.rtl_layer``, ``docs/rtl.md``); only such a layer has a memory whose
# placement ``weight_memory`` chooses.
ROM_FOLD_CYCLES = 8

MIN_LOG2_LENGTH, MAX_LOG2_LENGTH = 4, 12
MIN_PRECISION, MAX_PRECISION = 2, 16
# Sobol/vdC resolution is a counter width, not a register that must avoid zero.
MIN_SEQUENCE_WIDTH, MAX_SEQUENCE_WIDTH = 2, 32


def _require_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(name, f"expected an integer, got {value!r}")
    return value


def _require_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise SpecError(name, f"expected one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class RngSpec:
    """One random source and how its numbers are spread over the streams it feeds."""

    kind: RngKind = "lfsr"
    width: int = 16
    polynomial: int | None = None  # LFSR tap mask; None → the XAPP052 table's entry
    seed: int = 1  # LFSR start state; Sobol / vdC start index
    structure: LfsrStructure = "fibonacci"
    dimension: int = 1  # Sobol only, 1-based
    decorrelation: Decorrelation = "permuted"
    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _require_choice("kind", self.kind, RNG_KINDS)
        _require_int("width", self.width)
        _require_int("seed", self.seed)
        _require_choice("decorrelation", self.decorrelation, DECORRELATIONS)
        for item in self.allow:
            _require_choice("allow", item, ALLOWANCES)
        if self.kind == "lfsr":
            self._validate_lfsr()
        else:
            self._validate_sequence()

    def _validate_lfsr(self) -> None:
        _require_choice("structure", self.structure, LFSR_STRUCTURES)
        if not MIN_WIDTH <= self.width <= MAX_WIDTH:
            raise SpecError(
                "width", f"LFSR width must be {MIN_WIDTH}…{MAX_WIDTH}, got {self.width}"
            )
        if self.polynomial is None:
            object.__setattr__(self, "polynomial", default_polynomial(self.width))
        poly = _require_int("polynomial", self.polynomial)
        if poly <= 0 or poly >> self.width or not poly >> (self.width - 1) & 1:
            raise SpecError(
                "polynomial",
                f"expected a tap mask with bit {self.width - 1} set and no bit above it "
                f"(width {self.width}), got {poly:#x}",
            )
        if not is_primitive(poly, self.width) and "non_maximal_polynomial" not in self.allow:
            raise SpecError(
                "polynomial",
                f"{poly:#x} is not maximal-length for width {self.width}; use a primitive "
                'polynomial or add "non_maximal_polynomial" to allow',
            )
        if not 0 <= self.seed < (1 << self.width):
            raise SpecError("seed", f"expected 0…{(1 << self.width) - 1}, got {self.seed}")
        if self.seed == 0 and "zero_seed" not in self.allow:
            raise SpecError(
                "seed",
                'a zero seed locks an LFSR at zero; pick a non-zero seed or allow "zero_seed"',
            )

    def _validate_sequence(self) -> None:
        if not MIN_SEQUENCE_WIDTH <= self.width <= MAX_SEQUENCE_WIDTH:
            raise SpecError(
                "width",
                f"{self.kind} resolution must be {MIN_SEQUENCE_WIDTH}…{MAX_SEQUENCE_WIDTH}, "
                f"got {self.width}",
            )
        if self.polynomial is not None:
            raise SpecError("polynomial", f"only LFSR sources take a polynomial, not {self.kind}")
        if not 0 <= self.seed < (1 << self.width):
            raise SpecError(
                "seed", f"start index must be 0…{(1 << self.width) - 1}, got {self.seed}"
            )
        if self.decorrelation == "rotated":
            raise SpecError(
                "decorrelation", f"rotated seeds apply to LFSR sources, not {self.kind}"
            )
        if self.kind == "vdc" and self.decorrelation == "independent":
            raise SpecError(
                "decorrelation", "van der Corput has one sequence; use shared or permuted"
            )
        if self.kind == "sobol":
            _require_int("dimension", self.dimension)
            if self.dimension < 1:
                raise SpecError("dimension", f"expected a 1-based dimension, got {self.dimension}")

    @property
    def label(self) -> str:
        """Short human name, e.g. ``lfsr16``, ``sobol8``, ``vdc8``."""
        return f"{self.kind}{self.width}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["allow"] = list(self.allow)
        if self.kind != "lfsr":
            for key in ("polynomial", "structure"):
                data.pop(key)
        if self.kind != "sobol":
            data.pop("dimension")
        return data


@dataclass(frozen=True)
class LayerConfig:
    """The hardware knobs of one fully connected SC layer."""

    name: str
    n_in: int
    n_out: int
    bitstream_length: int = 256
    precision: int = 8
    weight_rng: RngSpec = field(default_factory=RngSpec)
    input_rng: RngSpec | None = None
    folding: int | None = None  # synapse columns per cycle; None → all (n_in + 1)
    threshold: int | None = None  # None → chosen by quantisation from the float weights
    leak: int = 0
    membrane_bits: int | None = None  # None → smallest safe width + 2 (see docs)
    membrane_init: MembraneInit = "half_threshold"
    weight_memory: WeightMemory = "logic"  # where a weight ROM lives: LUTs or block RAM

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError(
                "name", f"expected an identifier (letters, digits, _), got {self.name!r}"
            )
        for attr in ("n_in", "n_out"):
            if _require_int(attr, getattr(self, attr)) < 1:
                raise SpecError(attr, f"expected at least 1, got {getattr(self, attr)}")
        length = _require_int("bitstream_length", self.bitstream_length)
        if (
            length < 1
            or length & (length - 1)
            or not (MIN_LOG2_LENGTH <= length.bit_length() - 1 <= MAX_LOG2_LENGTH)
        ):
            raise SpecError(
                "bitstream_length",
                f"expected a power of two {1 << MIN_LOG2_LENGTH}…{1 << MAX_LOG2_LENGTH}, got {length}",
            )
        p = _require_int("precision", self.precision)
        if not MIN_PRECISION <= p <= MAX_PRECISION:
            raise SpecError("precision", f"expected {MIN_PRECISION}…{MAX_PRECISION} bits, got {p}")
        for attr in ("weight_rng", "input_rng"):
            rng = getattr(self, attr)
            if rng is None:
                continue
            if not isinstance(rng, RngSpec):
                raise SpecError(attr, f"expected an RngSpec, got {type(rng).__name__}")
            if p > rng.width:
                raise SpecError(
                    f"{attr}.width",
                    f"precision {p} is wider than the {rng.label} source ({rng.width} bits)",
                )
        if self.folding is None:
            object.__setattr__(self, "folding", self.n_in + 1)
        fold = _require_int("folding", self.folding)
        if not 1 <= fold <= self.n_in + 1:
            raise SpecError("folding", f"expected 1…{self.n_in + 1} columns per cycle, got {fold}")
        if self.threshold is not None and _require_int("threshold", self.threshold) < 1:
            raise SpecError("threshold", f"expected at least 1, got {self.threshold}")
        if _require_int("leak", self.leak) < 0:
            raise SpecError("leak", f"expected 0 or more, got {self.leak}")
        _require_choice("membrane_init", self.membrane_init, MEMBRANE_INITS)
        _require_choice("weight_memory", self.weight_memory, WEIGHT_MEMORIES)
        if self.weight_memory == "block" and not self.has_weight_rom:
            raise SpecError(
                "weight_memory",
                f"'block' places the weight ROM in block RAM, and a layer has one only when "
                f"it folds over at least {ROM_FOLD_CYCLES} cycles per period (this one: "
                f"{self.fold_cycles}); use 'logic' or fold further",
            )
        if self.membrane_bits is not None:
            _require_int("membrane_bits", self.membrane_bits)
            if self.threshold is not None and self.membrane_bits < self.min_membrane_bits(
                self.threshold
            ):
                raise SpecError(
                    "membrane_bits",
                    f"{self.membrane_bits} bits cannot hold threshold {self.threshold} + "
                    f"{self.n_in + 1} columns; need at least {self.min_membrane_bits(self.threshold)}",
                )

    @property
    def columns(self) -> int:
        """Synapse columns including the bias column."""
        return self.n_in + 1

    @property
    def fold_cycles(self) -> int:
        """Clock cycles per bit-period, ``F = ceil((n_in + 1) / folding)``."""
        assert self.folding is not None
        return math.ceil(self.columns / self.folding)

    @property
    def has_weight_rom(self) -> bool:
        """Whether the RTL reads this layer's weights from a ROM (``F ≥ ROM_FOLD_CYCLES``)."""
        return self.fold_cycles >= ROM_FOLD_CYCLES

    @property
    def count_bits(self) -> int:
        """Width of a spike counter that holds ``0 … L``."""
        return self.bitstream_length.bit_length()

    def min_membrane_bits(self, threshold: int) -> int:
        """Smallest two's-complement width that holds ``threshold + n_in + 1``."""
        return (threshold + self.columns).bit_length() + 1

    def resolved_membrane_bits(self, threshold: int) -> int:
        """The membrane width used for a given threshold (explicit, or the default)."""
        if self.membrane_bits is not None:
            return self.membrane_bits
        return self.min_membrane_bits(threshold) + 2

    def with_knobs(self, **knobs: Any) -> LayerConfig:
        """A copy with some knobs changed (validated again)."""
        return replace(self, **knobs)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["weight_rng"] = self.weight_rng.to_dict()
        data["input_rng"] = self.input_rng.to_dict() if self.input_rng else None
        data["fold_cycles"] = self.fold_cycles
        return data


def weight_memory_choices(fold_cycles: int) -> tuple[str, ...]:
    """The ``weight_memory`` values a layer folded over ``fold_cycles`` cycles can take."""
    return WEIGHT_MEMORIES if fold_cycles >= ROM_FOLD_CYCLES else ("logic",)


@dataclass(frozen=True)
class NetworkConfig:
    """Layer knobs plus the architecture that chains them."""

    name: str
    layers: tuple[LayerConfig, ...]
    architecture: Architecture = "stream"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise SpecError("network.name", f"expected an identifier, got {self.name!r}")
        _require_choice("network.architecture", self.architecture, ARCHITECTURES)
        if not self.layers:
            raise SpecError("layer", "a network needs at least one layer")
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise SpecError("layer", f"layer names must be unique, got {names}")
        for index, layer in enumerate(self.layers):
            where = f"layer[{index}]"
            if index > 0 and layer.n_in != self.layers[index - 1].n_out:
                raise SpecError(
                    f"{where}.n_in",
                    f"expected {self.layers[index - 1].n_out} (outputs of "
                    f"{self.layers[index - 1].name}), got {layer.n_in}",
                )
            needs_encoder = index == 0 or self.architecture == "regenerate"
            if needs_encoder and layer.input_rng is None:
                raise SpecError(
                    f"{where}.input_rng", "this layer encodes its inputs and needs a source"
                )
            if not needs_encoder and layer.input_rng is not None:
                raise SpecError(
                    f"{where}.input_rng",
                    "in the stream architecture only layer 0 encodes inputs; remove input_rng",
                )
            if (
                self.architecture == "stream"
                and layer.bitstream_length != self.layers[0].bitstream_length
            ):
                raise SpecError(
                    f"{where}.bitstream_length",
                    f"the stream architecture shares one length; expected "
                    f"{self.layers[0].bitstream_length}, got {layer.bitstream_length}",
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "architecture": self.architecture,
            "layers": [layer.to_dict() for layer in self.layers],
        }
