"""``stochflow simulate NET.toml --vectors N --out DIR``: the RTL, bit-exact, on Verilator.

Generates the design into ``DIR`` (as ``stochflow generate``), simulates ``N`` input
vectors on Verilator under the cocotb bench (held-out dataset samples when the spec
names a dataset, else seeded random inputs), checks every spike train, output count
and latency against the golden model, and writes ``DIR/activity.json`` (spike and
SynOp counts, per-signal toggles). ``--saif`` also writes ``DIR/activity.saif`` for
Vivado's ``read_saif``. Exit 0 only when every vector matched; 1 with the first
difference otherwise; 2 for a bad spec or arguments.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import FlowError, UsageError

ACTIVITY_FILE = "activity.json"
SAIF_FILE = "activity.saif"
WORK_FOLDER = "simulation"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "simulate",
        help="simulate the generated RTL on Verilator, prove it bit-exact, record activity",
    )
    parser.add_argument("network", type=Path, help="network spec (TOML)")
    parser.add_argument("--vectors", type=int, default=64, help="input vectors (default 64)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random inputs when the spec names no dataset (default 0)")
    parser.add_argument("--saif", action="store_true",
                        help="also write a SAIF activity trace (for Vivado read_saif)")
    parser.add_argument("--choice", type=Path,
                        help="per-layer choice (JSON) from `stochflow optimise` to apply")
    parser.add_argument("--no-toggles", action="store_true",
                        help="skip toggle coverage (faster build; activity.json toggles = null)")
    parser.add_argument("--cache", type=Path,
                        help="Verilator model cache (default $STOCHFLOW_SIM_CACHE or "
                             "~/.cache/stochflow/verilator)")
    parser.set_defaults(handler=run)


def _check_arguments(args: argparse.Namespace) -> None:
    if args.vectors < 1:
        raise UsageError(f"--vectors: expected at least 1, got {args.vectors}")
    if args.seed < 0:
        raise UsageError(f"--seed: expected 0 or more, got {args.seed}")
    if args.out.exists() and not args.out.is_dir():
        raise UsageError(f"{args.out}: exists and is not a folder")
    if not args.network.is_file():
        raise UsageError(f"{args.network}: no such network spec")


def _layer_table(document: dict[str, Any]) -> Table:
    table = Table(title=f"activity over {document['vectors']} vectors (sim:verilator)")
    for column in ("layer", "neurons", "L", "spikes", "input spikes", "SynOps", "toggles"):
        table.add_column(column, justify="left" if column == "layer" else "right")
    toggles = {entry["name"]: entry["toggles"]
               for entry in (document["toggles"] or {}).get("layers", [])}
    for layer in document["layers"]:
        source = "" if layer["sources"]["input_spikes"] == "sim:verilator" else " (golden)"
        table.add_row(
            layer["name"], str(layer["n_out"]), str(layer["bitstream_length"]),
            f"{layer['spikes_total']:,}", f"{layer['input_spikes_total']:,}{source}",
            f"{layer['synops']:,}",
            f"{toggles[layer['name']]:,}" if layer["name"] in toggles else "—",
        )
    return table


def run(args: argparse.Namespace) -> int:
    from stochflow.hdl.generate import generate
    from stochflow.hdl.spec import apply_choice, load_spec
    from stochflow.sim.activity import activity_document, write_activity
    from stochflow.sim.coverage import read_toggle_coverage
    from stochflow.sim.design import NETWORK_TOP, DesignUnderTest
    from stochflow.sim.errors import SimulationError
    from stochflow.sim.runner import simulate
    from stochflow.sim.vectors import dataset_vectors, random_vectors

    from .generate import read_choice

    _check_arguments(args)
    console = Console(stderr=True)
    spec = load_spec(args.network)
    if args.choice is not None:
        spec = apply_choice(spec, read_choice(args.choice), source=str(args.choice))
    with console.status("quantising and generating RTL"):
        network = spec.build()
        generate(network, args.out, network_file=args.network)
    vectors = (dataset_vectors(network, spec.dataset, args.vectors) if spec.dataset
               else random_vectors(network, args.vectors, args.seed))
    design = DesignUnderTest.from_folder(args.out, network)
    started = time.perf_counter()
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            task = bar.add_task("building the Verilator model", total=vectors.count)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total, description="simulating")

            result = simulate(
                design, vectors.inputs_q, args.out / WORK_FOLDER,
                coverage=not args.no_toggles, saif=args.saif, cache_dir=args.cache,
                progress=progress,
            )
        toggles = None
        if result.coverage_file is not None:
            toggles = read_toggle_coverage(result.coverage_file).rooted(
                result.coverage_scope, NETWORK_TOP)
    except SimulationError as error:
        raise FlowError(str(error)) from None
    saif = None
    if result.saif_file is not None:
        os.replace(result.saif_file, args.out / SAIF_FILE)
        saif = {"file": SAIF_FILE, "top": NETWORK_TOP, "format": "SAIF (verilator --trace-saif)"}
    document = activity_document(network, result, toggles=toggles, inputs=vectors.origin,
                                 saif=saif)
    path = write_activity(args.out / ACTIVITY_FILE, document)
    elapsed = time.perf_counter() - started
    build = "cached model" if result.build.cached else f"model built in {result.build.seconds:.1f} s"
    Console().print(_layer_table(document))
    print(f"wrote {path}" + (f" and {args.out / SAIF_FILE}" if saif else ""))
    print(f"verilator {result.simulator['version']}: {result.cycles:,} cycles in "
          f"{result.run_seconds:.2f} s ({build}; {elapsed:.1f} s in all); "
          f"latency {document['cycles_per_inference']} cycles per inference")
    if vectors.labels is not None:
        correct = int((result.observed_counts.argmax(axis=1) == vectors.labels).sum())
        print(f"RTL accuracy on these vectors: {correct}/{vectors.count} "
              f"({100 * correct / vectors.count:.1f} %)")
    print(f"bit-exact: {result.vectors_matched}/{result.vectors} vectors")
    if not result.bit_exact:
        reason = (result.first_difference.describe() if result.first_difference
                  else result.aborted or "the run did not finish every vector")
        print(f"first difference: {reason}")
        return 1
    return 0

