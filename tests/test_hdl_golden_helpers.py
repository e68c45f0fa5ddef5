"""A slow, scalar transcription of ``docs/arithmetic.md`` and small-network builders.

Every random number here is produced by re-reading the contract (register steps, the
Sobol Gray-code recurrence, SplitMix64 permutations and seeds), not by calling
``stochflow.hdl.rng``, so agreement with the golden model checks both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.hdl.rng import sobol_directions

MASK64 = (1 << 64) - 1


def splitmix64(state: int) -> tuple[int, int]:
    state = (state + 0x9E3779B97F4A7C15) & MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return state, z ^ (z >> 31)


def permutation(stream: int, width: int) -> list[int]:
    perm = list(range(width))
    if stream == 0:
        return perm
    state = stream
    for i in range(width - 1, 0, -1):
        state, out = splitmix64(state)
        k = out % (i + 1)
        perm[i], perm[k] = perm[k], perm[i]
    return perm


def independent_seed(seed: int, stream: int, width: int) -> int:
    if stream == 0:
        return seed
    _, out = splitmix64((seed << 20) ^ stream)
    return out % ((1 << width) - 1) + 1


def lfsr_numbers(spec: RngSpec, seed: int, length: int) -> list[int]:
    width, poly = spec.width, spec.polynomial
    assert poly is not None
    state, out = seed, []
    for _ in range(length):
        out.append(state)
        if spec.structure == "fibonacci":
            feedback = bin(state & poly).count("1") & 1
            state = ((state << 1) | feedback) & ((1 << width) - 1)
        else:
            state = (state >> 1) ^ (poly if state & 1 else 0)
    return out


def sobol_numbers(dimension: int, width: int, start: int, length: int) -> list[int]:
    directions = sobol_directions(dimension, width)  # V_1 … V_w
    n0 = start
    gray = n0 ^ (n0 >> 1)
    r = 0
    for i in range(width):
        if gray >> i & 1:
            r ^= directions[i]
    out = [r]
    for t in range(length - 1):
        value = (n0 + t + 1) % (1 << width)
        c = width - 1 if value == 0 else (value & -value).bit_length() - 1
        r ^= directions[c]
        out.append(r)
    return out


def vdc_numbers(width: int, start: int, length: int) -> list[int]:
    out = []
    for t in range(length):
        n = (start + t) % (1 << width)
        out.append(int(format(n, f"0{width}b")[::-1], 2))
    return out


def comparator_numbers(spec: RngSpec, streams: int, length: int, precision: int) -> list[list[int]]:
    """``u[t][j]`` for one source feeding ``streams`` streams."""
    w = spec.width

    def raw(stream: int) -> list[int]:
        if spec.kind == "lfsr":
            seed = spec.seed
            if spec.decorrelation == "rotated":
                k = stream % w
                seed = ((seed << k) | (seed >> (w - k))) & ((1 << w) - 1) if k else seed
            elif spec.decorrelation == "independent":
                seed = independent_seed(spec.seed, stream, w)
            return lfsr_numbers(spec, seed, length)
        if spec.kind == "sobol":
            dimension = spec.dimension + (stream if spec.decorrelation == "independent" else 0)
            return sobol_numbers(dimension, w, spec.seed, length)
        return vdc_numbers(w, spec.seed, length)

    columns = []
    for j in range(streams):
        values = raw(j)
        if spec.decorrelation == "permuted":
            perm = permutation(j, w)
            values = [sum(((r >> perm[i]) & 1) << i for i in range(w)) for r in values]
        columns.append([r >> (w - precision) for r in values])
    return [[columns[j][t] for j in range(streams)] for t in range(length)]


@dataclass
class ReferenceRun:
    counts: list[np.ndarray]  # per layer (batch, n_out)
    spikes: list[np.ndarray]  # per layer (batch, L, n_out)


def reference_run(network: Network, inputs_q: np.ndarray) -> ReferenceRun:
    """Every inference, layer, period and neuron one at a time, as the contract reads."""
    arch = network.config.architecture
    batch = len(inputs_q)
    counts = [np.zeros((batch, layer.n_out), dtype=np.int64) for layer in network.layers]
    spikes = [
        np.zeros((batch, layer.bitstream_length, layer.n_out), dtype=bool) for layer in network.layers
    ]
    tables = []
    for k, layer in enumerate(network.layers):
        u = comparator_numbers(layer.weight_rng, layer.n_in + 1, layer.bitstream_length, layer.precision)
        v = None
        if k == 0 or arch == "regenerate":
            assert layer.input_rng is not None
            v = comparator_numbers(layer.input_rng, layer.n_in, layer.bitstream_length, layer.precision)
        tables.append((u, v))
    for b in range(batch):
        q = [int(value) for value in inputs_q[b]]
        for k, layer in enumerate(network.layers):
            weights = network.weights[k]
            theta = weights.threshold
            bits = network.membrane_bits(k)
            low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
            v0 = theta // 2 if layer.membrane_init == "half_threshold" else 0
            u, v = tables[k]
            if k > 0 and arch == "regenerate":
                shift = network.layers[k - 1].bitstream_length.bit_length() - 1
                q = [(int(c) << layer.precision) >> shift for c in counts[k - 1][b]]
            membrane = [v0] * layer.n_out
            for t in range(layer.bitstream_length):
                if v is not None:
                    x = [1 if v[t][j] < q[j] else 0 for j in range(layer.n_in)]
                else:
                    x = [int(spikes[k - 1][b, t, j]) for j in range(layer.n_in)]
                x.append(1)  # bias input
                for i in range(layer.n_out):
                    c = 0
                    for j in range(layer.n_in + 1):
                        w = int(weights.weights[i, j]) if j < layer.n_in else int(weights.bias[i])
                        m, sign = abs(w), (-1 if w < 0 else 1)
                        wb = 1 if u[t][j] < m else 0
                        c += sign * (x[j] & wb)
                    a = membrane[i] + c
                    if a > 0:
                        a -= min(layer.leak, a)
                    elif a < 0:
                        a += min(layer.leak, -a)
                    a = max(low, min(high, a))
                    fire = 1 if a >= theta else 0
                    membrane[i] = a - theta * fire
                    spikes[k][b, t, i] = bool(fire)
                    counts[k][b, i] += fire
    return ReferenceRun(counts, spikes)


def random_network(
    sizes: list[tuple[int, int]],
    *,
    architecture: str = "stream",
    seed: int = 0,
    lengths: list[int] | None = None,
    precisions: list[int] | None = None,
    weight_rngs: list[RngSpec] | None = None,
    input_rngs: list[RngSpec | None] | None = None,
    thresholds: list[int] | None = None,
    **knobs: object,
) -> Network:
    """A network of random sign-magnitude weights (about a quarter of them zero)."""
    rng = np.random.default_rng(seed)
    layers, weights = [], []
    for k, (n_in, n_out) in enumerate(sizes):
        p = precisions[k] if precisions else 6
        encodes = k == 0 or architecture == "regenerate"
        weight_rng = weight_rngs[k] if weight_rngs else RngSpec(width=12, seed=0x5A5 + 17 * k)
        if input_rngs is not None:
            input_rng = input_rngs[k]
        else:
            input_rng = RngSpec(width=12, seed=0x2C3 + 5 * k, structure="galois") if encodes else None
        layers.append(
            LayerConfig(
                f"l{k}",
                n_in,
                n_out,
                bitstream_length=lengths[k] if lengths else 64,
                precision=p,
                weight_rng=weight_rng,
                input_rng=input_rng,
                **knobs,  # type: ignore[arg-type]
            )
        )
        limit = (1 << p) - 1
        w = rng.integers(-limit, limit + 1, size=(n_out, n_in)) * (rng.random((n_out, n_in)) < 0.75)
        b = rng.integers(-limit // 2, limit + 1, size=n_out)
        theta = thresholds[k] if thresholds else max(1, int(np.sqrt(n_in)) // 2)
        weights.append(LayerWeights(w.astype(np.int32), b.astype(np.int32), theta))
    return Network(NetworkConfig("net", tuple(layers), architecture), tuple(weights))  # type: ignore[arg-type]


def random_inputs(network: Network, batch: int, seed: int = 1) -> np.ndarray:
    p = network.layers[0].precision
    rng = np.random.default_rng(seed)
    return rng.integers(0, (1 << p) + 1, size=(batch, network.layers[0].n_in)).astype(np.int32)
