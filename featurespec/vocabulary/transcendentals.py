"""Portable transcendentals, written once in the IR: ``log``, ``exp``, ``atan2`` (and ``atan``).

Platform libms disagree in the last bit (glibc, Apple's libm, bionic's FreeBSD msun), so the
generated code never calls them. Each function here is a fixed sequence of IEEE operations
(+ - * /, comparisons, selects; no FMA, no libm, no bit tricks), emitted as one function per
generated file (C ``static double featgen_log(double)``, Swift ``private static func``, numpy
``def _featgen_log`` on arrays), so numpy, C and Swift agree to the bit on every platform.

The algorithms are fdlibm's (Sun, 1993: e_log.c, e_exp.c, s_atan.c, e_atan2.c), with the same
polynomials and constants, except for the range reduction: fdlibm reads and writes exponent bits;
here the reduction multiplies by powers of two (exact for every finite double) in a ladder of
compare-and-select steps, so it needs nothing beyond the IR's node set. Accuracy against glibc and
against correctly rounded results is measured in docs/transcendentals.md.

Special values (inputs are finite samples, but intermediates may not be):

* ``log``: log(+-0) = -inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN.
* ``exp``: exp(x > 709.782712893384) = +inf, exp(x < -745.1332191019412) = +0, exp(+-inf) = +inf /
  +0, exp(NaN) = NaN.
* ``atan2(y, x)``: C99 Annex F's table: signed zeros (atan2(+-0, +0) = +-0, atan2(+-0, -0) =
  +-pi, atan2(+-0, x < 0) = +-pi, atan2(+-0, x > 0) = +-0), atan2(y != 0, +-0) = +-pi/2, infinities
  (atan2(+-inf, +inf) = +-pi/4, atan2(+-inf, -inf) = +-3pi/4, atan2(+-y, +inf) = +-0 and
  atan2(+-y, -inf) = +-pi for finite y, atan2(+-inf, finite) = +-pi/2); NaN in, NaN out.
"""

from __future__ import annotations

import math

from .ir import Expr, Function, FunctionBuilder, Var, eq, fabs, is_nan, ne, select

INF = math.inf
NAN = math.nan
LADDER = (512, 256, 128, 64, 32, 16, 8, 4, 2, 1)


def _f(text: str) -> float:
    return float.fromhex(text)


# ---------------------------------------------------------------- log (fdlibm e_log.c)

LN2_HI = _f("0x1.62e42fee00000p-1")  # 6.93147180369123816490e-01, low bits zero
LN2_LO = _f("0x1.a39ef35793c76p-33")  # 1.90821492927058770002e-10
LG = [
    _f(h)
    for h in (
        "0x1.5555555555593p-1",  # Lg1 6.666666666666735130e-01
        "0x1.999999997fa04p-2",  # Lg2 3.999999999940941908e-01
        "0x1.2492494229359p-2",  # Lg3 2.857142874366239149e-01
        "0x1.c71c51d8e78afp-3",  # Lg4 2.222219843214978396e-01
        "0x1.7466496cb03dep-3",  # Lg5 1.818357216161805012e-01
        "0x1.39a09d078c69fp-3",  # Lg6 1.531383769920937332e-01
        "0x1.2f112df3e5244p-3",  # Lg7 1.479819860511658591e-01
    )
]
SQRT2 = _f("0x1.6a09e667f3bcdp+0")


def _reduce(b: FunctionBuilder, x: Expr) -> tuple[Var, Var]:
    """(m, e) with x = m * 2**e exactly, m in [sqrt(2)/2, sqrt(2)], for finite x > 0: every step
    multiplies by a power of two (exact, also for subnormal x)."""
    m = b.let("m", select(x < 2.0**-1022, x * 2.0**54, x))  # subnormals: normal first
    e = b.let("e", select(x < 2.0**-1022, -54.0, 0.0))
    for j in LADDER:  # m >= 2**j: divide it out
        b.set(e, select(m >= 2.0**j, e + j, e))
        b.set(m, select(m >= 2.0**j, m * 2.0**-j, m))
    for j in LADDER:  # m < 2**(1-j): multiply in
        b.set(e, select(m < 2.0 ** (1 - j), e - j, e))
        b.set(m, select(m < 2.0 ** (1 - j), m * 2.0**j, m))
    b.set(e, select(m > SQRT2, e + 1.0, e))  # m in [1, 2) -> around 1
    b.set(m, select(m > SQRT2, m * 0.5, m))
    return m, e


