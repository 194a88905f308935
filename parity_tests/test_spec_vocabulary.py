"""Issue 19's vocabulary in every target: the clip and ratio signals, histogram outside: clamp,
min_length on the longest runs, the longest runs' start index and the ratio of two columns.

All of it is written in existing IR operations (featurespec/vocabulary/features.py, featurespec/vocabulary/signals.py; a
ratio's kernel runs its operands' own code, codegen/lowering.py), so each target prints it like
any other feature. Here: hand-computed ratios (including every fallback case), the ratio column
against the quotient of its operand columns on hostile recordings, the shared kernels against
the per-feature numpy module, a device program that keeps only ratios, and numpy = C = Swift
bit for bit. (Hand vectors and references for the per-kind math are in test_oracle.py.)
"""

from __future__ import annotations

import numpy as np
import pytest

from codegen.build import generate
from featgen import harness
from featgen.harness.recordings import edge_case_recording
from featurespec import load_spec_text

SPEC = """
spec: featgen/v1
name: vocab19
sample_rate_hz: 50
inputs: [a, b, c]
signals:
  a_clip: {clip: a, range: [-0.5, 0.75]}
  ab: {ratio: [a, b]}                       # exact zeros and subnormals: fallbacks, overflows
  ba: {ratio: [b, c], fallback: -1}
  m: {magnitude: [a_clip, ab]}
windows:
  short: {length: 9, hop: 1}
  long: {length: 40, hop: 3}
features:
  - {compute: histogram, of: [a, a_clip, ab], over: [short, long], bins: 4, range: [-1, 1],
     outside: clamp}
  - {compute: histogram, of: a, over: long, bins: 1, range: [-0.25, 0.25], outside: clamp,
     normalize: true, label: hist1}
  - compute: [longest_run_above, longest_run_below, longest_run_above_start,
              longest_run_below_start]
    of: [a, ba, m]
    over: [short, long]
    threshold: 0.0
  - compute: [longest_run_above, longest_run_above_start, longest_run_below_start]
    of: [b, ab]
    over: long
    threshold: 0.1
    min_length: 3
  - {compute: [mean, energy, max, min], of: [a, b], over: long}
  - {compute: count_above, of: [a, b], over: long, threshold: 0.0}
  - {compute: [mean, min], of: [a, c], over: short}
  - {ratio: [mean__a__long, energy__a__long], label: mean_per_energy}
  - {ratio: [max__a__long, min__b__long], label: a_max_over_b_min, fallback: -7.5}
  - {ratio: [count_above_0__a__long, count_above_0__b__long], label: above_share}
  - {ratio: [mean_per_energy__long, mean__b__long], label: nested}
  - {ratio: [histogram_clamp_b3__a__long, histogram_clamp_b0__a__long], label: tails}
  - {ratio: [longest_run_above_0p1_min3__b__long, longest_run_above_0__a__long], label: runs}
  - {ratio: [mean__a__short, min__c__short], label: short_ratio, fallback: 1}
"""

RATIOS = {  # label -> (numerator column, denominator column, fallback)
    "mean_per_energy__long": ("mean__a__long", "energy__a__long", 0.0),
    "a_max_over_b_min__long": ("max__a__long", "min__b__long", -7.5),
    "above_share__long": ("count_above_0__a__long", "count_above_0__b__long", 0.0),
    "nested__long": ("mean_per_energy__long", "mean__b__long", 0.0),
    "tails__long": ("histogram_clamp_b3__a__long", "histogram_clamp_b0__a__long", 0.0),
    "runs__long": ("longest_run_above_0p1_min3__b__long", "longest_run_above_0__a__long", 0.0),
    "short_ratio__short": ("mean__a__short", "min__c__short", 1.0),
}


@pytest.fixture(scope="module")
def vocab19():
    spec = load_spec_text(SPEC)
    files = generate(spec)
    return spec, files, harness.load_numpy_module(files, spec.name)


def _recordings() -> dict[str, np.ndarray]:
    """Hostile streams (zeros of both signs, subnormals, huge values, constant stretches) plus
    one built so that every ratio hits its fallback: c = 0, b = 0 in stretches."""
    rng = np.random.default_rng(19)
    zeros = rng.normal(0, 1, (600, 3))
    zeros[100:250, 1] = 0.0
    zeros[200:400, 2] = -0.0
    zeros[300:350, 0] = 0.0
    zeros[450:500, 1] = 1e-310
    return {
        "edge": edge_case_recording(4_000, 3, seed=19, nonfinite=True),
        "edge2": edge_case_recording(1_500, 3, seed=20),
        "zeros": zeros,
        "exact": edge_case_recording(40, 3, seed=21),
    }


