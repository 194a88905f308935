"""THE math: every feature written once, as IR. Backends never see a feature by name.

Conventions shared by all features (each kind's definition in docs/vocabulary.md, generated
from this registry by `featgen vocabulary`, states the ones it relies on; the streaming rules
around windows are docs/semantics.md):

* A window holds ``L`` samples, index 0 the oldest and ``L-1`` the newest.
* Sums run left to right from ``0.0`` (``((0 + x0) + x1) + ...``), never pairwise.
* ``mean = sum / L``. Variances are two-pass: ``sum((x - mean) * (x - mean)) / (L - ddof)``.
* Comparisons are IEEE: ``-0.0 == +0.0``; ties keep the earlier sample.
* Counts and indices are returned as doubles (exact integers).
* Samples are finite (non-finite samples are rejected before they reach a window); values that
  overflow inside a feature follow IEEE arithmetic identically in every target.

Adding a feature = one decorated function here + its oracle in parity_tests/test_oracle.py
(docs/vocabulary.md is regenerated with `featgen vocabulary`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np

from . import exact
from .ir import (
    Buf,
    Expr,
    Index,
    IndexValue,
    KernelBuilder,
    Table,
    Var,
    WindowRef,
    eq,
    fabs,
    ne,
    select,
    sqrt,
)
from .params import Interval, Param, at_least, between, hz
from .transcendentals import LOG


@dataclass(frozen=True)
class FeatureKind:
    name: str
    build: Callable[..., None]
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    n_signals: int = 1
    min_length: int = 1
    tag: Callable[[dict[str, Any]], str] | None = None  # name part from params, e.g. "_2p5"
    outputs: Callable[[dict[str, Any]], list[str]] | None = (
        None  # several columns, e.g. histogram bins
    )
    # Rules that need the window: (full params, window length, sample rate in Hz) -> message
    # when the combination is invalid (e.g. a DFT bin above L/2, a lag >= L).
    check: Callable[[dict[str, Any], int, float], str | None] | None = None
    # The constants computed from the parameters at generation time must be usable: (full
    # params, sample rate in Hz) -> (the parameter to blame, message) when they are not (e.g.
    # histogram bin edges that overflow or coincide).
    constants: Callable[[dict[str, Any], float], "tuple[str, str] | None"] | None = None

    def output_suffixes(self, params: dict[str, Any]) -> list[str]:
        return self.outputs(params) if self.outputs else [""]

    def name_tag(self, params: dict[str, Any]) -> str:
        return self.tag(params) if self.tag else ""


FEATURES: dict[str, FeatureKind] = {}
_Build = TypeVar("_Build", bound=Callable[..., None])  # (builder, windows..., **params)


def feature(name: str, doc: str, **kw: Any) -> Callable[[_Build], _Build]:
    def register(fn: _Build) -> _Build:
        FEATURES[name] = FeatureKind(name=name, build=fn, doc=doc, **kw)
        return fn

    return register


def number_tag(value: float) -> str:
    """A number as an identifier fragment: 2.5 -> '2p5', -8 -> 'm8', 1e-3 -> '0p001'."""
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace("-", "m").replace("+", "").replace(".", "p")


THRESHOLD = Param("number", doc="the threshold the samples are compared with (strictly)")


def _threshold_tag(p: dict[str, Any]) -> str:
    return "_" + number_tag(p["threshold"])


def _ddof_tag(p: dict[str, Any]) -> str:
    return "" if p["ddof"] == 0 else f"_ddof{p['ddof']}"


DDOF = Param(
    "int",
    default=0,
    check=between(0, 1),
    doc="delta degrees of freedom: divide by L - ddof (0: population, 1: sample)",
)


# ---------------------------------------------------------------- shared building blocks


def running_sum(
    b: KernelBuilder, x: WindowRef, term: Callable[[Expr], Expr] = lambda v: v, hint: str = "total"
) -> Var:
    """``((0 + t(x0)) + t(x1)) + ...`` left to right."""
    total = b.let(hint, 0.0)
    with b.loop(0, x.length) as k:
        b.set(total, total + term(x[k]))
    return total


def window_mean(b: KernelBuilder, x: WindowRef) -> Var:
    return b.let("mean", running_sum(b, x) / x.length)


def variance(b: KernelBuilder, x: WindowRef, ddof: int) -> Var:
    mean = window_mean(b, x)
    squares = running_sum(b, x, lambda v: (v - mean) * (v - mean), hint="squares")
    return b.let("variance", squares / (x.length - ddof))


def extreme(
    b: KernelBuilder, x: WindowRef, better: Callable[[Expr, Expr], Expr]
) -> tuple[Var, Var]:
    """(value, index) of the first sample for which no earlier one is ``better``."""
    best = b.let("best", x[0])
    where = b.let("best_at", 0.0)
    with b.loop(1, x.length) as k:
        take = better(x[k], best)
        b.set(where, select(take, IndexValue(k), where))
        b.set(best, select(take, x[k], best))
    return best, where


def crossings(b: KernelBuilder, x: WindowRef, level: Expr | float) -> Var:
    """Sign changes of ``x - level`` between consecutive non-zero values (zeros are skipped)."""
    count = b.let("crossings", 0.0)
    last = b.let("last_sign", 0.0)
    with b.loop(0, x.length) as k:
        d = x[k] - level
        sign = b.let("sign", select(d > 0.0, 1.0, select(d < 0.0, -1.0, 0.0)))
        b.set(count, select((sign * last) < 0.0, count + 1.0, count))
        b.set(last, select(ne(sign, 0.0), sign, last))
    return count


def longest_run(b: KernelBuilder, x: WindowRef, hit: Callable[[Expr], Expr]) -> tuple[Var, Var]:
    """(length, start index) of the first longest run of consecutive samples for which ``hit``
    holds; a later run replaces it only when strictly longer (the earliest longest run wins).
    (0, -1) when no sample hits. The start is k - run + 1 at the step where the run becomes the
    longest: integers far below 2**53, exact in double."""
    run = b.let("run", 0.0)
    longest = b.let("longest", 0.0)
    start = b.let("run_start", -1.0)
    with b.loop(0, x.length) as k:
        b.set(run, select(hit(x[k]), run + 1.0, 0.0))
        longer = run > longest
        b.set(start, select(longer, (IndexValue(k) - run) + 1.0, start))
        b.set(longest, select(longer, run, longest))
    return longest, start


# ---------------------------------------------------------------- the vocabulary


@feature("sum", "x0 + x1 + ... + x(L-1), left to right from 0.0.")
def f_sum(b: KernelBuilder, x: WindowRef) -> None:
    b.out(running_sum(b, x))


@feature("mean", "sum / L.")
def f_mean(b: KernelBuilder, x: WindowRef) -> None:
    b.out(window_mean(b, x))


@feature(
    "var",
    "two-pass: sum((x - mean)^2) / (L - ddof). A constant window gives exactly 0 "
    "when sum / L reproduces the constant (integers, dyadic values such as 0.5); otherwise "
    "(e.g. 0.1 repeated) a rounding-level value such as 1.9e-34, the same in every target.",
    params={"ddof": DDOF},
    tag=_ddof_tag,
)
def f_var(b: KernelBuilder, x: WindowRef, ddof: int) -> None:
    b.out(variance(b, x, ddof))


@feature(
    "std",
    "sqrt(var) with the same ddof; sqrt is correctly rounded everywhere.",
    params={"ddof": DDOF},
    tag=_ddof_tag,
)
def f_std(b: KernelBuilder, x: WindowRef, ddof: int) -> None:
    b.out(sqrt(variance(b, x, ddof)))


@feature("min", "smallest sample (first one on ties; -0.0 and +0.0 tie).")
def f_min(b: KernelBuilder, x: WindowRef) -> None:
    b.out(extreme(b, x, lambda v, best: v < best)[0])


@feature("max", "largest sample (first one on ties; -0.0 and +0.0 tie).")
def f_max(b: KernelBuilder, x: WindowRef) -> None:
    b.out(extreme(b, x, lambda v, best: v > best)[0])


@feature("range", "max - min.")
def f_range(b: KernelBuilder, x: WindowRef) -> None:
    lo = extreme(b, x, lambda v, best: v < best)[0]
    hi = extreme(b, x, lambda v, best: v > best)[0]
    b.out(hi - lo)


@feature("argmin", "index (0 = oldest) of the first smallest sample.")
def f_argmin(b: KernelBuilder, x: WindowRef) -> None:
    b.out(extreme(b, x, lambda v, best: v < best)[1])


@feature("argmax", "index (0 = oldest) of the first largest sample.")
def f_argmax(b: KernelBuilder, x: WindowRef) -> None:
    b.out(extreme(b, x, lambda v, best: v > best)[1])


@feature("first", "the oldest sample, x0.")
def f_first(b: KernelBuilder, x: WindowRef) -> None:
    b.out(x[0])


@feature("last", "the newest sample, x(L-1).")
def f_last(b: KernelBuilder, x: WindowRef) -> None:
    b.out(x[x.length - 1])


@feature("delta", "x(L-1) - x0.")
def f_delta(b: KernelBuilder, x: WindowRef) -> None:
    b.out(x[x.length - 1] - x[0])


@feature("energy", "sum(x * x), left to right.")
def f_energy(b: KernelBuilder, x: WindowRef) -> None:
    b.out(running_sum(b, x, lambda v: v * v, hint="energy"))


@feature("rms", "sqrt(energy / L).")
def f_rms(b: KernelBuilder, x: WindowRef) -> None:
    b.out(sqrt(running_sum(b, x, lambda v: v * v, hint="energy") / x.length))


@feature("mean_abs", "sum(|x|) / L.")
def f_mean_abs(b: KernelBuilder, x: WindowRef) -> None:
    b.out(running_sum(b, x, fabs, hint="total_abs") / x.length)


@feature(
    "zero_crossings",
    "number of sign changes between consecutive non-zero samples; exact zeros (either sign) "
    "are skipped, so -1, 0, 1 is one crossing and -1, 0, -1 none.",
)
def f_zero_crossings(b: KernelBuilder, x: WindowRef) -> None:
    b.out(crossings(b, x, 0.0))


@feature("mean_crossings", "zero_crossings of (x - mean); samples equal to the mean are skipped.")
def f_mean_crossings(b: KernelBuilder, x: WindowRef) -> None:
    b.out(crossings(b, x, window_mean(b, x)))


@feature(
    "slope",
    "least-squares slope against the sample index: sum((k - c) * (x_k - mean)) / D with "
    "c = (L-1)/2 and D = L(L^2-1)/12 (both exact in double). Needs L >= 2.",
    min_length=2,
)
def f_slope(b: KernelBuilder, x: WindowRef) -> None:
    n = x.length
    centre = (n - 1) / 2.0
    mean = window_mean(b, x)
    num = b.let("num", 0.0)
    with b.loop(0, n) as k:
        b.set(num, num + (IndexValue(k) - centre) * (x[k] - mean))
    b.out(num / (n * (n * n - 1) / 12))


@feature(
    "count_above",
    "number of samples strictly greater than threshold.",
    params={"threshold": THRESHOLD},
    tag=_threshold_tag,
)
def f_count_above(b: KernelBuilder, x: WindowRef, threshold: float) -> None:
    b.out(running_sum(b, x, lambda v: select(v > threshold, 1.0, 0.0), hint="count"))


MIN_LENGTH = Param(
    "int",
    default=1,
    check=at_least(1),
    quiet_default=True,
    doc="runs shorter than this many samples do not count (1: every run; at "
    "most the window length)",
)


def _run_tag(p: dict[str, Any]) -> str:
    return _threshold_tag(p) + ("" if p["min_length"] == 1 else f"_min{p['min_length']}")


def _run_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if p["min_length"] > length:
        return (
            f"min_length {p['min_length']} is longer than the window: no run could count "
            "and the feature would always be 0 (or -1 for a start)"
        )
    return None


RUN_PARAMS = {"threshold": THRESHOLD, "min_length": MIN_LENGTH}
RUN_RULE = (
    "A run counts only when it is at least min_length samples long (default 1): "
    "shorter runs count as 0. "
)


def _run_length(
    b: KernelBuilder, x: WindowRef, hit: Callable[[Expr], Expr], min_length: int
) -> None:
    longest = longest_run(b, x, hit)[0]
    b.out(longest if min_length == 1 else select(longest >= float(min_length), longest, 0.0))


def _run_start(
    b: KernelBuilder, x: WindowRef, hit: Callable[[Expr], Expr], min_length: int
) -> None:
    longest, start = longest_run(b, x, hit)
    b.out(start if min_length == 1 else select(longest >= float(min_length), start, -1.0))


@feature(
    "longest_run_above",
    "length of the longest run of consecutive samples strictly greater than threshold. " + RUN_RULE,
    params=RUN_PARAMS,
    tag=_run_tag,
    check=_run_check,
)
def f_longest_run_above(b: KernelBuilder, x: WindowRef, threshold: float, min_length: int) -> None:
    _run_length(b, x, lambda v: v > threshold, min_length)


@feature(
    "longest_run_below",
    "length of the longest run of consecutive samples strictly less than threshold. " + RUN_RULE,
    params=RUN_PARAMS,
    tag=_run_tag,
    check=_run_check,
)
def f_longest_run_below(b: KernelBuilder, x: WindowRef, threshold: float, min_length: int) -> None:
    _run_length(b, x, lambda v: v < threshold, min_length)


START_DOC = (
    "index (0 = oldest) of the first sample of the longest run of consecutive samples "
    "strictly {side} threshold; on a tie the earliest longest run (the one that starts "
    "first); -1 when there is no run (no sample {side} threshold, or no run of at least "
    "min_length samples). "
)


@feature(
    "longest_run_above_start",
    START_DOC.format(side="greater than") + RUN_RULE,
    params=RUN_PARAMS,
    tag=_run_tag,
    check=_run_check,
)
def f_longest_run_above_start(
    b: KernelBuilder, x: WindowRef, threshold: float, min_length: int
) -> None:
    _run_start(b, x, lambda v: v > threshold, min_length)


@feature(
    "longest_run_below_start",
    START_DOC.format(side="less than") + RUN_RULE,
    params=RUN_PARAMS,
    tag=_run_tag,
    check=_run_check,
)
def f_longest_run_below_start(
    b: KernelBuilder, x: WindowRef, threshold: float, min_length: int
) -> None:
    _run_start(b, x, lambda v: v < threshold, min_length)


def histogram_edges(bins: int, lo: float, hi: float) -> list[float]:
    """Bin edges exactly as numpy.histogram uses them (np.linspace), fixed at generation time."""
    return [float(e) for e in np.linspace(lo, hi, bins + 1)]


def _histogram_constants(p: dict[str, Any], rate: float) -> tuple[str, str] | None:
    """The edges are generation-time constants compared with every sample: each must be finite
    (high - low overflows past 1.8e308: numpy.linspace gives inf and NaN) and each bin must be
    wider than zero (a range a few doubles wide repeats edges)."""
    low, high = p["range"]
    with np.errstate(all="ignore"):
        edges = histogram_edges(p["bins"], low, high)
    if not all(np.isfinite(edges)):
        return "range", (
            f"the bin edges of {[low, high]} are not finite: high - low overflows a "
            "double; narrow the range"
        )
    if any(a >= b for a, b in zip(edges, edges[1:])):
        return "range", (
            f"{p['bins']} bins over {[low, high]} are narrower than a double can "
            "tell apart (bin edges repeat); widen the range or use fewer bins"
        )
    return None


@feature(
    "histogram",
    "counts of samples per bin over a fixed range [low, high] split into `bins` equal bins "
    "(edges = numpy.linspace(low, high, bins + 1)). Bin i holds edge_i <= x < edge_(i+1); the "
    "last bin also holds x == high. Samples outside [low, high]: with outside: drop (the "
    "default) they are not counted (numpy's rule); with outside: clamp a sample below low "
    "counts in the first bin and one above high in the last (the same counts as "
    "numpy.histogram(numpy.clip(x, low, high)), so every sample counts once). A NaN "
    "(only possible in a derived signal) counts in no bin either way. With "
    "normalize: true each count is divided by L.",
    params={
        "bins": Param("int", check=between(1, 256), doc="number of equal bins"),
        "range": Param("range", doc="[low, high] of the binned values"),
        "normalize": Param("bool", default=False, doc="divide counts by L"),
        "outside": Param(
            "choice",
            default="drop",
            choices=("drop", "clamp"),
            quiet_default=True,
            doc="samples outside [low, high]: drop (not counted) or clamp "
            "(counted in the first or last bin)",
        ),
    },
    constants=_histogram_constants,
    tag=lambda p: "" if p["outside"] == "drop" else "_clamp",
    outputs=lambda p: [f"_b{i:0{len(str(p['bins'] - 1))}d}" for i in range(p["bins"])],
)
def f_histogram(
    b: KernelBuilder, x: WindowRef, bins: int, normalize: bool, outside: str, **p: Any
) -> None:
    edges = histogram_edges(bins, *p["range"])
    clamp = outside == "clamp"
    for i in range(bins):
        lo, hi, first, last = edges[i], edges[i + 1], i == 0, i == bins - 1

        def inside(
            v: Expr, lo: float = lo, hi: float = hi, first: bool = first, last: bool = last
        ) -> Expr:
            if clamp and first and last:
                return eq(v, v)  # every (non-NaN) sample
            if clamp and first:
                return v < hi
            if clamp and last:
                return v >= lo
            if last:
                return (v >= lo) & (v <= hi)
            return (v >= lo) & (v < hi)

        count = running_sum(b, x, lambda v: select(inside(v), 1.0, 0.0), hint="count")
        b.out(count / x.length if normalize else count)


# ================================================================ order statistics
#
# Sorting is exact (it only permutes values), but -0.0 and +0.0 compare equal, so their order
# would depend on the algorithm: every sorted copy holds x + 0.0 instead, which turns -0.0 into
# +0.0 and changes nothing else. NaN (only possible in derived signals) sorts last.


def sorted_copy(b: KernelBuilder, x: WindowRef, hint: str = "sorted") -> Buf:
    buf = b.scratch(hint, x.length)
    with b.loop(0, x.length) as k:
        b.buf_set(buf, k, x[k] + 0.0)
    b.sort(buf)
    return buf


def median_of(b: KernelBuilder, buf: Buf) -> Expr:
    n = buf.length
    if n % 2:
        return buf[n // 2]
    return (buf[n // 2 - 1] + buf[n // 2]) * 0.5


def linear_position(n: int, q: float) -> tuple[int, int, float]:
    """numpy's 'linear' method at generation time: virtual index (n - 1) * (q / 100) in double,
    its floor, the next index (clipped to n - 1) and gamma = index - floor."""
    p = q / 100.0
    v = (n - 1) * p
    lo = int(v // 1)
    return lo, min(lo + 1, n - 1), v - lo


def nearest_rank_position(n: int, q: float) -> int:
    """Edge Impulse's nearest rank: int((N - 1) * p + 0.5), p = q / 100, in double."""
    return min(int((n - 1) * (q / 100.0) + 0.5), n - 1)


