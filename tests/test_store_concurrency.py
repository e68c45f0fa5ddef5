"""Several writer processes on one store, and a writer killed in the middle of a transaction."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from stochflow.flow.store import EvidenceStore
from test_evidence_helpers import fake_hash, make_observation

HELPER = Path(__file__).with_name("test_evidence_helpers.py")
WRITERS = 4
PER_WRITER = 500


def _writer(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HELPER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=HELPER.parent,
    )


def _integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def test_four_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    EvidenceStore(path).close()
    writers = [_writer("write", str(path), f"w{n}", str(PER_WRITER)) for n in range(WRITERS)]
    Path(f"{path}.go").touch()
    reported: list[list[int]] = []
    for writer in writers:
        out, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err
        reported.append([int(line) for line in out.split()])
    every_id = [row for rows in reported for row in rows]
    assert len(every_id) == len(set(every_id)) == WRITERS * PER_WRITER
    spans = sorted((min(rows), max(rows)) for rows in reported)
    assert any(a[1] > b[0] for a, b in itertools.pairwise(spans)), "writers never overlapped"
    with EvidenceStore(path) as store:
        stored = store.observations()
    assert len(stored) == WRITERS * PER_WRITER
    expected = {fake_hash(f"w{n}-{i}") for n in range(WRITERS) for i in range(PER_WRITER)}
    assert {observation.design_hash for observation in stored} == expected
    assert _integrity(path) == "ok"


def test_writer_killed_mid_transaction_leaves_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    writer = _writer("hold", str(path), "25")
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "holding"
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert _integrity(path) == "ok"
    with EvidenceStore(path, busy_timeout_s=5) as store:
        hashes = [observation.design_hash for observation in store.observations()]
        assert hashes == [fake_hash(f"held-{i}") for i in range(25)]
        assert fake_hash("never-committed") not in hashes
        store.add(make_observation("after"))  # the write lock was released by the kill
        assert store.count() == 26


def test_writer_killed_at_a_random_point_keeps_every_acknowledged_commit(tmp_path: Path) -> None:
    path = tmp_path / "evidence.sqlite"
    Path(f"{path}.go").touch()
    writer = _writer("write", str(path), "k", "100000")
    assert writer.stdout is not None
    acknowledged = [int(writer.stdout.readline()) for _ in range(150)]
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    assert _integrity(path) == "ok"
    with EvidenceStore(path) as store:
        stored = store.observations()
    # Every acknowledged commit is there; at most the pipe lost the last few acknowledgements.
    assert [observation.design_hash for observation in stored[:150]] == [
        fake_hash(f"k-{i}") for i in range(150)
    ]
    assert len(stored) >= len(acknowledged)
    assert [observation.design_hash for observation in stored] == [
        fake_hash(f"k-{i}") for i in range(len(stored))
    ]
