"""float32 arithmetic exactly as XGBoost's C++ does it, for the model side of featgen.

XGBoost converts every input to float32, compares float32 against float32 thresholds and sums
float32 leaves in float32. Python floats are doubles, so this module provides the pieces that
keep every value an exact float32: correctly rounded parsing of the decimal numbers in XGBoost's
JSON, literals that C and Swift parse back to the same bits, neighbours in float32 order, and
replicas of XGBoost's sigmoid and softmax (src/common/math.h) used to place the decision
threshold in margin space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

import numpy as np
import numpy.typing as npt

F32 = np.float32
FLT_MAX = float(np.finfo(np.float32).max)
FLT_TRUE_MIN = float(np.finfo(np.float32).smallest_subnormal)


def is_f32(x: float) -> bool:
    """True when the double ``x`` is exactly a float32 value (NaN and infinities included)."""
    return math.isnan(x) or float(F32(x)) == x


def f32_from_decimal(text: str) -> float:
    """The float32 nearest to the decimal ``text`` (ties to even), as a Python float.

    ``float(np.float32(float(text)))`` rounds twice (decimal -> double -> float32) and can land
    on the wrong float32 when the decimal is within half a double ULP of a float32 midpoint, so
    the candidate is checked against its neighbours with exact rational arithmetic."""
    value = float(text)
    if math.isinf(value) or math.isnan(value):
        return value
    exact = Fraction(text.strip())
    guess = float(F32(value))
    if math.isinf(guess):
        return guess
    best = guess
    for candidate in (next_f32(guess, -1), next_f32(guess, +1)):
        if math.isinf(candidate):
            continue
        d_best, d_cand = abs(Fraction(best) - exact), abs(Fraction(candidate) - exact)
        if d_cand < d_best or (d_cand == d_best and _even(candidate) and not _even(best)):
            best = candidate
    return best


def _even(x: float) -> bool:
    return int(np.array(x, dtype=np.float32).view(np.uint32)) % 2 == 0


def ordered(x: float) -> int:
    """float32 -> integer such that adjacent float32 values differ by 1 (-0.0 == +0.0 - 1)."""
    bits = int(np.array(x, dtype=np.float32).view(np.int32))
    return bits if bits >= 0 else -(bits & 0x7FFFFFFF) - 1


def from_ordered(k: int) -> float:
    bits = k if k >= 0 else (-(k + 1)) | -0x80000000
    return float(np.array(bits, dtype=np.int32).view(np.float32))


def next_f32(x: float, steps: int = 1) -> float:
    """The float32 ``steps`` places after ``x`` in float32 order (before, when negative)."""
    return from_ordered(ordered(x) + steps)


def _require_finite_f32(x: float) -> None:
    if not (is_f32(x) and math.isfinite(x)):
        raise ValueError(f"{x!r} is not a finite float32: no literal for it")


def c_literal(x: float) -> str:
    """A C99 float literal that is exactly the float32 ``x``: ``0x1.8p+1f``; ``0.0f``/``-0.0f``."""
    _require_finite_f32(x)
    if x == 0:
        return "-0.0f" if math.copysign(1.0, x) < 0 else "0.0f"
    return _hex(x) + "f"


def _hex(x: float) -> str:
    """``float.hex`` without the trailing zeros: 0x1.8p+1, 0x1p-3, -0x1.99999ap-4."""
    mantissa, exponent = float(x).hex().split("p")
    return mantissa.rstrip("0").rstrip(".") + "p" + exponent


def swift_literal(x: float) -> str:
    """A Swift literal for the float32 ``x`` (used as ``Float``): hex float, no suffix."""
    _require_finite_f32(x)
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    return _hex(x)


def c_double_literal(x: float) -> str:
    """A C99 double literal that is exactly ``x``: ``0x1.8p+1``; ``0.0``/``-0.0``; ``HUGE_VAL``
    (<math.h>, +inf) for an infinite threshold (scikit-learn's missing-values-only split)."""
    if math.isnan(x):
        raise ValueError(f"a threshold literal cannot be NaN: {x!r}")
    if math.isinf(x):
        return "HUGE_VAL" if x > 0 else "-HUGE_VAL"
    if x == 0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    return _hex(x)


def kotlin_double_literal(value: float) -> str:
    """An exact Kotlin Double literal (Kotlin has no hex floats): ``25.0`` for integral values,
    else the shortest round-trip decimal (``0.1``, ``1e-300``, ``-0.0``)."""
    if not math.isfinite(value):
        raise ValueError(f"not a finite literal: {value!r}")
    if value == int(value) and abs(value) < 2.0**53 and math.copysign(1.0, value) > 0:
        return f"{int(value)}.0"
    text = repr(float(value))
    return text if ("." in text or "e" in text) else text + ".0"


def kotlin_float_literal(value: float) -> str:
    """An exact Kotlin Float literal for the float32 ``value``: the float's exact double
    decimal plus ``f``, which reads back the same whether the parser rounds straight to float
    or through double."""
    if value != value:
        return "Float.NaN"
    if math.isinf(value):
        return "Float.POSITIVE_INFINITY" if value > 0 else "Float.NEGATIVE_INFINITY"
    return kotlin_double_literal(value) + "f"


def literal(x: float, kind: str, language: str = "c") -> str:
    """The literal of ``x`` as a ``kind`` (``float32`` | ``float64``) value in C, Swift or
    Kotlin (a Swift literal takes its type from the context: Float or Double)."""
    if language == "kotlin":
        if kind == "float32":
            return kotlin_float_literal(x)
        if math.isinf(x):
            return "Double.POSITIVE_INFINITY" if x > 0 else "Double.NEGATIVE_INFINITY"
        return kotlin_double_literal(x)
    if kind == "float32":
        return c_literal(x) if language == "c" else swift_literal(x)
    if language == "swift" and math.isinf(x):
        return "Double.infinity" if x > 0 else "-Double.infinity"
    return c_double_literal(x)


def hex32(x: float) -> str:
    """For manifests and reports: the float32 as a hex float (``0x1.8p+1``) and nothing else."""
    return c_literal(x)[:-1] if math.isfinite(x) else repr(x)


# ---------------------------------------------------------------- XGBoost's transforms


Exp = Callable[[np.ndarray], np.ndarray]  # a float32 exp: expf, or the C library's


def expf(x: np.ndarray) -> np.ndarray:
    """float32 exp, correctly rounded: exp in double, rounded once to float32.

    XGBoost calls the C library's ``expf``; glibc's is not correctly rounded everywhere (it
    differs from this on a few inputs in 10^4), Apple's and bionic's differ again. This version is
    the same on every machine, so the margin threshold derived from it is too."""
    return np.exp(np.asarray(x, dtype=np.float32).astype(np.float64)).astype(np.float32)


def sigmoid(margin: np.ndarray, exp: Exp = expf) -> np.ndarray:
    """XGBoost's ``common::Sigmoid`` in float32: ``1 / (expf(min(-x, 88.7f)) + 1 + 1e-16f)``."""
    x = np.asarray(margin, dtype=np.float32)
    neg = -x
    clamped = np.where(F32(88.7) < neg, F32(88.7), neg).astype(np.float32)
    denom = ((exp(clamped) + F32(1.0)).astype(np.float32) + F32(1e-16)).astype(np.float32)
    out: np.ndarray = (F32(1.0) / denom).astype(np.float32)
    return out


def softmax(margins: np.ndarray, exp: Exp = expf) -> np.ndarray:
    """XGBoost's ``common::Softmax`` over the last axis: max in float32, exponentials in float32,
    their sum in double (in class order), each exponential divided by the sum rounded to float."""
    m = np.asarray(margins, dtype=np.float32)
    wmax = m[..., 0].copy()
    for k in range(1, m.shape[-1]):
        wmax = np.where(m[..., k] > wmax, m[..., k], wmax).astype(np.float32)  # fmaxf
    e = np.empty_like(m)
    wsum = np.zeros(m.shape[:-1], dtype=np.float64)
    for k in range(m.shape[-1]):
        e[..., k] = exp((m[..., k] - wmax).astype(np.float32))
        wsum = wsum + e[..., k].astype(np.float64)
    return (e / wsum.astype(np.float32)[..., None]).astype(np.float32)


def libm_expf() -> Exp | None:
    """The C library's ``expf`` as a numpy function (what XGBoost itself calls on this machine),
    or None when it cannot be loaded. Used to measure, never to generate code."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("m")
    try:
        lib = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        fn = lib.expf
    except (OSError, AttributeError):
        return None
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]

    def exp(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        return np.array([fn(float(v)) for v in x.ravel()], dtype=np.float32).reshape(x.shape)

    return exp


# ---------------------------------------------------------------- the decision threshold


def transformed(margin: npt.ArrayLike, transform: str, exp: Exp = expf) -> np.ndarray:
    """An objective's float32 transform of one-output margins, as XGBoost computes it:
    ``sigmoid`` (:func:`sigmoid`), ``exp`` (``expf``), ``identity``, ``hinge`` (1 when the
    margin > 0, else 0; src/objective/hinge.cu)."""
    x = np.asarray(margin, dtype=np.float32)
    if transform == "sigmoid":
        return sigmoid(x, exp)
    if transform == "exp":
        with np.errstate(over="ignore"):
            return exp(x)
    if transform == "identity":
        return x
    if transform == "hinge":
        return np.where(x > F32(0.0), F32(1.0), F32(0.0)).astype(np.float32)
    raise ValueError(f"no one-output transform {transform!r}")


def margin_threshold(
    p: float, exp: Exp = expf, window: int = 4096, transform: str = "sigmoid"
) -> float:
    """The float32 margin m* with ``T(m) >= p  <=>  m >= m*`` for every float32 margin m, where
    T is the objective's float32 transform (:func:`transformed`; by default XGBoost's sigmoid).

    Every supported transform is non-decreasing in the margin, so the float32 margins whose
    transformed value reaches ``p`` form an upper ray; m* is its first element, found by
    bisection over the float32 numbers in order. Because the float transforms are computed,
    rounded functions, the result is then checked by brute force on the ``window`` float32
    neighbours on each side: every one below m* gives a value < p, every one from m* up gives
    >= p. ``-inf`` when every margin qualifies; ValueError when none does."""
    if transform == "sigmoid" and not 0.0 < p < 1.0:
        raise ValueError(f"a probability threshold must be in (0, 1), got {p!r}")
    if not math.isfinite(p):
        raise ValueError(f"a threshold must be a finite number, got {p!r}")

    def ok(k: int) -> bool:
        return float(transformed(F32(from_ordered(k)), transform, exp)) >= p

    lo, hi = ordered(-FLT_MAX), ordered(FLT_MAX)  # search ok(k) == True for the first k
    if ok(lo):
        return -math.inf
    if not ok(hi):
        raise ValueError(f"no float32 margin reaches {p!r}")
    while hi - lo > 1:  # invariant: not ok(lo), ok(hi)
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    k = np.arange(max(hi - window, ordered(-FLT_MAX)), min(hi + window, ordered(FLT_MAX)) + 1)
    values = np.array([from_ordered(int(i)) for i in k], dtype=np.float32)
    probs = transformed(values, transform, exp).astype(np.float64)
    below, above = probs[k < hi], probs[k >= hi]
    if not ((below < p).all() and (above >= p).all()):
        raise ArithmeticError(f"the float32 {transform} is not monotone around the threshold {p!r}")
    return from_ordered(hi)


# ---------------------------------------------------------------- double-margin libraries


def ordered64(x: float) -> int:
    """double -> integer such that adjacent doubles differ by 1 (-0.0 == +0.0 - 1)."""
    bits = int(np.array(x, dtype=np.float64).view(np.int64))
    return bits if bits >= 0 else -(bits & 0x7FFFFFFFFFFFFFFF) - 1


def from_ordered64(k: int) -> float:
    bits = k if k >= 0 else (-(k + 1)) | -0x8000000000000000
    return float(np.array(bits, dtype=np.int64).view(np.float64))


def transformed64(margin: npt.ArrayLike, transform: str, scale: float = 1.0) -> np.ndarray:
    """A LightGBM / scikit-learn transform of one-output double margins, as the library
    computes it in double: ``logistic`` 1 / (1 + exp(-s x)), ``exp64`` exp(x), ``identity``."""
    x = np.asarray(margin, dtype=np.float64)
    with np.errstate(over="ignore"):
        if transform == "logistic":
            return 1.0 / (1.0 + np.exp(-scale * x))
        if transform == "exp64":
            return np.exp(x)
    if transform == "identity":
        return x
    raise ValueError(f"no one-output double transform {transform!r}")


def margin_threshold64(p: float, transform: str, scale: float = 1.0, window: int = 4096) -> float:
    """The double margin m* with ``T(m) >= p  <=>  m >= m*`` for every double margin m (T:
    :func:`transformed64`), by bisection over the doubles in order, then checked on ``window``
    neighbours on each side as :func:`margin_threshold` does. ``-inf`` when every margin
    qualifies; ValueError when none does. exp is numpy's here and the C library's on a device:
    deciding on the margin makes the decision independent of either."""
    if not math.isfinite(p):
        raise ValueError(f"a threshold must be a finite number, got {p!r}")
    top = float(np.finfo(np.float64).max)

    def ok(k: int) -> bool:
        return float(transformed64(from_ordered64(k), transform, scale)) >= p

    lo, hi = ordered64(-top), ordered64(top)
    if ok(lo):
        return -math.inf
    if not ok(hi):
        raise ValueError(f"no double margin reaches {p!r}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    k = np.arange(max(hi - window, ordered64(-top)), min(hi + window, ordered64(top)) + 1)
    values = np.array([from_ordered64(int(i)) for i in k], dtype=np.float64)
    probs = transformed64(values, transform, scale)
    if not ((probs[k < hi] < p).all() and (probs[k >= hi] >= p).all()):
        raise ArithmeticError(f"the double {transform} is not monotone around the threshold {p!r}")
    return from_ordered64(hi)


def exact_margin_threshold(p: float) -> float:
    """For comparison only: the first float32 >= logit(p) computed without rounding error
    (where an exact sigmoid would switch). It differs from :func:`margin_threshold` where the
    float32 sigmoid rounds to p early or late (around p = 0.5 it rounds up early)."""
    from decimal import Decimal, localcontext

    with localcontext() as ctx:
        ctx.prec = 60
        q = Decimal(p)
        logit = (q / (1 - q)).ln()
    m = float(F32(float(logit)))
    while Decimal(m) < logit:
        m = next_f32(m, 1)
    while Decimal(next_f32(m, -1)) >= logit:
        m = next_f32(m, -1)
    return m
