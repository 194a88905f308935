"""Generation-time constants, computed without the platform libm so that the generated code (and
so every constant frozen into it) is the same on every machine that runs featgen.

Twiddle factors, window weights, filter coefficients and normalising logarithms are computed in
:mod:`decimal` at 60 significant digits (pure Python, deterministic) and rounded once to the
nearest double. ``math.cos`` and friends are avoided on purpose: they call the platform's libm,
which differs between platforms by an ulp here and there, and a generated file must not depend
on where it was generated.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from decimal import Context, Decimal, localcontext
from fractions import Fraction

DIGITS = 60
# pi to 70 digits (more than DIGITS needs).
PI = Decimal("3.141592653589793238462643383279502884197169399375105820974944592307816")


def _sin_cos_small(x: Decimal) -> tuple[Decimal, Decimal]:
    """sin and cos of |x| <= pi/4 by their Taylor series, to about DIGITS digits."""
    x2 = x * x
    s, c = Decimal(0), Decimal(0)
    term_s, term_c = x, Decimal(1)
    n = 0
    eps = Decimal(10) ** -(DIGITS + 5)
    while abs(term_s) > eps or abs(term_c) > eps:
        s += term_s
        c += term_c
        term_s = -term_s * x2 / ((2 * n + 2) * (2 * n + 3))
        term_c = -term_c * x2 / ((2 * n + 1) * (2 * n + 2))
        n += 1
    return s, c


def sin_cos_turns(turns: Fraction) -> tuple[Decimal, Decimal]:
    """(cos, sin) of 2 pi * ``turns`` in Decimal, with exact symmetry: the angle is reduced to
    [0, 1/8) turn with rational arithmetic, so cos(2 pi k / L) and cos(2 pi (L - k) / L) are the
    same number, and quarter turns give exact 0 and +-1."""
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        t = Fraction(turns) % 1
        quadrant = int(t * 4)
        u = t - Fraction(quadrant, 4)  # [0, 1/4)
        flip = u > Fraction(1, 8)
        v = Fraction(1, 4) - u if flip else u  # [0, 1/8]
        angle = 2 * PI * Decimal(v.numerator) / Decimal(v.denominator)
        s, c = _sin_cos_small(angle)
        if flip:
            s, c = c, s
        cos, sin = [(c, s), (-s, c), (-c, -s), (s, -c)][quadrant]
        return +cos, +sin


def context() -> AbstractContextManager[Context]:
    """A decimal context of DIGITS significant digits: ``with exact.context(): ...``."""
    return localcontext(Context(prec=DIGITS))


def to_float(value: Decimal) -> float:
    """The nearest double (Python's float(Decimal) rounds correctly); no negative zero."""
    f = float(value)
    return 0.0 if f == 0 else f


def cos_turns(turns: Fraction) -> float:
    return to_float(sin_cos_turns(turns)[0])


def sin_turns(turns: Fraction) -> float:
    return to_float(sin_cos_turns(turns)[1])


def tan_half_turns(ratio: Fraction) -> Decimal:
    """tan(pi * ratio) for 0 < ratio < 1/2, in Decimal (bilinear-transform prewarping)."""
    cos, sin = sin_cos_turns(Fraction(ratio) / 2)
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        return sin / cos


def ln(value: Fraction | int) -> float:
    """Natural logarithm, correctly rounded to a double."""
    with localcontext() as ctx:
        ctx.prec = DIGITS
        v = Fraction(value)
        return to_float((Decimal(v.numerator) / Decimal(v.denominator)).ln())


def sqrt(value: Fraction | int) -> float:
    with localcontext() as ctx:
        ctx.prec = DIGITS
        v = Fraction(value)
        return to_float((Decimal(v.numerator) / Decimal(v.denominator)).sqrt())


def decimal(value: float | Fraction) -> Decimal:
    v = Fraction(value)
    with localcontext() as ctx:
        ctx.prec = DIGITS + 10
        return Decimal(v.numerator) / Decimal(v.denominator)
