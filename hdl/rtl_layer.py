"""One fully connected SC layer: SNGs, AND multiply, signed parallel count, IF neurons.

A layer works in bit-periods of ``F = fold_cycles`` clock cycles. The controller raises
``step`` for each of those cycles; the layer walks its column groups ``g = 0 … F-1`` with
its own counter and commits at the last one (``period_end``): membrane update, spike
register, spike counter and one step of its random sources, which therefore hold their
numbers for the whole period. Arithmetic is that of ``docs/arithmetic.md``.

Three implementations of the same arithmetic, by ``F``:

- ``F = 1``: every weight is a constant of its comparator, written as a small AND/OR
  chain of ``u``; one parallel counter over all columns.
- ``1 < F < ROM_FOLD_CYCLES``: the same constant comparators; each of the ``f`` slots
  multiplexes the product of its column in the current group, so only the counter
  shrinks.
- ``F ≥ ROM_FOLD_CYCLES``: the ``f`` comparators of a neuron are shared by the ``F``
  groups: a synchronous ROM read one cycle ahead holds the sign-magnitude weights of
  every slot, and each slot's stream number and input bit are multiplexed from the
  group's column (one multiplexer per slot, shared by all neurons).

Encoded layers compare all their inputs in parallel in every case.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import LayerConfig
from .network import LayerWeights
from .rtl_arith import at_least_constant, less_than_constant, popcount, saturation_flags
from .rtl_sources import SourceBank

__all__ = ["BLOCK_ROM_DEPTH", "ROM_FOLD_CYCLES", "ScLayer", "membrane_start"]

# Folded layers with fewer fold cycles keep one constant comparator per weight and
# multiplex the products (a ROM + shared comparator pays off only over enough cycles;
# measured on iCE40, see docs/rtl.md). Weight ROMs at least BLOCK_ROM_DEPTH deep are
# marked for block RAM.
ROM_FOLD_CYCLES = 8
BLOCK_ROM_DEPTH = 32


def _as_signed(value: Value) -> Value:
    """Zero-extend by one bit and read as two's complement (an unsigned count as signed)."""
    return Cat(value, Const(0, 1)).as_signed()


def membrane_start(layer: LayerConfig, threshold: int) -> int:
    """``V0``: 0 for ``zero``, ``⌊θ/2⌋`` for ``half_threshold``."""
    return threshold // 2 if layer.membrane_init == "half_threshold" else 0


