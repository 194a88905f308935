"""Hand-computed test vectors: every expected value below was worked out by hand from the written
definitions in codegen/features.py and codegen/signals.py (not by running any implementation).

Each feature vector is one window (oldest sample first) and the exact outputs of the feature on
it, compared bit for bit (so 0.0 and -0.0 differ). The inputs are chosen so that every
intermediate value is exact in binary (dyadic numbers, small integers) unless a comment says
otherwise; the expected value is then the only correct answer, not an approximation.

Each signal vector is a whole stream per source and the exact value of the signal on every sample.

``codegen/features.py``: "Adding a feature = one decorated function here + one test vector in
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
    expected: tuple[float, ...]            # one value per output column
    why: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SignalVector:
    kind: str
    sources: tuple[tuple[float, ...], ...]  # one stream per source
    expected: tuple[float, ...]             # the signal on every sample
    why: str
    params: dict[str, Any] = field(default_factory=dict)


def F(kind: str, window, expected, why: str, **params) -> FeatureVector:
    expected = expected if isinstance(expected, (tuple, list)) else (expected,)
    return FeatureVector(kind, tuple(float(v) for v in window),
                         tuple(float(v) for v in expected), why, params)


def S(kind: str, sources, expected, why: str, **params) -> SignalVector:
    return SignalVector(kind, tuple(tuple(float(v) for v in s) for s in sources),
                        tuple(float(v) for v in expected), why, params)


C5 = (2.5,) * 5        # a constant window; 2.5 * k is exact, so the mean is exactly 2.5
ONE = (-2.5,)          # a window of length 1

FEATURE_VECTORS: list[FeatureVector] = [
    # ------------------------------------------------------------ sums, left to right from 0.0
    F("sum", (1, 2, 3, 4), 10, "plain integers"),
    F("sum", (1e16, 1, 1), 1e16,
      "left to right: 1e16 + 1 rounds back to 1e16 (tie to even), twice"),
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
    F("var", (0.1,) * 3, 2.0 ** -112, "constant 0.1: every deviation is -2^-56"),
    F("std", (0.1,) * 3, 2.0 ** -56, "constant 0.1: sqrt(2^-112)"),
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
    F("mean_crossings", (0.1,) * 10, 0, "constant 0.1: the mean is not exactly 0.1, but every "
      "deviation has the same sign, so still no crossing"),
    F("mean_crossings", ONE, 0, "length 1"),
    # ------------------------------------------------------------ slope against the index
    F("slope", (0, 2, 4, 6), 2, "a line of slope 2"),
    F("slope", (1, 3), 2, "L = 2: c = 0.5, mean 2, num = (-0.5)(-1) + (0.5)(1) = 1, D = 0.5"),
    F("slope", (3, 1, 2), -0.5, "c = 1, mean 2, num = (-1)(1) + 0 + (1)(0) = -1, D = 2"),
    F("slope", (1, 0, 1), 0, "symmetric: the two deviations are the same double, cancel exactly"),
    F("slope", C5, 0, "constant window"),
    F("slope", (0.1,) * 10, 0, "constant 0.1: the deviations are all the same tiny double and "
      "the index weights are symmetric, so the numerator cancels exactly"),
    # ------------------------------------------------------------ thresholds: strict comparisons
    F("count_above", (0.5, 0.6, 0.4, 0.5), 1, "strict: 0.5 is not above 0.5", threshold=0.5),
    F("count_above", (-0.0, 0.0, 1e-300), 1, "strict: neither zero is above 0.0", threshold=0.0),
    F("count_above", (-1, -1, 0), 1, "strict, negative threshold", threshold=-1.0),
    F("count_above", ONE, 1, "length 1", threshold=-3.0),
    F("longest_run_above", (2, 1, 2, 2, 1, 1, 0, 2), 2,
      "strict: the 1s break the runs (runs 1, 2, 1)", threshold=1.0),
    F("longest_run_above", (1, 1, 1), 0, "all samples equal the threshold: no run", threshold=1.0),
    F("longest_run_above", (5, 5, 5, 5), 4, "the whole window", threshold=1.0),
    F("longest_run_above", ONE, 1, "length 1", threshold=-3.0),
    F("longest_run_below", (2, 1, 2, 2, 1, 1, 0, 2), 1,
      "strict: only the 0 is below 1.0", threshold=1.0),
    F("longest_run_below", (0, 0, 1, 0, 0, 0), 3, "a run of 3 at the end", threshold=1.0),
    F("longest_run_below", (-0.0, 0.0, -1), 1, "strict: -0.0 is not below 0.0", threshold=0.0),
    F("longest_run_below", ONE, 0, "length 1", threshold=-3.0),
    # ------------------------------------------------------------ histogram: numpy's edge rule
    F("histogram", (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2), (1, 2, 2, 2),
      "edges 0,1,2,3,4: 0 -> b0; 1, 1 (inner edges) -> b1 (the upper bin); 2.5, 2 -> b2; "
      "3.999 and 4 (== high) -> b3 (the last bin is closed); 4.0000001 and -0.5 are not counted",
      bins=4, range=[0, 4]),
    F("histogram", (0, 1, 2.5, 4, 4.0000001, -0.5, 3.999, 1, 2), (1 / 9, 2 / 9, 2 / 9, 2 / 9),
      "normalize divides by L = 9 (all samples, counted or not), not by the 7 counted",
      bins=4, range=[0, 4], normalize=True),
    F("histogram", (0.3, 0.30000000000000004, 0.1, 1.0, 0.9999999999999999, 0.0, -0.0,
                    1.0000000000000002),
      (2, 1, 1, 1, 0, 0, 0, 0, 0, 2),
      "edges are numpy.linspace(0, 1, 11): edge 3 is 3 * 0.1 = 0.30000000000000004, so 0.3 is in "
      "b2 and 0.30000000000000004 in b3; 0.1 in b1; 0.0 and -0.0 in b0 (-0.0 >= 0.0); 1.0 and "
      "0.9999999999999999 in b9; 1.0000000000000002 is above high", bins=10, range=[0, 1]),
    F("histogram", (-1, 1, 0, 1.5, -1.5), 3, "one bin: [-1, 1] closed; 1.5 and -1.5 outside",
      bins=1, range=[-1, 1]),
    F("histogram", (-3, -1, -0.0, 1, 3, -3.0000001), (1, 2, 2),
      "edges -3, -1, 1, 3: -1 and -0.0 in b1, 1 and 3 in b2, -3.0000001 outside",
      bins=3, range=[-3, 3]),
    F("histogram", ONE, (1, 0), "length 1: -2.5 in [-3, 0)", bins=2, range=[-3, 3]),
    F("histogram", C5, (0, 5), "constant window: all five in [0, 3]", bins=2, range=[-3, 3]),
]

SIGNAL_VECTORS: list[SignalVector] = [
    S("diff", [(3, 5, 4, 4, -1)], (0, 2, -1, 0, -5), "0 on the first sample, then x[t] - x[t-1]"),
    S("diff", [(7,)], (0,), "a one-sample stream: only the first-sample rule"),
    S("ema", [(3, 5, 4, 4)], (3, 3.5, 3.625, 3.71875),
      "y0 = x0 = 3; 0.25*5 + 0.75*3 = 3.5; 0.25*4 + 0.75*3.5 = 3.625; 1 + 2.71875", alpha=0.25),
    S("ema", [(-2, 2, 2)], (-2, 0, 1), "alpha 0.5: y0 = -2, then (2 - 2) / 2, (2 + 0) / 2",
      alpha=0.5),
    S("ema", [(3, -5, 4)], (3, -5, 4), "alpha 1: 1*x + 0*y is x", alpha=1.0),
    S("magnitude", [(3, 5, 0, -0.0), (4, 12, 0, -0.0)], (5, 13, 0, 0),
      "3-4-5 and 5-12-13; sqrt(+0) = +0 for either zero"),
    S("magnitude", [(1, 2), (2, 3), (2, 6)], (3, 7), "three sources: sqrt(1+4+4), sqrt(4+9+36)"),
    S("scale", [(0.5, -3)], (0, -7), "x * 2 - 1", factor=2.0, offset=-1.0),
    S("scale", [(1.5, -0.0)], (1.5, 0.0), "defaults factor 1, offset 0: -0.0 * 1 + 0 = +0"),
    S("sum", [(1, 2), (10, 20), (100, 200)], (111, 222), "three sources"),
    S("sum", [(1e16,), (1,), (1,)], (1e16,), "left to right: (1e16 + 1) + 1 = 1e16"),
    S("difference", [(5, 1), (3, 4)], (2, -3), "a - b"),
]
