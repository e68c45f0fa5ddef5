"""Content-addressed build cache: an unchanged design on an unchanged toolchain is free.

The key is the sha256 of a canonical JSON document holding everything that decides a
build's outcome: the RTL files' hashes, design.json's hash, the exact tool package
versions, the Yosys script text, the nextpnr and packer arguments, the target, the
clock and the build options. Change any of them and the key changes.

Results live in the evidence store's cache table when a store is used (one file for
everything), otherwise in a folder of JSON files written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any, Protocol

from .errors import FlowError

KEY_SCHEMA = "stochflow.build-key/2"  # 2: build records carry build conditions
_KEY = re.compile(r"^[0-9a-f]{64}$|^[A-Za-z0-9_.:+-]{1,200}$")


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts`` (sorted keys, no whitespace)."""
    document = {"schema": KEY_SCHEMA, **parts}
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


class BuildCache(Protocol):
    """Where build results are kept between runs."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(
        self, key: str, value: dict[str, Any], *, observation_id: int | None = None
    ) -> None: ...


class DirectoryCache:
    """One JSON file per key under ``root``; each written to a temp file then renamed."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise FlowError(f"cache key {key!r} is not a valid key")
        safe = key.replace(":", "_")
        return self.root / safe[:2] / f"{safe}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            return None  # a damaged entry is a miss; the rebuild overwrites it
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any], *, observation_id: int | None = None) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(value, sort_keys=True, indent=1, allow_nan=False))


class StoreCache:
    """The evidence store's cache table (``get_cache`` / ``put_cache``)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        value = self.store.get_cache(key)
        if value is None:
            return None
        if isinstance(value, (str, bytes)):
            value = json.loads(value)
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any], *, observation_id: int | None = None) -> None:
        self.store.put_cache(key, value, observation_id=observation_id)


def default_cache_dir() -> Path:
    """``$STOCHFLOW_CACHE_DIR``, else ``$XDG_CACHE_HOME/stochflow/builds`` (``~/.cache/…``)."""
    override = os.environ.get("STOCHFLOW_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "stochflow" / "builds"


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def atomic_copy(source: Path, destination: Path) -> None:
    """Copy bytes through a temp file and a rename (RTL copied into a build folder)."""
    data = source.read_bytes()
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent
    )
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temp_name, destination)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
