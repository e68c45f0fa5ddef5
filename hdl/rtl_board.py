"""``sc_board``: ``sc_network`` on a few pins, for place and route on a real package.

Why: the core's ports (``x`` alone is ``n_in·(p+1)`` bits) exceed any small package, and
an unconnected output lets synthesis delete the logic behind it. The board keeps every
layer observable through one small output: the predicted class.

Pins: ``clk``, ``rst``; ``din`` and ``load`` (while ``load = 1`` and the core is idle,
each edge shifts ``din`` into a register of ``n_in·(p+1)`` bits from the top, so after
that many edges the first bit sent sits at bit 0: send the core's flat ``x`` least
significant bit first); ``start`` and ``done`` exactly as on the core (same latency);
``predicted`` = the lowest index of the largest last-layer count (combinational from the
counts, valid while ``done = 1``), ``ceil(log2(n_out))`` bits. A one-output network has
no class to pick: its ``predicted`` pin is 1 when the count is at least ``L/2``.

The core is an instance of the module ``sc_network`` (``core="instance"``, what
``sc_board.v`` holds): synthesis reads ``sc_network.v`` then ``sc_board.v`` and builds
exactly the core RTL the simulations verified. ``core="inline"`` elaborates the core
as a submodule instead, for the Amaranth simulator.
"""

from __future__ import annotations

from typing import Literal

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal, Value
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out
from amaranth.utils import ceil_log2

from .network import Network
from .rtl_network import ScNetwork

CoreMode = Literal["instance", "inline"]
NETWORK_TOP = "sc_network"

__all__ = ["ScBoard", "argmax_lowest", "board_signature", "class_bits", "shift_bits"]


def class_bits(network: Network) -> int:
    return max(1, ceil_log2(network.layers[-1].n_out))


def shift_bits(network: Network) -> int:
    first = network.layers[0]
    return first.n_in * (first.precision + 1)


def argmax_lowest(values: list[Value]) -> tuple[Value, Value]:
    """(index, value) of the largest entry; ties go to the lower index (a ``>=`` tree)."""
    nodes: list[tuple[Value, Value]] = [
        (Const(i, max(1, ceil_log2(len(values)))), Value.cast(v)) for i, v in enumerate(values)
    ]
    while len(nodes) > 1:
        merged = []
        for k in range(0, len(nodes) - 1, 2):
            (left_index, left), (right_index, right) = nodes[k], nodes[k + 1]
            keep_left = left >= right
            merged.append((Mux(keep_left, left_index, right_index), Mux(keep_left, left, right)))
        if len(nodes) % 2:
            merged.append(nodes[-1])
        nodes = merged
    return nodes[0]


def board_signature(network: Network) -> wiring.Signature:
    return wiring.Signature({
        "din": In(1),
        "load": In(1),
        "start": In(1),
        "done": Out(1),
        "predicted": Out(class_bits(network)),
    })


class ScBoard(wiring.Component):
    """Serial loader + ``sc_network`` + argmax on ``clk``, ``rst`` and ``4 + ceil(log2 n_out)`` pins."""

    def __init__(self, network: Network, *, core: CoreMode = "instance") -> None:
        if core not in ("instance", "inline"):
            raise ValueError(f"core must be 'instance' or 'inline', got {core!r}")
        self.network = network
        self.core = core
        super().__init__(board_signature(network))

    def elaborate(self, platform: object) -> Module:
        m = Module()
        network = self.network
        last = network.layers[-1]
        busy, done = Signal(), Signal()
        x = Signal(shift_bits(network))
        counts_flat = Signal(last.n_out * last.count_bits)
        if self.core == "inline":
            m.submodules.core = core = ScNetwork(network)
            m.d.comb += [
                core.x.eq(x), core.start.eq(self.start), busy.eq(core.busy),
                done.eq(core.done), counts_flat.eq(core.counts),
            ]
        else:
            m.submodules.core = Instance(
                NETWORK_TOP,
                i_clk=ClockSignal(), i_rst=ResetSignal(), i_start=self.start, i_x=x,
                o_busy=busy, o_done=done, o_counts=counts_flat,
            )
        with m.If(self.load & ~busy):
            m.d.sync += x.eq(Cat(x[1:], self.din) if len(x) > 1 else self.din)
        m.d.comb += self.done.eq(done)
        counts = [counts_flat.word_select(i, last.count_bits) for i in range(last.n_out)]
        if last.n_out == 1:
            m.d.comb += self.predicted.eq(counts[0] >= last.bitstream_length // 2)
        else:
            index, _ = argmax_lowest(counts)
            m.d.comb += self.predicted.eq(index)
        return m
