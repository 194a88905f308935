"""Seeded synthetic recordings for parity: phone-like motion with the edge cases mixed in.

Each recording is plausible IMU data (gravity, a twist about the long axis, noise) with
stretches that stress numerics: constant values, exact zeros (both signs), huge and tiny
magnitudes, subnormals, sign flips around zero, and (optionally) non-finite samples, which every
target must reject identically.
"""

from __future__ import annotations

import numpy as np


def imu_motion(
    n: int, n_inputs: int, rng: np.random.Generator, rate_hz: float = 50.0
) -> np.ndarray:
    """Smooth motion: sums of random sinusoids plus noise, one column per input."""
    t = np.arange(n) / rate_hz
    out = np.empty((n, n_inputs))
    for j in range(n_inputs):
        freqs = rng.uniform(0.2, 6.0, size=3)
        phases = rng.uniform(0, 2 * np.pi, size=3)
        amps = rng.uniform(0.2, 4.0, size=3)
        base = (amps[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(0)
        out[:, j] = base + rng.normal(0, 0.05, n) + (9.81 if j == 2 else 0.0)
    return out


def edge_case_recording(n: int, n_inputs: int, seed: int, nonfinite: bool = False) -> np.ndarray:
    """Motion with numerically hostile stretches; lengths and positions depend on the seed."""
    rng = np.random.default_rng(seed)
    x = imu_motion(n, n_inputs, rng)
    stretch = max(n // 40, 8)

    def span() -> slice:
        start = int(rng.integers(0, max(n - stretch, 1)))
        return slice(start, start + int(rng.integers(stretch // 2, stretch + 1)))

    for _ in range(3):
        x[span()] = rng.normal(0, 2)  # constant stretch, all inputs
    for _ in range(3):
        x[span(), int(rng.integers(n_inputs))] = 0.0  # exact zeros
    s = span()
    x[s, 0] = np.where(rng.random(x[s, 0].shape[0]) < 0.5, 0.0, -0.0)  # signed zeros
    x[span()] *= 1e12  # huge
    x[span()] *= 1e-12  # tiny
    x[span(), int(rng.integers(n_inputs))] *= 1e-310  # subnormals
    s = span()
    x[s] = rng.choice([-1e-3, 0.0, 1e-3], size=x[s].shape)  # chatter around zero
    s = span()
    x[s] = 1e8 + rng.normal(0, 1e-4, size=x[s].shape)  # large offset, small variation
    s = span()
    x[s] = np.round(x[s], 1)  # quantised, many exact ties
    if nonfinite:
        rows = rng.choice(n, size=5, replace=False)
        for row, value in zip(rows, [np.nan, np.inf, -np.inf, np.nan, np.inf]):
            x[row, int(rng.integers(n_inputs))] = value
    return x


def parity_recordings(
    n_inputs: int, n: int = 12_000, count: int = 3, seed: int = 20261125
) -> dict[str, np.ndarray]:
    """The standard parity set: ``count`` recordings of ``n`` samples; the last has NaN/inf."""
    return {
        f"synthetic_{i}": edge_case_recording(n, n_inputs, seed + i, nonfinite=(i == count - 1))
        for i in range(count)
    }


def overflow_recording(n: int, n_inputs: int, seed: int) -> np.ndarray:
    """Motion with single finite samples so large that values derived from them overflow: all
    inputs 2e154 (a magnitude of two or three of them squares to inf), one input 1e300, one
    -1.7e308 (a filter's first coefficient products overflow inside its state slots), one 2e154
    and then all inputs 1e300, at fifths of the recording (no NaN/inf in the samples: every one
    is accepted)."""
    x = imu_motion(n, n_inputs, np.random.default_rng(seed))
    col = lambda k: k % n_inputs  # noqa: E731
    x[n // 6, :] = 2e154
    x[2 * n // 6, col(0)] = 1e300
    x[3 * n // 6, col(1)] = -1.7e308
    x[4 * n // 6, col(2)] = 2e154
    x[5 * n // 6, :] = 1e300
    return x
