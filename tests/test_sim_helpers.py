"""Networks for the RTL simulation tests: seeded integer weights, thresholds tuned so
every layer fires a fair share of the time (a layer that never or always fires would
prove little), and the equivalence matrix's configurations."""

from __future__ import annotations

import fcntl
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from stochflow.hdl import golden
from stochflow.hdl.config import LayerConfig, NetworkConfig, RngSpec
from stochflow.hdl.network import LayerWeights, Network
from stochflow.sim.vectors import InputVectors, dataset_vectors, random_vectors

T = TypeVar("T")
TARGET_RATE = 0.3
THRESHOLDS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 64, 96, 128, 192, 256, 384, 512)


def layer(name: str, n_in: int, n_out: int, **knobs: Any) -> LayerConfig:
    knobs.setdefault("bitstream_length", 32)
    knobs.setdefault("precision", 4)
    knobs.setdefault("weight_rng", RngSpec(width=8, seed=0x5A))
    return LayerConfig(name, n_in, n_out, **knobs)


def _weights(config: LayerConfig, rng: np.random.Generator, signed: bool) -> tuple[np.ndarray, np.ndarray]:
    limit = (1 << config.precision) - 1
    low = -(limit // 2) if signed else 0  # leaning positive, so most neurons can fire
    w = rng.integers(low, limit + 1, size=(config.n_out, config.n_in))
    b = rng.integers(low, limit + 1, size=config.n_out)
    return w.astype(np.int64), b.astype(np.int64)


def tuned_network(
    layers: list[LayerConfig],
    inputs: Callable[[Network], InputVectors],
    *,
    architecture: str = "stream",
    seed: int = 0,
    signed: bool = True,
    name: str = "net",
) -> tuple[Network, InputVectors]:
    """Random weights; each layer's threshold (in order) is the one whose firing rate on
    the test's own inputs is closest to :data:`TARGET_RATE`."""
    rng = np.random.default_rng(seed)
    config = NetworkConfig(name, tuple(layers), architecture)  # type: ignore[arg-type]
    drawn = [_weights(item, rng, signed) for item in layers]
    thresholds = [THRESHOLDS[0]] * len(layers)

    def build() -> Network:
        return Network(config, tuple(LayerWeights(w, b, t)
                                     for (w, b), t in zip(drawn, thresholds, strict=True)))

    vectors = inputs(build())
    for k, item in enumerate(layers):
        best: tuple[float, int] | None = None
        for threshold in THRESHOLDS:
            thresholds[k] = threshold
            result = golden.run(build(), vectors.inputs_q)
            rate = result.counts[k].sum() / (result.counts[k].size * item.bitstream_length)
            if best is None or abs(rate - TARGET_RATE) < best[0]:
                best = (abs(rate - TARGET_RATE), threshold)
        assert best is not None
        thresholds[k] = best[1]
    return build(), vectors


def random_inputs(count: int, seed: int = 1) -> Callable[[Network], InputVectors]:
    return lambda network: random_vectors(network, count, seed)


def digits_inputs(count: int, offset: int = 0) -> Callable[[Network], InputVectors]:
    return lambda network: dataset_vectors(network, "sklearn-digits", count, offset)


# --- sources ----------------------------------------------------------------------------

FIB8 = RngSpec(kind="lfsr", width=8, seed=0x5A, decorrelation="permuted")
FIB8_SHARED = RngSpec(kind="lfsr", width=8, seed=0x3C, decorrelation="shared")
FIB12_ROT = RngSpec(kind="lfsr", width=12, seed=0x9E1, decorrelation="rotated")
FIB16_IND = RngSpec(kind="lfsr", width=16, seed=0xACE1, decorrelation="independent")
FIB32 = RngSpec(kind="lfsr", width=32, seed=0x1234_5678, decorrelation="permuted")
FIB3 = RngSpec(kind="lfsr", width=3, seed=5, decorrelation="rotated")
GAL9_SHARED = RngSpec(kind="lfsr", width=9, seed=0x0F3, structure="galois", decorrelation="shared")
GAL10_IND = RngSpec(kind="lfsr", width=10, seed=0x2C1, structure="galois",
                    decorrelation="independent")
GAL5_ROT = RngSpec(kind="lfsr", width=5, seed=0x13, structure="galois", decorrelation="rotated")
GAL16_PERM = RngSpec(kind="lfsr", width=16, seed=0xBEEF, structure="galois",
                     decorrelation="permuted")
GAL24_IND = RngSpec(kind="lfsr", width=24, seed=0xC0FFEE, structure="galois",
                    decorrelation="independent")
SOBOL8_IND = RngSpec(kind="sobol", width=8, seed=3, dimension=2, decorrelation="independent")
SOBOL6_PERM = RngSpec(kind="sobol", width=6, seed=0, decorrelation="permuted")
SOBOL10_SHARED = RngSpec(kind="sobol", width=10, seed=17, dimension=3, decorrelation="shared")
SOBOL2_SHARED = RngSpec(kind="sobol", width=2, seed=1, decorrelation="shared")
SOBOL12_IND = RngSpec(kind="sobol", width=12, seed=100, dimension=5, decorrelation="independent")
VDC6_PERM = RngSpec(kind="vdc", width=6, seed=5, decorrelation="permuted")
VDC8_SHARED = RngSpec(kind="vdc", width=8, seed=0, decorrelation="shared")
VDC4_SHARED = RngSpec(kind="vdc", width=4, seed=9, decorrelation="shared")
VDC12_PERM = RngSpec(kind="vdc", width=12, seed=77, decorrelation="permuted")


@dataclass(frozen=True)
class MatrixCase:
    """One configuration of the equivalence matrix."""

    layers: tuple[LayerConfig, ...]
    architecture: str = "stream"
    signed: bool = True
    dataset: bool = False
    vectors: int = 4
    seed: int = 0

    def build(self, name: str) -> tuple[Network, InputVectors]:
        inputs = digits_inputs(self.vectors, offset=self.seed) if self.dataset \
            else random_inputs(self.vectors, seed=self.seed + 1)
        return tuned_network(list(self.layers), inputs, architecture=self.architecture,
                             seed=self.seed, signed=self.signed, name=name)


def _s(*layers: LayerConfig, **kw: Any) -> MatrixCase:
    return MatrixCase(tuple(layers), "stream", **kw)


def _r(*layers: LayerConfig, **kw: Any) -> MatrixCase:
    return MatrixCase(tuple(layers), "regenerate", **kw)


L = layer  # short in the table below
MATRIX: dict[str, MatrixCase] = {
    # one layer: every source kind and decorrelation, lengths 16…256, precisions 2…8
    "s1_fib8_perm_L16_p4": _s(L("a", 5, 3, bitstream_length=16, weight_rng=FIB8, input_rng=FIB12_ROT)),
    "s1_gal9_shared_L32_p6_leak_zero": _s(L("a", 6, 4, precision=6, weight_rng=GAL9_SHARED,
                                            input_rng=VDC8_SHARED, leak=1, membrane_init="zero")),
    "s1_fib12_rot_L64_p8": _s(L("a", 4, 3, bitstream_length=64, precision=8, weight_rng=FIB12_ROT,
                                input_rng=GAL16_PERM), seed=1),
    "s1_gal10_ind_L128_p5_fold2": _s(L("a", 5, 4, bitstream_length=128, precision=5,
                                       weight_rng=GAL10_IND, input_rng=SOBOL8_IND, folding=2)),
    "s1_sobol8_ind_L64_p7": _s(L("a", 3, 5, bitstream_length=64, precision=7, weight_rng=SOBOL8_IND,
                                 input_rng=FIB8), seed=2),
    "s1_sobol6_perm_L16_p2": _s(L("a", 4, 3, bitstream_length=16, precision=2, weight_rng=SOBOL6_PERM,
                                  input_rng=VDC6_PERM), seed=3),
    "s1_vdc6_perm_L32_p3_fold1": _s(L("a", 3, 3, precision=3, weight_rng=VDC6_PERM,
                                      input_rng=GAL5_ROT, folding=1)),
    "s1_vdc8_shared_L256_p8_fold3": _s(L("a", 5, 2, bitstream_length=256, precision=8,
                                         weight_rng=VDC8_SHARED, input_rng=SOBOL10_SHARED,
                                         folding=3), vectors=3),
    "s1_fib32_perm_L64_p8_leak2": _s(L("a", 4, 4, bitstream_length=64, precision=8, weight_rng=FIB32,
                                       input_rng=GAL24_IND, leak=2)),
    "s1_fib3_rot_p2_width_min": _s(L("a", 3, 2, bitstream_length=16, precision=2, weight_rng=FIB3,
                                     input_rng=SOBOL2_SHARED), seed=4),
    "s1_sobol2_shared_p2": _s(L("a", 2, 3, bitstream_length=16, precision=2,
                                weight_rng=SOBOL2_SHARED, input_rng=VDC4_SHARED), seed=5),
    "s1_one_input": _s(L("a", 1, 2, bitstream_length=32, precision=4, weight_rng=FIB8_SHARED,
                         input_rng=VDC4_SHARED), seed=6),
    "s1_wide_70_neurons": _s(L("a", 3, 70, bitstream_length=16, precision=4, weight_rng=GAL16_PERM,
                               input_rng=FIB8)),
    "s1_unsigned_p_equals_width": _s(L("a", 3, 3, precision=4, weight_rng=RngSpec(width=4, seed=9),
                                       input_rng=VDC4_SHARED), signed=False),
    "s1_sobol12_ind_L128_p8_zero": _s(L("a", 4, 3, bitstream_length=128, precision=8,
                                        weight_rng=SOBOL12_IND, input_rng=VDC12_PERM,
                                        membrane_init="zero"), vectors=3),
    # two and three layers in lock-step
    "s2_fold_mixed_leak": _s(L("a", 4, 3, weight_rng=GAL9_SHARED, input_rng=SOBOL8_IND, folding=2,
                               leak=1, membrane_init="zero"),
                             L("b", 3, 2, weight_rng=FIB12_ROT), seed=9),
    "s2_sobol_vdc_L64_p6": _s(L("a", 5, 4, bitstream_length=64, precision=6, weight_rng=SOBOL6_PERM,
                                input_rng=VDC6_PERM),
                              L("b", 4, 3, bitstream_length=64, precision=5, weight_rng=VDC8_SHARED)),
    "s2_gal16_ind_L256_p8": _s(L("a", 4, 6, bitstream_length=256, precision=8, weight_rng=GAL24_IND,
                                 input_rng=FIB16_IND),
                               L("b", 6, 2, bitstream_length=256, precision=7, weight_rng=FIB16_IND),
                               vectors=2, seed=2),
    "s2_leak_zero_init": _s(L("a", 10, 6, precision=5, weight_rng=FIB8, input_rng=FIB8_SHARED,
                              leak=2, membrane_init="zero"),
                            L("b", 6, 3, precision=5, weight_rng=GAL10_IND, leak=1,
                              membrane_init="zero"), seed=3),
    "s3_mixed_folding_L16": _s(L("a", 3, 4, bitstream_length=16, weight_rng=GAL10_IND,
                                 input_rng=VDC6_PERM, folding=1),
                               L("b", 4, 3, bitstream_length=16, weight_rng=SOBOL6_PERM, folding=2),
                               L("c", 3, 2, bitstream_length=16, weight_rng=FIB8, folding=4), seed=28),
    "s3_L128_p6_one_output": _s(L("a", 4, 4, bitstream_length=128, precision=6, weight_rng=FIB12_ROT,
                                  input_rng=SOBOL12_IND),
                                L("b", 4, 3, bitstream_length=128, precision=6, weight_rng=GAL9_SHARED,
                                  leak=1),
                                L("c", 3, 1, bitstream_length=128, precision=6, weight_rng=VDC12_PERM),
                                vectors=3, seed=5),
    # regenerate: each layer re-encodes the counts before it
    "r1_single_layer": _r(L("a", 4, 3, weight_rng=FIB8, input_rng=GAL9_SHARED)),
    "r2_floor_shift_p3_L64": _r(L("a", 4, 3, bitstream_length=64, weight_rng=VDC6_PERM,
                                  input_rng=FIB8, folding=3),
                                L("b", 3, 2, bitstream_length=32, precision=3,
                                  weight_rng=GAL9_SHARED, input_rng=GAL10_IND), seed=9),
    "r2_up_shift_p6_L16": _r(L("a", 3, 5, bitstream_length=16, precision=6, weight_rng=SOBOL8_IND,
                               input_rng=FIB12_ROT),
                             L("b", 5, 2, bitstream_length=64, precision=6, weight_rng=FIB8,
                               input_rng=VDC8_SHARED, folding=2, leak=1), seed=1),
    "r3_lengths_precisions": _r(L("a", 3, 3, precision=3, weight_rng=FIB12_ROT, input_rng=SOBOL6_PERM),
                                L("b", 3, 3, bitstream_length=32, precision=6, weight_rng=SOBOL8_IND,
                                  input_rng=VDC6_PERM, folding=2, leak=1),
                                L("c", 3, 2, bitstream_length=16, precision=4, weight_rng=FIB8,
                                  input_rng=GAL9_SHARED, folding=1), seed=15),
    "r2_zero_init_sobol_ind": _r(L("a", 5, 4, bitstream_length=128, precision=7,
                                   weight_rng=GAL16_PERM, input_rng=SOBOL12_IND,
                                   membrane_init="zero"),
                                 L("b", 4, 2, bitstream_length=16, precision=4,
                                   weight_rng=SOBOL10_SHARED, input_rng=SOBOL8_IND,
                                   membrane_init="zero"), vectors=3, seed=2),
    "r2_unsigned_leak": _r(L("a", 4, 3, precision=5, weight_rng=GAL5_ROT, input_rng=VDC8_SHARED,
                             leak=2),
                           L("b", 3, 3, precision=5, weight_rng=FIB16_IND, input_rng=RngSpec(
                               kind="lfsr", width=6, seed=33, decorrelation="independent")),
                           signed=False, seed=4),
    # held-out dataset samples (sklearn digits, 64 inputs), folded
    "digits_s2_fold9_L64_p6": _s(L("a", 64, 6, bitstream_length=64, precision=6, weight_rng=FIB16_IND,
                                   input_rng=RngSpec(kind="sobol", width=10, decorrelation="permuted"),
                                   folding=9),
                                 L("b", 6, 3, bitstream_length=64, precision=6, weight_rng=FIB8),
                                 dataset=True, vectors=3),
    "digits_r2_fold16_L32": _r(L("a", 64, 5, bitstream_length=32, precision=5, weight_rng=GAL16_PERM,
                                 input_rng=FIB8, folding=16),
                               L("b", 5, 3, bitstream_length=16, precision=4, weight_rng=VDC6_PERM,
                                 input_rng=GAL5_ROT), dataset=True, vectors=3, seed=7),
    "digits_s1_fold33_L16_p8": _s(L("a", 64, 4, bitstream_length=16, precision=8,
                                    weight_rng=VDC12_PERM, input_rng=GAL16_PERM, folding=33,
                                    membrane_init="zero"), dataset=True, vectors=4, seed=20),
}


# --- fixtures shared by the simulation tests ----------------------------------------------


@pytest.fixture(scope="session")
def sim_shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of this test run that every xdist worker sees."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / "stochflow-sim"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def sim_cache(sim_shared: Path) -> Path:
    """The Verilator model cache of this test run, shared by the workers: a model or the
    Verilator runtime is compiled once however the tests are distributed."""
    return sim_shared / "cache"


def shared_once(folder: Path, name: str, compute: Callable[[], T]) -> T:
    """``compute()`` once per test run, whichever worker asks first; the others wait for
    it and read the pickled result (tests using it may land on any worker)."""
    result = folder / f"{name}.pickle"
    with (folder / f"{name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if result.is_file():
                return pickle.loads(result.read_bytes())
            value = compute()
            temporary = result.with_suffix(".tmp")
            temporary.write_bytes(pickle.dumps(value))
            os.replace(temporary, result)
            return value
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
