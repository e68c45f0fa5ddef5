"""Shared pieces of the evidence tests: a real small network, observations built from it,
and a command-line entry point the store tests run as separate writer processes.

Run as a script: ``python test_evidence_helpers.py write STORE WORKER COUNT`` waits for
``STORE.go`` to exist, then adds COUNT observations one transaction each and prints each
id as it commits; ``hold STORE COUNT``
commits COUNT observations, then opens a write transaction, inserts one more row,
prints ``holding`` and waits to be killed.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
import time
from dataclasses import replace
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.surrogate.observation import (
    ClockFigure,
    Figure,
    Observation,
    PowerFigure,
    ResourceFigure,
    TimingFigure,
)


@cache
def small_network() -> Network:
    """Two fully connected layers with fixed random integer weights."""
    rng = np.random.default_rng(7)
    layers = (
        LayerConfig(
            "hidden",
            6,
            4,
            bitstream_length=32,
            precision=4,
            weight_rng=RngSpec(width=8, seed=0x5A),
            input_rng=RngSpec(width=8, seed=0x33),
        ),
        LayerConfig(
            "out", 4, 3, bitstream_length=32, precision=4, weight_rng=RngSpec(width=8, seed=0x2C)
        ),
    )
    weights = []
    for layer in layers:
        limit = (1 << layer.precision) - 1
        w = rng.integers(-limit, limit + 1, size=(layer.n_out, layer.n_in)).astype(np.int64)
        b = rng.integers(-limit, limit + 1, size=layer.n_out).astype(np.int64)
        weights.append(LayerWeights(w, b, max(1, limit * (layer.n_in + 1) // 6)))
    return Network(NetworkConfig("tiny", layers), tuple(weights))


def layer_records() -> tuple[dict[str, Any], ...]:
    network = small_network()
    return tuple(network.layer_record(i) for i in range(len(network.layers)))


def fake_hash(label: str) -> str:
    """A distinct, well-formed design hash per label (for many design points)."""
    return hashlib.sha256(label.encode()).hexdigest()


def make_observation(label: str | None = None, **changes: Any) -> Observation:
    """A complete observation of the small network; ``label`` varies the design hash."""
    network = small_network()
    observation = Observation(
        design_hash=fake_hash(label) if label is not None else network.design_hash,
        design_name="tiny",
        architecture="stream",
        layers=layer_records(),
        target="ice40-up5k",
        device="iCE40UP5K-SG48",
        tools={"yosys": "0.70", "nextpnr": None},
        latency_cycles=Figure(34, "design:latency"),
        resources={
            "lut": ResourceFigure(412, 5280, "tool:yosys"),
            "ff": ResourceFigure(97, 5280, "tool:yosys"),
            "lc": ResourceFigure(455, 5280, "tool:nextpnr"),
        },
        clocks=(ClockFigure("clk", 41.5, "tool:nextpnr", constraint_mhz=12.0, met=True),),
        timing=TimingFigure("tool:nextpnr", met=True),
        power=PowerFigure(0.0021, "model:ice40-activity", dynamic_w=0.0011, static_w=0.001),
        accuracy=Figure(0.875, "sim:golden"),
        provenance={"utilisation": fake_hash("stat"), "timing": fake_hash("pnr")},
        created_utc="2026-11-22T10:00:00Z",
    )
    return replace(observation, **changes)


def observation_json(label: str | None = None, **changes: Any) -> dict[str, Any]:
    return json.loads(json.dumps(make_observation(label, **changes).to_json()))


def payload(*records: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "stochflow.observations/1", "observations": list(records)}


# -- writer processes -------------------------------------------------------------------


def _write(store_path: str, worker: str, count: int) -> None:
    from stochflow.flow.store import EvidenceStore

    start = Path(f"{store_path}.go")
    deadline = time.monotonic() + 60
    while not start.exists() and time.monotonic() < deadline:  # all writers start together
        time.sleep(0.005)
    with EvidenceStore(store_path) as store:
        for index in range(count):
            row = store.add(make_observation(f"{worker}-{index}"))
            print(row, flush=True)


def _hold(store_path: str, count: int) -> None:
    from stochflow.flow.store import EvidenceStore

    store = EvidenceStore(store_path)
    for index in range(count):
        store.add(make_observation(f"held-{index}"))
    with store._transaction() as conn:
        store._add_in(conn, make_observation("never-committed"))
        print("holding", flush=True)
        time.sleep(600)


@cache
def design_manifest_text() -> str:
    """design.json of the small network as ``stochflow.hdl.generate.generate`` writes it."""
    from stochflow.hdl.generate import generate

    with tempfile.TemporaryDirectory() as folder:
        return generate(small_network(), folder).read_text(encoding="utf-8")


def write_design(folder: Path, **changes: Any) -> Path:
    """Write the small network's design.json into ``folder`` (with top-level changes)."""
    manifest = json.loads(design_manifest_text())
    manifest.update(changes)
    path = folder / "design.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    command, store_arg, *rest = sys.argv[1:]
    if command == "write":
        _write(store_arg, rest[0], int(rest[1]))
    elif command == "hold":
        _hold(store_arg, int(rest[0]))
    else:
        raise SystemExit(f"unknown command {command!r}")
