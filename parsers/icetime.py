"""icetime: the critical path delay and the Fmax it implies (iCE40 topological timing).

The report is checked against itself: each cumulative time is the previous one plus the
cell delays between them, the total equals the last cumulative time, the Fmax is
1000 / delay, and the logic level count matches the path. A changed digit anywhere on
the path is therefore an error, not a different number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lark import Token, Transformer

from .lark_support import ensure_final_newline, error_at, grammar, parse_tree, transform
from .report import Report, ReportError, Timing

KIND = "icetime"
_TIME = re.compile(r"^ *(?P<t>\d+\.\d{3}) ns ")
_CELL = re.compile(r": (?P<d>-?\d+\.\d{3}) ns\s*$")
_LEVELS = re.compile(r"(?P<n>\d+)")
_TOTAL = re.compile(r"Total path delay: (?P<ns>\d+\.\d{2}) ns \((?P<mhz>\d+\.\d{2}) MHz\)")
_CHECK = re.compile(
    r"^// Checking (?P<ns>\d+\.\d{2}) ns \((?P<mhz>\d+\.\d{2}) MHz\) clock constraint: (?P<verdict>PASSED|FAILED)\.\s*$"
)
_ROUND_3 = 0.0005 + 1e-9  # one "%.3f" rounding
_ROUND_2 = 0.005 + 1e-9  # one "%.2f" rounding


@dataclass(frozen=True)
class PathReport:
    title: str
    line: int
    delay_ns: float
    fmax_mhz: float


def looks_like(text: str) -> bool:
    return "icetime topological timing analysis report" in text[:2000]


class _ToPaths(Transformer):  # type: ignore[type-arg]
    def __init__(self, file: str | None) -> None:
        super().__init__()
        self.file = file

    def start(self, children: list[object]) -> tuple[list[PathReport], list[Token]]:
        paths = [child for child in children if isinstance(child, PathReport)]
        comments = [c for c in children if isinstance(c, Token) and c.type == "COMMENT"]
        return paths, comments

    def resolvable(self, children: list[Token]) -> None:
        return None

    def path_report(self, children: list[object]) -> PathReport:
        head = children[0]
        assert isinstance(head, Token)
        tokens = [c for c in children if isinstance(c, Token)]
        times: list[tuple[float, Token]] = []
        pending = 0.0
        terms = 0
        setup = False
        for token in tokens:
            if token.type == "TIME_LINE":
                match = _TIME.match(str(token))
                assert match is not None
                value = float(match["t"])
                if times and abs(times[-1][0] + pending - value) > _ROUND_3 * (terms + 1):
                    raise error_at(
                        token,
                        f"cumulative {value:.3f} ns is not {times[-1][0]:.3f} ns plus the "
                        f"{pending:.3f} ns of the cells before it",
                        self.file,
                    )
                times.append((value, token))
                pending, terms = 0.0, 0
            elif token.type == "CELL_LINE":
                match = _CELL.search(str(token))
                assert match is not None
                pending += float(match["d"])
                terms += 1
                setup = setup or "[setup]" in str(token)
        if not times:
            raise error_at(head, "path report without times", self.file)
        levels_token = next(t for t in tokens if t.type == "LEVELS")
        total_token = next(t for t in tokens if t.type == "TOTAL")
        levels = int(_LEVELS.findall(str(levels_token))[-1])
        expected_levels = len(times) - (2 if setup else 1)
        if levels != expected_levels:
            raise error_at(
                levels_token,
                f"{levels} logic levels for a path of {len(times)} nets",
                self.file,
                expected=str(expected_levels),
            )
        total = _TOTAL.search(str(total_token))
        assert total is not None
        delay, fmax = float(total["ns"]), float(total["mhz"])
        last = times[-1][0]
        if abs(delay - last) > _ROUND_2:
            raise error_at(
                total_token, f"total {delay} ns differs from the path's {last:.3f} ns", self.file
            )
        low, high = 1000.0 / (last + _ROUND_3), 1000.0 / max(last - _ROUND_3, 1e-9)
        if not low - _ROUND_2 <= fmax <= high + _ROUND_2:
            raise error_at(
                total_token,
                f"{fmax} MHz is not 1000 / {last:.3f} ns = {1000.0 / last:.2f} MHz",
                self.file,
            )
        title = str(head).strip().removeprefix("Report for ").removesuffix(":")
        return PathReport(title, head.line, delay, fmax)


def parse(text: str, file: str | None = None) -> Report:
    tree = parse_tree(grammar("icetime"), ensure_final_newline(text), file, "icetime report")
    paths, comments = transform(_ToPaths(file), tree)
    report = Report(tool="icetime", kind=KIND, file=file)
    critical = [path for path in paths if path.title == "critical path"]
    if len(critical) > 1:
        raise ReportError(
            "two critical path reports", file=file, line=critical[1].line, expected="one"
        )
    timing = Timing()
    if critical:
        timing.critical_path_ns = critical[0].delay_ns
        timing.fmax_mhz = critical[0].fmax_mhz
    for comment in comments:
        match = _CHECK.match(str(comment))
        if match is not None:
            timing.constraints_met = match["verdict"] == "PASSED"
            if critical and timing.constraints_met != (
                critical[0].delay_ns <= float(match["ns"]) + _ROUND_2
            ):
                raise error_at(comment, "constraint verdict contradicts the path delay", file)
    report.timing = timing
    return report
