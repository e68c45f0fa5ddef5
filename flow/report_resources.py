"""Tool-native resource names in parsed reports → canonical resource names.

A registered target's own :class:`~stochflow.flow.targets.ResourceMap` decides first, so
``collect-synthesis`` and ``synth`` give a resource the same meaning on that target
(what ``lut`` counts differs by family). A device that is not registered uses the union
of every family's names for that tool. Rows no map names are not resources the
surrogate learns from (``LUT as Logic``, ``F7 Muxes``) and are left out, never guessed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from stochflow.parsers.report import Report, ReportError
from stochflow.surrogate.observation import CANONICAL_RESOURCES, ResourceFigure

from .targets import (
    ECP5_RESOURCES,
    ICE40_RESOURCES,
    QUARTUS_ALM_RESOURCES,
    QUARTUS_LE_RESOURCES,
    VIVADO_7SERIES_RESOURCES,
    ResourceMap,
    Target,
)

SOURCES: dict[str, str] = {
    "vivado": "vendor:vivado",
    "quartus": "vendor:quartus",
    "yosys": "tool:yosys",
    "nextpnr": "tool:nextpnr",
    "icetime": "tool:icetime",
}

# Names only UltraScale(+) utilisation reports and unregistered families use.
_VIVADO_EXTRA = {
    "CLB LUTs": "lut",
    "CLB Registers": "ff",
    "CLB": "slice",
    "CARRY8": "carry",
    "URAM": "uram",
    "BUFGCE": "gb",
}
_YOSYS_EXTRA = {
    "SB_RAM40_4K": "bram",
    "SB_SPRAM256KA": "spram",
    "SB_MAC16": "dsp",
    "SB_IO": "io",
    "SB_GB": "gb",
    "SB_PLL40*": "pll",
    "TRELLIS_FF": "ff",
    "DP16KD": "bram",
    "MULT18X18D": "dsp",
    "TRELLIS_IO": "io",
}
_NEXTPNR_EXTRA = {"ICESTORM_SPRAM": "spram", "TRELLIS_SLICE": "slice"}

DEFAULT_MAPS: dict[str, ResourceMap] = {
    "vivado": ResourceMap(sites={**VIVADO_7SERIES_RESOURCES.sites, **_VIVADO_EXTRA}),
    "quartus": ResourceMap(sites={**QUARTUS_LE_RESOURCES.sites, **QUARTUS_ALM_RESOURCES.sites}),
    "yosys": ResourceMap(cells={**ICE40_RESOURCES.cells, **ECP5_RESOURCES.cells, **_YOSYS_EXTRA}),
    "nextpnr": ResourceMap(
        sites={**ICE40_RESOURCES.sites, **ECP5_RESOURCES.sites, **_NEXTPNR_EXTRA},
        available_from=dict(ICE40_RESOURCES.available_from),
    ),
}


def resource_map(tool: str, target: Target | None) -> ResourceMap:
    """The map for ``tool``'s reports: the registered target's, else the tool's union."""
    if target is not None:
        return target.resources
    return DEFAULT_MAPS.get(tool, ResourceMap())


def _site_name(raw: str) -> str:
    """A report row name as the maps spell it: footnote ``*`` and padding dropped, any case."""
    return raw.strip().rstrip("*").strip().casefold()


def canonical_from_report(report: Report, mapping: ResourceMap) -> dict[str, ResourceFigure]:
    """Canonical figures one report states, through one map.

    A Yosys report counts cells: its cell types are summed through ``mapping.cells`` and
    nothing else. (Its parsed ``resources`` rows are the same cell types again; read as
    placed sites they would give, say, ECP5 ``ff`` from Yosys with no capacity where the
    target counts ``ff`` as nextpnr's placed ``TRELLIS_FF``.) Every other tool states
    site rows (used/available), mapped by name through ``mapping.sites``.
    """
    source = SOURCES[report.tool]
    if report.tool == "yosys":
        return _counted_cells(report, mapping, source)
    figures: dict[str, ResourceFigure] = {}
    sites = {_site_name(raw): canonical for raw, canonical in mapping.sites.items()}
    rows: dict[str, str] = {}
    for raw, count in report.resources.items():
        canonical = sites.get(_site_name(raw)) or (raw if raw in CANONICAL_RESOURCES else None)
        if canonical is None or count.used is None:
            continue
        figure = ResourceFigure(count.used, count.available, source)
        if canonical in rows and figures[canonical] != figure:
            raise ReportError(
                f"rows {rows[canonical]!r} and {raw!r} both state {canonical!r} with "
                f"different counts",
                file=report.file,
            )
        rows[canonical] = raw
        figures[canonical] = figure
    return figures


def _counted_cells(report: Report, mapping: ResourceMap, source: str) -> dict[str, ResourceFigure]:
    if report.cells_by_type is None:
        raise ReportError("the Yosys stat report states no cell counts", file=report.file)
    summed: dict[str, int] = {}
    for cell_type, number in report.cells_by_type.items():
        canonical = mapping.canonical_cell(cell_type)
        if canonical is not None:
            summed[canonical] = summed.get(canonical, 0) + number
    return {canonical: ResourceFigure(used, None, source) for canonical, used in summed.items()}


def canonical_resources(
    primary: Report, others: Sequence[Report], target: Target | None
) -> dict[str, ResourceFigure]:
    """The one join of a build's reports into canonical resources (synth and collect).

    ``primary`` (the utilisation report) states what it counts; ``others`` add what it
    does not, each through the map for its own tool on ``target``, and a counted cell's
    capacity comes from the site the target's map names for it.
    """
    mapping = resource_map(primary.tool, target)
    figures = canonical_from_report(primary, mapping)
    completing = [
        (report, canonical_from_report(report, resource_map(report.tool, target)))
        for report in others
        if report.tool in DEFAULT_MAPS
    ]
    return merge_resources(figures, completing, mapping)


def merge_resources(
    primary: Mapping[str, ResourceFigure],
    others: list[tuple[Report, Mapping[str, ResourceFigure]]],
    mapping: ResourceMap,
) -> dict[str, ResourceFigure]:
    """The utilisation report's figures, completed by what other reports state.

    A resource the utilisation report states keeps its figure; another report may add
    resources it does not state (nextpnr's ``lc`` beside Yosys's ``lut``) and, where the
    map names one, the capacity of a counted cell (``lut`` available = ``ICESTORM_LC``
    available).
    """
    merged = dict(primary)
    for report, figures in others:
        for name, figure in figures.items():
            merged.setdefault(name, figure)
        sites = {_site_name(raw): count for raw, count in report.resources.items()}
        for name, site in mapping.available_from.items():
            figure = merged.get(name)
            count = sites.get(_site_name(site))
            if figure is not None and figure.available is None and count is not None:
                merged[name] = ResourceFigure(figure.used, count.available, figure.source)
    return dict(sorted(merged.items()))
