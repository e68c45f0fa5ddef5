"""Observations: one measured design point, the only evidence the surrogate learns from.

An observation joins *which design* (its hash and per-layer knobs) with *what was
measured* (resources, timing, power, latency, accuracy), each figure carrying its
source (``tool:nextpnr``, ``vendor:vivado``, ``model:ice40-activity``, ``sim:golden``,
``design:latency``…). A figure that was not measured, parsed or modelled by a named
model is absent (``None``), never zero.

The strict JSON loader and the payload schema live in
:mod:`stochflow.surrogate.evidence`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_ID = "stochflow.observations/1"

# Canonical resource names shared by parsers' output mapping, targets and the surrogate.
CANONICAL_RESOURCES: tuple[str, ...] = (
    "lut",  # LUTs / LUT4s / logic cells used as LUTs (iCE40 SB_LUT4, ECP5 LUT4, 7-series LUT)
    "lc",  # iCE40 logic cells (ICESTORM_LC) after packing
    "ff",  # flip-flops / registers
    "carry",  # carry cells (SB_CARRY, CCU2C halves)
    "bram",  # block RAM primitives (SB_RAM40_4K, DP16KD, RAMB18 equivalents)
    "bram_tile",  # Vivado Block RAM Tile (halves allowed)
    "dsp",  # DSP / multiplier blocks
    "io",  # bonded IOs / pins
    "le",  # Intel logic elements
    "alm",  # Intel ALMs
    "memory_bits",  # Intel block memory bits
    "slice",  # ECP5 TRELLIS_SLICE / Xilinx slices
    "pll",
    "uram",
    "ramb36",
    "ramb18",
    "bram_18k",
    "gb",  # global buffers
    "spram",  # iCE40 UltraPlus single-port RAM blocks (SB_SPRAM256KA)
)

# Resources a vendor counts in fractions (Vivado counts a RAMB18 as half a Block RAM Tile);
# every other used/available count is a whole number.
FRACTIONAL_RESOURCES: dict[str, float] = {"bram_tile": 0.5}


@dataclass(frozen=True)
class Figure:
    """A number and where it came from."""

    value: float
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "source": self.source}


@dataclass(frozen=True)
class ResourceFigure:
    used: float
    available: float | None
    source: str

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"used": self.used, "source": self.source}
        if self.available is not None:
            data["available"] = self.available
        return data


@dataclass(frozen=True)
class PowerFigure:
    """Power in watts. ``total_w`` is stated or modelled, never summed from guesses."""

    total_w: float
    source: str
    dynamic_w: float | None = None
    static_w: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"total_w": self.total_w, "source": self.source}
        if self.dynamic_w is not None:
            data["dynamic_w"] = self.dynamic_w
        if self.static_w is not None:
            data["static_w"] = self.static_w
        return data


@dataclass(frozen=True)
class ClockFigure:
    """One clock domain as a timing report states it.

    ``fmax_mhz`` is absent when the report gives slack but no achieved frequency
    (Quartus ``.sta.summary``, Vivado timing summaries); it is never derived here.
    ``slack_ns`` is the worst setup slack of this clock over all corners.
    """

    name: str
    fmax_mhz: float | None
    source: str
    constraint_mhz: float | None = None
    met: bool | None = None
    slack_ns: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "source": self.source}
        for key in ("fmax_mhz", "constraint_mhz", "met", "slack_ns"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class TimingFigure:
    """Whole-design timing as the report states it; failed timing is kept (``met=False``)."""

    source: str
    met: bool | None = None
    wns_ns: float | None = None
    tns_ns: float | None = None
    whs_ns: float | None = None
    ths_ns: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source}
        for key in ("met", "wns_ns", "tns_ns", "whs_ns", "ths_ns"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


@dataclass(frozen=True)
class BuildConditions:
    """What the build was asked for: part of a measurement's identity.

    The same design built at another clock constraint, with another placer seed or
    other synthesis options is another measurement, not a conflicting repeat.
    ``clock_mhz`` is the constraint given to the tools (absent when no report states
    one); ``seed`` is the placer seed (``None``: the tool's default); ``options`` are
    the flow's switches that change the result (``{"abc9": true}``).
    """

    clock_mhz: float | None = None
    seed: int | None = None
    options: dict[str, bool | int | str | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.clock_mhz is not None:
            data["clock_mhz"] = float(self.clock_mhz)
        data["seed"] = self.seed
        data["options"] = dict(sorted(self.options.items()))
        return data


@dataclass(frozen=True)
class Observation:
    """One built and measured design point."""

    design_hash: str  # design.json's design_hash: identity of (knobs, weights, generator)
    design_name: str
    architecture: str  # "stream" | "regenerate"
    layers: tuple[dict[str, Any], ...]  # LayerConfig.to_dict() of each layer, in order
    target: str  # target registry name, e.g. "ice40-up5k", "xc7a35t"
    device: str  # as the tool states it
    tools: dict[str, str | None]  # tool name -> version as printed (None: the tool prints none)
    latency_cycles: Figure  # exact, from design.json ("design:latency") or a report
    resources: dict[str, ResourceFigure] = field(default_factory=dict)
    clocks: tuple[ClockFigure, ...] = ()
    timing: TimingFigure | None = None
    power: PowerFigure | None = None
    accuracy: Figure | None = None  # fraction correct in [0, 1]
    energy_per_inference_j: Figure | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # role -> sha256 of the file
    created_utc: str | None = None
    build: BuildConditions | None = None  # clock constraint, seed, options asked of the build

    @property
    def fmax_mhz(self) -> float | None:
        """The slowest clock's achieved Fmax (the design has one clock domain)."""
        stated = [clock.fmax_mhz for clock in self.clocks if clock.fmax_mhz is not None]
        return min(stated) if stated else None

    @property
    def timing_met(self) -> bool | None:
        """False if any report says timing failed, True if one says it passed, else None."""
        verdicts = [clock.met for clock in self.clocks if clock.met is not None]
        if self.timing is not None and self.timing.met is not None:
            verdicts.append(self.timing.met)
        if not verdicts:
            return None
        return all(verdicts)

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Identity of a measurement: design hash, target, tool versions, build conditions.

        Two observations with the same key must state the same figures. The tools and
        build parts are canonical JSON (``"null"`` when no build conditions are stated)
        so they compare and index as text.
        """
        conditions = None if self.build is None else self.build.to_json()
        return (self.design_hash, self.target, canonical_json(self.tools), canonical_json(conditions))

    def measurement_json(self) -> dict[str, Any]:
        """:meth:`to_json` without when/from-which-files: what must agree for one key."""
        data = self.to_json()
        data.pop("created_utc", None)
        data.pop("provenance", None)
        return data

    def resource_used(self, name: str) -> float:
        """Used count of a canonical resource; a missing one is an error, not zero."""
        try:
            return self.resources[name].used
        except KeyError:
            raise KeyError(
                f"observation {self.design_hash[:12]} on {self.target} has no measured {name!r}"
            ) from None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "design_hash": self.design_hash,
            "design_name": self.design_name,
            "architecture": self.architecture,
            "layers": [dict(layer) for layer in self.layers],
            "target": self.target,
            "device": self.device,
            "tools": dict(self.tools),
            "latency_cycles": self.latency_cycles.to_json(),
            "resources": {name: fig.to_json() for name, fig in self.resources.items()},
            "clocks": [clock.to_json() for clock in self.clocks],
            "provenance": dict(self.provenance),
        }
        for key in ("timing", "power", "accuracy", "energy_per_inference_j", "build"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value.to_json()
        if self.created_utc is not None:
            data["created_utc"] = self.created_utc
        return data


def canonical_json(value: Any) -> str:
    """Sorted, compact JSON: equal values give equal text (used for keys and comparisons)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


# The established API's name for the same record.
BenchmarkObservation = Observation
