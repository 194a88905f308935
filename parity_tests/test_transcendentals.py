"""The portable log, exp and atan2 (featurespec/vocabulary/transcendentals.py): the same bits from numpy, C (gcc
and clang) and Swift on every input, special values as documented, and within 1 ulp of glibc
and of the correctly rounded result. docs/transcendentals.md has the figures over 10^6 inputs
(``python3 -m parity_tests.transcendental_check``)."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pytest

from featurespec.vocabulary.transcendentals import FUNCTIONS
from parity_tests import transcendental_check as tc

N = 60_000


@pytest.fixture(scope="module")
def numpy_fns():
    return tc.numpy_functions()


@pytest.fixture(scope="module")
def samples():
    return {name: tc.inputs(name, N, seed=7) for name in FUNCTIONS}


@pytest.fixture(scope="module")
def expected(numpy_fns, samples):
    with np.errstate(all="ignore"):
        return {
            name: np.asarray(numpy_fns[name](*samples[name]), dtype=np.float64)
            for name in FUNCTIONS
        }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_within_one_ulp_of_glibc_and_of_the_correctly_rounded_value(name, samples, expected):
    m = tc.measure(name, expected[name], samples[name])
    assert m["glibc_max"] <= 1, m
    assert m["glibc_differ"] < 0.1, m  # and mostly the same bits
    if "cr_max" in m:
        assert m["cr_max"] <= 1, m


@pytest.mark.parametrize("compiler", ["gcc", "clang"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_c_gives_numpys_bits(name, compiler, samples, expected):
    compiler = {"gcc": "gcc", "clang": shutil.which("clang") or shutil.which("clang-14")}[compiler]
    if compiler is None:
        pytest.fail("clang not found: the CI machine must have it")
    got = tc.run_library(tc.c_library(compiler), name, samples[name])
    assert (tc.ulps(got, expected[name]) == 0).all()
    assert (np.signbit(got) == np.signbit(expected[name]))[~np.isnan(got)].all()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_swift_gives_numpys_bits(name, swiftc, samples, expected):
    got = tc.run_library(tc.swift_library(swiftc), name, samples[name])
    assert (tc.ulps(got, expected[name]) == 0).all()
    assert (np.signbit(got) == np.signbit(expected[name]))[~np.isnan(got)].all()


AARCH64 = {
    "gcc -std=gnu99 (contracts by default)": ["{gcc}", "-std=gnu99", "-O2", "-static"],
    "clang -std=c99 (NDK default -ffp-contract=on)": [
        "{clang}",
        "--target=aarch64-linux-gnu",
        "-std=c99",
        "-O2",
        "-static",
    ],
}


@pytest.mark.parametrize("build", list(AARCH64))
def test_aarch64_gives_numpys_bits(build, samples, expected, tmp_path):
    """Where FMA is in the base instruction set (phones): the C pragmas keep the polynomials
    unfused under the two compiler settings that would fuse."""
    from parity_tests.test_aarch64 import CLANG, GCC, QEMU, _require

    _require(QEMU, "qemu-user")
    _require(GCC, "aarch64-linux-gnu-gcc")
    _require(CLANG, "clang")
    cmd = [part.format(gcc=GCC, clang=CLANG) for part in AARCH64[build]]
    for name in sorted(FUNCTIONS):
        got = tc.cross_run(cmd, [QEMU], name, samples[name], tmp_path)
        assert (tc.ulps(got, expected[name]) == 0).all(), name


def test_aarch64_forced_contraction_is_caught(samples, expected, tmp_path):
    """Negative control: clang -ffp-contract=fast (which overrides the pragma) fuses exp's
    polynomial and changes some results; the comparison sees it (measured: 25 of 60,025)."""
    from parity_tests.test_aarch64 import CLANG, QEMU, _require

    _require(QEMU, "qemu-user")
    _require(CLANG, "clang")
    cmd = [CLANG, "--target=aarch64-linux-gnu", "-std=c99", "-O2", "-static", "-ffp-contract=fast"]
    got = tc.cross_run(cmd, [QEMU], "exp", samples["exp"], tmp_path)
    assert (tc.ulps(got, expected["exp"]) > 0).sum() > 0


INF, NAN, PI = math.inf, math.nan, math.pi
SPECIAL_CASES = [
    ("log", (0.0,), -INF),
    ("log", (-0.0,), -INF),
    ("log", (-1.0,), NAN),
    ("log", (INF,), INF),
    ("log", (-INF,), NAN),
    ("log", (NAN,), NAN),
    ("log", (1.0,), 0.0),
    ("log", (5e-324,), -744.4400719213812),
    ("log", (1.7976931348623157e308,), 709.782712893384),
    ("exp", (0.0,), 1.0),
    ("exp", (-0.0,), 1.0),
    ("exp", (INF,), INF),
    ("exp", (-INF,), 0.0),
    ("exp", (NAN,), NAN),
    ("exp", (710.0,), INF),
    ("exp", (-746.0,), 0.0),
    ("exp", (-745.0,), 5e-324),
    ("exp", (709.0,), 8.218407461554972e307),
    ("atan2", (0.0, 0.0), 0.0),
    ("atan2", (-0.0, 0.0), -0.0),
    ("atan2", (0.0, -0.0), PI),
    ("atan2", (-0.0, -0.0), -PI),
    ("atan2", (0.0, -1.0), PI),
    ("atan2", (-0.0, -1.0), -PI),
    ("atan2", (0.0, 1.0), 0.0),
    ("atan2", (-0.0, 1.0), -0.0),
    ("atan2", (1.0, 0.0), PI / 2),
    ("atan2", (-1.0, -0.0), -PI / 2),
    ("atan2", (INF, INF), PI / 4),
    ("atan2", (-INF, INF), -PI / 4),
    ("atan2", (INF, -INF), 3 * PI / 4),
    ("atan2", (-INF, -INF), -3 * PI / 4),
    ("atan2", (1.0, INF), 0.0),
    ("atan2", (-1.0, INF), -0.0),
    ("atan2", (1.0, -INF), PI),
    ("atan2", (-1.0, -INF), -PI),
    ("atan2", (INF, 1.0), PI / 2),
    ("atan2", (-INF, -1.0), -PI / 2),
    ("atan2", (NAN, 1.0), NAN),
    ("atan2", (1.0, NAN), NAN),
    ("atan2", (1.0, 1.0), PI / 4),
    ("atan2", (1e300, -1e-300), PI / 2),
    ("atan2", (5e-324, -1.0), PI),
]


@pytest.mark.parametrize("name, args, want", SPECIAL_CASES, ids=str)
def test_special_values(name, args, want, numpy_fns):
    with np.errstate(all="ignore"):
        got = float(numpy_fns[name](*(np.array(a) for a in args)))
    if math.isnan(want):
        assert math.isnan(got)
    else:
        assert got == want and math.copysign(1, got) == math.copysign(1, want), (got, want)
