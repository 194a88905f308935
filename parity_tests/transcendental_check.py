"""The portable transcendentals (featurespec/vocabulary/transcendentals.py) on their own: the same IR function
emitted for numpy, C and Swift and evaluated on large samples of inputs, compared bit for bit
across targets and measured in ULPs against glibc and against correctly rounded values.

Used by parity_tests/test_transcendentals.py (smaller samples) and runnable for the figures in
docs/transcendentals.md::

    python3 -m parity_tests.transcendental_check [n]      # default n = 1_000_000 per function
"""

from __future__ import annotations

import hashlib
import math
import os
import subprocess
import sys
from decimal import Decimal, localcontext
from pathlib import Path

import numpy as np

from codegen.backends.c import CEmitter
from codegen.backends.numpy import NumpyEmitter
from codegen.backends.swift import SwiftEmitter
from featgen.harness import C_FLAGS, CACHE, find_swiftc, swift_version
from featurespec.vocabulary.transcendentals import FUNCTIONS

SPECIAL = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    2.0,
    math.inf,
    -math.inf,
    math.nan,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    709.782712893384,
    709.7827128933841,
    -745.1332191019411,
    -745.1332191019412,
    -708.3964185322641,
    1e-300,
    math.pi,
    -math.pi,
    1e16,
    2.0**60,
    2.0**66,
]


def numpy_functions() -> dict:
    namespace = {"np": np}
    for fn in FUNCTIONS.values():
        exec("\n".join(NumpyEmitter().function(fn)), namespace)
    return {name: namespace[f"_featgen_{name}"] for name in FUNCTIONS}


