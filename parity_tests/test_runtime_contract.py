"""The runtime contract (docs/semantics.md, "Runtime contract" and "Recovery"): misuse of the C
push functions returns an error status instead of crashing (checked under ASan + UBSan), and a
recursive signal that becomes non-finite restarts on the next sample identically in numpy and C
(Swift: parity_tests/test_swift.py; Kotlin: parity_tests/test_android_jni.py).
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from codegen.build import generate
from featgen import harness
from featgen.harness.prediction import device_featuriser
from featgen.harness.recordings import imu_motion, overflow_recording
from featurespec import load_spec_text
from parity_tests.conftest import require_tools
from parity_tests.test_parity import SMALL, vocab_c  # noqa: F401  (vocab_c: a fixture)

CLANG = shutil.which("clang-14") or shutil.which("clang")
SANITIZE = [
    "-fsanitize=address,undefined",
    "-fno-sanitize-recover=all",
    "-fno-omit-frame-pointer",
    "-g",
    "-O1",
    "-std=c99",
    "-ffp-contract=off",
    "-Wall",
    "-Wextra",
    "-Werror",
]

# Every recursive signal kind, read back through a window of one sample: column j is the
# signal's value on each sample (vectors start on the first sample).
RESTART = """spec: featgen/v1
name: restart
sample_rate_hz: 50
inputs: [a, b]
signals:
  m: {magnitude: [a, b]}
  e: {ema: m, alpha: 0.25}
  lp: {lowpass: m, cutoff: 5, order: 3}
  hp: {highpass: b, cutoff: 2, order: 2}
  bp: {bandpass: a, band: [1, 10], order: 2}
  d: {diff: e}
windows:
  one: {length: 1, hop: 1}
features:
  - {compute: last, of: [m, e, lp, hp, bp, d], over: one}
"""
SIGNALS = ("m", "e", "lp", "hp", "bp", "d")


@pytest.fixture(scope="module")
def restart(tmp_path_factory):
    spec = load_spec_text(RESTART)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    return spec, files, module, harness.c_target(files, spec.name, tmp_path_factory.mktemp("r"))


def _signals(module, samples):
    features, ends = module.featurize(samples)
    assert np.array_equal(ends, np.arange(samples.shape[0]))
    return {s: features[:, module.FEATURE_NAMES.index(f"last__{s}__one")] for s in SIGNALS}


@pytest.mark.parametrize(
    "row, values",
    [
        (300, (2e154, 2e154)),  # the magnitude squares to inf: e, lp restart; d is inf, -inf
        (300, (1e300, 0.5)),
        (301, (0.5, -1.7e308)),  # hp's state overflows while its value is still finite
        (302, (-1.7e308, 1.0)),  # bp's state overflows (and the magnitude does)
    ],
)
def test_a_recursive_signal_restarts_exactly_as_a_new_stream(restart, row, values):
    """After the first sample t0 on which a recursive signal is non-finite, its values are those
    of a fresh stream started at t0 + 1 (bit for bit); before t0 nothing changed; and C agrees."""
    spec, _, module, c = restart
    x = imu_motion(900, 2, np.random.default_rng(row))
    x[row] = values
    got = _signals(module, x)
    before = _signals(module, x[:row])
    restarted = 0
    for s in ("e", "lp", "hp", "bp"):
        bad = np.flatnonzero(~np.isfinite(got[s]))
        assert harness.same_bits(got[s][:row], before[s]).all(), s
        if bad.size == 0:
            continue
        t0 = int(bad[0])
        assert row <= t0 <= row + 2 and bad.tolist() == [t0], (s, bad[:5])
        fresh = _signals(module, x[t0 + 1 :])[s]
        assert harness.same_bits(got[s][t0 + 1 :], fresh).all(), s
        restarted += 1
    assert restarted >= 1
    # diff needs no rule: it forgets a non-finite value one sample later by itself.
    assert np.isfinite(got["d"][row + 4 :]).all()
    comparison = harness.compare_target(module, c, {"huge": x})
    assert comparison.identical, comparison.failure_message()


def test_huge_samples_bit_identical_numpy_vs_c(example, example_c, vocab_c):  # noqa: F811  (the fixture)
    """One huge but finite sample at a few positions (2e154, 1e300, -1.7e308): every target
    computes the same overflow and the same restarts (the example, VOCAB and SMALL specs)."""
    spec, _, module = example
    recordings = {
        f"overflow_{s}": overflow_recording(3_000, len(spec.inputs), seed=s) for s in (1, 2)
    }
    comparison = harness.compare_target(module, example_c, recordings)
    assert comparison.identical, comparison.failure_message()
    features, _ = module.featurize(recordings["overflow_1"])
    assert (~np.isfinite(features)).any()  # the overflow did reach the features

    _, _, vmodule, vtarget = vocab_c
    comparison = harness.compare_target(
        vmodule, vtarget, {"overflow": overflow_recording(2_500, 3, seed=3)}
    )
    assert comparison.identical, comparison.failure_message()


def test_small_spec_huge_samples_bit_identical(tmp_path):
    spec = load_spec_text(SMALL)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    target = harness.c_target(files, spec.name, tmp_path)
    comparison = harness.compare_target(
        module, target, {"overflow": overflow_recording(3_000, 2, seed=4)}
    )
    assert comparison.identical, comparison.failure_message()


def test_band_pass_features_recover_after_a_magnitude_overflow(example, example_c):
    """The bug report: acc = 2e154 once made the magnitude inf and the band-passed bounce NaN
    for the rest of the stream. Now every feature is finite again once the long window (100
    samples) has moved past the sample and the ema's 2e154-sized tail has decayed."""
    spec, _, module = example
    x = imu_motion(20_000, len(spec.inputs), np.random.default_rng(8))
    x[3_000, :3] = 2e154
    features, ends = module.featurize(x)
    after = ends >= 3_000
    assert (~np.isfinite(features[after & (ends < 3_100)])).any()  # it did overflow
    assert np.isfinite(features[ends >= 3_000 + 100 + 50]).all()
    assert np.isfinite(features[~after]).all()
    bounce = [j for j, n in enumerate(module.FEATURE_NAMES) if "bounce" in n]
    assert bounce and np.isfinite(features[-1, bounce]).all()
    comparison = harness.compare_target(module, example_c, {"bug": x})
    assert comparison.identical, comparison.failure_message()


