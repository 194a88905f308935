"""One target against the numpy reference: per-feature ULP statistics over recordings, with the
first mismatch of each feature in words."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .ulp import same_bits, ulp_distance


@dataclass
class FeatureStat:
    name: str
    max_ulp: int = 0
    mismatches: int = 0
    first: str = ""  # first mismatch, in words


@dataclass
class Comparison:
    """One target against numpy on one or more recordings."""

    target: str
    names: tuple[str, ...]
    stats: list[FeatureStat] = field(default_factory=list)
    vectors: int = 0
    problems: list[str] = field(default_factory=list)  # structural: counts, rows, rejects

    def __post_init__(self):
        if not self.stats:
            self.stats = [FeatureStat(n) for n in self.names]

    @property
    def identical(self) -> bool:
        return not self.problems and all(s.mismatches == 0 for s in self.stats)

    @property
    def worst(self) -> FeatureStat:
        return max(self.stats, key=lambda s: (s.max_ulp, s.mismatches))

    def add(
        self,
        label: str,
        expected: np.ndarray,
        expected_ends: np.ndarray,
        got: np.ndarray,
        got_ends: np.ndarray,
    ) -> None:
        if expected.shape != got.shape or not np.array_equal(expected_ends, got_ends):
            self.problems.append(
                f"{label}: numpy emitted {expected.shape[0]} vectors, {self.target} "
                f"{got.shape[0]}; first differing end row: {_first_diff(expected_ends, got_ends)}"
            )
            return
        self.vectors += expected.shape[0]
        equal = same_bits(expected, got)
        ulps = ulp_distance(expected, got)
        for j, stat in enumerate(self.stats):
            bad = np.flatnonzero(~equal[:, j])
            if bad.size == 0:
                continue
            stat.mismatches += int(bad.size)
            stat.max_ulp = max(stat.max_ulp, int(ulps[bad, j].max()))
            if not stat.first:
                i = int(bad[0])
                e, g = expected[i, j], got[i, j]
                stat.first = (
                    f"{label} vector {i} (sample {int(expected_ends[i])}): numpy "
                    f"{_hex(e)} vs {self.target} {_hex(g)}, {int(ulps[i, j])} ULP"
                )

    def failure_message(self) -> str:
        lines = list(self.problems)
        for s in self.stats:
            if s.mismatches:
                lines.append(
                    f"{s.name}: {s.mismatches} mismatching values, max {s.max_ulp} ULP; "
                    f"first: {s.first}"
                )
        return f"{self.target} differs from numpy:\n" + "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "vectors": self.vectors,
            "identical": self.identical,
            "problems": self.problems,
            "features": {
                s.name: {"max_ulp": s.max_ulp, "mismatches": s.mismatches} for s in self.stats
            },
        }


def _hex(x: float) -> str:
    return f"{float(x).hex()} ({float(x)!r})"


def _first_diff(a: np.ndarray, b: np.ndarray) -> str:
    n = min(a.size, b.size)
    idx = np.flatnonzero(a[:n] != b[:n])
    if idx.size:
        return f"{int(a[idx[0]])} vs {int(b[idx[0]])}"
    return "none (one list is longer)"


@dataclass
class Target:
    """A streaming implementation: ``stream(samples) -> (vectors, ends, rejected rows)``."""

    name: str
    stream: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray]]


def compare_recording(
    numpy_module, target: Target, label: str, samples: np.ndarray, comparison: Comparison
) -> None:
    """Stream one recording through ``target`` and add its vectors to ``comparison``."""
    expected, expected_ends = numpy_module.featurize(samples, nonfinite="drop")
    got, got_ends, rejected = target.stream(samples)
    bad_rows = np.flatnonzero(~np.isfinite(samples).all(axis=1))
    if not np.array_equal(rejected, bad_rows):
        comparison.problems.append(
            f"{label}: {target.name} rejected rows {rejected[:5]}, "
            f"the non-finite rows are {bad_rows[:5]}"
        )
    comparison.add(label, expected, expected_ends, got, got_ends)


class Columns:
    """The numpy featuriser seen through some of its columns: the reference for a device
    featuriser that computes only those (same emission rows, same bits expected)."""

    def __init__(self, module, columns):
        self.module = module
        self.columns = np.asarray(columns, dtype=np.int64)
        self.FEATURE_NAMES = tuple(module.FEATURE_NAMES[c] for c in self.columns)

    def featurize(self, samples, **kw):
        vectors, ends = self.module.featurize(samples, **kw)
        return np.ascontiguousarray(vectors[:, self.columns]), ends


def compare_target(numpy_module, target: Target, recordings: dict[str, np.ndarray]) -> Comparison:
    comparison = Comparison(target.name, tuple(numpy_module.FEATURE_NAMES))
    for label, samples in recordings.items():
        compare_recording(numpy_module, target, label, samples, comparison)
    return comparison
