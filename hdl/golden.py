"""The golden model: numpy transcription of ``docs/arithmetic.md``, bit for bit.

The RTL is proven against this model spike for spike, and the optimiser scores
accuracy with it, so it must be exact and fast. Everything that does not depend on
the inputs (comparator numbers of every source, signed weight thresholds, the
sorted order of each input stream's random numbers) is prepared once per network
(:class:`GoldenModel`, cached by design hash in :func:`run`).

Two engines compute the same integers:

- ``"numpy"``: the reference. One period at a time for the whole batch; the signed
  weight bits of the period are built as a matrix and multiplied with the input
  bits (float32, exact below 2^24 columns). Short and obviously right.
- ``"numba"``: compiled kernels (:mod:`stochflow.hdl.golden_kernels`) that add a weight
  column only for inputs that spiked, or, for a narrow layer fed by spikes, popcount
  bit-packed inputs against bit-packed weight bits. ``"auto"`` picks it when numba is
  importable; a test holds the two engines to identical spikes.

Energy bookkeeping (``GoldenResult.activity``): an *input spike* is a 1 on a layer's
input bitstream ``x_j(t)``, bias column excluded (it is constant 1 and no spike);
a layer's *SynOps* are its input spikes times its fan-out ``n_out``.
"""

from __future__ import annotations

import importlib.util
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from .config import LayerConfig, RngSpec
from .errors import SpecError
from .network import Network
from .rng import stream_numbers

Engine = Literal["auto", "numba", "numpy"]
ENGINES: tuple[str, ...] = ("auto", "numba", "numpy")
STREAM_KERNELS: tuple[str, ...] = ("auto", "sparse", "packed")

_MODEL_CACHE_SIZE = 8
_model_cache: OrderedDict[tuple[str, str], GoldenModel] = OrderedDict()


def numba_available() -> bool:
    return importlib.util.find_spec("numba") is not None


def quantise_inputs(x_float: np.ndarray, precision: int) -> np.ndarray:
    """``q = round_half_even(x · 2^p)`` clipped to ``0 … 2^p`` (int32, same shape)."""
    x = np.asarray(x_float, dtype=np.float64)
    if not np.all(np.isfinite(x)):
        raise SpecError("inputs", "expected finite floats in [0, 1], got NaN or infinity")
    scaled = np.rint(x * float(1 << precision))  # rint rounds half to even
    return np.clip(scaled, 0, 1 << precision).astype(np.int32)


@lru_cache(maxsize=32)  # an entry is L × streams int32: up to ~13 MB at L = 4096, 785 streams
def comparator_numbers(spec: RngSpec, streams: int, length: int, precision: int) -> np.ndarray:
    """``u_j(t)`` of a source (see :func:`stochflow.hdl.rng.stream_numbers`), read-only, cached."""
    numbers = stream_numbers(spec, streams, length, precision).astype(np.int32)
    numbers.setflags(write=False)
    return numbers


@dataclass(frozen=True)
class LayerActivity:
    """Spiking activity of one layer summed over a batch (the energy model's input)."""

    name: str
    spike_counts: np.ndarray  # (n_out,) per neuron, summed over the batch
    spikes_total: int
    input_spikes_total: int
    synops: int


@dataclass(frozen=True)
class GoldenResult:
    """What one batch of inferences produced.

    ``counts[k]``: ``(batch, n_out_k)`` spike counts; ``input_counts[k]``:
    ``(batch, n_in_k)`` ones on each input bitstream; ``spikes[k]``: ``(batch, L_k,
    n_out_k)`` spike trains when recorded; ``predictions``: lowest index of the largest
    last-layer count.
    """

    layer_names: tuple[str, ...]
    counts: list[np.ndarray]
    input_counts: list[np.ndarray]
    spikes: list[np.ndarray] | None
    predictions: np.ndarray

    @property
    def batch(self) -> int:
        return int(self.predictions.shape[0])

    def spikes_total(self, layer: int) -> int:
        return int(self.counts[layer].sum(dtype=np.int64))

    def input_spikes_total(self, layer: int) -> int:
        return int(self.input_counts[layer].sum(dtype=np.int64))

    def synops(self, layer: int) -> int:
        return self.input_spikes_total(layer) * int(self.counts[layer].shape[1])

    def activity(self) -> list[LayerActivity]:
        return [
            LayerActivity(
                name=name,
                spike_counts=self.counts[k].sum(axis=0, dtype=np.int64),
                spikes_total=self.spikes_total(k),
                input_spikes_total=self.input_spikes_total(k),
                synops=self.synops(k),
            )
            for k, name in enumerate(self.layer_names)
        ]


