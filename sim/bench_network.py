"""cocotb bench for ``sc_network``: the RTL against the golden model, bit for bit.

Run by :mod:`stochflow.sim.runner` (the job folder is named by ``$STOCHFLOW_SIM_JOB``,
see :mod:`stochflow.sim.job`). One model may hold several designs (``sc_group``,
:mod:`stochflow.sim.group`); they share the clock and are all stepped from one loop,
so a clock cycle costs one trigger however many designs there are.

Timing follows ``design.json``: the driver sets ``x`` and ``start = 1`` at a falling
edge, so the next rising edge (edge 0) samples them; at every later falling edge it
reads what the edge before produced: each layer's ``spikes_l<k>`` where
``spike_valid_l<k> = 1``, and ``done``. ``done = 1`` seen after edge ``n`` means the
edge ``n + 1`` is the first to sample it: the latency is ``n + 1``. The next inference
starts at once (``done = 1`` implies ``busy = 0``).

In ``throughput`` mode only ``start``/``done`` are touched, to time the model itself.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotb.types import Logic, LogicArray
from cocotb.utils import get_sim_time
from stochflow.sim.job import (
    JOB_ENV,
    PROGRESS_FILE,
    RESULT_FILE,
    DesignJob,
    DesignOutcome,
    Difference,
    first_difference,
    read_job,
    spike_words_to_bits,
    write_atomic,
    write_npz_atomic,
)
from stochflow.sim.vectors import pack_elements, unpack_elements

CLOCK_NS = 10
RESET_CYCLES = 2
PROGRESS_EVERY_S = 0.25


def _unsigned(value: Logic | LogicArray) -> int:
    """A port's value as an unsigned integer (a one-bit port reads as a ``Logic``)."""
    return int(value) if isinstance(value, Logic) else value.to_unsigned()


class NetworkDriver:
    """Drives one design's ports and checks each inference as it completes."""

    def __init__(self, dut: Any, design: DesignJob, check: bool) -> None:
        self.design = design
        self.check = check
        port = lambda name: getattr(dut, f"{design.prefix}{name}")  # noqa: E731
        self.start_port, self.x_port = port("start"), port("x")
        self.done_port, self.counts_port = port("done"), port("counts")
        layers = range(len(design.layer_names))
        self.valid_ports = [port(f"spike_valid_l{k}") for k in layers]
        self.spike_ports = [port(f"spikes_l{k}") for k in layers]
        self.outcome = DesignOutcome(label=design.label)
        self.outcome.spike_counts = [[0] * n for n in design.layer_outputs]
        self.observed_counts = np.zeros(
            (design.vectors, design.layer_outputs[-1]), dtype=np.int64)
        self.vector = 0
        self.edge = -1  # -1: start is being presented; n ≥ 0: between edges n and n + 1
        self.words: list[list[int]] = [[] for _ in layers]
        self.limit = 4 * max(design.latency_cycles, 1) + 64
        self.finished = design.vectors == 0

    def idle(self) -> None:
        self.start_port.value = 0
        self.x_port.value = 0

    def present(self) -> None:
        """Set this vector's inputs and ``start = 1`` for the next rising edge."""
        width = self.design.input_precision + 1
        self.x_port.value = pack_elements(self.design.inputs_q[self.vector], width)
        self.start_port.value = 1
        self.edge = -1
        self.words = [[] for _ in self.words]

    def tick(self) -> None:
        """One falling edge: read what the last rising edge produced, set the next inputs."""
        if self.finished:
            return
        if self.edge == -1:
            self.start_port.value = 0
        self.edge += 1
        self.outcome.cycles += 1
        if self.check:
            for k, valid in enumerate(self.valid_ports):
                level = valid.value
                if not level.is_resolvable:
                    self._abort("unknown-value", f"spike_valid_l{k} is {level}")
                    return
                if level == 1:
                    word = self.spike_ports[k].value
                    if not word.is_resolvable:
                        self._abort("unknown-value", f"spikes_l{k} is {word}")
                        return
                    self.words[k].append(_unsigned(word))
        done = self.done_port.value
        if not done.is_resolvable:
            self._abort("unknown-value", f"done is {done}")
            return
        if done == 1:
            self._complete(latency=self.edge + 1)
        elif self.edge >= self.limit:
            self._abort("timeout", None)

    def _complete(self, latency: int) -> None:
        design, outcome = self.design, self.outcome
        counts = unpack_elements(_unsigned(self.counts_port.value),
                                 design.layer_outputs[-1], design.count_bits)
        self.observed_counts[self.vector] = counts
        spikes = [spike_words_to_bits(words, n)
                  for words, n in zip(self.words, design.layer_outputs, strict=True)]
        for k, train in enumerate(spikes):
            totals = train.sum(axis=0)
            outcome.spike_counts[k] = [a + int(b) for a, b in
                                       zip(outcome.spike_counts[k], totals, strict=True)]
        outcome.latencies.append(latency)
        outcome.vectors_run += 1
        difference = first_difference(design, self.vector, latency, spikes, counts) \
            if self.check else None
        if difference is None:
            outcome.vectors_matched += 1
        elif outcome.first_difference is None:
            outcome.first_difference = difference.to_dict()
        self.vector += 1
        if self.vector == design.vectors:
            self.finished = True
            self.idle()
        else:
            self.present()

    def _abort(self, kind: str, detail: str | None) -> None:
        got = self.edge + 1 if kind == "timeout" else None
        difference = Difference(self.design.label, self.vector, kind,
                                self.design.latency_cycles if kind == "timeout" else None, got)
        self.outcome.vectors_run += 1
        if self.outcome.first_difference is None:
            self.outcome.first_difference = difference.to_dict()
        self.outcome.aborted = detail or difference.describe()
        self.finished = True


