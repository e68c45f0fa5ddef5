"""``stochflow synth``: build a generated design for a target and report what the tools measured.

Open targets (iCE40, ECP5) run Yosys → nextpnr → packer and store the observation;
vendor targets (Vivado, Quartus) get their build script, which runs when the tool is on
PATH; otherwise the command prints how to run it and how to ingest its reports.
A failed build exits 1 naming the step, the reason and the log; an unknown target or
bad input exits 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..errors import FlowError
from ..store import DEFAULT_STORE_PATH as DEFAULT_STORE
from ..store import EvidenceStore
from ..synth import DEFAULT_STEP_TIMEOUT_S, BuildOptions, build
from ..synth_result import BuildResult
from ..targets import Target, get_target


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth", help="build a design for a target (Yosys + nextpnr, or a Vivado/Quartus script)"
    )
    parser.add_argument("--design", type=Path, required=True, help="design.json from generate")
    parser.add_argument("--target", required=True, help="target name (see the list on error)")
    parser.add_argument("--clock-mhz", type=float, required=True, help="clock target in MHz")
    parser.add_argument("--out", type=Path, required=True, help="build folder (logs, reports)")
    store = parser.add_mutually_exclusive_group()
    store.add_argument(
        "--store", type=Path, default=DEFAULT_STORE,
        help=f"evidence store receiving the observation and holding the cache (default {DEFAULT_STORE})",
    )  # fmt: skip
    store.add_argument(
        "--no-store", action="store_true", help="keep no evidence; cache in the user cache folder"
    )
    parser.add_argument("--json", action="store_true", help="print the observation as JSON")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_STEP_TIMEOUT_S, metavar="S",
        help=f"per-step timeout in seconds (default {DEFAULT_STEP_TIMEOUT_S:g})",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, help="nextpnr placer seed")
    parser.add_argument("--no-abc9", action="store_true", help="synthesise without -abc9")
    parser.add_argument(
        "--activity", type=Path,
        help="open targets: activity.json from `stochflow simulate` (power and energy from the "
        "activity model, e.g. model:ice40-activity); vendor targets: SAIF (Vivado) or VCD (Quartus)",
    )  # fmt: skip
    parser.add_argument(
        "--saif-strip-path", help="Vivado: SAIF hierarchy above the top (read_saif -strip_path)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    target = get_target(args.target)
    if not target.is_open:
        return _vendor(args, target)
    power: dict[str, Any] = {}
    if args.activity is not None:
        from ..power_model import model_for, read_activity

        model = model_for(target)
        model.check()  # a target without cited coefficients is refused before building
        read_activity(args.activity)  # and so is an activity file without toggles
        power = {"activity": args.activity, "power_model": model}
    console = Console(stderr=True)
    options = BuildOptions(abc9=not args.no_abc9, seed=args.seed)
    with console.status(f"building {args.design} for {target.name}") as status:

        def progress(step: str) -> None:
            status.update(f"{target.name}: {step} …")

        if args.no_store:
            result = build(
                args.design, target, args.clock_mhz, args.out,
                step_timeout_s=args.timeout, options=options, progress=progress, **power,
            )  # fmt: skip
        else:
            result = _build_with_store(args, target, options, progress, power)
    if args.json:
        sys.stdout.write(json.dumps(result.summary_json(), indent=2, allow_nan=False) + "\n")
    else:
        _print_result(Console(), result, target)
    if not result.ok:
        failure = result.failure
        assert failure is not None
        raise FlowError(
            f"build failed at {failure.step} ({failure.kind}): {failure.reason}; "
            f"log: {failure.log_path}"
        )
    return 0


def _build_with_store(
    args: argparse.Namespace,
    target: Target,
    options: BuildOptions,
    progress: Callable[[str], None],
    power: dict[str, Any],
) -> BuildResult:
    with EvidenceStore(args.store) as store:
        return build(
            args.design, target, args.clock_mhz, args.out,
            step_timeout_s=args.timeout, store=store, options=options, progress=progress,
            **power,
        )  # fmt: skip


def _print_result(console: Console, result: BuildResult, target: Target) -> None:
    observation = result.observation
    cached = " (cached)" if result.cached else ""
    if observation is None:
        console.print(f"[red]{result.design_name} on {result.target}: build failed{cached}[/red]")
        return
    table = Table(
        title=f"{result.design_name} on {target.part} at {result.clock_mhz:g} MHz{cached}"
    )
    for column in ("resource", "used", "available", "use", "source"):
        table.add_column(
            column, justify="right" if column in ("used", "available", "use") else "left"
        )
    for name, figure in observation.resources.items():
        share = f"{100.0 * figure.used / figure.available:.1f}%" if figure.available else "-"
        available = "-" if figure.available is None else f"{figure.available:g}"
        table.add_row(name, f"{figure.used:g}", available, share, figure.source)
    console.print(table)
    for clock in observation.clocks:
        verdict = {True: "[green]met[/green]", False: "[red]not met[/red]", None: "?"}[clock.met]
        fmax = "-" if clock.fmax_mhz is None else f"{clock.fmax_mhz:.2f}"
        console.print(
            f"clock {clock.name}: Fmax {fmax} MHz, target {clock.constraint_mhz} MHz, {verdict}"
        )
    console.print(
        f"latency: {observation.latency_cycles.value} cycles ({observation.latency_cycles.source})"
    )
    power = observation.power
    if power is not None:
        parts = [f"{name} {value * 1e3:.3f} mW" for name, value in
                 (("static", power.static_w), ("dynamic", power.dynamic_w)) if value is not None]
        console.print(f"power: {power.total_w * 1e3:.3f} mW ({', '.join(parts)}; {power.source})")
    energy = observation.energy_per_inference_j
    if energy is not None:
        console.print(f"energy per inference: {energy.value * 1e9:.3f} nJ ({energy.source})")
    console.print(f"lut on {target.name}: {target.lut_meaning}")
    console.print(
        f"tools {result.tool_seconds:.2f} s, total {result.total_seconds:.2f} s; "
        f"logs in {result.out_dir}"
    )


def _vendor(args: argparse.Namespace, target: Target) -> int:
    from ..vendor import emit, run_if_available

    written = emit(
        args.design, target, args.clock_mhz, args.out,
        activity=args.activity, saif_strip_path=args.saif_strip_path,
    )  # fmt: skip
    console = Console(stderr=True)
    console.print(f"wrote {written.script}")
    with console.status(f"running {written.tool}") if _on_path(written.tool) else _nothing():
        ran = run_if_available(written, timeout_s=args.timeout)
    if args.json:
        payload = {
            "status": "ran" if ran.ran is not None else "script",
            "target": target.name,
            "script": str(ran.script),
            "run": ran.run_command,
            "reports": {role: str(path) for role, path in ran.reports.items()},
            "collect": ran.collect_command,
        }
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")
        return 0
    if ran.ran is None:
        console.print(f"{written.tool} is not on PATH; run the script with:")
        print(ran.run_command)
    else:
        console.print(f"{written.tool} finished in {ran.ran.seconds:.0f} s")
    console.print("then ingest its reports with (ACCURACY: the design's measured accuracy):")
    print(ran.collect_command)
    return 0


def _on_path(tool: str) -> bool:
    import shutil

    return shutil.which(tool) is not None


def _nothing() -> contextlib.nullcontext[None]:
    return contextlib.nullcontext()
