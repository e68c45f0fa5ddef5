"""The strict observation loader and the shipped JSON Schema: same verdict on every case."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stochflow.surrogate.evidence import (
    ObservationLoadError,
    load_observations,
    observations_from_payload,
    payload_from_observations,
    payload_schema,
    write_payload,
)
from stochflow.surrogate.observation import (
    CANONICAL_RESOURCES,
    ClockFigure,
    Figure,
    Observation,
    PowerFigure,
    ResourceFigure,
    TimingFigure,
)
from test_evidence_helpers import fake_hash, make_observation, observation_json, payload

VALIDATOR = jsonschema.Draft202012Validator(payload_schema())


def schema_accepts(text: str) -> bool:
    """The schema's verdict on payload *text* (NaN/Infinity are not JSON: rejected)."""

    def no_constants(name: str) -> Any:
        raise ValueError(name)

    try:
        data = json.loads(text, parse_constant=no_constants)
    except ValueError:
        return False
    return VALIDATOR.is_valid(data)


def loader_accepts(tmp_path: Path, text: str) -> bool:
    path = tmp_path / "payload.json"
    path.write_text(text, encoding="utf-8")
    try:
        load_observations(path)
    except ObservationLoadError:
        return False
    return True


def test_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(payload_schema())
    assert payload_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_resource_names_match_canonical_resources() -> None:
    names = payload_schema()["$defs"]["observation"]["properties"]["resources"]["propertyNames"]
    assert tuple(names["enum"]) == CANONICAL_RESOURCES


def test_schema_is_shipped_as_package_data() -> None:
    from importlib import resources

    assert resources.files("stochflow.surrogate").joinpath("observation.schema.json").is_file()


# -- one valid record, then one change each ---------------------------------------------


