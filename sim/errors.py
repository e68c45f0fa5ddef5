"""Errors of the simulation layer (the CLI maps :class:`SimulationError` to exit 1)."""

from __future__ import annotations


class SimulationError(RuntimeError):
    """Simulation work that failed: a missing tool, a failed model build, a crashed run.

    A simulation that ran and disagreed with the golden model is not an error: it is a
    result whose ``bit_exact`` is false, with the first difference attached.
    """
