"""The loop's record: ``report.json`` (every round, every design, the final answer),
``report.md`` and a self-contained ``report.html`` with the plots embedded.

Every figure keeps its source: predictions are labelled by the model that made them
(``prior:ice40``, ``predicted:gp``), measurements by the tool or model
(``tool:yosys``, ``tool:nextpnr``, ``model:ice40-activity``, ``design:latency``),
accuracy ``sim:golden`` (the golden model, proven equal to the RTL on the simulated
vectors) and the float network's ``float:numpy``.
"""

from __future__ import annotations

import base64
import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stochflow import __version__

from .cache import atomic_write_text

if TYPE_CHECKING:
    from .loop import ClosedLoop

__all__ = ["build_report", "final_choice", "render_html", "render_markdown", "write_reports"]

REPORT_SCHEMA = "stochflow.loop/1"
REPORT_FILES = {"json": "report.json", "md": "report.md", "html": "report.html"}
LUT_ERROR_MEANING = (
    "|predicted − measured| / measured LUTs of the round's chosen design, predicted by the "
    "surrogate fitted at the start of that round (before the design's own build, if it was "
    "built in that round)"
)


def final_choice(loop: ClosedLoop, rounds: list[dict[str, Any]], stop: dict[str, Any]) -> str | None:
    """The answer: the converged design, else the best measured design within budget."""
    if stop["reason"] == "converged" and rounds:
        return rounds[-1]["design_hash"]
    best: tuple[float, float, str] | None = None
    for design_hash, record in loop.records.items():
        verdict = record.verdict(loop.settings.budget)
        if verdict is None or not verdict.within:
            continue
        key = (loop.objectives.get(design_hash, math.inf), -(record.accuracy or 0.0), design_hash)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def _final(loop: ClosedLoop, rounds: list[dict[str, Any]], stop: dict[str, Any]) -> dict[str, Any]:
    from .loop import compact_choice
    from .loop_state import config_from_design_json

    design_hash = final_choice(loop, rounds, stop)
    record = None if design_hash is None else loop.records.get(design_hash)
    base: dict[str, Any] = {
        "budget": loop.settings.budget.to_json(),
        "stop_reason": stop["reason"],
        "message": stop["message"],
        "converged": stop["reason"] == "converged",
        "float_accuracy": loop._float_accuracy,
        "float_accuracy_source": None if loop._float_accuracy is None else "float:numpy",
    }
    if record is None:
        base.update({"design": None, "design_hash": None, "choice": None, "measured": None,
                     "within_budget": False, "violations": [], "bit_exact": None,
                     "accuracy": None, "accuracy_source": None})
        return base
    verdict = record.verdict(loop.settings.budget)
    measured = record.measured
    config = config_from_design_json(record.design_json)
    sim = record.sim
    base.update({
        "design": str(record.design_json),
        "design_hash": record.design_hash,
        "choice": compact_choice(config),
        "measured": measured,
        "within_budget": bool(verdict is not None and verdict.within),
        "violations": [] if verdict is None else list(verdict.violations),
        "budget_use": {} if verdict is None else verdict.use,
        "bit_exact": record.bit_exact,
        "vectors": sim.get("vectors"),
        "vectors_matched": sim.get("vectors_matched"),
        "accuracy": record.accuracy,
        "accuracy_source": None if record.accuracy is None else "sim:golden",
        "accuracy_samples": sim.get("accuracy_samples"),
        "activity": sim.get("activity_path"),
        "build_dir": record.build.get("out_dir"),
    })
    return base


def _designs(loop: ClosedLoop) -> list[dict[str, Any]]:
    from .loop import compact_choice
    from .loop_state import config_from_design_json

    out = []
    for design_hash, record in sorted(loop.records.items()):
        predicted = loop.predictions.get(design_hash)
        entry = {"design_hash": design_hash, "design": str(record.design_json),
                 "choice": compact_choice(config_from_design_json(record.design_json)),
                 "objective": loop.objectives.get(design_hash), "predicted": predicted}
        entry.update(loop.measurement_entry(record, predicted))
        out.append(entry)
    return out


