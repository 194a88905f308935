"""numpy (batch) vs C (streaming, through cffi): every emitted vector, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from codegen.build import generate
from featgen import harness
from featgen.harness.recordings import edge_case_recording, parity_recordings
from featurespec import load_spec_text


def test_example_bit_identical_on_three_long_recordings(example, example_c):
    spec, _, module = example
    recordings = parity_recordings(len(spec.inputs), n=12_000, count=3)
    comparison = harness.compare_target(module, example_c, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 3 * 11_000
    assert comparison.worst.max_ulp == 0


def test_recordings_contain_the_edge_cases_they_promise():
    x = edge_case_recording(12_000, 6, seed=1, nonfinite=True)
    finite = x[np.isfinite(x)]
    assert (finite == 0).sum() > 100  # exact zeros
    assert np.signbit(finite[finite == 0]).any()  # negative zeros
    assert (np.abs(finite) > 1e11).any()  # huge
    assert ((np.abs(finite) < 1e-300) & (finite != 0)).any()  # subnormal
    assert (~np.isfinite(x)).sum() == 5
    runs = np.flatnonzero(np.all(np.diff(x, axis=0) == 0, axis=1))
    assert runs.size > 100  # constant stretches


def test_rejected_samples_leave_the_stream_as_if_never_pushed(example, example_c):
    spec, _, module = example
    clean = edge_case_recording(3_000, len(spec.inputs), seed=7)
    dirty = np.insert(
        clean, [500, 1500, 1500], [[np.nan] * 6, [np.inf] * 6, [0, 0, -np.inf, 0, 0, 0]], axis=0
    )
    got, ends, rejected = example_c.stream(dirty)
    expected, expected_ends = module.featurize(clean)
    assert rejected.tolist() == [500, 1501, 1502]
    assert harness.same_bits(expected, got).all()
    kept = np.flatnonzero(np.isfinite(dirty).all(axis=1))
    assert np.array_equal(kept[expected_ends], ends)


SMALL = """
spec: featgen/v1
name: small
sample_rate_hz: 100
inputs: [a, b]
signals:
  m: {magnitude: [a, b]}
  d: {diff: m}
  e: {ema: d, alpha: 0.3}
windows:
  one: {length: 1, hop: 1}
  odd: {length: 7, hop: 3}
  big: {length: 64, hop: 4}
features:
  - compute: [sum, mean, var, std, min, max, range, argmin, argmax, first, last, delta, energy,
              rms, mean_abs, zero_crossings, mean_crossings]
    of: [a, e]
    over: [one, odd, big]
  - {compute: slope, of: [a, d], over: [odd, big]}
  - {compute: histogram, of: b, over: big, bins: 5, range: [-2, 2]}
  - {compute: [count_above, longest_run_above, longest_run_below], of: m, over: odd, threshold: 1}
"""


@pytest.mark.parametrize("seed", [1, 2])
def test_windows_of_length_one_odd_hops_and_chained_signals(seed, tmp_path):
    spec = load_spec_text(SMALL)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    target = harness.c_target(files, spec.name, tmp_path)
    recordings = {
        "r": edge_case_recording(5_000, 2, seed=seed, nonfinite=True),
        "short": edge_case_recording(63, 2, seed=seed),
        "exact": edge_case_recording(64, 2, seed=seed),
    }
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()


# Every feature and signal kind beyond SMALL's: order statistics (sorting into scratch state),
# moments, peaks, integrals, two-signal kinds, spectra (constant tables, the portable log),
# Butterworth filters (state slots) and atan2; windows of 1, odd and even lengths, odd hops.
VOCAB = """spec: featgen/v1
name: vocab
sample_rate_hz: 50
inputs: [a, b, c]
signals:
  tilt: {atan2: [a, b]}
  lp: {lowpass: a, cutoff: 7.5, order: 3}
  hp: {highpass: b, cutoff: 0.5, order: 2}
  bp: {bandpass: c, band: [1, 20], order: 1}
  d: {diff: lp}
  m: {magnitude: [hp, bp]}
  s3: {sum: [a, b, c]}
  df: {difference: [a, c]}
  sc: {scale: tilt, factor: -2.5, offset: 0.75}
  cl: {clip: tilt, range: [-1, 1.5]}
  rq: {ratio: [a, lp], fallback: -2}
windows:
  one: {length: 1, hop: 1}
  odd: {length: 7, hop: 3}
  even: {length: 32, hop: 2}
  big: {length: 64, hop: 5}
