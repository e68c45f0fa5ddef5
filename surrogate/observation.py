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
)


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
    name: str
    fmax_mhz: float
    source: str
    constraint_mhz: float | None = None
    met: bool | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "fmax_mhz": self.fmax_mhz, "source": self.source}
        if self.constraint_mhz is not None:
            data["constraint_mhz"] = self.constraint_mhz
        if self.met is not None:
            data["met"] = self.met
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
    tools: dict[str, str]  # tool name -> version string as printed
    latency_cycles: Figure  # exact, from design.json ("design:latency") or a report
    resources: dict[str, ResourceFigure] = field(default_factory=dict)
    clocks: tuple[ClockFigure, ...] = ()
    power: PowerFigure | None = None
    accuracy: Figure | None = None  # fraction correct in [0, 1]
    energy_per_inference_j: Figure | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # role -> sha256 of the file
    created_utc: str | None = None

    @property
    def fmax_mhz(self) -> float | None:
        """The slowest clock's achieved Fmax (the design has one clock domain)."""
        if not self.clocks:
            return None
        return min(clock.fmax_mhz for clock in self.clocks)

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
        for key in ("power", "accuracy", "energy_per_inference_j"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value.to_json()
        if self.created_utc is not None:
            data["created_utc"] = self.created_utc
        return data


# The established API's name for the same record.
BenchmarkObservation = Observation
