"""Derived per-sample signals, each written once as IR: a value for the first sample of a stream
and one for every later sample (which may read the previous sample through :class:`Prev`).

A signal's state carries across windows exactly as in a stream: the numpy backend runs the same
recursion over a whole recording that the C and Swift runtimes run one push at a time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .ir import Cur, Expr, Prev, lift, sqrt
from .params import Param


@dataclass(frozen=True)
class SignalKind:
    name: str
    build: Callable[..., tuple[Expr, Expr]]   # (sources..., **params) -> (first, later)
    doc: str
    min_sources: int
    max_sources: int
    params: dict[str, Param] = field(default_factory=dict)


SIGNALS: dict[str, SignalKind] = {}


def signal(name: str, doc: str, sources: int | tuple[int, int] = 1, **kw: Any):
    lo, hi = (sources, sources) if isinstance(sources, int) else sources

    def register(fn):
        SIGNALS[name] = SignalKind(name, fn, doc, lo, hi, **kw)
        return fn
    return register


def _open_unit(v: float) -> str | None:
    return None if 0.0 < v <= 1.0 else f"must satisfy 0 < alpha <= 1, got {v}"


@signal("magnitude", "sqrt(a*a + b*b [+ c*c]), summed left to right.", sources=(2, 3))
def s_magnitude(self, *srcs):
    total = Cur(srcs[0]) * Cur(srcs[0])
    for s in srcs[1:]:
        total = total + Cur(s) * Cur(s)
    value = sqrt(total)
    return value, value


@signal("diff", "first difference x[t] - x[t-1]; 0 on the first sample of a stream.")
def s_diff(self, src):
    return lift(0.0), Cur(src) - Prev(src)


@signal("ema", "exponential moving average y[t] = alpha*x[t] + (1-alpha)*y[t-1]; y[0] = x[0]. "
        "(1 - alpha) is computed once at generation time.",
        params={"alpha": Param("number", check=_open_unit, doc="smoothing factor, 0 < alpha <= 1")})
def s_ema(self, src, alpha):
    return Cur(src), alpha * Cur(src) + (1.0 - alpha) * Prev(self)


@signal("scale", "x * factor + offset.",
        params={"factor": Param("number", default=1.0, doc="multiplier"),
                "offset": Param("number", default=0.0, doc="added after the multiplication")})
def s_scale(self, src, factor, offset):
    value = Cur(src) * factor + offset
    return value, value


@signal("sum", "a + b [+ c ...], left to right.", sources=(2, 8))
def s_sum(self, *srcs):
    total = Cur(srcs[0])
    for s in srcs[1:]:
        total = total + Cur(s)
    return total, total


@signal("difference", "a - b.", sources=2)
def s_difference(self, a, b):
    value = Cur(a) - Cur(b)
    return value, value
