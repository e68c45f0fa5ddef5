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
    a reference network and the same network with *only layer k* set to the option
    (in the stream architecture every layer takes the option's shared ``L``). The
    reference has every layer at ``L = 4096``, the highest precision of the space and a
    permuted 16-bit Sobol source. Results are cached on disk keyed by (weights hash,
    layer, knobs, calibration data hash).

The final network's accuracy is measured separately with the golden model.
"""

from __future__ import annotations

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

from .space import LayerSpace

STREAM_ERROR_SOURCE = "model:sc-stream-error"
GOLDEN_ERROR_SOURCE = "sim:golden"


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
    """Distinct (L, p, variant) rows (error does not depend on folding) and the inverse map."""
    triples = np.stack([space.lengths, space.precisions, space.variant], axis=1)
    unique, inverse = np.unique(triples, axis=0, return_inverse=True)
    return unique, inverse.reshape(-1)


@dataclass
class StreamErrorModel:
    """``model:sc-stream-error``: SC product error on the hardware's own random numbers."""

    streams: int = 4
    grid: int = 5
    source: str = STREAM_ERROR_SOURCE

    def __post_init__(self) -> None:
        self._memo: dict[tuple[Any, ...], np.ndarray] = {}

    def layer_errors(self, space: LayerSpace) -> np.ndarray:
        unique, inverse = _unique_triples(space)
        lengths = tuple(sorted({int(v) for v in unique[:, 0]}))
        streams = min(self.streams, space.layer.columns)
        per_triple = np.empty(len(unique))
        for v in np.unique(unique[:, 2]):
            variant = space.variants[int(v)]
            rows = np.flatnonzero(unique[:, 2] == v)
            precisions = tuple(sorted({int(p) for p in unique[rows, 1]}))
            table = self._variant_table(variant.weight, variant.input if space.encoder else None,
                                        streams, lengths, precisions)
            li = np.searchsorted(lengths, unique[rows, 0])
            pi = np.searchsorted(precisions, unique[rows, 1])
            per_triple[rows] = table[li, pi]
        quantisation = 2.0 ** (-2.0 * unique[:, 1]) / 12.0
        scale = math.sqrt(space.layer.columns)
        return (scale * np.sqrt(per_triple**2 + quantisation))[inverse]

    def _variant_table(
        self,
        weight: RngSpec,
        encoder: RngSpec | None,
        streams: int,
        lengths: tuple[int, ...],
        precisions: tuple[int, ...],
    ) -> np.ndarray:
        """RMS SC error for every (L, p) of one source pair, shape (len(L), len(p))."""
        key = (weight, encoder, streams, lengths, precisions, self.grid)
        if key not in self._memo:
            self._memo[key] = self._compute(weight, encoder, streams, lengths, precisions)
        return self._memo[key]

    def _compute(
        self,
        weight: RngSpec,
        encoder: RngSpec | None,
        streams: int,
        lengths: tuple[int, ...],
        precisions: tuple[int, ...],
    ) -> np.ndarray:
        longest = max(lengths)
        raw_w = stream_numbers(weight, streams, longest, weight.width).astype(np.int64)
        raw_x = (
            stream_numbers(encoder, streams, longest, encoder.width).astype(np.int64)
            if encoder is not None
            else None
        )
        fractions = np.arange(1, self.grid + 1) / (self.grid + 1)
        out = np.empty((len(lengths), len(precisions)))
        ends = np.array(lengths) - 1
        for pi, p in enumerate(precisions):
            scale = 1 << p
            grid = np.round(fractions * scale).astype(np.int64)
            u = raw_w >> (weight.width - p)
            bits_w = u[:, :, None] < grid[None, None, :]  # (T, S, G)
            if raw_x is None:
                counts = np.cumsum(bits_w, axis=0, dtype=np.int32)[ends]  # (nL, S, G)
                target = grid / scale
                error = counts / np.array(lengths)[:, None, None] - target[None, None, :]
            else:
                assert encoder is not None
                v = raw_x >> (encoder.width - p)
                bits_x = v[:, :, None] < grid[None, None, :]
                product = bits_w[:, :, :, None] & bits_x[:, :, None, :]  # (T, S, G, G)
                counts = np.cumsum(product, axis=0, dtype=np.int32)[ends]
                target = np.outer(grid, grid) / scale**2
                error = counts / np.array(lengths)[:, None, None, None] - target[None, None]
            out[:, pi] = np.sqrt(np.mean(error.reshape(len(lengths), -1) ** 2, axis=1))
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
        self._reference_rates: dict[int, np.ndarray] = {}
        self._inputs_hash = hashlib.sha256(np.ascontiguousarray(self.inputs, dtype="<f8").tobytes()).hexdigest()

    def _reference_knobs(self, layer_count: int) -> list[dict[str, Any]]:
        knobs = []
        for index in range(layer_count):
            encoder = index == 0 or self.spec.config.architecture == "regenerate"
            source = RngSpec(kind="sobol", width=16, seed=0, dimension=1, decorrelation="permuted")
            partner = RngSpec(kind="sobol", width=16, seed=0, dimension=2, decorrelation="permuted")
            knobs.append({
                "bitstream_length": self.reference_length,
                "precision": self.reference_precision,
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
            self.spec.weights_sha256,
            self._inputs_hash,
            space.index,
            length,
            precision,
            space.variants[v].key,
            self.reference_length,
            self.reference_precision,
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
                knobs = self._reference_knobs(layer_count)
                if self.spec.config.architecture == "stream":
                    for entry in knobs:
                        entry["bitstream_length"] = length
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
