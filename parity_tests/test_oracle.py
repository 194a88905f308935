"""An independent correctness oracle for the generated numpy module.

Parity proves numpy, C and Swift agree with each other; it cannot notice when all three agree on
a wrong answer. This file checks the numpy target (and through parity, the others) against
reference implementations written here with plain numpy/scipy, one window at a time, from the
*written definitions* in featurespec/vocabulary/features.py and featurespec/vocabulary/signals.py, never from the IR:

* every feature kind on random windows of several lengths and hops (``FEATURE_ORACLES``);
* every signal kind on random streams (``SIGNAL_ORACLES``);
* hand-computed edge vectors with exact expected values (parity_tests/oracle_vectors.py);
* the streaming contract of ``featurize``: which samples emit, hold semantics, non-finite
  samples, argument checking.

Tolerances (``RTOL`` = 1e-12, far above the ~L * 2.2e-16 any summation order can differ by):

* features that only select, compare or count (min, max, argmin, first, crossings, histogram,
  runs...) and the one-operation ones (range = max - min, delta, diff, difference) are compared
  bit for bit, so 0.0 vs -0.0 and every tie rule counts;
* features whose result is arbitrary on rounding-level data (the dominant frequency, centroid
  and entropy of a spectrum that is only rounding noise) are judged by an ``accept`` rule
  instead: any answer the reference spectrum allows;
* the reference sums use numpy's pairwise order, the generator sums left to right, so the rest
  is compared as ``|got - ref| <= RTOL * |ref| + floor``. ``floor`` is zero where no
  cancellation is possible (energy, rms, mean_abs, magnitude) and otherwise scaled by the
  magnitude of the window's samples, the only meaningful scale when the result cancels to
  near zero; each floor says why it is what the math needs and no more.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from scipy import integrate, stats
from scipy import signal as scisignal

from codegen.build import generate
from featgen.harness import load_numpy_module
from featurespec import load_spec_text
from featurespec.vocabulary.features import FEATURES
from featurespec.vocabulary.signals import SIGNALS
from parity_tests.oracle_vectors import FEATURE_VECTORS, SIGNAL_VECTORS

RTOL = 1e-12
EPS = np.finfo(np.float64).eps
# scipy's moments warn about the near-constant windows the recordings contain on purpose.
pytestmark = pytest.mark.filterwarnings(
    "ignore:Precision loss occurred:RuntimeWarning", "ignore:divide by zero:RuntimeWarning"
)
EXACT = "exact"


# ---------------------------------------------------------------- building specs from YAML


def _yaml(value: Any) -> str:
    """A value as YAML flow text (floats always with a dot: PyYAML reads 1e-3 as a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent if exponent[0] in '+-' else '+' + exponent}"
        return text
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return str(value)


def spec_text(inputs, signals, windows, features, name="oracle") -> str:
    """signals: [(name, kind, sources, params)]; windows: [(name, length, hop)];
    features: [dict(compute=..., of=..., over=..., **params)]."""
    lines = [
        "spec: featgen/v1",
        f"name: {name}",
        "sample_rate_hz: 50",
        f"inputs: {_yaml(list(inputs))}",
    ]
    if signals:
        lines.append("signals:")
        for sig, kind, sources, params in signals:
            src = sources[0] if len(sources) == 1 else list(sources)
            lines.append(f"  {sig}: {_yaml({kind: src, **params})}")
    lines.append("windows:")
    lines += [f"  {w}: {{length: {length}, hop: {hop}}}" for w, length, hop in windows]
    lines.append("features:")
    lines += [f"  - {_yaml(f)}" for f in features]
    return "\n".join(lines) + "\n"


@functools.cache
def compile_spec(text: str):
    spec = load_spec_text(text, "oracle.yaml")
    return spec, load_numpy_module(generate(spec), spec.name)


# ---------------------------------------------------------------- reference features


def _ltr_mean(x: np.ndarray) -> float:
    """The mean exactly as features.py defines it: sum left to right from 0.0, then / L.
    Only mean_crossings uses it, to decide which samples *equal* the mean (a sample one ulp from
    the mean is on one side or the other depending on how the mean was rounded)."""
    total = 0.0
    for v in x.tolist():
        total += v
    return total / len(x)


def _signs(d: np.ndarray) -> np.ndarray:
    s = np.sign(d)
    return s[s != 0]  # exact zeros (either sign) are skipped


def _crossings(d: np.ndarray) -> float:
    s = _signs(d)
    return float(np.count_nonzero(s[1:] != s[:-1]))


