"""Structural features of an SC layer: counts of the hardware pieces its knobs imply.

The analytical prior is linear in these counts (coefficients fitted per FPGA family on
real synthesis runs, see :mod:`stochflow.surrogate.calibration`). They follow the RTL of
``stochflow.hdl.rtl_layer`` / ``rtl_board`` and ``docs/arithmetic.md``
(``cols = n_in + 1``, ``f`` columns per cycle, ``F`` cycles per bit-period), whose layer
has three forms: ``F = 1``; ``1 < F < 8`` (constant comparators, each slot selects its
column's product); ``F ≥ 8`` (weights from a ROM, in LUTs or in block RAM as
``weight_memory`` says, compared on a carry chain):

- ``const_compare_bits`` (``F < 8``): one comparator of a ``p``-bit stream number
  against a constant weight per neuron and column, ``n_out · cols · p``;
- ``product_mux_inputs`` (``1 < F < 8``): each neuron's slots select the current
  group's product, ``n_out · f · F`` multiplexer inputs;
- ``var_compare_bits`` (``F ≥ 8``): ``f`` comparators per neuron against ROM words,
  ``n_out · f · p``;
- ``rom_bits`` (``F ≥ 8``, ROM in LUTs): word width ``n_out · f · (p + 1)`` times
  ``ceil(F / 16)`` (a LUT4 holds 16 words of one bit); ``block_rom_bits`` (ROM in block
  RAM): the word width, ``n_out · f · (p + 1)``;
- ``slot_mux_bits`` (``F ≥ 8``): the per-slot multiplexers shared by all neurons,
  ``f · F · (p + 1)`` inputs, without the ``p`` number bits when the source is ``shared``
  (every slot then sees the same number);
- ``input_compare_bits``: the encoder's comparators, all inputs in parallel, ``n_in · p``;
- ``adder_inputs``: inputs of the parallel counters, ``n_out · f``;
- ``accumulator_bits`` (``F > 1``): partial sums held across a bit-period,
  ``n_out · (bit_length(cols) + 1)``;
- ``membrane_bits``: ``n_out · B``; ``counter_bits``: ``n_out · bit_length(L)``;
- ``lfsr_bits`` / ``sobol_bits`` / ``vdc_bits``: source register bits (registers × width,
  weight and encoder sources); ``lfsr_taps``: XOR inputs of the LFSR feedback;
- ``control_bits``: bit-period and fold counters, ``bit_length(L) + ceil(log2 F)``;
- ``board_shift_bits`` (first layer): the board's serial input register,
  ``n_in · (p + 1)``; ``argmax_bits`` (last layer): the board's argmax over the counts,
  ``n_out · bit_length(L)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stochflow.hdl.config import ROM_FOLD_CYCLES, LayerConfig, RngSpec
from stochflow.hdl.rng import register_count

from .space import LayerSpace

# Words of one bit a LUT4 holds (a LUT ROM costs ceil(depth / 16) LUTs per output bit).
LUT_ROM_DEPTH = 16

FEATURES: tuple[str, ...] = (
    "const",
    "const_compare_bits",
    "product_mux_inputs",
    "var_compare_bits",
    "rom_bits",
    "block_rom_bits",
    "slot_mux_bits",
    "input_compare_bits",
    "adder_inputs",
    "accumulator_bits",
    "membrane_bits",
    "counter_bits",
    "lfsr_bits",
    "lfsr_taps",
    "sobol_bits",
    "vdc_bits",
    "control_bits",
    "board_shift_bits",
    "argmax_bits",
)


def assumed_threshold(precision: np.ndarray) -> np.ndarray:
    """Threshold used for the membrane width when the knobs do not fix it: ``2^p``.

    Quantisation scales a unit activation to about ``2^p`` magnitude steps; the learned
    residual absorbs the difference for a given network.
    """
    return np.left_shift(1, precision.astype(np.int64))


def membrane_width(columns: int, threshold: np.ndarray) -> np.ndarray:
    """Default membrane width ``bit_length(θ + n_in + 1) + 1 + 2`` (docs/arithmetic.md)."""
    total = threshold.astype(np.int64) + columns
    return np.floor(np.log2(total)).astype(np.int64) + 1 + 1 + 2


@dataclass(frozen=True)
class _SourceCounts:
    lfsr_bits: int
    lfsr_taps: int
    sobol_bits: int
    vdc_bits: int


def _source_counts(spec: RngSpec | None, streams: int) -> _SourceCounts:
    if spec is None:
        return _SourceCounts(0, 0, 0, 0)
    registers = register_count(spec, streams)
    bits = registers * spec.width
    if spec.kind == "lfsr":
        assert spec.polynomial is not None
        return _SourceCounts(bits, registers * spec.polynomial.bit_count(), 0, 0)
    if spec.kind == "sobol":
        return _SourceCounts(0, 0, bits, 0)
    return _SourceCounts(0, 0, 0, bits)


def variant_source_counts(space: LayerSpace) -> np.ndarray:
    """Per variant: LFSR bits, LFSR taps, Sobol bits, vdC bits (weight + encoder sources)
    and whether the weight streams see different numbers (not ``shared``)."""
    columns = space.layer.columns
    per_variant = np.zeros((len(space.variants), 5))
    for i, variant in enumerate(space.variants):
        w = _source_counts(variant.weight, columns)
        x = _source_counts(variant.input if space.encoder else None, space.layer.n_in)
        per_variant[i] = (
            w.lfsr_bits + x.lfsr_bits,
            w.lfsr_taps + x.lfsr_taps,
            w.sobol_bits + x.sobol_bits,
            w.vdc_bits + x.vdc_bits,
            float(variant.weight.decorrelation != "shared"),
        )
    return per_variant


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Codes 0…n-1 of small non-negative integers (in sorted order), the first option of
    each code, and n. A bincount instead of a sort: these arrays are long, their range short.
    """
    present = np.bincount(values) > 0
    code_of = np.cumsum(present) - 1
    codes = code_of[values]
    count = int(present.sum())
    first = np.full(count, len(values))
    np.minimum.at(first, codes, np.arange(len(values)))
    return codes, first, count


