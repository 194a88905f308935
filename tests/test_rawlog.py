"""Raw sensor logs in the CLI: featgen resample, featurize and train through the generated numpy
resampler; CSV (t_ns or t_s) and Parquet; located errors for malformed logs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codegen.build import generate
from featgen.cli import main
from featgen.rawlog import sensors_module
from featurespec import load_spec

SPEC = """\
spec: featgen/v1
name: rawlog
sample_rate_hz: 50
inputs: [acc_x, acc_y, acc_z, gyro_y]
signals:
  acc_mag: {magnitude: [acc_x, acc_y, acc_z]}
windows:
  w: {length: 10, hop: 2}
features:
  - {compute: [mean, std, max], of: [acc_x, acc_mag, gyro_y], over: w}
sensors:
  method: linear
  max_gap: 100ms
  sources:
    accelerometer:
      inputs: [acc_x, acc_y, acc_z]
      unit: m/s^2
      android: {unit: m/s^2}
      ios: {unit: g, axes: [-x, -y, -z]}
    gyroscope:
      inputs: [gyro_y]
      unit: rad/s
      android: {unit: rad/s, axes: [y]}
      ios: {unit: rad/s, axes: [y]}
"""


def events(seed: int = 0, seconds: float = 3.0):
    """An Android-style stream: accelerometer ~100 Hz, gyroscope ~200 Hz, jitter, a 150 ms hole
    (a reset), values that are whole multiples of 1/8 (exact in every unit used here)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, rate in ((0, 100), (1, 200)):
        t = (
            np.cumsum(
                np.round(1e9 / rate * (1 + 0.05 * rng.standard_normal(int(seconds * rate)))).astype(
                    np.int64
                )
            )
            + 10**12
        )
        if k == 0:
            t = t[(t < 10**12 + 10**9) | (t > 10**12 + 1150 * 10**6)]
        for ti in t:
            rows.append((int(ti), k, *(rng.integers(-80, 80, 3) / 8.0).tolist()))
    rows.sort(key=lambda r: r[0])
    return rows


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture()
def setup(tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(SPEC)
    spec = load_spec(spec_path)
    rows = events()
    names = ["accelerometer", "gyroscope"]
    android = write_csv(
        tmp_path / "walk_android.csv",
        ["t_ns", "sensor", "x", "y", "z"],
        [(t, names[k], repr(x), repr(y), repr(z)) for t, k, x, y, z in rows],
    )
    # the same motion as iOS reports it: seconds since boot (exact decimal text), g with every
    # accelerometer axis flipped (x / 9.80665 is rounded, so values agree to rounding only)
    ios_rows = []
    for t, k, x, y, z in rows:
        if k == 0:
            x, y, z = -x / 9.80665, -y / 9.80665, -z / 9.80665
        ios_rows.append(
            (f"{t // 10**9}.{t % 10**9:09d}", names[k], repr(x), repr(y), repr(z), "ios")
        )
    ios = write_csv(
        tmp_path / "walk_ios.csv", ["t_s", "sensor", "x", "y", "z", "platform"], ios_rows
    )
    return tmp_path, spec_path, spec, rows, android, ios


def test_resample_writes_the_numpy_adapters_samples(setup):
    tmp, spec_path, spec, rows, android, _ = setup
    out = tmp / "fixed.csv"
    result = CliRunner().invoke(
        main, ["resample", str(spec_path), str(android), "-o", str(out), "--platform", "android"]
    )
    assert result.exit_code == 0, result.output
    assert "2 segment(s)" in result.output and "jitter" in result.output
    module = sensors_module(spec, generate(spec))
    t = np.array([r[0] for r in rows], dtype=np.int64)
    r = module.resample(t, [r[1] for r in rows], np.array([r[2:] for r in rows]), "android")
    with open(out) as f:
        table = list(csv.reader(f))
    assert table[0] == ["t_ns", "segment", "acc_x", "acc_y", "acc_z", "gyro_y"]
    assert [int(row[0]) for row in table[1:]] == r.t_ns.tolist()
    got = np.array([[float(v) for v in row[2:]] for row in table[1:]])
    assert np.array_equal(got.view(np.int64), r.samples.view(np.int64))  # exact repr
    assert {row[1] for row in table[1:]} == {"0", "1"}


def test_featurize_raw_logs_per_segment(setup):
    tmp, spec_path, spec, rows, android, ios = setup
    out = tmp / "features.csv"
    result = CliRunner().invoke(
        main,
        [
            "featurize",
            str(spec_path),
            str(android),
            str(ios),
            "-o",
            str(out),
            "--platform",
            "android",
        ],
    )
    # the iOS log says platform ios: --platform android contradicts it
    assert result.exit_code == 2 and "platform column says ios" in result.output
    result = CliRunner().invoke(
        main, ["featurize", str(spec_path), str(android), "-o", str(out), "--platform", "android"]
    )
    assert result.exit_code == 0, result.output
    with open(out) as f:
        table = list(csv.reader(f))
    recordings = {row[0] for row in table[1:]}
    assert recordings == {"walk_android#0", "walk_android#1"}
    # the same as featurising each segment of the numpy resampler's output
    files = generate(spec)
    module = sensors_module(spec, files)
    from featgen.harness import load_numpy_module

    feats = load_numpy_module(files, spec.name)
    t = np.array([r[0] for r in rows], dtype=np.int64)
    r = module.resample(t, [r[1] for r in rows], np.array([r[2:] for r in rows]), "android")
    expected = np.concatenate([feats.featurize(s)[0] for _, s in module.segments(r)])
    got = np.array([[float(v) for v in row[2:]] for row in table[1:]])
    assert np.array_equal(got.view(np.int64), expected.view(np.int64))


def test_ios_log_in_seconds_and_g(setup):
    """t_s is read as a double, times 1e9, rounded (as the phone converts a TimeInterval); the
    platform column picks the iOS units and signs; the grid is the same as the Android log's
    and the values agree to rounding."""
    tmp, spec_path, spec, rows, android, ios = setup
    a, i = tmp / "a.csv", tmp / "i.csv"
    assert (
        CliRunner()
        .invoke(
            main, ["resample", str(spec_path), str(android), "-o", str(a), "--platform", "android"]
        )
        .exit_code
        == 0
    )
    result = CliRunner().invoke(main, ["resample", str(spec_path), str(ios), "-o", str(i)])
    assert result.exit_code == 0, result.output
    ta, ti = (np.loadtxt(p, delimiter=",", skiprows=1) for p in (a, i))
    assert np.array_equal(ta[:, 0], ti[:, 0])
    assert np.allclose(ta[:, 2:], ti[:, 2:], rtol=1e-14, atol=1e-14)


def test_parquet_log_is_the_same_as_csv(setup):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    tmp, spec_path, spec, rows, android, _ = setup
    table = pa.table(
        {
            "t_ns": [r[0] for r in rows],
            "sensor": [["accelerometer", "gyroscope"][r[1]] for r in rows],
            "x": [r[2] for r in rows],
            "y": [r[3] for r in rows],
            "z": [r[4] for r in rows],
        }
    )
    pq.write_table(table, tmp / "walk.parquet")
    outs = []
    for src in (android, tmp / "walk.parquet"):
        out = tmp / f"{src.suffix[1:]}.csv"
        result = CliRunner().invoke(
            main, ["resample", str(spec_path), str(src), "-o", str(out), "--platform", "android"]
        )
        assert result.exit_code == 0, result.output
        outs.append(out.read_text())
    assert outs[0] == outs[1]


@pytest.mark.parametrize(
    "row, message",
    [
        (
            ["1.5", "accelerometer", "0", "0", "0"],
            "t_ns '1.5' is not a whole number of nanoseconds",
        ),
        (["9223372036854775808", "accelerometer", "0", "0", "0"], "outside the int64"),
        (["5", "barometer", "0", "0", "0"], "unknown sensor 'barometer'"),
        (["5", "gyroscope", "0", "abc", "0"], "column 'y': 'abc' is not a number"),
        (["5", "gyroscope", "0"], "3 fields, the header has 5"),
    ],
)
def test_malformed_logs_are_located(setup, row, message):
    tmp, spec_path, *_ = setup
    log = write_csv(
        tmp / "bad.csv", ["t_ns", "sensor", "x", "y", "z"], [[1, "accelerometer", 0, 0, 0], row]
    )
    result = CliRunner().invoke(
        main,
        ["resample", str(spec_path), str(log), "-o", str(tmp / "o.csv"), "--platform", "android"],
    )
    assert result.exit_code == 2
    assert "bad.csv:3: " in result.output and message in result.output


def test_needs_a_platform_when_the_spec_has_two(setup):
    tmp, spec_path, _, _, android, _ = setup
    result = CliRunner().invoke(
        main, ["resample", str(spec_path), str(android), "-o", str(tmp / "o.csv")]
    )
    assert result.exit_code == 2 and "pass --platform" in result.output


def test_train_on_raw_logs(setup):
    """Labels per event become labels per fixed-rate sample (the latest event at or before it);
    each file is one group; segments are separate recordings."""
    tmp, spec_path, spec, rows, *_ = setup
    logs = []
    for subject in range(4):
        r = events(seed=subject + 1)
        label = [int((t // 10**8) % 2) for t, *_ in r]
        logs.append(
            write_csv(
                tmp / f"s{subject}.csv",
                ["t_ns", "sensor", "x", "y", "z", "label", "subject"],
                [(t, k, x, y, z, lab, f"p{subject}") for (t, k, x, y, z), lab in zip(r, label)],
            )
        )
    result = CliRunner().invoke(
        main,
        [
            "train",
            str(spec_path),
            *map(str, logs),
            "-o",
            str(tmp / "model"),
            "--platform",
            "android",
            "--rounds",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (tmp / "model" / "model.json").is_file()


def test_resample_refuses_to_overwrite_its_inputs_or_write_into_a_folder(setup):
    tmp, spec_path, _, _, android, _ = setup
    before = android.read_bytes()
    for target in (android, spec_path, tmp):
        result = CliRunner().invoke(
            main,
            ["resample", str(spec_path), str(android), "-o", str(target), "--platform", "android"],
        )
        assert result.exit_code == 2, result.output
    assert android.read_bytes() == before


def test_android_values_are_the_float32_the_phone_holds(setup):
    """SensorEvent.values is a float[]: a logged decimal is read as the nearest float32 (what the
    Kotlin listener widens with toDouble()), so the trained samples are the phone's. The same
    decimals read as doubles would give other samples; iOS values (doubles) stay as read."""
    tmp, spec_path, spec, rows, _, _ = setup
    rng = np.random.default_rng(3)
    names = ["accelerometer", "gyroscope"]
    decimals = [(t, k, *(rng.normal(0, 4, 3)).tolist()) for t, k, *_ in rows]
    log = write_csv(
        tmp / "floats.csv",
        ["t_ns", "sensor", "x", "y", "z"],
        [(t, names[k], repr(x), repr(y), repr(z)) for t, k, x, y, z in decimals],
    )
    out = tmp / "floats_fixed.csv"
    result = CliRunner().invoke(
        main, ["resample", str(spec_path), str(log), "-o", str(out), "--platform", "android"]
    )
    assert result.exit_code == 0, result.output
    got = np.array([[float(v) for v in row[2:]] for row in list(csv.reader(open(out)))[1:]])
    module = sensors_module(spec, generate(spec))
    t = np.array([d[0] for d in decimals], dtype=np.int64)
    ids = [d[1] for d in decimals]
    v = np.array([d[2:] for d in decimals])
    as_float = module.resample(t, ids, v.astype(np.float32).astype(np.float64), "android")
    as_double = module.resample(t, ids, v, "android")
    assert np.array_equal(got.view(np.int64), as_float.samples.view(np.int64))
    assert not np.array_equal(got, as_double.samples)
    from featgen.rawlog import as_delivered

    assert as_delivered(v, "ios") is v


def test_partitioned_and_cluster_paths_refuse_raw_logs_clearly(setup):
    """The Parquet-directory and --cluster paths read fixed-rate recordings only: a raw log is
    named and the paths that do read it are given, instead of a missing-columns error."""
    tmp, spec_path, _, _, android, _ = setup
    for args in (
        ["featurize", str(spec_path), str(android), "-o", str(tmp / "parts")],
        ["train", str(spec_path), str(tmp), "-o", str(tmp / "m"), "--cluster", "local:1"],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        assert "a raw sensor log" in result.output and "walk_android.csv" in result.output
        assert "featgen train without --cluster read raw logs" in result.output
    assert not (tmp / "parts").exists() and not (tmp / "m").exists()