def _set(path: str, value: Any):
    def change(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = record
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(path: str):
    def change(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = record
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return change


VALID_CHANGES: dict[str, Any] = {
    "as built": lambda record: None,
    "no optional figures": lambda record: [
        record.pop(key) for key in ("power", "accuracy", "timing", "created_utc")
    ],
    "empty resources, clocks, provenance": lambda record: record.update(
        resources={}, clocks=[], provenance={}
    ),
    "half a block RAM tile": _set(
        "resources.bram_tile", {"used": 2.5, "available": 140, "source": "vendor:vivado"}
    ),
    "integral float count": _set("resources.lut.used", 412.0),
    "tool without a printed version": _set("tools.icetime", None),
    "clock with slack only": _set(
        "clocks.0", {"name": "clk", "slack_ns": -0.4, "source": "vendor:quartus"}
    ),
    "clock with met only": _set(
        "clocks.0", {"name": "clk", "met": False, "source": "vendor:vivado"}
    ),
    "failed timing kept": _set(
        "timing", {"source": "vendor:vivado", "met": False, "wns_ns": -1.2, "tns_ns": -30.5}
    ),
    "accuracy of exactly 1": _set("accuracy.value", 1),
    "zero power figure": _set("power.dynamic_w", 0.0),
    "fractional created time": _set("created_utc", "2026-11-22T10:00:00.25Z"),
    "layer with extra generator keys": _set("layers.0.future_knob", [1, 2]),
}

INVALID_CHANGES: dict[str, Any] = {
    "missing latency": _drop("latency_cycles"),
    "missing source": _drop("resources.lut.source"),
    "missing power total": _drop("power.total_w"),
    "negative count": _set("resources.ff.used", -1),
    "bool as count": _set("resources.lut.used", True),
    "bool as latency": _set("latency_cycles.value", True),
    "fraction as count": _set("resources.lut.used", 411.5),
    "fraction as latency": _set("latency_cycles.value", 33.5),
    "zero latency": _set("latency_cycles.value", 0),
    "quarter block RAM tile": _set(
        "resources.bram_tile", {"used": 2.25, "source": "vendor:vivado"}
    ),
    "string as number": _set("power.total_w", "0.002"),
    "null metric": _set("power.total_w", None),
    "negative power": _set("power.static_w", -0.1),
    "accuracy above one": _set("accuracy.value", 1.2),
    "unknown top field": _set("lut", 5),
    "unknown resource": _set("resources.luts", {"used": 3, "source": "tool:yosys"}),
    "unknown figure field": _set("power.confidence", "Low"),
    "unknown clock field": _set("clocks.0.period_ns", 24.1),
    "source without kind": _set("power.source", "vivado"),
    "source with spaces": _set("accuracy.source", "user: accuracy"),
    "source in capitals": _set("clocks.0.source", "Tool:nextpnr"),
    "short design hash": _set("design_hash", "abc123"),
    "unknown architecture": _set("architecture", "pipelined"),
    "empty layers": _set("layers", []),
    "layer without width": _drop("layers.0.n_in"),
    "layer count as bool": _set("layers.1.precision", True),
    "no tools": _set("tools", {}),
    "numeric tool version": _set("tools.yosys", 0.7),
    "target with spaces": _set("target", "ice40 up5k"),
    "clock stating nothing": _set("clocks.0", {"name": "clk", "source": "tool:nextpnr"}),
    "zero fmax": _set("clocks.0.fmax_mhz", 0),
    "met as string": _set("clocks.0.met", "true"),
    "timing with source only": _set("timing", {"source": "vendor:vivado"}),
    "positive total slack": _set("timing", {"source": "vendor:vivado", "tns_ns": 3.0}),
    "bad provenance digest": _set("provenance.power", "not-a-digest"),
    "created time without zone": _set("created_utc", "2026-11-22T10:00:00"),
    "record of unknown fields only": lambda record: record.clear() or record.update({"x": []}),
}


@pytest.mark.parametrize("name", VALID_CHANGES)
def test_valid_records_pass_both(tmp_path: Path, name: str) -> None:
    record = observation_json()
    VALID_CHANGES[name](record)
    text = json.dumps(payload(record))
    assert schema_accepts(text), VALIDATOR.iter_errors(json.loads(text)).__next__()
    assert loader_accepts(tmp_path, text)


@pytest.mark.parametrize("name", INVALID_CHANGES)
def test_invalid_records_fail_both(tmp_path: Path, name: str) -> None:
    record = observation_json()
    INVALID_CHANGES[name](record)
    text = json.dumps(payload(record))
    assert not schema_accepts(text)
    assert not loader_accepts(tmp_path, text)


@pytest.mark.parametrize(
    "text",
    [
        '{"schema": "stochflow.observations/1", "observations": [], "extra": 1}',
        '{"schema": "stochflow.observations/2", "observations": []}',
        '{"observations": []}',
        '{"schema": "stochflow.observations/1", "observations": {}}',
        "[]",
    ],
)
def test_invalid_envelopes_fail_both(tmp_path: Path, text: str) -> None:
    assert not schema_accepts(text)
    assert not loader_accepts(tmp_path, text)


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_metric_is_rejected(tmp_path: Path, constant: str) -> None:
    text = json.dumps(payload(observation_json())).replace(
        '"total_w": 0.0021', f'"total_w": {constant}'
    )
    assert constant in text
    assert not schema_accepts(text)
    with pytest.raises(ObservationLoadError, match="not a JSON number"):
        load_observations(_write(tmp_path, text))


def test_non_finite_metric_in_a_dict_names_the_field() -> None:
    record = observation_json()
    record["clocks"][0]["fmax_mhz"] = math.inf
    with pytest.raises(ObservationLoadError, match=r"clocks\[0\]\.fmax_mhz: expected a finite"):
        observations_from_payload(payload(record))


# -- messages name file, record and field ------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "obs.json") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_error_names_file_record_hash_and_field(tmp_path: Path) -> None:
    good, bad = observation_json("a"), observation_json("b")
    bad["resources"]["ff"]["used"] = -3
    path = _write(tmp_path, json.dumps(payload(good, bad)))
    with pytest.raises(ObservationLoadError) as caught:
        load_observations(path)
    error = caught.value
    assert (error.file, error.index, error.field) == (str(path), 1, "resources.ff.used")
    assert error.design_hash == fake_hash("b")
    message = str(error)
    assert message.startswith(f"{path}: observations[1] (design {fake_hash('b')[:12]}): ")
    assert "resources.ff.used: negative count -3" in message


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (_set("resources.lut.used", True), "resources.lut.used", "true (a boolean)"),
        (_set("resources.lut.used", 3.5), "resources.lut.used", "fraction 3.5"),
        (_set("nonsense", 1), "nonsense", "unknown field"),
        (_set("power.source", "vivado"), "power.source", "not kind:name"),
        (_drop("latency_cycles"), "latency_cycles", "missing required field"),
    ],
)
def test_messages_say_what_was_expected(change: Any, field: str, words: str) -> None:
    record = observation_json()
    change(record)
    with pytest.raises(ObservationLoadError) as caught:
        observations_from_payload(payload(record), file="given.json")
    assert caught.value.field == field
    assert words in str(caught.value)


