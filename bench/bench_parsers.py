"""Parse the whole report corpus and print throughput (MB/s, reports/s).

Usage: python bench/bench_parsers.py [CORPUS] [--repeat N]
CORPUS defaults to ../shared/corpus/reports beside the clone (or $STOCHFLOW_CORPUS).
The first pass includes compiling every grammar ("cold"); later passes are "warm".
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

from stochflow.parsers import ReportError, available, parse_text
from stochflow.parsers.common import read_report

REPO = Path(__file__).resolve().parents[1]


def corpus_path(argument: str | None) -> Path:
    if argument:
        return Path(argument)
    override = os.environ.get("STOCHFLOW_CORPUS")
    return Path(override) if override else REPO.parent / "shared" / "corpus" / "reports"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?")
    parser.add_argument("--repeat", type=int, default=3, help="warm passes (default 3)")
    args = parser.parse_args()
    root = corpus_path(args.corpus)
    files = sorted(
        path
        for path in root.rglob("*")
        if path.is_file() and path.name not in ("MANIFEST.tsv", "FORMATS.md")
    )
    sources = [read_report(path) for path in files]
    total_bytes = sum(len(source.text.encode("utf-8")) for source in sources)
    print(
        f"corpus {root}: {len(files)} files, {total_bytes / 1e6:.2f} MB; parsers: {len(available())} kinds"
    )

    def one_pass() -> tuple[float, dict[str, list[float]], list[str]]:
        per_kind: dict[str, list[float]] = defaultdict(lambda: [0.0, 0, 0])
        failures = []
        start = time.perf_counter()
        for source in sources:
            began = time.perf_counter()
            try:
                report = parse_text(source.text, file=source.file)
                key = f"{report.tool} {report.kind}"
            except ReportError as error:
                failures.append(str(error)[:160])
                key = "(failed)"
            entry = per_kind[key]
            entry[0] += time.perf_counter() - began
            entry[1] += 1
            entry[2] += len(source.text.encode("utf-8"))
        return time.perf_counter() - start, per_kind, failures

    cold, _, failures = one_pass()
    print(f"cold pass (grammars compile): {cold:.3f} s")
    warm_times = []
    per_kind: dict[str, list[float]] = {}
    for _ in range(max(1, args.repeat)):
        elapsed, per_kind, failures = one_pass()
        warm_times.append(elapsed)
    warm = min(warm_times)
    print(
        f"warm pass (best of {len(warm_times)}): {warm:.3f} s = {total_bytes / 1e6 / warm:.2f} MB/s, "
        f"{len(files) / warm:.0f} reports/s"
    )
    print(f"{'kind':<24}{'files':>6}{'MB':>8}{'s':>8}{'MB/s':>8}")
    for key in sorted(per_kind):
        seconds, count, size = per_kind[key]
        rate = size / 1e6 / seconds if seconds else float("inf")
        print(f"{key:<24}{int(count):>6}{size / 1e6:>8.2f}{seconds:>8.3f}{rate:>8.2f}")
    for failure in failures:
        print(f"not parsed: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