def _runs(hits: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of every run of true values, in order."""
    runs, start = [], 0
    for hit, group in itertools.groupby(hits.tolist()):
        n = len(list(group))
        if hit:
            runs.append((start, n))
        start += n
    return runs


def _longest_run(hits: np.ndarray, min_length: int = 1) -> float:
    longest = max((n for _, n in _runs(hits)), default=0)
    return float(longest if longest >= min_length else 0)


def _run_start(hits: np.ndarray, min_length: int = 1) -> float:
    runs = [r for r in _runs(hits) if r[1] >= min_length]
    if not runs:
        return -1.0
    longest = max(n for _, n in runs)
    return float(next(start for start, n in runs if n == longest))  # the earliest longest


def _histogram(x, bins, range, normalize, outside="drop"):
    # clamp: numpy.histogram of numpy.clip(x), the definition's equivalence
    x = np.clip(x, *range) if outside == "clamp" else x
    counts = np.histogram(x, bins=bins, range=tuple(range))[0].astype(np.float64)
    return counts / len(x) if normalize else counts


def linregress_slope(x: np.ndarray) -> float:
    # scipy centres both variables before multiplying (unlike np.polyfit on raw data), so its
    # error scales with the spread of x, not with its offset.
    return float(stats.linregress(np.arange(len(x), dtype=np.float64), x).slope)


# Floors: the absolute error allowed on top of RTOL * |ref|, from the window's samples.


def _floor_sum(x, **_):
    # Any two summation orders differ by at most ~L * eps * sum|x|; when the terms cancel, that
    # (not |sum|) is the scale of the error.
    return RTOL * np.sum(np.abs(x))


def _floor_mean(x, **_):
    return RTOL * np.mean(np.abs(x))


def _mean_error(x) -> float:
    # Bound on how far a computed mean can sit from the true one: L * eps * max|x|.
    return len(x) * EPS * np.max(np.abs(x))


def _floor_var(x, ddof=0, **_):
    # Two-pass variance with a mean off by d adds L * d^2 / (L - ddof) <= 2 d^2 whatever the
    # spread; for a near-constant window far from 0 (1e8 + 1e-4 noise) that dominates, and
    # relative error is meaningless. Both sides have such a d: (2 * L * eps * max|x|)^2.
    return (2.0 * _mean_error(x)) ** 2


def _floor_std(x, ddof=0, **_):
    # |sqrt(a) - sqrt(b)| <= sqrt(|a - b|): the square root of the variance floor.
    return 2.0 * _mean_error(x)


def _floor_slope(x, **_):
    # num = sum((k - c) * (x_k - mean)) cancels: for a near-constant window the true slope is
    # tiny and relative error meaningless. Each term is rounded relative to |k - c| * (|x_k - m|
    # + d), d the mean's error; by Cauchy-Schwarz their sum over D is at most
    # (std(x) + d) / std(k), so that (which also bounds |slope|) is the scale of the error.
    n = len(x)
    std_k = math.sqrt((n * n - 1) / 12.0)
    return RTOL * (np.std(x) + _mean_error(x)) / std_k


def _no_floor(x, **_):
    return 0.0


@dataclass(frozen=True)
class FeatureOracle:
    ref: Callable[..., Any]  # (window(s), **params) -> value or values
    tol: Any = EXACT  # EXACT, or floor(window(s), **params) -> atol
    params: tuple[dict, ...] = ({},)  # parameter sets the random test exercises
    # Instead of ref/tol where the answer may legitimately be any of several values:
    # (window(s), got outputs, **params) -> True when got is an acceptable answer.
    accept: Callable[..., bool] | None = None

    def outputs(self, xs, params: dict) -> np.ndarray:
        xs = xs if isinstance(xs, tuple) else (xs,)
        params = {k: v for k, v in params.items() if k != "label"}
        return np.atleast_1d(np.asarray(self.ref(*xs, **params), dtype=np.float64))


THRESHOLDS = ({"threshold": 0.0}, {"threshold": 0.5})
# min_length 2 on the 7- and 24-sample windows; run kinds' names carry min_length, no label
RUN_PARAMS = THRESHOLDS + (
    {"threshold": 0.0, "min_length": 2},
    {"threshold": -0.5, "min_length": 7},
)

FEATURE_ORACLES: dict[str, FeatureOracle] = {
    "sum": FeatureOracle(lambda x: np.sum(x), _floor_sum),
    "mean": FeatureOracle(lambda x: np.mean(x), _floor_mean),
    "var": FeatureOracle(lambda x, ddof: np.var(x, ddof=ddof), _floor_var, ({}, {"ddof": 1})),
    "std": FeatureOracle(lambda x, ddof: np.std(x, ddof=ddof), _floor_std, ({}, {"ddof": 1})),
    # np.min/np.max may return either zero when -0.0 and +0.0 tie; argmin/argmax return the
    # first occurrence, which is the documented rule.
    "min": FeatureOracle(lambda x: x[np.argmin(x)]),
    "max": FeatureOracle(lambda x: x[np.argmax(x)]),
    "range": FeatureOracle(lambda x: x[np.argmax(x)] - x[np.argmin(x)]),
    "argmin": FeatureOracle(lambda x: float(np.argmin(x))),
    "argmax": FeatureOracle(lambda x: float(np.argmax(x))),
    "first": FeatureOracle(lambda x: x[0]),
    "last": FeatureOracle(lambda x: x[-1]),
    "delta": FeatureOracle(lambda x: x[-1] - x[0]),
    "energy": FeatureOracle(lambda x: np.sum(np.square(x)), _no_floor),  # no cancellation
    "rms": FeatureOracle(lambda x: np.sqrt(np.mean(np.square(x))), _no_floor),
    "mean_abs": FeatureOracle(lambda x: np.mean(np.abs(x)), _no_floor),
    "zero_crossings": FeatureOracle(lambda x: _crossings(x)),
    "mean_crossings": FeatureOracle(lambda x: _crossings(x - _ltr_mean(x))),
    "slope": FeatureOracle(linregress_slope, _floor_slope),
    "count_above": FeatureOracle(
        lambda x, threshold: float(np.count_nonzero(x > threshold)), params=THRESHOLDS
    ),
    "longest_run_above": FeatureOracle(
        lambda x, threshold, min_length=1: _longest_run(x > threshold, min_length),
        params=RUN_PARAMS,
    ),
    "longest_run_below": FeatureOracle(
        lambda x, threshold, min_length=1: _longest_run(x < threshold, min_length),
        params=RUN_PARAMS,
    ),
    "longest_run_above_start": FeatureOracle(
        lambda x, threshold, min_length=1: _run_start(x > threshold, min_length), params=RUN_PARAMS
    ),
    "longest_run_below_start": FeatureOracle(
        lambda x, threshold, min_length=1: _run_start(x < threshold, min_length), params=RUN_PARAMS
    ),
    "histogram": FeatureOracle(
        _histogram,
        params=(
            {"bins": 8, "range": [-2.0, 2.0]},  # edges on multiples of 0.5
            # inexact edges; histogram names carry no parameters, so the second one needs a label
            {"bins": 3, "range": [-1.0, 1.5], "normalize": True, "label": "histn"},
            {"bins": 3, "range": [-1.0, 1.5], "outside": "clamp"},
            {
                "bins": 1,
                "range": [-0.5, 0.5],
                "outside": "clamp",
                "normalize": True,
                "label": "histc",
            },
        ),
    ),
}


# ---------------------------------------------------------------- new vocabulary: references

FS = 50.0  # spec_text's sample_rate_hz


def _canon_sorted(x):
    return np.sort(x + 0.0)


def _nearest_rank(x, q):
    s = _canon_sorted(x)
    return s[min(int((len(x) - 1) * (q / 100.0) + 0.5), len(x) - 1)]


def _percentile(x, q, method):
    if method == "nearest_rank":
        return _nearest_rank(x, q)
    return np.percentile(x + 0.0, q, method="linear")


def _iqr(x, method):
    if method == "nearest_rank":
        return _nearest_rank(x, 75.0) - _nearest_rank(x, 25.0)
    return stats.iqr(x, interpolation="linear")


def _floor_order(x, **_):
    # Interpolating between two sorted samples: a + (b - a) t and b - (b - a)(1 - t) differ by
    # rounding relative to the samples, not to the (possibly cancelling) result.
    return RTOL * np.max(np.abs(x))


def _or_zero_variance(value, zero_variance):
    return zero_variance if np.isnan(value) else value


def _floor_moment(x, *_, **__):
    # Skewness, kurtosis and autocorrelation are scale-free; a mean off by d (both sides have
    # one, |d| <= L eps max|x|) moves them by about (order) * d / std, which for a near-constant
    # window far from 0 (1e8 + 1e-4 noise) dominates.
    sd = np.std(x)
    if sd == 0:
        return 0.0
    return RTOL + 50.0 * 2.0 * _mean_error(x) / sd


def _floor_kurtosis(x, **p):
    return 5.0 * _floor_moment(x)


def _autocorrelation(x, lag, zero_variance):
    d = x - np.mean(x)
    m2 = np.mean(d * d)
    if m2 <= (EPS * np.mean(x)) ** 2:
        return zero_variance
    return np.sum(d[:-lag] * d[lag:]) / np.sum(d * d)


def _peaks(x, height):
    peaks, props = scisignal.find_peaks(x, height=height, plateau_size=1)
    return props["left_edges"]


def _covariance(x, y, ddof):
    return np.cov(x, y, ddof=ddof)[0, 1] if len(x) > ddof else np.nan


def _floor_covariance(x, y, **_):
    return RTOL * len(x) * np.std(x) * np.std(y) + 4.0 * (
        _mean_error(x) * np.std(y) + _mean_error(y) * np.std(x)
    )


def _correlation(x, y, zero_variance):
    flat = lambda v: np.mean((v - np.mean(v)) ** 2) <= (EPS * np.mean(v)) ** 2  # noqa: E731
    if flat(x) or flat(y):
        return zero_variance
    return float(np.clip(np.corrcoef(x, y)[0, 1], -1.0, 1.0))


def _floor_correlation(x, y, **_):
    if np.std(x) == 0 or np.std(y) == 0:
        return 0.0
    return RTOL + 50.0 * (_mean_error(x) / np.std(x) + _mean_error(y) / np.std(y))


def _taper(x, taper):
    return x if taper == "none" else x * scisignal.get_window("hann", len(x))


def _power(x, taper):
    return np.abs(np.fft.rfft(_taper(x, taper))) ** 2


def _noise(x, taper):
    """The rounding-level scale of one DFT bin's value: |X| is known to about L eps sum|w x|."""
    return RTOL * np.sum(np.abs(_taper(x, taper)))


def _floor_dft_mag(x, bins, taper):
    return _noise(x, taper)


def _floor_dft_power(x, bins, taper):
    noise = _noise(x, taper)
    mags = np.abs(np.fft.rfft(_taper(x, taper)))[list(bins)]
    return 2.0 * mags * noise + noise * noise


def _band_bins(n, band):
    step = Fraction(FS) / n
    return [k for k in range(n // 2 + 1) if Fraction(band[0]) <= k * step <= Fraction(band[1])]


def _floor_band(x, band, taper):
    noise = _noise(x, taper)
    mags = np.abs(np.fft.rfft(_taper(x, taper)))[_band_bins(len(x), band)]
    return np.sum(2.0 * mags * noise + noise * noise)


def _spectrum(x, taper, include_dc, spectrum="power"):
    """(frequencies, weights, per-bin noise) of the bins a summary feature uses."""
    first = 0 if include_dc else 1
    mags = np.abs(np.fft.rfft(_taper(x, taper)))[first:]
    freqs = np.arange(first, len(x) // 2 + 1) * (FS / len(x))
    noise = _noise(x, taper)
    if spectrum == "magnitude":
        return freqs, mags, noise
    return freqs, mags**2, 2.0 * mags * noise + noise * noise


def _dominant(x, taper, include_dc):
    freqs, w, _ = _spectrum(x, taper, include_dc)
    return 0.0 if w.max() == 0 else freqs[np.argmax(w)]


def _accept_dominant(x, got, taper, include_dc):
    freqs, w, noise = _spectrum(x, taper, include_dc)
    top = w.max()
    if top <= 4 * noise.max():
        return got == 0.0 or bool(np.any(got == freqs))  # only noise: any bin, or 0
    close = w >= top - 2 * noise - 2 * noise.max()
    exact_steps = np.arange(len(x) // 2 + 1) * float(Fraction(FS) / len(x))
    return bool(np.any(got[0] == exact_steps[(0 if include_dc else 1) :][close]))


def _centroid(x, taper, include_dc, spectrum):
    freqs, w, _ = _spectrum(x, taper, include_dc, spectrum)
    return 0.0 if w.sum() == 0 else np.sum(freqs * w) / np.sum(w)


def _accept_centroid(x, got, taper, include_dc, spectrum):
    freqs, w, noise = _spectrum(x, taper, include_dc, spectrum)
    total, slack = w.sum(), np.sum(noise)
    if total <= 1e3 * slack:  # rounding noise: anything in range
        return bool(0.0 <= got[0] <= FS / 2)
    ref = np.sum(freqs * w) / total
    return bool(abs(got[0] - ref) <= 4.0 * (FS / 2) * slack / total + RTOL * abs(ref))


def _entropy(x, taper, include_dc, spectrum, normalize):
    _, w, _ = _spectrum(x, taper, include_dc, spectrum)
    if w.sum() == 0:
        return 0.0
    p = w / w.sum()
    h = -np.sum(p[p > 0] * np.log(p[p > 0]))
    return h / np.log(len(w)) if normalize else h


def _accept_entropy(x, got, taper, include_dc, spectrum, normalize):
    _, w, noise = _spectrum(x, taper, include_dc, spectrum)
    total, slack = w.sum(), np.sum(noise)
    top = np.log(len(w)) if not normalize else 1.0
    if total <= 1e3 * slack:
        return bool(-RTOL <= got[0] <= top * (1 + RTOL))
    ref = _entropy(x, taper, include_dc, spectrum, normalize)
    rel = slack / total  # each p is known to about this
    err = len(w) * rel * (abs(np.log(rel)) + 2.0) / (np.log(len(w)) if normalize else 1.0)
    return bool(abs(got[0] - ref) <= 4.0 * err + RTOL * abs(ref) + 1e-14)


FEATURE_ORACLES.update(
    {
        "median": FeatureOracle(lambda x: np.median(x + 0.0), _no_floor),
        "percentile": FeatureOracle(
            _percentile,
            _floor_order,
            (
                {"q": 25.0},
                {"q": 90.0},
                {"q": 12.5, "method": "nearest_rank"},
                {"q": 100.0, "method": "nearest_rank"},
            ),
        ),
        "iqr": FeatureOracle(_iqr, _floor_order, ({}, {"method": "nearest_rank"})),
        "mad": FeatureOracle(
            lambda x, scale: stats.median_abs_deviation(x) * scale,
            _floor_order,
            ({}, {"scale": 1.482602218505602, "label": "madn"}),
        ),
        "skewness": FeatureOracle(
            lambda x, bias, zero_variance: _or_zero_variance(
                stats.skew(x, bias=bias), zero_variance
            ),
            _floor_moment,
            ({}, {"bias": False, "zero_variance": -7.0}),
        ),
        "kurtosis": FeatureOracle(
            lambda x, bias, fisher, zero_variance: _or_zero_variance(
                stats.kurtosis(x, bias=bias, fisher=fisher), zero_variance
            ),
            _floor_kurtosis,
            ({}, {"bias": False, "fisher": False, "zero_variance": 1.0}),
        ),
        "mean_abs_change": FeatureOracle(lambda x: np.mean(np.abs(np.diff(x))), _no_floor),
        "peak_count": FeatureOracle(
            lambda x, height: float(len(_peaks(x, height))), params=({}, {"height": 0.5})
        ),
        "last_peak_index": FeatureOracle(
            lambda x, height: float(_peaks(x, height)[-1]) if len(_peaks(x, height)) else -1.0,
            params=({}, {"height": 0.25}),
        ),
        "integral": FeatureOracle(
            lambda x: integrate.trapezoid(x, dx=1.0 / FS), lambda x: RTOL * np.sum(np.abs(x)) / FS
        ),
        "autocorrelation": FeatureOracle(
            _autocorrelation, _floor_moment, ({}, {"lag": 5, "zero_variance": 2.0})
        ),
        "covariance": FeatureOracle(_covariance, _floor_covariance, ({}, {"ddof": 1})),
        "correlation": FeatureOracle(
            _correlation, _floor_correlation, ({}, {"zero_variance": -2.0, "label": "corrz"})
        ),
        "dft_magnitude": FeatureOracle(
            lambda x, bins, taper: np.abs(np.fft.rfft(_taper(x, taper)))[list(bins)],
            _floor_dft_mag,
            ({"bins": [0, 1, 3]}, {"bins": [2, 1], "taper": "hann"}),
        ),
        "dft_power": FeatureOracle(
            lambda x, bins, taper: _power(x, taper)[list(bins)],
            _floor_dft_power,
            ({"bins": [1, 3]}, {"bins": [0, 2], "taper": "hann"}),
        ),
        "band_power": FeatureOracle(
            lambda x, band, taper: np.sum(_power(x, taper)[_band_bins(len(x), band)]),
            _floor_band,
            ({"band": [4.0, 12.5]}, {"band": [0.0, 25.0], "taper": "hann"}),
        ),
        "dominant_frequency": FeatureOracle(
            _dominant, params=({}, {"taper": "hann", "include_dc": True}), accept=_accept_dominant
        ),
        "spectral_centroid": FeatureOracle(
            _centroid,
            params=({}, {"taper": "hann", "include_dc": True, "spectrum": "magnitude"}),
            accept=_accept_centroid,
        ),
        "spectral_entropy": FeatureOracle(
            _entropy,
            params=(
                {},
                {"taper": "hann", "include_dc": True, "spectrum": "magnitude", "normalize": False},
            ),
            accept=_accept_entropy,
        ),
        "log_energy": FeatureOracle(
            lambda x, floor: np.log(floor + np.sum(x * x)), _no_floor, ({}, {"floor": 1e-3})
        ),
    }
)


# ---------------------------------------------------------------- reference signals


def _ratio(a, b, fallback=0.0):
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = a / b
    return np.where(np.isfinite(q), q, fallback)


def _ema(x, alpha):
    y = np.empty_like(x)
    keep = 1.0 - alpha
    for t, v in enumerate(x.tolist()):
        y[t] = v if t == 0 else alpha * v + keep * y[t - 1]
    return y


def _diff(x):
    d = np.zeros_like(x)
    d[1:] = np.diff(x)
    return d


@dataclass(frozen=True)
class SignalOracle:
    ref: Callable[..., np.ndarray]  # (*sources, **params) -> stream
    tol: Any  # EXACT, or floor(*sources, **params) -> atol
    cases: tuple[tuple[str, tuple[str, ...], dict], ...]  # (name, sources, params) to test


def _sosfilt(sos: np.ndarray, x: np.ndarray) -> np.ndarray:
    """scipy's cascade, starting in the steady state for a constant input x[0]."""
    return scisignal.sosfilt(sos, x, zi=scisignal.sosfilt_zi(sos) * x[0])[0]


def _butter(kind: str, order: int, cutoff: float) -> np.ndarray:
    return scisignal.butter(order, cutoff, btype=kind, fs=FS, output="sos")


def _floor_filter(x, **_):
    # Coefficients and the order of sections differ from scipy's by rounding: errors relative
    # to the largest input so far (the state remembers it), times the filter's gain.
    return 1e-10 * np.maximum.accumulate(np.abs(x))


SIGNAL_ORACLES: dict[str, SignalOracle] = {
    # hypot (scaled, no overflow) vs the defined sqrt of a left-to-right sum of squares: a few
    # ulps apart, and no cancellation (all terms are squares).
    "magnitude": SignalOracle(
        lambda *s: functools.reduce(np.hypot, s),
        lambda *s: 0.0,
        (("mag2", ("a", "b"), {}), ("mag3", ("a", "b", "c"), {})),
    ),
    "diff": SignalOracle(_diff, EXACT, (("da", ("a",), {}), ("dq", ("q",), {}))),
    # An ema is a convex combination of the samples so far: its rounding error is relative to
    # the largest of them, not to the (possibly near-zero) current value.
    "ema": SignalOracle(
        _ema,
        lambda x, alpha: RTOL * np.maximum.accumulate(np.abs(x)),
        (
            ("lp", ("a",), {"alpha": 0.3}),
            ("lpm", ("mag2",), {"alpha": 0.05}),
            ("lpd", ("dq",), {"alpha": 1.0}),
        ),
    ),
    "scale": SignalOracle(
        lambda x, factor, offset: x * factor + offset,
        lambda x, factor, offset: RTOL * (np.abs(x * factor) + abs(offset)),
        (("sc", ("b",), {"factor": -2.5, "offset": 0.75}), ("sc1", ("c",), {})),
    ),
    "sum": SignalOracle(
        lambda *s: np.sum(np.stack(s), axis=0),
        lambda *s: RTOL * np.sum(np.abs(np.stack(s)), axis=0),
        (("s3", ("a", "b", "c"), {}), ("s2", ("q", "lp"), {})),
    ),
    "difference": SignalOracle(lambda a, b: a - b, EXACT, (("dif", ("a", "c"), {}),)),
    # numpy.clip would turn -0.0 into low = 0.0 at the bound, so the rule is written out.
    "clip": SignalOracle(
        lambda x, range: np.where(x < range[0], range[0], np.where(x > range[1], range[1], x)),
        EXACT,
        (("clp", ("a",), {"range": [-1.0, 1.5]}), ("clpq", ("q",), {"range": [0.0, 1.0]})),
    ),
    "ratio": SignalOracle(
        _ratio, EXACT, (("rat", ("a", "q"), {}), ("ratf", ("q", "c"), {"fallback": -1.0}))
    ),
    # glibc's atan2 (numpy calls it) is within 1 ulp of the portable one.
    "atan2": SignalOracle(
        np.arctan2, lambda a, b: 0.0, (("tilt", ("a", "b"), {}), ("tiltq", ("q", "c"), {}))
    ),
    "lowpass": SignalOracle(
        lambda x, cutoff, order: _sosfilt(_butter("lowpass", order, cutoff), x),
        _floor_filter,
        (
            ("flp", ("a",), {"cutoff": 5.0, "order": 2}),
            ("flp3", ("b",), {"cutoff": 2.0, "order": 3}),
        ),
    ),
    "highpass": SignalOracle(
        lambda x, cutoff, order: _sosfilt(_butter("highpass", order, cutoff), x),
        _floor_filter,
        (
            ("fhp", ("c",), {"cutoff": 1.0, "order": 2}),
            ("fhp1", ("a",), {"cutoff": 10.0, "order": 1}),
        ),
    ),
    "bandpass": SignalOracle(
        lambda x, band, order: _sosfilt(
            np.vstack([_butter("highpass", order, band[0]), _butter("lowpass", order, band[1])]), x
        ),
        _floor_filter,
        (
            ("fbp", ("b",), {"band": [1.0, 8.0], "order": 2}),
            ("fbp3", ("q",), {"band": [0.5, 20.0], "order": 3}),
        ),
    ),
}


# ---------------------------------------------------------------- the registry is covered


def test_every_feature_kind_has_an_oracle():
    missing = sorted(set(FEATURES) - set(FEATURE_ORACLES))
    stale = sorted(set(FEATURE_ORACLES) - set(FEATURES))
    assert not missing, f"feature kinds without a reference implementation here: {missing}"
    assert not stale, f"oracles for feature kinds that no longer exist: {stale}"


def test_every_signal_kind_has_an_oracle():
    missing = sorted(set(SIGNALS) - set(SIGNAL_ORACLES))
    stale = sorted(set(SIGNAL_ORACLES) - set(SIGNALS))
    assert not missing, f"signal kinds without a reference implementation here: {missing}"
    assert not stale, f"oracles for signal kinds that no longer exist: {stale}"


def test_every_declared_parameter_is_exercised():
    for kind, oracle in FEATURE_ORACLES.items():
        used = {key for p in oracle.params for key in p} - {"label"}
        assert set(FEATURES[kind].params) <= used, (
            f"{kind}: parameters {sorted(set(FEATURES[kind].params) - used)} never varied"
        )
    for kind, oracle in SIGNAL_ORACLES.items():
        used = {key for _, _, p in oracle.cases for key in p}
        assert set(SIGNALS[kind].params) <= used, (
            f"{kind}: parameters {sorted(set(SIGNALS[kind].params) - used)} never varied"
        )


def fits(kind: str, params: dict, length: int) -> bool:
    """Whether the validator accepts ``kind`` with ``params`` over a window of ``length``."""
    k = FEATURES[kind]
    full = {key: p.default for key, p in k.params.items() if not p.required}
    full.update({key: k.params[key].coerce(v) for key, v in params.items() if key != "label"})
    if length < k.min_length or length <= full.get("ddof", -1):
        return False
    return k.check is None or k.check(full, length, FS) is None


def test_every_kind_has_a_hand_computed_vector():
    assert not sorted(set(FEATURES) - {v.kind for v in FEATURE_VECTORS})
    assert not sorted(set(SIGNALS) - {v.kind for v in SIGNAL_VECTORS})


# ---------------------------------------------------------------- streaming schedule, by hand


def stream_schedule(n: int, windows) -> tuple[list[int], list[dict[str, int]]]:
    """The documented streaming contract, simulated push by push: (rows that emit a vector,
    for each such row the row at which each window was last evaluated)."""
    longest = max(length for _, length, _ in windows)
    last: dict[str, int] = {}
    ends, held = [], []
    for row in range(n):
        accepted = row + 1
        if accepted < longest:
            continue
        now = [w for w, _, hop in windows if (accepted - longest) % hop == 0]
        if now:
            last.update({w: row for w in now})
            ends.append(row)
            held.append(dict(last))
    return ends, held


# ---------------------------------------------------------------- random windows and streams

FEATURE_SIGNALS = ("a", "q", "lp", "mag2")
FEATURE_PAIRS = (("a", "q"), ("lp", "mag2"), ("b", "c"), ("a", "a"))  # two-signal kinds
RANDOM_WINDOWS = (("w1", 1, 1), ("w2", 2, 2), ("w7", 7, 3), ("w24", 24, 1))
OBSERVE = "w24"  # the longest window, hop 1: its first/last columns reveal every signal value


def random_spec_text() -> str:
    signals = [
        (name, kind, sources, params)
        for kind, oracle in SIGNAL_ORACLES.items()
        for name, sources, params in oracle.cases
    ]
    features = []
    for kind, oracle in FEATURE_ORACLES.items():
        for params in oracle.params:
            ok = [w for w, length, _ in RANDOM_WINDOWS if fits(kind, params, length)]
            of = (
                list(FEATURE_SIGNALS)
                if FEATURES[kind].n_signals == 1
                else [list(pair) for pair in FEATURE_PAIRS]
            )
            features.append({"compute": kind, "of": of, "over": ok, **params})
    others = [s[0] for s in signals if s[0] not in FEATURE_SIGNALS] + ["b", "c"]
    features.append({"compute": ["first", "last"], "of": others, "over": OBSERVE})
    return spec_text(["a", "b", "c", "q"], signals, RANDOM_WINDOWS, features)


def random_recording(seed: int, n: int = 192) -> np.ndarray:
    """Inputs a (segments of very different kinds), b (noise), c (mixed magnitudes) and q
    (half-integers with zeros of both signs: ties, exact zeros, samples on histogram edges)."""
    rng = np.random.default_rng(seed)
    makers = [
        lambda k: rng.normal(0, 1, k),
        lambda k: 1e3 + rng.normal(0, 1, k),  # offset much larger than spread
        lambda k: np.full(k, 0.1),  # constant, not dyadic
        lambda k: 1e8 + rng.normal(0, 1e-4, k),  # near-constant, huge offset
        lambda k: rng.normal(0, 1e-3, k),
        lambda k: rng.choice([-1.5, -0.0, 0.0, 0.5, 2.0], k),  # signed zeros and ties
        lambda k: np.round(rng.normal(0, 1, k), 1),  # quantised
        lambda k: 5 * np.sin(np.linspace(0, 3, k)) + rng.normal(0, 1e-2, k),
        lambda k: np.linspace(-2, 2, k),  # a ramp
        lambda k: rng.normal(0, 1, k) * 10.0 ** rng.integers(-6, 7, k),
    ]
    order = rng.permutation(len(makers))
    a = np.concatenate([makers[order[i % len(makers)]](16) for i in range(n // 16)])
    b = rng.normal(0, 2, n)
    c = rng.normal(0, 1, n) * 10.0 ** rng.integers(-2, 3, n)
    q = rng.integers(-5, 6, n) / 2.0
    q[q == 0] = np.where(rng.random(np.count_nonzero(q == 0)) < 0.5, 0.0, -0.0)
    return np.column_stack([a, b, c, q])


def _column(names, name) -> int:
    return names.index(name)


def observed_signals(spec, module, features, n) -> dict[str, np.ndarray]:
    """Every signal on every sample, read back from first/last over the hop-1 longest window."""
    names = list(module.FEATURE_NAMES)
    length = spec.window(OBSERVE).length
    values = {}
    for sig in spec.signals:
        v = np.empty(n)
        v[: n - length + 1] = features[:, _column(names, f"first__{sig.name}__{OBSERVE}")]
        v[length - 1 :] = features[:, _column(names, f"last__{sig.name}__{OBSERVE}")]
        values[sig.name] = v
    return values


def _bits(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float64).view(np.int64)


def _show(x: np.ndarray, limit: int = 24) -> str:
    items = [repr(float(v)) for v in x[:limit]]
    return "[" + ", ".join(items) + (", ..." if len(x) > limit else "") + "]"


def mismatches(got: np.ndarray, ref: np.ndarray, atol: np.ndarray | None) -> np.ndarray:
    """Where got and ref disagree: bit for bit when atol is None (EXACT), else beyond
    RTOL * |ref| + atol."""
    if atol is None:
        return _bits(got) != _bits(ref)
    with np.errstate(invalid="ignore"):  # inf - inf: equal infinities are a match
        return ~((got == ref) | (np.abs(got - ref) <= RTOL * np.abs(ref) + atol))


def _describe(label: str, got: float, ref: float, atol) -> str:
    if atol is None:
        return f"{label}: got {got!r}, expected exactly {ref!r}"
    return (
        f"{label}: got {got!r}, expected {ref!r} (|diff| {abs(got - ref):.3g} > "
        f"{RTOL * abs(ref) + atol:.3g})"
    )


def _report(failures: list[str]) -> str:
    return f"{len(failures)} mismatches:\n" + "\n".join(failures[:25])


@pytest.fixture(scope="module")
def random_module():
    return compile_spec(random_spec_text())


def test_random_spec_covers_every_kind(random_module):
    spec, _ = random_module
    assert {f.kind for f in spec.features} == set(FEATURES)
    assert {s.kind for s in spec.signals} - {"input"} == set(SIGNALS)


@pytest.mark.parametrize("seed", [0, 1])
def test_signals_match_reference(random_module, seed):
    spec, module = random_module
    samples = random_recording(seed)
    features, _ = module.featurize(samples)
    values = observed_signals(spec, module, features, len(samples))
    failures: list[str] = []
    for j, name in enumerate(spec.inputs):
        assert np.array_equal(_bits(values[name]), _bits(samples[:, j])), name
    for sig in spec.signals:
        if sig.kind == "input":
            continue
        oracle = SIGNAL_ORACLES[sig.kind]
        params = dict(sig.params)
        # The reference reads the generated values of the sources, so each signal is judged on
        # its own (a chain like ema(magnitude) does not compound two tolerances).
        sources = [values[s] for s in sig.sources]
        ref = oracle.ref(*sources, **params)
        atol = (
            None
            if oracle.tol == EXACT
            else np.broadcast_to(oracle.tol(*sources, **params), ref.shape)
        )
        got = values[sig.name]
        for t in np.flatnonzero(mismatches(got, ref, atol)):
            failures.append(
                _describe(
                    f"{sig.name} ({sig.kind}) at sample {t}",
                    got[t],
                    ref[t],
                    None if atol is None else atol[t],
                )
            )
    assert not failures, _report(failures)


@pytest.mark.parametrize("seed", [0, 1])
def test_features_match_reference_on_random_windows(random_module, seed):
    spec, module = random_module
    samples = random_recording(seed)
    n = len(samples)
    features, ends = module.featurize(samples)
    windows = [(w.name, w.length, w.hop) for w in spec.windows]
    want_ends, held = stream_schedule(n, windows)
    assert ends.tolist() == want_ends
    values = observed_signals(spec, module, features, n)
    names = list(module.FEATURE_NAMES)
    failures: list[str] = []
    checked = 0
    for fd in spec.features:
        oracle = FEATURE_ORACLES[fd.kind]
        params = dict(fd.params)
        length = spec.window(fd.window).length
        # The window each vector holds for this feature: its last evaluation (hold semantics).
        at = np.array([h[fd.window] for h in held])
        evaluated, which = np.unique(at, return_inverse=True)
        windows_x = [
            tuple(values[sig][end - length + 1 : end + 1] for sig in fd.signals)
            for end in evaluated
        ]
        ref = np.array([oracle.outputs(xs, params) for xs in windows_x])
        assert ref.shape == (len(evaluated), len(fd.outputs)), fd.kind
        atol = None
        if oracle.tol != EXACT:
            atol = np.array(
                [
                    np.max(oracle.tol(*xs, **params)) if oracle.accept is None else 0.0
                    for xs in windows_x
                ]
            )[which, None]
        got = features[:, [_column(names, out) for out in fd.outputs]]
        if oracle.accept is not None:
            bad = np.array(
                [
                    [not oracle.accept(*windows_x[which[i]], got[i], **params)]
                    for i in range(len(got))
                ]
            )
            atol = np.zeros((len(got), 1))
        else:
            bad = mismatches(got, ref[which], atol)
        for i, k in zip(*np.nonzero(bad)):
            failures.append(
                _describe(
                    f"{fd.outputs[k]} on the window ending at sample {at[i]}",
                    got[i, k],
                    ref[which[i], k],
                    None if atol is None else atol[i, 0],
                )
                + f"; window {_show(windows_x[which[i]][0])}"
            )
        checked += got.size
    assert checked == features.size  # every column of every vector
    assert not failures, _report(failures)


# ---------------------------------------------------------------- hand-computed vectors


def _vector_id(v) -> str:
    return f"{v.kind}-{'-'.join(f'{k}{p}' for k, p in v.params.items())}-{v.why[:40]}"


@functools.cache
def _feature_outputs() -> list[np.ndarray]:
    """Every hand vector in one spec: input x<i> carries vector i's window as its newest
    samples (older rows are padding), read by a window w<L> of that length with hop 1. The
    recording is exactly as long as the longest window, so one feature vector is emitted and
    every window in it ends at the last row."""
    vectors = FEATURE_VECTORS
    longest = max(len(v.window) for v in vectors)
    lengths = sorted({len(v.window) for v in vectors})
    inputs, columns, features = [], [], []
    for i, v in enumerate(vectors):
        names = [f"x{i}"] if v.other is None else [f"x{i}", f"y{i}"]
        for window in [v.window] if v.other is None else [v.window, v.other]:
            column = np.full(longest, 7.0)
            column[longest - len(window) :] = window
            columns.append(column)
        inputs += names
        features.append(
            {
                "compute": v.kind,
                "of": names[0] if v.other is None else [names],
                "over": f"w{len(v.window)}",
                **v.params,
            }
        )
    spec, module = compile_spec(spec_text(inputs, [], [(f"w{n}", n, 1) for n in lengths], features))
    samples = np.column_stack(columns)
    out, ends = module.featurize(samples)
    assert out.shape == (1, len(module.FEATURE_NAMES)) and ends.tolist() == [longest - 1]
    names = list(module.FEATURE_NAMES)
    assert [fd.kind for fd in spec.features] == [v.kind for v in vectors]
    return [out[0, [names.index(o) for o in fd.outputs]] for fd in spec.features]


@pytest.mark.parametrize("vector", FEATURE_VECTORS, ids=_vector_id)
def test_hand_computed_feature_vector(vector):
    got = _feature_outputs()[next(i for i, v in enumerate(FEATURE_VECTORS) if v is vector)]
    want = np.array(vector.expected)
    assert got.shape == want.shape
    assert np.array_equal(_bits(got), _bits(want)), (
        f"{vector.kind}{vector.params} on {list(vector.window)}: got {got.tolist()}, "
        f"expected {want.tolist()} ({vector.why})"
    )
    # The oracle agrees with the hand value too (it would be a poor oracle otherwise).
    oracle = FEATURE_ORACLES[vector.kind]
    params = {k: v.default for k, v in FEATURES[vector.kind].params.items() if not v.required}
    params.update(vector.params)
    xs = tuple(np.array(w) for w in (vector.window, vector.other) if w is not None)
    if oracle.accept is not None:
        assert oracle.accept(*xs, want, **params), (want.tolist(), vector.why)
        return
    with np.errstate(all="ignore"):
        ref = oracle.outputs(xs, params)
    atol = None if oracle.tol == EXACT else oracle.tol(*xs, **params)
    assert not mismatches(ref, want, atol).any(), (ref.tolist(), vector.why)


@functools.cache
def _signal_outputs() -> list[np.ndarray]:
    """Signal i reads inputs v<i>_<j>; `last` over a window of one sample shows its value on
    every sample. Shorter streams are padded at the end: a signal never reads ahead."""
    inputs, signals, columns = [], [], []
    longest = max(len(v.expected) for v in SIGNAL_VECTORS)
    for i, v in enumerate(SIGNAL_VECTORS):
        srcs = [f"v{i}_{j}" for j in range(len(v.sources))]
        inputs += srcs
        signals.append((f"s{i}", v.kind, srcs, v.params))
        columns += [list(s) + [0.5] * (longest - len(s)) for s in v.sources]
    features = [
        {"compute": "last", "of": [f"s{i}" for i in range(len(SIGNAL_VECTORS))], "over": "w"}
    ]
    _, module = compile_spec(spec_text(inputs, signals, [("w", 1, 1)], features))
    out, ends = module.featurize(np.column_stack(columns))
    assert ends.tolist() == list(range(longest))
    return [out[: len(v.expected), i] for i, v in enumerate(SIGNAL_VECTORS)]


@pytest.mark.parametrize("vector", SIGNAL_VECTORS, ids=_vector_id)
def test_hand_computed_signal_vector(vector):
    got = _signal_outputs()[next(i for i, v in enumerate(SIGNAL_VECTORS) if v is vector)]
    want = np.array(vector.expected)
    assert np.array_equal(_bits(got), _bits(want)), (
        f"{vector.kind}{vector.params} on {vector.sources}: got {got.tolist()}, "
        f"expected {want.tolist()} ({vector.why})"
    )
    oracle = SIGNAL_ORACLES[vector.kind]
    params = {k: v.default for k, v in SIGNALS[vector.kind].params.items() if not v.required}
    params.update(vector.params)
    sources = [np.array(s) for s in vector.sources]
    ref = oracle.ref(*sources, **params)
    atol = (
        None if oracle.tol == EXACT else np.broadcast_to(oracle.tol(*sources, **params), ref.shape)
    )
    assert not mismatches(ref, want, atol).any(), (ref.tolist(), vector.why)


# ---------------------------------------------------------------- streaming semantics


SCHEDULES = [
    [(5, 1)],
    [(5, 2)],
    [(8, 3)],
    [(1, 1)],
    [(4, 2), (10, 3)],  # different lengths and hops: hold semantics
    [(6, 4), (6, 1)],  # same length, different hops
    [(3, 7), (2, 1)],  # hop longer than the window
    [(10, 5), (4, 3), (7, 2)],
]


def schedule_module(windows):
    named = [(f"w{i}", length, hop) for i, (length, hop) in enumerate(windows)]
    features = [{"compute": ["first", "last"], "of": "x", "over": [w for w, _, _ in named]}]
    spec, module = compile_spec(spec_text(["x", "y"], [], named, features))
    return named, module


@pytest.mark.parametrize("windows", SCHEDULES, ids=str)
def test_emission_rows_and_held_columns(windows):
    named, module = schedule_module(windows)
    longest = max(length for _, length, _ in named)
    names = list(module.FEATURE_NAMES)
    for n in sorted({0, longest - 1, longest, longest + 1, 3 * longest + 5, 40}):
        x = np.arange(n, dtype=np.float64)  # sample value = its row
        features, ends = module.featurize(np.column_stack([x, -x]))
        want_ends, held = stream_schedule(n, named)
        assert features.shape == (len(want_ends), len(names))
        assert ends.dtype.kind == "i" and ends.tolist() == want_ends, (n, windows)
        for w, length, _ in named:
            last = features[:, names.index(f"last__x__{w}")]
            first = features[:, names.index(f"first__x__{w}")]
            at = np.array([h[w] for h in held], dtype=np.float64)
            # A window not evaluated on a row holds the values of its last evaluation.
            assert np.array_equal(last, at), (n, windows, w)
            assert np.array_equal(first, at - (length - 1)), (n, windows, w)


def test_first_vector_when_the_longest_window_fills():
    _, module = schedule_module([(4, 2), (10, 3)])
    for n in range(0, 10):
        features, ends = module.featurize(np.ones((n, 2)))
        assert features.shape == (0, len(module.FEATURE_NAMES)) and ends.shape == (0,)
        assert ends.dtype.kind == "i"
    _, ends = module.featurize(np.ones((10, 2)))
    assert ends.tolist() == [9]


DROP_SPEC = spec_text(
    ["x", "y"],
    [
        ("d", "diff", ["x"], {}),
        ("lp", "ema", ["y"], {"alpha": 0.3}),
        ("m", "magnitude", ["x", "y"], {}),
        ("lm", "ema", ["d"], {"alpha": 0.5}),
    ],
    [("short", 6, 2), ("long", 9, 3)],
    [
        {
            "compute": ["sum", "first", "last", "var", "argmax", "zero_crossings"],
            "of": ["x", "d", "lp", "m", "lm"],
            "over": ["short", "long"],
        }
    ],
)


def _dirty(seed=3, n=60):
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, 1, (n, 2))
    bad = {0: (0, np.nan), 13: (1, np.inf), 14: (0, -np.inf), 40: (1, np.nan), n - 1: (0, np.inf)}
    for row, (col, value) in bad.items():
        samples[row, col] = value
    samples[14, 1] = np.nan
    return samples, sorted(bad)


def test_nonfinite_raise_names_the_first_bad_sample_and_input():
    _, module = compile_spec(DROP_SPEC)
    samples, _ = _dirty()
    samples[0, 0] = 0.5  # first bad row is now 13, input y
    with pytest.raises(module.NonFiniteSampleError) as err:
        module.featurize(samples)
    assert isinstance(err.value, ValueError)
    assert (err.value.row, err.value.input_name, err.value.value) == (13, "y", np.inf)
    assert "sample 13" in str(err.value) and "'y'" in str(err.value), str(err.value)
    assert "inf" in str(err.value)
    samples[13, 1] = 0.0  # now row 14: both inputs bad, x is named (first)
    with pytest.raises(module.NonFiniteSampleError, match=r"sample 14, input 'x'"):
        module.featurize(samples, nonfinite="raise")


def test_nonfinite_drop_equals_featurizing_without_those_rows():
    _, module = compile_spec(DROP_SPEC)
    samples, bad = _dirty()
    kept = np.flatnonzero(np.isfinite(samples).all(axis=1))
    assert sorted(set(range(len(samples))) - set(kept.tolist())) == bad
    got, got_ends = module.featurize(samples, nonfinite="drop")
    want, want_ends = module.featurize(samples[kept])
    assert got.shape == want.shape and got.shape[0] > 5
    # Bit for bit: the diff and ema state carries across a dropped row as if it never came.
    assert np.array_equal(_bits(got), _bits(want))
    assert got_ends.tolist() == kept[want_ends].tolist()
    assert not set(got_ends.tolist()) & set(bad)


def test_nonfinite_drop_can_leave_too_few_samples():
    _, module = compile_spec(DROP_SPEC)
    samples = np.ones((12, 2))
    samples[::3, 1] = np.nan  # 8 finite rows left, the longest window needs 9
    features, ends = module.featurize(samples, nonfinite="drop")
    assert features.shape == (0, len(module.FEATURE_NAMES)) and ends.size == 0
    samples[0, 1] = 1.0  # 9 finite rows: one vector, at the last row
    _, ends = module.featurize(samples, nonfinite="drop")
    assert ends.tolist() == [11]


def test_nonfinite_option_is_checked_when_samples_are_bad():
    _, module = compile_spec(DROP_SPEC)
    samples, _ = _dirty()
    with pytest.raises(ValueError, match="raise.*drop"):
        module.featurize(samples, nonfinite="skip")


def test_nonfinite_option_is_checked_on_clean_samples():
    # A typo must not pass silently on clean data and only fail on the first dirty recording.
    _, module = compile_spec(DROP_SPEC)
    with pytest.raises(ValueError):
        module.featurize(np.ones((20, 2)), nonfinite="dorp")


@pytest.mark.parametrize("shape", [(20,), (20, 3), (20, 1), (2, 20, 2), ()], ids=str)
def test_wrong_shape_is_a_clear_error(shape):
    _, module = compile_spec(DROP_SPEC)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\).*x, y") as err:
        module.featurize(np.zeros(shape))
    assert str(shape).replace(" ", "") in str(err.value).replace(" ", "")


@pytest.mark.parametrize(
    "samples",
    [
        np.array([["1", "2"]] * 10),
        np.array([[1, 2]] * 10, dtype=object),
        np.ones((10, 2), dtype=complex),
        np.ones((10, 2), dtype=bool),
    ],
    ids=["str", "object", "complex", "bool"],
)
def test_wrong_dtype_is_a_clear_error(samples):
    _, module = compile_spec(DROP_SPEC)
    with pytest.raises(TypeError, match="numeric") as err:
        module.featurize(samples)
    assert str(samples.dtype) in str(err.value)


def test_integer_float32_and_list_inputs_are_read_as_doubles():
    _, module = compile_spec(DROP_SPEC)
    ints = np.arange(40).reshape(20, 2) % 7 - 3
    want, want_ends = module.featurize(ints.astype(np.float64))
    for samples in (ints, ints.astype(np.int8), ints.astype(np.float32), ints.tolist()):
        got, ends = module.featurize(samples)
        assert np.array_equal(_bits(got), _bits(want)) and np.array_equal(ends, want_ends)