def test_duplicate_json_key_is_rejected(tmp_path: Path) -> None:
    text = json.dumps(payload(observation_json())).replace(
        '"design_name": "tiny"', '"design_name": "tiny", "design_name": "other"'
    )
    with pytest.raises(ObservationLoadError, match="'design_name' appears twice"):
        load_observations(_write(tmp_path, text))


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    with pytest.raises(ObservationLoadError, match=r"obs.json: invalid JSON at line 2 column"):
        load_observations(_write(tmp_path, '{"schema":\n  oops}'))


def test_missing_file_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(ObservationLoadError, match=r"absent\.json: cannot read"):
        load_observations(tmp_path / "absent.json")


# -- duplicates ---------------------------------------------------------------------------


def test_identical_duplicates_collapse() -> None:
    record = observation_json("a")
    again = copy.deepcopy(record)
    again["created_utc"] = "2026-11-23T08:00:00Z"  # a re-collection of the same reports
    loaded = observations_from_payload(payload(record, observation_json("b"), again))
    assert [obs.design_hash for obs in loaded] == [fake_hash("a"), fake_hash("b")]
    assert loaded[0].created_utc == "2026-11-22T10:00:00Z"


def test_conflicting_duplicate_names_both_records_and_the_field() -> None:
    record = observation_json("a")
    other = copy.deepcopy(record)
    other["resources"]["lut"]["used"] = 999
    with pytest.raises(ObservationLoadError) as caught:
        observations_from_payload(payload(record, observation_json("b"), other), file="p.json")
    message = str(caught.value)
    assert caught.value.index == 2 and caught.value.field == "resources.lut.used"
    assert "conflicts with observations[0]" in message and "412 there, 999 here" in message


def test_same_design_other_tool_version_is_not_a_duplicate() -> None:
    record = observation_json("a")
    newer = copy.deepcopy(record)
    newer["tools"]["yosys"] = "0.71"
    newer["resources"]["lut"]["used"] = 400
    assert len(observations_from_payload(payload(record, newer))) == 2


def test_same_design_other_target_is_not_a_duplicate() -> None:
    record = observation_json("a")
    other = copy.deepcopy(record)
    other["target"] = "ice40-hx8k"
    other["resources"]["lut"]["used"] = 401
    assert len(observations_from_payload(payload(record, other))) == 2


def test_schema_and_loader_disagree_only_on_duplicates() -> None:
    """Conflicting duplicates are beyond any JSON Schema: the schema accepts, the loader not."""
    record = observation_json("a")
    other = copy.deepcopy(record)
    other["accuracy"]["value"] = 0.5
    assert VALIDATOR.is_valid(payload(record, other))
    with pytest.raises(ObservationLoadError):
        observations_from_payload(payload(record, other))


# -- writing ------------------------------------------------------------------------------


def test_write_payload_round_trips_and_leaves_no_temporary(tmp_path: Path) -> None:
    observations = [make_observation("a"), make_observation("b")]
    target = write_payload(payload_from_observations(observations), tmp_path / "sub" / "o.json")
    assert load_observations(target) == observations
    assert [p.name for p in target.parent.iterdir()] == ["o.json"]
    assert VALIDATOR.is_valid(json.loads(target.read_text()))


