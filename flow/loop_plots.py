"""The loop's plots (matplotlib, Agg), returned as PNG bytes for the report to embed.

- ``predicted-vs-measured``: per round, the chosen design's predicted LUTs, power and
  latency (median and interval) against what its build measured, with the budget;
- ``budget``: every measured design in LUTs × power, inside or outside the budget box;
- ``pareto``: accuracy against LUTs of every measured design, the Pareto front
  (fewest LUTs for the accuracy) and the LUT budget;
- ``surrogate-error``: the surrogate's LUT error per round.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["pareto_front", "render_plots"]


def pareto_front(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(luts, accuracy)`` points no other point beats on both (fewer LUTs, higher accuracy)."""
    front: list[tuple[float, float]] = []
    best = -1.0
    for luts, accuracy in sorted(points, key=lambda p: (p[0], -p[1])):
        if accuracy > best:
            front.append((luts, accuracy))
            best = accuracy
    return front


def _legend(axis: Any) -> None:
    """The legend beside the axes, where it cannot hide a point."""
    if axis.get_legend_handles_labels()[0]:
        axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def _png(figure: Any) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def _predicted_vs_measured(report: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    rounds = [r for r in report["rounds"] if r.get("design_hash")]
    keys = [("luts", "LUTs"), ("power_mw", "power (mW)"), ("latency_cycles", "latency (cycles)")]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for axis, (key, label) in zip(axes, keys, strict=True):
        xs, values, lows, highs, mx, my = [], [], [], [], [], []
        for entry in rounds:
            figure_ = (entry.get("predicted") or {}).get(key)
            if figure_:
                xs.append(entry["round"])
                values.append(figure_["value"])
                lows.append(figure_["value"] - figure_["interval"][0])
                highs.append(figure_["interval"][1] - figure_["value"])
            measured = (entry.get("measured") or {}).get(key)
            if measured is None and key == "luts":
                measured = entry.get("measured_luts")
            if measured is not None:
                mx.append(entry["round"])
                my.append(measured)
        if xs:
            axis.errorbar(xs, values, yerr=[lows, highs], fmt="o", capsize=4,
                          label="predicted (interval)", color="tab:blue")
        if mx:
            axis.plot(mx, my, "s", color="tab:orange", label="measured")
        limit = report["budget"].get(key)
        if limit is not None:
            axis.axhline(limit, color="tab:red", linestyle="--", label="budget")
        axis.set_xlabel("round")
        axis.set_ylabel(label)
        axis.set_xticks(sorted({e["round"] for e in rounds}) or [1])
        _legend(axis)
    figure.suptitle("chosen design per round: predicted vs measured")
    return _png(figure)


def _measured_points(report: dict[str, Any]) -> list[dict[str, Any]]:
    points = []
    for design in report["designs"]:
        measured = design.get("measured") or {}
        luts = measured.get("luts") or design.get("measured_luts")
        if luts is None:
            continue
        points.append({"hash": design["design_hash"], "luts": luts,
                       "power": measured.get("power_mw"), "accuracy": design.get("accuracy"),
                       "within": design.get("within_budget"), "status": design.get("status")})
    return points


def _budget(report: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    final = report["final"].get("design_hash")
    budget = report["budget"]
    for point in _measured_points(report):
        power = point["power"] if point["power"] is not None else 0.0
        marker = "x" if point["power"] is None else "o"
        colour = "tab:green" if point["within"] else "tab:red"
        axis.plot(point["luts"], power, marker, color=colour, markersize=8)
        if point["hash"] == final:
            axis.plot(point["luts"], power, "*", color="gold", markersize=18, markeredgecolor="k",
                      label="final design")
    if "luts" in budget:
        axis.axvline(budget["luts"], color="tab:red", linestyle="--", label="LUT budget")
    if "power_mw" in budget:
        axis.axhline(budget["power_mw"], color="tab:purple", linestyle="--", label="power budget")
    axis.plot([], [], "o", color="tab:green", label="within budget")
    axis.plot([], [], "o", color="tab:red", label="outside budget")
    axis.plot([], [], "x", color="tab:red", label="no power figure (drawn at 0)")
    axis.set_xlabel("LUTs (measured)")
    axis.set_ylabel("power (mW, measured)")
    axis.set_title("explored designs against the budget")
    _legend(axis)
    return _png(figure)


def _pareto(report: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6.5, 4.5))
    points = [p for p in _measured_points(report) if p["accuracy"] is not None]
    final = report["final"].get("design_hash")
    for point in points:
        colour = "tab:green" if point["within"] else "tab:red"
        axis.plot(point["luts"], 100 * point["accuracy"], "o", color=colour, markersize=7)
        if point["hash"] == final:
            axis.plot(point["luts"], 100 * point["accuracy"], "*", color="gold", markersize=18,
                      markeredgecolor="k", label="final design")
    front = pareto_front([(p["luts"], p["accuracy"]) for p in points])
    if front:
        axis.step([x for x, _ in front], [100 * y for _, y in front], where="post",
                  color="tab:blue", label="Pareto front")
    if "luts" in report["budget"]:
        axis.axvline(report["budget"]["luts"], color="tab:red", linestyle="--", label="LUT budget")
    float_accuracy = report["final"].get("float_accuracy")
    if float_accuracy is not None:
        axis.axhline(100 * float_accuracy, color="grey", linestyle=":", label="float network")
    axis.set_xlabel("LUTs (measured)")
    axis.set_ylabel("accuracy on the held-out split (%)")
    axis.set_title("accuracy vs LUTs")
    _legend(axis)
    return _png(figure)


def _surrogate_error(report: dict[str, Any]) -> bytes:
    import matplotlib.pyplot as plt

    surrogate = report["surrogate"]
    figure, axis = plt.subplots(figsize=(6.5, 3.5))
    rounds = list(range(1, len(surrogate["lut_error_per_round"]) + 1))
    for values, label, style in ((surrogate["lut_error_per_round"], "chosen design", "o-"),
                                 (surrogate["lut_cv_mape_per_round"], "leave-one-out MAPE", "s--")):
        xs = [r for r, v in zip(rounds, values, strict=True) if v is not None]
        ys = [100 * v for v in values if v is not None]
        if xs:
            axis.plot(xs, ys, style, label=label)
    axis.set_xlabel("round")
    axis.set_ylabel("LUT prediction error (%)")
    axis.set_xticks(rounds or [1])
    axis.set_title("surrogate LUT error per round")
    _legend(axis)
    return _png(figure)


def render_plots(report: dict[str, Any]) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by name."""
    import matplotlib

    matplotlib.use("Agg")
    return {
        "predicted-vs-measured": _predicted_vs_measured(report),
        "budget": _budget(report),
        "pareto": _pareto(report),
        "surrogate-error": _surrogate_error(report),
    }