def inputs(name: str, n: int, seed: int = 1) -> tuple[np.ndarray, ...]:
    """Inputs spread over the whole domain: log-uniform magnitudes, uniform on the interesting
    interval, and the special values."""
    rng = np.random.default_rng(seed)
    special = np.array(SPECIAL)
    if name == "log":
        x = np.concatenate(
            [
                2.0 ** rng.uniform(-1074, 1024, n // 2),
                rng.uniform(0.5, 2.0, n // 4),
                rng.uniform(0, 100, n - n // 2 - n // 4),
                special,
            ]
        )
        return (x,)
    if name == "exp":
        x = np.concatenate(
            [
                rng.uniform(-745.2, 709.8, n // 2),
                rng.uniform(-1, 1, n // 4),
                rng.normal(0, 1, n - n // 2 - n // 4)
                * 10.0 ** rng.integers(-20, 3, n - n // 2 - n // 4),
                special,
            ]
        )
        return (x,)
    # atan2: magnitudes over many decades, all four quadrants, every pair of special values
    k = n - len(special) ** 2
    y = rng.normal(0, 1, k) * 10.0 ** rng.integers(-300, 300, k)
    x = rng.normal(0, 1, k) * 10.0 ** rng.integers(-300, 300, k)
    near = rng.normal(0, 1, k // 4)
    y[: k // 4], x[: k // 4] = near, near * rng.uniform(0.5, 2, k // 4)
    sy, sx = np.meshgrid(special, special)
    return np.concatenate([y, sy.ravel()]), np.concatenate([x, sx.ravel()])


def ordered(a: np.ndarray) -> np.ndarray:
    bits = np.ascontiguousarray(a, dtype=np.float64).view(np.int64)
    return np.where(bits < 0, np.int64(-0x8000000000000000) - bits, bits)


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ULP distance; 0 for two NaNs or two equal infinities; huge for NaN vs number."""
    d = np.abs(ordered(a) - ordered(b)).astype(np.float64)
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.where(both_nan, 0.0, d)
    return np.where(np.isnan(a) ^ np.isnan(b), np.inf, d)


def glibc(name: str, args: tuple[np.ndarray, ...]) -> np.ndarray:
    """Python's math module calls the platform libm (glibc here)."""
    fn = {"log": math.log, "exp": math.exp, "atan2": math.atan2}[name]
    out = np.empty(len(args[0]))
    for i, values in enumerate(zip(*(a.tolist() for a in args))):
        try:
            out[i] = fn(*values)
        except ValueError:  # math.log(0) / math.log(-1)
            out[i] = -math.inf if values[0] == 0 else math.nan
        except OverflowError:  # math.exp(710)
            out[i] = math.inf
    return out


def correctly_rounded(name: str, args: tuple[np.ndarray, ...]) -> np.ndarray | None:
    """Correctly rounded results from 40-digit decimal arithmetic (log, exp), or from mpmath at
    120 bits for atan2 when mpmath is installed (it is not a dependency; None without it)."""
    if name == "atan2":
        try:
            import mpmath
        except ImportError:
            return None
        mpmath.mp.prec = 120
        out = np.empty(len(args[0]))
        for i, (y, x) in enumerate(zip(args[0].tolist(), args[1].tolist())):
            if math.isfinite(y) and math.isfinite(x) and y != 0 and x != 0:
                out[i] = float(mpmath.atan2(mpmath.mpf(y), mpmath.mpf(x)))
            else:
                out[i] = math.atan2(y, x)  # zeros, infinities: exact table values (and
                # mpmath has no -0.0)
        return out
    (x,) = args
    out = np.empty(len(x))
    with localcontext() as ctx:
        ctx.prec = 40
        ctx.Emax, ctx.Emin = 10**6, -(10**6)
        for i, v in enumerate(x.tolist()):
            if (
                not math.isfinite(v)
                or (name == "log" and v <= 0)
                or (name == "exp" and not -746 < v < 710)
            ):
                out[i] = glibc(name, (np.array([v]),))[0]
                continue
            d = Decimal(v)
            out[i] = float(d.ln() if name == "log" else d.exp())
    return out


def measure(name: str, got: np.ndarray, args) -> dict:
    ref = glibc(name, args)
    d = ulps(got, ref)
    result = {
        "n": len(got),
        "glibc_max": float(d.max()),
        "glibc_mean": float(d.mean()),
        "glibc_differ": float((d > 0).mean()),
    }
    cr = correctly_rounded(name, args)
    if cr is not None:
        e = ulps(got, cr)
        g = ulps(ref, cr)
        result.update(
            cr_max=float(e.max()),
            cr_mean=float(e.mean()),
            cr_wrong=float((e > 0).mean()),
            glibc_cr_wrong=float((g > 0).mean()),
        )
    return result


# ---------------------------------------------------------------- C and Swift builds

C_SOURCE = """#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif
#include <math.h>

{functions}

void featgen_test_log(const double *x, double *y, int n)
{{
    for (int i = 0; i < n; ++i) {{
        y[i] = featgen_log(x[i]);
    }}
}}

void featgen_test_exp(const double *x, double *y, int n)
{{
    for (int i = 0; i < n; ++i) {{
        y[i] = featgen_exp(x[i]);
    }}
}}

void featgen_test_atan2(const double *a, const double *b, double *y, int n)
{{
    for (int i = 0; i < n; ++i) {{
        y[i] = featgen_atan2(a[i], b[i]);
    }}
}}
"""

CDEF = """
void featgen_test_log(const double *x, double *y, int n);
void featgen_test_exp(const double *x, double *y, int n);
void featgen_test_atan2(const double *a, const double *b, double *y, int n);
"""

SWIFT_SOURCE = """enum Portable {{
{functions}
}}

@_cdecl("featgen_test_log")
public func featgenTestLog(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int32) {{
    for i in 0..<Int(n) {{
        y[i] = Portable.featgen_log(x[i])
    }}
}}

@_cdecl("featgen_test_exp")
public func featgenTestExp(_ x: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int32) {{
    for i in 0..<Int(n) {{
        y[i] = Portable.featgen_exp(x[i])
    }}
}}

@_cdecl("featgen_test_atan2")
public func featgenTestAtan2(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, _ y: UnsafeMutablePointer<Double>, _ n: Int32) {{
    for i in 0..<Int(n) {{
        y[i] = Portable.featgen_atan2(a[i], b[i])
    }}
}}
"""


def c_source() -> str:
    lines = []
    for fn in FUNCTIONS.values():
        lines += CEmitter().function(fn) + [""]
    return C_SOURCE.format(functions="\n".join(lines))


def swift_source() -> str:
    lines = []
    for fn in FUNCTIONS.values():
        lines += [
            "    " + line.replace("private static func", "static func")
            for line in SwiftEmitter().function(fn)
        ]
    return SWIFT_SOURCE.format(functions="\n".join(lines))


def _build(cmd_for, source: str, suffix: str, key_extra: str) -> Path:
    key = hashlib.sha256((source + key_extra).encode()).hexdigest()[:16]
    out = CACHE / f"transcendentals-{key}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        src = CACHE / f"transcendentals-{key}.{os.getpid()}{suffix}"
        src.write_text(source)
        tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.so")
        run = subprocess.run(cmd_for(src, tmp), capture_output=True, text=True)
        src.unlink()
        if run.returncode != 0:
            raise RuntimeError(f"build failed: {run.stderr}{run.stdout}")
        os.replace(tmp, out)
    return out


def c_library(compiler: str = "gcc") -> Path:
    flags = (*C_FLAGS, "-fPIC", "-shared")
    return _build(
        lambda src, out: [compiler, *flags, str(src), "-o", str(out)],
        c_source(),
        ".c",
        compiler + " ".join(flags),
    )


def swift_library(swiftc: str) -> Path:
    flags = (
        "-O",
        "-wmo",
        "-parse-as-library",
        "-warnings-as-errors",
        "-emit-library",
        "-module-name",
        "Portable",
    )
    return _build(
        lambda src, out: [swiftc, *flags, str(src), "-o", str(out)],
        swift_source(),
        ".swift",
        " ".join(flags) + swift_version(swiftc),
    )


DRIVER = """
#include <stdio.h>
#include <stdlib.h>

/* argv: function (0 log, 1 exp, 2 atan2), n, input file (n doubles, or 2n for atan2), output */
int main(int argc, char **argv)
{
    int which = atoi(argv[1]);
    int n = atoi(argv[2]);
    int arity = which == 2 ? 2 : 1;
    double *in = malloc(sizeof(double) * (size_t)(arity * n));
    double *out = malloc(sizeof(double) * (size_t)n);
    FILE *f = fopen(argv[3], "rb");
    if (argc != 5 || !in || !out || !f || fread(in, sizeof(double), (size_t)(arity * n), f) != (size_t)(arity * n)) {
        return 2;
    }
    fclose(f);
    if (which == 0) featgen_test_log(in, out, n);
    if (which == 1) featgen_test_exp(in, out, n);
    if (which == 2) featgen_test_atan2(in, in + n, out, n);
    f = fopen(argv[4], "wb");
    if (!f || fwrite(out, sizeof(double), (size_t)n, f) != (size_t)n) {
        return 3;
    }
    fclose(f);
    return 0;
}
"""


def cross_run(
    compile_cmd: list[str],
    runner: list[str],
    name: str,
    args: tuple[np.ndarray, ...],
    workdir: Path,
) -> np.ndarray:
    """The C functions built as a program by ``compile_cmd`` (e.g. an aarch64 cross compiler)
    and run by ``runner`` (e.g. qemu-user) on ``args``."""
    workdir = Path(workdir)
    (workdir / "portable.c").write_text(c_source() + DRIVER)
    exe = workdir / "portable"
    run = subprocess.run(
        [*compile_cmd, str(workdir / "portable.c"), "-o", str(exe)], capture_output=True, text=True
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    np.concatenate(args).astype("<f8").tofile(workdir / "in.bin")
    which = {"log": 0, "exp": 1, "atan2": 2}[name]
    subprocess.run(
        [
            *runner,
            str(exe),
            str(which),
            str(len(args[0])),
            str(workdir / "in.bin"),
            str(workdir / "out.bin"),
        ],
        check=True,
        capture_output=True,
    )
    return np.fromfile(workdir / "out.bin", dtype="<f8")


def run_library(path: Path, name: str, args: tuple[np.ndarray, ...]) -> np.ndarray:
    import cffi

    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(str(path), ffi.RTLD_NOW | ffi.RTLD_NODELETE)
    args = tuple(np.ascontiguousarray(a, dtype=np.float64) for a in args)
    out = np.empty(len(args[0]))
    pointers = [ffi.cast("double *", a.ctypes.data) for a in args]
    getattr(lib, f"featgen_test_{name}")(*pointers, ffi.cast("double *", out.ctypes.data), len(out))
    return out


def moderate_atan2(n: int, seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """atan2 on y, x ~ N(0, 1): the ratios an IMU tilt sees (the main sample also holds many
    extreme ratios, whose results are easy)."""
    rng = np.random.default_rng(seed)
    return rng.normal(0, 1, n), rng.normal(0, 1, n)


def main(n: int) -> None:
    fns = numpy_functions()
    c = c_library()
    swiftc = find_swiftc()
    sw = swift_library(swiftc) if swiftc else None
    print(
        f"{'function':12} {'n':>9} | vs glibc: max  mean     differ | vs correctly rounded: "
        f"max  mean     wrong  (glibc wrong) | C, Swift bits equal to numpy"
    )
    runs = [(name, name, inputs(name, n)) for name in FUNCTIONS]
    runs.append(("atan2", "atan2 N(0,1)", moderate_atan2(n)))
    for name, label, args in runs:
        with np.errstate(all="ignore"):
            got = np.asarray(fns[name](*args), dtype=np.float64)
        same_c = bool(
            (ordered(run_library(c, name, args)) == ordered(got)).all()
            or (ulps(run_library(c, name, args), got) == 0).all()
        )
        same_s = None if sw is None else bool((ulps(run_library(sw, name, args), got) == 0).all())
        m = measure(name, got, args)
        cr = (
            (
                f"{m['cr_max']:.0f}  {m['cr_mean']:.5f}  {m['cr_wrong']:.4%}  "
                f"({m['glibc_cr_wrong']:.4%})"
            )
            if "cr_max" in m
            else "(no mpmath)"
        )
        print(
            f"{label:12} {m['n']:>9} | {m['glibc_max']:.0f}  {m['glibc_mean']:.5f}  "
            f"{m['glibc_differ']:.4%} | {cr} | C {same_c}, Swift {same_s}"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
