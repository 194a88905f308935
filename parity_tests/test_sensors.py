"""The sensor adapters: the generated C (cffi, and a stand-alone build under ASan + UBSan) against
the generated numpy resampler, bit for bit, on event streams with jitter, drops, duplicates,
out-of-order events, gaps longer than max_gap, full queues, two or three sensors at different
rates and 64-bit timestamp edge values; plus the properties the rule promises (docs/sensors.md).
The hand-computed oracle is tests/test_sensors_oracle.py."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import types
from pathlib import Path

import numpy as np
import pytest

from codegen.build import generate
from featgen import harness
from featurespec import load_spec_text

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
MS = 1_000_000

SPEC = """\
spec: featgen/v1
name: {name}
sample_rate_hz: {rate}
inputs: [acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z{extra_inputs}]
windows:
  short: {{length: 4, hop: 1}}
features:
  - {{compute: mean, of: acc_x, over: short}}
sensors:
  method: {method}
  max_gap: {max_gap}
  buffer: {buffer}
  sources:
    accelerometer:
      inputs: [acc_x, acc_y, acc_z]
      unit: m/s^2
      android: {{unit: m/s^2}}
      ios: {{unit: g, axes: [-x, -y, -z]}}
    gyroscope:
      inputs: [gyro_x, gyro_y, gyro_z]
      unit: rad/s
      android: {{unit: rad/s}}
      ios: {{unit: deg/s, axes: [y, x, -z]}}
{extra_sources}"""

MAGNETOMETER = """\
    magnetometer:
      inputs: [mag_x, mag_y]
      unit: uT
      android: {unit: uT}
      ios: {unit: nT, axes: [-y, x]}
"""

VARIANTS = {
    # name: (rate, method, max_gap, buffer, three sensors)
    "lin50": (50, "linear", "200ms", 256, False),
    "hold30": (30, "hold", "150ms", 16, False),  # period 33333333 + 1/3 ns; small queue
    "lin12_5": (12.5, "linear", "0.25s", 64, True),  # 80 ms period; three sensors
    "lin333": (33.3, "linear", "1s", 256, False),  # period 30030030 + 10/333 ns
}


def spec_text(name: str) -> str:
    rate, method, max_gap, buffer, three = VARIANTS[name]
    return SPEC.format(
        name=f"s_{name}",
        rate=rate,
        method=method,
        max_gap=max_gap,
        buffer=buffer,
        extra_inputs=", mag_x, mag_y" if three else "",
        extra_sources=MAGNETOMETER if three else "",
    )


DRIVER = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "NAME_sensors.h"

typedef struct { int64_t *t; double *x; signed char *first; long n, cap; } sink;

static void collect(void *ctx, int64_t t, const double *sample, int first)
{
    sink *k = (sink *)ctx;
    if (k->n < k->cap) {
        k->t[k->n] = t;
        memcpy(k->x + k->n * P_SENSORS_N_INPUTS, sample, sizeof(double) * P_SENSORS_N_INPUTS);
        k->first[k->n] = (signed char)first;
    }
    k->n++;
}

/* Pushes n events; returns the number of samples emitted (may exceed cap: then call again). */
long NAME_drive(int platform, long n, const int *ids, const int64_t *t, const double *v,
                signed char *status, int64_t *out_t, double *out_x, signed char *out_first,
                long cap, uint64_t *counts)
{
    static NAME_sensors s; /* large: not on the stack */
    sink k;
    long i;
    k.t = out_t; k.x = out_x; k.first = out_first; k.n = 0; k.cap = cap;
    if (NAME_sensors_init(&s, platform) != 0)
        return -1;
    for (i = 0; i < n; i++)
        status[i] = (signed char)NAME_sensor_push(&s, ids[i], t[i], v + 3 * i, collect, &k);
    counts[0] = s.accepted; counts[1] = s.duplicates; counts[2] = s.out_of_order;
    counts[3] = s.nonfinite; counts[4] = s.stale; counts[5] = s.resets; counts[6] = s.overflows;
    counts[7] = s.emitted;
    return k.n;
}

#ifdef SENSORS_MAIN
/* stand-alone: argv[1] = events (int32 platform, int64 n, int32 ids[n], int64 t[n],
   double v[3n]); argv[2] = output (int8 status[n], int64 m, int64 t[m], int8 first[m],
   double x[m * inputs], uint64 counts[8]) */
static void *slurp(FILE *f, size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p || fread(p, 1, size, f) != size) { fprintf(stderr, "short read\n"); exit(2); }
    return p;
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    int platform;
    int64_t n64;
    long n, m, cap;
    int *ids; int64_t *t; double *v; signed char *status;
    int64_t *ot; double *ox; signed char *of; uint64_t counts[8];
    if (argc != 3 || !(in = fopen(argv[1], "rb"))) return 2;
    if (fread(&platform, 4, 1, in) != 1 || fread(&n64, 8, 1, in) != 1) return 2;
    n = (long)n64;
    ids = slurp(in, 4 * (size_t)n); t = slurp(in, 8 * (size_t)n); v = slurp(in, 24 * (size_t)n);
    fclose(in);
    status = malloc((size_t)n + 1);
    cap = 4 * n + 16;
    ot = malloc(8 * (size_t)cap); of = malloc((size_t)cap);
    ox = malloc(8 * (size_t)cap * P_SENSORS_N_INPUTS);
    m = NAME_drive(platform, n, ids, t, v, status, ot, ox, of, cap, counts);
    if (m < 0 || m > cap) return 3;
    if (!(out = fopen(argv[2], "wb"))) return 2;
    n64 = m;
    fwrite(status, 1, (size_t)n, out);
    fwrite(&n64, 8, 1, out);
    fwrite(ot, 8, (size_t)m, out);
    fwrite(of, 1, (size_t)m, out);
    fwrite(ox, 8, (size_t)m * P_SENSORS_N_INPUTS, out);
    fwrite(counts, 8, 8, out);
    fclose(out);
    free(ids); free(t); free(v); free(status); free(ot); free(ox); free(of);
    return 0;
}
#endif
"""

COUNT_KEYS = (
    "accepted",
    "duplicates",
    "out_of_order",
    "nonfinite",
    "stale",
    "resets",
    "overflows",
    "emitted",
)


def driver_source(name: str) -> str:
    return DRIVER.replace("NAME", name).replace("P_SENSORS", f"{name.upper()}_SENSORS")