@dataclass(frozen=True, eq=False)
class PreparedLayer:
    """The input-independent tensors of one layer, built once per network."""

    config: LayerConfig
    threshold: int
    leak: int
    v0: int
    low: int  # -2^(B-1)
    high: int  # 2^(B-1) - 1
    weight_u: np.ndarray  # (L, n_in + 1) int32: u_j(t), bias column last
    magnitude: np.ndarray  # (n_out, n_in + 1) int32: m_ij, bias column last
    sign: np.ndarray  # (n_out, n_in + 1) int8: ±1
    input_v: np.ndarray | None  # (L, n_in) int32: v_j(t) when the layer encodes its inputs

    @property
    def length(self) -> int:
        return self.config.bitstream_length

    @property
    def encodes(self) -> bool:
        return self.input_v is not None


def prepare_layer(network: Network, index: int) -> PreparedLayer:
    layer = network.layers[index]
    weights = network.weights[index]
    threshold = weights.threshold
    bits = network.membrane_bits(index)
    signed = np.concatenate(
        [np.asarray(weights.weights, dtype=np.int64), np.asarray(weights.bias, dtype=np.int64)[:, None]],
        axis=1,
    )
    length, precision = layer.bitstream_length, layer.precision
    encodes = index == 0 or network.config.architecture == "regenerate"
    input_v = None
    if encodes:
        assert layer.input_rng is not None
        try:
            input_v = comparator_numbers(layer.input_rng, layer.n_in, length, precision)
        except SpecError as error:
            raise error.under(f"layer[{index}].input_rng") from None
    try:
        weight_u = comparator_numbers(layer.weight_rng, layer.columns, length, precision)
    except SpecError as error:
        raise error.under(f"layer[{index}].weight_rng") from None
    return PreparedLayer(
        config=layer,
        threshold=threshold,
        leak=layer.leak,
        v0=threshold // 2 if layer.membrane_init == "half_threshold" else 0,
        low=-(1 << (bits - 1)),
        high=(1 << (bits - 1)) - 1,
        weight_u=weight_u,
        magnitude=np.abs(signed).astype(np.int32),
        sign=np.where(signed < 0, -1, 1).astype(np.int8),
        input_v=input_v,
    )


def regenerated_inputs(counts: np.ndarray, length: int, precision: int) -> np.ndarray:
    """Regenerate: ``q_j = (count_j · 2^p) / L`` as an exact shift (floored when 2^p < L)."""
    shift = length.bit_length() - 1
    return ((counts.astype(np.int64) << precision) >> shift).astype(np.int32)