class ScLayer(wiring.Component):
    """Layer with constant weights; ``encoded`` layers compare input values ``q`` themselves.

    Ports: ``restart`` (reload sources, ``V = V0``, clear counters), ``step`` (a fold cycle
    of an active bit-period), ``x`` (input spikes, held for the period) or ``q`` (input
    values ``0 … 2^p``, encoded layers), ``period_end`` (this cycle commits), ``spikes``
    (registered ``s_i(t)``), ``spike_valid`` (1 in the cycle after a commit), ``counts``.
    """

    def __init__(
        self, layer: LayerConfig, weights: LayerWeights, membrane_bits: int, *, encoded: bool
    ) -> None:
        self.layer = layer
        self.weights = weights
        self.membrane_bits = membrane_bits
        self.encoded = encoded
        members = {"restart": In(1), "step": In(1)}
        if encoded:
            members["q"] = In(data.ArrayLayout(layer.precision + 1, layer.n_in))
        else:
            members["x"] = In(layer.n_in)
        members.update({
            "period_end": Out(1),
            "spikes": Out(layer.n_out),
            "spike_valid": Out(1),
            "counts": Out(data.ArrayLayout(layer.count_bits, layer.n_out)),
        })
        super().__init__(members)

    # -- columns: magnitude, sign ---------------------------------------------------------

    def _column_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """Magnitudes and negative flags, shape (n_out, n_in + 1); column n_in is the bias."""
        full = np.concatenate(
            [np.asarray(self.weights.weights, dtype=np.int64),
             np.asarray(self.weights.bias, dtype=np.int64)[:, None]],
            axis=1,
        )
        return np.abs(full), full < 0

    def elaborate(self, platform: object) -> Module:
        m = Module()
        layer = self.layer
        p, folds, per_cycle = layer.precision, layer.fold_cycles, layer.folding
        assert per_cycle is not None

        # Fold counter and commit strobe.
        if folds > 1:
            group = Signal(range(folds))
            last = Signal()
            m.d.comb += last.eq(self.step & (group == folds - 1))
            with m.If(self.restart):
                m.d.sync += group.eq(0)
            with m.Elif(self.step):
                m.d.sync += group.eq(Mux(last, 0, group + 1))
            # The ROM is read one cycle ahead: between periods the counter rests at 0.
            next_group = Signal(range(folds))
            m.d.comb += next_group.eq(Mux(self.step & ~last & ~self.restart, group + 1, 0))
        else:
            group = None
            last = self.step
            next_group = None
        m.d.comb += self.period_end.eq(last)

        weight_bank = SourceBank(layer.weight_rng, layer.columns, p, "weight_rng")
        m.submodules.weight_rng = weight_bank
        m.d.comb += [weight_bank.restart.eq(self.restart), weight_bank.advance.eq(last)]
        weight_numbers = _stream_values(weight_bank, layer.columns)

        if self.encoded:
            # The encoder compares every input in parallel even when folded: n_in
            # comparators cost less than multiplexing both operands onto the slots.
            assert layer.input_rng is not None
            input_bank = SourceBank(layer.input_rng, layer.n_in, p, "input_rng")
            m.submodules.input_rng = input_bank
            m.d.comb += [input_bank.restart.eq(self.restart), input_bank.advance.eq(last)]
            input_numbers = _stream_values(input_bank, layer.n_in)
            input_bits: list[Value] = []
            for j in range(layer.n_in):
                bit = Signal(name=f"x{j}")
                m.d.comb += bit.eq(input_numbers[j] < self.q[j])
                input_bits.append(bit)
        else:
            input_bits = [self.x[j] for j in range(layer.n_in)]
        input_bits.append(Const(1, 1))  # the bias column's input is always one

        magnitudes, negative = self._column_weights()
        if folds == 1:
            partials = self._unfolded_counts(m, weight_numbers, input_bits, magnitudes, negative)
        elif folds < ROM_FOLD_CYCLES:
            partials = self._multiplexed_counts(
                m, group, weight_numbers, input_bits, magnitudes, negative
            )
        else:
            slot_numbers, slot_bits = self._slot_multiplexers(m, group, weight_numbers, input_bits)
            partials = self._folded_counts(
                m, next_group, slot_numbers, slot_bits, magnitudes, negative
            )

        self._neurons(m, partials, group, last)
        return m

    # -- unfolded: one constant comparator per non-zero weight ----------------------------

    def _unfolded_counts(
        self, m: Module, numbers: list[Value], bits: list[Value],
        magnitudes: np.ndarray, negative: np.ndarray,
    ) -> list[Value]:
        partials = []
        for i in range(self.layer.n_out):
            positive_terms, negative_terms = [], []
            for j in range(self.layer.columns):
                magnitude = int(magnitudes[i, j])
                if magnitude == 0:
                    continue
                product = bits[j] & less_than_constant(numbers[j], magnitude)
                (negative_terms if negative[i, j] else positive_terms).append(product)
            partials.append(self._signed_count(m, i, positive_terms, negative_terms))
        return partials

    def _signed_count(
        self, m: Module, neuron: int, positive_terms: list[Value], negative_terms: list[Value]
    ) -> Value:
        width = self.layer.columns.bit_length() + 1
        count = Signal(signed(width), name=f"c{neuron}")
        positive = popcount(m, positive_terms, f"pos{neuron}")
        negative = popcount(m, negative_terms, f"neg{neuron}")
        m.d.comb += count.eq(_as_signed(positive) - _as_signed(negative))
        return count

    # -- lightly folded: constant comparators, products multiplexed onto the slots -------

    def _multiplexed_counts(
        self, m: Module, group: Value, numbers: list[Value], bits: list[Value],
        magnitudes: np.ndarray, negative: np.ndarray,
    ) -> list[Value]:
        """Every weight keeps its constant comparator; each slot selects the product of
        the current group's column, so only the parallel counter shrinks with folding."""
        assert self.layer.folding is not None
        zero = Const(0, 1)
        partials = []
        for i in range(self.layer.n_out):
            positive_terms, negative_terms = [], []
            for slot in range(self.layer.folding):
                positive_entries, negative_entries = [], []
                for column in self._slot_columns(slot):
                    magnitude = int(magnitudes[i, column]) if column is not None else 0
                    product = zero
                    if magnitude:
                        product = bits[column] & less_than_constant(numbers[column], magnitude)
                    is_negative = column is not None and bool(negative[i, column])
                    positive_entries.append(zero if is_negative else product)
                    negative_entries.append(product if is_negative else zero)
                for entries, terms in ((positive_entries, positive_terms),
                                       (negative_entries, negative_terms)):
                    if any(entry is not zero for entry in entries):
                        terms.append(_select(entries, group))
            partials.append(self._signed_count(m, i, positive_terms, negative_terms))
        return partials

    # -- folded: per-slot multiplexers, a weight ROM, f comparators per neuron ------------

    def _slot_columns(self, slot: int) -> list[int | None]:
        """Column of ``slot`` in each group (None past the last column)."""
        per_cycle = self.layer.folding
        assert per_cycle is not None
        columns = []
        for g in range(self.layer.fold_cycles):
            column = g * per_cycle + slot
            columns.append(column if column < self.layer.columns else None)
        return columns

    def _slot_multiplexers(
        self, m: Module, group: Value, weight_numbers: list[Value], input_bits: list[Value]
    ) -> tuple[list[Value], list[Value]]:
        """What each slot sees in the current group: one multiplexer per slot and operand.

        Past the last column a slot repeats a real column (its weight is 0, so the value
        is irrelevant) and identical entries collapse, so a ``shared`` source needs no
        multiplexer at all.
        """
        assert self.layer.folding is not None
        slot_numbers, slot_bits = [], []
        for slot in range(self.layer.folding):
            columns = self._slot_columns(slot)
            number = Signal(self.layer.precision, name=f"u_slot{slot}")
            bit = Signal(name=f"x_slot{slot}")
            m.d.comb += [
                number.eq(_select(_by_group(weight_numbers, columns), group)),
                bit.eq(_select(_by_group(input_bits, columns), group)),
            ]
            slot_numbers.append(number)
            slot_bits.append(bit)
        return slot_numbers, slot_bits

    def _folded_counts(
        self, m: Module, next_group: Value, slot_numbers: list[Value], slot_bits: list[Value],
        magnitudes: np.ndarray, negative: np.ndarray,
    ) -> list[Value]:
        """Partial counts of the current group, weights read from a ROM one cycle ahead.

        Only fields that vary are stored: a slot whose weights are all zero is dropped,
        and its sign bit is stored only when the slot mixes signs.
        """
        layer, p = self.layer, self.layer.precision
        assert layer.folding is not None
        fields: list[tuple[int, int, str, list[int]]] = []  # (neuron, slot, kind, values)
        for i in range(layer.n_out):
            for slot in range(layer.folding):
                columns = self._slot_columns(slot)
                mags = [int(magnitudes[i, c]) if c is not None else 0 for c in columns]
                signs = [int(negative[i, c]) if c is not None and mags[g] else 0
                         for g, c in enumerate(columns)]
                if not any(mags):
                    continue
                fields.append((i, slot, "magnitude", mags))
                used_signs = {sign for sign, mag in zip(signs, mags, strict=True) if mag}
                if used_signs == {0, 1}:
                    fields.append((i, slot, "sign", signs))
                elif used_signs == {1}:
                    fields.append((i, slot, "negative", signs))
        widths = {"magnitude": p, "sign": 1, "negative": 0}
        offsets, total = [], 0
        for field in fields:
            offsets.append(total)
            total += widths[field[2]]
        rows = [0] * layer.fold_cycles
        for (_, _, kind, values), offset in zip(fields, offsets, strict=True):
            for g, value in enumerate(values):
                if widths[kind]:
                    rows[g] |= value << offset
        row = Signal(max(total, 1), name="weight_row")
        if total:
            # Deep ROMs belong in block RAM (a LUT holds a 16-deep ROM bit at best);
            # shallow ones are left to the tool, which maps them to LUTs.
            attrs = {"rom_style": "block"} if layer.fold_cycles >= BLOCK_ROM_DEPTH else None
            rom = Memory(shape=total, depth=layer.fold_cycles, init=rows, attrs=attrs)
            m.submodules.weight_rom = rom
            port = rom.read_port(domain="sync")
            m.d.comb += [port.addr.eq(next_group), row.eq(port.data)]
        terms: dict[int, tuple[list[Value], list[Value]]] = {
            i: ([], []) for i in range(layer.n_out)
        }
        slot_sign: dict[tuple[int, int], tuple[str, Value | None]] = {}
        for (i, slot, kind, _), offset in zip(fields, offsets, strict=True):
            if kind == "sign":
                slot_sign[i, slot] = ("sign", row[offset])
            elif kind == "negative":
                slot_sign[i, slot] = ("negative", None)
        for (i, slot, kind, _), offset in zip(fields, offsets, strict=True):
            if kind != "magnitude":
                continue
            product = slot_bits[slot] & (slot_numbers[slot] < row[offset : offset + p])
            positive_terms, negative_terms = terms[i]
            sign_kind, sign_bit = slot_sign.get((i, slot), ("positive", None))
            if sign_kind == "positive":
                positive_terms.append(product)
            elif sign_kind == "negative":
                negative_terms.append(product)
            else:
                assert sign_bit is not None
                positive_terms.append(product & ~sign_bit)
                negative_terms.append(product & sign_bit)
        return [self._signed_count(m, i, *terms[i]) for i in range(layer.n_out)]

    # -- integrate-and-fire neurons -------------------------------------------------------

    def _neurons(self, m: Module, partials: list[Value], group: Value | None, last: Value) -> None:
        """IF neurons. The membrane register is also the accumulator of a folded period:
        it holds ``V + partial sums`` between fold cycles (one more bit than ``B``, since
        ``|V + partial sums| < 2^B`` by the membrane width rule) and ``V`` at period ends.
        """
        layer, weights = self.layer, self.weights
        width, threshold, leak = self.membrane_bits, weights.threshold, layer.leak
        start = membrane_start(layer, threshold)
        sum_width = layer.columns.bit_length() + 1
        register_width = width + 1 if group is not None else width
        high, low = (1 << (width - 1)) - 1, -(1 << (width - 1))
        for i, partial in enumerate(partials):
            membrane = Signal(signed(register_width), name=f"v{i}", init=start)
            spike = Signal(name=f"s{i}")
            count = Signal(layer.count_bits, name=f"n{i}")
            summed = Signal(signed(max(register_width, sum_width) + 1), name=f"a{i}")
            m.d.comb += summed.eq(membrane + partial)
            if group is not None:
                with m.If(self.step & ~last):
                    m.d.sync += membrane.eq(summed)
            leaked = summed
            if leak:
                # a > λ ⇔ a - λ > 0 and a < -λ ⇔ a + λ < 0: the adders double as comparators.
                down = Signal(signed(len(summed) + 1), name=f"a_down{i}")
                up = Signal(signed(len(summed) + 1), name=f"a_up{i}")
                leaked = Signal(signed(len(summed) + 1), name=f"a_leak{i}")
                m.d.comb += [
                    down.eq(summed - leak),
                    up.eq(summed + leak),
                    leaked.eq(Mux(~down[-1] & down.any(), down, Mux(up[-1], up, 0))),
                ]
            # Saturation, firing and reset in one step: above the range the clamped value
            # (2^(B-1) - 1 ≥ θ) always fires and leaves a constant; below it never fires;
            # in range the spike subtracts θ (one adder whose operand is θ or 0).
            too_high, too_low = saturation_flags(leaked, width)
            fire = Signal(name=f"fire{i}")
            m.d.comb += fire.eq(too_high | (~too_low & at_least_constant(leaked, threshold)))
            reduced = Signal(signed(len(leaked)), name=f"a_reset{i}")
            m.d.comb += reduced.eq(leaked - Mux(fire, threshold, 0))
            following = Signal(signed(width), name=f"v_next{i}")
            m.d.comb += following.eq(
                Mux(too_high, high - threshold, Mux(too_low, low, reduced[:width]))
            )
            with m.If(self.restart):
                m.d.sync += [membrane.eq(start), spike.eq(0), count.eq(0)]
            with m.Elif(last):
                m.d.sync += [membrane.eq(following), spike.eq(fire), count.eq(count + fire)]
            m.d.comb += [self.spikes[i].eq(spike), self.counts[i].eq(count)]
        valid = Signal()
        m.d.sync += valid.eq(last & ~self.restart)
        m.d.comb += self.spike_valid.eq(valid)


def _stream_values(bank: SourceBank, streams: int) -> list[Value]:
    """The bank's stream numbers; a ``shared`` bank's are one and the same value."""
    if bank.spec.decorrelation == "shared":
        return [Value.cast(bank.numbers[0])] * streams
    return [Value.cast(bank.numbers[j]) for j in range(streams)]


def _by_group(values: list[Value], columns: list[int | None]) -> list[Value]:
    """``values`` of a slot's column in each group; absent columns repeat a present one."""
    present = [c for c in columns if c is not None]
    entries, previous = [], present[0]
    for column in columns:
        previous = column if column is not None else previous
        entries.append(values[previous])
    return entries


def _select(entries: list[Value], index: Value) -> Value:
    """``entries[index]`` as a multiplexer (entries share one width); none if all agree."""
    if all(entry is entries[0] for entry in entries):
        return entries[0]
    width = len(Value.cast(entries[0]))
    return Cat(*entries).word_select(index, width)