def percentile_of(buf: Buf, q: float, method: str) -> Expr:
    n = buf.length
    if method == "nearest_rank":
        return buf[nearest_rank_position(n, q)]
    lo, hi, t = linear_position(n, q)
    a, c = buf[lo], buf[hi]
    if t == 0:
        return a
    if t < 0.5:
        return a + (c - a) * t
    return c - (c - a) * (1.0 - t)


_q_check = Interval(0.0, 100.0, message="must be between 0 and 100, got {v!r}")


METHOD = Param(
    "choice",
    default="linear",
    choices=("linear", "nearest_rank"),
    doc="linear: numpy's default, a + (b - a) * t below t = 0.5 and b - (b - a) * "
    "(1 - t) from 0.5 on, at virtual index (L - 1) * q / 100 (t its fraction, "
    "computed at generation time); nearest_rank: the sample at index "
    "int((L - 1) * q / 100 + 0.5) (Edge Impulse)",
)


def _method_tag(p: dict[str, Any]) -> str:
    return "" if p["method"] == "linear" else "_nearest"


@feature(
    "median",
    "middle of the sorted window (sorted copy of x + 0.0, so -0.0 counts as "
    "+0.0); for even L, (a + b) * 0.5 of the two middle values, as numpy.median.",
)
def f_median(b: KernelBuilder, x: WindowRef) -> None:
    b.out(median_of(b, sorted_copy(b, x)))


