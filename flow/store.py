"""The evidence store: every observation, failed build and build-cache entry in one SQLite file.

One file (``build/evidence.sqlite`` by default) in WAL mode, so several build processes
can write while others read. Every write is one ``BEGIN IMMEDIATE`` transaction with
``synchronous=FULL``: a writer killed at any point leaves the store readable and
complete up to its last commit. Records are checked by the same strict loader as JSON
payloads before they are stored, and re-checked when read back.

An observation is keyed by (design hash, target, tool versions, build conditions): the
clock constraint, placer seed and options a build was asked for are part of what was
measured, so the same design built at another clock is another row. Adding one that is
already stored with the same figures returns the stored id; adding one whose figures
differ is an error naming the field, because two measurements of one design point
with the same tools under the same conditions must agree.

A store written by schema version 1 (no build conditions) is upgraded in place, in one
transaction, the first time this version opens it; its rows keep "no stated conditions".
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stochflow.surrogate.evidence import (
    ObservationLoadError,
    first_difference,
    load_observations,
    observation_from_json,
    payload_from_observations,
    utc_now,
    write_payload,
)
from stochflow.surrogate.observation import Observation, canonical_json

from .errors import FlowError, UsageError

DEFAULT_STORE_PATH = Path("build") / "evidence.sqlite"
STORE_SCHEMA_VERSION = 2
DEFAULT_BUSY_TIMEOUT_S = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS observations (
    id INTEGER PRIMARY KEY,
    design_hash TEXT NOT NULL,
    target TEXT NOT NULL,
    tools TEXT NOT NULL,
    build TEXT NOT NULL,
    device TEXT NOT NULL,
    design_name TEXT NOT NULL,
    created_utc TEXT,
    stored_utc TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (design_hash, target, tools, build)
);
CREATE INDEX IF NOT EXISTS observations_by_target ON observations (target, design_hash);
CREATE TABLE IF NOT EXISTS failures (
    id INTEGER PRIMARY KEY,
    design_hash TEXT NOT NULL,
    target TEXT NOT NULL,
    step TEXT NOT NULL,
    reason TEXT NOT NULL,
    log_path TEXT,
    time_utc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_by_design ON failures (design_hash, target);
CREATE TABLE IF NOT EXISTS build_cache (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    observation_id INTEGER REFERENCES observations (id),
    updated_utc TEXT NOT NULL
);
"""


# Version 1 → 2: observations gain the build-conditions column, part of the unique key.
_UPGRADE_1_TO_2 = """
CREATE TABLE observations_v2 (
    id INTEGER PRIMARY KEY,
    design_hash TEXT NOT NULL,
    target TEXT NOT NULL,
    tools TEXT NOT NULL,
    build TEXT NOT NULL,
    device TEXT NOT NULL,
    design_name TEXT NOT NULL,
    created_utc TEXT,
    stored_utc TEXT NOT NULL,
    record TEXT NOT NULL,
    UNIQUE (design_hash, target, tools, build)
);
INSERT INTO observations_v2
    (id, design_hash, target, tools, build, device, design_name, created_utc, stored_utc, record)
    SELECT id, design_hash, target, tools, 'null', device, design_name, created_utc, stored_utc,
           record FROM observations;
DROP TABLE observations;
ALTER TABLE observations_v2 RENAME TO observations;
CREATE INDEX IF NOT EXISTS observations_by_target ON observations (target, design_hash);
UPDATE meta SET value = '2' WHERE key = 'schema_version'
"""


class EvidenceConflictError(FlowError):
    """Two measurements of one design point under the same conditions disagree."""


@dataclass(frozen=True)
class BuildFailure:
    """A build step that failed; kept so the loop does not retry it blindly."""

    id: int
    design_hash: str
    target: str
    step: str
    reason: str
    log_path: str | None
    time_utc: str


@dataclass(frozen=True)
class CacheEntry:
    key: str
    value: Any
    observation_id: int | None
    updated_utc: str


