"""The resampling rule against vectors computed by hand (docs/sensors.md), independently of the
generated code: a few events, and each expected sample with its arithmetic spelled out. Run on
the generated numpy resampler and the generated C adapter (cffi)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codegen.sensors import grid_constants

MS = 1_000_000
INT64_MAX = 2**63 - 1

SPEC = """\
spec: featgen/v1
name: oracle
sample_rate_hz: {rate}
inputs: [acc_x, acc_y, acc_z, gyro_y]
windows:
  w: {{length: 2, hop: 1}}
features:
  - {{compute: mean, of: acc_x, over: w}}
sensors:
  method: {method}
  max_gap: 100ms
  buffer: 4
  sources:
    accelerometer:
      inputs: [acc_x, acc_y, acc_z]
      unit: m/s^2
      android: {{unit: m/s^2}}
      ios: {{unit: g, axes: [-x, -y, -z]}}
    gyroscope:
      inputs: [gyro_y]
      unit: rad/s
      android: {{unit: rad/s, axes: [y]}}
      ios: {{unit: deg/s, axes: [y]}}
"""

A, G = 0, 1  # sensor ids: accelerometer, gyroscope (declaration order)


@pytest.fixture(scope="module")
def linear(tmp_path_factory):
    return _both("linear", 50, tmp_path_factory)


def _both(method, rate, tmp_path_factory):
    from parity_tests.test_sensors import Built

    built = Built(
        SPEC.format(rate=rate, method=method),
        f"oracle_{method}_{rate}",
        tmp_path_factory.mktemp(f"oracle_{method}_{rate}"),
    )

    def run(events, platform="android"):
        ids = [e[0] for e in events]
        t = [e[1] for e in events]
        v = [e[2] for e in events]
        r = built.np.resample(np.array(t, dtype=np.int64), ids, np.array(v, dtype=float), platform)
        c = built.c(built.np.PLATFORMS.index(platform), ids, t, v)
        assert np.array_equal(r.t_ns, c[0]) and np.array_equal(
            r.samples.view(np.int64), c[1].view(np.int64)
        )
        assert np.array_equal(r.status, c[3]) and np.array_equal(r.segment_start, c[2])
        return r

    return run


# Events at 0, 16, 32, 48 ms (accelerometer) and 8, 24, 40, 56 ms (gyroscope), 50 Hz grid.
EVENTS = [
    (A, 0 * MS, (0.0, 0.0, 8.0)),
    (G, 8 * MS, (0.0, 1.0, 0.0)),
    (A, 16 * MS, (4.0, -4.0, 0.0)),
    (G, 24 * MS, (0.0, 3.0, 0.0)),
    (A, 32 * MS, (8.0, 0.0, 8.0)),
    (G, 40 * MS, (0.0, 5.0, 0.0)),
    (A, 48 * MS, (12.0, 4.0, 0.0)),
    (G, 56 * MS, (0.0, 9.0, 0.0)),
]


def test_linear_by_hand(linear):
    r = linear(EVENTS)
    # t0 = the latest first event = max(0, 8 ms) = 8 ms; period 10^9 / 50 = 20 ms exactly.
    assert r.t_ns.tolist() == [8 * MS, 28 * MS, 48 * MS]
    assert r.segment_start.tolist() == [True, False, False]
    expected = [
        # t = 8 ms. Accelerometer between 0 and 16 ms: w = 8e6 / 16e6 = 0.5;
        # x = 0 + 0.5 * (4 - 0) = 2, y = 0 + 0.5 * (-4 - 0) = -2, z = 8 + 0.5 * (0 - 8) = 4.
        # Gyroscope: an event at exactly 8 ms: y = 1.
        [2.0, -2.0, 4.0, 1.0],
        # t = 28 ms. Accelerometer between 16 and 32 ms: w = 12e6 / 16e6 = 0.75;
        # x = 4 + 0.75 * 4 = 7, y = -4 + 0.75 * 4 = -1, z = 0 + 0.75 * 8 = 6.
        # Gyroscope between 24 and 40 ms: w = 4e6 / 16e6 = 0.25; y = 3 + 0.25 * 2 = 3.5.
        [7.0, -1.0, 6.0, 3.5],
        # t = 48 ms. Accelerometer: an event at exactly 48 ms: (12, 4, 0).
        # Gyroscope between 40 and 56 ms: w = 0.5; y = 5 + 0.5 * 4 = 7.
        [12.0, 4.0, 0.0, 7.0],
    ]
    assert r.samples.tolist() == expected
    # the first sample is emitted by the push that gives the last sensor an event at or after
    # 8 ms (the accelerometer's at 16 ms, event 2)
    assert r.status.tolist() == [0] * 8


def test_ios_units_and_signs_by_hand(linear):
    """The same events from iOS: accelerometer in g with every axis flipped (factor
    -9.80665), gyroscope in deg/s (factor 0.017453292519943295, the double nearest pi/180)."""
    r = linear(EVENTS, "ios")
    g = 9.80665
    deg = 0.017453292519943295
    assert deg == math.radians(1.0)
    assert r.samples.tolist() == [
        [2.0 * -g, -2.0 * -g, 4.0 * -g, 1.0 * deg],  # value first, then one multiplication
        [7.0 * -g, -1.0 * -g, 6.0 * -g, 3.5 * deg],
        [12.0 * -g, 4.0 * -g, 0.0 * -g, 7.0 * deg],
    ]
    assert r.samples[2, 2] == 0.0 and math.copysign(1, r.samples[2, 2]) == -1  # 0 * -g = -0.0


def test_inexact_weight_is_one_division(linear):
    """t = 8 ms between accelerometer events at 0 and 24 ms: w = 8e6 / 24e6, the double nearest
    1/3 (one division of two exact doubles), then x = 1 + w * (2 - 1)."""
    r = linear(
        [
            (A, 0, (1.0, 0.0, 0.0)),
            (G, 8 * MS, (0.0, 0.0, 0.0)),
            (A, 24 * MS, (2.0, 0.0, 0.0)),
            (G, 30 * MS, (0.0, 0.0, 0.0)),
        ]
    )
    w = 8e6 / 24e6
    assert w == 0.3333333333333333
    assert r.samples[0, 0] == 1.0 + w * (2.0 - 1.0) == 1.3333333333333333


def test_duplicates_out_of_order_and_nonfinite_by_hand(linear):
    events = [
        (A, 0, (0.0, 0.0, 0.0)),
        (A, 0, (99.0, 99.0, 99.0)),  # same time: ignored, the first wins (-1)
        (G, 0, (0.0, 2.0, 0.0)),  # emits t = 0: both exact
        (A, 20 * MS, (float("nan"), 0.0, 0.0)),  # non-finite: ignored (-3)
        (A, 20 * MS, (10.0, 0.0, 0.0)),  # accepted; the gyroscope is not at 20 ms yet
        (A, 10 * MS, (50.0, 0.0, 0.0)),  # older than the newest accelerometer event (-2)
        (G, 40 * MS, (0.0, 6.0, 0.0)),  # emits t = 20 ms: acc exact 10; gyro w = 0.5 -> 4
        (7, 50 * MS, (0.0, 0.0, 0.0)),  # no sensor 7 (-4)
    ]
    r = linear(events)
    assert r.status.tolist() == [0, -1, 0, -3, 0, -2, 0, -4]
    assert r.t_ns.tolist() == [0, 20 * MS]
    assert r.samples[:, [0, 3]].tolist() == [[0.0, 2.0], [10.0, 4.0]]
    assert (r.counts["duplicates"], r.counts["out_of_order"], r.counts["nonfinite"]) == (1, 1, 1)


def test_gap_resets_by_hand(linear):
    """max_gap 100 ms: a 120 ms accelerometer gap is not bridged. The event after it (at 140 ms)
    returns RESET (1); queued events older than 140 ms are dropped; later older gyroscope events
    are STALE (2); the new segment starts at max(140, 150) = 150 ms, flagged segment_start."""
    events = [
        (A, 0, (0.0, 0.0, 0.0)),
        (G, 0, (0.0, 0.0, 0.0)),
        (A, 20 * MS, (1.0, 0.0, 0.0)),
        (G, 20 * MS, (0.0, 1.0, 0.0)),  # emits 0, 20 ms
        (A, 140 * MS, (7.0, 0.0, 0.0)),  # gap 120 ms: reset
        (G, 100 * MS, (0.0, 5.0, 0.0)),  # 40 ms gap, but stale
        (G, 150 * MS, (0.0, 6.0, 0.0)),
        (A, 160 * MS, (9.0, 0.0, 0.0)),  # emits 150 ms
    ]
    r = linear(events)
    assert r.status.tolist() == [0, 0, 0, 0, 1, 2, 0, 0]
    assert r.t_ns.tolist() == [0, 20 * MS, 150 * MS]
    assert r.segment_start.tolist() == [True, False, True]
    # t = 150 ms: acc between 140 (7) and 160 (9): w = 10/20 = 0.5 -> 8; gyro exact 6
    assert r.samples[2, [0, 3]].tolist() == [8.0, 6.0]


def test_full_queue_resets_by_hand(linear):
    """buffer 4: the gyroscope's fifth event while the accelerometer lags starts a segment."""
    events = (
        [(A, 0, (0.0, 0.0, 0.0))]
        + [(G, k * 10 * MS, (0.0, float(k), 0.0)) for k in range(5)]
        + [(A, 50 * MS, (5.0, 0.0, 0.0))]
    )
    r = linear(events)
    # Both sensors have an event at 0: t = 0 is emitted by the gyroscope's first event. The grid
    # then waits for the accelerometer (next t = 20 ms); the gyroscope queue fills with 0 (the
    # lower bracket), 10, 20, 30; its event at 40 ms finds it full: RESET, the segment starts
    # at 40 ms and the accelerometer's 0 is dropped. Its event at 50 ms: t0 = max(50, 40) =
    # 50 ms, but the gyroscope has nothing at or after 50 ms yet: no sample.
    assert r.status.tolist() == [0, 0, 0, 0, 0, 1, 0]
    assert r.counts["overflows"] == 1
    assert r.t_ns.tolist() == [0]