def _build_log() -> Function:
    b = FunctionBuilder(
        "log",
        ("x",),
        "natural logarithm: fdlibm's e_log.c with an exact "
        "power-of-two range reduction (featurespec/vocabulary/transcendentals.py)",
    )
    (x,) = b.params
    m, e = _reduce(b, x)
    f = b.let("f", m - 1.0)  # exact (Sterbenz)
    hfsq = b.let("hfsq", (0.5 * f) * f)
    s = b.let("s", f / (2.0 + f))
    z = b.let("z", s * s)
    w = b.let("w", z * z)
    t1 = b.let("t1", w * (LG[1] + w * (LG[3] + w * LG[5])))
    t2 = b.let("t2", z * (LG[0] + w * (LG[2] + w * (LG[4] + w * LG[6]))))
    r = b.let("r", t2 + t1)
    core = b.let("core", e * LN2_HI - ((hfsq - (s * (hfsq + r) + e * LN2_LO)) - f))
    out = b.let("result", select(x > 0.0, core, select(eq(x, 0.0), -INF, NAN)))
    return b.finish(select(eq(x, INF), INF, out))


# ---------------------------------------------------------------- exp (fdlibm e_exp.c)

EXP_HI = _f("0x1.62e42fefa39efp+9")  # 7.09782712893383973096e+02 (overflow above)
EXP_LO = _f("-0x1.74910d52d3051p+9")  # -7.45133219101941108420e+02 (0 below)
INV_LN2 = _f("0x1.71547652b82fep+0")  # 1.44269504088896338700e+00
P = [
    _f(h)
    for h in (
        "0x1.555555555553ep-3",  # P1 1.66666666666666019037e-01
        "-0x1.6c16c16bebd93p-9",  # P2 -2.77777777770155933842e-03
        "0x1.1566aaf25de2cp-14",  # P3 6.61375632143793436117e-05
        "-0x1.bbd41c5d26bf1p-20",  # P4 -1.65339022054652515390e-06
        "0x1.6376972bea4d0p-25",  # P5 4.13813679705723846039e-08
    )
]
ROUND = 1.5 * 2.0**52  # (v + ROUND) - ROUND rounds v to an integer


def _build_exp() -> Function:
    b = FunctionBuilder(
        "exp",
        ("x",),
        "exponential: fdlibm's e_exp.c with an exact "
        "power-of-two scaling (featurespec/vocabulary/transcendentals.py)",
    )
    (x,) = b.params
    k = b.let("k", (x * INV_LN2 + ROUND) - ROUND)  # nearest integer (ties to even)
    hi = b.let("hi", x - k * LN2_HI)  # k * LN2_HI is exact (|k| < 2**11)
    lo = b.let("lo", k * LN2_LO)
    r = b.let("r", hi - lo)
    t = b.let("t", r * r)
    c = b.let("c", r - t * (P[0] + t * (P[1] + t * (P[2] + t * (P[3] + t * P[4])))))
    y = b.let("y", 1.0 - ((lo - (r * c) / (2.0 - c)) - hi))
    # y * 2**k, exactly: a ladder of power-of-two factors; results below 2**-1021 are scaled
    # by 2**(k + 1000) first and by 2**-1000 last, so a subnormal result is rounded once.
    deep = b.let("deep", select(k < -1021.0, 1.0, 0.0))
    kk = b.let("kk", k + deep * 1000.0)
    for j in (512,) + LADDER:  # 512 twice: k may be 1024
        b.set(y, select(kk >= float(j), y * 2.0**j, y))
        b.set(kk, select(kk >= float(j), kk - j, kk))
    for j in LADDER:
        b.set(y, select(kk <= float(-j), y * 2.0**-j, y))
        b.set(kk, select(kk <= float(-j), kk + j, kk))
    b.set(y, select(deep > 0.0, y * 2.0**-1000, y))
    out = b.let("result", select(x > EXP_HI, INF, select(x < EXP_LO, 0.0, y)))
    return b.finish(select(is_nan(x), x + x, out))


# ---------------------------------------------------------------- atan (fdlibm s_atan.c)

ATAN_HI = [
    _f(h)
    for h in (
        "0x1.dac670561bb4fp-2",
        "0x1.921fb54442d18p-1",
        "0x1.f730bd281f69bp-1",
        "0x1.921fb54442d18p+0",
    )
]
ATAN_LO = [
    _f(h)
    for h in (
        "0x1.a2b7f222f65e2p-56",
        "0x1.1a62633145c07p-55",
        "0x1.007887af0cbbdp-56",
        "0x1.1a62633145c07p-54",
    )
]
AT = [
    _f(h)
    for h in (
        "0x1.555555555550dp-2",
        "-0x1.999999998ebc4p-3",
        "0x1.24924920083ffp-3",
        "-0x1.c71c6fe231671p-4",
        "0x1.745cdc54c206ep-4",
        "-0x1.3b0f2af749a6dp-4",
        "0x1.10d66a0d03d51p-4",
        "-0x1.dde2d52defd9ap-5",
        "0x1.97b4b24760debp-5",
        "-0x1.2b4442c6a6c2fp-5",
        "0x1.0ad3ae322da11p-6",
    )
]
PI = _f("0x1.921fb54442d18p+1")
PI_LO = _f("0x1.1a62633145c07p-53")  # pi - PI
PI_2 = _f("0x1.921fb54442d18p+0")
PI_4 = _f("0x1.921fb54442d18p-1")
PI_3_4 = _f("0x1.2d97c7f3321d2p+1")