class EvidenceStore:
    """Observations, failed builds and build-cache entries in one SQLite file.

    Open one per process (SQLite connections must not cross ``fork``); use it as a
    context manager or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_STORE_PATH,
        *,
        busy_timeout_s: float = DEFAULT_BUSY_TIMEOUT_S,
    ) -> None:
        self.path = Path(path)
        self.busy_timeout_s = busy_timeout_s
        if self.path.is_dir():
            raise UsageError(f"{self.path}: is a folder; the evidence store is one SQLite file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._conn = sqlite3.connect(self.path, timeout=busy_timeout_s, isolation_level=None)
        except sqlite3.Error as error:
            raise FlowError(f"{self.path}: cannot open the evidence store: {error}") from None
        try:
            self._configure()
        except sqlite3.DatabaseError as error:
            self._conn.close()
            raise FlowError(f"{self.path}: not a usable evidence store: {error}") from None
        except BaseException:
            self._conn.close()
            raise

    # ------------------------------------------------------------------ plumbing

    def _configure(self) -> None:
        conn = self._conn
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise FlowError(f"{self.path}: SQLite refused WAL mode (got {mode})")
        conn.execute("PRAGMA synchronous=FULL")
        with self._transaction():
            conn.execute(
                "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            stored = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if stored is not None and stored[0] == "1":
                # The cache table points at observations: keep ids, check links after.
                for statement in _UPGRADE_1_TO_2.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(STORE_SCHEMA_VERSION),),
            )
            (version,) = conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'"
            ).fetchone()
        conn.execute("PRAGMA foreign_keys=ON")
        if version != str(STORE_SCHEMA_VERSION):
            raise FlowError(
                f"{self.path}: evidence store schema version {version}; this stochflow "
                f"reads version {STORE_SCHEMA_VERSION}"
            )

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; the write lock is taken up front so writers queue, not fail."""
        self._begin_immediate()
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _begin_immediate(self) -> None:
        """Take the write lock, retrying every few milliseconds until the busy timeout.

        SQLite's own busy handler backs off to 100 ms sleeps, so writers queued behind
        short transactions would mostly sleep; polling with a short, jittered delay keeps
        several writer processes close to the single-writer rate.
        """
        deadline = time.monotonic() + self.busy_timeout_s
        delay = 0.0005
        self._conn.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    if "locked" not in str(error) and "busy" not in str(error):
                        raise
                    if time.monotonic() >= deadline:
                        raise FlowError(
                            f"{self.path}: the evidence store stayed locked by another writer "
                            f"for {self.busy_timeout_s:g} s"
                        ) from None
                time.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 0.01)
        finally:
            self._conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> EvidenceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        (value,) = self._conn.execute(
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ).fetchone()
        return int(value)

    # ------------------------------------------------------------------ observations

    def add(self, observation: Observation) -> int:
        """Store one observation; its id. Idempotent; a conflicting repeat raises."""
        checked = _checked(observation)
        with self._transaction() as conn:
            return self._add_in(conn, checked)

    def _add_in(self, conn: sqlite3.Connection, observation: Observation) -> int:
        design_hash, target, tools, conditions = observation.key
        row = conn.execute(
            "SELECT id, record FROM observations "
            "WHERE design_hash = ? AND target = ? AND tools = ? AND build = ?",
            (design_hash, target, tools, conditions),
        ).fetchone()
        if row is not None:
            stored_id, record = row
            stored = observation_from_json(json.loads(record), file=str(self.path))
            difference = first_difference(stored.measurement_json(), observation.measurement_json())
            if difference is not None:
                field, old, new = difference
                raise EvidenceConflictError(
                    f"{self.path}: observation of design {design_hash[:12]} on {target} "
                    f"(tools {tools}, build {conditions}) conflicts with stored observation "
                    f"{stored_id}: {field}: {old} stored, {new} new"
                )
            return int(stored_id)
        cursor = conn.execute(
            "INSERT INTO observations (design_hash, target, tools, build, device, design_name, "
            "created_utc, stored_utc, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                design_hash,
                target,
                tools,
                conditions,
                observation.device,
                observation.design_name,
                observation.created_utc,
                utc_now(),
                canonical_json(observation.to_json()),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def observations(
        self, target: str | None = None, design_hash: str | None = None, after_id: int = 0
    ) -> list[Observation]:
        """Stored observations in the order they were added, optionally filtered (``after_id``:
        only those added after the observation of that id, see :meth:`last_id`)."""
        rows = self._conn.execute(
            "SELECT id, record FROM observations "
            "WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR design_hash = ?2) AND id > ?3 "
            "ORDER BY id",
            (target, design_hash, after_id),
        ).fetchall()
        return [self._decode(row_id, record) for row_id, record in rows]

    def observation(self, observation_id: int) -> Observation:
        row = self._conn.execute(
            "SELECT record FROM observations WHERE id = ?", (observation_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"{self.path}: no observation with id {observation_id}")
        return self._decode(observation_id, row[0])

    def last_id(self) -> int:
        """The id of the newest observation (0: none): a mark to ask what was added since."""
        return int(self._conn.execute("SELECT COALESCE(MAX(id), 0) FROM observations").fetchone()[0])

    def count(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM observations").fetchone()[0])

    def _decode(self, row_id: int, record: str) -> Observation:
        return observation_from_json(json.loads(record), file=f"{self.path}#observation {row_id}")

    def export_json(self, path: str | os.PathLike[str]) -> int:
        """Write every observation as one payload (atomically); how many were written."""
        observations = self.observations()
        write_payload(payload_from_observations(observations), path)
        return len(observations)

    def import_json(self, path: str | os.PathLike[str]) -> list[int]:
        """Add every observation of a payload file, all or nothing; their ids in file order.

        The file is read by the strict loader first; a record that conflicts with the
        store rolls the whole import back.
        """
        observations = load_observations(path)
        with self._transaction() as conn:
            return [self._add_in(conn, observation) for observation in observations]

    # ------------------------------------------------------------------ failures

    def add_failure(
        self,
        design_hash: str,
        target: str,
        step: str,
        reason: str,
        log_path: str | os.PathLike[str] | None = None,
        *,
        time_utc: str | None = None,
    ) -> int:
        """Record a failed build step (synth, pnr, sim, …) with why and where its log is."""
        for name, value in (
            ("design_hash", design_hash),
            ("target", target),
            ("step", step),
            ("reason", reason),
        ):
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f"build failure: {name} must be a non-empty string, got {value!r}")
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO failures (design_hash, target, step, reason, log_path, time_utc) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    design_hash,
                    target,
                    step,
                    reason,
                    None if log_path is None else str(log_path),
                    time_utc or utc_now(),
                ),
            )
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def failures(
        self,
        target: str | None = None,
        design_hash: str | None = None,
        step: str | None = None,
    ) -> list[BuildFailure]:
        rows = self._conn.execute(
            "SELECT id, design_hash, target, step, reason, log_path, time_utc FROM failures "
            "WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR design_hash = ?2) "
            "AND (?3 IS NULL OR step = ?3) ORDER BY id",
            (target, design_hash, step),
        ).fetchall()
        return [BuildFailure(*row) for row in rows]

    # ------------------------------------------------------------------ build cache

    def put_cache(self, key: str, value: Any, *, observation_id: int | None = None) -> None:
        """Remember a build result under its content key (replaces an older entry)."""
        if not isinstance(key, str) or not key:
            raise UsageError(f"build cache: key must be a non-empty string, got {key!r}")
        if value is None:
            raise UsageError(f"build cache: {key}: a value of None cannot be told from a miss")
        try:
            text = canonical_json(value)
        except (TypeError, ValueError) as error:
            raise UsageError(f"build cache: {key}: value is not finite JSON: {error}") from None
        with self._transaction() as conn:
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO build_cache (key, value, observation_id, updated_utc) "
                    "VALUES (?, ?, ?, ?)",
                    (key, text, observation_id, utc_now()),
                )
            except sqlite3.IntegrityError:
                raise UsageError(
                    f"build cache: {key}: no stored observation with id {observation_id}"
                ) from None

    def get_cache(self, key: str) -> Any | None:
        """The value stored under ``key``, or None on a miss."""
        entry = self.cache_entry(key)
        return None if entry is None else entry.value

    def cache_entry(self, key: str) -> CacheEntry | None:
        row = self._conn.execute(
            "SELECT key, value, observation_id, updated_utc FROM build_cache WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        return CacheEntry(row[0], json.loads(row[1]), row[2], row[3])


def _checked(observation: Observation) -> Observation:
    """The observation exactly as it will be read back: checked, then through JSON text."""
    if not isinstance(observation, Observation):
        raise UsageError(f"expected an Observation, got {type(observation).__name__}")
    observation_from_json(observation.to_json())  # names the field of a NaN or a bad count
    try:
        text = canonical_json(observation.to_json())
    except (TypeError, ValueError) as error:
        raise ObservationLoadError(
            f"not JSON-serialisable: {error}", design_hash=observation.design_hash
        ) from None
    return observation_from_json(json.loads(text))