class Built:
    """One variant: its spec, generated files, numpy resampler and C adapter (cffi)."""

    def __init__(self, text: str, variant: str, workdir: Path):
        self.spec = load_spec_text(text, f"{variant}.yaml")
        self.name = self.spec.name
        self.files = generate(self.spec)
        module = types.ModuleType(f"sensors_{variant}")
        exec(
            compile(self.files[f"python/{self.name}_sensors.py"], "<sensors>", "exec"),
            module.__dict__,
        )
        self.np = module
        self.workdir = workdir
        c_dir = workdir / "c"
        c_dir.mkdir(parents=True, exist_ok=True)
        for rel, text in self.files.items():
            if rel.startswith("c/") and "sensors" in rel:
                (workdir / rel).write_text(text)
        (c_dir / "driver.c").write_text(driver_source(self.name))
        self.c_dir = c_dir
        header = self.files[f"c/{self.name}_sensors.h"]
        key = hashlib.sha256(
            (header + self.files[f"c/{self.name}_sensors.c"] + DRIVER).encode()
        ).hexdigest()[:16]
        lib = harness.CACHE / f"{self.name}-sensors-{key}.so"
        if not lib.exists():
            lib.parent.mkdir(parents=True, exist_ok=True)
            tmp = lib.with_suffix(f".{os.getpid()}.tmp")
            self._compile(
                ["gcc", *harness.C_FLAGS, "-Wconversion", "-Wshadow", "-fPIC", "-shared"], tmp
            )
            os.replace(tmp, lib)
        import cffi

        self.ffi = cffi.FFI()
        self.ffi.cdef(
            harness.cdef_from_header(header)
            + f"""
            long {self.name}_drive(int platform, long n, const int *ids, const int64_t *t,
                const double *v, signed char *status, int64_t *out_t, double *out_x,
                signed char *out_first, long cap, uint64_t *counts);"""
        )
        self.lib = harness.open_library(self.ffi, lib)
        self.n_inputs = getattr(self.lib, f"{self.name.upper()}_SENSORS_N_INPUTS")
        assert self.n_inputs == len(self.spec.inputs)

    def _compile(self, flags: list[str], out: Path) -> None:
        cmd = [
            *flags,
            "-I",
            str(self.c_dir),
            str(self.c_dir / f"{self.name}_sensors.c"),
            str(self.c_dir / "driver.c"),
            "-o",
            str(out),
            "-lm",
        ]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"

    def c(self, platform: int, ids, t, v):
        n = len(t)
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        t = np.ascontiguousarray(t, dtype=np.int64)
        v = np.ascontiguousarray(v, dtype=np.float64).reshape(n, 3)
        cap = 4 * n + 16
        status = np.zeros(n, dtype=np.int8)
        out_t = np.zeros(cap, dtype=np.int64)
        out_x = np.zeros((cap, self.n_inputs))
        out_first = np.zeros(cap, dtype=np.int8)
        counts = np.zeros(8, dtype=np.uint64)
        p = lambda a, ty: self.ffi.cast(ty, a.ctypes.data)  # noqa: E731
        m = getattr(self.lib, f"{self.name}_drive")(
            platform,
            n,
            p(ids, "int *"),
            p(t, "int64_t *"),
            p(v, "double *"),
            p(status, "signed char *"),
            p(out_t, "int64_t *"),
            p(out_x, "double *"),
            p(out_first, "signed char *"),
            cap,
            p(counts, "uint64_t *"),
        )
        assert 0 <= m <= cap
        return (
            out_t[:m].copy(),
            out_x[:m].copy(),
            out_first[:m].astype(bool),
            status,
            dict(zip(COUNT_KEYS, map(int, counts))),
        )


def assert_same(numpy_result, c_result, label: str) -> None:
    t, x, first, status, counts = c_result
    r = numpy_result
    assert np.array_equal(r.status, status), (
        f"{label}: statuses differ first at event {np.flatnonzero(r.status != status)[:1]}"
    )
    assert r.counts == counts, label
    assert np.array_equal(r.t_ns, t), f"{label}: grid times differ"
    assert np.array_equal(r.segment_start, first), f"{label}: segment starts differ"
    same = harness.same_bits(r.samples, x)
    assert same.all(), (
        f"{label}: {int((~same).sum())} values differ; first at {np.argwhere(~same)[0]}"
    )


# ---------------------------------------------------------------- streams


def sensor_times(
    rng, start: int, rate_hz: float, seconds: float, jitter: float = 0.03, drop: float = 0.0
) -> np.ndarray:
    """Event times of one sensor: nominal period with relative jitter, some events dropped."""
    period = 1e9 / rate_hz
    n = int(seconds * rate_hz)
    steps = np.maximum(1, np.round(period * (1 + jitter * rng.standard_normal(n)))).astype(np.int64)
    times = start + np.cumsum(steps) - steps[0]
    keep = rng.random(n) >= drop
    return times[keep]


