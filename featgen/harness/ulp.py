"""Bit-level comparison of doubles: ULP distance and bit equality (NaN equal to NaN)."""

from __future__ import annotations

import numpy as np


def ordered_bits(values: np.ndarray) -> np.ndarray:
    """Map doubles to int64 so that adjacent doubles differ by 1 (ULP distance = difference)."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, np.int64(-0x8000000000000000) - bits, bits)


def ulp_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ULPs between a and b (int64, saturating); 0 for two NaNs, the maximum for NaN vs number."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    oa, ob = ordered_bits(a).astype(np.uint64), ordered_bits(b).astype(np.uint64)
    hi, lo = (
        np.where(ordered_bits(a) > ordered_bits(b), oa, ob),
        np.where(ordered_bits(a) > ordered_bits(b), ob, oa),
    )
    diff = np.minimum(hi - lo, np.uint64(2**63 - 1)).astype(np.int64)  # exact, mod 2**64
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    diff = np.where(nan_a & nan_b, 0, diff)
    return np.where(nan_a ^ nan_b, np.iinfo(np.int64).max, diff)


def same_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bit equality, with every NaN equal to every NaN (NaN payloads differ across CPUs)."""
    a = np.ascontiguousarray(a, dtype=np.float64)
    b = np.ascontiguousarray(b, dtype=np.float64)
    return (a.view(np.int64) == b.view(np.int64)) | (np.isnan(a) & np.isnan(b))
