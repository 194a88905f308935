#!/usr/bin/env python3
"""The archive's benchmark classifiers on BasicMotions' official split, recomputed: 1-nearest
neighbour with Euclidean distance (ED), independent DTW (DTW_I: the sum of each dimension's DTW)
and dependent DTW (DTW_D: one warping path, squared distance summed over the 6 dimensions), full
warping window, raw (unnormalised) series. These are the baselines Bagnall et al. 2018 publish
for every problem of the archive; recomputing them checks that make_data.py's files are the
archive's split, and puts featgen's accuracy beside them on the same 40 test cases.

    python examples/basic_motions/make_data.py -o out/basic_motions
    python examples/basic_motions/baseline.py out/basic_motions      # about 30 s
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(cases (n, 100, 6), labels (n,)) of one NPZ written by make_data.py, in file order."""
    with np.load(path) as archive:
        names = [k for k in archive.files if "." not in k]
        return (
            np.stack([archive[k] for k in names]),
            np.array([int(archive[f"{k}.label"][0]) for k in names]),
        )


def dtw(test: np.ndarray, train: np.ndarray) -> np.ndarray:
    """Full-window DTW distances (squared pointwise cost summed over the last axis), every test
    case against every training case at once: (n_test, n_train)."""
    cost = ((test[:, None, :, None, :] - train[None, :, None, :, :]) ** 2).sum(-1)
    n = cost.shape[-1]
    d = np.full(cost.shape[:2] + (n + 1, n + 1), np.inf)
    d[:, :, 0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, n + 1):
            d[:, :, i, j] = cost[:, :, i - 1, j - 1] + np.minimum(
                np.minimum(d[:, :, i - 1, j - 1], d[:, :, i - 1, j]), d[:, :, i, j - 1]
            )
    return d[:, :, n, n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the directory make_data.py wrote")
    args = parser.parse_args(argv)
    train, y_train = load(args.data / "basic_motions_train.npz")
    test, y_test = load(args.data / "basic_motions_test.npz")
    distances = {
        "1NN-ED": ((test[:, None] - train[None]) ** 2).sum(axis=(2, 3)),
        "1NN-DTW_I": sum(dtw(test[:, :, [k]], train[:, :, [k]]) for k in range(test.shape[2])),
        "1NN-DTW_D": dtw(test, train),
    }
    for name, d in distances.items():
        right = int((y_train[d.argmin(axis=1)] == y_test).sum())
        print(f"{name:10s} {right}/{len(y_test)} = {right / len(y_test):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