def test_write_payload_refuses_invalid_and_keeps_the_old_file(tmp_path: Path) -> None:
    target = write_payload(payload_from_observations([make_observation("a")]), tmp_path / "o.json")
    before = target.read_bytes()
    bad = payload(observation_json("b"))
    bad["observations"][0]["latency_cycles"]["value"] = -1
    with pytest.raises(ObservationLoadError, match=r"latency_cycles\.value"):
        write_payload(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["o.json"]


# -- property: any well-formed observation survives JSON and the loader unchanged ---------

sources = st.from_regex(r"[a-z]{1,8}:[a-z0-9][a-z0-9._+-]{0,12}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
watts = st.floats(min_value=0, max_value=1e3, allow_nan=False)
counts = st.integers(min_value=0, max_value=10**9)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, ResourceFigure]:
    names = draw(st.lists(st.sampled_from(CANONICAL_RESOURCES), unique=True, max_size=6))
    figures = {}
    for name in names:
        if name == "bram_tile":
            used = draw(st.integers(0, 2000)) / 2
            available = draw(st.none() | st.integers(0, 2000).map(lambda n: n / 2))
        else:
            used, available = draw(counts), draw(st.none() | counts)
        figures[name] = ResourceFigure(used, available, draw(sources))
    return figures


@st.composite
def clocks(draw: st.DrawFn) -> ClockFigure:
    fmax = draw(st.none() | st.floats(min_value=0.001, max_value=2000))
    slack = draw(st.none() | finite)
    met = draw(st.none() | st.booleans())
    if fmax is None and slack is None and met is None:
        met = draw(st.booleans())
    return ClockFigure(
        name=draw(st.text(min_size=1, max_size=20)),
        fmax_mhz=fmax,
        source=draw(sources),
        constraint_mhz=draw(st.none() | st.floats(min_value=0.001, max_value=2000)),
        met=met,
        slack_ns=slack,
    )


@st.composite
def observations(draw: st.DrawFn) -> Observation:
    base = make_observation(draw(st.text(max_size=8)))
    non_positive = st.floats(max_value=0, allow_nan=False, allow_infinity=False)
    timing = draw(
        st.none()
        | st.builds(
            TimingFigure, sources, st.booleans(), finite, non_positive, finite, non_positive
        )
    )
    return Observation(
        design_hash=base.design_hash,
        design_name=draw(st.text(min_size=1, max_size=12)),
        architecture=draw(st.sampled_from(["stream", "regenerate"])),
        layers=base.layers,
        target=draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)),
        device=draw(st.text(min_size=1, max_size=20)),
        tools=draw(
            st.dictionaries(
                st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
                st.none() | st.text(min_size=1, max_size=30),
                min_size=1,
                max_size=4,
            )
        ),
        latency_cycles=Figure(draw(st.integers(1, 10**7)), draw(sources)),
        resources=draw(resources()),
        clocks=tuple(draw(st.lists(clocks(), max_size=3))),
        timing=timing,
        power=draw(
            st.none() | st.builds(PowerFigure, watts, sources, st.none() | watts, st.none() | watts)
        ),
        accuracy=draw(st.none() | st.builds(Figure, st.floats(0, 1), sources)),
        energy_per_inference_j=draw(st.none() | st.builds(Figure, watts, sources)),
        provenance=draw(
            st.dictionaries(
                st.sampled_from(["utilisation", "power", "timing", "design"]),
                st.text(max_size=4).map(fake_hash),
                max_size=4,
            )
        ),
        created_utc=draw(st.none() | st.just("2026-11-22T10:00:00Z")),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(observations(), max_size=3))
def test_round_trip_property(
    tmp_path_factory: pytest.TempPathFactory, items: list[Observation]
) -> None:
    first_by_key: dict[tuple[str, str, str], Observation] = {}
    for observation in items:
        first_by_key.setdefault(observation.key, observation)
    unique = list(first_by_key.values())
    text = json.dumps(payload_from_observations(unique), allow_nan=False)
    assert VALIDATOR.is_valid(json.loads(text))
    path = tmp_path_factory.mktemp("rt") / "o.json"
    path.write_text(text, encoding="utf-8")
    assert load_observations(path) == unique
