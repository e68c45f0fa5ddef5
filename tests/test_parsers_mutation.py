"""Mutated real reports: each mutant is rejected, or parses to exactly what the mutation implies.

A mutation (delete or duplicate a line, change a digit, flip a sign, change a unit,
truncate) touches a few lines. Every output value that differs from the original
report's must be traceable to those lines (see ``explained``); anything else is a
silently wrong number, the failure this suite exists to rule out.
"""

from __future__ import annotations

import math
import re
from functools import cache
from pathlib import Path

import pytest
from conftest import corpus_dir
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from stochflow.parsers import ReportError, parse_text
from stochflow.parsers.common import read_report
from test_parsers_helpers import (
    CORPUS_KINDS,
    NEXTPNR_FIXTURES,
    NUMBER_TOKEN,
    YOSYS_FIXTURES,
    corpus_files,
    explained,
    flatten,
)


def _files() -> list[tuple[Path, str, str]]:
    found = []
    corpus = corpus_dir()
    if corpus is not None:
        found.extend(corpus_files(corpus, CORPUS_KINDS))
    reports = (".log", ".json", ".txt")
    for path in sorted(YOSYS_FIXTURES.glob("sc_pair_*")):
        if path.suffix in reports:
            found.append((path, "yosys", "stat"))
    for path in sorted(NEXTPNR_FIXTURES.glob("sc_pair_*")):
        if path.suffix in reports:
            kind = "pnr_report" if path.suffix == ".json" else "pnr_log"
            found.append((path, "nextpnr", kind))
    return found


FILES = _files()
_STRUCTURE = re.compile(
    r"Printing statistics|^=== |Number of|cells|submodules|utilisation|Max frequency|"
    r"Program finished|errors?\s*$|Total path delay|logic levels|^ *\d+\.\d{3} ns|Summary|"
    r"^; (?:Total|Logic|Device|Fitter Status|Embedded)|Table of Contents|^ +\d+\. |"
    r"^ +[\d-]+ +\S|^Info:\s+[^:]+:\s+\d+/|ERROR|End of script|^ ?Yosys|^Type|^Slack|^TNS|"
    r"\"(?:used|available|achieved|constraint|num_\w+)\"|: \d"
)
_UNITS = {
    "mW": ("W", "uW"),
    "W": ("mW", "kW"),
    "ns": ("ps", "us"),
    "MHz": ("kHz", "GHz"),
    "%": ("%%",),
}
_UNIT = re.compile(r"(?<=[\d ])(mW|W|ns|MHz|%)(?![A-Za-z])")


@cache
def _text(path: Path) -> str:
    return read_report(path).text


@cache
def _original(path: Path, tool: str, kind: str) -> dict[tuple[str, ...], object]:
    return flatten(parse_text(_text(path), kind=kind, tool=tool).to_json())


@cache
def _candidates(path: Path) -> tuple[int, ...]:
    """Line indices worth mutating: every line of a short report, structure lines of a long one."""
    lines = _text(path).split("\n")
    if len(lines) <= 200:
        return tuple(range(len(lines)))
    chosen: set[int] = set(range(0, len(lines), 97))
    for index, line in enumerate(lines):
        if _STRUCTURE.search(line):
            chosen.update(range(max(0, index - 1), min(len(lines), index + 2)))
    return tuple(sorted(chosen))


def _number_at(line: str, position: int) -> str:
    """The printed number covering ``position`` (or starting right after it)."""
    for match in NUMBER_TOKEN.finditer(line):
        if match.start() <= position < match.end() or match.start() == position + 1:
            return match.group(0)
    return ""


Case = tuple[Path, str, str, str, str, str, tuple[str, str] | None]