# ---------------------------------------------------------------- misuse


def _cstream(target):
    return target.stream.__self__


def test_push_misuse_returns_error_codes_through_cffi(example_c):
    """NULL state, sample or out: _ERR_NULL (-3); a zero-filled or garbage state, or one
    overwritten after init: _ERR_STATE (-2); nothing written; init makes it usable again."""
    runtime = _cstream(example_c)
    ffi, lib, name = runtime.ffi, runtime.lib, runtime.name
    P = name.upper()
    assert (getattr(lib, f"{P}_ERR_STATE"), getattr(lib, f"{P}_ERR_NULL")) == (-2, -3)
    push, init = getattr(lib, f"{name}_push"), getattr(lib, f"{name}_init")
    sample = ffi.new(f"double[{runtime.n_inputs}]", [0.5] * runtime.n_inputs)
    out = ffi.new(f"double[{runtime.n_features}]", [7.0] * runtime.n_features)
    st = ffi.new(f"{name}_state *")
    assert push(st, sample, out) == -2  # zero-filled: never initialised
    rng = np.random.default_rng(5)
    for _ in range(20):
        ffi.buffer(st)[:] = rng.integers(0, 256, ffi.sizeof(st[0]), dtype=np.uint8).tobytes()
        assert push(st, sample, out) == -2
    init(st)
    assert push(ffi.NULL, sample, out) == -3
    assert push(st, ffi.NULL, out) == -3
    assert push(st, sample, ffi.NULL) == -3
    init(ffi.NULL)  # does nothing, no crash
    assert list(out) == [7.0] * runtime.n_features
    for _ in range(getattr(lib, f"{P}_MAX_LENGTH") - 1):
        assert push(st, sample, out) == 0
    assert push(st, sample, out) == 1
    ffi.buffer(st)[:] = b"\xa5" * ffi.sizeof(st[0])  # init, then overwritten
    assert push(st, sample, out) == -2


