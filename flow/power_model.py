"""Activity-based power estimates for the open flow (no open power analyser exists).

The model, per target family, is

    P = VCC · ( I_static + f · ( k_clock + N_LC · ( a_idle + a_toggle · α ) ) )

with ``f`` the clock in MHz, ``N_LC`` the placed logic cells (nextpnr), and ``α`` the
design's mean toggle rate: value changes per signal bit per clock cycle, from the
per-signal toggle counts the RTL simulation recorded (``activity.json``, Verilator
``--coverage-toggle``). Every coefficient is computed here from measurements that are
cited, not typed as a guess:

- iCE40UP5K (``model:ice40-activity``): the core-rail currents of an iCE40UP5K-SG48
  measured by tinyvision.ai (github.com/tinyvision-ai-inc/ice40_power, README
  "Results", Joulescope JS110, icestorm builds; the project's DESIGN.md quotes them):
  ``I_static`` is the blank design (85.6 µA); ``k_clock`` the slope of the current
  against the HFOSC clock (6–48 MHz, ≈ 43 µA/MHz, a 28-LC counter running); ``a_idle``
  the slope against logic cells of ever wider counters at 12 MHz, whose added cells
  hardly toggle (≈ 14 nW per LC per MHz); ``a_toggle`` from the "math" row, whose added
  cells (an 8×8 multiplier of two counters stepping by 3 and 5) draw ≈ 0.2 µW per LC per
  MHz at the toggle rate its published RTL has (computed here, cycle by cycle).
  VCC is the nominal 1.2 V core supply (Lattice DS1056), the voltage of the target's
  static figure in :mod:`stochflow.flow.targets`; the currents were measured at 1.219 V.
- ECP5 (``model:ecp5-activity``): Lattice publishes no per-LUT or clock-tree coefficient
  (TN1266 sends estimates to the Power Calculator, whose models are not published), so
  the coefficients are None and an ECP5 estimate is an error.

What the model does not know it does not price: a design using block RAM, DSPs, SPRAM
or a PLL is refused (no cited coefficient); I/O bank power is outside the core rail
and not included. RTL signals are not placed nets, so ``α`` stands in for the activity
of the logic cells. No toggles recorded: no estimate.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from stochflow.surrogate.observation import Observation, PowerFigure, canonical_json

from .errors import FlowError, UsageError
from .targets import UP5K_STATIC, Target, get_target

__all__ = [
    "ACTIVITY_SCHEMA",
    "Activity",
    "ActivityPowerModel",
    "Cited",
    "DeviceCoefficients",
    "PowerEstimate",
    "estimate_power",
    "ice40_up5k_coefficients",
    "math_block_toggle_rate",
    "model_for",
    "read_activity",
]

ACTIVITY_SCHEMA = "stochflow.activity/1"

ICE40_POWER_SOURCE = (
    "tinyvision-ai-inc/ice40_power README 'Results' (iCE40UP5K-SG48 on the Lattice iCE40 "
    "UltraPlus breakout board, core rail at 1.219 V, Joulescope JS110)"
)
ICE40_POWER_RTL = "tinyvision-ai-inc/ice40_power power_test/rgb_blink.v (MATH block)"

# Core-rail currents in µA, as the table states them.
UP5K_BLANK_UA = 85.6
# "External 12 MHz + 28·k bit counter": (logic cells, µA).
UP5K_COUNTER_12MHZ_UA: tuple[tuple[int, float], ...] = (
    (32, 613.5), (60, 616.65), (116, 624.2), (228, 641.3),
)  # fmt: skip
# "HFOSC (f) + 24 bit counter (28 LC's)": (MHz, µA).
UP5K_HFOSC_UA: tuple[tuple[float, float], ...] = ((6, 388.4), (12, 645), (24, 1162), (48, 2184))
# "HFOSC (12 MHz) + Math (no DSP) + 24 bit counter (208 LC's)" against the 28-LC counter row.
UP5K_MATH = {"mhz": 12.0, "lcs": 208, "ua": 996.0, "base_lcs": 28, "base_ua": 645.0}


@dataclass(frozen=True)
class Cited:
    """One model coefficient and where it comes from; ``None`` when nothing can be cited."""

    value: float | None
    unit: str
    source: str

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "unit": self.unit, "source": self.source}


@dataclass(frozen=True)
class DeviceCoefficients:
    """The coefficients of one family's activity model (see the module docs for the formula)."""

    label: str  # the figure's source, e.g. "model:ice40-activity"
    supply_v: Cited
    static_a: Cited
    clock_a_per_mhz: Cited
    lc_idle_a_per_mhz: Cited  # per logic cell, at no toggling
    lc_toggle_a_per_mhz: Cited  # per logic cell, per unit of mean toggle rate
    logic_resource: str = "lc"  # the canonical resource counted as N_LC
    # Resources the model has no coefficient for: a design using any of them is refused.
    unpriced: tuple[str, ...] = ("bram", "dsp", "spram", "pll", "uram", "ramb36", "ramb18")

    def coefficients(self) -> dict[str, Cited]:
        return {
            "supply_v": self.supply_v,
            "static_a": self.static_a,
            "clock_a_per_mhz": self.clock_a_per_mhz,
            "lc_idle_a_per_mhz": self.lc_idle_a_per_mhz,
            "lc_toggle_a_per_mhz": self.lc_toggle_a_per_mhz,
        }

    def missing(self) -> list[str]:
        return [name for name, cited in self.coefficients().items() if cited.value is None]

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "logic_resource": self.logic_resource,
            "coefficients": {name: cited.to_json() for name, cited in self.coefficients().items()},
        }