def build_report(loop: ClosedLoop, rounds: list[dict[str, Any]], stop: dict[str, Any],
                 seconds: float) -> dict[str, Any]:
    settings = loop.settings
    return {
        "schema": REPORT_SCHEMA,
        "stochflow": __version__,
        "created_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "network": loop.spec.name,
        "spec": str(settings.spec_path),
        "target": loop.target.name,
        "clock_mhz": settings.clock_mhz,
        "budget": settings.budget.to_json(),
        "confidence": settings.confidence,
        "vectors": settings.vectors,
        "max_builds": settings.max_builds,
        "store": str(settings.store),
        "rounds": rounds,
        "designs": _designs(loop),
        "final": _final(loop, rounds, stop),
        "surrogate": {
            "lut_error_per_round": [r.get("lut_error") for r in rounds],
            "lut_cv_mape_per_round": [r.get("lut_cv_mape") for r in rounds],
            "lut_error_meaning": LUT_ERROR_MEANING,
            "lut_cv_mape_meaning": ("leave-one-out (≥ 4 observations) MAPE of the residual model "
                                    "on every LUT measurement of the target at that round"),
        },
        "builds": sum(len(r.get("measured_designs", [])) for r in rounds),
        "tool_builds": sum(len(r.get("built", [])) for r in rounds),
        "wall_seconds": round(seconds, 3),
    }


# --------------------------------------------------------------------------- rendering


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    return f"{value:,.{digits}f}"


def _pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def round_cells(entry: dict[str, Any], budget: dict[str, float]) -> dict[str, str]:
    """One round as the text of each table column (shared by the console, md and html)."""
    predicted = entry.get("predicted") or {}
    measured = entry.get("measured") or {}

    def pair(key: str, digits: int = 0) -> str:
        figure = predicted.get(key)
        guess = "–" if not figure else _num(figure["value"], digits)
        value = measured.get(key) if measured else None
        if key == "luts" and value is None:
            value = entry.get("measured_luts")
        return f"{guess} → {_num(value, digits)}"

    use = entry.get("budget_use") or {}
    uses = " ".join(f"{_short(k)} {100 * use[k]:.0f}" for k in budget if k in use)
    verdict = entry.get("within_budget")
    status = entry.get("status", "")
    if entry.get("mode") == "infeasible":
        status = "infeasible"
    return {
        "round": str(entry["round"]),
        "choice": entry.get("choice") or "–",
        "mode": entry.get("mode", ""),
        "luts": pair("luts"),
        "power": pair("power_mw", 2),
        "latency": pair("latency_cycles"),
        "use": uses or "–",
        "lut_err": _pct(entry.get("lut_error")),
        "accuracy": _pct(entry.get("accuracy")),
        "status": status + ("" if verdict is None else (" ✓" if verdict else " ✗")),
    }


ROUND_COLUMNS = (("round", "#"), ("choice", "choice (L/source/p/fold per layer)"),
                 ("mode", "mode"), ("luts", "LUTs pred → meas"), ("power", "mW pred → meas"),
                 ("latency", "cycles pred → meas"), ("use", "budget use %"),
                 ("lut_err", "LUT error"), ("accuracy", "accuracy"), ("status", "status"))


def _short(key: str) -> str:
    return {"luts": "L", "power_mw": "P", "latency_cycles": "T"}.get(key, key)


