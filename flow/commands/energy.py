"""``stochflow energy NET.toml --hardware NAME``: picojoules per inference, and who spends them.

Runs the golden model on the network's held-out data (or seeded random inputs), counts
the events of every layer, prices them with a cited cost table (``45nm``, ``28nm``,
``7nm``, ``loihi``, ``truenorth``, ``spinnaker``) or, for an FPGA target, with its
observation's power × latency, and prints the report (``--json``: the report as JSON).
``--activity activity.json`` prices an RTL simulation's counts instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import FlowError, UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    from stochflow.sim.cost_models import cost_model_names

    parser = subparsers.add_parser(
        "energy", help="energy per inference of a network on a platform, layer by layer"
    )
    parser.add_argument("network", type=Path, help="network spec (TOML)")
    parser.add_argument(
        "--hardware",
        required=True,
        help=f"cost table ({', '.join(cost_model_names())}) or an FPGA target name",
    )
    parser.add_argument("--vectors", type=int, default=64, help="inputs to run (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of random inputs (default 0)")
    parser.add_argument("--activity", type=Path, help="price this activity.json instead")
    parser.add_argument("--store", type=Path, help="evidence store (FPGA targets)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def _check_hardware(hardware: str) -> None:
    from stochflow.sim.cost_models import cost_model_names

    from ..targets import known_targets

    if hardware not in cost_model_names() and hardware not in known_targets():
        raise UsageError(
            f"unknown hardware {hardware!r}; known: {', '.join(cost_model_names())}, "
            f"or an FPGA target: {', '.join(known_targets())}"
        )


def _cost_model(hardware: str, network: Any, store: Path | None) -> Any:
    from stochflow.sim.cost_models import cost_model_names

    if hardware in cost_model_names():
        return hardware
    from ..profile import fpga_cost_model, load_observations

    observations = [
        o for o in load_observations(store, network.design_hash) if o.target == hardware
    ]
    if not observations:
        raise FlowError(
            f"no observation of design {network.design_hash[:12]} on {hardware} in the "
            "evidence store; build it with `stochflow synth` first"
        )
    return fpga_cost_model(observations[-1])


def _read_activity(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}:{error.lineno}:{error.colno}: not valid JSON ({error.msg})"
        ) from None


def run(args: argparse.Namespace) -> int:
    from stochflow.sim.cost_models import EnergyError
    from stochflow.sim.energy import EnergyAccountant

    from ..profile import load_network, run_inputs

    _check_hardware(args.hardware)
    if args.vectors < 1:
        raise UsageError(f"--vectors: expected at least 1, got {args.vectors}")
    try:
        if args.activity is not None:
            network, _ = load_network(args.network)
            accountant = EnergyAccountant(_cost_model(args.hardware, network, args.store))
            report = accountant.account_activity(_read_activity(args.activity), network)
            origin = f"RTL activity from {args.activity}"
        else:
            inputs = run_inputs(args.network, args.vectors, args.seed)
            accountant = EnergyAccountant(_cost_model(args.hardware, inputs.network, args.store))
            report = accountant.track(inputs.network, inputs.x)
            origin = inputs.origin
    except EnergyError as error:
        raise UsageError(str(error)) from None
    if args.json:
        payload = report.to_dict()
        payload["inputs"] = origin
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print(f"inputs: {origin}")
        print(report.summary())
    return 0
