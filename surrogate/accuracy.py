"""Per-layer accuracy proxies: the separable objective the selector minimises.

The selector needs one error number per layer option, and the network objective is the
sum over layers, so the knapsack stays separable. Two proxies exist:

``model:sc-stream-error`` (:class:`StreamErrorModel`, needs no weights)
    RMS error of the layer's stochastic products, measured on the exact random
    numbers the hardware draws (``stochflow.hdl.rng.stream_numbers``) over a grid of
    operand values, combined with the uniform quantisation error of ``p``-bit weights,
    and scaled by ``sqrt(n_in + 1)`` because a neuron sums that many products:

        e = sqrt(columns) * sqrt(rms_sc(L, p, source)^2 + 2^(-2p) / 12)

    For an encoding layer ``rms_sc`` is the error of ``[u < m]·[v < q]`` against
    ``(m/2^p)(q/2^p)``; for a layer fed by spikes it is the weight stream's error
    ``[u < m]`` against ``m/2^p``. Seeds, polynomials and decorrelation therefore move it.

``sim:golden`` (:class:`GoldenLayerError`, needs the spec and calibration data)
    RMS difference of the network's output spike rates (last layer counts / L) between
    a reference network and the same network with *only layer k* set to the option. In
    the stream architecture every layer takes the option's shared ``L``; the other layers
    then run the best ``L``-bit source (Sobol of width ``log2 L``, ``p = min(12, log2 L)``)
    so that only layer k's own knobs differ from the ideal. The
    reference has every layer at ``L = 4096``, ``p = 12`` and a permuted Sobol source of
    width ``log2 L`` (12 bits): its first ``L`` points are a permutation of every value,
    so every bit-permuted stream still sees each value once and has mean exactly
    ``(2^p - 1) / 2^(p+1)``. (A wider Sobol register would leave its low bits zero over
    ``L`` points and the permutation would move those zeros to the top: biased streams.)
    Results are cached on disk keyed by (weights hash, calibration data hash, layer,
    knobs, reference sources).

The final network's accuracy is measured separately with the golden model.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from stochflow.hdl.config import RngSpec
from stochflow.hdl.rng import stream_numbers

from .space import LayerSpace, rng_key

STREAM_ERROR_SOURCE = "model:sc-stream-error"
GOLDEN_ERROR_SOURCE = "sim:golden"
# Bumped whenever the reference a golden layer error is measured against changes (cache key).
REFERENCE_VERSION = 2


class AccuracyModel(Protocol):
    source: str

    def layer_errors(self, space: LayerSpace) -> np.ndarray:
        """Error proxy of every option of ``space`` (lower is better, never negative)."""
        ...


def default_cache_dir() -> Path:
    """``$STOCHFLOW_CACHE`` or ``~/.cache/stochflow``: shared, safe to delete."""
    override = os.environ.get("STOCHFLOW_CACHE")
    return Path(override) if override else Path.home() / ".cache" / "stochflow"


def _unique_triples(space: LayerSpace) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (L, p, variant) rows (error does not depend on folding) and the inverse map.

    Rows are in lexicographic order; one integer key per option keeps this a 1-D sort.
    """
    variants = max(len(space.variants), 1)
    precision_span = int(space.precisions.max()) + 1
    key = (space.lengths * precision_span + space.precisions) * variants + space.variant
    unique, inverse = np.unique(key, return_inverse=True)
    triples = np.stack([unique // variants // precision_span, unique // variants % precision_span,
                        unique % variants], axis=1)
    return triples, inverse.reshape(-1)


@functools.cache
def _stream_numbers(spec: RngSpec, streams: int, length: int) -> np.ndarray:
    """The full-width numbers of every stream (read-only; shared by every model instance)."""
    numbers = stream_numbers(spec, streams, length, spec.width)
    numbers.setflags(write=False)
    return numbers


@dataclass
class StreamErrorModel:
    """``model:sc-stream-error``: SC product error on the hardware's own random numbers."""

    streams: int = 4
    grid: int = 5
    source: str = STREAM_ERROR_SOURCE

    def layer_errors(self, space: LayerSpace) -> np.ndarray:
        lengths = np.unique(space.lengths)
        precisions = np.unique(space.precisions)
        length_index = np.searchsorted(lengths, space.lengths)
        precision_index = np.searchsorted(precisions, space.precisions)
        streams = min(self.streams, space.layer.columns)
        # One (L, p) table per source variant, looked up for every option at once.
        table = np.full((len(space.variants), len(lengths), len(precisions)), np.nan)
        width = np.array([variant.weight.width for variant in space.variants])
        for v, variant in enumerate(space.variants):
            usable = precisions[precisions <= width[v]]
            if not len(usable):
                continue
            table[v, :, : len(usable)] = self._variant_table(
                variant.weight, variant.input if space.encoder else None, streams,
                tuple(int(x) for x in lengths), tuple(int(x) for x in usable),
            )
        sc_error = table[space.variant, length_index, precision_index]
        quantisation = 2.0 ** (-2.0 * space.precisions) / 12.0
        return math.sqrt(space.layer.columns) * np.sqrt(sc_error**2 + quantisation)

    def _variant_table(
        self,
        weight: RngSpec,
        encoder: RngSpec | None,
        streams: int,
        lengths: tuple[int, ...],
        precisions: tuple[int, ...],
    ) -> np.ndarray:
        """RMS SC error for every (L, p) of one source pair, shape (len(L), len(p)).

        Memoised per process: every layer with as many streams shares the tables.
        """
        return _stream_error_table(weight, encoder, streams, lengths, precisions, self.grid)


