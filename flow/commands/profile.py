"""``stochflow profile NET.toml``: one network on this CPU, in RTL simulation, on FPGAs and chips.

Prints one row per platform with latency, throughput and energy per inference, each
row saying whether its figures are measured, modelled or vendor-stated and which
observation or measurement they come from. A design that does not fit its device is
marked and never ranked.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError

# Kept in step with stochflow.flow.profile.DEFAULT_PLATFORMS (not imported: the CLI starts light).
DEFAULT_PLATFORMS: tuple[str, ...] = ("cpu", "verilator", "ice40-up5k", "ecp5-25k", "loihi", "7nm")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="compare a network across CPU, RTL simulation, FPGA targets and chips"
    )
    parser.add_argument("network", type=Path, help="network spec (TOML)")
    parser.add_argument(
        "--platforms",
        default=",".join(DEFAULT_PLATFORMS),
        help=f"comma-separated (default {','.join(DEFAULT_PLATFORMS)})",
    )
    parser.add_argument("--vectors", type=int, default=64, help="inputs to run (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs (default 0)")
    parser.add_argument("--bitstream-length", type=int, help="profile at this bitstream length")
    parser.add_argument("--choice", type=Path,
                        help="per-layer choice (JSON) from `stochflow optimise` or a loop design")
    parser.add_argument("--store", type=Path, help="evidence store (default build/evidence.sqlite)")
    parser.add_argument(
        "--cpu-power-w",
        type=float,
        help="CPU power to assume where RAPL is not readable (stated as an assumption)",
    )
    parser.add_argument("--rank-by", choices=("energy", "latency"), default="energy")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..profile import compare, format_table, run_inputs

    platforms = [p.strip() for p in args.platforms.split(",") if p.strip()]
    if not platforms:
        raise UsageError("--platforms: expected at least one platform")
    if args.cpu_power_w is not None and not args.cpu_power_w > 0:
        raise UsageError(f"--cpu-power-w: expected a power > 0 W, got {args.cpu_power_w}")
    inputs = run_inputs(args.network, args.vectors, args.seed, args.choice)
    rows, setup = compare(
        inputs.network,
        platforms,
        args.bitstream_length,
        inputs=inputs.x,
        store_path=args.store,
        cpu_power_w=args.cpu_power_w,
        rank_by=args.rank_by,
        seed=args.seed,
    )
    if args.json:
        payload = {
            "schema": "stochflow.profile/1",
            "network": setup.network.config.name,
            "design_hash": setup.network.design_hash,
            "inputs": inputs.origin,
            "rank_by": args.rank_by,
            "rows": [row.to_dict() for row in rows],
        }
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(
        f"{setup.network.config.name} (design {setup.network.design_hash[:12]}), "
        f"inputs: {inputs.origin}"
    )
    for note in setup.notes:
        print(f"note: {note}")
    print(format_table(rows))
    return 0
