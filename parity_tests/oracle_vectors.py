"""Hand-computed test vectors: every expected value below was worked out by hand from the written
definitions in featurespec/vocabulary/features.py and featurespec/vocabulary/signals.py (not by running any implementation).

Each feature vector is one window (oldest sample first) and the exact outputs of the feature on
it, compared bit for bit (so 0.0 and -0.0 differ). The inputs are chosen so that every
intermediate value is exact in binary (dyadic numbers, small integers) unless a comment says
otherwise; the expected value is then the only correct answer, not an approximation.

Each signal vector is a whole stream per source and the exact value of the signal on every sample.

``featurespec/vocabulary/features.py``: "Adding a feature = one decorated function here + one test vector in
parity_tests" -- test_oracle.py requires at least one vector here for every registered kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FeatureVector:
    kind: str
    window: tuple[float, ...]
    expected: tuple[float, ...]  # one value per output column
    why: str
    params: dict[str, Any] = field(default_factory=dict)
    other: tuple[float, ...] | None = None  # the second signal's window (two-signal kinds)


@dataclass(frozen=True)
class SignalVector:
    kind: str
    sources: tuple[tuple[float, ...], ...]  # one stream per source
    expected: tuple[float, ...]  # the signal on every sample
    why: str
    params: dict[str, Any] = field(default_factory=dict)


def F(kind: str, window, expected, why: str, other=None, **params) -> FeatureVector:
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    return FeatureVector(
        kind,
        tuple(float(v) for v in window),
        tuple(float(v) for v in expected),
        why,
        params,
        None if other is None else tuple(float(v) for v in other),
    )


def S(kind: str, sources, expected, why: str, **params) -> SignalVector:
    return SignalVector(
        kind,
        tuple(tuple(float(v) for v in s) for s in sources),
        tuple(float(v) for v in expected),
        why,
        params,
    )


C5 = (2.5,) * 5  # a constant window; 2.5 * k is exact, so the mean is exactly 2.5
ONE = (-2.5,)  # a window of length 1

FEATURE_VECTORS: list[FeatureVector] = [
    # ------------------------------------------------------------ sums, left to right from 0.0
    F("sum", (1, 2, 3, 4), 10, "plain integers"),
    F(
        "sum",
        (1e16, 1, 1),
        1e16,
        "left to right: 1e16 + 1 rounds back to 1e16 (tie to even), twice",
    ),
    F("sum", (1, 1, 1e16), 1e16 + 2, "left to right: 1 + 1 = 2 first, then 1e16 + 2 is exact"),
    F("sum", C5, 12.5, "constant window"),
    F("sum", ONE, -2.5, "length 1"),
    F("mean", (1, 2, 3, 4), 2.5, "10 / 4"),
    F("mean", C5, 2.5, "constant window"),
    F("mean", ONE, -2.5, "length 1"),
    F("mean_abs", (-1, 2, -3), 2, "(1 + 2 + 3) / 3"),
    F("mean_abs", ONE, 2.5, "length 1"),
    F("energy", (3, -4), 25, "9 + 16"),
    F("energy", ONE, 6.25, "length 1: 2.5^2"),
    F("rms", (3, 4, -12), math.sqrt(169 / 3), "sqrt((9 + 16 + 144) / 3), one division, one sqrt"),
    F("rms", ONE, 2.5, "length 1: sqrt(6.25)"),
    # ------------------------------------------------------------ variance, two-pass
    F("var", (1, 2, 3, 4), 1.25, "mean 2.5; squares 2.25 + 0.25 + 0.25 + 2.25 = 5; 5 / 4"),
    F("var", (1, 2, 3, 4), 5 / 3, "ddof 1: 5 / 3 (one correctly rounded division)", ddof=1),
    F("var", (2, 4, 4, 4, 5, 5, 7, 9), 4, "mean 5; squares 9+1+1+1+0+0+4+16 = 32; 32 / 8"),
    F("var", (2, 4, 4, 4, 5, 5, 7, 9), 32 / 7, "ddof 1: 32 / 7", ddof=1),
    F("var", C5, 0, "constant window: every deviation is exactly 0"),
    F("var", C5, 0, "constant window, ddof 1", ddof=1),
    F("var", ONE, 0, "length 1, ddof 0: one deviation of 0, divided by 1"),
    # A constant that is not dyadic: the left-to-right mean is 0.1 + 0.1 = 0.2 (exact),
    # 0.2 + 0.1 = 0.30000000000000004, / 3 = 0.10000000000000002, one ulp (2^-56) above 0.1.
    # Every deviation is exactly -2^-56, so the variance is 3 * 2^-112 / 3 = 2^-112 (the doc
    # string: "a rounding-level value such as 1.9e-34"), not 0.
    F("mean", (0.1,) * 3, 0.10000000000000002, "left to right: (0.1 + 0.1 + 0.1) / 3"),
    F("var", (0.1,) * 3, 2.0**-112, "constant 0.1: every deviation is -2^-56"),
    F("std", (0.1,) * 3, 2.0**-56, "constant 0.1: sqrt(2^-112)"),
    F("std", (2, 4, 4, 4, 5, 5, 7, 9), 2, "sqrt(4)"),
    F("std", (1, 2, 3, 4), math.sqrt(1.25), "sqrt(5 / 4), correctly rounded"),
    F("std", (1, 2, 3, 4), math.sqrt(5 / 3), "ddof 1", ddof=1),
    F("std", C5, 0, "constant window"),
    F("std", ONE, 0, "length 1"),
    # ------------------------------------------------------------ extremes: first on ties
    F("min", (3, 1, 2, 1, 3), 1, "smallest"),
    F("min", (-0.0, 0.0), -0.0, "-0.0 and +0.0 tie: the first (-0.0) is kept"),
    F("min", (0.0, -0.0), 0.0, "-0.0 and +0.0 tie: the first (+0.0) is kept"),
    F("min", (1, 0.0, -0.0), 0.0, "tie between the two zeros: first kept"),
    F("min", (1, -0.0, 0.0), -0.0, "tie between the two zeros: first kept"),
    F("min", ONE, -2.5, "length 1"),
    F("max", (1, 3, 3, 0), 3, "largest"),
    F("max", (-0.0, 0.0), -0.0, "+0.0 is not > -0.0: the first (-0.0) is kept"),
    F("max", (0.0, -0.0), 0.0, "first kept"),
    F("max", (-1, -0.0, 0.0), -0.0, "first of the tied zeros"),
    F("max", ONE, -2.5, "length 1"),
    F("range", (3, -1, 3), 4, "3 - (-1)"),
    F("range", (-0.0, 0.0), 0.0, "max -0.0 (first) - min -0.0 (first) = +0.0"),
    F("range", C5, 0, "constant window"),
    F("range", ONE, 0, "length 1"),
    F("argmin", (3, 1, 2, 1, 3), 1, "tie: the first smallest (index 1, not 3)"),
    F("argmin", (0.0, -0.0), 0, "-0.0 is not < +0.0: index 0"),
    F("argmin", (-0.0, 0.0), 0, "index 0"),
    F("argmin", C5, 0, "constant: every sample ties, index 0"),
    F("argmin", ONE, 0, "length 1"),
    F("argmax", (3, 1, 2, 1, 3), 0, "tie: the first largest (index 0, not 4)"),
    F("argmax", (1, 3, 3, 0), 1, "tie: index 1, not 2"),
    F("argmax", (0.0, -0.0), 0, "index 0"),
    F("argmax", ONE, 0, "length 1"),
    # ------------------------------------------------------------ ends of the window
    F("first", (4, 7, 1.5), 4, "oldest"),
    F("first", ONE, -2.5, "length 1"),
    F("last", (4, 7, 1.5), 1.5, "newest"),
    F("last", ONE, -2.5, "length 1"),
    F("delta", (4, 7, 1.5), -2.5, "1.5 - 4"),
    F("delta", C5, 0, "constant window"),
    F("delta", ONE, 0, "length 1"),
    # ------------------------------------------------------------ crossings
    F("zero_crossings", (-1, 0, 1), 1, "the zero is skipped: -1 -> 1 is one crossing"),
    F("zero_crossings", (-1, 0, -1), 0, "the zero is skipped: -1 -> -1 is none"),
    F("zero_crossings", (0, 0, 0), 0, "all zeros: no signs at all"),
    F("zero_crossings", (-1, -0.0, 1), 1, "-0.0 is a zero like +0.0"),
    F("zero_crossings", (1, -0.0, 1), 0, "-0.0 is not a negative sample"),
    F("zero_crossings", (-0.0, 0.0, -0.0), 0, "signed zeros only"),
    F("zero_crossings", (1, -1, 1, -1), 3, "every step crosses"),
    F("zero_crossings", (0, 1, 0, 0, -1, 0), 1, "runs of zeros between the signs are skipped"),
    F("zero_crossings", (1e-300, -1e-300), 1, "tiny but non-zero values do count"),
    F("zero_crossings", C5, 0, "constant window"),
    F("zero_crossings", ONE, 0, "length 1"),
    F("mean_crossings", (1, 2, 3), 1, "mean 2: deviations -1, 0, 1; the 0 is skipped"),
    F("mean_crossings", (2, 1, 2, 3, 2), 1, "mean 2: 0, -1, 0, 1, 0"),
    F("mean_crossings", (1, 3, 2, 1, 3), 3, "mean 2: -1, 1, 0, -1, 1"),
    F("mean_crossings", (2, 2, 3, 1), 1, "mean 2: 0, 0, 1, -1"),
    F("mean_crossings", (0, 4, 2, 2, 2), 1, "mean 2: -2, 2, 0, 0, 0"),
    F("mean_crossings", C5, 0, "constant window: every deviation is 0"),
    F(
        "mean_crossings",
        (0.1,) * 10,
        0,
        "constant 0.1: the mean is not exactly 0.1, but every "
        "deviation has the same sign, so still no crossing",
    ),
    F("mean_crossings", ONE, 0, "length 1"),
    # ------------------------------------------------------------ slope against the index
    F("slope", (0, 2, 4, 6), 2, "a line of slope 2"),
    F("slope", (1, 3), 2, "L = 2: c = 0.5, mean 2, num = (-0.5)(-1) + (0.5)(1) = 1, D = 0.5"),
    F("slope", (3, 1, 2), -0.5, "c = 1, mean 2, num = (-1)(1) + 0 + (1)(0) = -1, D = 2"),
    F("slope", (1, 0, 1), 0, "symmetric: the two deviations are the same double, cancel exactly"),
    F("slope", C5, 0, "constant window"),
    F(
        "slope",
        (0.1,) * 10,
        0,
        "constant 0.1: the deviations are all the same tiny double and "
        "the index weights are symmetric, so the numerator cancels exactly",
    ),
    # ------------------------------------------------------------ thresholds: strict comparisons
    F("count_above", (0.5, 0.6, 0.4, 0.5), 1, "strict: 0.5 is not above 0.5", threshold=0.5),
    F("count_above", (-0.0, 0.0, 1e-300), 1, "strict: neither zero is above 0.0", threshold=0.0),
    F("count_above", (-1, -1, 0), 1, "strict, negative threshold", threshold=-1.0),
    F("count_above", ONE, 1, "length 1", threshold=-3.0),
    F(
        "longest_run_above",
        (2, 1, 2, 2, 1, 1, 0, 2),
        2,
        "strict: the 1s break the runs (runs 1, 2, 1)",
        threshold=1.0,
    ),
    F("longest_run_above", (1, 1, 1), 0, "all samples equal the threshold: no run", threshold=1.0),
    F("longest_run_above", (5, 5, 5, 5), 4, "the whole window", threshold=1.0),
    F("longest_run_above", ONE, 1, "length 1", threshold=-3.0),
    F(
        "longest_run_below",
        (2, 1, 2, 2, 1, 1, 0, 2),
        1,
        "strict: only the 0 is below 1.0",
        threshold=1.0,
    ),
    F("longest_run_below", (0, 0, 1, 0, 0, 0), 3, "a run of 3 at the end", threshold=1.0),
    F("longest_run_below", (-0.0, 0.0, -1), 1, "strict: -0.0 is not below 0.0", threshold=0.0),
    F("longest_run_below", ONE, 0, "length 1", threshold=-3.0),
    # min_length: runs shorter than k count as 0 (issue 19)
    F(
        "longest_run_above",
        (2, 2, 0, 2, 2, 2, 0, 2),
        3,
        "runs 2, 3, 1: the 3 reaches k = 3",
        threshold=1.0,
        min_length=3,
    ),
    F(
        "longest_run_above",
        (2, 2, 0, 2, 2, 0, 2, 0),
        0,
        "runs 2, 2, 1: none reaches k = 3",
        threshold=1.0,
        min_length=3,
    ),
    F(
        "longest_run_below",
        (0, 0, 0, 0, 5),
        4,
        "k equal to the run: it counts",
        threshold=1.0,
        min_length=4,
    ),
    F(
        "longest_run_below",
        (0, 0, 0, 5, 0),
        0,
        "k = window length 5: only the whole window could count",
        threshold=1.0,
        min_length=5,
    ),
    # ------------------------------------------------------------ start of the longest run
    F(
        "longest_run_above_start",
        (0, 2, 2, 0, 2, 2, 2, 0),
        4,
        "runs at 1 (length 2) and 4 (length 3): the longer one starts at index 4",
        threshold=1.0,
    ),
    F(
        "longest_run_above_start",
        (2, 2, 0, 0, 2, 2, 0, 0),
        0,
        "two runs of 2: the earliest longest run wins (index 0, not 4)",
        threshold=1.0,
    ),
    F("longest_run_above_start", (1, 1, 1), -1, "no sample above 1: no run, -1", threshold=1.0),
    F(
        "longest_run_above_start",
        (0, 0, 2, 2, 2),
        2,
        "the run reaches the newest sample",
        threshold=1.0,
    ),
    F(
        "longest_run_above_start",
        (2, 2, 0, 2, 2, 2, 0, 2),
        3,
        "min_length 3: the run of 3 at index 3 counts",
        threshold=1.0,
        min_length=3,
    ),
    F(
        "longest_run_above_start",
        (2, 2, 0, 2, 2, 0, 2, 0),
        -1,
        "min_length 3: no run reaches it, -1 as for no run",
        threshold=1.0,
        min_length=3,
    ),
    F("longest_run_above_start", ONE, 0, "length 1, the sample is above", threshold=-3.0),
    F(
        "longest_run_below_start",
        (-0.0, 0.0, -1, -1, 0),
        2,
        "strict: -0.0 is not below 0.0; the run of two -1s starts at 2",
        threshold=0.0,
    ),
    F(
        "longest_run_below_start",
        (5, 0, 5, 0, 5),
        1,
        "three runs of 1: the earliest, index 1",
        threshold=1.0,
    ),
    F("longest_run_below_start", ONE, -1, "length 1, not below: -1", threshold=-3.0),
    # ------------------------------------------------------------ histogram: numpy's edge rule
    F(
        "histogram",
        (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2),
        (1, 2, 2, 2),
        "edges 0,1,2,3,4: 0 -> b0; 1, 1 (inner edges) -> b1 (the upper bin); 2.5, 2 -> b2; "
        "3.999 and 4 (== high) -> b3 (the last bin is closed); 4.0000001 and -0.5 are not counted",
        bins=4,
        range=[0, 4],
    ),
    F(
        "histogram",
        (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2),
        (1 / 9, 2 / 9, 2 / 9, 2 / 9),
        "normalize divides by L = 9 (all samples, counted or not), not by the 7 counted",
        bins=4,
        range=[0, 4],
        normalize=True,
    ),
    F(
        "histogram",
        (0.3, 0.30000000000000004, 0.1, 1.0, 0.9999999999999999, 0.0, -0.0, 1.0000000000000002),
        (2, 1, 1, 1, 0, 0, 0, 0, 0, 2),
        "edges are numpy.linspace(0, 1, 11): edge 3 is 3 * 0.1 = 0.30000000000000004, so 0.3 is in "
        "b2 and 0.30000000000000004 in b3; 0.1 in b1; 0.0 and -0.0 in b0 (-0.0 >= 0.0); 1.0 and "
        "0.9999999999999999 in b9; 1.0000000000000002 is above high",
        bins=10,
        range=[0, 1],
    ),
    F(
        "histogram",
        (-1, 1, 0, 1.5, -1.5),
        3,
        "one bin: [-1, 1] closed; 1.5 and -1.5 outside",
        bins=1,
        range=[-1, 1],
    ),
    F(
        "histogram",
        (-3, -1, -0.0, 1, 3, -3.0000001),
        (1, 2, 2),
        "edges -3, -1, 1, 3: -1 and -0.0 in b1, 1 and 3 in b2, -3.0000001 outside",
        bins=3,
        range=[-3, 3],
    ),
    F("histogram", ONE, (1, 0), "length 1: -2.5 in [-3, 0)", bins=2, range=[-3, 3]),
    F("histogram", C5, (0, 5), "constant window: all five in [0, 3]", bins=2, range=[-3, 3]),
    # outside: clamp (issue 19): out-of-range samples count in the edge bins
    F(
        "histogram",
        (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2),
        (2, 2, 2, 3),
        "the drop vector above with clamp: -0.5 joins b0 (x < edge 1) and 4.0000001 joins b3 "
        "(x >= edge 3); all nine counted",
        bins=4,
        range=[0, 4],
        outside="clamp",
    ),
    F(
        "histogram",
        (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2),
        (2 / 9, 2 / 9, 2 / 9, 3 / 9),
        "clamp and normalize: counts / 9",
        bins=4,
        range=[0, 4],
        outside="clamp",
        normalize=True,
    ),
    F(
        "histogram",
        (-1, 1, 0, 1.5, -1.5),
        5,
        "one bin with clamp: every sample",
        bins=1,
        range=[-1, 1],
        outside="clamp",
    ),
    F(
        "histogram",
        (-1e300, -3, -1, -0.0, 1, 3, 1e300),
        (2, 2, 3),
        "edges -3, -1, 1, 3: -1e300 and -3 in b0, -1 and -0.0 in b1, 1, 3 and 1e300 in b2",
        bins=3,
        range=[-3, 3],
        outside="clamp",
    ),
    F(
        "histogram",
        (-3, -1, -0.0, 1, 3, -3.0000001),
        (1, 2, 2),
        "outside: drop is the default, spelled out",
        bins=3,
        range=[-3, 3],
        outside="drop",
    ),
]

FEATURE_VECTORS += [
    # ------------------------------------------------------------ order statistics (sorted x + 0.0)
    F("median", (3, 1, 2), 2, "odd L: the middle of 1, 2, 3"),
    F("median", (4, 1, 3, 2), 2.5, "even L: (2 + 3) * 0.5"),
    F("median", (-0.0, -0.0, -0.0), 0.0, "the sorted copy holds x + 0.0: -0.0 becomes +0.0"),
    F(
        "median",
        (1.5e308, 1.5e308),
        math.inf,
        "(a + b) * 0.5 overflows for huge a, b, as "
        "numpy.median's mean of the two middle values does",
    ),
    F("median", ONE, -2.5, "length 1"),
    F(
        "percentile",
        (5, 1, 4, 2, 3),
        2,
        "linear, q 25: index 4 * 0.25 = 1 exactly, t = 0: the sample itself",
        q=25.0,
    ),
    F(
        "percentile",
        (10, 0),
        1,
        "linear, q 10: index 0.1, t = 0.1 < 0.5: 0 + (10 - 0) * 0.1",
        q=10.0,
    ),
    F("percentile", (4, 0), 3, "linear, q 75: t = 0.75 >= 0.5: 4 - (4 - 0) * (1 - 0.75)", q=75.0),
    F(
        "percentile",
        (4, 1, 3, 2),
        3,
        "nearest_rank, q 50: int(3 * 0.5 + 0.5) = 2 -> 3 (linear would give 2.5)",
        q=50.0,
        method="nearest_rank",
    ),
    F(
        "percentile",
        (4, 1, 3, 2),
        2,
        "nearest_rank, q 25: int(3 * 0.25 + 0.5) = 1 -> 2",
        q=25.0,
        method="nearest_rank",
    ),
    F("percentile", (5, -1, 3), -1, "q 0 is the minimum", q=0.0),
    F("percentile", (5, -1, 3), 5, "q 100 is the maximum", q=100.0, method="nearest_rank"),
    F("percentile", (-0.0, 0.0), 0.0, "q 0 of the two zeros: +0.0 after x + 0.0", q=0.0),
    F("percentile", ONE, -2.5, "length 1, any q", q=37.5),
    F("iqr", (1, 2, 3, 4, 5), 2, "linear: 4 - 2 (both at integral indices 3 and 1)"),
    F(
        "iqr",
        (4, 3, 2, 1),
        1.5,
        "linear: q75 at 2.25 -> 3 + 1 * 0.25; q25 at 0.75 -> 2 - 1 * 0.25; 3.25 - 1.75",
    ),
    F(
        "iqr",
        (4, 3, 2, 1),
        1,
        "nearest_rank: indices int(2.75) = 2 and int(1.25) = 1: 3 - 2",
        method="nearest_rank",
    ),
    F("iqr", C5, 0, "constant window"),
    F("mad", (1, 2, 3, 4, 100), 1, "median 3; |x - 3| = 2, 1, 0, 1, 97; their median 1"),
    F("mad", (1, 2, 3, 4), 1, "median 2.5; deviations 1.5, 0.5, 0.5, 1.5; (0.5 + 1.5) * 0.5"),
    F("mad", (1, 2, 3, 4), 2, "scale 2 multiplies last", scale=2.0),
    F("mad", C5, 0, "constant window"),
    F("mad", ONE, 0, "length 1"),
    # ------------------------------------------------------------ moments
    F(
        "skewness",
        (0, 0, 3),
        2 / (2 * math.sqrt(2)),
        "mean 1, d = -1, -1, 2: m2 = 6 / 3 = 2, "
        "m3 = 6 / 3 = 2; g1 = 2 / (2 * sqrt(2)) (sqrt correctly rounded, one product, one "
        "division)",
    ),
    F(
        "skewness",
        (0, 0, 3),
        (2 / (2 * math.sqrt(2))) * math.sqrt(6),
        "bias false: G1 = g1 * (sqrt(3 * 2) / 1), the factor correctly rounded",
        bias=False,
    ),
    F("skewness", (1, 2, 3), 0, "symmetric: m3 = (-1 + 0 + 1) / 3 = 0"),
    F("skewness", C5, 0, "constant window: zero_variance (default 0)"),
    F("skewness", C5, 7, "constant window: the stated zero_variance", zero_variance=7.0),
    F(
        "skewness",
        (0.1,) * 3,
        0,
        "constant 0.1: m2 = 2^-112 (the mean is one ulp off) but "
        "m2 <= (2^-52 * mean)^2 = ~4.9e-34: constant",
    ),
    F("skewness", ONE, 0, "length 1: m2 = 0"),
    F(
        "kurtosis",
        (0, 0, 0, 4),
        21 / 9 - 3,
        "mean 1, d = -1, -1, -1, 3: m2 = 12 / 4 = 3, m4 = 84 / 4 = 21; g2 = 21 / (3 * 3) - 3",
    ),
    F("kurtosis", (0, 0, 0, 4), (21 / 9 - 3) + 3, "fisher false: + 3.0 after", fisher=False),
    F(
        "kurtosis",
        (0, 0, 0, 4),
        1.5 * (5 * (21 / 9 - 3) + 6),
        "bias false, L 4: c = 3 / (2 * 1) = 1.5; G2 = 1.5 * ((4 + 1) * g2 + 6)",
        bias=False,
    ),
    F(
        "kurtosis",
        C5,
        -3,
        "constant window: zero_variance as given, without the + 3.0",
        zero_variance=-3.0,
        fisher=False,
    ),
    F("kurtosis", C5, 0, "constant window: zero_variance (default 0)"),
    # ------------------------------------------------------------ shape
    F("mean_abs_change", (1, 3, 2, 2, -1), 1.5, "(2 + 1 + 0 + 3) / 4"),
    F("mean_abs_change", (5, 1), 4, "L = 2: one change"),
    F("mean_abs_change", C5, 0, "constant window"),
    F("peak_count", (0, 2, 0, 3, 0), 2, "two strict peaks"),
    F("peak_count", (0, 2, 2, 0), 1, "a plateau counts once"),
    F("peak_count", (0, 2, 2, 3), 0, "a plateau followed by a rise is no peak"),
    F("peak_count", (3, 1, 2), 0, "the first and last samples are never peaks"),
    F("peak_count", (1, 3, 3, 3, 1, 2, 1), 2, "a plateau of three, then a single peak"),
    F("peak_count", (0, 2, 0, 3, 0), 1, "height 2.5: only the 3", height=2.5),
    F("peak_count", (0, 2, 0, 3, 0), 2, "height 2: >= counts the 2", height=2.0),
    F("peak_count", (0, -0.0, 0), 0, "-0.0 == 0: a flat run, no rise"),
    F("peak_count", ONE, 0, "length 1"),
    F("last_peak_index", (0, 2, 0, 3, 0), 3, "the newer peak"),
    F("last_peak_index", (0, 2, 2, 0), 1, "a plateau is indexed by its first sample"),
    F("last_peak_index", (1, 3, 3, 3, 1, 2, 1), 5, "the single peak after the plateau"),
    F("last_peak_index", (0, 2, 2, 3), -1, "no peak: -1"),
    F("last_peak_index", (0, 2, 0, 1, 0), 1, "height 1.5: the 1 at index 3 is too low", height=1.5),
    F("last_peak_index", ONE, -1, "length 1"),
    F(
        "integral",
        (1, 1, 1),
        4 * (0.5 / 50),
        "(1 + 1) + (1 + 1) = 4, times h = 0.5 / 50 (rounded once) at the test specs' 50 Hz",
    ),
    F("integral", (0, 2, 4), 8 * (0.5 / 50), "(0 + 2) + (2 + 4) = 8, times h"),
    F("integral", ONE, 0, "length 1: no interval"),
    F(
        "autocorrelation",
        (1, -1, 1, -1),
        -0.75,
        "lag 1: mean 0, sum of products -3, sum of squares 4",
    ),
    F("autocorrelation", (1, -1, 1, -1), 0.5, "lag 2: 2 / 4", lag=2),
    F("autocorrelation", (1, 2, 3), 0, "lag 1: d = -1, 0, 1: (-1 * 0) + (0 * 1) = 0"),
    F("autocorrelation", C5, 0, "constant window: zero_variance"),
    F("autocorrelation", C5, -1, "constant window: the stated zero_variance", zero_variance=-1.0),
    # ------------------------------------------------------------ two signals
    F(
        "covariance",
        (1, 2, 3),
        4 / 3,
        "d = -1, 0, 1 and -2, 0, 2: products sum 4, / 3",
        other=(2, 4, 6),
    ),
    F("covariance", (1, 2, 3), 2, "ddof 1: 4 / 2", other=(2, 4, 6), ddof=1),
    F("covariance", ONE, 0, "length 1", other=(7,)),
    F("correlation", (0, 0, 2, 2), 1, "sxy = sxx = syy = 4: 4 / (2 * 2)", other=(0, 0, 2, 2)),
    F(
        "correlation",
        (1, 2, 3),
        4 / (math.sqrt(2) * math.sqrt(8)),
        "sxy 4, sxx 2, syy 8: 4 / (sqrt(2) * sqrt(8)) = 0.9999999999999998, not 1 (rounding)",
        other=(2, 4, 6),
    ),
    F(
        "correlation",
        (1, 2, 3),
        -(4 / (math.sqrt(2) * math.sqrt(8))),
        "anti-correlated",
        other=(6, 4, 2),
    ),
    F("correlation", (1, 2, 3), 0.5, "y constant: zero_variance", other=C5[:3], zero_variance=0.5),
    F("correlation", C5, 0, "both constant: zero_variance (default 0)", other=C5),
    # ------------------------------------------------------------ spectra (50 Hz)
    F(
        "dft_magnitude",
        (1, 0, -1, 0),
        (0, 2, 0),
        "L 4, tables cos (1, 0, -1, 0) and -sin (0, -1, 0, 1) are exact: X1 = 1 + 1, X0 = X2 = 0",
        bins=[0, 1, 2],
    ),
    F(
        "dft_magnitude",
        (1, 0, -1, 0),
        (1, 1, 1),
        "hann (0, 0.5, 1, 0.5): only -1 at n = 2 remains, |X(k)| = 1 everywhere",
        bins=[0, 1, 2],
        taper="hann",
    ),
    F(
        "dft_magnitude",
        (1, 0, -1, 0, 1, 0, -1, 0),
        (4, 0),
        "a cosine at bin 2 of L 8: the odd samples are 0, so the inexact cos(pi / 4) never counts",
        bins=[2, 1],
    ),
    F("dft_power", (1, 0, -1, 0), (0, 4, 0), "|X|^2", bins=[0, 1, 2]),
    F("dft_power", (1, 0, 0, 0), (1, 1, 1), "an impulse: flat spectrum", bins=[0, 1, 2]),
    F(
        "band_power",
        (1, 0, -1, 0, 1, 0, -1, 0),
        16,
        "bins every 6.25 Hz: [10, 15] holds only bin 2 (12.5 Hz), P = 4^2",
        band=[10.0, 15.0],
    ),
    F(
        "band_power",
        (1, 0, 0, 0),
        2,
        "impulse, bins 12.5 and 25 Hz are both in [12.5, 25] (inclusive)",
        band=[12.5, 25.0],
    ),
    F("dominant_frequency", (1, 0, -1, 0, 1, 0, -1, 0), 12.5, "bin 2 * (50 / 8)"),
    F("dominant_frequency", (1, 0, 0, 0), 12.5, "flat spectrum: the first bin (1) wins ties"),
    F("dominant_frequency", (0, 0, 0, 0), 0, "a spectrum of zeros: 0.0"),
    F(
        "dominant_frequency",
        (3, 3, 3, 3),
        0,
        "a constant: every non-DC bin is exactly 0 here "
        "(cos table (1, 0, -1, 0) sums to 0 exactly)",
    ),
    F("dominant_frequency", (3, 3, 3, 3), 0, "include_dc: bin 0 holds 12^2: 0 Hz", include_dc=True),
    F("spectral_centroid", (1, 0, -1, 0, 1, 0, -1, 0), 12.5, "one bin: its frequency"),
    F("spectral_centroid", (1, 0, 0, 0), 18.75, "flat over 12.5 and 25 Hz: 37.5 / 2"),
    F("spectral_centroid", (1, 0, 0, 0), 12.5, "include_dc: (0 + 12.5 + 25) / 3", include_dc=True),
    F(
        "spectral_centroid",
        (1, 0, 0, 0),
        18.75,
        "magnitude weights of a flat spectrum",
        spectrum="magnitude",
    ),
    F("spectral_centroid", (0, 0, 0, 0), 0, "a spectrum of zeros: 0.0"),
    F(
        "spectral_entropy",
        (1, 0, -1, 0, 1, 0, -1, 0),
        0,
        "one bin carries everything: 1 * log(1) = 0, and 0.0 - 0 = +0.0",
    ),
    F(
        "spectral_entropy",
        (1, 0, 0, 0),
        1,
        "two equal bins: -(2 * 0.5 * log(0.5)) = ln 2 "
        "(log(0.5) = -(LN2_HI + LN2_LO), correctly rounded), / ln 2 (correctly rounded) = 1",
    ),
    F("spectral_entropy", (1, 0, 0, 0), math.log(2), "nats: ln 2", normalize=False),
    F("spectral_entropy", (0, 0, 0, 0), 0, "a spectrum of zeros: 0.0"),
    # ------------------------------------------------------------ portable log
    F("log_energy", (-1,), 0, "log(1) = +0.0 exactly"),
    F(
        "log_energy",
        (1, 1),
        math.log(2),
        "log(2) = LN2_HI + LN2_LO rounded once: correctly rounded ln 2",
    ),
    F("log_energy", (0, -0.0), -math.inf, "a window of zeros: log(0) = -inf"),
    F("log_energy", (0, 0), 0, "floor 1: log(1 + 0) = 0", floor=1.0),
]

SIGNAL_VECTORS: list[SignalVector] = [
    S("diff", [(3, 5, 4, 4, -1)], (0, 2, -1, 0, -5), "0 on the first sample, then x[t] - x[t-1]"),
    S("diff", [(7,)], (0,), "a one-sample stream: only the first-sample rule"),
    S(
        "ema",
        [(3, 5, 4, 4)],
        (3, 3.5, 3.625, 3.71875),
        "y0 = x0 = 3; 0.25*5 + 0.75*3 = 3.5; 0.25*4 + 0.75*3.5 = 3.625; 1 + 2.71875",
        alpha=0.25,
    ),
    S(
        "ema",
        [(-2, 2, 2)],
        (-2, 0, 1),
        "alpha 0.5: y0 = -2, then (2 - 2) / 2, (2 + 0) / 2",
        alpha=0.5,
    ),
    S("ema", [(3, -5, 4)], (3, -5, 4), "alpha 1: 1*x + 0*y is x", alpha=1.0),
    S(
        "magnitude",
        [(3, 5, 0, -0.0), (4, 12, 0, -0.0)],
        (5, 13, 0, 0),
        "3-4-5 and 5-12-13; sqrt(+0) = +0 for either zero",
    ),
    S("magnitude", [(1, 2), (2, 3), (2, 6)], (3, 7), "three sources: sqrt(1+4+4), sqrt(4+9+36)"),
    S("scale", [(0.5, -3)], (0, -7), "x * 2 - 1", factor=2.0, offset=-1.0),
    S("scale", [(1.5, -0.0)], (1.5, 0.0), "defaults factor 1, offset 0: -0.0 * 1 + 0 = +0"),
    S("sum", [(1, 2), (10, 20), (100, 200)], (111, 222), "three sources"),
    S("sum", [(1e16,), (1,), (1,)], (1e16,), "left to right: (1e16 + 1) + 1 = 1e16"),
    S("difference", [(5, 1), (3, 4)], (2, -3), "a - b"),
    S(
        "clip",
        [(-5, -1, -0.0, 0.5, 2, 2.0000000000000004, 1e300)],
        (-1, -1, -0.0, 0.5, 2, 2, 2),
        "[-1, 2]: below -> -1, the bounds themselves stay, -0.0 stays -0.0 (inside), above -> 2",
        range=[-1, 2],
    ),
    S(
        "clip",
        [(-0.0, -1e-300, 3)],
        (-0.0, 0, 1),
        "[0, 1]: -0.0 is not below 0.0, so it passes as -0.0; -1e-300 is below: low, +0.0",
        range=[0, 1],
    ),
    S(
        "ratio",
        [(6, 1, 0, -0.0, 5, -5, 1e300, 3), (3, -4, 2, 4, 0, -0.0, 1e-300, 0)],
        (2, -0.25, 0, -0.0, 0, 0, 0, 0),
        "6/3, 1/-4 exact; 0/2 = +0, -0/4 = -0 (finite: kept); 5/0 = inf, -5/-0 = inf and "
        "1e300/1e-300 overflows: the fallback 0.0; 3/0 likewise",
    ),
    S(
        "ratio",
        [(0, 1, 2), (0, 0, 8)],
        (-1, -1, 0.25),
        "0/0 (NaN) and 1/0 (inf) give the fallback -1; 2/8 = 0.25",
        fallback=-1.0,
    ),
    S(
        "atan2",
        [(1, -1, 0, -0.0, 0, 2), (1, 1, -1, -1, 1, 0)],
        (math.pi / 4, -math.pi / 4, math.pi, -math.pi, 0, math.pi / 2),
        "atan(1) = ATAN_HI[1] + ATAN_LO[1] rounded = pi/4; atan2(+-0, -1) = +-pi; "
        "atan2(+0, 1) = +0; atan2(2, 0) = pi/2",
    ),
    S(
        "lowpass",
        [(2, 4, 0, -2)],
        (2, 3, 2, -1),
        "order 1 at 12.5 Hz = fs/4: K = tan(pi/4) = 1, b0 = b1 = 0.5, a1 = 0; starts in the "
        "steady state of x0 (y0 = 2), then y = 0.5 x + 0.5 x_prev",
        cutoff=12.5,
        order=1,
    ),
    S(
        "highpass",
        [(2, 4, 0, -2)],
        (0, 1, -2, -1),
        "order 1 at fs/4: b0 = 0.5, b1 = -0.5, a1 = 0, DC gain exactly 0: y0 = 0, then "
        "0.5 (x - x_prev)",
        cutoff=12.5,
        order=1,
    ),
    S(
        "bandpass",
        [(3, 3, 3, 3)],
        (0, 0, 0, 0),
        "a constant: the high-pass stage (b1 = -2 b0, b2 = b0 exactly, gain 0) outputs "
        "b0 * 3 - b0 * 3 = +0 from the first sample, the low-pass stage then zeros",
        band=[2.0, 10.0],
        order=2,
    ),
]
