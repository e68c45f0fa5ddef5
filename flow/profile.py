"""Cross-platform profile: one network on this CPU, in RTL simulation, on FPGAs and chips.

Each row of :func:`compare` is one platform and says how its figures were obtained:

- ``cpu``: the golden model on this machine; wall time measured here. Energy is
  measured by RAPL (``/sys/class/powercap/intel-rapl*``) where readable (whole
  package, so other activity is included), else a power the user states
  (``assumption:user``), else absent.
- ``verilator``: the RTL simulation's measured cycles per second, through the
  cocotb/Verilator runner hook :data:`RTL_RUNNER` (absent until that runner exists).
- an FPGA target (``ice40-up5k``, ``ecp5-25k``, …): Fmax, latency cycles and power
  from its newest observation in the evidence store; energy per inference is
  power × latency cycles / Fmax. A design that does not fit its device is marked and
  never ranked.
- a cost table (``loihi``, ``7nm``, …): the golden model's counted events priced by
  :class:`stochflow.sim.energy.EnergyAccountant` (modelled; no latency).
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.hdl.spec import NetworkSpec, load_spec
from stochflow.sim.cost_models import EnergyError, HardwareCostModel, cost_model_names
from stochflow.sim.energy import EnergyAccountant, counts_from_golden
from stochflow.surrogate.observation import Observation

from .errors import FlowError, UsageError
from .targets import get_target, known_targets

RAPL_ROOT = Path("/sys/class/powercap")
RTL_RUNNER = "stochflow.sim.runner"  # must provide measure_throughput(network, inputs_q)
RTL_RUNNER_FUNCTION = "measure_throughput"
DEFAULT_PLATFORMS: tuple[str, ...] = ("cpu", "verilator", "ice40-up5k", "ecp5-25k", "loihi", "7nm")


@dataclass(frozen=True)
class ProfileRow:
    """One platform's figures, each with how it was obtained."""

    platform: str
    kind: str  # cpu | rtl-sim | fpga | cost-table
    label: str  # measured | modelled | vendor | unavailable (the weakest of its figures)
    latency_s: float | None = None  # one inference
    throughput_ips: float | None = None  # inferences per second
    energy_per_inference_j: float | None = None
    energy_source: str | None = None
    energy_partial: bool = False  # some cost components have no figure: a lower bound
    clock_mhz: float | None = None
    cycles_per_inference: int | None = None
    fits: bool | None = None
    evidence: str = ""  # which measurement / observation the row comes from
    notes: tuple[str, ...] = ()
    rank: int | None = None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data


@dataclass
class ProfileInputs:
    network: Network
    inputs_q: np.ndarray
    origin: str  # where the network and inputs come from
    notes: list[str] = field(default_factory=list)


# --- the network under test -------------------------------------------------------------------


@dataclass(frozen=True)
class RunInputs:
    network: Network
    x: np.ndarray  # floats in [0, 1], (vectors, n_in)
    origin: str


def load_network(path: Path, choice: Path | None = None) -> tuple[Network, NetworkSpec]:
    """Build the network a spec describes, with an optimiser's ``choice.json`` applied
    when given (and return the spec for its dataset)."""
    if not path.is_file():
        raise UsageError(f"{path}: no such network spec")
    spec = load_spec(path)
    if choice is not None:
        from stochflow.hdl.spec import apply_choice

        from .commands.generate import read_choice

        spec = apply_choice(spec, read_choice(choice), source=str(choice))
    return spec.build(), spec


def held_out_inputs(spec: NetworkSpec, vectors: int) -> tuple[np.ndarray, str] | None:
    """The first ``vectors`` held-out samples of the spec's dataset, if it names one."""
    if spec.dataset is None:
        return None
    x = np.asarray(spec.load_dataset().x_test, dtype=np.float64)[:vectors]
    return x, f"dataset {spec.dataset}, held-out split, first {x.shape[0]} samples"