@feature(
    "percentile",
    "q-th percentile of the sorted window (sorted copy of x + 0.0) by the stated method; "
    "the interpolation is emitted as arithmetic, never a library percentile.",
    params={"q": Param("number", check=_q_check, doc="percent, 0 to 100"), "method": METHOD},
    tag=lambda p: f"_{number_tag(p['q'])}{_method_tag(p)}",
)
def f_percentile(b: KernelBuilder, x: WindowRef, q: float, method: str) -> None:
    b.out(percentile_of(sorted_copy(b, x), q, method))


@feature(
    "iqr",
    "interquartile range: percentile 75 - percentile 25, both by the stated method.",
    params={"method": METHOD},
    tag=_method_tag,
)
def f_iqr(b: KernelBuilder, x: WindowRef, method: str) -> None:
    buf = sorted_copy(b, x)
    b.out(percentile_of(buf, 75.0, method) - percentile_of(buf, 25.0, method))


@feature(
    "mad",
    "median absolute deviation: median(|x - median(x)|) * scale (unscaled by "
    "default; scale 1.482602218505602 estimates a normal sigma). Both medians as `median`.",
    params={"scale": Param("number", default=1.0, doc="factor applied last")},
    tag=lambda p: "" if p["scale"] == 1.0 else f"_s{number_tag(p['scale'])}",
)
def f_mad(b: KernelBuilder, x: WindowRef, scale: float) -> None:
    med = b.let("median", median_of(b, sorted_copy(b, x)))  # the sorted copy median etc. share
    deviations = b.scratch("deviations", x.length)
    with b.loop(0, x.length) as k:
        b.buf_set(deviations, k, fabs(x[k] - med))
    b.sort(deviations)
    value = median_of(b, deviations)
    b.out(value if scale == 1.0 else value * scale)


