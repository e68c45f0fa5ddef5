"""Write a network's RTL and its design manifest (``docs/files.md``) into a folder.

Output: ``sc_network.v`` (the core, top ``sc_network``), ``sc_board.v`` (the board
wrapper, top ``sc_board``, which instantiates the module ``sc_network``: synthesis reads
``sc_network.v`` then ``sc_board.v``, so the board is built from exactly the core RTL
the simulations verify), ``weights.npz`` and ``design.json``. Every file is
written atomically and ``design.json`` last, so a folder holding a manifest is complete.
The Verilog is emitted without source locations, so the same network gives the same
bytes wherever it is generated.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import amaranth
from amaranth.back import verilog
from amaranth.hdl import Shape
from amaranth.lib import wiring
from stochflow import __version__

from .network import Network
from .rtl_board import ScBoard, board_signature, shift_bits
from .rtl_network import ScNetwork, latency_cycles, network_signature
from .weights_io import save_network_weights

__all__ = [
    "DESIGN_FILE",
    "DESIGN_SCHEMA",
    "board_ports",
    "board_verilog",
    "design_manifest",
    "generate",
    "network_ports",
    "network_verilog",
]

DESIGN_SCHEMA = "stochflow.design/1"
DESIGN_FILE = "design.json"
NETWORK_TOP, NETWORK_FILE = "sc_network", "sc_network.v"
BOARD_TOP, BOARD_FILE = "sc_board", "sc_board.v"
WEIGHTS_FILE = "weights.npz"

_CLOCK_PORTS = [
    {"name": "clk", "direction": "in", "width": 1,
     "description": "clock; every register changes on its rising edge"},
    {"name": "rst", "direction": "in", "width": 1,
     "description": "synchronous reset, active high: back to idle, done = 0"},
]


def network_verilog(network: Network) -> str:
    return verilog.convert(ScNetwork(network), name=NETWORK_TOP, emit_src=False)


def board_verilog(network: Network) -> str:
    return verilog.convert(ScBoard(network), name=BOARD_TOP, emit_src=False)


def _port(name: str, member: wiring.Member, description: str, **extra: Any) -> dict[str, Any]:
    width = Shape.cast(member.shape).width
    entry = {
        "name": name,
        "direction": "in" if member.flow == wiring.In else "out",
        "width": int(width),
        "description": description,
    }
    entry.update(extra)
    return entry


def _packing(count: int, width: int, element: str) -> dict[str, Any]:
    """A flat port of ``count`` elements: element ``j`` at bits ``[j·width, (j+1)·width)``."""
    return {"elements": count, "element_width": width, "element": element,
            "order": "element 0 in the least significant bits"}


def network_ports(network: Network) -> list[dict[str, Any]]:
    """The ports of ``sc_network``, in signature order, with clock and reset first."""
    first, last = network.layers[0], network.layers[-1]
    members = dict(network_signature(network).members.items())
    ports = list(_CLOCK_PORTS)
    ports.append(_port("start", members["start"],
                       "pulse: the edge that samples start = 1 while busy = 0 starts an inference"))
    ports.append(_port(
        "x", members["x"],
        f"inputs q_j (0…2^{first.precision}), held stable by the driver while busy",
        packing=_packing(first.n_in, first.precision + 1, "q_j"),
    ))
    ports.append(_port("busy", members["busy"], "1 from the edge after start until the last commit"))
    ports.append(_port(
        "done", members["done"],
        "1 from the last commit until the next start; counts are valid while it is 1",
    ))
    ports.append(_port(
        "counts", members["counts"],
        f"spike counts (0…L) of the last layer '{last.name}'",
        packing=_packing(last.n_out, last.count_bits, "count_i"),
    ))
    for index, layer in enumerate(network.layers):
        ports.append(_port(
            f"spikes_l{index}", members[f"spikes_l{index}"],
            f"spike register of layer {index} '{layer.name}' (bit i = neuron i); "
            "sample it where spike_valid_l{index} = 1",
            layer=layer.name,
        ))
        ports.append(_port(
            f"spike_valid_l{index}", members[f"spike_valid_l{index}"],
            f"1 in the cycle after layer {index} '{layer.name}' commits a bit-period "
            "(L times per inference)",
            layer=layer.name,
        ))
    return ports


def board_ports(network: Network) -> list[dict[str, Any]]:
    last = network.layers[-1]
    members = dict(board_signature(network).members.items())
    ports = list(_CLOCK_PORTS)
    ports.append(_port(
        "din", members["din"],
        f"serial input: with load = 1 and the core idle, each edge shifts one bit in; send the "
        f"{shift_bits(network)} bits of sc_network's x least significant bit first",
    ))
    ports.append(_port("load", members["load"], "shift enable for din (ignored while busy)"))
    ports.append(_port("start", members["start"], "as sc_network.start"))
    ports.append(_port("done", members["done"], "as sc_network.done (same latency)"))
    what = ("lowest index of the largest count of the last layer"
            if last.n_out > 1 else "1 when the single output count is at least L/2")
    ports.append(_port("predicted", members["predicted"], f"{what}; valid while done = 1"))
    return ports


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def design_manifest(
    network: Network, network_v: str, board_v: str, *, network_file: str | None
) -> dict[str, Any]:
    """The content of ``design.json`` (see ``docs/files.md``)."""
    return {
        "schema": DESIGN_SCHEMA,
        "generator": {"name": "stochflow", "version": __version__,
                      "amaranth": amaranth.__version__},
        "name": network.config.name,
        "architecture": network.config.architecture,
        "design_hash": network.design_hash,
        "weights_sha256": network.weights_sha256,
        "top": NETWORK_TOP,
        "rtl": {"file": NETWORK_FILE, "sha256": sha256_text(network_v)},
        "board": {"top": BOARD_TOP, "file": BOARD_FILE, "sha256": sha256_text(board_v),
                  "ports": board_ports(network)},
        "layers": [network.layer_record(i) for i in range(len(network.layers))],
        "ports": network_ports(network),
        "cycles_per_period": network.cycles_per_period,
        "latency_cycles": latency_cycles(network),
        "network_file": network_file,
        "weights_file": WEIGHTS_FILE,
    }


def _write_atomic(path: Path, content: str | bytes) -> None:
    data = content.encode() if isinstance(content, str) else content
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; these are ordinary outputs
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def generate(
    network: Network, out_dir: str | os.PathLike[str], *, network_file: str | os.PathLike[str] | None = None
) -> Path:
    """Write RTL, weights and manifest into ``out_dir``; returns the ``design.json`` path."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # An old manifest goes first: until the new one lands, the folder claims nothing.
    (folder / DESIGN_FILE).unlink(missing_ok=True)
    network_v = network_verilog(network)
    board_v = board_verilog(network)
    _write_atomic(folder / NETWORK_FILE, network_v)
    _write_atomic(folder / BOARD_FILE, board_v)
    save_network_weights(network, folder / WEIGHTS_FILE)  # atomic
    manifest = design_manifest(
        network, network_v, board_v,
        network_file=None if network_file is None else os.fspath(network_file),
    )
    target = folder / DESIGN_FILE
    _write_atomic(target, json.dumps(manifest, indent=2) + "\n")
    return target
