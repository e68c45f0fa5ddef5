"""Datasets a network spec can name, loaded without any download.

``sklearn-digits``: scikit-learn's bundled 8×8 handwritten digits (1797 images,
pixel values 0…16 scaled to [0, 1] by dividing by 16). Held-out split: every sample
whose index is ``3 (mod 4)`` (449 samples); the other 1348 train. The split is a
fixed function of the sample order, so it never depends on a library's shuffling.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

DATASETS: tuple[str, ...] = ("sklearn-digits",)
HELD_OUT_EVERY = 4  # sample i is held out when i % 4 == 3


@dataclass(frozen=True, eq=False)
class Dataset:
    """Inputs in [0, 1] (float64, one row per sample) and integer class labels."""

    name: str
    x_train: np.ndarray  # (n_train, n_features) float64
    y_train: np.ndarray  # (n_train,) int64
    x_test: np.ndarray  # (n_test, n_features) float64, the held-out split
    y_test: np.ndarray  # (n_test,) int64
    classes: int
    image_shape: tuple[int, ...]

    @property
    def features(self) -> int:
        return int(self.x_train.shape[1])


def load_dataset(name: str) -> Dataset:
    """A dataset by name (see :data:`DATASETS`)."""
    if name == "sklearn-digits":
        return _sklearn_digits()
    raise SpecError("network.dataset", f"expected one of {', '.join(DATASETS)}, got {name!r}")


def _sklearn_digits() -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    y = np.asarray(bunch.target, dtype=np.int64)
    held_out = np.arange(len(y)) % HELD_OUT_EVERY == HELD_OUT_EVERY - 1
    for array in (x, y):
        array.setflags(write=False)
    return Dataset(
        name="sklearn-digits",
        x_train=x[~held_out],
        y_train=y[~held_out],
        x_test=x[held_out],
        y_test=y[held_out],
        classes=10,
        image_shape=(8, 8),
    )
