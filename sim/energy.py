"""Energy accounting: what the network actually did, priced by cited per-operation costs.

:class:`EnergyAccountant` takes counted events (from the golden model, an RTL
simulation's ``activity.json``, or counts the caller gives) and a
:class:`~stochflow.sim.cost_models.HardwareCostModel`, and returns an
:class:`EnergyReport`: per layer SynOps, spikes, membrane updates and energy by
component, with totals, the dominant layer and energy per spike. Every report states
its estimator, cost regime, scope (forward inference only) and the input sparsity it
saw, and labels counts as measured or given and energy as modelled. A component
whose cost has no published figure is absent with a note, and the total says it is
partial; nothing is priced at zero to fill a gap.

What each count means (also in ``docs/energy.md``):

- a *synaptic operation* (SynOp) is one input spike delivered to one synapse:
  input spikes × fan-out (``n_out``); the always-one bias column is no spike;
- ``spike_counts[k]`` is the total number of output spikes of layer ``k`` over the run;
- a *membrane update* is one neuron in one timestep: ``n_out × timesteps × inferences``;
- memory: one weight read per SynOp, one state read and one state write per update;
- routing: one packet per output spike.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .cost_models import (
    COMPONENT_TITLES,
    COMPONENTS,
    CostModelError,
    EnergyError,
    HardwareCostModel,
    get_cost_model,
)
from .energy_ops import INPUT_KINDS, LayerCounts, OperationCounts, operation_counts

if TYPE_CHECKING:
    from stochflow.hdl.golden import GoldenResult
    from stochflow.hdl.network import Network

SCOPE = (
    "forward inference only: no learning, no host I/O or input transfer, "
    "no input encoding before the first layer"
)
PER_EVENT_ESTIMATOR = "counted events × per-event cost table"
FPGA_ESTIMATOR = "(dynamic + static power) × latency cycles / clock, per inference"


class EnergyInputError(EnergyError):
    """Counts or sizes given to the accountant that cannot describe a real run."""


@dataclass(frozen=True)
class ComponentEnergy:
    """Energy of one component: events × cost, or absent (``pj is None``) with why."""

    component: str
    events: int | None
    cost_pj: float | None
    pj: float | None
    note: str = ""
    basis: str | None = None
    included_in: str | None = None
    unknown_count: bool = False  # priced per event, but the events were not counted

    @property
    def absent(self) -> bool:
        """Not priced and not covered by another component's figure."""
        return self.pj is None and self.included_in is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "component": self.component,
            "events": self.events,
            "cost_pj": self.cost_pj,
            "energy_pj": self.pj,
            "basis": self.basis,
            "included_in": self.included_in,
            "note": self.note,
        }


@dataclass(frozen=True)
class LayerEnergy:
    counts: LayerCounts
    operations: OperationCounts
    components: Mapping[str, ComponentEnergy]

    @property
    def name(self) -> str:
        return self.counts.name

    @property
    def total_pj(self) -> float | None:
        """Sum of the priced components (``None`` when none is priced for this layer)."""
        priced = [c.pj for c in self.components.values() if c.pj is not None]
        return sum(priced) if priced else None

    @property
    def uncounted(self) -> list[str]:
        """Components with a cost whose events this layer did not count."""
        return [c.component for c in self.components.values() if c.unknown_count]

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "name": counts.name,
            "n_in": counts.n_in,
            "n_out": counts.n_out,
            "timesteps": counts.timesteps,
            "input_kind": counts.input_kind,
            "input_spikes": counts.input_spikes,
            "input_sparsity": counts.input_sparsity,
            "spikes": counts.spikes,
            "output_rate": counts.output_rate,
            "synops": counts.synops,
            "membrane_updates": counts.neuron_steps,
            "operations": self.operations.to_dict(),
            "components": {k: v.to_dict() for k, v in self.components.items()},
            "total_pj": self.total_pj,
        }