@st.composite
def mutants(draw: st.DrawFn) -> Case:
    path, tool, kind = draw(st.sampled_from(FILES))
    text = _text(path)
    lines = text.split("\n")
    index = draw(st.sampled_from(_candidates(path)))
    line = lines[index]
    how = draw(st.sampled_from(["delete", "duplicate", "digit", "sign", "unit", "truncate"]))
    tokens: tuple[str, str] | None = None
    if how == "delete":
        mutated, old, new = lines[:index] + lines[index + 1 :], line, ""
    elif how == "duplicate":
        mutated, old, new = lines[: index + 1] + lines[index:], line, line + "\n" + line
    elif how == "truncate":
        # a tee'd stat file cut at a module boundary reads as a smaller design (Yosys
        # writes no end marker beyond the final blank line): not detectable, not drawn
        assume(
            not (
                kind == "stat" and "Yosys" not in text[:2000] and not text.lstrip().startswith("{")
            )
        )
        cut = draw(st.integers(0, len(line)))
        mutated = [*lines[:index], line[:cut]]
        old, new = "\n".join(lines[index:]), line[:cut]
    else:
        if how == "digit":
            positions = [i for i, char in enumerate(line) if char.isdigit()]
            assume(positions)
            at = draw(st.sampled_from(positions))
            digit = draw(st.sampled_from([d for d in "0123456789" if d != line[at]]))
            changed = line[:at] + digit + line[at + 1 :]
            tokens = (_number_at(line, at), _number_at(changed, at))
        elif how == "sign":
            numbers = [m.start() for m in re.finditer(r"(?<![\w.])\d+(?:\.\d+)?", line)]
            assume(numbers)
            at = draw(st.sampled_from(numbers))
            if at > 0 and line[at - 1] == "-":
                changed = line[: at - 1] + line[at:]
                tokens = (_number_at(line, at - 1), _number_at(changed, at - 1))
            else:
                changed = line[:at] + "-" + line[at:]
                tokens = (_number_at(line, at), _number_at(changed, at))
        else:
            units = list(_UNIT.finditer(line))
            assume(units)
            match = draw(st.sampled_from(units))
            replacement = draw(st.sampled_from(_UNITS[match.group(1)]))
            changed = line[: match.start()] + replacement + line[match.end() :]
            number = NUMBER_TOKEN.findall(line[: match.start()])
            tokens = (number[-1], number[-1]) if number else ("", "")
        mutated = [*lines[:index], changed, *lines[index + 1 :]]
        old, new = line, changed
    return path, tool, kind, "\n".join(mutated), old, new, tokens


def _same(before: object, after: object) -> bool:
    if isinstance(before, float) and isinstance(after, float):
        return math.isclose(before, after, rel_tol=1e-12, abs_tol=0.0)
    return before == after and type(before) is type(after)


def check_mutant(
    path: Path,
    tool: str,
    kind: str,
    mutant: str,
    old: str,
    new: str,
    tokens: tuple[str, str] | None,
) -> None:
    before = _original(path, tool, kind)
    try:
        report = parse_text(mutant, kind=kind, tool=tool)
    except ReportError:
        return  # rejected, with a location: the safe outcome
    after = flatten(report.to_json())
    status = ("status",)
    if (after.get(status) == "failed") != (before.get(status) == "failed"):
        # a failed run states no numbers: a mutation that makes (or unmakes) a failure
        # drops (or restores) them all; the failure itself must be on the mutated lines
        assert explained(status, before.get(status), after.get(status), old, new), (
            path.name,
            old,
            new,
        )
        return
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        if _same(was, now):
            continue
        assert explained(key, was, now, old, new, mutant, tokens), (
            f"{path.name}: {'/'.join(key)} changed {was!r} -> {now!r}, "
            f"not implied by the mutation {old[:200]!r} -> {new[:200]!r}"
        )


@pytest.mark.skipif(not FILES, reason="no reports to mutate")
@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(mutants())
def test_mutant_is_rejected_or_implied(case: Case) -> None:
    check_mutant(*case)


def test_explained_refuses_a_wrong_number() -> None:
    """The oracle itself: a value nowhere on the mutated line is not implied."""
    assert explained(
        ("resources", "le", "used"),
        5766,
        5767,
        "Total logic elements : 5,766",
        "Total logic elements : 5,767",
    )
    assert explained(("power", "total_w"), 0.1481, 148.1, "x : 148.10 mW", "x : 148.10 W")
    assert explained(("cells",), 79, 80, "       77 submodules", "       78 submodules")
    assert explained(
        ("resources", "dsp", "used"), 0, None, "Embedded Multiplier 9-bit elements : 0 / 70", ""
    )
    line = "Embedded Multiplier 9-bit elements : 0 / 70 ( 0 % )"
    edit = ("70", "71")
    assert not explained(("resources", "dsp", "used"), 0, 9, line, line.replace(*edit), line, edit)
    assert explained(
        ("resources", "dsp", "available"), 70, 71, line, line.replace(*edit), line, edit
    )
    assert not explained(("cells",), 79, 81, "       77 submodules", "       78 submodules")
    assert explained(
        ("timing", "wns_ns"),
        -17.653,
        -11.75,
        "Slack : -17.653",
        "Slack : -7.653",
        "Slack : -11.750",
    )
    assert not explained(
        ("timing", "tns_ns"),
        -17.653,
        -11.75,
        "Slack : -17.653",
        "Slack : -7.653",
        "Slack : -11.750",
    )