@functools.lru_cache(maxsize=4096)
def _stream_error_table(
    weight: RngSpec,
    encoder: RngSpec | None,
    streams: int,
    lengths: tuple[int, ...],
    precisions: tuple[int, ...],
    grid: int,
) -> np.ndarray:
    """RMS over streams and operand grid of ``count_L / L - target`` for each (L, p).

    A stream bit is ``[u < m]`` with grid levels ``m`` sorted, so it is 1 exactly for the
    levels above ``k(t) = #{levels ≤ u(t)}``. Counting over ``t < L`` is then a histogram
    of ``k`` (of ``(k_w, k_x)`` pairs for a product) per segment between the lengths,
    summed cumulatively over segments and levels: O(T) per precision instead of O(T·G²).
    """
    longest = max(lengths)
    raw_w = _stream_numbers(weight, streams, longest).astype(np.int64)
    raw_x = None if encoder is None else _stream_numbers(encoder, streams, longest).astype(np.int64)
    fractions = np.arange(1, grid + 1) / (grid + 1)
    ends = np.array(lengths)
    segment = np.searchsorted(ends, np.arange(longest), side="right")  # t < ends[segment]
    segments = len(ends)
    bins = grid + 1
    stream_index = np.arange(streams)[None, :]
    out = np.empty((len(lengths), len(precisions)))
    for pi, p in enumerate(precisions):
        scale = 1 << p
        levels = np.round(fractions * scale).astype(np.int64)
        k_w = np.searchsorted(levels, raw_w >> (weight.width - p), side="right")  # (T, S)
        if raw_x is None:
            flat = (segment[:, None] * streams + stream_index) * bins + k_w
            histogram = np.bincount(flat.ravel(), minlength=segments * streams * bins)
            histogram = histogram.reshape(segments, streams, bins)
            counts = np.cumsum(np.cumsum(histogram, axis=0), axis=2)[:, :, :grid]  # (nL, S, G)
            target = levels / scale
            error = counts / ends[:, None, None] - target[None, None, :]
        else:
            assert encoder is not None
            k_x = np.searchsorted(levels, raw_x >> (encoder.width - p), side="right")
            flat = ((segment[:, None] * streams + stream_index) * bins + k_w) * bins + k_x
            histogram = np.bincount(flat.ravel(), minlength=segments * streams * bins * bins)
            histogram = histogram.reshape(segments, streams, bins, bins)
            counts = np.cumsum(np.cumsum(np.cumsum(histogram, axis=0), axis=2), axis=3)
            counts = counts[:, :, :grid, :grid]  # (nL, S, G, G)
            target = np.outer(levels, levels) / scale**2
            error = counts / ends[:, None, None, None] - target[None, None]
        out[:, pi] = np.sqrt(np.mean(error.reshape(len(lengths), -1) ** 2, axis=1))
    out.setflags(write=False)
    return out


