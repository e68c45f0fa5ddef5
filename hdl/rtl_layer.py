"""One fully connected SC layer: SNGs, AND multiply, signed parallel count, IF neurons.

A layer works in bit-periods of ``F = fold_cycles`` clock cycles. The controller raises
``step`` for each of those cycles; the layer walks its column groups ``g = 0 … F-1`` with
its own counter and commits at the last one (``period_end``): membrane update, spike
register, spike counter and one step of its random sources, which therefore hold their
numbers for the whole period. Arithmetic is that of ``docs/arithmetic.md``.

Three implementations of the same arithmetic, by ``F`` (measured on iCE40, docs/rtl.md):

- ``F = 1``: every weight is a constant of its comparator, written as a small AND/OR
  chain of ``u`` (the comparators of one column share their logic, since every neuron
  compares the same ``u_j``); one parallel counter per sign.
- ``1 < F < ROM_FOLD_CYCLES``: the same constant comparators; each of the ``f`` slots
  selects the signed product of its column in the current group, so the parallel
  counter shrinks to ``f`` terms.
- ``F ≥ ROM_FOLD_CYCLES``: each slot sees the stream number and input bit of its column
  in the current group (one multiplexer per slot, shared by all neurons); the slots'
  weights come from a synchronous ROM read one cycle ahead, in LUTs or, with
  ``weight_memory = "block"``, in block RAM. The ROM holds ``~m``, so ``u < m`` is the
  carry out of ``u + ~m + 1`` with no inverter before the carry chain.

In the folded forms a negative product enters the count inverted (``-t = ~t - 1``), one
term per slot whatever its sign; the neuron's register holds ``V - N`` between periods,
``N`` being the number of inverted terms per period, so the last fold cycle sees exactly
``V + c`` (see :meth:`ScLayer._neurons`). Encoded layers compare all their inputs in
parallel in every case.
"""

from __future__ import annotations

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .config import ROM_FOLD_CYCLES, LayerConfig
from .network import LayerWeights
from .rtl_arith import at_least_constant, less_than_constant, popcount, saturation_flags
from .rtl_sources import SourceBank

__all__ = ["BLOCK_ROM_DEPTH", "ROM_FOLD_CYCLES", "ScLayer", "membrane_start", "rom_style"]

# A LUT holds a 16-deep ROM bit, so a weight ROM up to 16 (17, the last row from the
# register's reset) deep costs one LUT per bit, and a deeper one several. From this depth
# on, block RAM (``weight_memory = "block"``) saves more LUTs than it leaves empty; it is
# allowed from ROM_FOLD_CYCLES on (measured on iCE40, see docs/rtl.md).
BLOCK_ROM_DEPTH = 32