def cost_rows(space: LayerSpace) -> tuple[LayerSpace, np.ndarray]:
    """The options with distinct feature rows, and for every option the row it shares.

    Features depend on ``L``, ``p``, the folding and the ROM's place, and on the random
    source only through its register and tap counts and sharing, so options that differ only in seed, in a polynomial with
    as many taps, or in ``shared`` vs ``permuted`` wiring have one row: the prior and the
    learned models are evaluated once per row (``rows.subset``) and indexed by ``inverse``.
    """
    _, source_code = np.unique(variant_source_counts(space), axis=0, return_inverse=True)
    length_code, _, _ = _dense_codes(space.lengths)
    precision_code, _, n_precisions = _dense_codes(space.precisions)
    folding_code, _, n_foldings = _dense_codes(space.folding)
    n_sources = int(source_code.max()) + 1
    key = (((length_code * n_precisions + precision_code) * n_sources
            + source_code.reshape(-1)[space.variant]) * n_foldings + folding_code) * 2
    key += space.memory_mask
    inverse, first, _ = _dense_codes(key)
    return space.subset(first), inverse


def layer_feature_matrix(space: LayerSpace, threshold: int | None = None) -> np.ndarray:
    """Feature rows (options × FEATURES) of every option of a layer."""
    layer = space.layer
    columns = layer.columns
    f = space.folding.astype(np.float64)
    cycles = space.fold_cycles
    p = space.precisions.astype(np.float64)
    fold_log = np.ceil(np.log2(np.maximum(cycles, 1))).astype(np.float64)
    if threshold is None and layer.threshold is not None:
        threshold = layer.threshold
    theta = (
        np.full(space.size, threshold, dtype=np.int64)
        if threshold is not None
        else assumed_threshold(space.precisions)
    )
    if layer.membrane_bits is not None:
        membrane = np.full(space.size, layer.membrane_bits, dtype=np.float64)
    else:
        membrane = membrane_width(columns, theta).astype(np.float64)
    count_bits = np.floor(np.log2(space.lengths)).astype(np.float64) + 1
    per_variant = variant_source_counts(space)
    sources = per_variant[space.variant]
    folded = (cycles > 1).astype(np.float64)
    rom = (cycles >= ROM_FOLD_CYCLES).astype(np.float64)
    constant = 1.0 - rom
    block = rom * space.memory_mask
    n_out = float(layer.n_out)
    encoder = 1.0 if space.encoder else 0.0
    word = n_out * f * (p + 1)
    rows = np.column_stack(
        [
            np.ones(space.size),
            constant * n_out * columns * p,
            folded * constant * n_out * f * cycles,
            rom * n_out * f * p,
            (rom - block) * word * np.ceil(cycles / LUT_ROM_DEPTH),
            block * word,
            rom * f * cycles * (p * sources[:, 4] + 1.0),
            encoder * layer.n_in * p,
            n_out * f,
            folded * n_out * (columns.bit_length() + 1),
            n_out * membrane,
            n_out * count_bits,
            sources[:, 0],
            sources[:, 1],
            sources[:, 2],
            sources[:, 3],
            count_bits + fold_log,
            (1.0 if space.index == 0 else 0.0) * layer.n_in * (p + 1),
            (1.0 if space.last else 0.0) * n_out * count_bits,
        ]
    )
    return rows


def config_feature_row(
    layer: LayerConfig, index: int, architecture: str, last: bool, threshold: int | None = None
) -> np.ndarray:
    """Feature row of one concrete layer configuration (for observations and calibration)."""
    from .space import LayerSpace, RngVariant, encodes_input

    encoder = encodes_input(architecture, index)
    variant = RngVariant(layer.weight_rng, layer.input_rng if encoder else None)
    assert layer.folding is not None
    space = LayerSpace(
        index=index,
        layer=layer,
        encoder=encoder,
        last=last,
        variants=(variant,),
        lengths=np.array([layer.bitstream_length]),
        precisions=np.array([layer.precision]),
        variant=np.array([0]),
        folding=np.array([layer.folding]),
        fold_cycles=np.array([layer.fold_cycles]),
        block_memory=np.array([layer.weight_memory == "block"]),
    )
    return layer_feature_matrix(space, threshold)[0]