# ================================================================ moments

EPS = 2.0**-52
ZERO_VARIANCE = Param(
    "number",
    default=0.0,
    doc="the value for an (effectively) constant window: m2 <= (eps * mean)^2, "
    "eps = 2^-52 (scipy's rule, where it returns NaN)",
)
BIAS = Param(
    "bool", default=True, doc="true: the biased (population) estimator; false: the adjusted one"
)


def central_moment_sums(
    b: KernelBuilder, x: WindowRef, powers: tuple[int, ...]
) -> tuple[Var, Var, list[Var]]:
    """(mean, m2, m_p for p in powers): m_p = sum(d^p) / L with d = x - mean, d^3 = (d*d)*d,
    d^4 = (d*d)*(d*d), each sum left to right."""
    mean = window_mean(b, x)
    terms: dict[int, Callable[[Expr], Expr]] = {
        2: lambda d: d * d,
        3: lambda d: (d * d) * d,
        4: lambda d: (d * d) * (d * d),
    }
    m2 = b.let("m2", running_sum(b, x, lambda v: terms[2](v - mean), hint="s2") / x.length)
    ms = [
        b.let(
            f"m{p}",
            running_sum(b, x, lambda v, p=p: terms[p](v - mean), hint=f"s{p}")  # type: ignore[misc]  # p: a default, bound per power
            / x.length,
        )
        for p in powers
    ]
    return mean, m2, ms


def constant_window(mean: Expr, m2: Expr) -> Expr:
    return m2 <= (EPS * mean) * (EPS * mean)


def _skew_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if not p["bias"] and length < 3:
        return "adjusted skewness (bias: false) needs a window of at least 3 samples"
    return None


def _kurt_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if not p["bias"] and length < 4:
        return "adjusted kurtosis (bias: false) needs a window of at least 4 samples"
    return None


