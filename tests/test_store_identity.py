"""A measurement's identity includes its build conditions: clock constraint, seed, options."""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from stochflow.flow.store import STORE_SCHEMA_VERSION, EvidenceConflictError, EvidenceStore
from stochflow.surrogate.evidence import (
    ObservationLoadError,
    observation_from_json,
    observations_from_payload,
    payload_schema,
)
from stochflow.surrogate.observation import BuildConditions, ResourceFigure
from test_evidence_helpers import make_observation, observation_json, payload

AT_24 = BuildConditions(clock_mhz=24.0, seed=None, options={"abc9": True})
VALIDATOR = jsonschema.Draft202012Validator(payload_schema())


@pytest.fixture
def store(tmp_path: Path):
    with EvidenceStore(tmp_path / "evidence.sqlite") as opened:
        yield opened


def test_same_design_at_another_clock_is_another_measurement(store: EvidenceStore) -> None:
    at_24 = make_observation("a", build=AT_24)
    at_48 = replace(
        at_24,
        build=replace(AT_24, clock_mhz=48.0),
        resources={**at_24.resources, "lc": ResourceFigure(470, 5280, "tool:nextpnr")},
    )
    first, second = store.add(at_24), store.add(at_48)
    assert first != second and store.count() == 2
    assert [o.build for o in store.observations()] == [AT_24, replace(AT_24, clock_mhz=48.0)]


@pytest.mark.parametrize(
    "other",
    [
        replace(AT_24, seed=7),
        replace(AT_24, options={"abc9": False}),
        BuildConditions(clock_mhz=24.0),
        None,
    ],
    ids=["seed", "options", "unstated-options", "no-conditions"],
)
def test_seed_and_options_are_part_of_the_identity(
    store: EvidenceStore, other: BuildConditions | None
) -> None:
    observation = make_observation("a", build=AT_24)
    store.add(observation)
    changed = replace(
        observation,
        build=other,
        resources={**observation.resources, "lut": ResourceFigure(399, 5280, "tool:yosys")},
    )
    store.add(changed)
    assert store.count() == 2


def test_same_conditions_different_numbers_conflict(store: EvidenceStore) -> None:
    observation = make_observation("a", build=AT_24)
    row = store.add(observation)
    changed = replace(
        observation,
        resources={**observation.resources, "lut": ResourceFigure(500, 5280, "tool:yosys")},
    )
    with pytest.raises(EvidenceConflictError, match=r"build .*24\.0.*resources\.lut\.used"):
        store.add(changed)
    assert store.add(replace(observation, created_utc="2026-11-23T00:00:00Z")) == row
    assert store.count() == 1


def test_integer_and_float_clock_are_one_condition(store: EvidenceStore) -> None:
    record = observation_json("a", build=AT_24)
    record["build"]["clock_mhz"] = 24
    from_int = observation_from_json(record)
    assert from_int.key == make_observation("a", build=AT_24).key
    row = store.add(make_observation("a", build=AT_24))
    assert store.add(from_int) == row


def test_payload_duplicates_are_keyed_by_conditions() -> None:
    record = observation_json("a", build=AT_24)
    other_clock = copy.deepcopy(record)
    other_clock["build"]["clock_mhz"] = 12.0
    other_clock["resources"]["lut"]["used"] = 300
    assert len(observations_from_payload(payload(record, other_clock))) == 2
    conflicting = copy.deepcopy(record)
    conflicting["resources"]["lut"]["used"] = 300
    with pytest.raises(ObservationLoadError, match=r"observations\[1\].*resources\.lut\.used"):
        observations_from_payload(payload(record, conflicting))


def _with_build(build: Any) -> dict[str, Any]:
    record = observation_json("a", build=AT_24)
    record["build"] = build
    return record


@pytest.mark.parametrize(
    ("build", "field"),
    [
        ({}, r"build: states no build condition"),
        ({"clock_mhz": 0}, r"build\.clock_mhz: expected more than 0"),
        ({"clock_mhz": "24"}, r"build\.clock_mhz: expected a number"),
        ({"clock_mhz": True}, r"build\.clock_mhz: expected a number"),
        ({"seed": -1}, r"build\.seed: negative count"),
        ({"seed": 1.5}, r"build\.seed: expected a whole count"),
        ({"seed": True}, r"build\.seed: expected a count"),
        ({"options": {"abc9": 1.5}}, r"build\.options\.abc9: expected true, false"),
        ({"options": {"ABC9": True}}, r"build\.options\.ABC9: option name"),
        ({"options": []}, r"build\.options: expected an object"),
        ({"frequency": 24}, r"build\.frequency: unknown field"),
        ("24 MHz", r"build: expected an object"),
    ],
)
def test_bad_build_conditions_are_named_by_loader_and_schema(build: Any, field: str) -> None:
    record = _with_build(build)
    with pytest.raises(ObservationLoadError, match=field):
        observation_from_json(record)
    assert not VALIDATOR.is_valid(payload(record))


def test_good_build_conditions_pass_loader_and_schema() -> None:
    for build in (
        {"clock_mhz": 24.0, "seed": None, "options": {"abc9": True}},
        {"clock_mhz": 12.5},
        {"seed": 3, "options": {"placer": "heap", "passes": 2, "x": None}},
    ):
        record = _with_build(build)
        assert VALIDATOR.is_valid(payload(record)), build
        observation = observation_from_json(record)
        again = observation_from_json(json.loads(json.dumps(observation.to_json())))
        assert again == observation


# The store as schema version 1 wrote it: no build column, key (design_hash, target, tools).
_V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE observations (
    id INTEGER PRIMARY KEY, design_hash TEXT NOT NULL, target TEXT NOT NULL,
    tools TEXT NOT NULL, device TEXT NOT NULL, design_name TEXT NOT NULL, created_utc TEXT,
    stored_utc TEXT NOT NULL, record TEXT NOT NULL, UNIQUE (design_hash, target, tools));
CREATE INDEX observations_by_target ON observations (target, design_hash);
CREATE TABLE failures (id INTEGER PRIMARY KEY, design_hash TEXT NOT NULL, target TEXT NOT NULL,
    step TEXT NOT NULL, reason TEXT NOT NULL, log_path TEXT, time_utc TEXT NOT NULL);
CREATE TABLE build_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL,
    observation_id INTEGER REFERENCES observations (id), updated_utc TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
"""


def test_a_version_1_store_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = make_observation("a")
    record = json.dumps(old.to_json(), sort_keys=True, separators=(",", ":"))
    with sqlite3.connect(path) as conn:
        conn.executescript(_V1_SCHEMA)
        conn.execute(
            "INSERT INTO observations VALUES (5, ?, ?, ?, ?, ?, ?, ?, ?)",
            (old.design_hash, old.target, old.key[2], old.device, "tiny", None, "t", record),
        )
        conn.execute("INSERT INTO build_cache VALUES ('k', '{}', 5, 't')")
    conn.close()
    with EvidenceStore(path) as store:
        assert store.schema_version == STORE_SCHEMA_VERSION == 2
        assert store.observations() == [old]
        assert store.cache_entry("k").observation_id == 5
        assert store.add(old) == 5  # the old row is the same measurement, not a conflict
        store.add(replace(old, build=AT_24))
        assert store.count() == 2
    with EvidenceStore(path) as reopened:  # already upgraded: opened as it is
        assert reopened.count() == 2
