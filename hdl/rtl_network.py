"""``sc_network``: the layers of a network, chained by a controller, with flat ports.

Timing (both architectures). Number the clock edges so that edge 0 is the one that
samples ``start = 1`` while ``busy = 0`` (``start`` is ignored while busy). At edge 0
every layer restarts (sources reload their seeds, membranes ``V0``, counters 0) and
``busy`` rises, ``done`` falls. Compute cycle ``c`` lies between edges ``c`` and ``c + 1``.

- ``stream``: global period ``T`` spans cycles ``T·P … T·P + P - 1`` with
  ``P = max_k F_k``. Layer ``k`` (0-based) does its bit-period ``t = T - k`` in period
  ``T`` for ``k ≤ T < k + L``, stepping in the last ``F_k`` cycles of the period and
  committing at its last cycle, so its spike register holds ``s(t)`` during period
  ``T + 1``, where layer ``k + 1`` reads it. ``G = L + N - 1`` periods.
- ``regenerate``: layer ``k`` runs ``L_k`` periods of ``F_k`` cycles right after layer
  ``k - 1`` has committed its last one; its encoder reads ``q_j`` from layer ``k - 1``'s
  final counts.

The last commit happens at edge ``C`` (``C = G·P`` or ``Σ_k L_k·F_k``); at that edge
``done`` is registered as 1 and ``busy`` as 0, so ``done = 1`` is first sampled at edge
``C + 1``: ``latency_cycles = C + 1``. ``done`` stays 1 (and ``counts`` valid) until the
next start. ``spike_valid_l<k>`` is 1 in the cycle after layer ``k`` commits a period;
``spikes_l<k>`` then holds that period's spikes (sample both at the same edge).
"""

from __future__ import annotations

from amaranth.hdl import Const, Module, Mux, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .network import Network
from .rtl_layer import ScLayer

__all__ = ["ScNetwork", "compute_cycles", "latency_cycles", "network_signature"]


def compute_cycles(network: Network) -> int:
    """Clock cycles from the start edge to the edge of the last commit."""
    layers = network.layers
    if network.config.architecture == "stream":
        periods = layers[0].bitstream_length + len(layers) - 1
        return periods * network.cycles_per_period
    return sum(layer.bitstream_length * layer.fold_cycles for layer in layers)


def latency_cycles(network: Network) -> int:
    """Edges from the one sampling ``start = 1`` to the first one sampling ``done = 1``."""
    return compute_cycles(network) + 1


def regenerated_values(count: Value, count_length: int, precision: int) -> Value:
    """``q = (count · 2^p) / L`` as an exact shift (floored when ``2^p < L``)."""
    shift = precision - (count_length.bit_length() - 1)
    return count << shift if shift >= 0 else count >> -shift


def network_signature(network: Network) -> wiring.Signature:
    """Ports of ``sc_network`` (``clk`` and ``rst`` come from the clock domain)."""
    first, last = network.layers[0], network.layers[-1]
    members = {
        "start": In(1),
        "x": In(data.ArrayLayout(first.precision + 1, first.n_in)),
        "busy": Out(1),
        "done": Out(1),
        "counts": Out(data.ArrayLayout(last.count_bits, last.n_out)),
    }
    for index, layer in enumerate(network.layers):
        members[f"spikes_l{index}"] = Out(layer.n_out)
        members[f"spike_valid_l{index}"] = Out(1)
    return wiring.Signature(members)