def deliver(rng, per_sensor: list[tuple[np.ndarray, np.ndarray]], batch_ms: float = 0.0):
    """Merge per-sensor (times, values) into one arrival order: by time, each event delayed by a
    random delivery latency of up to batch_ms (batching shifts whole runs of one sensor)."""
    ids, times, values, keys = [], [], [], []
    for k, (t, v) in enumerate(per_sensor):
        ids.append(np.full(len(t), k))
        times.append(t)
        values.append(v)
        # one latency per run of 8 events: runs of one sensor arrive together
        run_delay = rng.random(len(t) // 8 + 1) * batch_ms * MS
        # (each sensor's own order is kept: the platforms deliver a sensor's events in order)
        keys.append(np.maximum.accumulate(t.astype(np.float64) + np.repeat(run_delay, 8)[: len(t)]))
    order = np.argsort(np.concatenate(keys), kind="stable")
    return (np.concatenate(ids)[order], np.concatenate(times)[order], np.concatenate(values)[order])


def messy_stream(seed: int, start: int, three: bool = False, seconds: float = 6.0):
    """Accelerometer ~100 Hz, gyroscope ~200 Hz (and magnetometer ~50 Hz): jitter, drops,
    duplicates, out-of-order events, non-finite values, a 300 ms hole and batched delivery."""
    rng = np.random.default_rng(seed)
    rates = [100, 200] + ([50] if three else [])
    per = []
    for k, rate in enumerate(rates):
        t = sensor_times(
            rng,
            start + int(rng.integers(0, 7 * MS)),
            rate,
            seconds,
            jitter=0.03 + 0.1 * (k == 1),
            drop=0.05,
        )
        if k == 0:  # a hole longer than every variant's max_gap
            t = np.concatenate([t[t < start + 2000 * MS], t[t > start + 3300 * MS]])
        v = rng.standard_normal((len(t), 3)) * [2.0, 3.0, 9.8]
        per.append((t, v))
    ids, t, v = deliver(rng, per, batch_ms=30)
    n = len(t)
    # duplicates (same time, other values), stale resends, out-of-order swaps, NaN/inf
    dup = rng.choice(n - 1, n // 50, replace=False)
    ins_ids, ins_t, ins_v, at = ids[dup], t[dup], rng.standard_normal((len(dup), 3)), dup + 1
    late = rng.choice(n - 40, n // 80, replace=False)
    at = np.concatenate([at, late + 30])
    ins_ids = np.concatenate([ins_ids, ids[late]])
    ins_t = np.concatenate([ins_t, t[late]])
    ins_v = np.concatenate([ins_v, v[late]])
    ids = np.insert(ids, at, ins_ids)
    t = np.insert(t, at, ins_t)
    v = np.insert(v, at, ins_v, axis=0)
    bad = rng.choice(len(t), 5, replace=False)
    v[bad, rng.integers(0, 3, 5)] = [np.nan, np.inf, -np.inf, np.nan, np.nan]
    return ids, t, v


def edge_streams(three: bool):
    """64-bit timestamp edges: near INT64_MAX (the grid runs out), negative times through zero,
    near INT64_MIN, a jump across the whole int64 range, a sensor that goes quiet (full queue),
    and an unknown sensor id."""
    k = 3 if three else 2
    out = {}
    rng = np.random.default_rng(99)

    def regular(start, seconds, rates=(100, 200, 50)):
        per = [
            (sensor_times(rng, start + j * 1_234_567, rates[j], seconds, jitter=0.02),)
            for j in range(k)
        ]
        return [(t, rng.standard_normal((len(t), 3))) for (t,) in per]

    # every sensor's last event at INT64_MAX - j: the grid runs to its last representable time
    near = [
        (np.append(t, INT64_MAX - j), np.vstack([v, [1.0, 2.0, 3.0]]))
        for j, (t, v) in enumerate(regular(INT64_MAX - 2 * 10**9, 1.99))
    ]
    out["near_max"] = deliver(rng, near)
    out["through_zero"] = deliver(rng, regular(-1_500_000_000, 3.0))
    out["near_min"] = deliver(rng, regular(INT64_MIN + 5, 1.0))
    a = deliver(rng, regular(-(2**62), 0.5))
    b = deliver(rng, regular(2**62, 0.5))
    out["jump"] = tuple(np.concatenate([x, y]) for x, y in zip(a, b))
    quiet = regular(0, 3.0)
    t0, v0 = quiet[0]
    quiet[0] = (t0[(t0 < 1000 * MS) | (t0 > 1100 * MS)], v0[(t0 < 1000 * MS) | (t0 > 1100 * MS)])
    quiet[1] = (quiet[1][0], quiet[1][1])
    out["quiet_accel"] = deliver(rng, quiet, batch_ms=200)
    ids, t, v = deliver(rng, regular(10**9, 0.5))
    ids = ids.copy()
    ids[[3, 50]] = [k, -1]
    out["bad_id"] = (ids, t, v)
    return out


@pytest.fixture(scope="module", params=list(VARIANTS))
def built(request, tmp_path_factory):
    return Built(spec_text(request.param), request.param, tmp_path_factory.mktemp(request.param))


@pytest.mark.parametrize("platform", [0, 1], ids=["android", "ios"])
def test_messy_streams_bit_identical(built, platform):
    three = len(built.spec.sensors.sources) == 3
    total = 0
    for seed, start in ((1, 0), (2, 10**12), (3, -7 * 10**9)):
        ids, t, v = messy_stream(seed, start, three)
        r = built.np.resample(t, ids, v, built.np.PLATFORMS[platform])
        assert_same(r, built.c(platform, ids, t, v), f"seed {seed}")
        total += len(r.t_ns)
        # the stream exercises what it claims to
        c = r.counts
        assert c["duplicates"] and c["out_of_order"] and c["nonfinite"] == 5 and c["resets"] >= 1
    assert total > 3 * 6 * built.spec.sample_rate_hz * 0.6  # most of 3 x 6 s


@pytest.mark.parametrize(
    "case", ["near_max", "through_zero", "near_min", "jump", "quiet_accel", "bad_id"]
)
def test_timestamp_edges_bit_identical(built, case):
    three = len(built.spec.sensors.sources) == 3
    ids, t, v = edge_streams(three)[case]
    r = built.np.resample(t, ids, v, 1)
    assert_same(r, built.c(1, ids, t, v), case)
    if case == "near_max":  # emitted up to the last grid time that fits in int64
        # the last sensor's last event is at INT64_MAX - (sensors - 1): the grid reaches the
        # last time of its period before that
        last = INT64_MAX - (len(built.spec.sensors.sources) - 1)
        assert last - built.np.PERIOD_NS - 1 < r.t_ns[-1] <= last
    if case == "through_zero":
        assert r.t_ns[0] < 0 < r.t_ns[-1] and len(r.t_ns) > 2
    if case == "jump":
        assert r.counts["resets"] >= 1 and r.segment_start.sum() == 2
    if case == "bad_id":
        assert (r.status == built.np.BAD_ID).sum() == 2


def write_driver_input(path: Path, platform: int, ids, t, v) -> None:
    """The stand-alone drivers' input: int32 platform, int64 n, int32 ids, int64 t, 3n doubles."""
    path.write_bytes(
        np.int32(platform).tobytes()
        + np.int64(len(t)).tobytes()
        + np.asarray(ids, "<i4").tobytes()
        + np.asarray(t, "<i8").tobytes()
        + np.ascontiguousarray(v, "<f8").tobytes()
    )


def read_driver_output(raw: bytes, n: int, n_inputs: int):
    """int8 status[n], int64 m, int64 t[m], int8 first[m], float64 x[m][inputs], uint64[8]."""
    status = np.frombuffer(raw[:n], np.int8)
    m = int(np.frombuffer(raw[n : n + 8], "<i8")[0])
    pos = n + 8
    ot = np.frombuffer(raw[pos : pos + 8 * m], "<i8")
    pos += 8 * m
    of = np.frombuffer(raw[pos : pos + m], np.int8).astype(bool)
    pos += m
    ox = np.frombuffer(raw[pos : pos + 8 * m * n_inputs], "<f8").reshape(m, n_inputs)
    assert len(raw) == pos + 8 * m * n_inputs + 64
    counts = dict(zip(COUNT_KEYS, map(int, np.frombuffer(raw[-64:], "<u8"))))
    return ot, ox, of, status, counts


def test_asan_ubsan_build_is_clean_and_identical(built, tmp_path):
    """The adapter and a driver built with clang-14 -fsanitize=address,undefined run the messy
    and edge streams; same bits as numpy."""
    clang = shutil.which("clang-14") or shutil.which("clang")
    if clang is None:
        if os.environ.get("CI") == "true":
            pytest.fail("clang not installed: the sanitizer check did NOT run")
        pytest.skip("clang not installed: the sanitizer check did NOT run")
    exe = tmp_path / "drive"
    built._compile(
        [
            clang,
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-fno-omit-frame-pointer",
            "-g",
            "-O1",
            "-std=c99",
            "-ffp-contract=off",
            "-DSENSORS_MAIN",
        ],
        exe,
    )
    three = len(built.spec.sensors.sources) == 3
    streams = dict(edge_streams(three), messy=messy_stream(7, 123, three, seconds=3))
    for label, (ids, t, v) in streams.items():
        n = len(t)
        src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
        write_driver_input(src, 1, ids, t, v)
        run = subprocess.run([str(exe), str(src), str(dst)], capture_output=True, text=True)
        assert run.returncode == 0, f"{label}: {run.stderr[-3000:]}"
        got = read_driver_output(dst.read_bytes(), n, built.n_inputs)
        assert_same(built.np.resample(t, ids, v, 1), got, label)


def test_interleaving_does_not_change_the_samples(built):
    """Without resets, the samples depend only on each sensor's own events: any cross-sensor
    arrival order (batching) gives the same output, in numpy and in C."""
    three = len(built.spec.sensors.sources) == 3
    rng = np.random.default_rng(5)
    rates = (100, 200, 50)[: 3 if three else 2]
    per = [
        (t, rng.standard_normal((len(t), 3)))
        for t in (
            sensor_times(rng, 10**9 + j * 777, r, 2.0, jitter=0.03) for j, r in enumerate(rates)
        )
    ]
    reference = None
    # batches whose run-ahead (200 Hz gyroscope) fits the queue: no overflow, so no reset
    for batch in [b for b in (0, 10, 40, 90) if b * 0.2 + 10 < built.spec.sensors.buffer]:
        ids, t, v = deliver(np.random.default_rng(batch), per, batch_ms=batch)
        r = built.np.resample(t, ids, v, 0)
        assert r.counts["resets"] == 0 and r.counts["overflows"] == 0
        assert_same(r, built.c(0, ids, t, v), f"batch {batch}")
        if reference is None:
            reference = r
        else:
            assert np.array_equal(r.t_ns, reference.t_ns)
            assert harness.same_bits(r.samples, reference.samples).all()


def test_platforms_agree_on_the_same_motion(built):
    """An Android log (m/s^2, rad/s) and the iOS log of the same motion (g with every axis
    flipped, deg/s with axes swapped): after the adapters, the samples differ only by the
    rounding of the unit conversions, and exactly where the conversion is exact."""
    rng = np.random.default_rng(11)
    rates = (100, 200, 50)[: len(built.spec.sensors.sources)]
    per = [
        (t, rng.integers(-8, 9, (len(t), 3)).astype(np.float64))
        for t in (sensor_times(rng, 0, r, 1.0) for r in rates)
    ]
    ids, t, v = deliver(rng, per)
    android = built.np.resample(t, ids, v, "android")
    g = built.spec.sensors.gravity
    ios_v = v.copy()
    acc, gyro = ids == 0, ids == 1
    ios_v[acc] = -v[acc] / g
    ios_v[gyro] = v[gyro][:, [1, 0, 2]] * [1, 1, -1] * (180 / np.pi)
    if len(rates) == 3:
        mag = ids == 2
        ios_v[mag] = np.stack([v[mag][:, 1] * 1000, -v[mag][:, 0] * 1000, v[mag][:, 2]], axis=1)
    ios = built.np.resample(t, ids, ios_v, "ios")
    assert np.array_equal(android.t_ns, ios.t_ns)
    assert np.allclose(android.samples, ios.samples, rtol=1e-12, atol=1e-12)


def test_negative_control_another_interpolation_is_caught(tmp_path):
    """The comparison can fail: a numpy resampler that interpolates as (1 - w) * va + w * vb
    (the same number mathematically) differs from the C adapter in many values."""
    built = Built(spec_text("lin50"), "lin50", tmp_path)
    source = built.files[f"python/{built.name}_sensors.py"]
    from codegen.sensors import NP_NAMES, VALUE, numpy_expr

    line = numpy_expr(VALUE["linear"], NP_NAMES)
    assert source.count(line) == 1
    w = "((t - ta).astype(np.float64) / (tb - ta).astype(np.float64))"
    other = source.replace(line, f"((((1.0 - {w}) * va) + ({w} * vb)) * f)")
    module = types.ModuleType("other")
    exec(compile(other, "<other>", "exec"), module.__dict__)
    ids, t, v = messy_stream(1, 0)
    r = module.resample(t, ids, v, "android")
    c = built.c(0, ids, t, v)
    assert np.array_equal(r.t_ns, c[0])
    differing = int((~harness.same_bits(r.samples, c[1])).sum())
    assert differing > 100
    with pytest.raises(AssertionError, match="values differ"):
        assert_same(r, c, "other interpolation")


# ---------------------------------------------------------------- Swift (the iOS package)

CORE_MOTION_STUB = """\
// The declarations of Apple's Core Motion that the generated conveniences use, as documented
// (CMLogItem.timestamp: TimeInterval; CMAccelerometerData.acceleration: CMAcceleration in g;
// CMGyroData.rotationRate: CMRotationRate in rad/s; CMMagnetometerData.magneticField:
// CMMagneticField in microtesla): Linux has no Core Motion, so the code is type-checked here.
public typealias TimeInterval = Double
open class CMLogItem { open var timestamp: TimeInterval { return 0 } }
public struct CMAcceleration { public var x: Double; public var y: Double; public var z: Double }
public struct CMRotationRate { public var x: Double; public var y: Double; public var z: Double }
public struct CMMagneticField { public var x: Double; public var y: Double; public var z: Double }
open class CMAccelerometerData: CMLogItem {
    open var acceleration: CMAcceleration { return CMAcceleration(x: 0, y: 0, z: 0) }
}
open class CMGyroData: CMLogItem {
    open var rotationRate: CMRotationRate { return CMRotationRate(x: 0, y: 0, z: 0) }
}
open class CMMagnetometerData: CMLogItem {
    open var magneticField: CMMagneticField { return CMMagneticField(x: 0, y: 0, z: 0) }
}
public enum CMMagneticFieldCalibrationAccuracy: Int32 {
    case uncalibrated = -1, low, medium, high
}
public struct CMCalibratedMagneticField {
    public var field: CMMagneticField; public var accuracy: CMMagneticFieldCalibrationAccuracy
}
open class CMDeviceMotion: CMLogItem {
    open var gravity: CMAcceleration { return CMAcceleration(x: 0, y: 0, z: 0) }
    open var userAcceleration: CMAcceleration { return CMAcceleration(x: 0, y: 0, z: 0) }
    open var rotationRate: CMRotationRate { return CMRotationRate(x: 0, y: 0, z: 0) }
    open var magneticField: CMCalibratedMagneticField {
        return CMCalibratedMagneticField(field: CMMagneticField(x: 0, y: 0, z: 0),
                                         accuracy: .uncalibrated)
    }
}
"""

# The same declarations with values, to run the device-motion convenience on Linux: a
# CMDeviceMotion whose fields the driver sets (Core Motion's own objects are read-only).
CORE_MOTION_RUNNABLE = """\
public typealias TimeInterval = Double
open class CMLogItem {
    let t: TimeInterval
    public init(timestamp: TimeInterval) { t = timestamp }
    open var timestamp: TimeInterval { return t }
}
public struct CMAcceleration {
    public var x: Double; public var y: Double; public var z: Double
    public init(x: Double, y: Double, z: Double) { self.x = x; self.y = y; self.z = z }
}
public struct CMRotationRate {
    public var x: Double; public var y: Double; public var z: Double
    public init(x: Double, y: Double, z: Double) { self.x = x; self.y = y; self.z = z }
}
open class CMDeviceMotion: CMLogItem {
    let g: CMAcceleration; let u: CMAcceleration; let r: CMRotationRate
    public init(timestamp: TimeInterval, gravity: CMAcceleration, userAcceleration: CMAcceleration,
                rotationRate: CMRotationRate) {
        g = gravity; u = userAcceleration; r = rotationRate
        super.init(timestamp: timestamp)
    }
    open var gravity: CMAcceleration { return g }
    open var userAcceleration: CMAcceleration { return u }
    open var rotationRate: CMRotationRate { return r }
}
open class CMAccelerometerData: CMLogItem {
    open var acceleration: CMAcceleration { return CMAcceleration(x: 0, y: 0, z: 0) }
}
open class CMGyroData: CMLogItem {
    open var rotationRate: CMRotationRate { return CMRotationRate(x: 0, y: 0, z: 0) }
}
"""


class SwiftBuilt:
    """The generated Swift adapter and its harness shim, built with swiftc -O, through cffi."""

    def __init__(self, built: Built, swiftc: str):
        from codegen.backends.swift import upper_camel

        self.built = built
        type_name = upper_camel(built.name) + "Sensors"
        package = upper_camel(built.name) + "Features"
        self.source = built.files[f"ios/Sources/{package}/{type_name}.swift"]
        sources = {
            f"{type_name}.swift": self.source,
            f"{type_name}Shim.swift": built.files[f"swift_shim/{type_name}Shim.swift"],
        }
        library = harness.build_swift_library(sources, f"{type_name}Shim", built.workdir, swiftc)
        import cffi

        self.ffi = cffi.FFI()
        self.ffi.cdef(f"""
            long {built.name}_swift_sensors_drive(int platform, long n, const int *ids,
                const int64_t *t, const double *v, signed char *status, int64_t *out_t,
                double *out_x, signed char *out_first, long cap, uint64_t *counts);
            int64_t {built.name}_swift_sensors_nanoseconds(double seconds);""")
        self.lib = harness.open_library(self.ffi, library)

    def run(self, platform: int, ids, t, v):
        b = self.built
        n = len(t)
        ids = np.ascontiguousarray(ids, dtype=np.int32)
        t = np.ascontiguousarray(t, dtype=np.int64)
        v = np.ascontiguousarray(v, dtype=np.float64).reshape(n, 3)
        cap = 4 * n + 16
        status = np.zeros(n, dtype=np.int8)
        out_t = np.zeros(cap, dtype=np.int64)
        out_x = np.zeros((cap, b.n_inputs))
        out_first = np.zeros(cap, dtype=np.int8)
        counts = np.zeros(8, dtype=np.uint64)
        p = lambda a, ty: self.ffi.cast(ty, a.ctypes.data)  # noqa: E731
        m = getattr(self.lib, f"{b.name}_swift_sensors_drive")(
            platform,
            n,
            p(ids, "int *"),
            p(t, "int64_t *"),
            p(v, "double *"),
            p(status, "signed char *"),
            p(out_t, "int64_t *"),
            p(out_x, "double *"),
            p(out_first, "signed char *"),
            cap,
            p(counts, "uint64_t *"),
        )
        assert 0 <= m <= cap
        return (
            out_t[:m].copy(),
            out_x[:m].copy(),
            out_first[:m].astype(bool),
            status,
            dict(zip(COUNT_KEYS, map(int, counts))),
        )


def test_swift_adapter_bit_identical(built):
    """The Swift adapter (swiftc -O -wmo) on the messy and edge streams, both platforms: the
    same samples, statuses and counters as numpy (and so as C)."""
    from parity_tests.conftest import require_swiftc

    swift = SwiftBuilt(built, require_swiftc())
    three = len(built.spec.sensors.sources) == 3
    streams = dict(edge_streams(three), messy=messy_stream(4, -3 * 10**9, three, seconds=4))
    for platform in (0, 1):
        for label, (ids, t, v) in streams.items():
            r = built.np.resample(t, ids, v, platform)
            assert_same(r, swift.run(platform, ids, t, v), f"Swift {label} platform {platform}")
    # a TimeInterval -> ns exactly as the raw-log reader converts t_s
    from featgen.rawlog import _time_ns

    convert = getattr(swift.lib, f"{built.name}_swift_sensors_nanoseconds")
    for text in (
        "0",
        "0.3",
        "1234.567890123",
        "86399.999999999",
        "-2.5e-10",
        "9.2e9",
        "3.0000000005",
        "0.0000000005",
        "0.0000000015",
    ):
        assert convert(float(text)) == _time_ns(text, "t_s", "here"), text


def test_swift_core_motion_conveniences_type_check(built, tmp_path):
    """Under canImport(CoreMotion): push(CMAccelerometerData / CMGyroData / ...) type-checks
    against Core Motion's documented declarations (a stub module: no Core Motion on Linux)."""
    from parity_tests.conftest import require_swiftc

    swiftc = require_swiftc()
    stub = tmp_path / "CoreMotion.swift"
    stub.write_text(CORE_MOTION_STUB)
    module = subprocess.run(
        [
            swiftc,
            "-parse-as-library",
            "-emit-module",
            "-module-name",
            "CoreMotion",
            "-emit-module-path",
            str(tmp_path / "CoreMotion.swiftmodule"),
            str(stub),
        ],
        capture_output=True,
        text=True,
    )
    assert module.returncode == 0, module.stderr
    from codegen.backends.swift import upper_camel

    source = built.files[
        f"ios/Sources/{upper_camel(built.name)}Features/{upper_camel(built.name)}Sensors.swift"
    ]
    assert "#if canImport(CoreMotion)" in source and "CMAccelerometerData" in source
    src = tmp_path / "Sensors.swift"
    src.write_text(source)
    check = subprocess.run(
        [
            swiftc,
            "-typecheck",
            "-parse-as-library",
            "-warnings-as-errors",
            "-I",
            str(tmp_path),
            str(src),
        ],
        capture_output=True,
        text=True,
    )
    assert check.returncode == 0, check.stderr
    # and it is really compiled in: a wrong field name fails
    src.write_text(source.replace(".acceleration.x", ".acceleration.w"))
    broken = subprocess.run(
        [swiftc, "-typecheck", "-parse-as-library", "-I", str(tmp_path), str(src)],
        capture_output=True,
        text=True,
    )
    assert broken.returncode != 0 and "w" in broken.stderr


DEVICE_MOTION_DRIVER = """\
import CoreMotion
// (timestamp s, gravity xyz, userAcceleration xyz, rotationRate xyz) per sample, as bit patterns
let raw: [UInt64] = [RAW]
var adapter = NAMESensors(platform: .ios)
var line = ""
for i in stride(from: 0, to: raw.count, by: 10) {
    let d = (0..<10).map { Double(bitPattern: raw[i + $0]) }
    let motion = CMDeviceMotion(timestamp: d[0],
                                gravity: CMAcceleration(x: d[1], y: d[2], z: d[3]),
                                userAcceleration: CMAcceleration(x: d[4], y: d[5], z: d[6]),
                                rotationRate: CMRotationRate(x: d[7], y: d[8], z: d[9]))
    let status = adapter.push(motion) { t, sample, first in
        line = "S \\(t) \\(first ? 1 : 0)"
        for x in sample { line += " " + String(x.bitPattern, radix: 16) }
        print(line)
    }
    print("P \\(status.accelerometer.rawValue) \\(status.gyroscope.rawValue)")
}
"""


def test_swift_device_motion_convenience_runs_bit_identical(tmp_path):
    """push(CMDeviceMotion) compiled and run on Linux against a runnable stub of Core Motion's
    documented declarations: it feeds gravity + userAcceleration (one double addition) and
    rotationRate at the sample's timestamp, and its samples equal numpy's resampler
    on the same sums, bit for bit (jittered 100 Hz device motion, a dropped stretch)."""
    from codegen.backends.swift import upper_camel
    from parity_tests.conftest import require_swiftc

    swiftc = require_swiftc()
    b = Built(spec_text("lin50"), "lin50", tmp_path / "built")
    type_name = upper_camel(b.name) + "Sensors"
    source = b.files[f"ios/Sources/{upper_camel(b.name)}Features/{type_name}.swift"]
    assert "push(_ motion: CMDeviceMotion" in source
    rng = np.random.default_rng(5)
    t_ns = sensor_times(rng, 7_123_456_789, 100, 3.0, jitter=0.05)
    t_ns = t_ns[(t_ns < 7_123_456_789 + 1200 * MS) | (t_ns > 7_123_456_789 + 1500 * MS)]
    t_s = t_ns / 1e9
    gravity = rng.normal(0, 0.6, (len(t_s), 3))
    user = rng.normal(0, 0.3, (len(t_s), 3))
    rate = rng.normal(0, 2.0, (len(t_s), 3))
    values = np.concatenate([t_s[:, None], gravity, user, rate], axis=1)
    raw = ", ".join(f"0x{u:016x}" for u in values.view(np.uint64).ravel().tolist())
    (tmp_path / "CoreMotion.swift").write_text(CORE_MOTION_RUNNABLE)
    (tmp_path / f"{type_name}.swift").write_text(source)
    (tmp_path / "main.swift").write_text(
        DEVICE_MOTION_DRIVER.replace("RAW", raw).replace("NAMESensors", type_name)
    )
    steps = [
        [
            swiftc,
            "-parse-as-library",
            "-emit-library",
            "-emit-module",
            "-module-name",
            "CoreMotion",
            "CoreMotion.swift",
            "-o",
            "libCoreMotion.so",
        ],
        [
            swiftc,
            "-O",
            "-I",
            ".",
            "-L",
            ".",
            "-lCoreMotion",
            f"{type_name}.swift",
            "main.swift",
            "-lm",
            "-o",
            "drive",
        ],
    ]
    for cmd in steps:
        result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, f"{' '.join(cmd)}\n{result.stderr}"
    run = subprocess.run(
        ["./drive"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "LD_LIBRARY_PATH": str(tmp_path)},
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    pushes = [list(map(int, ln.split()[1:])) for ln in lines if ln.startswith("P ")]
    samples = [ln.split()[1:] for ln in lines if ln.startswith("S ")]
    # the reference: each device motion as an accelerometer event (the sum) then a gyroscope
    # event, at the timestamp converted as the raw-log reader converts t_s
    from featgen.rawlog import _time_ns

    t_event = np.array([_time_ns(repr(float(t)), "t_s", "here") for t in t_s], dtype=np.int64)
    assert np.array_equal(t_event, t_ns)
    ids = np.tile([0, 1], len(t_s))
    t = np.repeat(t_event, 2)
    v = np.empty((2 * len(t_s), 3))
    v[0::2] = gravity + user
    v[1::2] = rate
    r = b.np.resample(t, ids, v, "ios")
    assert len(pushes) == len(t_s)
    assert [code for pair in pushes for code in pair] == r.status.tolist()
    assert len(samples) == len(r.t_ns) > 100
    assert [int(s[0]) for s in samples] == r.t_ns.tolist()
    assert [s[1] == "1" for s in samples] == r.segment_start.tolist()
    got = np.array([[int(h, 16) for h in s[2:]] for s in samples], dtype=np.uint64)
    assert np.array_equal(got, r.samples.view(np.uint64)), "device-motion samples differ"
    # and the sum is what matters: the accelerometer as gravity alone gives other samples
    v[0::2] = gravity
    assert not np.array_equal(b.np.resample(t, ids, v, "ios").samples, r.samples)


def test_swift_adapter_is_strict_swift6_clean(built, tmp_path):
    """Warning-free in Swift 6 mode with complete concurrency checking and in Swift 5 mode, no
    slow-to-type-check expression, no fused multiply-add spelled out."""
    from codegen.backends.swift import upper_camel
    from parity_tests.conftest import require_swiftc

    swiftc = require_swiftc()
    name = f"{upper_camel(built.name)}Sensors.swift"
    text = built.files[f"ios/Sources/{upper_camel(built.name)}Features/{name}"]
    code = "\n".join(line.split("//")[0] for line in text.splitlines())
    for banned in ("addingProduct", "fma(", "Foundation"):
        assert banned not in code, banned
    source = tmp_path / name
    source.write_text(text)
    for mode in (["-swift-version", "6", "-strict-concurrency=complete"], ["-swift-version", "5"]):
        run = subprocess.run(
            [
                swiftc,
                *mode,
                "-parse-as-library",
                "-warnings-as-errors",
                "-typecheck",
                "-Xfrontend",
                "-warn-long-expression-type-checking=100",
                str(source),
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------- Kotlin over JNI (Android)

JAVA_DRIVER = r"""
import featgen.@CLASS@;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;

/** IN OUT: the stand-alone C driver's formats (parity_tests/test_sensors.py), through the
 *  generated Kotlin class and its JNI bridge. */
public class SensorsDriver {
    public static void main(String[] args) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[0])))
            .order(ByteOrder.LITTLE_ENDIAN);
        int platform = in.getInt();
        int n = (int) in.getLong();
        int[] ids = new int[n];
        long[] t = new long[n];
        double[] v = new double[3 * n];
        for (int i = 0; i < n; i++) ids[i] = in.getInt();
        for (int i = 0; i < n; i++) t[i] = in.getLong();
        for (int i = 0; i < 3 * n; i++) v[i] = in.getDouble();
        final ByteBuffer times = ByteBuffer.allocate(8 * (4 * n + 16)).order(ByteOrder.LITTLE_ENDIAN);
        final ByteBuffer firsts = ByteBuffer.allocate(4 * n + 16);
        final ByteBuffer values = ByteBuffer.allocate(8 * @CLASS@.INPUT_COUNT * (4 * n + 16))
            .order(ByteOrder.LITTLE_ENDIAN);
        final int[] m = {0};
        byte[] status = new byte[n];
        long[] counts;
        try (@CLASS@ a = new @CLASS@(@CLASS@.Platform.values()[platform], (tNs, sample, first) -> {
                times.putLong(tNs);
                firsts.put((byte) (first ? 1 : 0));
                for (double x : sample) values.putDouble(x);
                m[0]++;
                return kotlin.Unit.INSTANCE;
            })) {
            for (int i = 0; i < n; i++) {
                status[i] = (byte) a.push(ids[i], t[i], v[3 * i], v[3 * i + 1], v[3 * i + 2]).getCode();
            }
            counts = a.counts();
        }
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(m[0]);
        ByteBuffer tail = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (long c : counts) tail.putLong(c);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(status);
        out.write(head.array());
        out.write(times.array(), 0, times.position());
        out.write(firsts.array(), 0, firsts.position());
        out.write(values.array(), 0, values.position());
        out.write(tail.array());
        Files.write(Paths.get(args[1]), out.toByteArray());
    }
}
"""


@pytest.mark.parametrize("variant", ["lin50"])
def test_kotlin_jni_adapter_bit_identical(variant, tmp_path):
    """The android/ module's sensor adapter on this machine's JVM: the JNI library (the C
    adapter and its bridge, -Wall -Wextra -pedantic -Werror) built against the JDK's jni.h, the
    Kotlin class compiled with kotlinc, a Java program pushing the messy and edge streams from
    both platforms: the same samples, statuses and counters as numpy. (One variant here and the
    three-sensor one in the listener test: the Kotlin side only moves numbers, the C under it is
    checked on every variant; kotlinc takes ~20 s per compile.)"""
    built = Built(spec_text(variant), variant, tmp_path / "built")
    from codegen.android import type_name
    from parity_tests.test_android_jni import _java_home, _kotlin_stdlib, _require

    javac = _require("javac", "the Kotlin/JNI sensor adapter test")
    kotlinc = _require("kotlinc", "the Kotlin/JNI sensor adapter test")
    java = _require("java", "the Kotlin/JNI sensor adapter test")
    home = _java_home(javac)
    cls = type_name(built.name) + "Sensors"
    android = {
        p[len("android/src/main/") :]: t
        for p, t in built.files.items()
        if p.startswith("android/src/main/")
    }
    cpp = tmp_path / "cpp"
    cpp.mkdir()
    for rel in (
        f"{built.name}_sensors.h",
        f"{built.name}_sensors.c",
        f"{built.name}_sensors_jni.c",
    ):
        (cpp / rel).write_text(android[f"cpp/{rel}"])
    assert f"{built.name}_sensors_jni.c" in android["cpp/CMakeLists.txt"]
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    cmd = [
        "gcc",
        *harness.C_FLAGS,
        "-fPIC",
        "-shared",
        "-I",
        str(cpp),
        "-I",
        str(home / "include"),
        "-I",
        str(home / "include" / "linux"),
        *sorted(str(p) for p in cpp.glob("*.c")),
        "-o",
        str(lib_dir / f"lib{built.name}_jni.so"),
        "-lm",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    classes = tmp_path / "classes"
    kt = tmp_path / f"{cls}.kt"
    kt.write_text(android[f"kotlin/featgen/{cls}.kt"])
    run = subprocess.run([kotlinc, str(kt), "-d", str(classes)], capture_output=True, text=True)
    problems = [
        line
        for line in run.stderr.splitlines()
        if ("warning:" in line or "error:" in line) and "Xverify" not in line
    ]
    assert run.returncode == 0 and not problems, run.stderr
    stdlib = _kotlin_stdlib(kotlinc)
    (tmp_path / "SensorsDriver.java").write_text(JAVA_DRIVER.replace("@CLASS@", cls))
    run = subprocess.run(
        [
            javac,
            "-Xlint:all",
            "-Werror",
            "-cp",
            f"{classes}:{stdlib}",
            "-d",
            str(classes),
            str(tmp_path / "SensorsDriver.java"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    three = len(built.spec.sensors.sources) == 3
    streams = dict(edge_streams(three), messy=messy_stream(6, 5 * 10**9, three, seconds=3))
    for platform in (0, 1):
        for label, (ids, t, v) in streams.items():
            src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
            write_driver_input(src, platform, ids, t, v)
            run = subprocess.run(
                [
                    java,
                    f"-Djava.library.path={lib_dir}",
                    "-cp",
                    f"{classes}:{stdlib}",
                    "SensorsDriver",
                    str(src),
                    str(dst),
                ],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert run.returncode == 0, run.stderr[-3000:]
            got = read_driver_output(dst.read_bytes(), len(t), built.n_inputs)
            assert_same(
                built.np.resample(t, ids, v, platform),
                got,
                f"Kotlin/JNI {label} platform {platform}",
            )


ANDROID_STUBS = {
    # The declarations of android.hardware the generated listener uses, as the Android reference
    # documents them (Sensor.TYPE_* values, SensorEvent's public fields, SensorManager's
    # methods): there is no Android SDK here, so the listener is compiled and run against these.
    "Sensor": """package android.hardware;
public class Sensor {
    public static final int TYPE_ACCELEROMETER = 1;
    public static final int TYPE_MAGNETIC_FIELD = 2;
    public static final int TYPE_GYROSCOPE = 4;
    private final int type;
    public Sensor(int type) { this.type = type; }
    public int getType() { return type; }
}""",
    "SensorEvent": """package android.hardware;
public class SensorEvent {
    public final float[] values;
    public Sensor sensor;
    public int accuracy;
    public long timestamp;
    public SensorEvent(int valueSize) { values = new float[valueSize]; }
}""",
    "SensorEventListener": """package android.hardware;
public interface SensorEventListener {
    void onSensorChanged(SensorEvent event);
    void onAccuracyChanged(Sensor sensor, int accuracy);
}""",
    "SensorManager": """package android.hardware;
public abstract class SensorManager {
    public abstract Sensor getDefaultSensor(int type);
    public abstract boolean registerListener(SensorEventListener listener, Sensor sensor,
                                             int samplingPeriodUs);
    public abstract void unregisterListener(SensorEventListener listener);
}""",
}

LISTENER_DRIVER = r"""
import android.hardware.*;
import featgen.@CLASS@;
import featgen.@LISTENER@;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** The sensor driver's formats, but every event goes through SensorManager registration and
 *  SensorEventListener.onSensorChanged with float values, as on a phone. */
public class ListenerDriver {
    static final List<Integer> registered = new ArrayList<>();
    static int period = -1;

    public static void main(String[] args) throws Exception {
        ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(Paths.get(args[0])))
            .order(ByteOrder.LITTLE_ENDIAN);
        in.getInt();
        int n = (int) in.getLong();
        int[] ids = new int[n];
        long[] t = new long[n];
        double[] v = new double[3 * n];
        for (int i = 0; i < n; i++) ids[i] = in.getInt();
        for (int i = 0; i < n; i++) t[i] = in.getLong();
        for (int i = 0; i < 3 * n; i++) v[i] = in.getDouble();
        final ByteBuffer times = ByteBuffer.allocate(8 * (4 * n + 16)).order(ByteOrder.LITTLE_ENDIAN);
        final ByteBuffer firsts = ByteBuffer.allocate(4 * n + 16);
        final ByteBuffer values = ByteBuffer.allocate(8 * @CLASS@.INPUT_COUNT * (4 * n + 16))
            .order(ByteOrder.LITTLE_ENDIAN);
        final int[] m = {0};
        byte[] status = new byte[n];
        SensorManager manager = new SensorManager() {
            public Sensor getDefaultSensor(int type) { return new Sensor(type); }
            public boolean registerListener(SensorEventListener l, Sensor s, int us) {
                registered.add(s.getType());
                period = us;
                return true;
            }
            public void unregisterListener(SensorEventListener l) { registered.clear(); }
        };
        long[] counts;
        try (@CLASS@ a = new @CLASS@(@CLASS@.Platform.ANDROID, (tNs, sample, first) -> {
                times.putLong(tNs);
                firsts.put((byte) (first ? 1 : 0));
                for (double x : sample) values.putDouble(x);
                m[0]++;
                return kotlin.Unit.INSTANCE;
            })) {
            @LISTENER@ listener = new @LISTENER@(a);
            if (!listener.register(manager)) throw new AssertionError("not registered");
            System.out.println("registered " + registered + " at " + period + " us");
            for (int i = 0; i < n; i++) {
                SensorEvent e = new SensorEvent(3);
                e.sensor = new Sensor(@LISTENER@.Companion.getSENSOR_TYPES()[ids[i]]);
                e.timestamp = t[i];
                for (int j = 0; j < 3; j++) e.values[j] = (float) v[3 * i + j];
                listener.onSensorChanged(e);
                status[i] = (byte) listener.getLastStatus().getCode();
            }
            counts = a.counts();
            listener.unregister(manager);
        }
        ByteBuffer head = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(m[0]);
        ByteBuffer tail = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        for (long c : counts) tail.putLong(c);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(status);
        out.write(head.array());
        out.write(times.array(), 0, times.position());
        out.write(firsts.array(), 0, firsts.position());
        out.write(values.array(), 0, values.position());
        out.write(tail.array());
        Files.write(Paths.get(args[1]), out.toByteArray());
    }
}
"""


def test_kotlin_sensor_listener_registers_and_feeds_the_adapter(tmp_path):
    """The generated SensorEventListener, compiled against android.hardware as documented (a
    stub: no Android SDK here), registers the spec's sensor types at the spec's period and
    feeds SensorEvent floats to the adapter: the samples equal numpy's on the float values."""
    from codegen.android import type_name
    from parity_tests.test_android_jni import _java_home, _kotlin_stdlib, _require

    javac = _require("javac", "the Kotlin sensor listener test")
    kotlinc = _require("kotlinc", "the Kotlin sensor listener test")
    java = _require("java", "the Kotlin sensor listener test")
    home = _java_home(javac)
    built = Built(spec_text("lin12_5"), "lin12_5", tmp_path)  # three sensors
    cls = type_name(built.name) + "Sensors"
    listener = type_name(built.name) + "SensorListener"
    main = "android/src/main/"
    stubs = tmp_path / "stubs" / "android" / "hardware"
    stubs.mkdir(parents=True)
    for stub, text in ANDROID_STUBS.items():
        (stubs / f"{stub}.java").write_text(text)
    stub_classes = tmp_path / "stub-classes"
    run = subprocess.run(
        [javac, "-d", str(stub_classes), *map(str, stubs.glob("*.java"))],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    cpp = tmp_path / "cpp"
    cpp.mkdir()
    for rel in (
        f"{built.name}_sensors.h",
        f"{built.name}_sensors.c",
        f"{built.name}_sensors_jni.c",
    ):
        (cpp / rel).write_text(built.files[f"{main}cpp/{rel}"])
    lib_dir = tmp_path / "lib"
    lib_dir.mkdir()
    run = subprocess.run(
        [
            "gcc",
            *harness.C_FLAGS,
            "-fPIC",
            "-shared",
            "-I",
            str(cpp),
            "-I",
            str(home / "include"),
            "-I",
            str(home / "include" / "linux"),
            *sorted(str(p) for p in cpp.glob("*.c")),
            "-o",
            str(lib_dir / f"lib{built.name}_jni.so"),
            "-lm",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    classes = tmp_path / "classes"
    sources = []
    for kt in (cls, listener):
        (tmp_path / f"{kt}.kt").write_text(built.files[f"{main}kotlin/featgen/{kt}.kt"])
        sources.append(str(tmp_path / f"{kt}.kt"))
    run = subprocess.run(
        [kotlinc, *sources, "-cp", str(stub_classes), "-d", str(classes)],
        capture_output=True,
        text=True,
    )
    problems = [
        line
        for line in run.stderr.splitlines()
        if ("warning:" in line or "error:" in line) and "Xverify" not in line
    ]
    assert run.returncode == 0 and not problems, run.stderr
    stdlib = _kotlin_stdlib(kotlinc)
    cp = f"{classes}:{stub_classes}:{stdlib}"
    (tmp_path / "ListenerDriver.java").write_text(
        LISTENER_DRIVER.replace("@CLASS@", cls).replace("@LISTENER@", listener)
    )
    run = subprocess.run(
        [
            javac,
            "-Xlint:all",
            "-Werror",
            "-cp",
            cp,
            "-d",
            str(classes),
            str(tmp_path / "ListenerDriver.java"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    ids, t, v = messy_stream(8, 10**9, three=True, seconds=3)
    v = np.where(np.isfinite(v), v.astype(np.float32).astype(np.float64), v)  # floats
    src, dst = tmp_path / "in.bin", tmp_path / "out.bin"
    write_driver_input(src, 0, ids, t, v)
    run = subprocess.run(
        [java, f"-Djava.library.path={lib_dir}", "-cp", cp, "ListenerDriver", str(src), str(dst)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    # accelerometer, gyroscope, magnetic field at the spec's 80 ms period
    assert "registered [1, 4, 2] at 80000 us" in run.stdout
    got = read_driver_output(dst.read_bytes(), len(t), built.n_inputs)
    assert_same(built.np.resample(t, ids, v, "android"), got, "listener")


def test_c_adapter_misuse_returns_an_error_instead_of_crashing(tmp_path):
    """The runtime contract (docs/semantics.md) for the adapter: NULL pointers give ERR_NULL, a
    state init never ran on (zero-filled or garbage) or init refused gives ERR_STATE; nothing is
    emitted or changed. init(NULL) is harmless."""
    built = Built(spec_text("lin50"), "lin50", tmp_path)
    ffi, lib, name, P = built.ffi, built.lib, built.name, built.name.upper()
    init = getattr(lib, f"{name}_sensors_init")
    push = getattr(lib, f"{name}_sensor_push")
    err_null = getattr(lib, f"{P}_SENSORS_ERR_NULL")
    err_state = getattr(lib, f"{P}_SENSORS_ERR_STATE")
    assert (err_null, err_state) == (-5, -6)
    calls = []

    @ffi.callback(f"{name}_sample_fn")
    def emit(ctx, t, sample, first):
        calls.append(t)

    values = ffi.new("double[3]", [1.0, 2.0, 3.0])
    s = ffi.new(f"{name}_sensors *")
    assert init(ffi.NULL, 0) == -1
    assert push(ffi.NULL, 0, 0, values, emit, ffi.NULL) == err_null
    assert push(s, 0, 0, values, emit, ffi.NULL) == err_state  # zero-filled
    ffi.memmove(s, b"\xab" * ffi.sizeof(s[0]), ffi.sizeof(s[0]))
    assert push(s, 0, 0, values, emit, ffi.NULL) == err_state  # garbage
    assert init(s, 7) == -1 and push(s, 0, 0, values, emit, ffi.NULL) == err_state
    assert init(s, 0) == 0
    assert push(s, 0, 0, ffi.NULL, emit, ffi.NULL) == err_null
    assert push(s, 0, 0, values, ffi.NULL, ffi.NULL) == err_null
    assert s.accepted == 0
    assert push(s, 0, 0, values, emit, ffi.NULL) == 0
    assert push(s, 1, 0, values, emit, ffi.NULL) == 0 and calls == [0]  # both at t = 0
    assert push(s, 2, 10, values, emit, ffi.NULL) == getattr(lib, f"{P}_SENSORS_BAD_ID")
    assert s.accepted == 2 and s.emitted == 1