class ErrorCache:
    """On-disk cache of golden-model layer errors (SQLite, one row per measured option)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS layer_error (key TEXT PRIMARY KEY, error REAL NOT NULL,"
                " detail TEXT NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def get_many(self, keys: Sequence[str]) -> dict[str, float]:
        found: dict[str, float] = {}
        with self._connect() as db:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                marks = ",".join("?" * len(chunk))
                for key, error in db.execute(
                    f"SELECT key, error FROM layer_error WHERE key IN ({marks})", chunk
                ):
                    found[key] = float(error)
        return found

    def put_many(self, rows: Sequence[tuple[str, float, dict[str, Any]]]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO layer_error (key, error, detail) VALUES (?, ?, ?)",
                [(key, error, json.dumps(detail, sort_keys=True)) for key, error, detail in rows],
            )


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class GoldenLayerError:
    """``sim:golden``: output-rate RMS error when only one layer leaves the reference.

    ``spec`` is a loaded network spec (``stochflow.hdl.spec.NetworkSpec``) and
    ``inputs`` the float calibration inputs in ``[0, 1]``, shape (samples, n_in).
    Only the options passed in are measured; the rest come from the cache.
    """

    spec: Any
    inputs: np.ndarray
    cache: ErrorCache
    reference_length: int = 4096
    reference_precision: int = 12
    progress: Callable[[int, int], None] | None = None
    source: str = GOLDEN_ERROR_SOURCE

    def __post_init__(self) -> None:
        length = self.reference_length
        if length < 16 or length & (length - 1):
            raise ValueError(f"reference_length: expected a power of two ≥ 16, got {length}")
        if not 1 <= self.reference_precision <= self.reference_width:
            raise ValueError(
                f"reference_precision: expected 1…{self.reference_width} (log2 of the reference "
                f"length), got {self.reference_precision}"
            )
        self._reference_rates: dict[int, np.ndarray] = {}
        self._inputs_hash = hashlib.sha256(np.ascontiguousarray(self.inputs, dtype="<f8").tobytes()).hexdigest()

    @property
    def reference_width(self) -> int:
        """Sobol width of the reference: ``log2 L``, so ``L`` points are every value once."""
        return self.reference_length.bit_length() - 1

    def reference_sources(self, length: int | None = None) -> tuple[RngSpec, RngSpec]:
        """The reference's weight source and its encoder partner (next Sobol dimension), of
        width ``log2 length`` (default: the reference length)."""
        width = (length or self.reference_length).bit_length() - 1
        source = RngSpec(kind="sobol", width=width, seed=0, dimension=1, decorrelation="permuted")
        partner = RngSpec(kind="sobol", width=width, seed=0, dimension=2, decorrelation="permuted")
        return source, partner

    def _reference_knobs(self, layer_count: int, length: int | None = None) -> list[dict[str, Any]]:
        """Every layer at the reference, or, when ``length`` is shorter (a stream network
        shares one ``L``), at the best the hardware does in ``length`` bits: a Sobol source
        of width ``log2 length`` (every value once, unbiased) and ``p ≤ log2 length``."""
        knobs = []
        length = length or self.reference_length
        source, partner = self.reference_sources(length)
        precision = min(self.reference_precision, length.bit_length() - 1)
        for index in range(layer_count):
            encoder = index == 0 or self.spec.config.architecture == "regenerate"
            knobs.append({
                "bitstream_length": length,
                "precision": precision,
                "weight_rng": source,
                "input_rng": partner if encoder else None,
            })
        return knobs

    def _rates(self, knobs: list[dict[str, Any]]) -> np.ndarray:
        from stochflow.hdl import golden

        spec = self.spec
        for index, layer_knobs in enumerate(knobs):
            spec = spec.with_layer_knobs(index, **layer_knobs)
        network = spec.build()
        inputs_q = golden.quantise_inputs(self.inputs, network.input_precision)
        result = golden.run(network, inputs_q)
        counts = np.asarray(result.counts[-1] if isinstance(result.counts, list | tuple) else result.counts)
        return counts / network.layers[-1].bitstream_length

    def _key(self, space: LayerSpace, triple: np.ndarray) -> str:
        length, precision, v = (int(x) for x in triple)
        return _digest(
            GOLDEN_ERROR_SOURCE,
            REFERENCE_VERSION,
            self.spec.weights_sha256,
            self._inputs_hash,
            space.index,
            length,
            precision,
            space.variants[v].key,
            self.reference_length,
            self.reference_precision,
            [rng_key(spec) for spec in self.reference_sources()],
        )

    def layer_errors(self, space: LayerSpace) -> np.ndarray:
        unique, inverse = _unique_triples(space)
        keys = [self._key(space, row) for row in unique]
        known = self.cache.get_many(keys)
        missing = [i for i, key in enumerate(keys) if key not in known]
        layer_count = len(self.spec.config.layers)
        if missing:
            reference = self._reference_rates.get(0)
            if reference is None:
                reference = self._rates(self._reference_knobs(layer_count))
                self._reference_rates[0] = reference
            rows = []
            for done, i in enumerate(missing):
                length, precision, v = (int(x) for x in unique[i])
                shared = self.spec.config.architecture == "stream"
                knobs = self._reference_knobs(layer_count, length if shared else None)
                variant = space.variants[v]
                knobs[space.index].update(
                    bitstream_length=length,
                    precision=precision,
                    weight_rng=variant.weight,
                    input_rng=variant.input if space.encoder else None,
                )
                rates = self._rates(knobs)
                error = float(np.sqrt(np.mean((rates - reference) ** 2)))
                known[keys[i]] = error
                rows.append((keys[i], error, {"layer": space.index, "L": length, "p": precision,
                                              "rng": variant.key}))
                if self.progress is not None:
                    self.progress(done + 1, len(missing))
            self.cache.put_many(rows)
        return np.array([known[k] for k in keys])[inverse]
