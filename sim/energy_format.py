"""Plain-text rendering of an :class:`~stochflow.sim.energy.EnergyReport`.

Kept apart from the accounting so the numbers and their presentation change
independently; the CLI prints exactly this text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cost_models import COMPONENT_TITLES, COMPONENTS

if TYPE_CHECKING:
    from .energy import ComponentEnergy, EnergyReport

SHORT_TITLES: dict[str, str] = {
    "synaptic": "synaptic",
    "membrane": "membrane",
    "spike": "spike",
    "memory_read": "mem read",
    "memory_write": "mem write",
    "routing": "routing",
    "dynamic": "dynamic",
}


def format_pj(value: float | None) -> str:
    if value is None:
        return "—"
    if abs(value) >= 1e6 or (0 < abs(value) < 0.01):
        return f"{value:.4g}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.1f}"


def format_energy(pj: float) -> str:
    """A total in the unit that reads best, always with pJ beside it."""
    for unit, scale in (("mJ", 1e9), ("µJ", 1e6), ("nJ", 1e3)):
        if abs(pj) >= scale:
            return f"{pj / scale:,.3f} {unit} ({pj:,.1f} pJ)"
    return f"{pj:,.3f} pJ"


def _cell(component: ComponentEnergy | None) -> str:
    if component is None:
        return "—"
    if component.included_in is not None:
        return "incl."
    return format_pj(component.pj)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[str]], left: int) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(row: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [line(header), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def format_summary(report: EnergyReport) -> str:
    model = report.model
    lines = [
        f"Energy accounting — {report.hardware}: {model.title}",
        f"  estimator  {report.estimator}",
        f"  regime     {model.regime}",
        f"  scope      {report.scope}",
        f"  counts     {report.counts_label}, {report.inferences} inference"
        f"{'s' if report.inferences != 1 else ''}",
        f"  energy     {report.energy_label}",
    ]
    first = report.layers[0]
    sparsity = (
        f"{first.name}: {_percent(first.counts.input_sparsity)} of input slots without a spike"
    )
    if len(report.layers) > 1 and report.overall_input_sparsity is not None:
        sparsity += f"; all layers: {_percent(report.overall_input_sparsity)}"
    lines += [f"  sparsity   {sparsity}", ""]

    shown = [
        c for c in (*COMPONENTS, "dynamic") if any(c in layer.components for layer in report.layers)
    ]
    header = ["layer", "n_in×n_out", "L", "in spikes", "SynOps", "spikes", "mem upd"]
    header += [SHORT_TITLES[c] for c in shown] + ["total pJ", "share"]
    rows = []
    for layer in report.layers:
        counts = layer.counts
        row = [
            layer.name,
            f"{counts.n_in}×{counts.n_out}",
            str(counts.timesteps),
            "—" if counts.input_spikes is None else f"{counts.input_spikes:,}",
            "—" if counts.synops is None else f"{counts.synops:,}",
            f"{counts.spikes:,}",
            f"{counts.neuron_steps:,}",
        ]
        row += [_cell(layer.components.get(c)) for c in shown]
        share = report.layer_share(layer.name)
        row += [format_pj(layer.total_pj), _percent(share)]
        rows.append(row)
    lines += _table(header, rows, left=2)

    for component in report.network_components.values():
        title = COMPONENT_TITLES[component.component]
        if component.pj is not None:
            lines.append(f"network {title}: {format_pj(component.pj)} pJ = {component.note}")
        elif component.included_in is not None:
            lines.append(f"network {title}: included in {COMPONENT_TITLES[component.included_in]}")
        else:
            lines.append(f"network {title}: not priced — {component.note}")

    partial = "" if report.complete else "  [partial: components below are not priced]"
    lines += [
        "",
        f"Total            {format_energy(report.total_pj)} over the run{partial}",
        f"Per inference    {format_energy(report.per_inference_pj)}",
    ]
    dominant = report.dominant_layer
    uncounted = [layer.name for layer in report.layers if layer.uncounted]
    if dominant is None and uncounted:
        lines.append(f"Dominant layer   — (not all events of {', '.join(uncounted)} were counted)")
    elif dominant is None:
        lines.append("Dominant layer   — (no layer is priced on this platform)")
    else:
        lines.append(
            f"Dominant layer   {dominant} ({_percent(report.layer_share(dominant))} of the total)"
        )
    per_spike = report.energy_per_spike_pj
    per_synop = report.energy_per_synop_pj
    lines.append(
        f"Per output spike {format_pj(per_spike)} pJ   per SynOp {format_pj(per_synop)} pJ"
    )
    if report.missing:
        lines += ["", "Not priced (no published figure; absent, not zero):"]
        lines += [f"  - {item}" for item in report.missing]
    included = sorted(
        {
            (name, entry.included_in)
            for name, entry in model.entries.items()
            if entry.included_in is not None
        }
    )
    if included:
        lines += ["", "Covered by another figure:"]
        lines += [
            f"  - {COMPONENT_TITLES[name]} → {COMPONENT_TITLES[into]}" for name, into in included
        ]
    notes = [*report.notes, *model.notes]
    if notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in notes]
    citations = model.citations()
    if citations:
        lines += ["", "Sources:"]
        for index, citation in enumerate(citations, 1):
            doi = f", doi:{citation.doi}" if citation.doi else ""
            lines.append(f"  [{index}] {citation.reference}{doi}; {citation.locator}")
    return "\n".join(lines)