def run_inputs(path: Path, vectors: int, seed: int, choice: Path | None = None) -> RunInputs:
    if vectors < 1:
        raise UsageError(f"--vectors: expected at least 1, got {vectors}")
    network, spec = load_network(path, choice)
    found = held_out_inputs(spec, vectors)
    if found is None:
        x = np.random.default_rng(seed).random((vectors, network.layers[0].n_in))
        return RunInputs(network, x, f"{vectors} seeded uniform random inputs (seed {seed})")
    x, origin = found
    if x.ndim != 2 or x.shape[1] != network.layers[0].n_in:
        raise UsageError(
            f"{path}: the dataset's samples have shape {x.shape[1:]}, the network takes "
            f"{network.layers[0].n_in} inputs"
        )
    return RunInputs(network, x, origin)


def synthetic_network(
    layer_sizes: Sequence[tuple[int, int]], bitstream_length: int = 256, seed: int = 0
) -> Network:
    """A network of the given shape with seeded random 8-bit weights (for profiling only)."""
    if not layer_sizes:
        raise UsageError("layer_sizes: expected at least one (n_in, n_out)")
    rng = np.random.default_rng(seed)
    precision = 8
    layers, weights = [], []
    for index, size in enumerate(layer_sizes):
        if len(size) != 2:
            raise UsageError(f"layer_sizes[{index}]: expected (n_in, n_out), got {size!r}")
        n_in, n_out = int(size[0]), int(size[1])
        source = RngSpec(kind="lfsr", width=16, seed=1 + index) if index == 0 else None
        layers.append(
            LayerConfig(
                f"layer{index}",
                n_in,
                n_out,
                bitstream_length=bitstream_length,
                precision=precision,
                input_rng=source,
            )
        )
        limit = (1 << precision) - 1
        threshold = max(1, limit * max(1, n_in // 8) // 8)
        weights.append(
            LayerWeights(
                rng.integers(-limit, limit + 1, (n_out, n_in)),
                rng.integers(-limit, limit + 1, n_out),
                threshold,
            )
        )
    return Network(NetworkConfig("synthetic", tuple(layers)), tuple(weights))


def with_bitstream_length(network: Network, length: int) -> Network:
    """The same network at another bitstream length (a new design point)."""
    layers = tuple(layer.with_knobs(bitstream_length=length) for layer in network.layers)
    config = NetworkConfig(network.config.name, layers, network.config.architecture)
    return Network(config, network.weights)


def prepare(
    subject: Network | Sequence[tuple[int, int]],
    *,
    bitstream_length: int | None = None,
    vectors: int = 64,
    inputs: np.ndarray | None = None,
    seed: int = 0,
) -> ProfileInputs:
    notes: list[str] = []
    if isinstance(subject, Network):
        network = subject
        origin = f"network {network.config.name}"
        if bitstream_length is not None:
            network = with_bitstream_length(network, bitstream_length)
            notes.append(f"bitstream length set to {bitstream_length} (a new design point)")
    else:
        network = synthetic_network(subject, bitstream_length or 256, seed)
        origin = f"synthetic network, seeded random weights (seed {seed})"
    if vectors < 1:
        raise UsageError(f"--vectors: expected at least 1, got {vectors}")
    if inputs is None:
        x = np.random.default_rng(seed).random((vectors, network.layers[0].n_in))
        origin += f", {vectors} seeded uniform random inputs (seed {seed})"
    else:
        x = np.asarray(inputs)
        origin += f", {x.shape[0]} given inputs"
    if np.issubdtype(x.dtype, np.integer):
        q = x
    else:
        q = golden.quantise_inputs(x, network.input_precision)
    return ProfileInputs(network, q, origin, notes)


# --- CPU ---------------------------------------------------------------------------------------


def rapl_domains(root: Path = RAPL_ROOT) -> list[Path]:
    """Readable package-level RAPL domains (``intel-rapl:N``, not their sub-zones)."""
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if re.fullmatch(r"intel-rapl:\d+", entry.name) and (entry / "energy_uj").is_file():
            try:
                int((entry / "energy_uj").read_text())
            except (OSError, ValueError):
                continue
            found.append(entry)
    return found


def rapl_read(domains: Sequence[Path]) -> list[int]:
    return [int((domain / "energy_uj").read_text()) for domain in domains]


def rapl_delta_uj(before: int, after: int, max_range_uj: int) -> int:
    """Energy between two readings of a counter that wraps at ``max_range_uj``."""
    return after - before if after >= before else after + max_range_uj - before


def _rapl_energy_j(domains: Sequence[Path], before: Sequence[int], after: Sequence[int]) -> float:
    total = 0
    for domain, start, end in zip(domains, before, after, strict=True):
        max_range = int((domain / "max_energy_range_uj").read_text())
        total += rapl_delta_uj(start, end, max_range)
    return total / 1e6


def profile_cpu(
    setup: ProfileInputs, cpu_power_w: float | None = None, repeats: int = 3
) -> ProfileRow:
    """Time the golden model here (best of ``repeats`` after one warm-up run)."""
    network, q = setup.network, setup.inputs_q
    golden.run(network, q)  # warm-up: numba compilation and the prepared-tensor cache
    domains = rapl_domains()
    best = math.inf
    energy_j: float | None = None
    for _ in range(repeats):
        before = rapl_read(domains) if domains else []
        start = time.perf_counter()
        golden.run(network, q)
        elapsed = time.perf_counter() - start
        if elapsed < best:
            best = elapsed
            if domains:
                energy_j = _rapl_energy_j(domains, before, rapl_read(domains))
    batch = q.shape[0]
    latency = best / batch
    engine = "numba" if golden.numba_available() else "numpy"
    notes = [
        f"golden model ({engine} engine), batch of {batch}; best of {repeats} runs after a warm-up"
    ]
    if energy_j is not None:
        per_inference, source, label = energy_j / batch, "measured:rapl", "measured"
        notes.append("RAPL package energy: includes everything else the package did meanwhile")
    elif cpu_power_w is not None:
        per_inference, source, label = cpu_power_w * latency, "assumption:user", "assumption"
        notes.append(f"energy = {cpu_power_w:g} W stated by the user (an assumption) × wall time")
    else:
        per_inference, source, label = None, None, "measured"
        notes.append("energy absent: RAPL is not readable here and no --cpu-power-w was given")
    return ProfileRow(
        platform="cpu",
        kind="cpu",
        label=label,
        latency_s=latency,
        throughput_ips=1.0 / latency if latency > 0 else None,
        energy_per_inference_j=per_inference,
        energy_source=source,
        evidence=f"wall time measured here ({batch} inferences in {best:.4g} s)",
        notes=tuple(notes),
    )


# --- RTL simulation ---------------------------------------------------------------------------


def profile_rtl(setup: ProfileInputs) -> ProfileRow:
    """Cycles per second of the Verilator model, through :data:`RTL_RUNNER`."""
    try:
        runner = importlib.import_module(RTL_RUNNER)
        measure = getattr(runner, RTL_RUNNER_FUNCTION)
    except (ImportError, AttributeError):
        return ProfileRow(
            platform="verilator",
            kind="rtl-sim",
            label="unavailable",
            notes=(
                f"needs {RTL_RUNNER}.{RTL_RUNNER_FUNCTION}(network, inputs_q) from the "
                "cocotb/Verilator runner, which this build does not have yet",
            ),
        )
    result = measure(setup.network, setup.inputs_q)
    cycles, seconds = int(result["cycles"]), float(result["wall_seconds"])
    inferences = setup.inputs_q.shape[0]
    return ProfileRow(
        platform="verilator",
        kind="rtl-sim",
        label="measured",
        latency_s=seconds / inferences,
        throughput_ips=inferences / seconds if seconds > 0 else None,
        cycles_per_inference=cycles // inferences,
        evidence=(
            f"{result.get('simulator', 'verilator')} {result.get('version', '')}: "
            f"{cycles} cycles in {seconds:.4g} s = {cycles / seconds:,.0f} cycles/s"
        ).strip(),
    )


# --- FPGA targets from observations ----------------------------------------------------------


def fits_device(observation: Observation) -> tuple[bool | None, list[str]]:
    """Whether every resource fits its device; ``None`` when no capacity is stated."""
    over, known = [], False
    for name, figure in observation.resources.items():
        if figure.available is None:
            continue
        known = True
        if figure.used > figure.available:
            over.append(f"{name} {figure.used:g}/{figure.available:g}")
    if over:
        return False, over
    return (True if known else None), []


def _label_of(source: str) -> str:
    if source.startswith("vendor:"):
        return "vendor"
    if source.startswith(("model:", "predicted:", "assumption:")):
        return "modelled"
    return "measured"


def _weakest(labels: Iterable[str]) -> str:
    order = ("unavailable", "modelled", "vendor", "measured")
    present = set(labels)
    return next((label for label in order if label in present), "measured")


def profile_fpga(target: str, design_hash: str, observations: Sequence[Observation]) -> ProfileRow:
    """A target's row from its newest observation of this design."""
    mine = [o for o in observations if o.target == target and o.design_hash == design_hash]
    if not mine:
        return ProfileRow(
            platform=target,
            kind="fpga",
            label="unavailable",
            notes=(
                f"no observation of design {design_hash[:12]} on {target} in the store; "
                f"build it with `stochflow synth` first",
            ),
        )
    observation = mine[-1]
    fits, over = fits_device(observation)
    notes: list[str] = []
    if len(mine) > 1:
        notes.append(f"{len(mine)} observations (different tool versions); the newest is used")
    if fits is False:
        notes.append("does not fit the device: " + ", ".join(over))
    if observation.timing_met is False:
        notes.append("timing not met at the requested clock; figures use the achieved Fmax")
    fmax = observation.fmax_mhz
    cycles = int(observation.latency_cycles.value)
    labels = [_label_of(observation.latency_cycles.source)]
    latency = None
    if fmax is None:
        notes.append("no achieved Fmax in the reports: latency and energy absent")
    else:
        latency = cycles / (fmax * 1e6)
        labels.append(_label_of(next(c.source for c in observation.clocks if c.fmax_mhz == fmax)))
    energy = None
    source = None
    power = observation.power
    if power is None:
        notes.append("no power figure in the observation: energy absent")
    elif latency is not None:
        energy = power.total_w * latency
        source = power.source
        labels.append(_label_of(power.source))
        notes.append(
            f"energy = {power.total_w:g} W ({power.source}) × {cycles} cycles / "
            f"{fmax:g} MHz, taking the power figure to hold at Fmax"
        )
    tools = ", ".join(f"{k} {v}" for k, v in sorted(observation.tools.items()) if v)
    return ProfileRow(
        platform=target,
        kind="fpga",
        label=_weakest(labels),
        latency_s=latency,
        throughput_ips=None if latency is None else 1.0 / latency,
        energy_per_inference_j=energy,
        energy_source=source,
        clock_mhz=fmax,
        cycles_per_inference=cycles,
        fits=fits,
        evidence=f"observation {observation.design_hash[:12]} on {observation.device} ({tools})",
        notes=tuple(notes),
    )


def fpga_cost_model(observation: Observation) -> HardwareCostModel:
    """An FPGA observation as an energy cost model (dynamic + static power × latency)."""
    power, fmax = observation.power, observation.fmax_mhz
    if power is None or fmax is None:
        raise FlowError(
            f"observation {observation.design_hash[:12]} on {observation.target} lacks "
            f"{'power' if power is None else 'an achieved Fmax'}; no energy model without it"
        )
    if power.dynamic_w is None or power.static_w is None:
        raise FlowError(
            f"observation {observation.design_hash[:12]} on {observation.target}: the power "
            f"figure ({power.source}) has no dynamic/static split"
        )
    clock_source = next(c.source for c in observation.clocks if c.fmax_mhz == fmax)
    return HardwareCostModel.from_fpga(
        observation.target,
        dynamic_w=power.dynamic_w,
        dynamic_source=power.source,
        static_w=power.static_w,
        static_source=power.source,
        clock_mhz=fmax,
        clock_source=clock_source,
        latency_cycles=int(observation.latency_cycles.value),
        latency_source=observation.latency_cycles.source,
        design_hash=observation.design_hash,
    )


# --- cost tables -------------------------------------------------------------------------------


def profile_cost_table(name: str, setup: ProfileInputs) -> ProfileRow:
    result = golden.run(setup.network, setup.inputs_q)
    report = EnergyAccountant(name).account_counts(counts_from_golden(setup.network, result))
    notes = [f"events counted by the golden model, priced by {report.model.title}"]
    if not report.complete:
        notes.append("partial: " + "; ".join(report.missing))
    return ProfileRow(
        platform=name,
        kind="cost-table",
        label="modelled",
        energy_per_inference_j=report.per_inference_pj * 1e-12,
        energy_source=f"model:{name}",
        energy_partial=not report.complete,
        evidence=", ".join(f"{c.short()}" for c in report.model.citations()),
        notes=tuple(notes),
    )


# --- the comparison ----------------------------------------------------------------------------


def rank(rows: Sequence[ProfileRow], by: str = "energy") -> list[ProfileRow]:
    """Rank rows that fit (or run off-FPGA) by energy or latency; others stay unranked."""
    key = {"energy": "energy_per_inference_j", "latency": "latency_s"}.get(by)
    if key is None:
        raise UsageError(f"rank by: expected energy or latency, got {by!r}")
    candidates = [
        (getattr(row, key), index)
        for index, row in enumerate(rows)
        if getattr(row, key) is not None and row.fits is not False and row.label != "unavailable"
    ]
    ranks = {index: position for position, (_, index) in enumerate(sorted(candidates), 1)}
    return [replace(row, rank=ranks.get(index)) for index, row in enumerate(rows)]


def compare(
    subject: Network | Sequence[tuple[int, int]],
    platforms: Sequence[str] = DEFAULT_PLATFORMS,
    bitstream_length: int | None = None,
    *,
    vectors: int = 64,
    inputs: np.ndarray | None = None,
    observations: Sequence[Observation] | None = None,
    store_path: str | Path | None = None,
    cpu_power_w: float | None = None,
    rank_by: str = "energy",
    seed: int = 0,
) -> tuple[list[ProfileRow], ProfileInputs]:
    """Profile one network on each platform; rows come back ranked (see :func:`rank`)."""
    setup = prepare(
        subject, bitstream_length=bitstream_length, vectors=vectors, inputs=inputs, seed=seed
    )
    fpga_targets = [p for p in platforms if p in known_targets()]
    if fpga_targets and observations is None:
        observations = load_observations(store_path, setup.network.design_hash)
    rows = []
    for platform in platforms:
        if platform == "cpu":
            rows.append(profile_cpu(setup, cpu_power_w))
        elif platform == "verilator":
            rows.append(profile_rtl(setup))
        elif platform in known_targets():
            get_target(platform)
            rows.append(profile_fpga(platform, setup.network.design_hash, observations or []))
        elif platform in cost_model_names():
            try:
                rows.append(profile_cost_table(platform, setup))
            except EnergyError as error:
                raise UsageError(str(error)) from None
        else:
            known = ["cpu", "verilator", *known_targets(), *cost_model_names()]
            raise UsageError(f"unknown platform {platform!r}; known: {', '.join(known)}")
    return rank(rows, rank_by), setup


def load_observations(store_path: str | Path | None, design_hash: str) -> list[Observation]:
    from .store import DEFAULT_STORE_PATH, EvidenceStore

    path = Path(store_path) if store_path is not None else DEFAULT_STORE_PATH
    if not path.is_file():
        return []
    with EvidenceStore(path) as store:
        return store.observations(design_hash=design_hash)


# --- presentation ------------------------------------------------------------------------------


def _si(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    for prefix, scale in (("", 1.0), ("m", 1e-3), ("µ", 1e-6), ("n", 1e-9), ("p", 1e-12)):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def format_table(results: Sequence[ProfileRow]) -> str:
    """A plain-text table of profile rows, then each row's evidence and notes."""
    header = [
        "rank",
        "platform",
        "figures",
        "latency/inf",
        "inf/s",
        "energy/inf",
        "energy source",
        "clock",
        "cycles",
        "fits",
    ]
    rows = []
    for row in results:
        fits = {True: "yes", False: "NO", None: "—"}[row.fits]
        rows.append(
            [
                "—" if row.rank is None else str(row.rank),
                row.platform,
                row.label,
                _si(row.latency_s, "s"),
                "—" if row.throughput_ips is None else f"{row.throughput_ips:,.0f}",
                ("≥ " if row.energy_partial else "") + _si(row.energy_per_inference_j, "J"),
                row.energy_source or "—",
                "—" if row.clock_mhz is None else f"{row.clock_mhz:.1f} MHz",
                "—" if row.cycles_per_inference is None else f"{row.cycles_per_inference:,}",
                fits,
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    details = []
    for row in results:
        parts = ([row.evidence] if row.evidence else []) + list(row.notes)
        if parts:
            details.append(f"{row.platform}: " + "; ".join(parts))
    return "\n".join([*lines, "", *details])
