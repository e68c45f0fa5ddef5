"""Strict reading and atomic writing of observation payloads (``stochflow.observations/1``).

The surrogate learns only from what this module lets through, so it refuses anything
it cannot vouch for: a missing or non-finite metric, a negative count, a boolean or a
fraction where a whole count belongs, a field it does not know, a source label that is
not ``kind:name``, and two records of one measurement (same design hash, target, tool
versions and build conditions: clock constraint, placer seed, options) that disagree.
Identical repeats collapse into one.

The same contract is published as a JSON Schema (draft 2020-12),
``observation.schema.json`` beside this module, for tools outside stochflow. The
loader checks a few things no schema can: duplicate JSON keys, non-finite numbers and
conflicting duplicate records.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from .observation import (
    CANONICAL_RESOURCES,
    FRACTIONAL_RESOURCES,
    SCHEMA_ID,
    BuildConditions,
    ClockFigure,
    Figure,
    Observation,
    PowerFigure,
    ResourceFigure,
    TimingFigure,
    canonical_json,
)

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_ID",
    "SOURCE_LABEL",
    "ObservationLoadError",
    "first_difference",
    "load_observations",
    "observation_from_json",
    "observations_from_payload",
    "payload_from_observations",
    "payload_schema",
    "utc_now",
    "write_payload",
]

SCHEMA_FILE = "observation.schema.json"

# kind:name, lower case: vendor:vivado, tool:nextpnr, model:ice40-activity, user:accuracy-score.
SOURCE_LABEL = re.compile(r"[a-z][a-z0-9]*:[a-z0-9][a-z0-9._+-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_NAME = re.compile(r"[a-z][a-z0-9_-]*")
_TARGET = re.compile(r"[a-z0-9][a-z0-9._-]*")
_UTC = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z")
ARCHITECTURES = ("stream", "regenerate")
_PATTERN_NAMES = {
    _SHA256: "a sha256 as 64 lower-case hex digits",
    _NAME: "a lower-case name (letters, digits, _ and -)",
    _TARGET: "a lower-case target name (letters, digits, . _ and -)",
    _UTC: "a UTC time YYYY-MM-DDTHH:MM:SSZ",
}

_OBSERVATION_REQUIRED = (
    "design_hash",
    "design_name",
    "architecture",
    "layers",
    "target",
    "device",
    "tools",
    "latency_cycles",
    "resources",
    "clocks",
    "provenance",
)
_OBSERVATION_OPTIONAL = (
    "timing",
    "power",
    "accuracy",
    "energy_per_inference_j",
    "created_utc",
    "build",
)
_BUILD_KEYS = ("clock_mhz", "seed", "options")
_LAYER_COUNTS = ("n_in", "n_out", "bitstream_length", "precision")


class ObservationLoadError(ValueError):
    """A payload or record that cannot be trusted; names the file, record and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        index: int | None = None,
        design_hash: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.index = index
        self.design_hash = design_hash
        self.field = field
        super().__init__(self._render())

    def _render(self) -> str:
        where = self.file or "<payload>"
        if self.index is not None:
            where += f": observations[{self.index}]"
            if self.design_hash:
                where += f" (design {self.design_hash[:12]})"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {self.message}"


@cache
def payload_schema() -> dict[str, Any]:
    """The shipped JSON Schema of a payload (package data beside this module)."""
    text = resources.files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


# --------------------------------------------------------------------------- reading


