"""A design under test: a network, its generated core RTL and the manifest facts the
bench checks (ports, ``latency_cycles``), and the inputs to run on it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from stochflow.hdl import golden
from stochflow.hdl.errors import SpecError
from stochflow.hdl.network import Network

from .errors import SimulationError
from .job import DesignJob, write_atomic

__all__ = ["NETWORK_TOP", "DesignUnderTest", "SimulationCase", "checked_inputs"]

NETWORK_TOP = "sc_network"


@dataclass(frozen=True, eq=False)
class DesignUnderTest:
    """A network and its generated core RTL, with the manifest facts the bench checks."""

    network: Network
    verilog: Path
    ports: list[dict[str, Any]]
    latency_cycles: int
    label: str

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], network: Network) -> DesignUnderTest:
        """A ``stochflow generate`` folder; its design.json must describe ``network``."""
        root = Path(folder)
        try:
            manifest = json.loads((root / "design.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise SimulationError(f"{root / 'design.json'}: cannot read the manifest ({error})") \
                from None
        if manifest.get("design_hash") != network.design_hash:
            raise SimulationError(
                f"{root / 'design.json'}: design_hash {str(manifest.get('design_hash'))[:12]} "
                f"is not the network's ({network.design_hash[:12]})"
            )
        verilog = root / manifest["rtl"]["file"]
        try:
            digest = hashlib.sha256(verilog.read_bytes()).hexdigest()
        except OSError as error:
            raise SimulationError(f"{verilog}: cannot read the RTL ({error.strerror})") from None
        if digest != manifest["rtl"]["sha256"]:
            raise SimulationError(f"{verilog}: changed since design.json was written (sha256)")
        return cls(network, verilog, list(manifest["ports"]), int(manifest["latency_cycles"]),
                   manifest.get("name", network.config.name))

    @classmethod
    def generate(
        cls, network: Network, folder: str | os.PathLike[str], label: str | None = None
    ) -> DesignUnderTest:
        """Write only ``sc_network.v`` for ``network`` into ``folder`` (no board, no manifest)."""
        from stochflow.hdl.generate import NETWORK_FILE, network_ports, network_verilog
        from stochflow.hdl.rtl_network import latency_cycles

        root = Path(folder)
        root.mkdir(parents=True, exist_ok=True)
        path = root / NETWORK_FILE
        write_atomic(path, network_verilog(network))
        return cls(network, path, network_ports(network), latency_cycles(network),
                   label or network.config.name)

    def job(
        self, prefix: str, inputs_q: np.ndarray, expected: golden.GoldenResult | None
    ) -> DesignJob:
        """The bench's job entry for this design (``expected`` None: nothing is checked)."""
        layers = self.network.layers
        return DesignJob(
            label=self.label,
            prefix=prefix,
            layer_names=[layer.name for layer in layers],
            layer_outputs=[layer.n_out for layer in layers],
            layer_lengths=[layer.bitstream_length for layer in layers],
            input_precision=layers[0].precision,
            count_bits=layers[-1].count_bits,
            latency_cycles=self.latency_cycles,
            inputs_q=inputs_q,
            expected_counts=None if expected is None else expected.counts[-1],
            expected_spikes=None if expected is None else expected.spikes,
        )


@dataclass(frozen=True, eq=False)
class SimulationCase:
    """One design and the quantised inputs ``(vectors, n_in)`` to simulate on it."""

    design: DesignUnderTest
    inputs_q: np.ndarray


def checked_inputs(case: SimulationCase) -> SimulationCase:
    """Quantised inputs ``(vectors ≥ 1, n_in)``, integers ``0 … 2^p`` (as the golden model)."""
    first = case.design.network.layers[0]
    inputs = np.asarray(case.inputs_q)
    if inputs.ndim != 2 or inputs.shape[1] != first.n_in or inputs.shape[0] < 1:
        raise SpecError("inputs", f"expected shape (vectors ≥ 1, {first.n_in}), got {inputs.shape}")
    if not np.issubdtype(inputs.dtype, np.integer):
        raise SpecError("inputs", f"expected quantised integers, got dtype {inputs.dtype}")
    limit = 1 << first.precision
    if int(inputs.min()) < 0 or int(inputs.max()) > limit:
        raise SpecError(
            "inputs", f"expected values 0…{limit}, got {int(inputs.min())}…{int(inputs.max())}"
        )
    return SimulationCase(case.design, inputs.astype(np.int64))
