"""The simulation layer's pure parts: grouping, port packing, the comparison order,
coverage names. (Everything that needs Verilator is in the other test_sim files.)"""

from __future__ import annotations

import re

import numpy as np
import pytest
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.errors import SpecError
from stochflow.hdl.generate import network_ports, network_verilog
from stochflow.hdl.network import LayerWeights, Network
from stochflow.sim.coverage import demangle
from stochflow.sim.errors import SimulationError
from stochflow.sim.group import GROUP_TOP, GroupMember, group_wrapper, prefixed_verilog
from stochflow.sim.job import DesignJob, first_difference, spike_words_to_bits
from stochflow.sim.vectors import (
    dataset_vectors,
    pack_elements,
    random_vectors,
    unpack_elements,
)


@pytest.fixture(scope="module")
def small_network() -> Network:
    layers = (
        LayerConfig("a", 3, 2, bitstream_length=16, precision=3,
                    weight_rng=RngSpec(width=6, seed=3), input_rng=RngSpec(kind="vdc", width=4)),
        LayerConfig("b", 2, 2, bitstream_length=16, precision=3,
                    weight_rng=RngSpec(width=6, seed=5)),
    )
    weights = (
        LayerWeights(np.array([[1, -2, 3], [4, 5, -6]]), np.array([1, 2]), 3),
        LayerWeights(np.array([[7, -1], [2, 2]]), np.array([0, -3]), 2),
    )
    return Network(NetworkConfig("small", layers), weights)


def test_prefixed_verilog_renames_every_module(small_network: Network) -> None:
    text = network_verilog(small_network)
    renamed = prefixed_verilog(text, "sc_network", "d7_")
    modules = re.findall(r"^\s*module\s+(\S+)", renamed, re.MULTILINE)
    assert modules[0].startswith("d7_sc_network(")
    assert all(name.startswith(("d7_sc_network", "\\d7_sc_network.")) for name in modules)
    assert len(modules) == len(re.findall(r"^\s*module\s", text, re.MULTILINE))
    assert not re.search(r"(?<![\w$])sc_network(?![\w$])", renamed)
    # only names change: the text is the same once the prefix is removed again
    assert renamed.replace("d7_sc_network", "sc_network") == text


def test_prefixed_verilog_refuses_what_it_cannot_group() -> None:
    with pytest.raises(SimulationError, match="non-empty prefix"):
        prefixed_verilog("module sc_network(); endmodule", "sc_network", "")
    with pytest.raises(SimulationError, match="no module"):
        prefixed_verilog("module other(); endmodule", "sc_network", "d0_")
    with pytest.raises(SimulationError, match="not under"):
        prefixed_verilog("module sc_network(); endmodule\nmodule helper(); endmodule\n",
                         "sc_network", "d0_")


def test_group_wrapper_prefixes_ports_and_shares_the_clock(small_network: Network) -> None:
    ports = network_ports(small_network)
    text = group_wrapper([GroupMember("d0_", "d0_sc_network", ports),
                          GroupMember("d1_", "d1_sc_network", ports)])
    assert text.count("input wire clk") == 1 and text.count("input wire rst") == 1
    x_width = next(port["width"] for port in ports if port["name"] == "x")
    assert f"input wire [{x_width - 1}:0] d1_x" in text
    assert "output wire d0_spike_valid_l1" in text
    assert "d1_sc_network d1 (" in text and ".counts(d1_counts)" in text
    assert text.startswith("// Generated") and f"module {GROUP_TOP} (" in text


def _job(expected_spikes: list[np.ndarray], counts: np.ndarray) -> DesignJob:
    return DesignJob(
        label="t", prefix="", layer_names=["a", "b"], layer_outputs=[3, 2],
        layer_lengths=[4, 4], input_precision=3, count_bits=3, latency_cycles=6,
        inputs_q=np.zeros((1, 2), dtype=np.int64), expected_counts=counts,
        expected_spikes=expected_spikes,
    )