def load_observations(path: str | os.PathLike[str]) -> list[Observation]:
    """Read a payload file strictly; identical duplicate records collapse into one."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise ObservationLoadError(f"cannot read: {error.strerror}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ObservationLoadError(f"not UTF-8 text (byte {error.start})", file=file) from None
    return observations_from_payload(parse_json_strictly(text, file=file), file=file)


def parse_json_strictly(text: str, *, file: str | None = None) -> Any:
    """JSON with no NaN/Infinity and no key given twice in one object."""

    def reject_constant(name: str) -> Any:
        raise ObservationLoadError(
            f"{name} is not a JSON number (metrics must be finite)", file=file
        )

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, value in pairs:
            if key in data:
                raise ObservationLoadError(f"key {key!r} appears twice in one object", file=file)
            data[key] = value
        return data

    try:
        return json.loads(
            text.removeprefix("\ufeff"),
            parse_constant=reject_constant,
            object_pairs_hook=unique_keys,
        )
    except json.JSONDecodeError as error:
        raise ObservationLoadError(
            f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}", file=file
        ) from None


def observations_from_payload(payload: Any, *, file: str | None = None) -> list[Observation]:
    """Every record of a payload dict, checked; identical duplicates collapse, conflicts raise."""
    if not isinstance(payload, Mapping):
        raise ObservationLoadError(
            f"expected a JSON object {{'schema', 'observations'}}, got {_describe(payload)}",
            file=file,
        )
    unknown = sorted(set(payload) - {"schema", "observations"})
    if unknown:
        raise ObservationLoadError(
            f"unknown top-level field {unknown[0]!r} (expected schema, observations)", file=file
        )
    for key in ("schema", "observations"):
        if key not in payload:
            raise ObservationLoadError(f"missing top-level field {key!r}", file=file)
    if payload["schema"] != SCHEMA_ID:
        raise ObservationLoadError(
            f"expected {SCHEMA_ID!r}, got {payload['schema']!r}", file=file, field="schema"
        )
    records = payload["observations"]
    if not isinstance(records, list):
        raise ObservationLoadError(
            f"expected a list, got {_describe(records)}", file=file, field="observations"
        )
    kept: list[Observation] = []
    first_index: dict[tuple[str, str, str, str], tuple[int, Observation]] = {}
    for index, record in enumerate(records):
        observation = observation_from_json(record, file=file, index=index)
        earlier = first_index.get(observation.key)
        if earlier is None:
            first_index[observation.key] = (index, observation)
            kept.append(observation)
            continue
        earlier_index, earlier_observation = earlier
        difference = first_difference(
            earlier_observation.measurement_json(), observation.measurement_json()
        )
        if difference is not None:
            path, old, new = difference
            raise ObservationLoadError(
                f"conflicts with observations[{earlier_index}] for the same design point "
                f"(target {observation.target}, tools {observation.key[2]}, "
                f"build {observation.key[3]}): "
                f"{old} there, {new} here",
                file=file,
                index=index,
                design_hash=observation.design_hash,
                field=path,
            )
    return kept


def observation_from_json(
    record: Any, *, file: str | None = None, index: int | None = None
) -> Observation:
    """One record, checked field by field (the same rules as the shipped schema)."""
    return _RecordReader(file, index).observation(record)


class _RecordReader:
    """Checks one record; every error it raises names the file, the record and the field."""

    def __init__(self, file: str | None, index: int | None) -> None:
        self.file = file
        self.index = index
        self.design_hash: str | None = None

    def fail(self, field: str, message: str) -> ObservationLoadError:
        return ObservationLoadError(
            message, file=self.file, index=self.index, design_hash=self.design_hash, field=field
        )

    # ---- generic checks

    def obj(
        self, value: Any, field: str, required: Iterable[str], optional: Iterable[str] = ()
    ) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(field, f"expected an object, got {_describe(value)}")
        required, optional = tuple(required), tuple(optional)
        allowed = required + optional
        for key in value:
            if key not in allowed:
                raise self.fail(
                    _join(field, key), f"unknown field (expected one of {', '.join(allowed)})"
                )
        for key in required:
            if key not in value:
                raise self.fail(_join(field, key), "missing required field")
        return value

    def mapping(self, value: Any, field: str) -> Mapping[str, Any]:
        """An object whose keys are names chosen by the writer (tools, provenance roles)."""
        if not isinstance(value, Mapping):
            raise self.fail(field, f"expected an object, got {_describe(value)}")
        return value

    def string(self, value: Any, field: str, pattern: re.Pattern[str] | None = None) -> str:
        if not isinstance(value, str):
            raise self.fail(field, f"expected a string, got {_describe(value)}")
        if not value:
            raise self.fail(field, "expected a non-empty string")
        if pattern is not None and not pattern.fullmatch(value):
            expected = _PATTERN_NAMES.get(pattern, pattern.pattern)
            raise self.fail(field, f"expected {expected}, got {value!r}")
        return value

    def source(self, value: Any, field: str) -> str:
        if isinstance(value, str) and not SOURCE_LABEL.fullmatch(value):
            raise self.fail(
                field,
                f"source label {value!r} is not kind:name in lower case "
                "(e.g. vendor:vivado, tool:nextpnr, user:accuracy-score)",
            )
        return self.string(value, field, SOURCE_LABEL)

    def number(
        self,
        value: Any,
        field: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        above: float | None = None,
    ) -> int | float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"expected a number, got {_describe(value)}")
        if not math.isfinite(value):
            raise self.fail(field, f"expected a finite number, got {value}")
        if minimum is not None and value < minimum:
            raise self.fail(field, f"expected at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.fail(field, f"expected at most {maximum}, got {value}")
        if above is not None and value <= above:
            raise self.fail(field, f"expected more than {above}, got {value}")
        return value

    def count(
        self, value: Any, field: str, *, minimum: int = 0, step: float | None = None
    ) -> int | float:
        """A whole count (or a multiple of ``step`` for fractional resources)."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(field, f"expected a count, got {_describe(value)}")
        number = self.number(value, field)
        if number < minimum:
            what = "negative count" if number < 0 else "count"
            raise self.fail(field, f"{what} {number} (expected at least {minimum})")
        if step is None:
            if number != int(number):
                raise self.fail(field, f"expected a whole count, got the fraction {number}")
            return int(number)
        if number / step != int(number / step):
            raise self.fail(field, f"expected a multiple of {step}, got {number}")
        return int(number) if number == int(number) else number

    def boolean(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, f"expected true or false, got {_describe(value)}")
        return value

    def optional(
        self, data: Mapping[str, Any], key: str, read: Callable[[Any, str], Any], field: str
    ) -> Any:
        return read(data[key], _join(field, key)) if key in data else None

    # ---- observation parts

    def observation(self, record: Any) -> Observation:
        if isinstance(record, Mapping) and isinstance(record.get("design_hash"), str):
            self.design_hash = record["design_hash"]
        data = self.obj(record, "", _OBSERVATION_REQUIRED, _OBSERVATION_OPTIONAL)
        design_hash = self.string(data["design_hash"], "design_hash", _SHA256)
        architecture = data["architecture"]
        if architecture not in ARCHITECTURES:
            raise self.fail(
                "architecture", f"expected one of {', '.join(ARCHITECTURES)}, got {architecture!r}"
            )
        return Observation(
            design_hash=design_hash,
            design_name=self.string(data["design_name"], "design_name"),
            architecture=architecture,
            layers=self.layers(data["layers"]),
            target=self.string(data["target"], "target", _TARGET),
            device=self.string(data["device"], "device"),
            tools=self.tools(data["tools"]),
            latency_cycles=self.figure(data["latency_cycles"], "latency_cycles", kind="cycles"),
            resources=self.resources(data["resources"]),
            clocks=self.clocks(data["clocks"]),
            timing=self.optional(data, "timing", self.timing, ""),
            power=self.optional(data, "power", self.power, ""),
            accuracy=self.optional(
                data, "accuracy", lambda v, f: self.figure(v, f, kind="fraction"), ""
            ),
            energy_per_inference_j=self.optional(
                data, "energy_per_inference_j", lambda v, f: self.figure(v, f, kind="joules"), ""
            ),
            provenance=self.provenance(data["provenance"]),
            created_utc=self.optional(
                data, "created_utc", lambda v, f: self.string(v, f, _UTC), ""
            ),
            build=self.optional(data, "build", self.build, ""),
        )

    def build(self, value: Any, field: str) -> BuildConditions:
        """Build conditions: clock constraint (MHz > 0), placer seed (integer ≥ 0 or null), options."""
        item = self.obj(value, field, (), _BUILD_KEYS)
        if not item:
            raise self.fail(field, f"states no build condition (expected {', '.join(_BUILD_KEYS)})")
        clock = self.optional(item, "clock_mhz", lambda v, f: self.number(v, f, above=0), field)
        seed = item.get("seed")
        if seed is not None:
            seed = self.count(seed, _join(field, "seed"))
        options: dict[str, bool | int | str | None] = {}
        if "options" in item:
            where = _join(field, "options")
            for name, option in self.mapping(item["options"], where).items():
                at = _join(where, name)
                if not _NAME.fullmatch(name):
                    raise self.fail(at, f"option name: expected {_PATTERN_NAMES[_NAME]}")
                if option is not None and not isinstance(option, bool | int | str):
                    raise self.fail(
                        at, f"expected true, false, an integer, a string or null, got {_describe(option)}"
                    )
                options[name] = option
        return BuildConditions(
            clock_mhz=None if clock is None else float(clock), seed=seed, options=options
        )

    def layers(self, value: Any) -> tuple[dict[str, Any], ...]:
        if not isinstance(value, list):
            raise self.fail("layers", f"expected a list, got {_describe(value)}")
        if not value:
            raise self.fail("layers", "expected at least one layer")
        layers = []
        for position, layer in enumerate(value):
            field = f"layers[{position}]"
            if not isinstance(layer, Mapping):
                raise self.fail(field, f"expected an object, got {_describe(layer)}")
            for key in ("name", *_LAYER_COUNTS):
                if key not in layer:
                    raise self.fail(_join(field, key), "missing required field")
            self.string(layer["name"], _join(field, "name"))
            for key in _LAYER_COUNTS:
                self.count(layer[key], _join(field, key), minimum=1)
            layers.append(dict(layer))
        return tuple(layers)

    def tools(self, value: Any) -> dict[str, str | None]:
        data = self.mapping(value, "tools")
        if not data:
            raise self.fail("tools", "expected at least one tool with its version")
        tools: dict[str, str | None] = {}
        for name, version in data.items():
            field = _join("tools", name)
            if not _NAME.fullmatch(name):
                raise self.fail(field, f"tool name: expected {_PATTERN_NAMES[_NAME]}")
            tools[name] = None if version is None else self.string(version, field)
        return tools

    def figure(self, value: Any, field: str, *, kind: str) -> Figure:
        data = self.obj(value, field, ("value", "source"))
        source = self.source(data["source"], _join(field, "source"))
        where = _join(field, "value")
        if kind == "cycles":
            number: int | float = self.count(data["value"], where, minimum=1)
        elif kind == "fraction":
            number = self.number(data["value"], where, minimum=0, maximum=1)
        else:
            number = self.number(data["value"], where, minimum=0)
        return Figure(value=number, source=source)

    def resources(self, value: Any) -> dict[str, ResourceFigure]:
        data = self.obj(value, "resources", (), CANONICAL_RESOURCES)
        figures: dict[str, ResourceFigure] = {}
        for name, entry in data.items():
            field = _join("resources", name)
            item = self.obj(entry, field, ("used", "source"), ("available",))
            step = FRACTIONAL_RESOURCES.get(name)
            figures[name] = ResourceFigure(
                used=self.count(item["used"], _join(field, "used"), step=step),
                available=self.optional(
                    item, "available", lambda v, f, s=step: self.count(v, f, step=s), field
                ),
                source=self.source(item["source"], _join(field, "source")),
            )
        return figures

    def clocks(self, value: Any) -> tuple[ClockFigure, ...]:
        if not isinstance(value, list):
            raise self.fail("clocks", f"expected a list, got {_describe(value)}")
        clocks = []
        for position, entry in enumerate(value):
            field = f"clocks[{position}]"
            item = self.obj(
                entry, field, ("name", "source"), ("fmax_mhz", "constraint_mhz", "met", "slack_ns")
            )
            if not any(key in item for key in ("fmax_mhz", "slack_ns", "met")):
                raise self.fail(field, "states none of fmax_mhz, slack_ns, met")
            positive = lambda v, f: self.number(v, f, above=0)  # noqa: E731
            clocks.append(
                ClockFigure(
                    name=self.string(item["name"], _join(field, "name")),
                    fmax_mhz=self.optional(item, "fmax_mhz", positive, field),
                    source=self.source(item["source"], _join(field, "source")),
                    constraint_mhz=self.optional(item, "constraint_mhz", positive, field),
                    met=self.optional(item, "met", self.boolean, field),
                    slack_ns=self.optional(item, "slack_ns", self.number, field),
                )
            )
        return tuple(clocks)

    def timing(self, value: Any, field: str) -> TimingFigure:
        item = self.obj(value, field, ("source",), ("met", "wns_ns", "tns_ns", "whs_ns", "ths_ns"))
        if len(item) < 2:
            raise self.fail(field, "states no timing figure besides its source")
        total = lambda v, f: self.number(v, f, maximum=0)  # noqa: E731
        return TimingFigure(
            source=self.source(item["source"], _join(field, "source")),
            met=self.optional(item, "met", self.boolean, field),
            wns_ns=self.optional(item, "wns_ns", self.number, field),
            tns_ns=self.optional(item, "tns_ns", total, field),
            whs_ns=self.optional(item, "whs_ns", self.number, field),
            ths_ns=self.optional(item, "ths_ns", total, field),
        )

    def power(self, value: Any, field: str) -> PowerFigure:
        item = self.obj(value, field, ("total_w", "source"), ("dynamic_w", "static_w"))
        watts = lambda v, f: self.number(v, f, minimum=0)  # noqa: E731
        return PowerFigure(
            total_w=watts(item["total_w"], _join(field, "total_w")),
            source=self.source(item["source"], _join(field, "source")),
            dynamic_w=self.optional(item, "dynamic_w", watts, field),
            static_w=self.optional(item, "static_w", watts, field),
        )

    def provenance(self, value: Any) -> dict[str, str]:
        data = self.mapping(value, "provenance")
        provenance: dict[str, str] = {}
        for role, digest in data.items():
            field = _join("provenance", role)
            if not _NAME.fullmatch(role):
                raise self.fail(field, f"role: expected {_PATTERN_NAMES[_NAME]}")
            provenance[role] = self.string(digest, field, _SHA256)
        return provenance