@dataclass(frozen=True)
class EnergyReport:
    """The energy of one run on one platform, with what it counts and what it leaves out."""

    hardware: str
    model: HardwareCostModel
    layers: tuple[LayerEnergy, ...]
    network_components: Mapping[str, ComponentEnergy]
    inferences: int
    counts_source: str
    estimator: str
    scope: str = SCOPE
    notes: tuple[str, ...] = field(default_factory=tuple)

    # --- totals ---------------------------------------------------------------------

    @property
    def total_pj(self) -> float:
        """Sum of every priced component over the whole run (see :attr:`complete`)."""
        layer_parts = [layer.total_pj for layer in self.layers if layer.total_pj is not None]
        network_parts = [c.pj for c in self.network_components.values() if c.pj is not None]
        return float(sum(layer_parts) + sum(network_parts))

    @property
    def total_nj(self) -> float:
        return self.total_pj / 1e3

    total_energy_pj = total_pj
    total_energy_nj = total_nj

    @property
    def per_inference_pj(self) -> float:
        return self.total_pj / self.inferences

    @property
    def per_inference_nj(self) -> float:
        return self.per_inference_pj / 1e3

    @property
    def missing(self) -> list[str]:
        """Components not priced anywhere in this report, with the reason."""
        seen: dict[str, str] = {}
        for layer in self.layers:
            for component in layer.components.values():
                if component.absent:
                    seen.setdefault(component.component, component.note)
        for component in self.network_components.values():
            if component.absent:
                seen.setdefault(component.component, component.note)
        return [f"{COMPONENT_TITLES[name]}: {why}" for name, why in seen.items()]

    @property
    def complete(self) -> bool:
        """True when every component is priced or covered by another's figure."""
        return not self.missing

    # --- who is to blame --------------------------------------------------------------

    @property
    def dominant_layer(self) -> str | None:
        """The layer with the most priced energy.

        ``None`` when no layer is priced, or when some layer's events were not all
        counted (comparing it with fully counted layers would blame the wrong one).
        """
        if any(layer.uncounted for layer in self.layers):
            return None
        priced = [
            (layer.total_pj, layer.name) for layer in self.layers if layer.total_pj is not None
        ]
        if not priced or max(priced)[0] <= 0:
            return None
        return max(priced, key=lambda item: item[0])[1]

    def layer_share(self, name: str) -> float | None:
        """A layer's share of the total, in [0, 1]."""
        for layer in self.layers:
            if layer.name == name:
                if layer.total_pj is None or self.total_pj == 0:
                    return None
                return layer.total_pj / self.total_pj
        raise KeyError(f"no layer named {name!r}; layers: {', '.join(self.layer_names)}")

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.layers)

    @property
    def total_spikes(self) -> int:
        return sum(layer.counts.spikes for layer in self.layers)

    @property
    def total_synops(self) -> int | None:
        values = [layer.counts.synops for layer in self.layers]
        return None if any(v is None for v in values) else sum(v for v in values if v is not None)

    @property
    def energy_per_spike_pj(self) -> float | None:
        """Total energy over total output spikes of all layers (``None`` without spikes)."""
        return self.total_pj / self.total_spikes if self.total_spikes else None

    @property
    def energy_per_synop_pj(self) -> float | None:
        synops = self.total_synops
        return self.total_pj / synops if synops else None

    @property
    def input_sparsity(self) -> float | None:
        """Fraction of zero slots on the first layer's input bitstreams."""
        return self.layers[0].counts.input_sparsity

    @property
    def overall_input_sparsity(self) -> float | None:
        """Fraction of zero slots over every layer's input bitstreams."""
        if any(layer.counts.input_spikes is None for layer in self.layers):
            return None
        slots = sum(layer.counts.input_slots for layer in self.layers)
        spikes = sum(layer.counts.input_spikes or 0 for layer in self.layers)
        return 1.0 - spikes / slots if slots else None

    @property
    def energy_label(self) -> str:
        if self.model.kind == "fpga":
            sources = sorted(
                {p.source for p in (self.model.dynamic, self.model.static) if p is not None}
            )
            return f"modelled (power: {', '.join(sources)})"
        bases = sorted(
            {entry.basis for entry in self.model.entries.values() if entry.basis is not None}
            | {
                power.basis
                for power in (self.model.static, self.model.dynamic)
                if power is not None
            }
        )
        return f"modelled (cost figures: {', '.join(bases) or 'none'})"

    @property
    def counts_label(self) -> str:
        if self.counts_source == "given":
            return "given by the caller"
        return f"measured ({self.counts_source})"

    # --- output -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        model = self.model
        return {
            "schema": "stochflow.energy/1",
            "hardware": self.hardware,
            "title": model.title,
            "estimator": self.estimator,
            "regime": model.regime,
            "scope": self.scope,
            "counts": self.counts_label,
            "energy": self.energy_label,
            "inferences": self.inferences,
            "input_sparsity": self.input_sparsity,
            "overall_input_sparsity": self.overall_input_sparsity,
            "layers": [layer.to_dict() for layer in self.layers],
            "network_components": {k: v.to_dict() for k, v in self.network_components.items()},
            "total_pj": self.total_pj,
            "total_nj": self.total_nj,
            "per_inference_pj": self.per_inference_pj,
            "complete": self.complete,
            "missing": self.missing,
            "dominant_layer": self.dominant_layer,
            "energy_per_spike_pj": self.energy_per_spike_pj,
            "energy_per_synop_pj": self.energy_per_synop_pj,
            "notes": list(self.notes) + list(model.notes),
            "citations": [
                {"reference": c.reference, "locator": c.locator, "doi": c.doi}
                for c in model.citations()
            ],
        }

    def summary(self) -> str:
        """A readable report: header, per-layer table, totals, gaps and sources."""
        from .energy_format import format_summary

        return format_summary(self)

    def __str__(self) -> str:
        return self.summary()