def test_hold_and_a_fractional_period_by_hand(tmp_path_factory):
    """30 Hz: 10^9 / 30 = 33333333 + 1/3 ns, so t_k = t0 + floor(k * 10^9 / 30): 0, 33333333,
    66666666, 100000000 (exact integers; no float time). Hold: the last event at or before t."""
    assert grid_constants(30) == (33_333_333, 1, 3)
    assert grid_constants(12.5) == (80_000_000, 0, 1)
    assert grid_constants(33.3) == (30_030_030, 10, 333)
    run = _both("hold", 30, tmp_path_factory)
    events = [
        (A, 0, (1.0, 0.0, 0.0)),
        (G, 0, (0.0, 0.0, 0.0)),
        (A, 50 * MS, (2.0, 0.0, 0.0)),
        (A, 100 * MS, (3.0, 0.0, 0.0)),
        (G, 100 * MS, (0.0, 1.0, 0.0)),
    ]
    r = run(events)
    assert r.t_ns.tolist() == [0, 33_333_333, 66_666_666, 100_000_000]
    # acc held: 1 (t=0), 1 (33.3 ms < 50), 2 (66.7 ms), 3 (exact at 100)
    assert r.samples[:, 0].tolist() == [1.0, 1.0, 2.0, 3.0]


def test_int64_max_ends_the_grid_by_hand(linear):
    """Grid 20 ms apart from t0 = INT64_MAX - 30 ms: t0 and t0 + 20 ms fit, t0 + 40 ms does not;
    after the last representable grid time no sample is emitted until a reset."""
    t0 = INT64_MAX - 30 * MS
    r = linear(
        [
            (A, t0, (1.0, 0.0, 0.0)),
            (G, t0, (0.0, 0.0, 0.0)),
            (A, INT64_MAX, (4.0, 0.0, 0.0)),
            (G, INT64_MAX, (0.0, 3.0, 0.0)),
        ]
    )
    assert r.t_ns.tolist() == [t0, t0 + 20 * MS]
    # at t0 + 20 ms: w = 20e6 / 30e6 (the double nearest 2/3); x = 1 + w * 3
    w = 20e6 / 30e6
    assert r.samples[1, 0] == 1.0 + w * 3.0