# --------------------------------------------------------------------------- writing


def payload_from_observations(observations: Iterable[Observation]) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "observations": [obs.to_json() for obs in observations]}


def write_payload(payload: Mapping[str, Any], output: str | os.PathLike[str]) -> Path:
    """Check ``payload`` with the strict loader, then write it atomically (temp + rename).

    A reader never sees a half-written file, and an invalid payload is never written.
    """
    observations_from_payload(payload, file=str(output))
    text = json.dumps(payload, indent=2, allow_nan=False) + "\n"
    return atomic_write_text(output, text)


def atomic_write_text(output: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to a temporary file beside ``output``, fsync it, then rename over."""
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


# --------------------------------------------------------------------------- helpers


def utc_now() -> str:
    """The current time as observations record it: ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def first_difference(old: Any, new: Any, path: str = "") -> tuple[str, str, str] | None:
    """Where two JSON values first differ: (dotted path, old, new) as short text; None if equal.

    Numbers compare by value (``3`` equals ``3.0``), so a round trip through JSON is equal;
    a boolean never equals a number.
    """
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new)):
            where = _join(path, key)
            if key not in old or key not in new:
                return (where, _show(old, key), _show(new, key))
            found = first_difference(old[key], new[key], where)
            if found:
                return found
        return None
    if _is_list(old) and _is_list(new):
        if len(old) != len(new):
            return (path or "<record>", f"{len(old)} items", f"{len(new)} items")
        for position, (a, b) in enumerate(zip(old, new, strict=True)):
            found = first_difference(a, b, f"{path}[{position}]")
            if found:
                return found
        return None
    if isinstance(old, bool) != isinstance(new, bool) or old != new:
        return (path or "<record>", canonical_json(old), canonical_json(new))
    return None


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str)


def _show(data: Mapping[str, Any], key: str) -> str:
    return canonical_json(data[key]) if key in data else "absent"


def _join(field: str, key: str) -> str:
    return f"{field}.{key}" if field else key


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return f"the string {value!r}"
    return repr(value)
