"""What the runner hands the cocotb bench and what the bench hands back, as files.

The bench runs inside the simulator's embedded Python, so the two sides talk through a
job folder: ``job.json`` (one entry per design in the model) with ``design<i>.npz``
(inputs and the golden model's expected spike trains and counts) in; ``result.json``
(per design: latencies, spike totals, mismatches, the first difference) and
``observed<i>.npz`` (the counts the RTL produced) out; ``progress.json`` while running.
Every file is written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "JOB_ENV",
    "DesignJob",
    "DesignOutcome",
    "Difference",
    "first_difference",
    "read_job",
    "spike_words_to_bits",
    "write_job",
]

JOB_ENV = "STOCHFLOW_SIM_JOB"
JOB_FILE, RESULT_FILE, PROGRESS_FILE = "job.json", "result.json", "progress.json"
MODES = ("check", "throughput")


def write_atomic(path: Path, data: bytes | str) -> None:
    payload = data.encode() if isinstance(data, str) else data
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_npz_atomic(path: Path, **arrays: np.ndarray) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(handle)
    try:
        np.savez(temporary, **arrays)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass
class DesignJob:
    """One design of a model: its ports' shapes, inputs and (in ``check`` mode) the
    golden model's spike trains ``expected_spikes[k]`` ``(vectors, L_k, n_out_k)``."""

    label: str
    prefix: str
    layer_names: list[str]
    layer_outputs: list[int]
    layer_lengths: list[int]
    input_precision: int
    count_bits: int
    latency_cycles: int  # design.json's, checked for every inference
    inputs_q: np.ndarray  # (vectors, n_in) int
    expected_counts: np.ndarray | None = None  # (vectors, n_out of the last layer)
    expected_spikes: list[np.ndarray] | None = None

    @property
    def vectors(self) -> int:
        return int(self.inputs_q.shape[0])

    def metadata(self, arrays: str) -> dict[str, Any]:
        return {
            "label": self.label,
            "prefix": self.prefix,
            "layer_names": self.layer_names,
            "layer_outputs": self.layer_outputs,
            "layer_lengths": self.layer_lengths,
            "input_precision": self.input_precision,
            "count_bits": self.count_bits,
            "latency_cycles": self.latency_cycles,
            "arrays": arrays,
        }


def write_job(folder: Path, designs: list[DesignJob], mode: str = "check") -> Path:
    """Write the job files into ``folder``; returns ``job.json``'s path."""
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {', '.join(MODES)}, got {mode!r}")
    folder.mkdir(parents=True, exist_ok=True)
    entries = []
    for index, design in enumerate(designs):
        arrays: dict[str, np.ndarray] = {"inputs_q": np.asarray(design.inputs_q, dtype=np.int64)}
        if design.expected_counts is not None:
            arrays["expected_counts"] = np.asarray(design.expected_counts, dtype=np.int64)
        for k, spikes in enumerate(design.expected_spikes or []):
            arrays[f"expected_spikes_{k}"] = np.asarray(spikes, dtype=bool)
        name = f"design{index}.npz"
        write_npz_atomic(folder / name, **arrays)
        entries.append(design.metadata(name))
    for stale in (RESULT_FILE, PROGRESS_FILE):
        (folder / stale).unlink(missing_ok=True)
    path = folder / JOB_FILE
    write_atomic(path, json.dumps({"mode": mode, "designs": entries}, indent=1) + "\n")
    return path


