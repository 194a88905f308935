"""How close a data set's features come to the model's split thresholds, in float32 ULPs.

A feature value within a few ULPs of a threshold is where a 1-ULP difference in the feature
(another featuriser, another compiler, another libm) would send the tree the other way. featgen
targets are bit-identical, so for them this is a measure of margin for error; for a port that is
not bit-identical it says how many predictions are at risk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .ir import Forest


def ordered32(values: np.ndarray) -> np.ndarray:
    """float32 values -> int64, adjacent float32 values differ by 1 (as fp32.ordered)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.int32).astype(np.int64)
    return np.where(bits >= 0, bits, -(bits & 0x7FFFFFFF) - 1)


def ulps_to_nearest_threshold(values: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per value (rounded to float32 as XGBoost does): float32 steps to the nearest threshold;
    -1 for NaN (missing values take the default branch whatever their neighbours)."""
    with np.errstate(over="ignore"):
        x = np.asarray(values, dtype=np.float64).astype(np.float32)
    t = np.sort(ordered32(thresholds))
    o = ordered32(x)
    i = np.searchsorted(t, o)
    lo = np.abs(o - t[np.clip(i - 1, 0, len(t) - 1)])
    hi = np.abs(t[np.clip(i, 0, len(t) - 1)] - o)
    return np.where(np.isnan(x), -1, np.minimum(lo, hi))


def proximity(
    forest: Forest, X: np.ndarray, names: tuple[str, ...], k: int = 4
) -> list[dict[str, Any]]:
    """For every feature the model splits on: how many values lie within k float32 ULPs of one of
    its thresholds, how many exactly on one (common and harmless for integer-valued features such
    as counts: XGBoost puts thresholds on the values themselves) and how many 1 to k ULPs away
    (the ones a 1-ULP difference elsewhere would flip). Sorted by the last."""
    rows = []
    for feature, thresholds in forest.thresholds().items():
        d = ulps_to_nearest_threshold(X[:, feature], thresholds)
        present = d >= 0
        rows.append(
            {
                "feature": names[feature] if names else str(feature),
                "index": feature,
                "thresholds": int(len(thresholds)),
                "values": int(present.sum()),
                "within_k": int(((d <= k) & present).sum()),
                "exactly_on": int((d == 0).sum()),
                "near_not_on": int(((d >= 1) & (d <= k)).sum()),
                "min_ulps": int(d[present].min()) if present.any() else None,
            }
        )
    return sorted(rows, key=lambda r: (-r["near_not_on"], -r["within_k"], r["index"]))
