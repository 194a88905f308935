"""THE math: every feature written once, as IR. Backends never see a feature by name.

Conventions shared by all features (also in docs/features.md):

* A window holds ``L`` samples, index 0 the oldest and ``L-1`` the newest.
* Sums run left to right from ``0.0`` (``((0 + x0) + x1) + ...``), never pairwise.
* ``mean = sum / L``. Variances are two-pass: ``sum((x - mean) * (x - mean)) / (L - ddof)``.
* Comparisons are IEEE: ``-0.0 == +0.0``; ties keep the earlier sample.
* Counts and indices are returned as doubles (exact integers).
* Samples are finite (non-finite samples are rejected before they reach a window); values that
  overflow inside a feature follow IEEE arithmetic identically in every target.

Adding a feature = one decorated function here + one test vector in parity_tests.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .ir import Expr, IndexValue, KernelBuilder, Var, WindowRef, fabs, ne, select, sqrt
from .params import Param, at_least, between


@dataclass(frozen=True)
class FeatureKind:
    name: str
    build: Callable[..., None]
    doc: str
    params: dict[str, Param] = field(default_factory=dict)
    n_signals: int = 1
    min_length: int = 1
    tag: Callable[[dict], str] | None = None          # name part from params, e.g. "_2p5"
    outputs: Callable[[dict], list[str]] | None = None  # several columns, e.g. histogram bins

    def output_suffixes(self, params: dict) -> list[str]:
        return self.outputs(params) if self.outputs else [""]

    def name_tag(self, params: dict) -> str:
        return self.tag(params) if self.tag else ""


FEATURES: dict[str, FeatureKind] = {}


def feature(name: str, doc: str, **kw: Any):
    def register(fn: Callable[..., None]) -> Callable[..., None]:
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


def _threshold_tag(p: dict) -> str:
    return "_" + number_tag(p["threshold"])


def _ddof_tag(p: dict) -> str:
    return "" if p["ddof"] == 0 else f"_ddof{p['ddof']}"


DDOF = Param("int", default=0, check=between(0, 1),
             doc="delta degrees of freedom: divide by L - ddof (0: population, 1: sample)")


# ---------------------------------------------------------------- shared building blocks


def running_sum(b: KernelBuilder, x: WindowRef, term: Callable[[Expr], Expr] = lambda v: v,
                hint: str = "total") -> Var:
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


def extreme(b: KernelBuilder, x: WindowRef, better: Callable[[Expr, Expr], Expr]) -> tuple[Var, Var]:
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


def longest_run(b: KernelBuilder, x: WindowRef, hit: Callable[[Expr], Expr]) -> Var:
    run = b.let("run", 0.0)
    longest = b.let("longest", 0.0)
    with b.loop(0, x.length) as k:
        b.set(run, select(hit(x[k]), run + 1.0, 0.0))
        b.set(longest, select(run > longest, run, longest))
    return longest


# ---------------------------------------------------------------- the vocabulary


@feature("sum", "x0 + x1 + ... + x(L-1), left to right from 0.0.")
def f_sum(b, x):
    b.out(running_sum(b, x))


@feature("mean", "sum / L.")
def f_mean(b, x):
    b.out(window_mean(b, x))


@feature("var", "two-pass: sum((x - mean)^2) / (L - ddof). A constant window gives exactly 0 "
         "when sum / L reproduces the constant (integers, dyadic values such as 0.5); otherwise "
         "(e.g. 0.1 repeated) a rounding-level value such as 1.9e-34, the same in every target.",
         params={"ddof": DDOF}, tag=_ddof_tag)
def f_var(b, x, ddof):
    b.out(variance(b, x, ddof))


@feature("std", "sqrt(var) with the same ddof; sqrt is correctly rounded everywhere.",
         params={"ddof": DDOF}, tag=_ddof_tag)
def f_std(b, x, ddof):
    b.out(sqrt(variance(b, x, ddof)))


@feature("min", "smallest sample (first one on ties; -0.0 and +0.0 tie).")
def f_min(b, x):
    b.out(extreme(b, x, lambda v, best: v < best)[0])


@feature("max", "largest sample (first one on ties; -0.0 and +0.0 tie).")
def f_max(b, x):
    b.out(extreme(b, x, lambda v, best: v > best)[0])


@feature("range", "max - min.")
def f_range(b, x):
    lo = extreme(b, x, lambda v, best: v < best)[0]
    hi = extreme(b, x, lambda v, best: v > best)[0]
    b.out(hi - lo)


@feature("argmin", "index (0 = oldest) of the first smallest sample.")
def f_argmin(b, x):
    b.out(extreme(b, x, lambda v, best: v < best)[1])


@feature("argmax", "index (0 = oldest) of the first largest sample.")
def f_argmax(b, x):
    b.out(extreme(b, x, lambda v, best: v > best)[1])


@feature("first", "the oldest sample, x0.")
def f_first(b, x):
    b.out(x[0])


@feature("last", "the newest sample, x(L-1).")
def f_last(b, x):
    b.out(x[x.length - 1])


@feature("delta", "x(L-1) - x0.")
def f_delta(b, x):
    b.out(x[x.length - 1] - x[0])


@feature("energy", "sum(x * x), left to right.")
def f_energy(b, x):
    b.out(running_sum(b, x, lambda v: v * v, hint="energy"))


@feature("rms", "sqrt(energy / L).")
def f_rms(b, x):
    b.out(sqrt(running_sum(b, x, lambda v: v * v, hint="energy") / x.length))


@feature("mean_abs", "sum(|x|) / L.")
def f_mean_abs(b, x):
    b.out(running_sum(b, x, fabs, hint="total_abs") / x.length)


@feature("zero_crossings",
         "number of sign changes between consecutive non-zero samples; exact zeros (either sign) "
         "are skipped, so -1, 0, 1 is one crossing and -1, 0, -1 none.")
def f_zero_crossings(b, x):
    b.out(crossings(b, x, 0.0))


@feature("mean_crossings", "zero_crossings of (x - mean); samples equal to the mean are skipped.")
def f_mean_crossings(b, x):
    b.out(crossings(b, x, window_mean(b, x)))


@feature("slope",
         "least-squares slope against the sample index: sum((k - c) * (x_k - mean)) / D with "
         "c = (L-1)/2 and D = L(L^2-1)/12 (both exact in double). Needs L >= 2.",
         min_length=2)
def f_slope(b, x):
    n = x.length
    centre = (n - 1) / 2.0
    mean = window_mean(b, x)
    num = b.let("num", 0.0)
    with b.loop(0, n) as k:
        b.set(num, num + (IndexValue(k) - centre) * (x[k] - mean))
    b.out(num / (n * (n * n - 1) / 12))


@feature("count_above", "number of samples strictly greater than threshold.",
         params={"threshold": THRESHOLD}, tag=_threshold_tag)
def f_count_above(b, x, threshold):
    b.out(running_sum(b, x, lambda v: select(v > threshold, 1.0, 0.0), hint="count"))


@feature("longest_run_above",
         "length of the longest run of consecutive samples strictly greater than threshold.",
         params={"threshold": THRESHOLD}, tag=_threshold_tag)
def f_longest_run_above(b, x, threshold):
    b.out(longest_run(b, x, lambda v: v > threshold))


@feature("longest_run_below",
         "length of the longest run of consecutive samples strictly less than threshold.",
         params={"threshold": THRESHOLD}, tag=_threshold_tag)
def f_longest_run_below(b, x, threshold):
    b.out(longest_run(b, x, lambda v: v < threshold))


def histogram_edges(bins: int, lo: float, hi: float) -> list[float]:
    """Bin edges exactly as numpy.histogram uses them (np.linspace), fixed at generation time."""
    return [float(e) for e in np.linspace(lo, hi, bins + 1)]


@feature("histogram",
         "counts of samples per bin over a fixed range [low, high] split into `bins` equal bins "
         "(edges = numpy.linspace(low, high, bins + 1)). Bin i holds edge_i <= x < edge_(i+1); the "
         "last bin also holds x == high. Samples outside [low, high] are not counted (numpy's "
         "rule). With normalize: true each count is divided by L.",
         params={"bins": Param("int", check=between(1, 256), doc="number of equal bins"),
                 "range": Param("range", doc="[low, high] of the binned values"),
                 "normalize": Param("bool", default=False, doc="divide counts by L")},
         outputs=lambda p: [f"_b{i:0{len(str(p['bins'] - 1))}d}" for i in range(p["bins"])])
def f_histogram(b, x, bins, normalize, **p):
    edges = histogram_edges(bins, *p["range"])
    for i in range(bins):
        lo, hi, last = edges[i], edges[i + 1], i == bins - 1
        inside = (lambda v: (v >= lo) & (v <= hi)) if last else (lambda v: (v >= lo) & (v < hi))
        count = running_sum(b, x, lambda v: select(inside(v), 1.0, 0.0), hint="count")
        b.out(count / x.length if normalize else count)