MISUSE_C = r"""
#include "@NAME@_features.h"
#include "@FEAT@_features.h"
#include "@NAME@_detector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static void expect(const char *what, int got, int want)
{
    printf("%s: %d\n", what, got);
    if (got != want) {
        printf("  FAILED: expected %d\n", want);
        failures += 1;
    }
}

int main(void)
{
    static @NAME@_state st;
    static @FEAT@_state dev;
    static @NAME@_detector det;
    static unsigned char other[sizeof(@NAME@_state) + sizeof(@FEAT@_state)];
    @NAME@_result result;
    double sample[@P@_N_INPUTS];
    double out[@P@_N_FEATURES];
    double dev_out[@FP@_N_FEATURES];
    for (int i = 0; i < @P@_N_INPUTS; ++i) {
        sample[i] = 0.25 * (i + 1);
    }

    expect("zeroed state", @NAME@_push(&st, sample, out), @P@_ERR_STATE);
    memset(&st, 0xA5, sizeof st);
    expect("0xA5 state", @NAME@_push(&st, sample, out), @P@_ERR_STATE);
    srand(7);
    for (int k = 0; k < 50; ++k) {
        unsigned char *bytes = (unsigned char *)&st;
        for (size_t i = 0; i < sizeof st; ++i) {
            bytes[i] = (unsigned char)(rand() & 0xFF);
        }
        expect("random state", @NAME@_push(&st, sample, out), @P@_ERR_STATE);
    }
    @NAME@_init(&st);
    expect("NULL st", @NAME@_push(NULL, sample, out), @P@_ERR_NULL);
    expect("NULL sample", @NAME@_push(&st, NULL, out), @P@_ERR_NULL);
    expect("NULL out", @NAME@_push(&st, sample, NULL), @P@_ERR_NULL);
    @NAME@_init(NULL);
    expect("after init", @NAME@_push(&st, sample, out), @P@_PENDING);
    memset(&st, 0x5A, sizeof st);
    expect("init, then overwritten", @NAME@_push(&st, sample, out), @P@_ERR_STATE);

    expect("device: zeroed state", @FEAT@_push(&dev, sample, dev_out), @FP@_ERR_STATE);
    expect("device: NULL st", @FEAT@_push(NULL, sample, dev_out), @FP@_ERR_NULL);
    @FEAT@_init(&dev);
    expect("device: NULL sample", @FEAT@_push(&dev, NULL, dev_out), @FP@_ERR_NULL);
    expect("device: NULL out", @FEAT@_push(&dev, sample, NULL), @FP@_ERR_NULL);
    expect("device: after init", @FEAT@_push(&dev, sample, dev_out), @FP@_PENDING);
    /* a state initialised by another featuriser's init (another spec, version or prefix) */
    @FEAT@_init((@FEAT@_state *)(void *)other);
    expect("another featuriser's state", @NAME@_push((@NAME@_state *)(void *)other, sample, out),
        @P@_ERR_STATE);

    expect("detector: zeroed", @NAME@_detector_push(&det, sample, &result), @P@_DETECTOR_ERR_STATE);
    memset(&det, 0xC3, sizeof det);
    expect("detector: garbage", @NAME@_detector_push(&det, sample, &result), @P@_DETECTOR_ERR_STATE);
    @NAME@_detector_init(&det);
    @NAME@_detector_init(NULL);
    expect("detector: NULL d", @NAME@_detector_push(NULL, sample, &result), @P@_DETECTOR_ERR_NULL);
    expect("detector: NULL sample", @NAME@_detector_push(&det, NULL, &result), @P@_DETECTOR_ERR_NULL);
    expect("detector: NULL result", @NAME@_detector_push(&det, sample, NULL), @P@_DETECTOR_ERR_NULL);
    expect("detector: after init", @NAME@_detector_push(&det, sample, &result), @P@_DETECTOR_PENDING);
    memset(&det.features, 0x3C, sizeof det.features);
    expect("detector: featuriser overwritten", @NAME@_detector_push(&det, sample, &result),
        @P@_DETECTOR_ERR_STATE);

    /* after all that, a fresh init streams normally */
    @NAME@_init(&st);
    int status = @P@_PENDING;
    for (int i = 0; i < @P@_MAX_LENGTH; ++i) {
        status = @NAME@_push(&st, sample, out);
    }
    expect("a full window after re-init", status, @P@_EMITTED);
    @NAME@_detector_init(&det);
    for (int i = 0; i < @P@_MAX_LENGTH; ++i) {
        status = @NAME@_detector_push(&det, sample, &result);
    }
    expect("detector: a full window after re-init", status > 0, 1);
    printf("failures: %d\n", failures);
    return failures != 0;
}
"""


def test_push_misuse_under_asan_ubsan(example, tmp_path):
    """Push before init (zeroed, 0xA5, random bytes), NULL state/sample/out, a state
    overwritten after init, another featuriser's state, and the same for the device featuriser
    and the detector: each returns its error code, with no sanitizer report."""
    require_tools([] if CLANG else ["clang-14"], "the sanitizer misuse test")
    spec, files, _ = example
    name = spec.name
    feat, _ = device_featuriser(files, name)
    assert feat != name, "the example's detector should run a pruned device featuriser"
    c_dir = tmp_path / "c"
    c_dir.mkdir()
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:
            (tmp_path / rel).write_text(text)
    program = (
        MISUSE_C.replace("@NAME@", name)
        .replace("@FEAT@", feat)
        .replace("@P@", name.upper())
        .replace("@FP@", feat.upper())
    )
    (c_dir / "misuse.c").write_text(program)
    sources = [
        c_dir / f"{p}.c"
        for p in (
            f"{name}_features",
            f"{feat}_features",
            f"{name}_model",
            f"{name}_detector",
            "misuse",
        )
    ]
    exe = tmp_path / "misuse"
    subprocess.run(
        [CLANG, *SANITIZE, "-I", str(c_dir), *map(str, sources), "-o", str(exe), "-lm"],
        check=True,
        capture_output=True,
        text=True,
    )
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "failures: 0" in run.stdout and "ERROR" not in run.stderr, run.stderr[-3000:]
    assert run.stdout.count("random state: -2") == 50
