"""Derived per-sample signals, each written once as IR: a value for the first sample of a stream
and one for every later sample (which may read the previous sample through :class:`Prev`).

A signal that keeps more state than its previous value (a filter) returns :class:`Steps`: named
state slots assigned in order on every sample (:class:`Slot` reads the latest assignment), then
its value. The slots live in the streaming state (C struct members, Swift stored properties).

A signal's state carries across windows exactly as in a stream: the numpy backend runs the same
recursion over a whole recording that the C and Swift runtimes run one push at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, TypeVar

from . import exact
from .features import FALLBACK, RATIO_DOC, finite_or
from .ir import Cur, Expr, Prev, Slot, lift, select, sqrt
from .params import Interval, Param, below_nyquist, between, hz
from .transcendentals import ATAN2


@dataclass(frozen=True)
class Steps:
    """A signal with state slots: ``first`` / ``later`` are (slot, value) steps run in order on
    the first / every later sample; ``value`` (read after the steps) is the signal."""

    first: tuple[tuple[str, Expr], ...]
    later: tuple[tuple[str, Expr], ...]
    value: Expr


@dataclass(frozen=True)
class SignalKind:
    name: str
    build: Callable[..., "tuple[Expr, Expr] | Steps"]  # (self, sources..., **params)
    doc: str
    min_sources: int
    max_sources: int
    params: dict[str, Param] = field(default_factory=dict)
    uses_rate: bool = False  # build also receives sample_rate= (Hz)
    # The constants computed from the parameters at generation time must be usable: (params,
    # sample rate in Hz) -> (the parameter to blame, message) when they are not (a filter
    # design that divides by zero or rounds to an unstable filter, a factor that rounds away).
    constants: Callable[[dict[str, Any], float], "tuple[str, str] | None"] | None = None
    distinct: bool = False  # its sources must be different signals (a / a is no ratio)


SIGNALS: dict[str, SignalKind] = {}
_Build = TypeVar("_Build", bound=Callable[..., "tuple[Expr, Expr] | Steps"])


def signal(
    name: str, doc: str, sources: int | tuple[int, int] = 1, **kw: Any
) -> Callable[[_Build], _Build]:
    lo, hi = (sources, sources) if isinstance(sources, int) else sources

    def register(fn: _Build) -> _Build:
        SIGNALS[name] = SignalKind(name, fn, doc, lo, hi, **kw)
        return fn

    return register


_open_unit = Interval(0.0, 1.0, low_inclusive=False, message="must satisfy 0 < alpha <= 1, got {v}")


@signal("magnitude", "sqrt(a*a + b*b [+ c*c]), summed left to right.", sources=(2, 3))
def s_magnitude(self: str, *srcs: str) -> tuple[Expr, Expr]:
    total = Cur(srcs[0]) * Cur(srcs[0])
    for s in srcs[1:]:
        total = total + Cur(s) * Cur(s)
    value = sqrt(total)
    return value, value


@signal(
    "diff",
    "first difference x[t] - x[t-1]; 0 on the first sample of a stream (a "
    "non-finite x makes that difference and the next one non-finite, no more).",
)
def s_diff(self: str, src: str) -> tuple[Expr, Expr]:
    return lift(0.0), Cur(src) - Prev(src)


RESTART_DOC = (
    "Recovery: when its value on a sample is NaN or infinite (e.g. its input "
    "overflowed on one huge sample), it restarts on the next accepted sample exactly "
    "as on the first sample of a stream."
)


def _ema_constants(p: dict[str, Any], rate: float) -> tuple[str, str] | None:
    if 1.0 - p["alpha"] == 1.0:
        return "alpha", (
            f"alpha {p['alpha']!r} is so small that 1 - alpha rounds to 1 in double "
            "precision: the average would never follow its input; use alpha >= "
            "1.2e-16"
        )
    return None


@signal(
    "ema",
    "exponential moving average y[t] = alpha*x[t] + (1-alpha)*y[t-1]; y[0] = x[0]. "
    "(1 - alpha) is computed once at generation time. " + RESTART_DOC,
    params={"alpha": Param("number", check=_open_unit, doc="smoothing factor, 0 < alpha <= 1")},
    constants=_ema_constants,
)
def s_ema(self: str, src: str, alpha: float) -> tuple[Expr, Expr]:
    return Cur(src), alpha * Cur(src) + (1.0 - alpha) * Prev(self)


@signal(
    "scale",
    "x * factor + offset.",
    params={
        "factor": Param("number", default=1.0, doc="multiplier"),
        "offset": Param("number", default=0.0, doc="added after the multiplication"),
    },
)
def s_scale(self: str, src: str, factor: float, offset: float) -> tuple[Expr, Expr]:
    value = Cur(src) * factor + offset
    return value, value


@signal("sum", "a + b [+ c ...], left to right.", sources=(2, 8))
def s_sum(self: str, *srcs: str) -> tuple[Expr, Expr]:
    total: Expr = Cur(srcs[0])
    for s in srcs[1:]:
        total = total + Cur(s)
    return total, total


@signal("difference", "a - b.", sources=2)
def s_difference(self: str, a: str, b: str) -> tuple[Expr, Expr]:
    value = Cur(a) - Cur(b)
    return value, value


@signal(
    "atan2",
    "atan2(a, b) in radians, in [-pi, pi] (e.g. a tilt angle from two accelerometer "
    "axes): the portable atan2 of featurespec/vocabulary/transcendentals.py (fdlibm's algorithm, the same "
    "bits in every target; within 1 ulp of glibc, docs/transcendentals.md), C99 Annex F "
    "rules for signed zeros and infinities.",
    sources=2,
)
def s_atan2(self: str, a: str, b: str) -> tuple[Expr, Expr]:
    value = ATAN2(Cur(a), Cur(b))
    return value, value


@signal(
    "clip",
    "x limited to [low, high]: low when x < low, high when x > high, else x "
    "itself (bit for bit, so -0.0 stays -0.0 inside the range). A NaN (only possible in a "
    "derived signal, e.g. an overflowing magnitude) passes through unchanged; +-inf becomes "
    "high or low.",
    params={"range": Param("range", doc="[low, high], finite, low < high")},
)
def s_clip(self: str, src: str, range: tuple[float, float]) -> tuple[Expr, Expr]:
    low, high = range
    x = Cur(src)
    value = select(x < low, low, select(x > high, high, x))
    return value, value


@signal(
    "ratio",
    RATIO_DOC.replace("num / den", "a / b").replace("den == 0", "b == 0"),
    sources=2,
    distinct=True,
    params={"fallback": FALLBACK},
)
def s_ratio(self: str, a: str, b: str, fallback: float) -> tuple[Expr, Expr]:
    value = finite_or(Cur(a) / Cur(b), fallback)
    return value, value


# ---------------------------------------------------------------- Butterworth filters


@dataclass(frozen=True)
class Biquad:
    """y = b0 u + s1; s1' = (b1 u - a1 y) + s2; s2' = b2 u - a2 y (a0 = 1). First-order sections
    have b2 = a2 = 0 and no s2. ``gain`` is the DC gain (b0 + b1 + b2) / (1 + a1 + a2)."""

    b0: float
    b1: float
    b2: float
    a1: float
    a2: float
    gain: float
    order: int


def _section(kind: str, k: Decimal, a: Decimal | None = None) -> Biquad:
    """One bilinear-transformed Butterworth section with prewarped K = tan(pi fc / fs): analog
    1 / (s^2 + a s + 1) (low-pass; high-pass: s^2 / ...), or 1 / (s + 1) when ``a`` is None.
    Computed in 60-digit Decimal, each coefficient rounded once; b1 = 2 b0 (or -2 b0, -b0) and
    b2 = b0 exactly."""
    with exact.context():
        return _section_exact(kind, k, a)


def _section_exact(kind: str, k: Decimal, a: Decimal | None) -> Biquad:
    D = exact.decimal
    one = D(1)
    if a is None:
        num = k if kind == "low" else one
        b0 = exact.to_float(num / (one + k))
        b1 = b0 if kind == "low" else -b0
        a1 = exact.to_float((k - one) / (k + one))
        b = (b0, b1, 0.0)
        den = (a1, 0.0)
    else:
        norm = one / (one + a * k + k * k)
        b0 = exact.to_float((k * k if kind == "low" else one) * norm)
        b = (b0, 2.0 * b0 if kind == "low" else -2.0 * b0, b0)
        den = (
            exact.to_float(2 * (k * k - one) * norm),
            exact.to_float((one - a * k + k * k) * norm),
        )
    num_sum = D(b[0]) + D(b[1]) + D(b[2])
    gain = exact.to_float(num_sum / (one + D(den[0]) + D(den[1])))
    return Biquad(b[0], b[1], b[2], den[0], den[1], gain, 1 if a is None else 2)


def butterworth(kind: str, order: int, cutoff: float, rate: float) -> list[Biquad]:
    """Second-order sections of an order-``order`` Butterworth low- or high-pass filter (poles
    in the order sin(pi (2k + 1) / (2 order)), k = 0, 1, ...; the first-order section of an odd
    order last)."""
    k = exact.tan_half_turns(Fraction(cutoff) / Fraction(rate))
    sections = []
    for i in range(order // 2):
        a = 2 * exact.sin_cos_turns(Fraction(2 * i + 1, 4 * order))[1]
        sections.append(_section(kind, k, a))
    if order % 2:
        sections.append(_section(kind, k))
    return sections


def design_problem(sections_of: Callable[[], list[Biquad]]) -> str | None:
    """Why a filter design cannot be used once its coefficients are rounded to doubles, or None.

    A tiny cutoff (relative to the sample rate) puts the analog poles so close to z = 1 that the
    rounded coefficients place a pole on the unit circle: the exact design then divides by zero
    (the DC gain of the rounded section), and a generated filter would drift or never settle.
    Every section must be stable after rounding (Jury: |a2| < 1 and |a1| < 1 + a2, exactly on
    the doubles; |a1| < 1 for a first-order one), and its coefficients finite with b0 != 0."""
    unstable = "its coefficients, rounded to doubles, put a pole on or outside the unit circle"
    try:
        sections = sections_of()
    except ArithmeticError as exc:
        # The only division that can fail is the DC gain (b0 + b1 + b2) / (1 + a1 + a2) of the
        # rounded section: 1 + a1 + a2 = 0 is a pole at z = 1.
        return f"{unstable} (the exact design divides by zero: {type(exc).__name__})"
    for q in sections:
        values = (q.b0, q.b1, q.b2, q.a1, q.a2, q.gain)
        if not all(math.isfinite(v) for v in values):
            return "a coefficient is not finite"
        if q.b0 == 0.0:
            return "the coefficient b0 underflows to 0 in double precision"
        a1, a2 = Fraction(q.a1), Fraction(q.a2)
        stable = abs(a1) < 1 if q.order == 1 else abs(a2) < 1 and abs(a1) < 1 + a2
        if not stable:
            return unstable
    return None


def _filter_constants(kind: str) -> Callable[[dict[str, Any], float], tuple[str, str] | None]:
    """The ``constants`` rule of a Butterworth low-/high-/band-pass signal."""

    def check(p: dict[str, Any], rate: float) -> tuple[str, str] | None:
        order = p["order"]
        if kind == "bandpass":
            key, cutoffs = "band", p["band"]
            design = lambda: (  # noqa: E731
                butterworth("high", order, cutoffs[0], rate)
                + butterworth("low", order, cutoffs[1], rate)
            )
        else:
            key, cutoffs = "cutoff", (p["cutoff"],)
            design = lambda: butterworth(kind[:-4], order, cutoffs[0], rate)  # noqa: E731
        problem = design_problem(design)
        if problem is None:
            return None
        at = " and ".join(hz(f) for f in cutoffs)
        return key, (
            f"an order-{order} Butterworth {kind} at {at} sampled at {hz(rate)} cannot "
            f"be generated: {problem}; move the cutoff away from 0 Hz and from the "
            "Nyquist frequency (or lower the order)"
        )

    return check


def filter_steps(self: str, src: str, sections: list[Biquad]) -> Steps:
    """Transposed direct form II, section after section. On the first sample each section's
    state is the steady state for a constant input equal to its first input u: y = gain * u,
    s2 = b2 u - a2 y, s1 = (b1 u - a1 y) + s2; then the regular update runs."""
    first: list[tuple[str, Expr]] = []
    later: list[tuple[str, Expr]] = []
    u_first: Expr = Cur(src)
    u_later: Expr = Cur(src)
    for i, q in enumerate(sections):
        y, s1, s2 = f"y{i}", f"s{i}a", f"s{i}b"
        for steps, u, start in ((first, u_first, True), (later, u_later, False)):
            if start:
                steps.append((y, q.gain * u))
                if q.order == 2:
                    steps.append((s2, q.b2 * u - q.a2 * Slot(self, y)))
                    steps.append((s1, (q.b1 * u - q.a1 * Slot(self, y)) + Slot(self, s2)))
                else:
                    steps.append((s1, q.b1 * u - q.a1 * Slot(self, y)))
            steps.append((y, q.b0 * u + Slot(self, s1)))
            if q.order == 2:
                steps.append((s1, (q.b1 * u - q.a1 * Slot(self, y)) + Slot(self, s2)))
                steps.append((s2, q.b2 * u - q.a2 * Slot(self, y)))
            else:
                steps.append((s1, q.b1 * u - q.a1 * Slot(self, y)))
        u_first = u_later = Slot(self, y)
    return Steps(tuple(first), tuple(later), Slot(self, f"y{len(sections) - 1}"))


ORDER = Param(
    "int",
    default=2,
    check=between(1, 8),
    doc="Butterworth order (1 to 8): order // 2 second-order sections, plus a "
    "first-order one when odd",
)
CUTOFF = Param(
    "number",
    doc="-3 dB cutoff frequency in Hz, 0 < cutoff < sample_rate_hz / 2",
    rate_check=below_nyquist,
)
FILTER_DOC = (
    "Bilinear transform with prewarping (K = tan(pi cutoff / sample_rate_hz), as "
    "scipy.signal.butter), coefficients computed at generation time in 60-digit decimal "
    "and rounded once. Sections in transposed direct form II: y = b0 u + s1; s1 = (b1 u - "
    "a1 y) + s2; s2 = b2 u - a2 y. The state carries across windows like ema; on the "
    "first sample each section starts in the steady state for a constant input equal "
    "to its first input (so a constant signal passes with no start-up transient). " + RESTART_DOC
)


@signal(
    "lowpass",
    "Butterworth low-pass filter of the given order and cutoff. " + FILTER_DOC,
    params={"cutoff": CUTOFF, "order": ORDER},
    uses_rate=True,
    constants=_filter_constants("lowpass"),
)
def s_lowpass(self: str, src: str, cutoff: float, order: int, sample_rate: float) -> Steps:
    return filter_steps(self, src, butterworth("low", order, cutoff, sample_rate))


@signal(
    "highpass",
    "Butterworth high-pass filter of the given order and cutoff. " + FILTER_DOC,
    params={"cutoff": CUTOFF, "order": ORDER},
    uses_rate=True,
    constants=_filter_constants("highpass"),
)
def s_highpass(self: str, src: str, cutoff: float, order: int, sample_rate: float) -> Steps:
    return filter_steps(self, src, butterworth("high", order, cutoff, sample_rate))


def _band_check(v: tuple[float, float]) -> str | None:
    return None if v[0] > 0 else f"the band must start above 0 Hz, got {list(v)}"


@signal(
    "bandpass",
    "band-pass filter: the Butterworth high-pass at band[0] followed by the "
    "Butterworth low-pass at band[1], each of the given order (so 2 x order poles; not "
    "scipy's band-pass transform, whose sections differ). " + FILTER_DOC,
    params={
        "band": Param(
            "range",
            check=_band_check,
            rate_check=below_nyquist,
            doc="[low, high] cutoffs in Hz, 0 < low < high < sample_rate_hz / 2",
        ),
        "order": ORDER,
    },
    uses_rate=True,
    constants=_filter_constants("bandpass"),
)
def s_bandpass(
    self: str, src: str, band: tuple[float, float], order: int, sample_rate: float
) -> Steps:
    sections = butterworth("high", order, band[0], sample_rate)
    sections += butterworth("low", order, band[1], sample_rate)
    return filter_steps(self, src, sections)
