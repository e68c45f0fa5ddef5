"""Reading ``design.json`` for a build: the facts a build needs, checked before any tool runs.

Names from the file reach tool command lines and paths, so each is checked against a
strict pattern here; the RTL files must exist beside ``design.json`` and hash to the
sha256 the file states, so a build never measures RTL that the manifest does not describe.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UsageError

DESIGN_SCHEMA = "stochflow.design/1"
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
DESIGN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
RTL_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\.(v|sv)$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class RtlFile:
    name: str  # bare file name, validated; lives beside design.json
    path: Path
    sha256: str


@dataclass(frozen=True)
class DesignFile:
    """A validated design manifest and the RTL it names."""

    path: Path
    sha256: str  # of design.json's bytes
    data: dict[str, Any]
    name: str
    design_hash: str
    architecture: str
    top: str  # the module to synthesise (the board wrapper when there is one)
    sources: tuple[RtlFile, ...]  # in read order: core first, wrapper last
    layers: tuple[dict[str, Any], ...]
    latency_cycles: int
    clock_port: str | None  # the board's clock input, when the manifest names ports

    @property
    def rtl_hashes(self) -> dict[str, str]:
        return {source.name: source.sha256 for source in self.sources}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_design(path: str | Path) -> DesignFile:
    """Read and check ``design.json``; any problem is a :class:`UsageError` naming the field."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise UsageError(f"{path}: cannot read design manifest: {error.strerror}") from None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        where = f":{error.lineno}:{error.colno}" if isinstance(error, json.JSONDecodeError) else ""
        raise UsageError(f"{path}{where}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object at the top level")
    reader = _Fields(path, data)
    schema = reader.string("schema")
    if schema != DESIGN_SCHEMA:
        raise UsageError(f"{path}: schema: expected {DESIGN_SCHEMA!r}, got {schema!r}")
    name = reader.matching("name", DESIGN_NAME, "a design name of letters, digits, _ . -")
    design_hash = reader.matching("design_hash", SHA256, "a 64-digit lowercase sha256")
    architecture = reader.string("architecture")
    rtl = reader.object("rtl")
    core = _rtl_file(path, rtl, "rtl")
    top = reader.matching("top", MODULE_NAME, "a Verilog module name")
    sources = [core]
    clock_port: str | None = None
    board = data.get("board")
    if board is not None:
        if not isinstance(board, dict):
            raise UsageError(f"{path}: board: expected an object, got {type(board).__name__}")
        board_reader = _Fields(path, board, "board.")
        top = board_reader.matching("top", MODULE_NAME, "a Verilog module name")
        wrapper = _rtl_file(path, board, "board")
        if wrapper.name != core.name:
            sources.append(wrapper)
        clock_port = _clock_port(path, board.get("ports"), "board.ports")
    elif "ports" in data:
        clock_port = _clock_port(path, data.get("ports"), "ports")
    layers = reader.array("layers")
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise UsageError(f"{path}: layers[{index}]: expected an object")
    latency = data.get("latency_cycles")
    if isinstance(latency, bool) or not isinstance(latency, int) or latency < 1:
        raise UsageError(f"{path}: latency_cycles: expected an integer ≥ 1, got {latency!r}")
    return DesignFile(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        data=data,
        name=name,
        design_hash=design_hash,
        architecture=architecture,
        top=top,
        sources=tuple(sources),
        layers=tuple(dict(layer) for layer in layers),
        latency_cycles=latency,
        clock_port=clock_port,
    )


def _rtl_file(manifest: Path, entry: dict[str, Any], field: str) -> RtlFile:
    reader = _Fields(manifest, entry, f"{field}.")
    name = reader.matching("file", RTL_FILE_NAME, "a bare .v/.sv file name beside design.json")
    stated = reader.matching("sha256", SHA256, "a 64-digit lowercase sha256")
    path = manifest.parent / name
    if not path.is_file():
        raise UsageError(f"{manifest}: {field}.file: {name} does not exist beside design.json")
    actual = sha256_file(path)
    if actual != stated:
        raise UsageError(
            f"{manifest}: {field}.sha256: {name} hashes to {actual[:12]}…, the manifest says "
            f"{stated[:12]}… (the RTL changed after design.json was written; regenerate)"
        )
    return RtlFile(name=name, path=path, sha256=actual)


def _clock_port(manifest: Path, ports: Any, field: str) -> str | None:
    """The clock input: a 1-bit input port named ``clk`` (Amaranth's default domain)."""
    if ports is None:
        return None
    if not isinstance(ports, list):
        raise UsageError(f"{manifest}: {field}: expected a list of ports")
    for index, port in enumerate(ports):
        if not isinstance(port, dict) or not isinstance(port.get("name"), str):
            raise UsageError(f"{manifest}: {field}[{index}]: expected an object with a name")
        if port["name"] == "clk" and port.get("direction") == "in":
            return "clk"
    return None


class _Fields:
    """Typed access to a JSON object's fields with errors that name file and field."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path, self.data, self.prefix = path, data, prefix

    def _fail(self, key: str, expected: str, value: Any) -> UsageError:
        shown = "missing" if value is _MISSING else f"got {value!r}"
        return UsageError(f"{self.path}: {self.prefix}{key}: expected {expected}, {shown}")

    def string(self, key: str) -> str:
        value = self.data.get(key, _MISSING)
        if not isinstance(value, str) or not value:
            raise self._fail(key, "a non-empty string", value)
        return value

    def matching(self, key: str, pattern: re.Pattern[str], expected: str) -> str:
        value = self.data.get(key, _MISSING)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise self._fail(key, expected, value)
        return value

    def object(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, _MISSING)
        if not isinstance(value, dict):
            raise self._fail(key, "an object", value)
        return value

    def array(self, key: str) -> list[Any]:
        value = self.data.get(key, _MISSING)
        if not isinstance(value, list):
            raise self._fail(key, "a list", value)
        return value


_MISSING: Any = object()


def validate_clock_mhz(value: Any) -> float:
    """A clock target in MHz: finite, positive, and within what these devices can run."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(f"clock: expected a number of MHz, got {value!r}")
    mhz = float(value)
    if not math.isfinite(mhz) or not 0.0 < mhz <= 1000.0:
        raise UsageError(f"clock: expected 0 < MHz ≤ 1000, got {value!r}")
    return mhz
