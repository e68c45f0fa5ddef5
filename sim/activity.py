"""``activity.json``: what one RTL simulation measured (format in ``docs/files.md``).

Spike counts are the RTL's own (sampled from ``spikes_l<k>``). A layer's input spikes
are the RTL's too when they are the previous layer's spikes (``stream``); an encoding
layer's input bits live inside the design, so their total comes from the golden model
on the same vectors, and the entry says so (``sources``). Toggles are Verilator's
per-bit toggle coverage summed per signal, over every clock cycle the model ran.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from stochflow.hdl.network import Network

from .coverage import COVERAGE_SOURCE, ToggleCoverage
from .design import NETWORK_TOP
from .job import write_atomic
from .runner import SimulationResult

__all__ = ["ACTIVITY_SCHEMA", "activity_document", "write_activity"]

ACTIVITY_SCHEMA = "stochflow.activity/1"
SOURCE_RTL = "sim:verilator"
SOURCE_GOLDEN = "sim:golden"


def _layers(network: Network, result: SimulationResult) -> list[dict[str, Any]]:
    regenerate = network.config.architecture == "regenerate"
    entries = []
    for k, layer in enumerate(network.layers):
        spike_counts = [int(n) for n in result.spike_counts[k]]
        if k > 0 and not regenerate:
            input_total = sum(int(n) for n in result.spike_counts[k - 1])
            input_source = SOURCE_RTL
        else:
            if result.expected is None:
                raise ValueError("an encoding layer's input spikes need the golden result")
            input_total = result.expected.input_spikes_total(k)
            input_source = SOURCE_GOLDEN
        entries.append({
            "name": layer.name,
            "n_in": layer.n_in,
            "n_out": layer.n_out,
            "bitstream_length": layer.bitstream_length,
            "spike_counts": spike_counts,
            "spikes_total": sum(spike_counts),
            "input_spikes_total": input_total,
            "synops": input_total * layer.n_out,
            "sources": {"spikes": SOURCE_RTL, "input_spikes": input_source,
                        "synops": input_source},
        })
    return entries


def _toggles(network: Network, coverage: ToggleCoverage, clock_cycles: int) -> dict[str, Any]:
    signals = {
        path: {"width": signal.width, "toggles": signal.toggles, "rises": signal.rises}
        for path, signal in sorted(coverage.signals.items())
    }
    layers = []
    for k, layer in enumerate(network.layers):
        scope = f"{NETWORK_TOP}.layer{k}"
        part = coverage.under(scope)
        if part.signals:
            layers.append({"name": layer.name, "scope": scope,
                           "toggles": part.total_toggles, "bits": part.total_bits})
    return {
        "source": COVERAGE_SOURCE,
        "scope": NETWORK_TOP,
        "clock_cycles": clock_cycles,
        "total_toggles": coverage.total_toggles,
        "total_bits": coverage.total_bits,
        "layers": layers,
        "signals": signals,
    }


def activity_document(
    network: Network,
    result: SimulationResult,
    *,
    toggles: ToggleCoverage | None = None,
    inputs: str | None = None,
    saif: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The ``activity.json`` content of one simulation of ``network``.

    ``toggles`` is the run's coverage already rooted at ``sc_network``; without it the
    document's ``toggles`` is null (not recorded, not zero).
    """
    if result.design_hash != network.design_hash:
        raise ValueError("the simulation result is not of this network")
    latencies = sorted(set(result.latencies))
    from .toolchain import toolchain

    return {
        "schema": ACTIVITY_SCHEMA,
        "design": network.config.name,
        "design_hash": network.design_hash,
        "simulator": {**result.simulator, "bench": f"cocotb {toolchain().cocotb_version}"},
        "inputs": inputs,
        "vectors": result.vectors,
        "vectors_matched": result.vectors_matched,
        "bit_exact": result.bit_exact,
        "first_difference": None if result.first_difference is None
        else result.first_difference.to_dict(),
        "cycles": result.cycles,
        "cycles_per_inference": latencies[0] if len(latencies) == 1 else None,
        "layers": _layers(network, result),
        "toggles": None if toggles is None else _toggles(network, toggles, result.clock_cycles),
        "saif": saif,
    }


def write_activity(path: str | os.PathLike[str], document: dict[str, Any]) -> Path:
    """Write ``activity.json`` atomically."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, json.dumps(document, indent=1) + "\n")
    return target