def rom_style(layer: LayerConfig) -> str:
    """The ``rom_style`` attribute of the layer's weight ROM (Yosys and vendor tools)."""
    return "block" if layer.weight_memory == "block" else "logic"


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
                # v < q ⇔ q + (2^(p+1) - 1 - v) ≥ 2^(p+1): the carry out of q plus the
                # inverted stream number. The inverters sit on the source's register bits,
                # shared by every input (a permutation is wiring), so each comparator is a
                # bare carry chain; ``v < q`` would put an inverter before every bit of q.
                total = Signal(p + 2, name=f"enc{j}")
                m.d.comb += total.eq(self.q[j] + Cat(~input_numbers[j], Const(1, 1)))
                bit = Signal(name=f"x{j}")
                m.d.comb += bit.eq(total[p + 1])
                input_bits.append(bit)
        else:
            input_bits = [self.x[j] for j in range(layer.n_in)]
        input_bits.append(Const(1, 1))  # the bias column's input is always one

        magnitudes, negative = self._column_weights()
        if folds == 1:
            counts = self._unfolded_counts(m, weight_numbers, input_bits, magnitudes, negative)
        elif not layer.has_weight_rom:
            counts = self._multiplexed_counts(
                m, group, weight_numbers, input_bits, magnitudes, negative
            )
        else:
            slot_numbers, slot_bits = self._slot_multiplexers(m, group, weight_numbers, input_bits)
            counts = self._rom_counts(
                m, next_group, slot_numbers, slot_bits, self._slot_weights(magnitudes, negative)
            )

        self._neurons(m, counts, group, last)
        return m

    # -- unfolded: one constant comparator per non-zero weight ----------------------------

    def _unfolded_counts(
        self, m: Module, numbers: list[Value], bits: list[Value],
        magnitudes: np.ndarray, negative: np.ndarray,
    ) -> list[tuple[Value, int]]:
        """Signed counts ``Σ positive products - Σ negative products`` (no inverted terms)."""
        width = self.layer.columns.bit_length() + 1
        counts = []
        for i in range(self.layer.n_out):
            positive_terms, negative_terms = [], []
            for j in range(self.layer.columns):
                magnitude = int(magnitudes[i, j])
                if magnitude == 0:
                    continue
                product = bits[j] & less_than_constant(numbers[j], magnitude)
                (negative_terms if negative[i, j] else positive_terms).append(product)
            count = Signal(signed(width), name=f"c{i}")
            positive = popcount(m, positive_terms, f"pos{i}")
            negative_count = popcount(m, negative_terms, f"neg{i}")
            m.d.comb += count.eq(_as_signed(positive) - _as_signed(negative_count))
            counts.append((count, 0))
        return counts

    # -- lightly folded: constant comparators, signed products multiplexed onto the slots

    def _multiplexed_counts(
        self, m: Module, group: Value, numbers: list[Value], bits: list[Value],
        magnitudes: np.ndarray, negative: np.ndarray,
    ) -> list[tuple[Value, int]]:
        """Every weight keeps its constant comparator (shared with the other neurons'
        comparators of the same stream number); each slot selects the signed product of
        the current group's column, so only the parallel counter shrinks with folding."""
        assert self.layer.folding is not None
        counts = []
        for i in range(self.layer.n_out):
            terms, inverted = [], 0
            for slot in range(self.layer.folding):
                columns = self._slot_columns(slot)
                used = [c for c in columns if c is not None and magnitudes[i, c]]
                if not used:
                    continue
                signs = {bool(negative[i, c]) for c in used}
                slot_sign = signs.pop() if len(signs) == 1 else None
                entries = []
                for column in columns:
                    magnitude = int(magnitudes[i, column]) if column is not None else 0
                    product: Value = Const(0, 1)
                    if magnitude:
                        product = bits[column] & less_than_constant(numbers[column], magnitude)
                    flip = slot_sign if slot_sign is not None else (
                        magnitude > 0 and bool(negative[i, column]))
                    if flip:
                        inverted += 1
                        entries.append(~product)
                    else:
                        entries.append(product)
                terms.append(Cat(*entries).bit_select(group, 1))
            counts.append((_as_signed(popcount(m, terms, f"pc{i}")), inverted))
        return counts

    # -- folded: what each slot sees, and the weights it holds ----------------------------

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

    def _slot_weights(
        self, magnitudes: np.ndarray, negative: np.ndarray
    ) -> list[list[tuple[int, list[int], list[int] | int]]]:
        """Per neuron, its non-zero slots: ``(slot, magnitude per group, sign)``.

        The sign is 0 or 1 when it is the same in every group (a zero magnitude takes
        the slot's sign: its product is 0 either way) and a list per group otherwise.
        """
        layer = self.layer
        assert layer.folding is not None
        neurons = []
        for i in range(layer.n_out):
            slots = []
            for slot in range(layer.folding):
                columns = self._slot_columns(slot)
                mags = [int(magnitudes[i, c]) if c is not None else 0 for c in columns]
                if not any(mags):
                    continue
                signs = {int(negative[i, c]) for g, c in enumerate(columns) if mags[g]}
                sign: list[int] | int
                if len(signs) == 1:
                    sign = signs.pop()
                else:
                    sign = [int(negative[i, c]) if c is not None and mags[g] else 0
                            for g, c in enumerate(columns)]
                slots.append((slot, mags, sign))
            neurons.append(slots)
        return neurons

    def _rom_counts(
        self, m: Module, next_group: Value, slot_numbers: list[Value], slot_bits: list[Value],
        slots: list[list[tuple[int, list[int], list[int] | int]]],
    ) -> list[tuple[Value, int]]:
        """Many fold cycles: the slots' weights come from a ROM read one cycle ahead.

        Only fields that vary are stored: a slot whose weights are all zero is dropped,
        and its sign bit is stored only when the slot mixes signs.
        """
        layer, p = self.layer, self.layer.precision
        rows = [0] * layer.fold_cycles
        total = 0
        placed: list[list[tuple[int, int, int | None, list[int] | int]]] = []
        for neuron in slots:
            fields = []
            for slot, mags, sign in neuron:
                magnitude_at = total
                for g, value in enumerate(mags):
                    rows[g] |= (value ^ ((1 << p) - 1)) << total  # ~m
                total += p
                sign_at = None
                if isinstance(sign, list):
                    sign_at = total
                    for g, value in enumerate(sign):
                        rows[g] |= value << total
                    total += 1
                fields.append((slot, magnitude_at, sign_at, sign))
            placed.append(fields)
        row = Signal(max(total, 1), name="weight_row")
        if total:
            rom = Memory(shape=total, depth=layer.fold_cycles, init=rows,
                         attrs={"rom_style": rom_style(layer)})
            m.submodules.weight_rom = rom
            port = rom.read_port(domain="sync")
            m.d.comb += [port.addr.eq(next_group), row.eq(port.data)]
        counts = []
        for i, fields in enumerate(placed):
            terms, inverted = [], 0
            for slot, magnitude_at, sign_at, sign in fields:
                complement = row[magnitude_at : magnitude_at + p]
                # u < m ⇔ no carry out of u + ~m + 1: the carry chain reads the ROM as is.
                carried = Signal(p + 1, name=f"ge{i}_{slot}")
                m.d.comb += carried.eq(slot_numbers[slot] + complement + 1)
                below = ~carried[p]
                product = slot_bits[slot] & below
                if sign_at is not None:
                    assert isinstance(sign, list)
                    terms.append(product ^ row[sign_at])
                    inverted += sum(sign)
                elif sign:
                    terms.append(~product)
                    inverted += layer.fold_cycles
                else:
                    terms.append(product)
            counts.append((_as_signed(popcount(m, terms, f"pc{i}")), inverted))
        return counts

    # -- integrate-and-fire neurons -------------------------------------------------------

    def _neurons(
        self, m: Module, counts: list[tuple[Value, int]], group: Value | None, last: Value
    ) -> None:
        """IF neurons. Each fold cycle adds a count of ``f`` terms in which ``N`` inverted
        terms per period stand for negative products (``-t = ~t - 1``), so the register
        holds ``R = V - N`` at period ends and ``R +`` the counts so far between fold
        cycles, and the last fold cycle's sum is exactly ``a = V + c``. ``R`` is one bit
        wider than ``B``: ``|V - N|`` and ``|V + partial sums|`` are below ``2^B`` by the
        membrane width rule. Restart loads ``V0 - N``; a commit stores ``V' - N``, which
        the reset's subtraction of ``θ`` or 0 (now ``θ + N`` or ``N``) gives for free.

        Leak, saturation, firing and reset act only in the last fold cycle: in the others
        the leak and the reset subtract 0 and the saturation flags are held low, so the
        commit logic passes the sum through and one register input serves both cases.
        """
        layer, weights = self.layer, self.weights
        width, threshold, leak = self.membrane_bits, weights.threshold, layer.leak
        start = membrane_start(layer, threshold)
        high, low = (1 << (width - 1)) - 1, -(1 << (width - 1))
        folded = group is not None
        for i, (count, inverted) in enumerate(counts):
            register_width = width + 1 if folded or inverted else width
            membrane = Signal(signed(register_width), name=f"v{i}", init=start - inverted)
            spike = Signal(name=f"s{i}")
            spike_count = Signal(layer.count_bits, name=f"n{i}")
            summed = Signal(signed(max(register_width, len(count)) + 1), name=f"a{i}")
            m.d.comb += summed.eq(membrane + count)
            leaked: Value = summed
            if leak:
                # a > λ ⇔ a - λ > 0 and a < -λ ⇔ a + λ < 0: the adders double as comparators.
                # With λ = 0 outside the last fold cycle, the result is the sum itself.
                amount = Mux(last, leak, 0) if folded else leak
                down = Signal(signed(len(summed) + 1), name=f"a_down{i}")
                up = Signal(signed(len(summed) + 1), name=f"a_up{i}")
                leaked = Signal(signed(len(summed) + 1), name=f"a_leak{i}")
                m.d.comb += [
                    down.eq(summed - amount),
                    up.eq(summed + amount),
                    leaked.eq(Mux(~down[-1] & down.any(), down, Mux(up[-1], up, 0))),
                ]
            # Saturation, firing and reset in one step: above the range the clamped value
            # (2^(B-1) - 1 ≥ θ) always fires and leaves a constant; below it never fires;
            # in range the spike subtracts θ (one adder whose operand is θ + N or N).
            too_high, too_low = (Signal(name=f"high{i}"), Signal(name=f"low{i}"))
            above, below = saturation_flags(leaked, width)
            committing = last if folded else Const(1, 1)
            m.d.comb += [too_high.eq(above & committing), too_low.eq(below & committing)]
            fire = Signal(name=f"fire{i}")
            m.d.comb += fire.eq(
                too_high | (committing & ~too_low & at_least_constant(leaked, threshold))
            )
            subtracted = Mux(fire, threshold + inverted, inverted)
            if folded:
                subtracted = Mux(last, subtracted, 0)
            reduced = Signal(signed(max(len(leaked), register_width) + (1 if inverted else 0)),
                             name=f"a_reset{i}")
            m.d.comb += reduced.eq(leaked - subtracted)
            following = Signal(signed(register_width), name=f"v_next{i}")
            m.d.comb += following.eq(Mux(
                too_high, high - threshold - inverted,
                Mux(too_low, low - inverted, reduced[:register_width]),
            ))
            with m.If(self.restart):
                m.d.sync += [membrane.eq(start - inverted), spike.eq(0), spike_count.eq(0)]
            with m.Else():
                with m.If(self.step):
                    m.d.sync += membrane.eq(following)
                with m.If(last):
                    m.d.sync += [spike.eq(fire), spike_count.eq(spike_count + fire)]
            m.d.comb += [self.spikes[i].eq(spike), self.counts[i].eq(spike_count)]
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
