"""sc_board in the Amaranth simulator: serial loading, same latency, the golden class."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.hdl import Const, Module
from amaranth.sim import Simulator
from stochflow.hdl import golden
from stochflow.hdl.config import RngSpec
from stochflow.hdl.network import Network
from stochflow.hdl.rtl_board import ScBoard, argmax_lowest, shift_bits
from stochflow.hdl.rtl_network import latency_cycles
from test_hdl_rtl_helpers import layer, pack_inputs, random_inputs, random_network


def _board_network(n_out: int) -> Network:
    return random_network([
        layer("hidden", 4, 5, input_rng=RngSpec(kind="sobol", width=8), folding=2),
        layer("out", 5, n_out, weight_rng=RngSpec(width=9, seed=0x1C3)),
    ], thresholds=[2, 1], seed=11)


def _run_board(network: Network, inputs_q: np.ndarray) -> tuple[list[int], list[int]]:
    dut = ScBoard(network, core="inline")
    width = shift_bits(network)
    predicted: list[int] = []
    latencies: list[int] = []

    async def bench(ctx):  # type: ignore[no-untyped-def]
        for sample in inputs_q:
            word = pack_inputs(sample, network.layers[0].precision)
            ctx.set(dut.load, 1)
            for bit in range(width):  # least significant bit first
                ctx.set(dut.din, word >> bit & 1)
                await ctx.tick()
            ctx.set(dut.load, 0)
            ctx.set(dut.start, 1)
            await ctx.tick()
            ctx.set(dut.start, 0)
            ctx.set(dut.load, 1)  # must be ignored while busy
            ctx.set(dut.din, 1)
            edge = 0
            while not ctx.get(dut.done):
                await ctx.tick()
                edge += 1
            ctx.set(dut.load, 0)
            latencies.append(edge + 1)
            predicted.append(ctx.get(dut.predicted))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return predicted, latencies


@pytest.mark.parametrize("n_out", [3, 1])
def test_board_predicts_the_golden_class(n_out: int) -> None:
    network = _board_network(n_out)
    inputs_q = random_inputs(network, 4, seed=3)
    model = golden.run(network, inputs_q, engine="numpy")
    predicted, latencies = _run_board(network, inputs_q)
    assert latencies == [latency_cycles(network)] * len(inputs_q)
    if n_out == 1:
        expected = (model.counts[-1][:, 0] >= network.layers[-1].bitstream_length // 2).astype(int)
        assert predicted == expected.tolist()
    else:
        assert predicted == model.predictions.tolist()


@pytest.mark.parametrize(
    "values", [[3, 7, 7, 1], [9, 9, 9], [0, 0, 5, 5, 5], [1], [2, 8, 4, 8, 8, 1, 0]]
)
def test_argmax_takes_lowest_index_on_ties(values: list[int]) -> None:
    index, best = argmax_lowest([Const(v, 4) for v in values])
    dut_values: dict[str, int] = {}

    async def bench(ctx):  # type: ignore[no-untyped-def]
        dut_values["index"] = ctx.get(index)
        dut_values["best"] = ctx.get(best)

    sim = Simulator(Module())
    sim.add_testbench(bench)
    sim.run()
    assert dut_values == {"index": int(np.argmax(values)), "best": max(values)}