def _atan_abs(b: FunctionBuilder, a: Expr) -> Var:
    """atan(a) for a >= 0 (or NaN): fdlibm's reduction to five intervals and its polynomial."""
    xr = b.let(
        "xr",
        select(
            a < 0.4375,
            a,
            select(
                a < 0.6875,
                (2.0 * a - 1.0) / (2.0 + a),
                select(
                    a < 1.1875,
                    (a - 1.0) / (a + 1.0),
                    select(a < 2.4375, (a - 1.5) / (1.0 + 1.5 * a), -1.0 / a),
                ),
            ),
        ),
    )
    hi = b.let(
        "atan_hi",
        select(
            a < 0.6875,
            ATAN_HI[0],
            select(a < 1.1875, ATAN_HI[1], select(a < 2.4375, ATAN_HI[2], ATAN_HI[3])),
        ),
    )
    lo = b.let(
        "atan_lo",
        select(
            a < 0.6875,
            ATAN_LO[0],
            select(a < 1.1875, ATAN_LO[1], select(a < 2.4375, ATAN_LO[2], ATAN_LO[3])),
        ),
    )
    z = b.let("z", xr * xr)
    w = b.let("w", z * z)
    s1 = b.let(
        "s1", z * (AT[0] + w * (AT[2] + w * (AT[4] + w * (AT[6] + w * (AT[8] + w * AT[10])))))
    )
    s2 = b.let("s2", w * (AT[1] + w * (AT[3] + w * (AT[5] + w * (AT[7] + w * AT[9])))))
    small = b.let("small", xr - xr * (s1 + s2))
    big = b.let("big", hi - ((xr * (s1 + s2) - lo) - xr))
    r = b.let("atan_abs", select(a < 0.4375, small, big))
    b.set(r, select(a < 2.0**-27, a, r))
    b.set(r, select(a >= 2.0**66, ATAN_HI[3] + ATAN_LO[3], r))
    return r


def _build_atan2() -> Function:
    b = FunctionBuilder(
        "atan2",
        ("y", "x"),
        "atan2(y, x) in radians, in [-pi, pi]: fdlibm's "
        "e_atan2.c and s_atan.c (featurespec/vocabulary/transcendentals.py)",
    )
    y, x = b.params
    # Sign of y, -0.0 included (1 / -0.0 = -inf).
    ny = b.let("ny", select((y < 0.0) | (eq(y, 0.0) & ((1.0 / y) < 0.0)), 1.0, 0.0))
    nx = b.let("nx", select((x < 0.0) | (eq(x, 0.0) & ((1.0 / x) < 0.0)), 1.0, 0.0))
    q = b.let("q", fabs(y / x))
    a = _atan_abs(b, q)
    # |y/x| > 2**60: the angle is pi/2 to within rounding whatever the sign of x (fdlibm's k > 60).
    pos = b.let("pos", select(q > 2.0**60, PI_2, select(nx > 0.0, PI - (a - PI_LO), a)))
    r = b.let("result", select(ny > 0.0, -pos, pos))

    def signed(v: float) -> Expr:
        return select(ny > 0.0, -v, v)

    y_inf = eq(fabs(y), INF)
    b.set(r, select(y_inf, signed(PI_2), r))  # finite x (inf x below)
    b.set(r, select(eq(x, 0.0) & ne(y, 0.0), signed(PI_2), r))
    b.set(r, select(eq(x, INF), select(y_inf, signed(PI_4), signed(0.0)), r))
    b.set(r, select(eq(x, -INF), select(y_inf, signed(PI_3_4), signed(PI)), r))
    b.set(r, select(eq(y, 0.0), select(nx > 0.0, signed(PI), y), r))
    return b.finish(select(is_nan(x) | is_nan(y), x + y, r))


LOG: Function = _build_log()
EXP: Function = _build_exp()
ATAN2: Function = _build_atan2()
FUNCTIONS = {"log": LOG, "exp": EXP, "atan2": ATAN2}