def render_markdown(report: dict[str, Any]) -> str:
    budget = report["budget"]
    final = report["final"]
    lines = [
        f"# Closed loop: {report['network']} on {report['target']} at {report['clock_mhz']:g} MHz",
        "",
        f"Budget: {', '.join(f'{k} ≤ {v:g}' for k, v in budget.items())} "
        f"(resources on the {report['confidence']:.0%} upper bound while predicted, by "
        "measurement at the end). "
        f"{report['builds']} designs measured ({report['tool_builds']} built by the tools), "
        f"{len(report['rounds'])} rounds, {report['wall_seconds']:.0f} s.",
        "",
        f"**Stop: {final['stop_reason']}** — {final['message']}",
        "",
        "## Rounds",
        "",
        "| " + " | ".join(title for _, title in ROUND_COLUMNS) + " |",
        "|" + "---|" * len(ROUND_COLUMNS),
    ]
    for entry in report["rounds"]:
        cells = round_cells(entry, budget)
        lines.append("| " + " | ".join(cells[key].replace("|", "/") for key, _ in ROUND_COLUMNS) + " |")
    lines += ["", "Budget use: L = LUTs, P = power, T = latency, measured / limit.", ""]
    lines += ["## Final design", ""]
    if final["design"] is None:
        lines.append("No measured design meets every budget.")
    else:
        measured = final["measured"] or {}
        sources = measured.get("sources", {})
        lines += [
            f"- design: `{final['design']}` ({final['choice']})",
            f"- within budget by measurement: **{final['within_budget']}**"
            + (f" ({'; '.join(final['violations'])})" if final["violations"] else ""),
            f"- LUTs {_num(measured.get('luts'))} ({sources.get('luts')}), logic cells "
            f"{_num(measured.get('lc'))}, power {_num(measured.get('power_mw'), 3)} mW "
            f"({sources.get('power_mw')}), latency {_num(measured.get('latency_cycles'))} cycles "
            f"({sources.get('latency_cycles')}), Fmax {_num(measured.get('fmax_mhz'), 1)} MHz",
            f"- RTL bit-exact against the golden model: {final['bit_exact']} "
            f"({final.get('vectors_matched')}/{final.get('vectors')} vectors, sim:verilator)",
            f"- accuracy {_pct(final['accuracy'])} on {final.get('accuracy_samples')} held-out "
            f"samples ({final['accuracy_source']}); float network {_pct(final['float_accuracy'])}",
        ]
    lines += ["", "## Surrogate LUT error per round", "",
              "| round | LUT error | LOO MAPE |", "|---|---|---|"]
    surrogate = report["surrogate"]
    for index, (error, cv) in enumerate(zip(surrogate["lut_error_per_round"],
                                            surrogate["lut_cv_mape_per_round"], strict=True)):
        lines.append(f"| {index + 1} | {_pct(error)} | {_pct(cv)} |")
    lines += ["", f"LUT error: {surrogate['lut_error_meaning']}.", "",
              "## Designs measured", "",
              "| design | choice | LUTs | mW | cycles | accuracy | status | within |",
              "|---|---|---|---|---|---|---|---|"]
    for design in report["designs"]:
        measured = design.get("measured") or {}
        lines.append(
            f"| {design['design_hash'][:12]} | {design['choice']} | "
            f"{_num(measured.get('luts') or design.get('measured_luts'))} | "
            f"{_num(measured.get('power_mw'), 3)} | {_num(measured.get('latency_cycles'))} | "
            f"{_pct(design.get('accuracy'))} | {design['status']} | {design.get('within_budget')} |")
    return "\n".join(lines) + "\n"


def render_html(report: dict[str, Any], plots: dict[str, bytes]) -> str:
    """The markdown's content as one HTML page, the plots embedded as PNG data URIs."""
    budget = report["budget"]
    final = report["final"]
    esc = html.escape
    rows = "".join(
        "<tr>" + "".join(f"<td>{esc(round_cells(entry, budget)[key])}</td>"
                         for key, _ in ROUND_COLUMNS) + "</tr>"
        for entry in report["rounds"])
    head = "".join(f"<th>{esc(title)}</th>" for _, title in ROUND_COLUMNS)
    images = "".join(
        f'<figure><img alt="{esc(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode()}"/><figcaption>{esc(name)}</figcaption></figure>'
        for name, data in plots.items())
    summary = esc(render_markdown(report).split("## Rounds")[0].split("\n", 2)[2])
    final_text = esc(render_markdown(report).split("## Final design")[1].split("## Surrogate")[0])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"/>
<title>stochflow loop: {esc(report['network'])} on {esc(report['target'])}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 1200px; }}
table {{ border-collapse: collapse; font-size: 0.9em; }}
td, th {{ border: 1px solid #bbb; padding: 0.25em 0.5em; text-align: left; }}
th {{ background: #eee; }} pre {{ white-space: pre-wrap; }}
figure {{ display: inline-block; margin: 1em; }} img {{ max-width: 560px; }}
</style></head><body>
<h1>Closed loop: {esc(report['network'])} on {esc(report['target'])} at {report['clock_mhz']:g} MHz</h1>
<pre>{summary}</pre>
<h2>Rounds</h2><table><tr>{head}</tr>{rows}</table>
<h2>Final design</h2><pre>{final_text}</pre>
<h2>Plots</h2>{images}
<h2>report.json</h2><details><summary>final</summary><pre>{esc(json.dumps(final, indent=1))}</pre></details>
</body></html>
"""


def write_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    """``report.json`` / ``report.md`` / ``report.html`` and the plots as PNG files."""
    from .loop_plots import render_plots

    plots = render_plots(report)
    paths: dict[str, Path] = {}
    for name, data in plots.items():
        path = out / f"plot-{name}.png"
        path.write_bytes(data)
        paths[f"plot-{name}"] = path
    paths["json"] = out / REPORT_FILES["json"]
    atomic_write_text(paths["json"], json.dumps(report, indent=1, allow_nan=False, default=str) + "\n")
    paths["md"] = out / REPORT_FILES["md"]
    atomic_write_text(paths["md"], render_markdown(report))
    paths["html"] = out / REPORT_FILES["html"]
    atomic_write_text(paths["html"], render_html(report, plots))
    return paths