class EnergyAccountant:
    """Prices counted events on one platform.

    ``EnergyAccountant("loihi")``, ``EnergyAccountant(technology="7nm")`` or
    ``EnergyAccountant(HardwareCostModel.from_fpga(...))``. After :meth:`track`, the
    report is at :attr:`report` and its total at :attr:`total_pj`.
    """

    def __init__(
        self,
        hardware: str | HardwareCostModel | None = None,
        *,
        technology: str | None = None,
    ) -> None:
        if hardware is not None and technology is not None:
            raise EnergyInputError("give hardware or technology, not both")
        choice = hardware if hardware is not None else technology
        if choice is None:
            raise EnergyInputError("name the hardware, e.g. EnergyAccountant('loihi')")
        if isinstance(choice, HardwareCostModel):
            self.model = choice
        elif isinstance(choice, str):
            self.model = get_cost_model(choice)
        else:
            raise EnergyInputError(
                f"hardware must be a name or a HardwareCostModel, got {type(choice).__name__}"
            )
        self.report: EnergyReport | None = None
        self.result: GoldenResult | None = None

    @property
    def hardware(self) -> str:
        return self.model.name

    @property
    def total_pj(self) -> float:
        if self.report is None:
            raise EnergyInputError("nothing accounted yet: call track() or account() first")
        return self.report.total_pj

    # --- the established API -------------------------------------------------------------

    def account(
        self,
        layer_names: Sequence[str],
        layer_sizes: Sequence[tuple[int, int]],
        spike_counts: Sequence[int],
        n_timesteps: int | Sequence[int],
        *,
        input_spikes: int | Sequence[int] | None = None,
        n_inferences: int = 1,
        input_kind: str = "binary",
        counts_source: str = "given",
    ) -> EnergyReport:
        """Price a run described by counts.

        ``spike_counts[k]``: total output spikes of layer ``k`` over the run;
        ``n_timesteps``: timesteps per inference (one value, or one per layer);
        ``input_spikes``: spikes entering the first layer over the run (an int), or
        entering every layer (a sequence). Without it, layer ``k > 0`` takes layer
        ``k-1``'s output spikes as its input (the stream architecture) and the first
        layer's SynOps are absent with a note.
        """
        counts = build_layer_counts(
            layer_names,
            layer_sizes,
            spike_counts,
            n_timesteps,
            input_spikes=input_spikes,
            n_inferences=n_inferences,
            input_kind=input_kind,
            source=counts_source,
        )
        return self.account_counts(counts)

    def account_counts(
        self, counts: Sequence[LayerCounts], notes: tuple[str, ...] = ()
    ) -> EnergyReport:
        """Price already-built :class:`LayerCounts` (all layers of one run)."""
        if not counts:
            raise EnergyInputError("no layers to account")
        inferences = {layer.inferences for layer in counts}
        if len(inferences) != 1:
            raise EnergyInputError(
                f"layers disagree on the number of inferences: {sorted(inferences)}"
            )
        sources = {layer.source for layer in counts}
        report = price(self.model, counts, notes=notes)
        self.report = report
        if sources != {"sim:golden"}:
            self.result = None
        return report

    def track(self, network: Network, inputs: Any, *, engine: str = "auto") -> EnergyReport:
        """Run the golden model on ``inputs`` and price what actually happened.

        ``inputs``: floats in [0, 1] of shape ``(batch, n_in)`` (quantised at the first
        layer's precision) or already-quantised integers.
        """
        from stochflow.hdl import golden

        array = np.asarray(inputs)
        if array.ndim == 1:
            array = array[None, :]
        if np.issubdtype(array.dtype, np.integer):
            quantised = array
        else:
            quantised = golden.quantise_inputs(array, network.input_precision)
        result = golden.run(network, quantised, engine=engine)  # type: ignore[arg-type]
        counts = counts_from_golden(network, result)
        report = self.account_counts(counts)
        self.result = result
        return report

    def account_activity(self, activity: Mapping[str, Any], network: Network) -> EnergyReport:
        """Price an RTL simulation's ``activity.json`` (counts measured by the simulator)."""
        return self.account_counts(counts_from_activity(activity, network))


