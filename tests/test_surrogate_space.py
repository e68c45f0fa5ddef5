"""Design space enumeration: every option is a valid layer, ranges are restrictable."""

from __future__ import annotations

import numpy as np
import pytest
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.errors import SpecError
from stochflow.surrogate.accuracy import StreamErrorModel
from stochflow.surrogate.space import SpaceLimits, folding_ladder, layer_space, network_space


def _layer(n_in: int = 8, n_out: int = 4) -> LayerConfig:
    return LayerConfig("hidden", n_in, n_out, input_rng=RngSpec(seed=3))


def test_every_option_builds_a_valid_layer() -> None:
    limits = SpaceLimits(lengths=(16, 256), precisions=(4, 8, 12), widths=(8, 16))
    space = layer_space(_layer(), 0, "stream", limits)
    assert space.size > 0
    for option in range(space.size):
        config = space.config(option)
        assert config.precision <= config.weight_rng.width
        assert config.input_rng is not None and config.input_rng.width == config.weight_rng.width
        assert config.fold_cycles == space.fold_cycles[option]
    assert set(space.lengths.tolist()) == {16, 256}


def test_full_default_space_covers_every_knob() -> None:
    space = layer_space(_layer(), 1, "stream", SpaceLimits())
    kinds = {v.weight.kind for v in space.variants}
    decorrelations = {v.weight.decorrelation for v in space.variants}
    assert kinds == {"lfsr", "sobol", "vdc"}
    assert decorrelations == {"shared", "permuted", "rotated", "independent"}
    assert set(space.lengths.tolist()) == {1 << k for k in range(4, 13)}
    assert set(space.precisions.tolist()) == set(range(2, 17))
    assert all(v.input is None for v in space.variants)  # stream layer 1 does not encode
    for width in (8, 16):
        seeds = {v.weight.seed for v in space.variants if v.weight.kind == "lfsr" and v.weight.width == width}
        assert len(seeds) == 4


def test_folding_ladder_is_one_option_per_cycle_count() -> None:
    layer = _layer(n_in=64)
    ladder = folding_ladder(layer, SpaceLimits())
    cycles = [-(-65 // f) for f in ladder]
    assert ladder[0] == 65 and cycles == sorted(set(cycles))
    assert cycles[-1] == 65


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"lengths": [100]}, "space.lengths"),
        ({"precisions": [1]}, "space.precisions"),
        ({"rng_kinds": ["halton"]}, "space.rng_kinds"),
        ({"decorrelations": ["twisted"]}, "space.decorrelations"),
        ({"lfsr_seeds": 0}, "space.lfsr_seeds"),
        ({"bogus": 1}, "space.bogus"),
        ({"polynomials": {"8": [0x81]}}, "space.polynomials"),
    ],
)
def test_bad_limits_name_the_field(data: dict, field: str) -> None:
    with pytest.raises(SpecError) as info:
        SpaceLimits.from_mapping(data)
    assert info.value.field == field


def test_network_space_marks_encoders_and_last_layer() -> None:
    config = NetworkConfig(
        "net",
        (_layer(8, 4), LayerConfig("out", 4, 2, input_rng=RngSpec(seed=5))),
        "regenerate",
    )
    spaces = network_space(config, SpaceLimits(lengths=(64,), precisions=(6,)))
    assert [s.encoder for s in spaces] == [True, True]
    assert [s.last for s in spaces] == [False, True]


def test_stream_error_depends_on_seed_and_shrinks_with_length() -> None:
    limits = SpaceLimits(lengths=(16, 1024), precisions=(8,), rng_kinds=("lfsr",), widths=(16,),
                         decorrelations=("permuted",))
    space = layer_space(_layer(), 0, "stream", limits)
    errors = StreamErrorModel().layer_errors(space)
    assert np.all(errors > 0)
    short = errors[space.lengths == 16]
    long = errors[space.lengths == 1024]
    assert long.mean() < short.mean()
    assert len(np.unique(np.round(long, 12))) > 1  # seeds give different errors


def test_options_are_the_product_in_nesting_order() -> None:
    """L × p × variant × folding × memory, L slowest, keeping p ≤ source width."""
    import itertools

    from stochflow.hdl.config import weight_memory_choices
    from stochflow.surrogate.space import rng_variants

    limits = SpaceLimits(lengths=(64, 16), precisions=(12, 4, 8), widths=(8, 16), lfsr_seeds=2)
    layer = _layer(12, 5)
    space = layer_space(layer, 0, "stream", limits)
    variants = rng_variants(layer, True, limits)
    expected = [
        (length, precision, v, fold, memory)
        for length, precision, v, fold, memory in itertools.product(
            (16, 64), (4, 8, 12), range(len(variants)), folding_ladder(layer, limits),
            ("logic", "block"))
        if precision <= variants[v].weight.width
        and memory in weight_memory_choices(-(-layer.columns // fold))
    ]
    memories = ["block" if b else "logic" for b in space.memory_mask.tolist()]
    got = list(zip(space.lengths.tolist(), space.precisions.tolist(), space.variant.tolist(),
                   space.folding.tolist(), memories, strict=True))
    assert got == expected


def test_cost_rows_share_exactly_equal_features() -> None:
    from stochflow.surrogate.features import cost_rows, layer_feature_matrix

    space = layer_space(_layer(20, 6), 0, "regenerate", SpaceLimits(lengths=(16, 256), lfsr_seeds=3))
    rows, inverse = cost_rows(space)
    features = layer_feature_matrix(space)
    np.testing.assert_array_equal(layer_feature_matrix(rows)[inverse], features)
    assert len(np.unique(features, axis=0)) <= rows.size < space.size


def test_weight_memory_is_a_knob_of_rom_layers_only() -> None:
    from stochflow.hdl.config import ROM_FOLD_CYCLES

    layer = _layer(40, 3)
    space = layer_space(layer, 1, "stream", SpaceLimits(lengths=(64,), precisions=(6,), rng_kinds=("vdc",),
                                                        widths=(8,), decorrelations=("shared",)))
    block = space.memory_mask
    assert block.any() and not block.all()
    assert np.all(space.fold_cycles[block] >= ROM_FOLD_CYCLES)
    rom_cycles = set(space.fold_cycles[space.fold_cycles >= ROM_FOLD_CYCLES].tolist())
    assert set(space.fold_cycles[block].tolist()) == rom_cycles  # both memories for every ROM
    for option in np.flatnonzero(block):
        assert space.config(int(option)).weight_memory == "block"
    logic_only = layer_space(layer, 1, "stream", SpaceLimits(weight_memories=("logic",)))
    assert not logic_only.memory_mask.any()
    with pytest.raises(SpecError) as info:
        SpaceLimits.from_mapping({"weight_memories": ["flash"]})
    assert info.value.field == "space.weight_memories"
