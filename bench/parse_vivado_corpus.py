"""Parse time of the Vivado report parsers over the shared corpus.

    python bench/parse_vivado_corpus.py [--corpus ../shared/corpus/reports] [--repeat 5]

Prints, per report kind, the number of files and the time to parse all of them: once
cold (first use in this process: grammar compilation and the lexer's per-state tables
included) and then warm (best of ``--repeat``). Files are read before timing starts.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from stochflow.parsers import vivado_hls_csynth, vivado_power, vivado_timing, vivado_utilization
from stochflow.parsers.common import read_report

KINDS = {
    "utilization": (vivado_utilization, ("utilization", "utilization_hier", "utilization_synth")),
    "power": (vivado_power, ("power",)),
    "timing": (vivado_timing, ("timing",)),
    "hls_csynth": (vivado_hls_csynth, ("hls_csynth",)),
}


def main() -> None:
    default = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "reports"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    texts = {
        kind: [
            (str(path), read_report(path).text)
            for folder in folders
            for path in sorted((args.corpus / "vivado" / folder).iterdir())
        ]
        for kind, (_module, folders) in KINDS.items()
    }
    print(f"{'kind':<12} {'files':>5} {'lines':>7} {'cold s':>8} {'warm s':>8}")
    totals = [0, 0, 0.0, 0.0]
    for kind, (module, _folders) in KINDS.items():
        files = texts[kind]
        start = time.perf_counter()
        for name, text in files:
            module.parse(text, name)
        cold = time.perf_counter() - start
        warm = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            for name, text in files:
                module.parse(text, name)
            warm = min(warm, time.perf_counter() - start)
        lines = sum(text.count("\n") for _name, text in files)
        print(f"{kind:<12} {len(files):>5} {lines:>7} {cold:>8.3f} {warm:>8.3f}")
        totals = [totals[0] + len(files), totals[1] + lines, totals[2] + cold, totals[3] + warm]
    print(f"{'all':<12} {totals[0]:>5} {totals[1]:>7} {totals[2]:>8.3f} {totals[3]:>8.3f}")


if __name__ == "__main__":
    main()