def read_job(path: Path) -> tuple[str, list[DesignJob]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    designs = []
    for entry in document["designs"]:
        with np.load(path.parent / entry["arrays"]) as data:
            layers = len(entry["layer_names"])
            has_spikes = "expected_spikes_0" in data
            designs.append(DesignJob(
                label=entry["label"],
                prefix=entry["prefix"],
                layer_names=list(entry["layer_names"]),
                layer_outputs=[int(n) for n in entry["layer_outputs"]],
                layer_lengths=[int(n) for n in entry["layer_lengths"]],
                input_precision=int(entry["input_precision"]),
                count_bits=int(entry["count_bits"]),
                latency_cycles=int(entry["latency_cycles"]),
                inputs_q=data["inputs_q"],
                expected_counts=data.get("expected_counts"),
                expected_spikes=[data[f"expected_spikes_{k}"] for k in range(layers)]
                if has_spikes else None,
            ))
    return document["mode"], designs


@dataclass(frozen=True)
class Difference:
    """The first place the RTL and the golden model disagree."""

    design: str
    vector: int
    kind: str  # latency | periods | spikes | counts | timeout | unknown-value
    expected: int | None
    got: int | None
    layer: int | None = None
    layer_name: str | None = None
    neuron: int | None = None
    bit_period: int | None = None

    def describe(self) -> str:
        where = [f"design {self.design}", f"vector {self.vector}"]
        if self.layer is not None:
            where.append(f"layer {self.layer} ({self.layer_name})")
        if self.neuron is not None:
            where.append(f"neuron {self.neuron}")
        if self.bit_period is not None:
            where.append(f"bit-period {self.bit_period}")
        what = {
            "latency": "latency (cycles from start to done)",
            "periods": "spike_valid pulses in one inference",
            "spikes": "spike",
            "counts": "output count",
            "timeout": "done never rose; cycles waited",
            "unknown-value": "an output held X/Z",
        }[self.kind]
        return f"{', '.join(where)}: {what}: expected {self.expected}, got {self.got}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def spike_words_to_bits(words: list[int], width: int) -> np.ndarray:
    """Spike registers (bit ``i`` = neuron ``i``) of successive periods → ``(periods, width)``."""
    if not words:
        return np.zeros((0, width), dtype=bool)
    size = (width + 7) // 8
    raw = b"".join(word.to_bytes(size, "little") for word in words)
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8), bitorder="little")
    return bits.reshape(len(words), size * 8)[:, :width].astype(bool)


def first_difference(
    design: DesignJob,
    vector: int,
    latency: int,
    spikes: list[np.ndarray],
    counts: np.ndarray,
) -> Difference | None:
    """Compare one inference with the golden model, in causal order: the number of
    periods each layer signalled, each layer's spike train (earliest period first),
    the output counts, then the latency."""
    assert design.expected_spikes is not None and design.expected_counts is not None
    for k, observed in enumerate(spikes):
        expected = design.expected_spikes[k][vector]
        name = design.layer_names[k]
        if observed.shape[0] != expected.shape[0]:
            return Difference(design.label, vector, "periods", int(expected.shape[0]),
                              int(observed.shape[0]), k, name)
        differs = np.argwhere(observed != expected)
        if differs.size:
            t, i = (int(v) for v in differs[0])
            return Difference(design.label, vector, "spikes", int(expected[t, i]),
                              int(observed[t, i]), k, name, neuron=i, bit_period=t)
    expected_counts = design.expected_counts[vector]
    differs = np.flatnonzero(counts != expected_counts)
    if differs.size:
        i = int(differs[0])
        last = len(design.layer_names) - 1
        return Difference(design.label, vector, "counts", int(expected_counts[i]),
                          int(counts[i]), last, design.layer_names[last], neuron=i)
    if latency != design.latency_cycles:
        return Difference(design.label, vector, "latency", design.latency_cycles, latency)
    return None


@dataclass
class DesignOutcome:
    """What the bench measured for one design (``result.json`` entry)."""

    label: str
    vectors_run: int = 0
    vectors_matched: int = 0
    latencies: list[int] = field(default_factory=list)
    spike_counts: list[list[int]] = field(default_factory=list)  # per layer, per neuron
    cycles: int = 0  # clock cycles from its first start to its last done
    first_difference: dict[str, Any] | None = None
    aborted: str | None = None

    @property
    def bit_exact(self) -> bool:
        return (self.aborted is None and self.first_difference is None
                and self.vectors_run > 0 and self.vectors_matched == self.vectors_run)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["bit_exact"] = self.bit_exact
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DesignOutcome:
        fields = {key: value for key, value in data.items() if key != "bit_exact"}
        return cls(**fields)
