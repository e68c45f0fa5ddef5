"""Helpers for the RTL tests: small random networks, a scalar reading of the arithmetic
contract, and an Amaranth-simulator driver for ``sc_network``.

The scalar model is a literal, loop-by-loop transcription of ``docs/arithmetic.md``
(independent of the vectorised golden model), used to cross-check both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from amaranth.sim import Simulator
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.hdl.rng import stream_numbers
from stochflow.hdl.rtl_network import ScNetwork

# -- networks ---------------------------------------------------------------------------


def random_network(
    layers: list[LayerConfig], *, seed: int = 0, architecture: str = "stream",
    signed_weights: bool = True, thresholds: list[int] | None = None,
) -> Network:
    """A network with random integer weights that fit each layer's precision."""
    rng = np.random.default_rng(seed)
    weights = []
    for index, layer in enumerate(layers):
        limit = (1 << layer.precision) - 1
        low = -limit if signed_weights else 0
        w = rng.integers(low, limit + 1, size=(layer.n_out, layer.n_in))
        b = rng.integers(low, limit + 1, size=layer.n_out)
        threshold = thresholds[index] if thresholds else max(1, (limit * (layer.n_in + 1)) // 6)
        weights.append(LayerWeights(w.astype(np.int64), b.astype(np.int64), threshold))
    config = NetworkConfig("net", tuple(layers), architecture)  # type: ignore[arg-type]
    return Network(config, tuple(weights))


def layer(name: str, n_in: int, n_out: int, **knobs: object) -> LayerConfig:
    knobs.setdefault("bitstream_length", 16)
    knobs.setdefault("precision", 4)
    knobs.setdefault("weight_rng", RngSpec(width=8, seed=0x5A))
    return LayerConfig(name, n_in, n_out, **knobs)  # type: ignore[arg-type]


def random_inputs(network: Network, batch: int, seed: int = 1) -> np.ndarray:
    """Quantised inputs ``0 … 2^p`` (both ends included now and then)."""
    p = network.layers[0].precision
    rng = np.random.default_rng(seed)
    q = rng.integers(0, (1 << p) + 1, size=(batch, network.layers[0].n_in))
    q[0, 0] = 1 << p
    if q.shape[1] > 1:
        q[0, 1] = 0
    return q


# -- scalar model of the contract -------------------------------------------------------


@dataclass
class Reference:
    counts: list[np.ndarray]  # per layer, (batch, n_out)
    spikes: list[np.ndarray]  # per layer, (batch, L, n_out) bool


def _membrane_start(layer: LayerConfig, threshold: int) -> int:
    return threshold // 2 if layer.membrane_init == "half_threshold" else 0


def _run_layer(
    network: Network, index: int, input_bits: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One layer on one sample: ``input_bits`` is (L, n_in) → spikes (L, n_out), counts."""
    layer, weights = network.layers[index], network.weights[index]
    length, p = layer.bitstream_length, layer.precision
    u = stream_numbers(layer.weight_rng, layer.columns, length, p)
    full = np.concatenate([weights.weights, weights.bias[:, None]], axis=1)
    bits = int(network.membrane_bits(index))
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    theta, leak = weights.threshold, layer.leak
    v = [_membrane_start(layer, theta)] * layer.n_out
    spikes = np.zeros((length, layer.n_out), dtype=bool)
    for t in range(length):
        x = [int(b) for b in input_bits[t]] + [1]
        for i in range(layer.n_out):
            c = 0
            for j in range(layer.columns):
                w = int(full[i, j])
                wb = int(u[t, j]) < abs(w)
                if x[j] and wb:
                    c += 1 if w > 0 else -1
            a = v[i] + c
            if a > 0:
                a -= min(leak, a)
            elif a < 0:
                a += min(leak, -a)
            a = min(max(a, low), high)
            s = a >= theta
            v[i] = a - theta * s
            spikes[t, i] = s
    return spikes, spikes.sum(axis=0)


def _encode(layer: LayerConfig, q: np.ndarray) -> np.ndarray:
    assert layer.input_rng is not None
    v = stream_numbers(layer.input_rng, layer.n_in, layer.bitstream_length, layer.precision)
    return v < q[None, :]


def reference_run(network: Network, inputs_q: np.ndarray) -> Reference:
    counts = [[] for _ in network.layers]
    spikes = [[] for _ in network.layers]
    for sample in inputs_q:
        bits = _encode(network.layers[0], np.asarray(sample))
        for index, layer in enumerate(network.layers):
            if index and network.config.architecture == "regenerate":
                before = network.layers[index - 1].bitstream_length
                q = (counts[index - 1][-1] * (1 << layer.precision)) // before
                bits = _encode(layer, q)
            s, n = _run_layer(network, index, bits)
            spikes[index].append(s)
            counts[index].append(n)
            bits = s
    return Reference(
        [np.array(c) for c in counts], [np.array(s) for s in spikes]
    )


# -- Amaranth simulation of sc_network --------------------------------------------------


@dataclass
class SimRun:
    counts: np.ndarray  # (batch, n_out) of the last layer
    spikes: list[np.ndarray]  # per layer (batch, L_k, n_out)
    latencies: list[int]  # per inference, edges from start sample to done sample
    busy_cycles: list[int]


def pack_inputs(q: np.ndarray, precision: int) -> int:
    value = 0
    for j, item in enumerate(q):
        value |= int(item) << (j * (precision + 1))
    return value


def simulate_network(network: Network, inputs_q: np.ndarray, *, gap: int = 2) -> SimRun:
    """Run ``sc_network`` in the Amaranth simulator, one inference after the other."""
    dut = ScNetwork(network)
    layers = network.layers
    last = layers[-1]
    count_bits = last.count_bits
    result = SimRun(np.zeros((len(inputs_q), last.n_out), dtype=np.int64),
                    [np.zeros((len(inputs_q), lay.bitstream_length, lay.n_out), dtype=bool)
                     for lay in layers], [], [])
    valid_ports = [getattr(dut, f"spike_valid_l{k}") for k in range(len(layers))]
    spike_ports = [getattr(dut, f"spikes_l{k}") for k in range(len(layers))]
    limit = 4 * (sum(lay.bitstream_length * lay.fold_cycles for lay in layers)
                 + len(layers) * network.cycles_per_period + 8)

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for b, sample in enumerate(inputs_q):
            ctx.set(dut.x.as_value(), pack_inputs(sample, layers[0].precision))
            ctx.set(dut.start, 1)
            await ctx.tick()  # edge 0 samples start = 1
            ctx.set(dut.start, 0)
            seen = [0] * len(layers)
            busy = 0
            edge = 0
            while True:
                # Values read now are those the next edge (edge + 1) samples.
                busy += ctx.get(dut.busy)
                for k in range(len(layers)):
                    if ctx.get(valid_ports[k]):
                        word = ctx.get(spike_ports[k])
                        t = seen[k]
                        for i in range(layers[k].n_out):
                            result.spikes[k][b, t, i] = bool(word >> i & 1)
                        seen[k] += 1
                if ctx.get(dut.done):
                    result.latencies.append(edge + 1)
                    result.busy_cycles.append(busy)
                    break
                await ctx.tick()
                edge += 1
                assert edge < limit, "done never rose"
            assert seen == [lay.bitstream_length for lay in layers], seen
            word = ctx.get(dut.counts.as_value())
            for i in range(last.n_out):
                result.counts[b, i] = word >> (i * count_bits) & ((1 << count_bits) - 1)
            for _ in range(gap):
                await ctx.tick()
                assert ctx.get(dut.done) == 1

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return result
