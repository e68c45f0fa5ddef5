"""The SQLite evidence store: idempotent adds, conflicts, failures, cache, export/import."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from stochflow.flow.errors import FlowError, UsageError
from stochflow.flow.store import (
    DEFAULT_STORE_PATH,
    STORE_SCHEMA_VERSION,
    EvidenceConflictError,
    EvidenceStore,
)
from stochflow.surrogate.evidence import (
    ObservationLoadError,
    load_observations,
    payload_from_observations,
    write_payload,
)
from stochflow.surrogate.observation import Figure, ResourceFigure
from test_evidence_helpers import fake_hash, make_observation, observation_json, payload


@pytest.fixture
def store(tmp_path: Path):
    with EvidenceStore(tmp_path / "evidence.sqlite") as opened:
        yield opened


def test_default_path_and_file_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert Path("build/evidence.sqlite") == DEFAULT_STORE_PATH
    with EvidenceStore() as store:
        assert store.schema_version == STORE_SCHEMA_VERSION
    assert (tmp_path / "build" / "evidence.sqlite").is_file()
    with sqlite3.connect(tmp_path / "build" / "evidence.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"meta", "observations", "failures", "build_cache"} <= tables


def test_add_returns_id_and_reads_back_equal(store: EvidenceStore) -> None:
    first, second = make_observation("a"), make_observation("b")
    ids = [store.add(first), store.add(second)]
    assert ids[0] != ids[1]
    assert store.observations() == [first, second]
    assert store.observation(ids[1]) == second
    assert store.count() == 2


def test_add_is_idempotent_for_identical_observations(store: EvidenceStore) -> None:
    observation = make_observation("a")
    row = store.add(observation)
    recollected = replace(
        observation, created_utc="2026-11-23T09:00:00Z", provenance={"other": fake_hash("x")}
    )
    assert store.add(recollected) == row
    assert store.count() == 1


def test_conflicting_add_names_the_field_and_keeps_the_stored(store: EvidenceStore) -> None:
    observation = make_observation("a")
    row = store.add(observation)
    changed = replace(
        observation,
        resources={**observation.resources, "lut": ResourceFigure(500, 5280, "tool:yosys")},
    )
    with pytest.raises(
        EvidenceConflictError,
        match=rf"stored observation {row}: resources\.lut\.used: 412 stored, 500 new",
    ):
        store.add(changed)
    assert store.observations() == [observation]


def test_other_tools_or_target_are_other_design_points(store: EvidenceStore) -> None:
    observation = make_observation("a")
    store.add(observation)
    store.add(
        replace(
            observation,
            tools={"yosys": "0.71", "nextpnr": None},
            accuracy=Figure(0.5, "sim:golden"),
        )
    )
    store.add(replace(observation, target="ice40-hx8k"))
    assert store.count() == 3
    assert len(store.observations(target="ice40-up5k")) == 2
    assert len(store.observations(target="ice40-hx8k", design_hash=fake_hash("a"))) == 1
    assert store.observations(design_hash=fake_hash("nothing")) == []


def test_add_refuses_an_invalid_observation(store: EvidenceStore) -> None:
    bad = replace(make_observation("a"), latency_cycles=Figure(float("nan"), "design:latency"))
    with pytest.raises(ObservationLoadError, match=r"latency_cycles\.value"):
        store.add(bad)
    bad_source = replace(make_observation("a"), accuracy=Figure(0.9, "accuracy"))
    with pytest.raises(ObservationLoadError, match=r"accuracy\.source"):
        store.add(bad_source)
    assert store.count() == 0


def test_failures_are_recorded_and_filtered(store: EvidenceStore) -> None:
    first = store.add_failure(
        fake_hash("a"), "ice40-up5k", "pnr", "routing failed", "build/a/pnr.log"
    )
    store.add_failure(
        fake_hash("b"), "ice40-up5k", "synth", "yosys exited 1", time_utc="2026-11-22T10:00:00Z"
    )
    failures = store.failures()
    assert failures[0].id == first
    assert failures[0].log_path == "build/a/pnr.log" and failures[1].log_path is None
    assert failures[1].time_utc == "2026-11-22T10:00:00Z"
    assert [f.step for f in store.failures(design_hash=fake_hash("b"))] == ["synth"]
    assert [f.reason for f in store.failures(step="pnr")] == ["routing failed"]
    with pytest.raises(UsageError, match="reason"):
        store.add_failure(fake_hash("c"), "ice40-up5k", "pnr", "  ")


def test_build_cache_round_trip(store: EvidenceStore) -> None:
    assert store.get_cache("k1") is None
    value = {"observation": observation_json("a"), "seconds": 12.5}
    store.put_cache("k1", value)
    assert store.get_cache("k1") == value
    row = store.add(make_observation("a"))
    store.put_cache("k1", {"replaced": True}, observation_id=row)
    entry = store.cache_entry("k1")
    assert entry is not None and entry.value == {"replaced": True} and entry.observation_id == row
    with pytest.raises(UsageError, match="no stored observation"):
        store.put_cache("k2", {"x": 1}, observation_id=row + 100)
    with pytest.raises(UsageError, match="not finite JSON"):
        store.put_cache("k3", {"x": float("nan")})
    with pytest.raises(UsageError, match="None"):
        store.put_cache("k4", None)
    assert store.get_cache("k2") is None


def test_export_then_import_into_a_new_store(store: EvidenceStore, tmp_path: Path) -> None:
    observations = [make_observation(str(i)) for i in range(5)]
    for observation in observations:
        store.add(observation)
    exported = tmp_path / "out" / "evidence.json"
    assert store.export_json(exported) == 5
    assert load_observations(exported) == observations
    with EvidenceStore(tmp_path / "other.sqlite") as other:
        ids = other.import_json(exported)
        assert len(ids) == 5
        assert other.import_json(exported) == ids  # idempotent
        assert other.observations() == observations


def test_import_is_all_or_nothing(store: EvidenceStore, tmp_path: Path) -> None:
    store.add(make_observation("0"))
    conflicting = observation_json("0")
    conflicting["accuracy"]["value"] = 0.1
    path = tmp_path / "import.json"
    path.write_text(json.dumps(payload(observation_json("new"), conflicting)))
    with pytest.raises(EvidenceConflictError, match=r"accuracy\.value: 0\.875 stored, 0\.1 new"):
        store.import_json(path)
    assert store.count() == 1
    invalid = payload(observation_json("new"), observation_json("other"))
    invalid["observations"][1]["tools"] = {}
    path.write_text(json.dumps(invalid))
    with pytest.raises(ObservationLoadError, match=r"import\.json: observations\[1\]"):
        store.import_json(path)
    assert store.count() == 1


def test_export_of_an_empty_store_is_a_valid_payload(store: EvidenceStore, tmp_path: Path) -> None:
    assert store.export_json(tmp_path / "e.json") == 0
    assert load_observations(tmp_path / "e.json") == []


def test_store_from_a_newer_stochflow_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    EvidenceStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(FlowError, match="schema version 99"):
        EvidenceStore(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    path.write_text("not a database, just text " * 100)
    with pytest.raises(FlowError, match="not a usable evidence store"):
        EvidenceStore(path)


def test_tampered_row_is_caught_on_read(store: EvidenceStore) -> None:
    row = store.add(make_observation("a"))
    store._conn.execute(
        "UPDATE observations SET record = replace(record, '\"used\":412', '\"used\":-412') WHERE id = ?",
        (row,),
    )
    with pytest.raises(ObservationLoadError, match=rf"#observation {row}.*resources\.lut\.used"):
        store.observations()


def test_payload_written_by_the_loader_imports(store: EvidenceStore, tmp_path: Path) -> None:
    path = write_payload(payload_from_observations([make_observation("z")]), tmp_path / "z.json")
    assert store.import_json(path) == [1]
