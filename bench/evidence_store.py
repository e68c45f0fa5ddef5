"""Evidence store throughput: W writer processes × N observations, one transaction each.

    python bench/evidence_store.py [--writers 4] [--per-writer 500]

Prints wall time and commits per second for the concurrent writes, then the time to read
every observation back (strict re-check included), to export them as one payload and to
import that payload into a fresh store (one transaction).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import tempfile
import time
from pathlib import Path

from stochflow.flow.store import EvidenceStore
from stochflow.surrogate.observation import ClockFigure, Figure, Observation, ResourceFigure

LAYER = {"name": "hidden", "n_in": 64, "n_out": 16, "bitstream_length": 256, "precision": 6}


def observation(label: str) -> Observation:
    return Observation(
        design_hash=hashlib.sha256(label.encode()).hexdigest(),
        design_name="bench",
        architecture="stream",
        layers=(LAYER,),
        target="ice40-up5k",
        device="iCE40UP5K-SG48",
        tools={"yosys": "0.70", "nextpnr": None},
        latency_cycles=Figure(258, "design:latency"),
        resources={"lut": ResourceFigure(1200, 5280, "tool:yosys")},
        clocks=(ClockFigure("clk", 30.5, "tool:nextpnr", constraint_mhz=12.0, met=True),),
        created_utc="2026-11-22T10:00:00Z",
    )


def writer(path: str, worker: int, count: int, start: float) -> None:
    while time.time() < start:
        time.sleep(0.001)
    with EvidenceStore(path) as store:
        for index in range(count):
            store.add(observation(f"{worker}-{index}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--per-writer", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "evidence.sqlite"
        EvidenceStore(path).close()
        start = time.time() + 3.0  # every writer imports first, then all begin together
        context = multiprocessing.get_context("spawn")
        processes = [
            context.Process(target=writer, args=(str(path), n, args.per_writer, start))
            for n in range(args.writers)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        elapsed = time.time() - start
        if any(process.exitcode for process in processes):
            raise SystemExit("a writer failed")
        total = args.writers * args.per_writer
        print(
            f"writers {args.writers} × {args.per_writer}: {total} commits in {elapsed:.2f} s "
            f"({total / elapsed:.0f} commits/s)"
        )
        with EvidenceStore(path) as store:
            began = time.perf_counter()
            stored = store.observations()
            print(f"read back {len(stored)} observations in {time.perf_counter() - began:.2f} s")
            began = time.perf_counter()
            store.export_json(Path(folder) / "all.json")
            print(f"export {len(stored)} in {time.perf_counter() - began:.2f} s")
        with EvidenceStore(Path(folder) / "fresh.sqlite") as fresh:
            began = time.perf_counter()
            fresh.import_json(Path(folder) / "all.json")
            print(
                f"import {fresh.count()} in {time.perf_counter() - began:.2f} s (one transaction)"
            )


if __name__ == "__main__":
    main()