class GoldenModel:
    """A network prepared for repeated batches; ``run`` is :func:`run` without the cache."""

    def __init__(
        self, network: Network, engine: Engine = "auto", *, stream_kernel: str = "auto"
    ) -> None:
        if stream_kernel not in STREAM_KERNELS:
            raise SpecError(
                "stream_kernel",
                f"expected one of {', '.join(STREAM_KERNELS)}, got {stream_kernel!r}",
            )
        if engine not in ENGINES:
            raise SpecError("engine", f"expected one of {', '.join(ENGINES)}, got {engine!r}")
        if engine == "auto":
            engine = "numba" if numba_available() else "numpy"
        self.network = network
        self.engine: str = engine
        self.layers = tuple(prepare_layer(network, k) for k in range(len(network.layers)))
        self._fast = _FastLayers(self.layers, stream_kernel) if engine == "numba" else None

    def check_inputs(self, inputs_q: np.ndarray) -> np.ndarray:
        inputs = np.asarray(inputs_q)
        first = self.layers[0].config
        if inputs.ndim != 2 or inputs.shape[1] != first.n_in:
            raise SpecError(
                "inputs", f"expected shape (batch, {first.n_in}), got {tuple(inputs.shape)}"
            )
        if not np.issubdtype(inputs.dtype, np.integer):
            raise SpecError(
                "inputs", f"expected quantised integers (see quantise_inputs), got {inputs.dtype}"
            )
        limit = 1 << first.precision
        if inputs.size and (int(inputs.min()) < 0 or int(inputs.max()) > limit):
            raise SpecError(
                "inputs",
                f"expected values 0…{limit} (precision {first.precision}), "
                f"got {int(inputs.min())}…{int(inputs.max())}",
            )
        return inputs.astype(np.int32)

    def run(self, inputs_q: np.ndarray, *, record_spikes: bool = False) -> GoldenResult:
        q = self.check_inputs(inputs_q)
        if self._fast is not None:
            counts, input_counts, spikes = self._fast.run(q, record_spikes)
        else:
            counts, input_counts, spikes = _run_numpy(self.layers, q, record_spikes)
        last = counts[-1]
        predictions = (
            np.argmax(last, axis=1) if last.shape[0] else np.zeros(0, dtype=np.int64)
        )
        return GoldenResult(
            layer_names=tuple(layer.config.name for layer in self.layers),
            counts=counts,
            input_counts=input_counts,
            spikes=spikes if record_spikes else None,
            predictions=predictions.astype(np.int64),
        )


def run(
    network: Network,
    inputs_q: np.ndarray,
    *,
    record_spikes: bool = False,
    engine: Engine = "auto",
) -> GoldenResult:
    """Run a batch of quantised inputs ``(batch, n_in)`` through ``network``.

    Prepared tensors are cached per design hash (the few most recent networks).
    """
    key = (network.design_hash, engine)
    model = _model_cache.get(key)
    if model is None:
        model = GoldenModel(network, engine)
        _model_cache[key] = model
        while len(_model_cache) > _MODEL_CACHE_SIZE:
            _model_cache.popitem(last=False)
    else:
        _model_cache.move_to_end(key)
    return model.run(inputs_q, record_spikes=record_spikes)


def predict(network: Network, x_float: np.ndarray, *, engine: Engine = "auto") -> np.ndarray:
    """Predicted classes of float inputs in [0, 1] (quantised at layer 1's precision)."""
    return run(network, quantise_inputs(x_float, network.input_precision), engine=engine).predictions


# --- the numpy reference ----------------------------------------------------------------