features:
  - compute: [median, iqr, mad, skewness, kurtosis, mean_abs_change, peak_count, last_peak_index,
              integral, autocorrelation, log_energy]
    of: [a, tilt, lp, hp, bp, d]
    over: [odd, even, big]
  - {compute: [median, iqr, mad, skewness, peak_count, last_peak_index, integral, log_energy], of: [a, m], over: one}
  - {compute: percentile, of: [a, m], over: [one, odd, even], q: 12.5}
  - {compute: percentile, of: [a, m], over: [odd, even], q: 90, method: nearest_rank}
  - {compute: percentile, of: a, over: big, q: 0}
  - {compute: percentile, of: a, over: big, q: 100, method: nearest_rank}
  - {compute: iqr, of: c, over: even, method: nearest_rank}
  - {compute: mad, of: c, over: big, scale: 1.482602218505602}
  - {compute: [skewness, kurtosis], of: [b, hp], over: [odd, big], bias: false, zero_variance: -1}
  - {compute: kurtosis, of: b, over: even, fisher: false}
  - {compute: autocorrelation, of: [a, bp], over: [even, big], lag: 6}
  - {compute: [peak_count, last_peak_index], of: [a, lp], over: big, height: 0.5}
  - {compute: [covariance, correlation], of: [[a, b], [lp, hp], [tilt, m], [a, a]], over: [one, odd, big]}
  - {compute: covariance, of: [[b, c]], over: even, ddof: 1}
  - {compute: [dft_magnitude, dft_power], of: [a, bp], over: odd, bins: [0, 1, 3]}
  - {compute: dft_magnitude, of: [a, hp], over: even, bins: [16, 0, 5], taper: hann}
  - {compute: band_power, of: [a, lp], over: big, band: [2, 10]}
  - {compute: band_power, of: b, over: even, band: [0, 25], taper: hann}
  - compute: [dominant_frequency, spectral_centroid, spectral_entropy]
    of: [a, lp, bp, m]
    over: [odd, even, big]
  - {compute: [dominant_frequency, spectral_centroid, spectral_entropy], of: c, over: big, taper: hann, include_dc: true}
  - {compute: [spectral_centroid, spectral_entropy], of: c, over: even, spectrum: magnitude}
  - {compute: spectral_entropy, of: c, over: odd, normalize: false}
  - {compute: log_energy, of: hp, over: big, floor: 1.0e-9}
  - {compute: [median, spectral_centroid], of: [s3, df, sc], over: even}
  - {compute: correlation, of: [[s3, df], [sc, tilt]], over: even}
  - {compute: histogram, of: [a, cl], over: [odd, big], bins: 4, range: [-1, 1], outside: clamp}
  - compute: [longest_run_above, longest_run_below, longest_run_above_start, longest_run_below_start]
    of: [rq, cl]
    over: [odd, big]
    threshold: 0.25
    min_length: 2
  - {compute: [longest_run_above_start, longest_run_below_start], of: a, over: big, threshold: 0}
  - {ratio: [median__a__big, iqr__a__big], label: med_iqr}
  - {ratio: [med_iqr__big, last_peak_index__a__big], label: med_iqr_peak, fallback: -1}
  - {ratio: [dft_power_b3__bp__odd, dft_power_b1__bp__odd], label: harmonic}
"""


def test_parity_specs_cover_every_registered_kind():
    """A new feature or signal kind must reach a parity spec (here or SMALL)."""
    from featurespec.vocabulary.features import FEATURES, RATIO
    from featurespec.vocabulary.signals import SIGNALS

    specs = [load_spec_text(SMALL), load_spec_text(VOCAB)]
    kinds = {f.kind for s in specs for f in s.features}
    signals = {g.kind for s in specs for g in s.signals} - {"input"}
    assert not set(FEATURES) - kinds, sorted(set(FEATURES) - kinds)
    assert RATIO in kinds  # a ratio of two columns (not a kind of FEATURES)
    assert not set(SIGNALS) - signals, sorted(set(SIGNALS) - signals)


@pytest.fixture(scope="module")
def vocab_c(tmp_path_factory):
    spec = load_spec_text(VOCAB)
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    return spec, files, module, harness.c_target(files, spec.name, tmp_path_factory.mktemp("v"))


@pytest.mark.parametrize("seed", [11, 12])
def test_new_vocabulary_bit_identical_with_nonfinite_rows(seed, vocab_c):
    spec, _, module, target = vocab_c
    recordings = {
        "r": edge_case_recording(4_000, 3, seed=seed, nonfinite=True),
        "short": edge_case_recording(63, 3, seed=seed),
        "exact": edge_case_recording(64, 3, seed=seed),
    }
    comparison = harness.compare_target(module, target, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 3_000 and len(comparison.stats) > 300


def test_harness_reports_a_one_ulp_difference():
    """The comparison must see the smallest possible difference and name it."""
    names = ("f0", "f1")
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 1] = np.nextafter(4.0, 5.0)
    comparison = harness.Comparison("C", names)
    comparison.add("rec", expected, np.array([9, 10]), got, np.array([9, 10]))
    assert not comparison.identical
    assert comparison.stats[1].max_ulp == 1 and comparison.stats[0].mismatches == 0
    message = comparison.failure_message()
    assert "f1" in message and "0x1.0000000000001p+2" in message and "sample 10" in message


def test_ulp_distance_across_zero_and_nan():
    d = harness.ulp_distance
    tiny = np.nextafter(0.0, 1.0)
    assert d(np.array([tiny]), np.array([-tiny]))[0] == 2
    assert d(np.array([0.0]), np.array([-0.0]))[0] == 0
    assert not harness.same_bits(np.array([0.0]), np.array([-0.0]))[0]
    assert d(np.array([np.nan]), np.array([np.nan]))[0] == 0
    assert d(np.array([np.nan]), np.array([1.0]))[0] == np.iinfo(np.int64).max
    assert d(np.array([-np.inf]), np.array([np.inf]))[0] > 2**62
