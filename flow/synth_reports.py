"""From the open flow's report files to canonical resources and clocks.

The reports are read by :mod:`stochflow.parsers` (Yosys ``stat -json``, nextpnr
``--report`` JSON). Tool-native names are mapped to canonical ones with the target's
:class:`~stochflow.flow.targets.ResourceMap`; every figure keeps its source
(``tool:yosys`` or ``tool:nextpnr``). Nothing is filled in: a resource no report states
(a cell type Yosys did not use) is absent.
"""

from __future__ import annotations

from pathlib import Path

from stochflow.parsers.api import parse_file
from stochflow.parsers.report import Report, Timing
from stochflow.surrogate.observation import ClockFigure, ResourceFigure, TimingFigure

from . import report_resources
from .targets import Target

NEXTPNR_SOURCE = "tool:nextpnr"


def read_stat(path: Path) -> Report:
    """Yosys ``stat -json`` output, read by the report parsers."""
    return parse_file(path, kind="stat", tool="yosys")


def read_pnr_report(path: Path) -> Report:
    """nextpnr ``--report`` JSON, read by the report parsers."""
    return parse_file(path, kind="pnr_report", tool="nextpnr")


def canonical_resources(target: Target, stat: Report, pnr: Report) -> dict[str, ResourceFigure]:
    """Canonical resources with used (and, where a tool states it, available) counts.

    The same join ``collect-synthesis`` makes (:func:`.report_resources.canonical_resources`)
    with the target's one map: the cell types the target counts from Yosys, nextpnr's
    sites for the rest, and a counted cell's capacity from the nextpnr site the target
    names for it.
    """
    return report_resources.canonical_resources(stat, [pnr], target)


def timing_figure(pnr: Report) -> TimingFigure | None:
    """Whether every constrained clock met its target, as nextpnr's report states it."""
    if pnr.timing is None or pnr.timing.constraints_met is None:
        return None
    return TimingFigure(source=NEXTPNR_SOURCE, met=pnr.timing.constraints_met)


def clock_figures(pnr: Report) -> tuple[ClockFigure, ...]:
    """Every clock nextpnr timed: achieved Fmax, the constraint, and whether it is met."""
    clocks: list[ClockFigure] = []
    timing = pnr.timing or Timing()
    for clock in timing.clocks:
        if clock.fmax_mhz is None:
            continue
        clocks.append(
            ClockFigure(
                name=clock.name,
                fmax_mhz=clock.fmax_mhz,
                source=NEXTPNR_SOURCE,
                constraint_mhz=clock.constraint_mhz,
                met=clock.met,  # as the report states it (nextpnr: PASS when achieved > target)
            )
        )
    return tuple(clocks)
