"""Operation counts per layer, from counted activity, the way SNN profilers count them.

A layer fed binary spikes does one accumulate (AC, a SynOp) per input spike per
synapse; a layer fed dense values does one multiply-accumulate (MAC) per input per
synapse per timestep, spiking or not. Both read one weight per operation, and every
neuron reads and writes its state once per timestep. ``dense_equivalent_macs`` is
what a non-spiking layer of the same shape would do for one forward pass per
inference, the usual yardstick for "how much did spiking save".

Counts are exact integers derived from :class:`LayerCounts`; nothing here is priced
(that is :mod:`stochflow.sim.energy`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

InputKind = Literal["binary", "dense"]
INPUT_KINDS: tuple[str, ...] = ("binary", "dense")


@dataclass(frozen=True)
class LayerCounts:
    """What one layer did over a run of ``inferences`` inferences.

    ``timesteps`` is per inference (an SC layer's bitstream length ``L``);
    ``input_spikes`` counts ones on the layer's input bitstreams over the run, bias
    column excluded (``None`` when not known, e.g. the first layer's input in
    ``account()`` without ``input_spikes=``); ``spikes`` counts the layer's output
    spikes over the run. ``source`` says where the counts come from
    (``sim:golden``, ``sim:verilator``, or ``given`` by the caller).
    """

    name: str
    n_in: int
    n_out: int
    timesteps: int
    inferences: int
    input_spikes: int | None
    spikes: int
    source: str
    input_kind: InputKind = "binary"

    @property
    def neuron_steps(self) -> int:
        """Neurons × timesteps × inferences: one membrane update each."""
        return self.n_out * self.timesteps * self.inferences

    @property
    def input_slots(self) -> int:
        """Inputs × timesteps × inferences: every place an input spike could be."""
        return self.n_in * self.timesteps * self.inferences

    @property
    def synops(self) -> int | None:
        """Input spikes × fan-out (``n_out``); ``None`` when input spikes are unknown."""
        if self.input_kind == "dense":
            return 0
        if self.input_spikes is None:
            return None
        return self.input_spikes * self.n_out

    @property
    def input_sparsity(self) -> float | None:
        """Fraction of input slots without a spike (``None`` when input spikes are unknown)."""
        if self.input_spikes is None or self.input_slots == 0:
            return None
        return 1.0 - self.input_spikes / self.input_slots

    @property
    def output_rate(self) -> float:
        """Output spikes per neuron per timestep, in [0, 1]."""
        return self.spikes / self.neuron_steps if self.neuron_steps else 0.0


@dataclass(frozen=True)
class OperationCounts:
    """Per-layer operation counts over a run (``None``: not countable from what is known)."""

    name: str
    input_kind: str
    synops: int | None  # input spikes × fan-out (binary inputs)
    acs: int | None  # accumulates: one per SynOp
    macs: int  # multiply-accumulates: dense inputs only
    dense_equivalent_macs: int  # n_in × n_out per inference: a non-spiking pass
    neuron_updates: int  # n_out × timesteps × inferences
    weight_reads: int | None  # one per AC or MAC
    state_reads: int  # one per neuron update
    memory_reads: int | None  # weight_reads + state_reads
    memory_writes: int  # one state write-back per neuron update
    spikes: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def operation_counts(layer: LayerCounts) -> OperationCounts:
    """Count the operations of one layer from its activity."""
    if layer.input_kind == "dense":
        synops: int | None = 0
        macs = layer.n_in * layer.n_out * layer.timesteps * layer.inferences
    else:
        synops = layer.synops
        macs = 0
    weight_reads = None if synops is None else synops + macs
    updates = layer.neuron_steps
    return OperationCounts(
        name=layer.name,
        input_kind=layer.input_kind,
        synops=synops,
        acs=synops,
        macs=macs,
        dense_equivalent_macs=layer.n_in * layer.n_out * layer.inferences,
        neuron_updates=updates,
        weight_reads=weight_reads,
        state_reads=updates,
        memory_reads=None if weight_reads is None else weight_reads + updates,
        memory_writes=updates,
        spikes=layer.spikes,
    )


def network_operations(layers: Sequence[LayerCounts]) -> list[OperationCounts]:
    return [operation_counts(layer) for layer in layers]


OPERATION_COLUMNS: tuple[tuple[str, str], ...] = (
    ("synops", "SynOps"),
    ("acs", "ACs"),
    ("macs", "MACs"),
    ("dense_equivalent_macs", "dense MACs"),
    ("neuron_updates", "neuron upd"),
    ("memory_reads", "mem reads"),
    ("memory_writes", "mem writes"),
    ("spikes", "spikes"),
)


def format_operations(operations: Sequence[OperationCounts]) -> str:
    """A plain-text table of operation counts (``—`` where a count is unknown)."""
    header = ["layer", "inputs"] + [title for _, title in OPERATION_COLUMNS]
    rows = [
        [op.name, op.input_kind]
        + [
            "—" if getattr(op, key) is None else f"{getattr(op, key):,}"
            for key, _ in OPERATION_COLUMNS
        ]
        for op in operations
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