def _write_progress(folder: Path, drivers: list[NetworkDriver]) -> None:
    done = sum(driver.outcome.vectors_run for driver in drivers)
    total = sum(driver.design.vectors for driver in drivers)
    write_atomic(folder / PROGRESS_FILE, json.dumps({"done": done, "total": total}))


async def _reset(dut: Any, drivers: list[NetworkDriver]) -> None:
    dut.rst.value = 1
    for driver in drivers:
        driver.idle()
    await ClockCycles(dut.clk, RESET_CYCLES)
    await FallingEdge(dut.clk)
    dut.rst.value = 0


@cocotb.test()
async def network_matches_golden_model(dut: Any) -> None:
    """Every design of the job: all spike trains, counts and latencies as the model says."""
    job_path = Path(os.environ[JOB_ENV])
    folder = job_path.parent
    mode, designs = read_job(job_path)
    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    drivers = [NetworkDriver(dut, design, check=mode == "check") for design in designs]
    await _reset(dut, drivers)
    started = time.perf_counter()
    if mode == "throughput":
        await _run_throughput(dut, drivers)
    else:
        await _run_checked(dut, drivers, folder)
    wall = time.perf_counter() - started
    for index, driver in enumerate(drivers):
        write_npz_atomic(folder / f"observed{index}.npz", counts=driver.observed_counts)
    document = {
        "mode": mode,
        "wall_seconds": wall,
        "clock_cycles": int(get_sim_time(unit="ns") // CLOCK_NS),  # reset included
        "designs": [driver.outcome.to_dict() for driver in drivers],
    }
    write_atomic(folder / RESULT_FILE, json.dumps(document, indent=1) + "\n")
    failures = [driver.outcome for driver in drivers if not driver.outcome.bit_exact]
    if mode == "check" and failures:
        first = failures[0].first_difference
        message = Difference(**first).describe() if first else failures[0].aborted
        raise AssertionError(f"{len(failures)} design(s) differ from the golden model; {message}")


async def _run_checked(dut: Any, drivers: list[NetworkDriver], folder: Path) -> None:
    for driver in drivers:
        if not driver.finished:
            driver.present()
    last_progress = time.perf_counter()
    falling = FallingEdge(dut.clk)
    active = [driver for driver in drivers if not driver.finished]
    while active:
        await falling
        for driver in active:
            driver.tick()
        if any(driver.finished for driver in active):
            active = [driver for driver in active if not driver.finished]
        now = time.perf_counter()
        if now - last_progress > PROGRESS_EVERY_S:
            _write_progress(folder, drivers)
            last_progress = now
    _write_progress(folder, drivers)


async def _run_throughput(dut: Any, drivers: list[NetworkDriver]) -> None:
    """Inferences back to back, touching only start and done: the model's own speed."""
    if len(drivers) != 1:
        raise ValueError("throughput mode takes one design")
    driver = drivers[0]
    design, outcome = driver.design, driver.outcome
    width = design.input_precision + 1
    done_rises = RisingEdge(driver.done_port)
    for vector in range(design.vectors):
        driver.x_port.value = pack_elements(design.inputs_q[vector], width)
        driver.start_port.value = 1
        await RisingEdge(dut.clk)  # edge 0 samples start = 1
        begun = get_sim_time(unit="ns")
        await FallingEdge(dut.clk)
        driver.start_port.value = 0
        await done_rises  # done is registered at the last commit edge
        latency = round((get_sim_time(unit="ns") - begun) / CLOCK_NS) + 1
        await FallingEdge(dut.clk)
        driver.observed_counts[vector] = unpack_elements(
            _unsigned(driver.counts_port.value), design.layer_outputs[-1], design.count_bits)
        outcome.latencies.append(latency)
        outcome.cycles += latency
        outcome.vectors_run += 1