# --------------------------------------------------------------------------- iCE40UP5K


def _slope(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of y against x."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    numerator = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    return numerator / sum((x - mean_x) ** 2 for x in xs)


def math_block_toggle_rate() -> float:
    """Mean toggle rate of the reference "math" block, from its published RTL.

    ``ctr1 <= ctr1 + 3; ctr2 <= ctr2 + 5; result = ctr1 * ctr2`` (8-bit counters from 0, a
    16-bit product): value changes per bit per cycle over the 32 bits of ctr1, ctr2 and
    result, across the 256-cycle period both counters share.
    """
    period = 256
    toggles = 0
    ctr1 = ctr2 = 0
    for _ in range(period):
        next1, next2 = (ctr1 + 3) % 256, (ctr2 + 5) % 256
        toggles += (ctr1 ^ next1).bit_count() + (ctr2 ^ next2).bit_count()
        toggles += ((ctr1 * ctr2) ^ (next1 * next2)).bit_count()
        ctr1, ctr2 = next1, next2
    return toggles / (32 * period)


@cache
def ice40_up5k_coefficients() -> DeviceCoefficients:
    """The iCE40UP5K coefficients, each derived from the cited measurements."""
    clock_ua_per_mhz = _slope(UP5K_HFOSC_UA)
    idle_ua_per_lc = _slope(UP5K_COUNTER_12MHZ_UA) / 12.0
    math = UP5K_MATH
    math_ua_per_lc = (math["ua"] - math["base_ua"]) / (math["lcs"] - math["base_lcs"]) / math["mhz"]
    alpha = math_block_toggle_rate()
    return DeviceCoefficients(
        label="model:ice40-activity",
        supply_v=Cited(
            UP5K_STATIC.voltage_v, "V",
            "VCC core 1.2 V nominal (Lattice DS1056, iCE40 UltraPlus data sheet); the "
            "currents below were measured at 1.219 V",
        ),
        static_a=Cited(
            UP5K_BLANK_UA * 1e-6, "A", f"blank design core current 85.6 µA; {ICE40_POWER_SOURCE}"
        ),
        clock_a_per_mhz=Cited(
            clock_ua_per_mhz * 1e-6, "A/MHz",
            f"least-squares slope of the 'HFOSC (6/12/24/48 MHz) + 24 bit counter (28 LC's)' "
            f"rows ({clock_ua_per_mhz:.2f} µA/MHz, the 28-LC counter included); "
            f"{ICE40_POWER_SOURCE}",
        ),
        lc_idle_a_per_mhz=Cited(
            idle_ua_per_lc * 1e-6, "A/(LC·MHz)",
            f"least-squares slope of the 'External 12 MHz + 28·k bit counter' rows against "
            f"their logic cells (32–228 LC), whose added upper counter bits do not toggle at "
            f"12 MHz: {idle_ua_per_lc * 1e3:.2f} nA/LC/MHz (≈14 nW/LC/MHz); {ICE40_POWER_SOURCE}",
        ),
        lc_toggle_a_per_mhz=Cited(
            (math_ua_per_lc - idle_ua_per_lc) / alpha * 1e-6, "A/(LC·MHz)",
            f"'HFOSC (12 MHz) + Math (no DSP)' (208 LC, 996 µA) against the 28-LC counter "
            f"(645 µA): {math_ua_per_lc * 1e3:.1f} nA/LC/MHz (≈0.2 µW/LC/MHz) at the mean "
            f"toggle rate {alpha:.4f} of its RTL ({ICE40_POWER_RTL}), less the idle figure; "
            f"{ICE40_POWER_SOURCE}",
        ),
    )


_ECP5_NONE = (
    "none cited: Lattice TN1266 (ECP5 power) and DS1044 (ECP5 data sheet) publish no per-LUT "
    "or clock-tree coefficient; ECP5 estimates come from the Lattice Power Calculator, whose "
    "models are not published"
)
ECP5_COEFFICIENTS = DeviceCoefficients(
    label="model:ecp5-activity",
    supply_v=Cited(None, "V", _ECP5_NONE),
    static_a=Cited(None, "A", _ECP5_NONE),
    clock_a_per_mhz=Cited(None, "A/MHz", _ECP5_NONE),
    lc_idle_a_per_mhz=Cited(None, "A/(LUT·MHz)", _ECP5_NONE),
    lc_toggle_a_per_mhz=Cited(None, "A/(LUT·MHz)", _ECP5_NONE),
    logic_resource="lut",
)


def _coefficients_for(target: Target) -> DeviceCoefficients:
    if target.name == "ice40-up5k":
        return ice40_up5k_coefficients()
    if target.family == "ecp5":
        return ECP5_COEFFICIENTS
    raise UsageError(
        f"no activity power model for {target.name}: the iCE40 coefficients are measurements "
        f"of an iCE40UP5K and do not carry over to {target.part}"
        if target.family == "ice40"
        else f"no activity power model for {target.name}; its vendor tool reports power"
    )


# --------------------------------------------------------------------------- activity


@dataclass(frozen=True)
class Activity:
    """The toggle counts of one simulation (``activity.json``), checked."""

    path: str
    design_hash: str
    source: str
    clock_cycles: int
    total_toggles: int
    total_bits: int
    signals: int

    @property
    def toggle_rate(self) -> float:
        """Mean value changes per signal bit per clock cycle."""
        return self.total_toggles / (self.total_bits * self.clock_cycles)


def read_activity(path: str | Path) -> Activity:
    """``activity.json`` as ``stochflow simulate`` writes it; anything off names the field."""
    file = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{file}: cannot read activity file: {error.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise UsageError(f"{file}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})") from None

    def fail(field: str, expected: str, value: Any) -> UsageError:
        return UsageError(f"{file}: {field}: expected {expected}, got {value!r}")

    def count(data: Mapping[str, Any], key: str, where: str, minimum: int) -> int:
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise fail(f"{where}{key}", f"a whole number ≥ {minimum}", value)
        return value

    if not isinstance(data, dict):
        raise UsageError(f"{file}: expected a JSON object")
    if data.get("schema") != ACTIVITY_SCHEMA:
        raise fail("schema", repr(ACTIVITY_SCHEMA), data.get("schema"))
    design_hash = data.get("design_hash")
    if not isinstance(design_hash, str) or len(design_hash) != 64:
        raise fail("design_hash", "a sha256", design_hash)
    toggles = data.get("toggles")
    if toggles is None:
        raise UsageError(
            f"{file}: toggles: none recorded (simulated with --no-toggles?); an activity power "
            "estimate needs the toggle counts, and without them there is no estimate"
        )
    if not isinstance(toggles, dict):
        raise fail("toggles", "an object", toggles)
    source = toggles.get("source")
    if not isinstance(source, str) or not source:
        raise fail("toggles.source", "the recorder's name", source)
    cycles = count(toggles, "clock_cycles", "toggles.", 1)
    total = count(toggles, "total_toggles", "toggles.", 0)
    bits = count(toggles, "total_bits", "toggles.", 1)
    signals = toggles.get("signals")
    if not isinstance(signals, dict) or not signals:
        raise fail("toggles.signals", "an object of per-signal counts", signals)
    summed_toggles = summed_bits = 0
    for name, entry in signals.items():
        where = f"toggles.signals[{name!r}]."
        if not isinstance(entry, dict):
            raise fail(where.rstrip("."), "an object {width, toggles}", entry)
        summed_bits += count(entry, "width", where, 1)
        summed_toggles += count(entry, "toggles", where, 0)
    if (summed_toggles, summed_bits) != (total, bits):
        raise UsageError(
            f"{file}: toggles: the signals sum to {summed_toggles} toggles over {summed_bits} "
            f"bits, but total_toggles/total_bits state {total}/{bits}"
        )
    if total == 0:
        raise UsageError(
            f"{file}: toggles: no signal toggled in {cycles} cycles; a simulation that did not "
            "exercise the design gives no activity to estimate from"
        )
    return Activity(file, design_hash, source, cycles, total, bits, len(signals))


# --------------------------------------------------------------------------- estimates


@dataclass(frozen=True)
class PowerEstimate:
    """One estimate with its parts, its inputs and the model that made it."""

    model: str
    target: str
    clock_mhz: float
    toggle_rate: float
    logic_cells: int
    supply_v: float
    static_w: float
    clock_w: float
    logic_w: float
    activity: str  # the activity file's path
    coefficients: dict[str, Any] = field(default_factory=dict)

    @property
    def dynamic_w(self) -> float:
        return self.clock_w + self.logic_w

    @property
    def total_w(self) -> float:
        return self.static_w + self.dynamic_w

    def figure(self) -> PowerFigure:
        return PowerFigure(
            total_w=self.total_w, source=self.model, dynamic_w=self.dynamic_w, static_w=self.static_w
        )

    def energy_per_inference_j(self, latency_cycles: int) -> float:
        """Energy of one inference at this clock: total power × latency ÷ clock."""
        return self.total_w * latency_cycles / (self.clock_mhz * 1e6)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "target": self.target,
            "clock_mhz": self.clock_mhz,
            "toggle_rate": self.toggle_rate,
            "logic_cells": self.logic_cells,
            "supply_v": self.supply_v,
            "static_w": self.static_w,
            "clock_w": self.clock_w,
            "logic_w": self.logic_w,
            "dynamic_w": self.dynamic_w,
            "total_w": self.total_w,
            "activity": self.activity,
            "coefficients": self.coefficients,
        }


def estimate_power(
    target: str | Target,
    observation: Observation,
    activity: Activity | str | Path,
    clock_mhz: float,
) -> PowerEstimate:
    """The model's estimate for a built design (``observation``) run at ``clock_mhz``."""
    resolved = target if isinstance(target, Target) else get_target(target)
    coefficients = _coefficients_for(resolved)
    _require(coefficients, resolved)
    measured = activity if isinstance(activity, Activity) else read_activity(activity)
    if measured.design_hash != observation.design_hash:
        raise UsageError(
            f"{measured.path}: the activity is of design {measured.design_hash[:12]}, the build "
            f"of design {observation.design_hash[:12]}; simulate the design that was built"
        )
    if isinstance(clock_mhz, bool) or not math.isfinite(clock_mhz) or clock_mhz <= 0:
        raise UsageError(f"clock: expected a positive number of MHz, got {clock_mhz!r}")
    for name in coefficients.unpriced:
        figure = observation.resources.get(name)
        if figure is not None and figure.used > 0:
            raise FlowError(
                f"{coefficients.label}: the design uses {figure.used:g} {name}, for which the "
                "model has no cited coefficient; no estimate"
            )
    try:
        cells = int(observation.resource_used(coefficients.logic_resource))
    except KeyError as error:
        raise FlowError(f"{coefficients.label}: {error.args[0]}") from None
    values = {name: cited.value for name, cited in coefficients.coefficients().items()}
    alpha = measured.toggle_rate
    volts = float(values["supply_v"])  # type: ignore[arg-type]
    per_cell = values["lc_idle_a_per_mhz"] + values["lc_toggle_a_per_mhz"] * alpha  # type: ignore[operator]
    return PowerEstimate(
        model=coefficients.label,
        target=resolved.name,
        clock_mhz=float(clock_mhz),
        toggle_rate=alpha,
        logic_cells=cells,
        supply_v=volts,
        static_w=volts * values["static_a"],  # type: ignore[operator]
        clock_w=volts * clock_mhz * values["clock_a_per_mhz"],  # type: ignore[operator]
        logic_w=volts * clock_mhz * cells * per_cell,
        activity=measured.path,
        coefficients=coefficients.to_json()["coefficients"],
    )


def _require(coefficients: DeviceCoefficients, target: Target) -> None:
    missing = coefficients.missing()
    if missing:
        source = coefficients.coefficients()[missing[0]].source
        raise FlowError(
            f"{coefficients.label} cannot estimate {target.name}: no cited value for "
            f"{', '.join(missing)} ({source})"
        )


class ActivityPowerModel:
    """The :data:`stochflow.flow.synth.PowerModel` hook: a build's power from its activity."""

    def __init__(self, target: str | Target) -> None:
        self.target = target if isinstance(target, Target) else get_target(target)
        self.coefficients = _coefficients_for(self.target)
        self.name = self.coefficients.label

    @property
    def cache_token(self) -> str:
        """Names the model and its coefficient values, so new coefficients are a new build key."""
        text = canonical_json(self.coefficients.to_json())
        return f"{self.name}@{hashlib.sha256(text.encode()).hexdigest()[:16]}"

    def check(self) -> None:
        """Refuse before building when the model has no cited coefficients for this target."""
        _require(self.coefficients, self.target)

    def estimate(self, request: Any) -> PowerEstimate:
        """``request`` is a :class:`stochflow.flow.synth.PowerRequest`."""
        return estimate_power(
            request.target, request.observation, request.activity_path, request.clock_mhz
        )

    def __call__(self, request: Any) -> PowerFigure:
        return self.estimate(request).figure()


def model_for(target: str | Target) -> ActivityPowerModel:
    """The activity model of a target (a usage error for a target that has none at all)."""
    return ActivityPowerModel(target)