def _integrate_period(
    layer: PreparedLayer, membrane: np.ndarray, c: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1–4 of the neuron for one period: returns (new membrane, spikes)."""
    a = membrane + c
    if layer.leak:
        a = np.where(a > 0, a - np.minimum(layer.leak, a), a + np.minimum(layer.leak, -a))
    a = np.clip(a, layer.low, layer.high)
    fire = a >= layer.threshold
    return a - layer.threshold * fire, fire


def _run_numpy(
    layers: tuple[PreparedLayer, ...], q: np.ndarray, record_spikes: bool
) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    batch = q.shape[0]
    counts: list[np.ndarray] = []
    input_counts: list[np.ndarray] = []
    spikes: list[np.ndarray] = []
    previous: np.ndarray | None = None  # (batch, L, n_in) spikes of the layer before
    for index, layer in enumerate(layers):
        cfg = layer.config
        if layer.encodes:
            if index > 0:
                q = regenerated_inputs(counts[-1], layers[index - 1].length, cfg.precision)
            assert layer.input_v is not None
            # (batch, L, n_in): x_j(t) = [v_j(t) < q_j]
            x = layer.input_v[None, :, :] < q[:, None, :]
        else:
            assert previous is not None
            x = previous
        input_counts.append(x.sum(axis=1, dtype=np.int32))
        signed_columns = layer.sign.astype(np.float32)
        membrane = np.full((batch, cfg.n_out), layer.v0, dtype=np.int64)
        fired = np.zeros((batch, layer.length, cfg.n_out), dtype=bool)
        with_bias = np.ones((batch, cfg.columns), dtype=np.float32)
        for t in range(layer.length):
            weight_bits = layer.weight_u[t][None, :] < layer.magnitude  # (n_out, n_in + 1)
            with_bias[:, : cfg.n_in] = x[:, t, :]
            c = with_bias @ (signed_columns * weight_bits).T  # exact: integers < 2^24
            membrane, fired[:, t, :] = _integrate_period(layer, membrane, c.astype(np.int64))
        counts.append(fired.sum(axis=1, dtype=np.int32))
        spikes.append(fired)
        previous = fired
    return counts, input_counts, spikes if record_spikes else []


# --- the compiled path ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _KernelTables:
    """One layer's arrays in the kernels' representation (see :mod:`.golden_kernels`)."""

    weight_u: np.ndarray
    magnitude: np.ndarray
    sign: np.ndarray
    chunk: int
    lane_type: type
    membrane_type: type
    sorted_v: np.ndarray | None
    order: np.ndarray | None
    weight_u_in_order: np.ndarray | None
    packed: tuple[np.ndarray, np.ndarray, np.ndarray] | None

    @classmethod
    def build(cls, layer: PreparedLayer, kernel: str) -> _KernelTables:
        cfg = layer.config
        lane_type = np.int8 if cfg.precision <= 8 else np.int16
        offset = 1 << (np.iinfo(lane_type).bits - 1)
        chunk = 120 if lane_type is np.int8 else 32760  # columns whose sum fits a lane
        lanes = -(-cfg.n_out // 32) * 32
        magnitude = np.zeros((cfg.columns, lanes), dtype=np.int64)
        magnitude[:, : cfg.n_out] = layer.magnitude.T
        sign = np.ones((cfg.columns, lanes), dtype=lane_type)
        sign[:, : cfg.n_out] = layer.sign.T
        sorted_v = order = None
        if layer.input_v is not None:
            v = layer.input_v.T  # (n_in, L)
            order = np.argsort(v, axis=1, kind="stable").astype(np.int32)
            sorted_v = np.ascontiguousarray(np.take_along_axis(v, order, axis=1), dtype=np.int32)
        weight_u_t = (layer.weight_u[:, : cfg.n_in].astype(np.int64) - offset).T.astype(lane_type)
        # V + c stays below 2^31 when the membrane and the column count leave headroom.
        wide = (layer.high + cfg.columns) >= 2**31 or (layer.low - cfg.columns) < -(2**31)
        return cls(
            weight_u=np.ascontiguousarray(layer.weight_u.astype(np.int64) - offset, dtype=lane_type),
            magnitude=np.ascontiguousarray(magnitude - offset, dtype=lane_type),
            sign=sign,
            chunk=chunk,
            lane_type=lane_type,
            membrane_type=np.int64 if wide else np.int32,
            sorted_v=sorted_v,
            order=order,
            weight_u_in_order=(
                None if order is None
                else np.ascontiguousarray(np.take_along_axis(weight_u_t, order, axis=1))
            ),
            packed=packed_weight_bits(layer) if kernel == "packed" else None,
        )


def packed_weight_bits(layer: PreparedLayer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weight bits of every period as 64-bit words, for the popcount kernel.

    Returns ``(positive, negative, bias)``: ``(L, n_out, ⌈n_in/64⌉)`` uint64 words of the
    bits ``wb_ij(t)`` of positive / negative weights, and ``(L, n_out)`` int8 signed bias
    bits (the bias input is always 1).
    """
    cfg = layer.config
    words = -(-cfg.n_in // 64)
    bits = layer.weight_u[:, None, :] < layer.magnitude[None, :, :]  # (L, n_out, n_in + 1)
    negative = layer.sign < 0
    padded = np.zeros((layer.length, cfg.n_out, words * 64), dtype=bool)

    def pack(mask: np.ndarray) -> np.ndarray:
        padded[:, :, : cfg.n_in] = bits[:, :, : cfg.n_in] & mask[None, :, : cfg.n_in]
        packed = np.packbits(padded, axis=2, bitorder="little")
        return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)

    bias = np.where(negative[:, cfg.n_in], -1, 1)[None, :] * bits[:, :, cfg.n_in]
    return pack(~negative), pack(negative), bias.astype(np.int8)


def choose_stream_kernel(layer: PreparedLayer) -> str:
    """``packed`` (popcount over all inputs) or ``sparse`` (a column per input spike).

    A rough operation count per period, assuming a quarter of the inputs spike; both
    kernels give the same integers, this only picks the faster one.
    """
    cfg = layer.config
    packed_cost = cfg.n_out * -(-cfg.n_in // 64) * 6
    sparse_cost = cfg.n_in * (2 + 0.25 * (-(-cfg.n_out // 32) * 10 + 6))
    table_bytes = layer.length * cfg.n_out * -(-cfg.n_in // 64) * 16
    return "packed" if packed_cost < sparse_cost and table_bytes <= 8 << 20 else "sparse"


class _FastLayers:
    """Runs the prepared layers through the numba kernels, layer by layer over the batch."""

    def __init__(self, layers: tuple[PreparedLayer, ...], stream_kernel: str = "auto") -> None:
        self.layers = layers
        self.kernels = [
            "encoded"
            if layer.encodes
            else (choose_stream_kernel(layer) if stream_kernel == "auto" else stream_kernel)
            for layer in layers
        ]
        self.tables = [
            _KernelTables.build(layer, kernel)
            for layer, kernel in zip(layers, self.kernels, strict=True)
        ]

    def run(
        self, q: np.ndarray, record_spikes: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        from . import golden_kernels as kernels

        batch = q.shape[0]
        counts: list[np.ndarray] = []
        input_counts: list[np.ndarray] = []
        spikes: list[np.ndarray] = []
        previous: np.ndarray | None = None
        for index, (layer, tables) in enumerate(zip(self.layers, self.tables, strict=True)):
            cfg = layer.config
            feeds_next = index + 1 < len(self.layers) and not self.layers[index + 1].encodes
            record = record_spikes or feeds_next
            n_pad = -(-cfg.n_out // 8) * 8
            out_spikes = np.zeros(
                (batch, layer.length, n_pad) if record else (batch, 1, 1), dtype=np.uint8
            )
            out_counts = np.zeros((batch, cfg.n_out), dtype=np.int32)
            scratch = (
                tables.chunk,
                np.zeros((layer.length, tables.magnitude.shape[1]), dtype=tables.lane_type),
                np.zeros((layer.length, tables.magnitude.shape[1]), dtype=np.int32),
                np.zeros(cfg.n_out, dtype=tables.membrane_type),
                layer.v0,
                layer.threshold,
                layer.leak,
                layer.low,
                layer.high,
                out_spikes,
                out_counts,
            )
            if layer.encodes:
                if index > 0:
                    q = regenerated_inputs(counts[-1], self.layers[index - 1].length, cfg.precision)
                out_inputs = np.zeros((batch, cfg.n_in), dtype=np.int32)
                kernels.encoded_layer(
                    np.ascontiguousarray(q, dtype=np.int32),
                    tables.sorted_v,
                    tables.order,
                    tables.weight_u_in_order,
                    tables.weight_u,
                    tables.magnitude,
                    tables.sign,
                    *scratch,
                    out_inputs,
                    record,
                )
            elif tables.packed is not None:
                assert previous is not None
                out_inputs = counts[-1].copy()  # a stream layer's inputs are the spikes before
                kernels.stream_layer_packed(
                    previous.view(np.uint64), *tables.packed, *scratch[2:], record
                )
            else:
                assert previous is not None
                out_inputs = counts[-1].copy()
                kernels.stream_layer_sparse(
                    previous,
                    cfg.n_in,
                    tables.weight_u,
                    tables.magnitude,
                    tables.sign,
                    *scratch,
                    record,
                )
            counts.append(out_counts)
            input_counts.append(out_inputs)
            previous = out_spikes if record else None
            if record_spikes:
                spikes.append(out_spikes[:, :, : cfg.n_out].astype(bool))
        return counts, input_counts, spikes
