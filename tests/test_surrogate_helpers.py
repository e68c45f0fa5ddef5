"""Observations built from the recorded calibration runs (real Yosys counts, stored in
``surrogate/data/prior_<family>.json``): a fixture of measured design points."""

from __future__ import annotations

import json

from stochflow.hdl.network import Network
from stochflow.hdl.rtl_network import latency_cycles
from stochflow.surrogate.calibration import GridPoint
from stochflow.surrogate.observation import Figure, Observation, ResourceFigure
from stochflow.surrogate.prior import DATA_DIR

FAMILY_TARGET = {"ice40": "ice40-up5k", "ecp5": "ecp5-25k", "xilinx7": "xc7a35t", "intel": "10cl025"}


def calibration_record(family: str) -> dict:
    return json.loads((DATA_DIR / f"prior_{family}.json").read_text())


def recorded_observations(family: str, target: str | None = None) -> list[Observation]:
    """One observation per recorded grid design: knobs from the grid, counts from Yosys."""
    record = calibration_record(family)
    target = target or FAMILY_TARGET[family]
    out = []
    for entry in record["grid"]:
        point = GridPoint(entry["name"], entry["architecture"], tuple(entry["layers"]))
        network: Network = point.network(record["grid_seed"])
        out.append(Observation(
            design_hash=network.design_hash,
            design_name=entry["name"],
            architecture=entry["architecture"],
            layers=tuple(network.layer_record(i) for i in range(len(network.layers))),
            target=target,
            device=target,
            tools={"yosys": record["tool"]["version"]},
            latency_cycles=Figure(latency_cycles(network), "design:latency"),
            resources={
                "lut": ResourceFigure(entry["measured"]["lut"], None, "tool:yosys"),
                "ff": ResourceFigure(entry["measured"]["ff"], None, "tool:yosys"),
            },
        ))
    return out