# --- building counts --------------------------------------------------------------------------


def _count(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise EnergyInputError(f"{name}: expected a whole number, got {value!r}")
    if value < 0:
        raise EnergyInputError(f"{name}: expected 0 or more, got {value}")
    return int(value)


def _positive(name: str, value: Any) -> int:
    number = _count(name, value)
    if number < 1:
        raise EnergyInputError(f"{name}: expected at least 1, got {number}")
    return number


def _per_layer(name: str, value: Any, n_layers: int) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise EnergyInputError(
            f"{name}: expected {n_layers} values (one per layer), got {len(values)}"
        )
    return values


def build_layer_counts(
    layer_names: Sequence[str],
    layer_sizes: Sequence[tuple[int, int]],
    spike_counts: Sequence[int],
    n_timesteps: int | Sequence[int],
    *,
    input_spikes: int | Sequence[int] | None = None,
    n_inferences: int = 1,
    input_kind: str = "binary",
    source: str = "given",
) -> list[LayerCounts]:
    """Validate caller-given counts and turn them into :class:`LayerCounts`."""
    names = list(layer_names)
    if not names:
        raise EnergyInputError("layer_names: expected at least one layer")
    n = len(names)
    for label, values in (("layer_sizes", layer_sizes), ("spike_counts", spike_counts)):
        if len(values) != n:
            raise EnergyInputError(
                f"{label}: expected {n} entries (one per layer name), got {len(values)}"
            )
    for name in names:
        if not isinstance(name, str) or not name:
            raise EnergyInputError(f"layer_names: expected non-empty strings, got {name!r}")
    if len(set(names)) != n:
        raise EnergyInputError(f"layer_names: names must be unique, got {names}")
    if input_kind not in INPUT_KINDS:
        raise EnergyInputError(
            f"input_kind: expected one of {', '.join(INPUT_KINDS)}, got {input_kind!r}"
        )
    inferences = _positive("n_inferences", n_inferences)
    steps = [
        _positive(f"n_timesteps[{names[k]}]", v)
        for k, v in enumerate(_per_layer("n_timesteps", n_timesteps, n))
    ]

    sizes: list[tuple[int, int]] = []
    for k, size in enumerate(layer_sizes):
        if not isinstance(size, Sequence | np.ndarray) or len(size) != 2:
            raise EnergyInputError(f"layer_sizes[{names[k]}]: expected (n_in, n_out), got {size!r}")
        sizes.append(
            (
                _positive(f"layer_sizes[{names[k]}].n_in", size[0]),
                _positive(f"layer_sizes[{names[k]}].n_out", size[1]),
            )
        )
    for k in range(1, n):
        if sizes[k][0] != sizes[k - 1][1]:
            raise EnergyInputError(
                f"layer_sizes[{names[k]}]: n_in {sizes[k][0]} does not match the "
                f"{sizes[k - 1][1]} outputs of {names[k - 1]}"
            )
    spikes = [_count(f"spike_counts[{names[k]}]", v) for k, v in enumerate(spike_counts)]

    if input_spikes is None or isinstance(input_spikes, numbers.Integral):
        first = None if input_spikes is None else _count(f"input_spikes[{names[0]}]", input_spikes)
        inputs: list[int | None] = [first, *spikes[:-1]]
    else:
        inputs = [
            _count(f"input_spikes[{names[k]}]", v)
            for k, v in enumerate(_per_layer("input_spikes", input_spikes, n))
        ]

    counts: list[LayerCounts] = []
    for k, name in enumerate(names):
        n_in, n_out = sizes[k]
        layer = LayerCounts(
            name=name,
            n_in=n_in,
            n_out=n_out,
            timesteps=steps[k],
            inferences=inferences,
            input_spikes=inputs[k],
            spikes=spikes[k],
            source=source,
            input_kind=input_kind if k == 0 else "binary",  # type: ignore[arg-type]
        )
        if layer.spikes > layer.neuron_steps:
            raise EnergyInputError(
                f"spike_counts[{name}]: {layer.spikes} spikes, but {n_out} neurons × "
                f"{steps[k]} timesteps × {inferences} inferences allow at most "
                f"{layer.neuron_steps} (one spike per neuron per timestep)"
            )
        if layer.input_spikes is not None and layer.input_spikes > layer.input_slots:
            raise EnergyInputError(
                f"input_spikes[{name}]: {layer.input_spikes} input spikes, but {n_in} inputs × "
                f"{steps[k]} timesteps × {inferences} inferences allow at most {layer.input_slots}"
            )
        counts.append(layer)
    return counts


def counts_from_golden(network: Network, result: GoldenResult) -> list[LayerCounts]:
    """The golden model's counted events, one :class:`LayerCounts` per layer."""
    layers = network.layers
    if len(result.counts) != len(layers):
        raise EnergyInputError(
            f"the golden result has {len(result.counts)} layers, the network {len(layers)}"
        )
    return [
        LayerCounts(
            name=layer.name,
            n_in=layer.n_in,
            n_out=layer.n_out,
            timesteps=layer.bitstream_length,
            inferences=result.batch,
            input_spikes=result.input_spikes_total(k),
            spikes=result.spikes_total(k),
            source="sim:golden",
        )
        for k, layer in enumerate(layers)
    ]


def counts_from_activity(activity: Mapping[str, Any], network: Network) -> list[LayerCounts]:
    """Counts from an ``activity.json`` payload (``docs/files.md``) of ``network``."""
    where = "activity.json"
    if activity.get("schema") != "stochflow.activity/1":
        raise EnergyInputError(
            f"{where}: expected schema stochflow.activity/1, got {activity.get('schema')!r}"
        )
    if activity.get("design_hash") not in (None, network.design_hash):
        raise EnergyInputError(
            f"{where}: design_hash {str(activity.get('design_hash'))[:12]} is not this network's "
            f"({network.design_hash[:12]})"
        )
    vectors = _positive(f"{where}: vectors", activity.get("vectors"))
    simulator = activity.get("simulator", {}).get("name", "rtl")
    entries = activity.get("layers")
    if not isinstance(entries, list) or len(entries) != len(network.layers):
        raise EnergyInputError(f"{where}: layers: expected {len(network.layers)} entries")
    counts = []
    for k, (entry, layer) in enumerate(zip(entries, network.layers, strict=True)):
        if entry.get("name") != layer.name:
            raise EnergyInputError(
                f"{where}: layers[{k}].name: expected {layer.name!r}, got {entry.get('name')!r}"
            )
        counts.append(
            LayerCounts(
                name=layer.name,
                n_in=layer.n_in,
                n_out=layer.n_out,
                timesteps=layer.bitstream_length,
                inferences=vectors,
                input_spikes=_count(
                    f"{where}: layers[{k}].input_spikes_total", entry.get("input_spikes_total")
                ),
                spikes=_count(f"{where}: layers[{k}].spikes_total", entry.get("spikes_total")),
                source=_layer_counts_source(entry, f"sim:{simulator}"),
            )
        )
    return counts


def _layer_counts_source(entry: Mapping[str, Any], default: str) -> str:
    """Where a layer's counts came from: the RTL for spikes, maybe the golden model for inputs.

    A layer that encodes its inputs inside the design has no port for them, so the
    simulation takes those counts from the golden model it just proved equal.
    """
    sources = entry.get("sources")
    if not isinstance(sources, Mapping):
        return default
    spikes = str(sources.get("spikes", default))
    inputs = str(sources.get("input_spikes", spikes))
    return spikes if inputs == spikes else f"{spikes} (input spikes: {inputs})"


# --- pricing ---------------------------------------------------------------------------------


def _component_events(component: str, layer: LayerCounts, ops: OperationCounts) -> int | None:
    if component == "synaptic" and layer.input_kind == "dense":
        return None  # MACs, not accumulates: no per-event table here prices a MAC
    return {
        "synaptic": layer.synops,
        "membrane": ops.neuron_updates,
        "spike": layer.spikes,
        "memory_read": ops.memory_reads,
        "memory_write": ops.memory_writes,
        "routing": layer.spikes,
    }[component]


def _price_event(
    model: HardwareCostModel, component: str, layer: LayerCounts, ops: OperationCounts
) -> ComponentEnergy:
    entry = model.entry(component)
    events = _component_events(component, layer, ops)
    if entry.included_in is not None:
        return ComponentEnergy(
            component,
            events,
            None,
            None,
            note=f"included in {COMPONENT_TITLES[entry.included_in]}: {entry.includes}",
            included_in=entry.included_in,
        )
    if entry.pj is None:
        return ComponentEnergy(component, events, None, None, note=entry.missing)
    if events is None:
        why = (
            "dense inputs need a MAC cost, which the table does not give"
            if layer.input_kind == "dense"
            else f"input spikes of {layer.name} are not known (pass input_spikes=)"
        )
        return ComponentEnergy(
            component, None, entry.pj, None, note=why, basis=entry.basis, unknown_count=True
        )
    return ComponentEnergy(
        component,
        events,
        entry.pj,
        events * entry.pj,
        note=entry.includes,
        basis=entry.basis,
    )


def _fpga_layer(model: HardwareCostModel, layer: LayerCounts) -> dict[str, ComponentEnergy]:
    """FPGA: events are shown, not priced; dynamic power per layer when the model has it."""
    components: dict[str, ComponentEnergy] = {}
    power = model.dynamic_by_layer.get(layer.name)
    if power is not None and model.timing is not None:
        seconds = model.timing.inference_seconds * layer.inferences
        components["dynamic"] = ComponentEnergy(
            "dynamic",
            None,
            None,
            power.watts * seconds * 1e12,
            note=f"{power.watts:g} W ({power.source}) × {seconds:.3g} s",
            basis=power.basis,
        )
    return components


def _network_components(
    model: HardwareCostModel, inferences: int, layer_dynamic_complete: bool
) -> dict[str, ComponentEnergy]:
    components: dict[str, ComponentEnergy] = {}
    timing = model.timing
    seconds = None if timing is None else timing.inference_seconds * inferences
    if model.kind == "fpga" and model.dynamic is not None and not layer_dynamic_complete:
        assert seconds is not None and timing is not None
        components["dynamic"] = ComponentEnergy(
            "dynamic",
            None,
            None,
            model.dynamic.watts * seconds * 1e12,
            note=(
                f"{model.dynamic.watts:g} W ({model.dynamic.source}) × {timing.latency_cycles} "
                f"cycles / {timing.clock_mhz:g} MHz ({timing.clock_source}) × {inferences}"
            ),
            basis=model.dynamic.basis,
        )
    if model.static is not None and seconds is not None:
        assert timing is not None
        components["static"] = ComponentEnergy(
            "static",
            None,
            None,
            model.static.watts * seconds * 1e12,
            note=(
                f"{model.static.watts:g} W ({model.static.source}) × {timing.latency_cycles} "
                f"cycles / {timing.clock_mhz:g} MHz ({timing.clock_source}) × {inferences}"
            ),
            basis=model.static.basis,
        )
    elif model.static is not None:
        components["static"] = ComponentEnergy(
            "static",
            None,
            None,
            None,
            note=f"{model.static.watts:g} W is known but the run's wall time is not",
        )
    elif model.static_included_in is not None:
        components["static"] = ComponentEnergy(
            "static",
            None,
            None,
            None,
            note=model.static_note,
            included_in=model.static_included_in,
        )
    else:
        components["static"] = ComponentEnergy("static", None, None, None, note=model.static_note)
    return components


def price(
    model: HardwareCostModel, counts: Sequence[LayerCounts], notes: tuple[str, ...] = ()
) -> EnergyReport:
    """Apply a cost model to counted events."""
    inferences = counts[0].inferences
    layers = []
    for layer in counts:
        ops = operation_counts(layer)
        if model.kind == "per-event":
            components = {c: _price_event(model, c, layer, ops) for c in COMPONENTS}
        else:
            components = _fpga_layer(model, layer)
        layers.append(LayerEnergy(layer, ops, components))
    by_layer_complete = model.kind == "fpga" and all(
        layer.name in model.dynamic_by_layer for layer in counts
    )
    extra = list(notes)
    if model.kind == "fpga" and not by_layer_complete:
        extra.append(
            "FPGA energy is power × time for the whole design; the power model does not "
            "resolve layers, so no layer is charged (events are shown, not priced)."
        )
    sources = sorted({layer.source for layer in counts})
    return EnergyReport(
        hardware=model.name,
        model=model,
        layers=tuple(layers),
        network_components=_network_components(model, inferences, by_layer_complete),
        inferences=inferences,
        counts_source=", ".join(sources),
        estimator=PER_EVENT_ESTIMATOR if model.kind == "per-event" else FPGA_ESTIMATOR,
        notes=tuple(extra),
    )


__all__ = [
    "ComponentEnergy",
    "CostModelError",
    "EnergyAccountant",
    "EnergyInputError",
    "EnergyReport",
    "LayerEnergy",
    "build_layer_counts",
    "counts_from_activity",
    "counts_from_golden",
    "price",
]
