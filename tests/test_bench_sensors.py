"""bench/sensors.py runs (a short stream) and its C samples are the numpy resampler's."""

from __future__ import annotations

from bench.sensors import measure


def test_sensor_bench_runs_and_cross_checks():
    m = measure(seconds=5, repeats=1)
    assert m["identical_to_numpy"]
    assert m["events"] > 1400 and m["samples"] > 240
    assert m["adapter_ns_per_event"] > 0 and m["featuriser_ns_per_sample"] > 0