@feature(
    "skewness",
    "bias true: g1 = m3 / (m2 * sqrt(m2)) (scipy's default, TSFEL, Edge Impulse); bias "
    "false: G1 = g1 * (sqrt(L (L - 1)) / (L - 2)) (pandas/tsfresh; the factor is rounded once "
    "at generation time; L >= 3). m_p = sum((x - mean)^p) / L. A constant window gives "
    "zero_variance.",
    params={"bias": BIAS, "zero_variance": ZERO_VARIANCE},
    check=_skew_check,
    tag=lambda p: "" if p["bias"] else "_adjusted",
)
def f_skewness(b: KernelBuilder, x: WindowRef, bias: bool, zero_variance: float) -> None:
    mean, m2, (m3,) = central_moment_sums(b, x, (3,))
    g = b.let("g1", m3 / (m2 * sqrt(m2)))
    n = x.length
    if not bias:
        g = b.let("G1", g * _adjust_skew(n))
    b.out(select(constant_window(mean, m2), zero_variance, g))


def _adjust_skew(n: int) -> float:
    """sqrt(n (n - 1)) / (n - 2), correctly rounded (exact decimal arithmetic)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        return exact.to_float(Decimal(n * (n - 1)).sqrt() / Decimal(n - 2))


@feature(
    "kurtosis",
    "excess (fisher true) or Pearson (fisher false, + 3.0) kurtosis. bias true: g2 = m4 / "
    "(m2 * m2) - 3.0; bias false: G2 = c * ((L + 1) * g2 + 6.0) with c = (L - 1) / ((L - 2) "
    "(L - 3)) rounded once at generation time (L >= 4). A constant window gives "
    "zero_variance (as is, without the + 3.0).",
    params={
        "bias": BIAS,
        "fisher": Param("bool", default=True, doc="true: excess kurtosis (normal = 0)"),
        "zero_variance": ZERO_VARIANCE,
    },
    check=_kurt_check,
    tag=lambda p: ("" if p["bias"] else "_adjusted") + ("" if p["fisher"] else "_pearson"),
)
def f_kurtosis(
    b: KernelBuilder, x: WindowRef, bias: bool, fisher: bool, zero_variance: float
) -> None:
    mean, m2, (m4,) = central_moment_sums(b, x, (4,))
    g = b.let("g2", m4 / (m2 * m2) - 3.0)
    n = x.length
    if not bias:
        c = float(Fraction(n - 1, (n - 2) * (n - 3)))
        g = b.let("G2", c * ((n + 1) * g + 6.0))
    if not fisher:
        g = b.let("pearson", g + 3.0)
    b.out(select(constant_window(mean, m2), zero_variance, g))


# ================================================================ shape


@feature(
    "mean_abs_change",
    "sum(|x(k) - x(k-1)|, k = 1..L-1) / (L - 1), left to right (tsfresh). Needs L >= 2.",
    min_length=2,
)
def f_mean_abs_change(b: KernelBuilder, x: WindowRef) -> None:
    total = b.let("total", 0.0)
    with b.loop(1, x.length) as k:
        b.set(total, total + fabs(x[k] - x[k - 1]))
    b.out(total / (x.length - 1))


HEIGHT = Param(
    "number",
    default=None,
    doc="minimum height: a peak counts only when its value >= height (none: no limit)",
)


def _height_tag(p: dict[str, Any]) -> str:
    return "" if p["height"] is None else f"_h{number_tag(p['height'])}"


def peaks(b: KernelBuilder, x: WindowRef, height: float | None) -> tuple[Var, Var]:
    """(count, index of the last) of peaks: a run of equal samples x[i..j] (a plateau; a single
    sample is a run of one) with 1 <= i, j <= L-2, x[i-1] < x[i] and x[j+1] < x[j]; its index is
    i, its first sample. Found in one left-to-right pass; a NaN ends any candidate."""
    count = b.let("peaks", 0.0)
    last = b.let("last_peak", -1.0)
    rising = b.let("rising", 0.0)  # 1 while x[start..k-1] is a run entered by a rise
    start = b.let("start", 0.0)
    with b.loop(1, x.length) as k:
        up, same, down = x[k] > x[k - 1], eq(x[k], x[k - 1]), x[k] < x[k - 1]
        ok = (rising > 0.0) & down
        if height is not None:
            ok = ok & (x[k - 1] >= height)
        b.set(count, select(ok, count + 1.0, count))
        b.set(last, select(ok, start, last))
        b.set(start, select(up, IndexValue(k), start))
        b.set(rising, select(up, 1.0, select(same, rising, 0.0)))
    return count, last


PEAK_DOC = (
    "a peak is a sample, or a plateau of equal samples, strictly higher than its "
    "neighbours on both sides: x[i-1] < x[i] = ... = x[j] > x[j+1] (scipy.signal."
    "find_peaks' rule); the first and last samples never are. "
)


@feature(
    "peak_count",
    "number of peaks; " + PEAK_DOC + "With height, only peaks >= height.",
    params={"height": HEIGHT},
    tag=_height_tag,
)
def f_peak_count(b: KernelBuilder, x: WindowRef, height: float) -> None:
    b.out(peaks(b, x, height)[0])


@feature(
    "last_peak_index",
    "index (0 = oldest) of the newest peak, a plateau counting at its "
    "first sample (as argmax keeps the first of ties); -1 when there is none; " + PEAK_DOC,
    params={"height": HEIGHT},
    tag=_height_tag,
)
def f_last_peak_index(b: KernelBuilder, x: WindowRef, height: float) -> None:
    b.out(peaks(b, x, height)[1])


def _half_period(rate: float) -> float:
    """h = 0.5 / sample_rate_hz, rounded once; OverflowError when it exceeds the doubles."""
    return float(Fraction(1, 2) / Fraction(repr(rate)))


def _integral_constants(p: dict[str, Any], rate: float) -> tuple[str, str] | None:
    try:
        _half_period(rate)
    except OverflowError:
        return "sample_rate_hz", (
            f"the integral's step 0.5 / sample_rate_hz overflows a double "
            f"at {hz(rate)}; use a larger sample rate"
        )
    return None


@feature(
    "integral",
    "trapezoid rule over the window in seconds: (sum of (x(k-1) + x(k)), k = "
    "1..L-1, left to right) * h with h = 0.5 / sample_rate_hz rounded once at generation "
    "time; 0 for L = 1.",
    constants=_integral_constants,
)
def f_integral(b: KernelBuilder, x: WindowRef) -> None:
    total = b.let("total", 0.0)
    with b.loop(1, x.length) as k:
        b.set(total, total + (x[k - 1] + x[k]))
    b.out(total * _half_period(b.sample_rate))


def _lag_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if p["lag"] >= length:
        return f"autocorrelation at lag {p['lag']} needs a window longer than the lag"
    return None


@feature(
    "autocorrelation",
    "sum(d(k) * d(k + lag), k = 0..L-1-lag) / sum(d(k)^2), d = x - mean: the biased "
    "estimator (both sums over L, which cancels), normalised by the variance; "
    "zero_variance for a constant window (m2 <= (eps * mean)^2).",
    params={
        "lag": Param("int", default=1, check=at_least(1), doc="lag in samples, < L"),
        "zero_variance": ZERO_VARIANCE,
    },
    check=_lag_check,
    tag=lambda p: f"_lag{p['lag']}",
)
def f_autocorrelation(b: KernelBuilder, x: WindowRef, lag: int, zero_variance: float) -> None:
    mean = window_mean(b, x)
    den = running_sum(b, x, lambda v: (v - mean) * (v - mean), hint="squares")
    num = b.let("num", 0.0)
    with b.loop(0, x.length - lag) as k:
        b.set(num, num + (x[k] - mean) * (x[k + lag] - mean))
    m2 = den / x.length
    b.out(select(constant_window(mean, m2), zero_variance, num / den))


# ================================================================ two signals


PAIR = (
    "Reads two signals, given as pairs: `of: [[x, y], ...]`; named `{kind}__{x}__{y}__{window}`. "
)


@feature(
    "covariance",
    PAIR + "sum((x - mean_x) * (y - mean_y)) / (L - ddof), left to right "
    "(two-pass means as `mean`).",
    params={"ddof": DDOF},
    tag=_ddof_tag,
    n_signals=2,
)
def f_covariance(b: KernelBuilder, x: WindowRef, y: WindowRef, ddof: int) -> None:
    mx, my = window_mean(b, x), window_mean(b, y)
    total = b.let("products", 0.0)
    with b.loop(0, x.length) as k:
        b.set(total, total + (x[k] - mx) * (y[k] - my))
    b.out(total / (x.length - ddof))


@feature(
    "correlation",
    PAIR + "Pearson: sxy / (sqrt(sxx) * sqrt(syy)) with sxy = sum(dx * dy), sxx = sum(dx^2), syy = "
    "sum(dy^2), d = value - mean; clamped to [-1, 1]; zero_variance when either window is "
    "constant (m2 <= (eps * mean)^2).",
    params={"zero_variance": ZERO_VARIANCE},
    n_signals=2,
)
def f_correlation(b: KernelBuilder, x: WindowRef, y: WindowRef, zero_variance: float) -> None:
    mx, my = window_mean(b, x), window_mean(b, y)
    sxx = running_sum(b, x, lambda v: (v - mx) * (v - mx), hint="sxx")
    syy = running_sum(b, y, lambda v: (v - my) * (v - my), hint="syy")
    sxy = b.let("sxy", 0.0)
    with b.loop(0, x.length) as k:
        b.set(sxy, sxy + (x[k] - mx) * (y[k] - my))
    r = b.let("r", sxy / (sqrt(sxx) * sqrt(syy)))
    b.set(r, select(r > 1.0, 1.0, select(r < -1.0, -1.0, r)))
    flat = constant_window(mx, sxx / x.length) | constant_window(my, syy / x.length)
    b.out(select(flat, zero_variance, r))


# ================================================================ spectra
#
# X(k) = sum(w(n) x(n) e^(-2 pi i k n / L)), n = 0..L-1, evaluated directly (no FFT): re and im
# are sums left to right over n of (w(n) x(n)) * cos(2 pi k n / L) and of (w(n) x(n)) *
# (-sin(2 pi k n / L)); the cos and -sin tables (and the taper) are constants fixed at
# generation time (60-digit decimal, rounded once, exactly symmetric), indexed by (k n) mod L.
# Power P(k) = re * re + im * im, no 1/L scaling; bins k = 0..floor(L/2), frequency
# f(k) = k * (sample_rate_hz / L) in double.

MAX_SPECTRAL = 4096
TAPER = Param(
    "choice",
    default="none",
    choices=("none", "hann"),
    doc="taper the window before the DFT: none, or hann (periodic, scipy's "
    "get_window default: w(n) = 0.5 - 0.5 cos(2 pi n / L); w = 1 for L = 1)",
)
INCLUDE_DC = Param("bool", default=False, doc="include bin 0 (the mean) in the spectrum")
SPECTRUM = Param(
    "choice",
    default="power",
    choices=("power", "magnitude"),
    doc="weigh bins by power P(k) or magnitude sqrt(P(k))",
)


def cos_table(n: int) -> Table:
    return Table(f"cos{n}", tuple(exact.cos_turns(Fraction(m, n)) for m in range(n)))


def nsin_table(n: int) -> Table:
    return Table(f"nsin{n}", tuple(0.0 - exact.sin_turns(Fraction(m, n)) for m in range(n)))


def hann_table(n: int) -> Table:
    """Periodic Hann weights; (1.0,) for n = 1, as scipy.signal.get_window."""
    values = []
    with exact.context():
        for m in range(n):
            c = exact.sin_cos_turns(Fraction(m, n))[0]
            values.append(exact.to_float((1 - c) / 2))
    return Table(f"hann{n}", (1.0,) if n == 1 else tuple(values))


def tapered(b: KernelBuilder, x: WindowRef, taper: str) -> WindowRef | Buf:
    """The samples the DFT reads: x itself, or w(n) * x(n) in a scratch buffer."""
    if taper == "none":
        return x
    weights = hann_table(x.length)
    buf = b.scratch("tapered", x.length)
    with b.loop(0, x.length) as n:
        b.buf_set(buf, n, x[n] * weights[n])
    return buf


def dft_power(b: KernelBuilder, xs: WindowRef | Buf, length: int, k: Index | int) -> Var:
    """P(k) for one bin (k an int or a loop index)."""
    cos, nsin = cos_table(length), nsin_table(length)
    re = b.let("re", 0.0)
    im = b.let("im", 0.0)
    with b.loop(0, length, hint="n") as n:
        idx = Index(None, 0) if isinstance(k, int) and k == 0 else (n * k) % length
        b.set(re, re + xs[n] * cos[idx])
        b.set(im, im + xs[n] * nsin[idx])
    return b.let("power", re * re + im * im)


def power_spectrum(b: KernelBuilder, x: WindowRef, taper: str, first: int) -> tuple[Buf, int]:
    """P(k) for k = first..L/2 into a scratch buffer (index k); (buffer, bin count L/2 + 1)."""
    xs = tapered(b, x, taper)
    bins = x.length // 2 + 1
    spec = b.scratch("spectrum", bins)
    with b.loop(first, bins) as k:
        b.buf_set(spec, k, dft_power(b, xs, x.length, k))
    return spec, bins


def _spectral_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if length > MAX_SPECTRAL:
        return (
            f"spectral features evaluate the DFT directly and support windows of at most "
            f"{MAX_SPECTRAL} samples"
        )
    return None


def _bins_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    too_big = [k for k in p["bins"] if not 0 <= k <= length // 2]
    if too_big:
        return f"DFT bins of a {length}-sample window are 0 to {length // 2}, got {too_big[0]}"
    return _spectral_check(p, length, rate)


def _taper_tag(p: dict[str, Any]) -> str:
    return "" if p["taper"] == "none" else f"_{p['taper']}"


def _bin_outputs(p: dict[str, Any]) -> list[str]:
    width = len(str(max(p["bins"])))
    return [f"_b{k:0{width}d}" for k in p["bins"]]


BINS = Param("ints", doc="DFT bins k (0 to L/2), one column each, in the order given")
DFT_DOC = (
    "X(k) = sum(w(n) x(n) e^(-2 pi i k n / L)) evaluated directly (no FFT, L <= 4096): "
    "re and im are sums over n = 0..L-1, left to right, of (w(n) x(n)) * cos(2 pi k n / L) "
    "and (w(n) x(n)) * -sin(2 pi k n / L), read from tables fixed at generation time "
    "(60-digit decimal rounded once, exactly symmetric; index (k n) mod L); P(k) = re * re + "
    "im * im, no 1/L scaling; f(k) = k * (sample_rate_hz / L). "
)
SEE_DFT = "P(k) and f(k) as in dft_power. "


@feature(
    "dft_magnitude",
    "|X(k)| = sqrt(P(k)) at each chosen bin (raw |rfft|, as TSFEL). " + SEE_DFT,
    params={"bins": BINS, "taper": TAPER},
    check=_bins_check,
    tag=_taper_tag,
    outputs=_bin_outputs,
)
def f_dft_magnitude(b: KernelBuilder, x: WindowRef, bins: tuple[int, ...], taper: str) -> None:
    xs = tapered(b, x, taper)
    for k in bins:
        b.out(sqrt(dft_power(b, xs, x.length, k)))


@feature(
    "dft_power",
    "P(k) at each chosen bin. " + DFT_DOC,
    params={"bins": BINS, "taper": TAPER},
    check=_bins_check,
    tag=_taper_tag,
    outputs=_bin_outputs,
)
def f_dft_power(b: KernelBuilder, x: WindowRef, bins: tuple[int, ...], taper: str) -> None:
    xs = tapered(b, x, taper)
    for k in bins:
        b.out(dft_power(b, xs, x.length, k))


def band_bins(band: tuple[float, float], length: int, rate: float) -> range:
    """Bins k with low <= k * rate / L <= high, decided exactly (rational arithmetic)."""
    lo, hi = Fraction(band[0]), Fraction(band[1])
    step = Fraction(repr(rate)) / length
    return range(max(0, -(-lo // step)), min(length // 2, hi // step) + 1)


def _band_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    if not band_bins(p["band"], length, rate):
        step = rate / length
        return (
            f"no DFT bin of a {length}-sample window (bins every {step!r} Hz, up to "
            f"{length // 2 * step!r} Hz) lies in the band {list(p['band'])} Hz"
        )
    return _spectral_check(p, length, rate)


@feature(
    "band_power",
    SEE_DFT + "Sum of P(k) over the bins whose frequency f(k) lies in [low, high] "
    "(inclusive, decided exactly at generation time), in increasing k, left to right.",
    params={"band": Param("range", doc="[low, high] in Hz"), "taper": TAPER},
    check=_band_check,
    tag=lambda p: f"_{number_tag(p['band'][0])}_{number_tag(p['band'][1])}{_taper_tag(p)}",
)
def f_band_power(b: KernelBuilder, x: WindowRef, band: tuple[float, float], taper: str) -> None:
    xs = tapered(b, x, taper)
    bins = band_bins(band, x.length, b.sample_rate)
    total = b.let("band", 0.0)
    with b.loop(bins.start, bins.stop) as k:
        b.set(total, total + dft_power(b, xs, x.length, k))
    b.out(total)


def _dc_tag(p: dict[str, Any]) -> str:
    return _taper_tag(p) + ("_dc" if p["include_dc"] else "")


@feature(
    "dominant_frequency",
    SEE_DFT + "f(k) of the first bin with the largest P(k) among k = 1..L/2 (k = 0..L/2 with "
    "include_dc); 0.0 when that power is 0 (a spectrum of zeros). Rounding-level spectra "
    "(constant windows) give an arbitrary but identical bin in every target.",
    params={"taper": TAPER, "include_dc": INCLUDE_DC},
    min_length=2,
    check=_spectral_check,
    tag=_dc_tag,
)
def f_dominant_frequency(b: KernelBuilder, x: WindowRef, taper: str, include_dc: bool) -> None:
    first = 0 if include_dc else 1
    spec, bins = power_spectrum(b, x, taper, first)
    best = b.let("best", spec[first])
    where = b.let("best_at", float(first))
    with b.loop(first + 1, bins) as k:
        take = spec[k] > best
        b.set(where, select(take, IndexValue(k), where))
        b.set(best, select(take, spec[k], best))
    step = float(Fraction(repr(b.sample_rate)) / x.length)
    b.out(select(eq(best, 0.0), 0.0, where * step))


def weights(b: KernelBuilder, spec: Buf, k: Index, spectrum: str) -> Expr:
    return spec[k] if spectrum == "power" else sqrt(spec[k])


@feature(
    "spectral_centroid",
    SEE_DFT + "sum(f(k) * W(k)) / sum(W(k)) over k = 1..L/2 (0..L/2 with include_dc), W = P or "
    "sqrt(P) (spectrum), both sums left to right; 0.0 when sum(W) is 0.",
    params={"taper": TAPER, "include_dc": INCLUDE_DC, "spectrum": SPECTRUM},
    min_length=2,
    check=_spectral_check,
    tag=lambda p: _dc_tag(p) + ("" if p["spectrum"] == "power" else "_mag"),
)
def f_spectral_centroid(
    b: KernelBuilder, x: WindowRef, taper: str, include_dc: bool, spectrum: str
) -> None:
    first = 0 if include_dc else 1
    spec, bins = power_spectrum(b, x, taper, first)
    step = float(Fraction(repr(b.sample_rate)) / x.length)
    num = b.let("num", 0.0)
    den = b.let("den", 0.0)
    with b.loop(first, bins) as k:
        w = b.let("weight", weights(b, spec, k, spectrum))
        b.set(num, num + (IndexValue(k) * step) * w)
        b.set(den, den + w)
    b.out(select(eq(den, 0.0), 0.0, num / den))


def _entropy_check(p: dict[str, Any], length: int, rate: float) -> str | None:
    bins = length // 2 + (1 if p["include_dc"] else 0)
    if bins < 2:
        return f"spectral entropy needs at least 2 bins; a {length}-sample window has {bins}" + (
            "" if p["include_dc"] else " without DC"
        )
    return _spectral_check(p, length, rate)


@feature(
    "spectral_entropy",
    SEE_DFT + "Shannon entropy in nats of p(k) = W(k) / sum(W) over k = 1..L/2 (0..L/2 with "
    "include_dc), W = P or sqrt(P): -(sum of p * log(p) over p > 0), left to right, with the "
    "portable log (docs/transcendentals.md); normalize divides by log(number of bins) "
    "(correctly rounded at generation time), giving [0, 1]. 0.0 when sum(W) is 0.",
    params={
        "taper": TAPER,
        "include_dc": INCLUDE_DC,
        "spectrum": SPECTRUM,
        "normalize": Param("bool", default=True, doc="divide by log(bins)"),
    },
    min_length=2,
    check=_entropy_check,
    tag=lambda p: (
        _dc_tag(p)
        + ("" if p["spectrum"] == "power" else "_mag")
        + ("" if p["normalize"] else "_nats")
    ),
)
def f_spectral_entropy(
    b: KernelBuilder, x: WindowRef, taper: str, include_dc: bool, spectrum: str, normalize: bool
) -> None:
    first = 0 if include_dc else 1
    spec, bins = power_spectrum(b, x, taper, first)
    total = b.let("total", 0.0)
    with b.loop(first, bins) as k:
        b.set(total, total + weights(b, spec, k, spectrum))
    h = b.let("h", 0.0)
    with b.loop(first, bins) as k:
        p = b.let("p", weights(b, spec, k, spectrum) / total)
        b.set(h, select(p > 0.0, h + p * LOG(p), h))
    value: Expr = b.let("entropy", 0.0 - h)  # 0.0 - h: no -0.0 for a one-bin spectrum
    if normalize:
        value = value / exact.ln(bins - first)
    b.out(select(eq(total, 0.0), 0.0, value))


# ================================================================ transcendental


@feature(
    "log_energy",
    "log(floor + energy) with the portable log (docs/transcendentals.md); "
    "-inf for a window of zeros when floor is 0.",
    params={
        "floor": Param(
            "number",
            default=0.0,
            check=Interval(low=0.0, message="must be >= 0, got {v!r}"),
            doc="added to the energy before the log",
        )
    },
    tag=lambda p: "" if p["floor"] == 0.0 else f"_floor{number_tag(p['floor'])}",
)
def f_log_energy(b: KernelBuilder, x: WindowRef, floor: float) -> None:
    energy = running_sum(b, x, lambda v: v * v, hint="energy")
    b.out(LOG(floor + energy if floor != 0.0 else energy))


# ================================================================ arithmetic between columns
#
# A ratio reads two columns of the vector instead of a window of samples. It is not a kind of
# FEATURES (it names columns, not signals); lowering builds its kernel by running the two
# operand features' code in the ratio's own kernel, so it needs no IR of its own and the
# sharing pass (codegen/sharing.py) computes each operand once per window.

FALLBACK = Param(
    "number",
    default=0.0,
    doc="the value when the quotient is not finite: a zero denominator (of either "
    "sign, including 0 / 0), an overflow (1e300 / 1e-300), or a non-finite "
    "operand; a finite number, so the column stays finite",
)

RATIO = "ratio"  # the kind of a ratio's FeatureDef (not a key of FEATURES)
RATIO_DOC = (
    "num / den, one correctly rounded IEEE division, or `fallback` (default 0.0) when "
    "that quotient is not finite: den == 0 of either sign (x / 0 and 0 / 0 alike), an "
    "overflow, or a NaN or infinite operand. Decided by (q - q) != 0 on the quotient q, "
    "the same test in every target, so the result is always finite."
)


def is_finite_quotient(q: Expr) -> Expr:
    """True exactly when ``q`` is finite: q - q is +0.0 for every finite q, NaN otherwise."""
    return eq(q - q, 0.0)


def finite_or(q: Expr, fallback: float) -> Expr:
    """``q`` when finite, else ``fallback``: the ratio rule, written once for the ratio signal
    and the ratio of two columns (``q`` is the quotient num / den)."""
    return select(is_finite_quotient(q), q, fallback)


def build_ratio(b: KernelBuilder, num: Expr, den: Expr, fallback: float) -> None:
    """The ratio kernel's last step: its operands are already computed in ``b``."""
    b.out(finite_or(b.let("quotient", num / den), fallback))
