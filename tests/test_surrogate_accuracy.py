"""Accuracy proxies: the golden reference is unbiased, the stream-error table is exact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stochflow.hdl.config import LayerConfig, RngSpec
from stochflow.hdl.rng import stream_numbers
from stochflow.hdl.spec import load_spec
from stochflow.surrogate.accuracy import ErrorCache, GoldenLayerError, StreamErrorModel
from stochflow.surrogate.space import SpaceLimits, layer_space

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def digits_golden(tmp_path: Path) -> GoldenLayerError:
    spec = load_spec(EXAMPLES / "digits" / "network.toml")
    inputs = np.random.default_rng(0).random((4, spec.n_inputs))
    return GoldenLayerError(spec, inputs, ErrorCache(tmp_path / "errors.sqlite"))


def test_reference_streams_are_unbiased(digits_golden: GoldenLayerError) -> None:
    """Every reference stream sees each value once: its mean is exactly (2^p - 1) / 2^(p+1)."""
    golden = digits_golden
    length, precision = golden.reference_length, golden.reference_precision
    expected = ((1 << precision) - 1) / 2 / (1 << precision)
    knobs = golden._reference_knobs(len(golden.spec.config.layers))
    for layer, entry in zip(golden.spec.config.layers, knobs, strict=True):
        sources = [(entry["weight_rng"], layer.columns)]
        if entry["input_rng"] is not None:
            sources.append((entry["input_rng"], layer.n_in))
        for source, streams in sources:
            numbers = stream_numbers(source, streams, length, precision)
            means = numbers.mean(axis=0) / (1 << precision)
            np.testing.assert_allclose(means, expected, rtol=0, atol=1e-12)
            for j in range(streams):
                assert len(np.unique(numbers[:, j])) == length


def test_a_wide_sobol_register_over_few_points_is_biased() -> None:
    """Why the reference's width is log2 L: 16 bits over 4096 points skews permuted streams."""
    wide = RngSpec(kind="sobol", width=16, seed=0, dimension=1, decorrelation="permuted")
    means = stream_numbers(wide, 65, 4096, 12).mean(axis=0) / 4096
    assert means.min() < 0.2


@pytest.mark.parametrize(("length", "precision"), [(100, 8), (4096, 13), (8, 3)])
def test_reference_settings_are_checked(tmp_path: Path, length: int, precision: int) -> None:
    spec = load_spec(EXAMPLES / "tiny" / "network.toml")
    with pytest.raises(ValueError, match="reference_"):
        GoldenLayerError(spec, np.zeros((1, spec.n_inputs)), ErrorCache(tmp_path / "e.sqlite"),
                         reference_length=length, reference_precision=precision)


def _reference_table(weight: RngSpec, encoder: RngSpec | None, streams: int,
                     lengths: tuple[int, ...], precisions: tuple[int, ...], grid: int) -> np.ndarray:
    """The stream-error definition written out directly (cumulative sums of product bits)."""
    fractions = np.arange(1, grid + 1) / (grid + 1)
    out = np.empty((len(lengths), len(precisions)))
    raw_w = stream_numbers(weight, streams, max(lengths), weight.width).astype(np.int64)
    raw_x = None if encoder is None else stream_numbers(encoder, streams, max(lengths), encoder.width)
    for pi, p in enumerate(precisions):
        levels = np.round(fractions * (1 << p)).astype(np.int64)
        bits_w = (raw_w >> (weight.width - p))[:, :, None] < levels
        if raw_x is None:
            products, target = bits_w, levels / (1 << p)
        else:
            bits_x = (raw_x.astype(np.int64) >> (encoder.width - p))[:, :, None] < levels
            products = bits_w[:, :, :, None] & bits_x[:, :, None, :]
            target = np.outer(levels, levels) / (1 << p) ** 2
        for li, length in enumerate(lengths):
            error = products[:length].sum(axis=0) / length - target
            out[li, pi] = np.sqrt(np.mean(error**2))
    return out


@pytest.mark.parametrize("encoder", [False, True])
@pytest.mark.parametrize("kind", ["lfsr", "sobol", "vdc"])
def test_stream_error_table_matches_its_definition(kind: str, encoder: bool) -> None:
    limits = SpaceLimits(lengths=(16, 64, 256), precisions=(3, 5, 8), rng_kinds=(kind,), widths=(8,),
                         lfsr_seeds=2, decorrelations=("shared", "permuted"))
    layer = LayerConfig("a", 6, 3, input_rng=RngSpec(width=8, seed=9))
    space = layer_space(layer, 0 if encoder else 1, "stream", limits)
    model = StreamErrorModel()
    errors = model.layer_errors(space)
    for v, variant in enumerate(space.variants):
        table = _reference_table(variant.weight, variant.input if encoder else None,
                                 min(model.streams, layer.columns), (16, 64, 256), (3, 5, 8), model.grid)
        rows = np.flatnonzero(space.variant == v)
        li = np.searchsorted((16, 64, 256), space.lengths[rows])
        pi = np.searchsorted((3, 5, 8), space.precisions[rows])
        quantisation = 2.0 ** (-2.0 * space.precisions[rows]) / 12.0
        expected = np.sqrt(layer.columns) * np.sqrt(table[li, pi] ** 2 + quantisation)
        np.testing.assert_allclose(errors[rows], expected, rtol=1e-12)
