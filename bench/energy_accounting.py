"""Energy per inference of a digits-shaped network on every cost table, and accounting speed.

    python bench/energy_accounting.py [--vectors 256] [--length 256] [--seed 0]

Runs the golden model on seeded random inputs through a 64→16→10 network with seeded
random 8-bit weights (the shape of examples/digits), prices the counted events on every
named cost table and prints, per platform, energy per inference, the dominant layer,
whether the total is complete, and how long counting and pricing took.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from stochflow.flow.profile import synthetic_network
from stochflow.hdl import golden
from stochflow.sim.cost_models import cost_model_names
from stochflow.sim.energy import EnergyAccountant, counts_from_golden
from stochflow.sim.energy_format import format_energy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=256)
    parser.add_argument("--length", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    network = synthetic_network([(64, 16), (16, 10)], args.length, args.seed)
    x = np.random.default_rng(args.seed).random((args.vectors, 64))
    q = golden.quantise_inputs(x, network.input_precision)
    golden.run(network, q)  # warm-up (compilation, prepared tensors)
    start = time.perf_counter()
    result = golden.run(network, q)
    run_s = time.perf_counter() - start
    counts = counts_from_golden(network, result)
    print(
        f"network 64→16→10, L={args.length}, {args.vectors} inferences; golden run "
        f"{run_s * 1e3:.2f} ms ({run_s / args.vectors * 1e6:.1f} µs/inference)"
    )
    for layer in counts:
        print(
            f"  {layer.name}: input spikes {layer.input_spikes:,} (sparsity "
            f"{layer.input_sparsity:.1%}), SynOps {layer.synops:,}, spikes {layer.spikes:,}"
        )
    print(f"{'hardware':<10} {'energy / inference':>32}  {'dominant':<8} complete  price µs")
    for name in cost_model_names():
        start = time.perf_counter()
        report = EnergyAccountant(name).account_counts(counts)
        price_us = (time.perf_counter() - start) * 1e6
        print(
            f"{name:<10} {format_energy(report.per_inference_pj):>32}  "
            f"{report.dominant_layer or '—':<8} {'yes' if report.complete else 'no':<8}  "
            f"{price_us:8.1f}"
        )


if __name__ == "__main__":
    main()