class ScNetwork(wiring.Component):
    """The compute core. ``x`` packs input ``j`` at bits ``[j·(p+1), (j+1)·(p+1))``;
    ``counts`` packs the last layer's neuron ``i`` at ``[i·b, (i+1)·b)``, ``b = bit_length(L)``.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        super().__init__(network_signature(network))

    def elaborate(self, platform: object) -> Module:
        m = Module()
        network = self.network
        regenerate = network.config.architecture == "regenerate"
        layers = []
        for index, layer in enumerate(network.layers):
            core = ScLayer(
                layer, network.weights[index], network.membrane_bits(index),
                encoded=index == 0 or regenerate,
            )
            m.submodules[f"layer{index}"] = core
            layers.append(core)

        restart = Signal()
        m.d.comb += restart.eq(self.start & ~self.busy)
        busy = Signal()
        done = Signal()
        m.d.comb += [self.busy.eq(busy), self.done.eq(done)]
        with m.If(restart):
            m.d.sync += [busy.eq(1), done.eq(0)]

        for index, core in enumerate(layers):
            m.d.comb += [
                core.restart.eq(restart),
                getattr(self, f"spikes_l{index}").eq(core.spikes),
                getattr(self, f"spike_valid_l{index}").eq(core.spike_valid),
            ]
            if index == 0:
                m.d.comb += core.q.eq(self.x)
            elif regenerate:
                before, layer = layers[index - 1], network.layers[index]
                length = network.layers[index - 1].bitstream_length
                for j in range(layer.n_in):
                    m.d.comb += core.q[j].eq(
                        regenerated_values(before.counts[j], length, layer.precision)
                    )
            else:
                m.d.comb += core.x.eq(layers[index - 1].spikes)
        m.d.comb += self.counts.eq(layers[-1].counts)

        finished = Signal()
        if regenerate:
            self._regenerate_controller(m, layers, restart, busy, finished)
        else:
            self._stream_controller(m, layers, restart, busy, finished)
        with m.If(finished):
            m.d.sync += [busy.eq(0), done.eq(1)]
        return m

    def _stream_controller(
        self, m: Module, layers: list[ScLayer], restart: Signal, busy: Signal, finished: Signal
    ) -> None:
        network = self.network
        length = network.layers[0].bitstream_length
        cycles = network.cycles_per_period
        periods = length + len(layers) - 1
        period = Signal(range(periods), name="period")
        if cycles > 1:
            phase = Signal(range(cycles), name="phase")
            period_end = phase == cycles - 1
        else:
            phase = Const(0, 1)
            period_end = Const(1, 1)
        with m.If(restart):
            m.d.sync += period.eq(0)
            if cycles > 1:
                m.d.sync += phase.eq(0)
        with m.Elif(busy):
            if cycles > 1:
                m.d.sync += phase.eq(Mux(period_end, 0, phase + 1))
            with m.If(period_end):
                m.d.sync += period.eq(period + 1)
        m.d.comb += finished.eq(busy & period_end & (period == periods - 1))
        for index, core in enumerate(layers):
            folds = network.layers[index].fold_cycles
            active = period < index + length
            if index:
                active = active & (period >= index)
            in_window = (phase >= cycles - folds) if folds < cycles else Const(1, 1)
            m.d.comb += core.step.eq(busy & active & in_window)

    def _regenerate_controller(
        self, m: Module, layers: list[ScLayer], restart: Signal, busy: Signal, finished: Signal
    ) -> None:
        network = self.network
        longest = max(layer.bitstream_length for layer in network.layers)
        current = Signal(range(len(layers)), name="current_layer")
        period = Signal(range(longest), name="period")
        period_end = Signal()
        last_period = Signal()
        ends, lasts = [], []
        for index, core in enumerate(layers):
            here = current == index
            m.d.comb += core.step.eq(busy & here)
            ends.append(here & core.period_end)
            lasts.append(here & (period == network.layers[index].bitstream_length - 1))
        m.d.comb += [period_end.eq(_any(ends)), last_period.eq(_any(lasts))]
        with m.If(restart):
            m.d.sync += [current.eq(0), period.eq(0)]
        with m.Elif(period_end):
            with m.If(last_period):
                m.d.sync += period.eq(0)
                if len(layers) > 1:
                    with m.If(current != len(layers) - 1):
                        m.d.sync += current.eq(current + 1)
            with m.Else():
                m.d.sync += period.eq(period + 1)
        m.d.comb += finished.eq(
            period_end & last_period & (current == len(layers) - 1)
        )


def _any(terms: list[Value]) -> Value:
    result: Value = Const(0, 1)
    for term in terms:
        result = result | term
    return result