def test_first_difference_is_found_in_causal_order() -> None:
    rng = np.random.default_rng(0)
    spikes = [rng.random((1, 4, 3)) < 0.5, rng.random((1, 4, 2)) < 0.5]
    counts = spikes[1].sum(axis=1)
    job = _job(spikes, counts)
    observed = [spikes[0][0].copy(), spikes[1][0].copy()]
    assert first_difference(job, 0, 6, observed, counts[0]) is None

    late = [observed[0], observed[1].copy()]
    late[1][3, 1] = ~late[1][3, 1]
    early = [observed[0].copy(), late[1]]
    early[0][2, 2] = ~early[0][2, 2]
    found = first_difference(job, 0, 6, early, counts[0])
    assert found is not None and (found.kind, found.layer, found.bit_period, found.neuron) == \
        ("spikes", 0, 2, 2)
    assert found.expected == int(spikes[0][0, 2, 2]) and found.got == 1 - found.expected
    found = first_difference(job, 0, 6, late, counts[0])
    assert found is not None and (found.layer, found.bit_period, found.neuron) == (1, 3, 1)

    short = [observed[0][:3], observed[1]]
    found = first_difference(job, 0, 6, short, counts[0])
    assert found is not None and (found.kind, found.expected, found.got) == ("periods", 4, 3)

    wrong_counts = counts[0].copy()
    wrong_counts[1] += 1
    found = first_difference(job, 0, 6, observed, wrong_counts)
    assert found is not None and (found.kind, found.neuron, found.layer) == ("counts", 1, 1)

    found = first_difference(job, 0, 7, observed, counts[0])
    assert found is not None and (found.kind, found.expected, found.got) == ("latency", 6, 7)
    assert "latency" in found.describe() and "expected 6, got 7" in found.describe()


def test_spike_words_unpack_beyond_64_neurons() -> None:
    words = [(1 << 69) | 1, 1 << 64, 0]
    bits = spike_words_to_bits(words, 70)
    assert bits.shape == (3, 70)
    assert bits[0].nonzero()[0].tolist() == [0, 69]
    assert bits[1].nonzero()[0].tolist() == [64]
    assert not bits[2].any()
    assert spike_words_to_bits([], 5).shape == (0, 5)


def test_packing_round_trips_and_refuses_overflow() -> None:
    values = np.array([0, 8, 3, 5])
    word = pack_elements(values, 4)
    assert word == 0 | 8 << 4 | 3 << 8 | 5 << 12
    assert unpack_elements(word, 4, 4).tolist() == values.tolist()
    with pytest.raises(ValueError, match="element 1"):
        pack_elements([1, 16], 4)


def test_random_vectors_include_the_extremes(small_network: Network) -> None:
    vectors = random_vectors(small_network, 5, seed=2)
    assert vectors.inputs_q.shape == (5, 3)
    assert vectors.inputs_q[0, 0] == 1 << 3 and vectors.inputs_q[0, 1] == 0
    assert np.array_equal(vectors.inputs_q, random_vectors(small_network, 5, seed=2).inputs_q)
    with pytest.raises(SpecError, match="vectors"):
        random_vectors(small_network, 0)


def test_dataset_vectors_are_held_out_samples(small_network: Network) -> None:
    with pytest.raises(SpecError, match="64 features"):
        dataset_vectors(small_network, "sklearn-digits", 4)
    layer = LayerConfig("a", 64, 2, bitstream_length=16, precision=4,
                        weight_rng=RngSpec(width=8), input_rng=RngSpec(width=8))
    weights = LayerWeights(np.ones((2, 64), dtype=np.int64), np.zeros(2, dtype=np.int64), 4)
    network = Network(NetworkConfig("d", (layer,)), (weights,))
    vectors = dataset_vectors(network, "sklearn-digits", 3, offset=2)
    assert vectors.inputs_q.shape == (3, 64) and vectors.labels is not None
    assert vectors.origin == "sklearn-digits held-out samples 2…4"
    assert int(vectors.inputs_q.max()) <= 16


def test_demangle_gives_back_verilog_names() -> None:
    assert demangle("__02412") == "$12"
    assert demangle("counts__024__05B0__05D") == "counts$[0]"
    assert demangle("plain_name") == "plain_name"
