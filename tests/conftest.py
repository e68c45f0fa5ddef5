"""Shared test fixtures: repository paths and the real-report corpus beside the clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def corpus_dir() -> Path | None:
    """``../shared/corpus/reports`` beside the clone (or $STOCHFLOW_CORPUS), if present."""
    override = os.environ.get("STOCHFLOW_CORPUS")
    candidate = Path(override) if override else REPO_ROOT.parent / "shared" / "corpus" / "reports"
    return candidate if (candidate / "MANIFEST.tsv").is_file() else None


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus folder; tests that read it skip (with the reason) only where it is absent."""
    found = corpus_dir()
    if found is None:
        pytest.skip("../shared/corpus/reports is not beside this clone (set STOCHFLOW_CORPUS)")
    return found
