"""Per-operation energy tables of real hardware, each number with its source.

An :class:`EnergyAccountant` multiplies counted events by these costs. Every cost says
what it includes, where it comes from (paper, table or figure) and on what basis it
was obtained (silicon measurement, pre-silicon simulation, a rough published
estimate, or our derivation from one). A cost with no published figure is ``None``
and the component it prices is left out of a report with a note, never priced at
zero. Where a figure already covers another component (TrueNorth's per-event figure
includes everything at its operating point) the entry says so through
``included_in``.

The tables, their citations and the scaling arithmetic are documented in
``docs/energy.md``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Basis = Literal["measured", "simulated", "estimate", "derived", "vendor", "model"]
BASES: tuple[str, ...] = ("measured", "simulated", "estimate", "derived", "vendor", "model")

# The event components a per-operation table prices, in report order.
COMPONENTS: tuple[str, ...] = (
    "synaptic",  # one input spike delivered to one synapse (a SynOp)
    "membrane",  # one neuron's state update in one timestep
    "spike",  # one output spike generated (threshold crossing + reset)
    "memory_read",  # one memory read (weight or neuron state)
    "memory_write",  # one memory write (neuron state write-back)
    "routing",  # one output spike sent as a packet to the next layer
)
COMPONENT_TITLES: dict[str, str] = {
    "synaptic": "synaptic op",
    "membrane": "membrane update",
    "spike": "spike generation",
    "memory_read": "memory read",
    "memory_write": "memory write",
    "routing": "routing",
    "static": "static (leakage)",
    "dynamic": "dynamic",
}


class EnergyError(ValueError):
    """Bad input to energy accounting: the CLI reports it as a usage error (exit 2)."""


class CostModelError(EnergyError):
    """A cost table that breaks the rules (a number without a source, an unknown name)."""


@dataclass(frozen=True)
class Citation:
    """Where a number comes from: the work, and the exact place in it."""

    reference: str  # authors, title, venue, volume(issue):pages, year
    locator: str  # table / figure / section / sentence the number is read from
    doi: str | None = None

    def __post_init__(self) -> None:
        if not self.reference.strip() or not self.locator.strip():
            raise CostModelError("a citation needs both a reference and a locator")

    def short(self) -> str:
        """``Authors Year, locator``: enough to find the number again."""
        authors = self.reference.split('"')[0].rstrip(", ")
        years = re.findall(r"\b(?:19|20)\d\d\b", self.reference)
        return f"{authors} {years[-1] if years else ''}, {self.locator}".replace(" ,", ",")


@dataclass(frozen=True)
class CostEntry:
    """The energy of one event of one component, or why there is none.

    ``pj`` set: ``citation`` and ``basis`` are required. ``pj`` unset: either
    ``included_in`` names the component whose figure already covers this one, or
    ``missing`` says why no figure exists.
    """

    component: str
    pj: float | None
    includes: str
    citation: Citation | None = None
    basis: Basis | None = None
    derivation: str = ""
    included_in: str | None = None
    missing: str = ""
    derived_from: Citation | None = None  # the source of the figure a derivation started from

    def __post_init__(self) -> None:
        if self.component not in COMPONENTS:
            raise CostModelError(
                f"unknown component {self.component!r}; expected one of {', '.join(COMPONENTS)}"
            )
        if self.pj is not None:
            if isinstance(self.pj, bool) or not math.isfinite(self.pj) or self.pj < 0:
                raise CostModelError(f"{self.component}: expected a finite pJ ≥ 0, got {self.pj!r}")
            if self.citation is None:
                raise CostModelError(f"{self.component}: {self.pj} pJ has no citation")
            if self.basis not in BASES:
                raise CostModelError(
                    f"{self.component}: basis must be one of {', '.join(BASES)}, got {self.basis!r}"
                )
            if self.included_in is not None:
                raise CostModelError(
                    f"{self.component}: a priced entry cannot be included_in another"
                )
        elif self.included_in is None and not self.missing:
            raise CostModelError(
                f"{self.component}: no figure; say why (missing=...) or where it is (included_in=...)"
            )
        if self.included_in is not None and self.included_in not in COMPONENTS:
            raise CostModelError(
                f"{self.component}: included_in {self.included_in!r} is no component"
            )

    @property
    def priced(self) -> bool:
        return self.pj is not None

    def scaled(self, factor: float, citation: Citation, derivation: str) -> CostEntry:
        """The same operation at another technology node (basis becomes ``derived``)."""
        if self.pj is None:
            return self
        return replace(
            self,
            pj=self.pj * factor,
            citation=citation,
            basis="derived",
            derived_from=self.citation,
            derivation=f"{derivation}; from {self.pj:g} pJ ({self.citation.short() if self.citation else ''})",
        )


@dataclass(frozen=True)
class PowerFigure:
    """A power in watts with its source (static leakage, or an FPGA's dynamic power)."""

    watts: float
    source: str  # e.g. "model:ice40-activity", "vendor:vivado", or a citation's short form
    basis: Basis
    citation: Citation | None = None

    def __post_init__(self) -> None:
        if isinstance(self.watts, bool) or not math.isfinite(self.watts) or self.watts < 0:
            raise CostModelError(f"expected a finite power ≥ 0 W, got {self.watts!r}")
        if not self.source.strip():
            raise CostModelError("a power figure needs a source")
        if self.basis not in BASES:
            raise CostModelError(f"basis must be one of {', '.join(BASES)}, got {self.basis!r}")


@dataclass(frozen=True)
class FpgaTiming:
    """What turns power into energy on an FPGA: the clock and the cycles of one inference."""

    clock_mhz: float
    clock_source: str  # "tool:nextpnr" (measured Fmax) or "user" (a chosen clock)
    latency_cycles: int
    latency_source: str  # "design:latency" (exact, from design.json) or a simulation

    def __post_init__(self) -> None:
        if not math.isfinite(self.clock_mhz) or self.clock_mhz <= 0:
            raise CostModelError(f"expected a clock > 0 MHz, got {self.clock_mhz!r}")
        if isinstance(self.latency_cycles, bool) or not isinstance(self.latency_cycles, int):
            raise CostModelError(f"expected integer latency cycles, got {self.latency_cycles!r}")
        if self.latency_cycles < 1:
            raise CostModelError(f"expected latency ≥ 1 cycle, got {self.latency_cycles}")

    @property
    def inference_seconds(self) -> float:
        return self.latency_cycles / (self.clock_mhz * 1e6)


@dataclass(frozen=True)
class HardwareCostModel:
    """Costs of one platform: per-event pJ, or (FPGA) power × latency per inference.

    ``kind`` is ``"per-event"`` (CMOS and neuromorphic tables: energy is counted events
    × cost) or ``"fpga"`` (energy per inference is (dynamic + static power) × latency
    / clock; the events are still counted and shown, but do not price the energy).
    """

    name: str
    title: str
    kind: Literal["per-event", "fpga"]
    regime: str  # one line: what platform, node, voltage and datapath the costs assume
    entries: Mapping[str, CostEntry] = field(default_factory=dict)
    static: PowerFigure | None = None
    static_note: str = ""
    static_included_in: str | None = None  # a component whose figure already covers leakage
    dynamic: PowerFigure | None = None
    dynamic_by_layer: Mapping[str, PowerFigure] = field(default_factory=dict)
    timing: FpgaTiming | None = None
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind == "per-event":
            missing = [c for c in COMPONENTS if c not in self.entries]
            if missing:
                raise CostModelError(
                    f"{self.name}: every component needs an entry (a figure, included_in or "
                    f"missing); none for {', '.join(missing)}"
                )
            for key, entry in self.entries.items():
                if key != entry.component:
                    raise CostModelError(f"{self.name}: entry {key!r} holds {entry.component!r}")
        elif self.kind == "fpga":
            if self.timing is None or self.dynamic is None or self.static is None:
                raise CostModelError(
                    f"{self.name}: an FPGA cost model needs dynamic power, static power and timing"
                )
        else:
            raise CostModelError(f"{self.name}: unknown kind {self.kind!r}")

    def entry(self, component: str) -> CostEntry:
        return self.entries[component]

    def citations(self) -> list[Citation]:
        found: list[Citation] = []
        for entry in self.entries.values():
            found += [c for c in (entry.derived_from, entry.citation) if c is not None]
        for power in (self.static, self.dynamic, *self.dynamic_by_layer.values()):
            if power is not None and power.citation is not None:
                found.append(power.citation)
        unique: list[Citation] = []
        for citation in found:
            if citation not in unique:
                unique.append(citation)
        return unique

    @classmethod
    def from_fpga(
        cls,
        target: str,
        *,
        dynamic_w: float,
        dynamic_source: str,
        static_w: float,
        static_source: str,
        clock_mhz: float,
        clock_source: str,
        latency_cycles: int,
        latency_source: str = "design:latency",
        dynamic_w_by_layer: Mapping[str, float] | None = None,
        design_hash: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> HardwareCostModel:
        """An FPGA design's cost: (dynamic + static) power × latency cycles / clock.

        Built on the flow side from an observation: ``dynamic_w`` from the activity
        power model (``model:ice40-activity``) or a vendor report (``vendor:vivado``),
        ``static_w`` likewise, ``clock_mhz`` the clock the power figure holds at
        (normally the measured Fmax, ``tool:nextpnr``) and the exact ``latency_cycles``
        from ``design.json``. ``dynamic_w_by_layer`` (optional) lets a report charge
        dynamic energy to layers when the power model resolves them.
        """

        def basis_of(source: str) -> Basis:
            return "vendor" if source.startswith("vendor:") else "model"

        by_layer = {
            name: PowerFigure(watts, dynamic_source, basis_of(dynamic_source))
            for name, watts in (dynamic_w_by_layer or {}).items()
        }
        design = f", design {design_hash[:12]}" if design_hash else ""
        return cls(
            name=target,
            title=f"{target} FPGA{design}",
            kind="fpga",
            regime=(
                f"{target}: (dynamic {dynamic_source} + static {static_source}) power × "
                f"{latency_cycles} cycles at {clock_mhz:g} MHz ({clock_source})"
            ),
            static=PowerFigure(static_w, static_source, basis_of(static_source)),
            dynamic=PowerFigure(dynamic_w, dynamic_source, basis_of(dynamic_source)),
            dynamic_by_layer=by_layer,
            timing=FpgaTiming(clock_mhz, clock_source, latency_cycles, latency_source),
            notes=notes,
        )


# --- sources -------------------------------------------------------------------------------

HOROWITZ_2014 = Citation(
    'M. Horowitz, "1.1 Computing\'s energy problem (and what we can do about it)", '
    "IEEE ISSCC Digest of Technical Papers, pp. 10–14, 2014",
    'Fig. 1.1.9, "Rough energy costs for various operations in 45nm 0.9V"',
    doi="10.1109/ISSCC.2014.6757323",
)
STILLMAKER_BAAS_2017 = Citation(
    'A. Stillmaker, B. Baas, "Scaling equations for the accurate prediction of CMOS device '
    'performance from 180 nm to 7 nm", Integration, the VLSI Journal 58:74–81, 2017',
    "Table 5 (energy fits E(V) = a·V² + b·V + c per node, HP models); nodes scaled by the "
    "ratio of their fits as in the worked example of Sect. 4.2.1 (as corrected by the "
    "authors' corrigendum)",
    doi="10.1016/j.vlsi.2017.02.002",
)
DAVIES_2018 = Citation(
    'M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning", '
    "IEEE Micro 38(1):82–99, 2018",
    'Table 2, "Loihi pre-silicon performance and energy measurements" (p. 96)',
    doi="10.1109/MM.2018.112130359",
)
MEROLLA_2014 = Citation(
    'P. A. Merolla et al., "A million spiking-neuron integrated circuit with a scalable '
    'communication network and interface", Science 345(6197):668–673, 2014',
    "main text, energy per synaptic event at the typical operating point "
    "(20 Hz mean rate, 128 active synapses per neuron)",
    doi="10.1126/science.1254642",
)
SHARP_2012 = Citation(
    'T. Sharp, F. Galluppi, A. Rast, S. Furber, "Power-efficient simulation of detailed '
    'cortical microcircuits on SpiNNaker", J. Neuroscience Methods 210(1):110–118, 2012',
    'abstract: "the hardware consumes 100 nJ per neuron per millisecond and 43 nJ per '
    'postsynaptic potential" (4 chips, 10,000 neurons, 4 M synapses, real time)',
)

# --- CMOS at 45 nm (Horowitz) and scaled -----------------------------------------------------

HOROWITZ_VDD = 0.9  # volts: the supply of Fig. 1.1.9

# Stillmaker & Baas 2017, Table 5: energy factor E(V) = a·V² + b·V + c per node, high-
# performance (HP) models. HP32 and 65 nm are checked against the corrigendum's worked
# example (0.8367·0.9² − 0.4341·0.9 + 0.1701 = 0.4571; 3.755·1.3² − 4.398·1.3 + 1.975 = 2.604).
STILLMAKER_ENERGY_COEFFICIENTS: dict[int, tuple[float, float, float]] = {
    45: (1.018, -0.3107, 0.1539),
    32: (0.8367, -0.4341, 0.1701),
    20: (0.373, -0.1582, 0.04104),
    16: (0.2958, -0.1241, 0.03024),
    14: (0.2363, -0.09675, 0.02239),
    10: (0.2068, -0.09311, 0.02375),
    7: (0.1776, -0.09097, 0.02447),
}


def stillmaker_energy_factor(node_nm: float, vdd: float) -> float:
    """Stillmaker & Baas energy factor of a node at a supply voltage.

    Nodes of the paper's table are evaluated directly; a node between two of them
    (28 nm lies between 32 and 20) is linearly interpolated in feature size between
    the two neighbours' factors at the same voltage. That interpolation is ours, not
    the paper's, and :func:`scaling_derivation` says so.
    """
    if node_nm in STILLMAKER_ENERGY_COEFFICIENTS:
        a, b, c = STILLMAKER_ENERGY_COEFFICIENTS[int(node_nm)]
        return a * vdd * vdd + b * vdd + c
    nodes = sorted(STILLMAKER_ENERGY_COEFFICIENTS)
    if not nodes[0] < node_nm < nodes[-1]:
        raise CostModelError(f"no Stillmaker & Baas fit covers {node_nm} nm (7…45 nm HP)")
    below = max(n for n in nodes if n < node_nm)
    above = min(n for n in nodes if n > node_nm)
    weight = (above - node_nm) / (above - below)
    return stillmaker_energy_factor(above, vdd) + weight * (
        stillmaker_energy_factor(below, vdd) - stillmaker_energy_factor(above, vdd)
    )


def scaling_derivation(node_nm: int, vdd: float = HOROWITZ_VDD) -> tuple[float, str]:
    """The 45 nm → ``node_nm`` energy factor and the sentence that explains it."""
    source = stillmaker_energy_factor(45, vdd)
    target = stillmaker_energy_factor(node_nm, vdd)
    factor = target / source
    how = (
        f"× {factor:.4f} = E_{node_nm}({vdd} V) / E_45({vdd} V) = {target:.5f} / {source:.5f}, "
        f"Stillmaker & Baas 2017 HP energy fits at Horowitz's {vdd} V (iso-voltage)"
    )
    if node_nm not in STILLMAKER_ENERGY_COEFFICIENTS:
        how += "; the node is linearly interpolated between its table neighbours"
    return factor, how


CMOS_REGIME = (
    "{node} nm CMOS, {vdd} V, event-driven digital core: 32-bit integer accumulator, "
    "weights and neuron state in an 8 KB SRAM read/written as 64-bit words"
)


def _horowitz_45nm_entries() -> dict[str, CostEntry]:
    cite = HOROWITZ_2014
    return {
        "synaptic": CostEntry(
            "synaptic",
            0.1,
            "one 32-bit integer add: the weight accumulated into the membrane",
            cite,
            "estimate",
            derivation="Int ADD 32 bit: 0.1 pJ",
        ),
        "membrane": CostEntry(
            "membrane",
            0.1,
            "one 32-bit integer add per neuron per timestep (threshold comparison); "
            "bias add, leak and saturation are not priced separately",
            cite,
            "estimate",
            derivation="Int ADD 32 bit: 0.1 pJ",
        ),
        "spike": CostEntry(
            "spike",
            0.1,
            "one 32-bit integer add: the subtractive reset V − θ of a firing neuron",
            cite,
            "estimate",
            derivation="Int ADD 32 bit: 0.1 pJ",
        ),
        "memory_read": CostEntry(
            "memory_read",
            10.0,
            "one 64-bit access to an 8 KB SRAM cache (a weight or a state word)",
            cite,
            "estimate",
            derivation="Memory, Cache 64 bit, 8KB: 10 pJ",
        ),
        "memory_write": CostEntry(
            "memory_write",
            10.0,
            "one 64-bit access to an 8 KB SRAM cache (state write-back)",
            cite,
            "estimate",
            derivation="Memory, Cache 64 bit, 8KB: 10 pJ (the figure is per access, read or write)",
        ),
        "routing": CostEntry(
            "routing",
            None,
            "moving a spike to the next layer",
            missing="Fig. 1.1.9 has no interconnect or packet figure",
        ),
    }


def cmos_cost_model(node_nm: int) -> HardwareCostModel:
    """Horowitz's 45 nm table, scaled to ``node_nm`` by Stillmaker & Baas (iso-voltage)."""
    entries = _horowitz_45nm_entries()
    notes = [
        "Horowitz's figures are rough estimates for a 45 nm process at 0.9 V (his words: "
        "'rough energy costs').",
    ]
    if node_nm != 45:
        factor, how = scaling_derivation(node_nm)
        entries = {
            key: entry.scaled(factor, STILLMAKER_BAAS_2017, how) for key, entry in entries.items()
        }
        notes.append(
            "Scaled from 45 nm at constant 0.9 V with the paper's logic fits; SRAM access is "
            "scaled by the same factor, an approximation the paper does not fit separately."
        )
    return HardwareCostModel(
        name=f"{node_nm}nm",
        title=f"{node_nm} nm CMOS (Horowitz 2014{'' if node_nm == 45 else ', scaled'})",
        kind="per-event",
        regime=CMOS_REGIME.format(node=node_nm, vdd=HOROWITZ_VDD),
        entries=entries,
        static_note="no leakage figure in Horowitz 2014 Fig. 1.1.9",
        notes=tuple(notes),
    )


# --- neuromorphic chips ----------------------------------------------------------------------


def loihi_cost_model() -> HardwareCostModel:
    cite = DAVIES_2018
    entries = {
        "synaptic": CostEntry(
            "synaptic",
            23.6,
            "one synaptic spike operation in a core (synapse read + accumulate), the minimum "
            "over synapse formats, no learning",
            cite,
            "simulated",
            derivation='"Energy per synaptic spike op (min) | 23.6 pJ"',
        ),
        "membrane": CostEntry(
            "membrane",
            81.0,
            "one active neuron (compartment) update per timestep; an inactive one is 52 pJ",
            cite,
            "simulated",
            derivation='"Energy per neuron update (active / inactive) | 81 pJ / 52 pJ"; '
            "an SC neuron integrates its bias every period, so it is always active",
        ),
        "spike": CostEntry(
            "spike",
            None,
            "generating an output spike",
            missing="Table 2 has no separate spike-generation figure",
        ),
        "memory_read": CostEntry(
            "memory_read",
            None,
            "synapse and state SRAM reads",
            included_in="synaptic",
        ),
        "memory_write": CostEntry(
            "memory_write",
            None,
            "neuron state SRAM write-back",
            included_in="membrane",
        ),
        "routing": CostEntry(
            "routing",
            1.7,
            "one spike delivered within a tile; each inter-tile hop would add 3.0 pJ (E-W) "
            "or 4.0 pJ (N-S), not counted: the core placement is not known",
            cite,
            "simulated",
            derivation='"Within-tile spike energy | 1.7 pJ"',
        ),
    }
    return HardwareCostModel(
        name="loihi",
        title="Intel Loihi (Davies et al. 2018)",
        kind="per-event",
        regime="Intel Loihi, 14 nm FinFET, asynchronous cores; pre-silicon per-event energies",
        entries=entries,
        static_note="Table 2 gives no leakage power, and a timestep's wall time depends on the mapping",
        notes=(
            "Davies et al. state Table 2 comes from pre-silicon SDF and SPICE simulations, "
            "consistent with early post-silicon characterisation: simulated, not measured.",
        ),
    )


def truenorth_cost_model() -> HardwareCostModel:
    included = "everything the chip spends at the measured operating point, static power included"
    entries = {
        "synaptic": CostEntry(
            "synaptic",
            26.0,
            "total chip energy per synaptic event at the typical operating point: " + included,
            MEROLLA_2014,
            "measured",
            derivation="26 pJ per synaptic event, measured on the 28 nm chip",
        ),
        **{
            component: CostEntry(component, None, included, included_in="synaptic")
            for component in ("membrane", "spike", "memory_read", "memory_write", "routing")
        },
    }
    return HardwareCostModel(
        name="truenorth",
        title="IBM TrueNorth (Merolla et al. 2014)",
        kind="per-event",
        regime="IBM TrueNorth, 28 nm, 1 kHz tick; measured whole-chip energy per synaptic event",
        entries=entries,
        static_note="included in the per-event figure (an operating-point average)",
        static_included_in="synaptic",
        notes=(
            "An operating-point average: exact at 20 Hz and 128 active synapses per neuron, "
            "and neither neuron updates nor static power scale separately with activity.",
        ),
    )


def spinnaker_cost_model() -> HardwareCostModel:
    included = "the board's energy is split into per-neuron and per-event terms only"
    entries = {
        "synaptic": CostEntry(
            "synaptic",
            43_000.0,
            "one postsynaptic potential (synaptic event), whole-board energy per event",
            SHARP_2012,
            "measured",
            derivation="43 nJ per postsynaptic potential = 43,000 pJ",
        ),
        "membrane": CostEntry(
            "membrane",
            100_000.0,
            "one neuron for one 1 ms real-time timestep, whole-board energy",
            SHARP_2012,
            "measured",
            derivation="100 nJ per neuron per millisecond = 100,000 pJ per 1 ms timestep",
        ),
        "spike": CostEntry("spike", None, included, included_in="membrane"),
        "memory_read": CostEntry("memory_read", None, included, included_in="synaptic"),
        "memory_write": CostEntry("memory_write", None, included, included_in="membrane"),
        "routing": CostEntry("routing", None, included, included_in="synaptic"),
    }
    return HardwareCostModel(
        name="spinnaker",
        title="SpiNNaker (Sharp et al. 2012)",
        kind="per-event",
        regime="SpiNNaker 1, 130 nm, ARM968 cores, real time with 1 ms timesteps; measured board",
        entries=entries,
        static_note="the abstract's figures are per neuron-millisecond and per event only",
        notes=(
            "The per-neuron figure is per millisecond of biological time: one SC bit-period "
            "is taken as one 1 ms SpiNNaker timestep.",
        ),
    )


# --- registry --------------------------------------------------------------------------------

COST_MODEL_FACTORIES: dict[str, Callable[[], HardwareCostModel]] = {
    "45nm": lambda: cmos_cost_model(45),
    "28nm": lambda: cmos_cost_model(28),
    "7nm": lambda: cmos_cost_model(7),
    "loihi": loihi_cost_model,
    "truenorth": truenorth_cost_model,
    "spinnaker": spinnaker_cost_model,
}


def cost_model_names() -> tuple[str, ...]:
    return tuple(COST_MODEL_FACTORIES)


def get_cost_model(name: str) -> HardwareCostModel:
    """A named cost model; an unknown name is an error that lists the known ones."""
    factory = COST_MODEL_FACTORIES.get(name)
    if factory is None:
        raise CostModelError(
            f"unknown hardware {name!r}; known: {', '.join(COST_MODEL_FACTORIES)} "
            "(FPGA targets need a cost model built from their observations: "
            "HardwareCostModel.from_fpga or stochflow.flow.profile.fpga_cost_model)"
        )
    return factory()
