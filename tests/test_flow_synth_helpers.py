"""Designs for the synthesis-flow tests: a small generated network and hand-written RTL.

``generated_design`` writes a real generated SC network (Amaranth → Verilog + design.json)
so the flow is tested on what it builds in use. ``handwritten_design`` wraps plain
Verilog in a valid manifest, for designs the generator would never make (one too big
for the device).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network


def small_network() -> Network:
    """Two tiny stream layers (6 → 4 → 3, L = 16, 4-bit weights): a few hundred LUTs."""
    layers = (
        LayerConfig(
            "hidden", 6, 4, bitstream_length=16, precision=4,
            weight_rng=RngSpec(width=8, seed=0x5A),
            input_rng=RngSpec(kind="sobol", width=8), folding=3,
        ),
        LayerConfig(
            "out", 4, 3, bitstream_length=16, precision=4, weight_rng=RngSpec(width=8, seed=0x5A)
        ),
    )  # fmt: skip
    rng = np.random.default_rng(4)
    weights = tuple(
        LayerWeights(
            rng.integers(-15, 16, size=(layer.n_out, layer.n_in)).astype(np.int64),
            rng.integers(-15, 16, size=layer.n_out).astype(np.int64),
            threshold,
        )
        for layer, threshold in zip(layers, (3, 2), strict=True)
    )
    return Network(NetworkConfig("tiny", layers, "stream"), weights)


def generated_design(folder: Path) -> Path:
    """Generate ``small_network`` into ``folder``; the path of its design.json."""
    from stochflow.hdl.generate import generate

    return generate(small_network(), folder)


# An LFSR stream, a comparator and a counter: the shape of one SC neuron input.
LFSR_COUNTER_V = """\
module sc_board(input clk, input start, input [7:0] x, output reg done, output reg [7:0] count);
  reg [15:0] lfsr = 16'hACE1;
  reg [8:0] n;
  always @(posedge clk) begin
    lfsr <= {lfsr[14:0], lfsr[15] ^ lfsr[13] ^ lfsr[12] ^ lfsr[10]};
    if (start) begin n <= 0; count <= 0; done <= 0; end
    else if (!done) begin
      n <= n + 1;
      if (lfsr[7:0] < x) count <= count + 1;
      if (n == 9'd255) done <= 1;
    end
  end
endmodule
"""


def too_big_v(lanes: int = 180, width: int = 32) -> str:
    """Independent counters (lanes × width flip-flops): more LCs than an iCE40UP5K has."""
    return f"""\
module sc_board(input clk, input en, output q);
  wire [{lanes - 1}:0] msb;
  genvar i;
  generate for (i = 0; i < {lanes}; i = i + 1) begin : lane
    reg [{width - 1}:0] c = 0;
    always @(posedge clk) if (en) c <= c + (2 * i + 1);
    assign msb[i] = c[{width - 1}];
  end endgenerate
  assign q = ^msb;
endmodule
"""


def handwritten_design(
    folder: Path, verilog: str, *, name: str = "handwritten", latency_cycles: int = 257
) -> Path:
    """Write ``sc_board.v`` and a manifest that describes it; the manifest's path."""
    folder.mkdir(parents=True, exist_ok=True)
    rtl = folder / "sc_board.v"
    rtl.write_text(verilog)
    digest = hashlib.sha256(verilog.encode()).hexdigest()
    manifest = {
        "schema": "stochflow.design/1",
        "name": name,
        "architecture": "stream",
        "design_hash": hashlib.sha256(f"handwritten:{digest}".encode()).hexdigest(),
        "top": "sc_board",
        "rtl": {"file": "sc_board.v", "sha256": digest},
        "layers": [{"name": "single", "n_in": 1, "n_out": 1, "bitstream_length": 256, "precision": 8}],
        "ports": [{"name": "clk", "direction": "in", "width": 1}],
        "latency_cycles": latency_cycles,
    }
    path = folder / "design.json"
    path.write_text(json.dumps(manifest, indent=2))
    return path


def raw_yosys_counts(log_text: str) -> dict[str, int]:
    """Cell counts of the top module in the last stat Yosys printed in its own log text.

    The block runs from the module's ``=== name ===`` header to the next header
    (``=== design hierarchy ===`` repeats the totals); rows look like ``   42   SB_LUT4``.
    """
    import re

    last = log_text.rsplit("Printing statistics.", 1)[-1]
    module_block = re.split(r"^=== .* ===$", last, flags=re.MULTILINE)[1]
    rows = re.findall(r"^\s+(\d+)\s{2,}([A-Za-z_$][\w$]*)\s*$", module_block, re.MULTILINE)
    assert rows, "Yosys printed no cell counts"
    return {cell: int(count) for count, cell in rows}


def raw_yosys_count(log_text: str, cell: str) -> int:
    """The count Yosys printed for ``cell`` (``   42   SB_LUT4``) in its last stat."""
    counts = raw_yosys_counts(log_text)
    assert cell in counts, f"Yosys printed no {cell} count"
    return counts[cell]


def raw_nextpnr_site(log_text: str, site: str) -> tuple[int, int]:
    """Used/available nextpnr printed for ``site`` in its utilisation table."""
    import re

    rows = re.findall(rf"^Info:\s+{re.escape(site)}:\s+(\d+)/\s*(\d+)", log_text, re.MULTILINE)
    assert rows, f"nextpnr printed no {site} row"
    used, available = rows[-1]
    return int(used), int(available)
