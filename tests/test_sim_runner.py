"""The Verilator runner: model cache, build failures, throughput, input checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from stochflow.hdl.errors import SpecError
from stochflow.hdl.generate import generate
from stochflow.hdl.rtl_network import latency_cycles
from stochflow.hdl.spec import load_spec
from stochflow.sim.build import BuildOptions, build_key, build_model
from stochflow.sim.errors import SimulationError
from stochflow.sim.runner import DesignUnderTest, measure_throughput, simulate
from stochflow.sim.toolchain import toolchain
from stochflow.sim.vectors import random_vectors
from test_sim_helpers import sim_cache, sim_shared  # noqa: F401 — fixtures

pytestmark = pytest.mark.xdist_group("sim_runner")

TINY = Path(__file__).resolve().parents[1] / "examples" / "tiny" / "network.toml"


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-design")
    generate(load_spec(TINY).build(), folder)
    return folder


def test_throughput_counts_every_cycle(
    tiny_folder: Path, sim_cache: Path, tmp_path: Path  # noqa: F811
) -> None:
    network = load_spec(TINY).build()
    inputs = random_vectors(network, 6, seed=3).inputs_q
    measured = measure_throughput(network, inputs, work_dir=tmp_path, cache_dir=sim_cache)
    assert measured["cycles"] == 6 * latency_cycles(network)
    assert measured["latency_cycles"] == [latency_cycles(network)]
    assert measured["wall_seconds"] > 0
    assert measured["simulator"] == "verilator"
    assert measured["version"] == toolchain().verilator_version
    # The same RTL with the same options is the same model: taken from the cache.
    again = build_model([tiny_folder / "sc_network.v"], "sc_network", cache_dir=sim_cache)
    assert again.cached and again.seconds == 0.0 and again.executable.is_file()
    other = build_key([tiny_folder / "sc_network.v"], "sc_network",
                      BuildOptions(coverage=True), toolchain())
    assert other != again.key


def test_a_broken_source_fails_with_the_log(tmp_path: Path, sim_cache: Path) -> None:  # noqa: F811
    source = tmp_path / "broken.v"
    source.write_text("module sc_network(input clk);\n  wire a = ;\nendmodule\n")
    with pytest.raises(SimulationError, match="Verilator failed") as caught:
        build_model([source], "sc_network", cache_dir=sim_cache)
    assert "broken.v" in str(caught.value)
    key = build_key([source], "sc_network", BuildOptions(), toolchain())
    assert not (sim_cache / "models" / key).exists()  # nothing half-built is kept
    assert not [p for p in (sim_cache / "staging").iterdir() if p.name.startswith(key[:16])]


def test_simulate_checks_inputs_before_building(tiny_folder: Path, tmp_path: Path) -> None:
    network = load_spec(TINY).build()
    design = DesignUnderTest.from_folder(tiny_folder, network)
    limit = 1 << network.layers[0].precision
    with pytest.raises(SpecError, match="shape"):
        simulate(design, np.zeros((2, 3), dtype=np.int64), tmp_path)
    with pytest.raises(SpecError, match=f"0…{limit}"):
        simulate(design, np.full((1, 8), limit + 1, dtype=np.int64), tmp_path)
    with pytest.raises(SpecError, match="integers"):
        simulate(design, np.zeros((1, 8)), tmp_path)


def test_a_design_folder_must_match_its_network(tiny_folder: Path, tmp_path: Path) -> None:
    network = load_spec(TINY).build()
    other = load_spec(TINY).with_knobs(leak=1).build()
    with pytest.raises(SimulationError, match="design_hash"):
        DesignUnderTest.from_folder(tiny_folder, other)
    copy = tmp_path / "copy"
    copy.mkdir()
    for item in tiny_folder.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    (copy / "sc_network.v").write_text((copy / "sc_network.v").read_text() + "\n// edited\n")
    with pytest.raises(SimulationError, match=r"changed since design\.json"):
        DesignUnderTest.from_folder(copy, network)
    manifest = json.loads((tiny_folder / "design.json").read_text())
    design = DesignUnderTest.from_folder(tiny_folder, network)
    assert design.latency_cycles == manifest["latency_cycles"]
    assert [port["name"] for port in design.ports] == [p["name"] for p in manifest["ports"]]