def _finite_or(num: np.ndarray, den: np.ndarray, fallback: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        q = num / den
    return np.where(np.isfinite(q), q, fallback)


def test_ratio_column_is_the_quotient_of_its_operand_columns(vocab19):
    """The written rule, checked on every vector: num / den when finite, else the fallback
    (the operands are columns of the same vector, computed by their own features)."""
    _, _, module = vocab19
    names = list(module.FEATURE_NAMES)
    hits = dict.fromkeys(RATIOS, 0)
    for label, samples in _recordings().items():
        finite = samples[np.isfinite(samples).all(axis=1)]
        out, _ = module.featurize(finite)
        assert np.isfinite(out[:, [names.index(r) for r in RATIOS]]).all(), label
        for ratio, (num, den, fallback) in RATIOS.items():
            got = out[:, names.index(ratio)]
            want = _finite_or(out[:, names.index(num)], out[:, names.index(den)], fallback)
            assert harness.same_bits(got, want).all(), (label, ratio)
            with np.errstate(all="ignore"):
                hits[ratio] += int(
                    (~np.isfinite(out[:, names.index(num)] / out[:, names.index(den)])).sum()
                )
    # the fallback is exercised, not only the plain quotient
    for ratio in ("a_max_over_b_min__long", "above_share__long", "short_ratio__short"):
        assert hits[ratio] > 0, ratio


HAND = """
spec: featgen/v1
name: hand19
sample_rate_hz: 50
inputs: [x, y]
signals:
  q: {ratio: [x, y], fallback: 9}
windows:
  w: {length: 4, hop: 1}
features:
  - {compute: [sum, min, max], of: [x, y], over: w}
  - {ratio: [sum__x__w, sum__y__w], label: sums}
  - {ratio: [sum__x__w, min__y__w], label: by_min, fallback: -1}
  - {ratio: [sums__w, max__x__w], label: nested}
  - {compute: last, of: q, over: w}
"""


@pytest.mark.parametrize(
    "x,y,want",
    [
        # sums = 10 / 4 = 2.5; by_min = 10 / 1; nested = 2.5 / 4; last q = 4 / 1
        ((1, 2, 3, 4), (1, 1, 1, 1), (2.5, 10.0, 0.625, 4.0)),
        # y all zero: 10 / 0 = inf -> 0.0 and -1; nested reads the fallback 0.0: 0 / 4 = 0; q -> 9
        ((1, 2, 3, 4), (0, 0, 0, 0), (0.0, -1.0, 0.0, 9.0)),
        # 0 / 0 (NaN) -> fallback; min y = -0.0: 0 / -0.0 is NaN -> -1; nested 0 / max x = 0 / 0 -> 0
        ((0, 0, 0, 0), (0, -0.0, 0, 0), (0.0, -1.0, 0.0, 9.0)),
        # a negative zero quotient is finite and kept: 0 / -2 = -0.0 (sums); -0.0 / 0 for nested
        ((0, 0, 0, 0), (-1, -1, -1, 1), (-0.0, -0.0, 0.0, 0.0)),
        # overflow: 2e300 / 2e-300 is inf -> 0.0; 2e300 / min y (+0.0) -> -1; nested 0 / 1e300 = 0;
        # q: 1e300 / 1e-300 -> 9
        ((1e300, 0, 0, 1e300), (1e-300, 0, 0, 1e-300), (0.0, -1.0, 0.0, 9.0)),
    ],
    ids=["plain", "x_over_zero", "zero_over_zero", "negative_zero_kept", "overflow"],
)
def test_ratio_hand_vectors(x, y, want):
    spec = load_spec_text(HAND)
    module = harness.load_numpy_module(generate(spec), spec.name)
    out, ends = module.featurize(np.column_stack([x, y]).astype(np.float64))
    assert ends.tolist() == [3]
    names = list(module.FEATURE_NAMES)
    got = out[0, [names.index(n) for n in ("sums__w", "by_min__w", "nested__w", "last__q__w")]]
    assert harness.same_bits(got, np.array(want, dtype=np.float64)).all(), (got.tolist(), want)


def test_shared_kernels_equal_the_per_feature_module(vocab19):
    """A ratio re-runs its operands' code; sharing must fold that into the operands' own work
    without changing a bit (generate(share=False) is the oracle for sharing)."""
    spec, _, module = vocab19
    separate = harness.load_numpy_module(generate(spec, share=False), spec.name)
    for label, samples in _recordings().items():
        finite = samples[np.isfinite(samples).all(axis=1)]
        got, ends = module.featurize(finite)
        want, want_ends = separate.featurize(finite)
        assert np.array_equal(ends, want_ends)
        assert harness.same_bits(got, want).all(), label


def test_shared_window_computes_each_operand_once(vocab19):
    """The ratio's inlined operands are the same statements as the operand features: after
    sharing, the long window has one sum loop per signal, not one per reader."""
    from codegen.lowering import lower
    from codegen.sharing import share_window
    from featurespec.vocabulary import ir

    program = lower(vocab19[0])
    long = next(w for w in program.windows if w.name == "long")
    separate = sum(1 for f in long.features for s in f.kernel.body if isinstance(s, ir.Loop))
    merged = share_window(long)
    assert sum(1 for s in merged.body if isinstance(s, ir.Loop)) < separate // 4


def test_device_program_keeping_only_ratios_matches_the_full_one(vocab19):
    """A device build that keeps the ratios but drops their operands computes the operands
    inside the ratios' kernels: the same bits as the full program's columns."""
    from codegen import build
    from codegen.backends import numpy as numpy_backend
    from codegen.lowering import lower

    spec, _, module = vocab19
    names = list(spec.feature_names)
    keep = [names.index(r) for r in RATIOS]
    device = lower(spec, keep=keep, name="vocab19_device")
    assert list(device.feature_names) == list(RATIOS)
    text = (
        build._environment()
        .get_template("numpy/module.py.j2")
        .render(header="", **build._common(device), **numpy_backend.render_context(device, True))
    )
    small = harness.load_numpy_module({"python/vocab19_device_features.py": text}, "vocab19_device")
    for label, samples in _recordings().items():
        finite = samples[np.isfinite(samples).all(axis=1)]
        full, ends = module.featurize(finite)
        got, got_ends = small.featurize(finite)
        assert np.array_equal(ends, got_ends)
        assert harness.same_bits(got, full[:, keep]).all(), label


@pytest.fixture(scope="module")
def c_target(vocab19, tmp_path_factory):
    spec, files, _ = vocab19
    return harness.c_target(files, spec.name, tmp_path_factory.mktemp("vocab19_c"))


def test_numpy_and_c_bit_identical(vocab19, c_target):
    _, _, module = vocab19
    comparison = harness.compare_target(module, c_target, _recordings())
    assert comparison.identical, comparison.failure_message()
    assert comparison.worst.max_ulp == 0
    assert comparison.vectors > 5_000


def test_numpy_and_swift_bit_identical(vocab19, swiftc, tmp_path_factory):
    spec, files, module = vocab19
    target = harness.swift_target(files, spec.name, tmp_path_factory.mktemp("vocab19_swift"))
    comparison = harness.compare_target(module, target, _recordings())
    assert comparison.identical, comparison.failure_message()
    assert comparison.worst.max_ulp == 0
    assert comparison.vectors > 5_000


CLIP_THEN_BIN = """
spec: featgen/v1
name: clipbin
sample_rate_hz: 50
inputs: [a]
signals:
  a_clip: {clip: a, range: [-1, 1.5]}
windows:
  w: {length: 16, hop: 1}
features:
  - {compute: histogram, of: a, over: w, bins: 5, range: [-1, 1.5], outside: clamp}
  - {compute: histogram, of: a_clip, over: w, bins: 5, range: [-1, 1.5]}
"""


def test_histogram_clamp_equals_binning_the_clipped_signal():
    """The issue's workaround (clip, then bin with numpy's rule) and outside: clamp are the
    same counts on every window, through two different pieces of generated code."""
    spec = load_spec_text(CLIP_THEN_BIN)
    module = harness.load_numpy_module(generate(spec), spec.name)
    samples = edge_case_recording(3_000, 1, seed=23)
    samples[::7, 0] = np.array([-1.0, 1.5, -1e300, 1e300, -0.0, 2.0, -3.0])[
        np.arange(len(samples[::7])) % 7
    ]  # bounds, far outside, signed zero
    out, _ = module.featurize(samples)
    clamp, clipped = out[:, :5], out[:, 5:]
    assert harness.same_bits(clamp, clipped).all()
    assert (clamp.sum(axis=1) == 16).all()  # every sample counted once
