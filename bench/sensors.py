"""Sensor adapter cost per event in C and Swift, beside the featuriser's push (docs/sensors.md).

    python3 -m bench.sensors [--seconds 600] [--repeats 7]

The example (examples/twist_and_go/spec.yaml, its sensors: block, the full 168-feature
featuriser) on a synthetic Android stream: accelerometer ~100 Hz and gyroscope ~200 Hz with 3 %
jitter, events interleaved by time -> 50 Hz samples. A C driver (gcc -O2, the numeric-contract
flags) times, in process CPU time, median of the repeats:

* adapter: ``twist_and_go_sensor_push`` for every event, the callback only counts the sample;
* featuriser: ``twist_and_go_push`` on the same fixed-rate samples (the adapter's output);
* both: the adapter whose callback pushes each sample into the featuriser (what an app runs);
* the same two in Swift (``swiftc -O -wmo``, the package's TwistAndGoSensors and
  TwistAndGoFeatures), unless ``--no-swift`` or no swiftc.

The driver's samples are checked bit for bit against the generated numpy resampler first.
Nothing is asserted about speed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codegen.build import generate
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
FLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math"]

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "twist_and_go_features.h"
#include "twist_and_go_sensors.h"

static double cpu_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static twist_and_go_sensors ad;
static twist_and_go_state st;
static double out[TWIST_AND_GO_N_FEATURES];
static double *samples; static long n_samples; static double check;

static void count(void *ctx, int64_t t, const double *x, int first)
{
    (void)ctx; (void)t; (void)first;
    check += x[0];
    n_samples++;
}

static void keep(void *ctx, int64_t t, const double *x, int first)
{
    (void)ctx; (void)t; (void)first;
    memcpy(samples + n_samples * TWIST_AND_GO_N_INPUTS, x, sizeof(double) * TWIST_AND_GO_N_INPUTS);
    n_samples++;
}

static void feed(void *ctx, int64_t t, const double *x, int first)
{
    (void)ctx; (void)t;
    if (first)
        twist_and_go_init(&st);
    if (twist_and_go_push(&st, x, out) == TWIST_AND_GO_EMITTED)
        check += out[n_samples % TWIST_AND_GO_N_FEATURES];
    n_samples++;
}

int main(int argc, char **argv)
{
    FILE *in = fopen(argv[1], "rb");
    long n, i; int r, repeats = atoi(argv[3]);
    int *ids; int64_t *t; double *v;
    if (!in || fread(&n, sizeof n, 1, in) != 1) return 2;
    ids = malloc(sizeof *ids * (size_t)n); t = malloc(sizeof *t * (size_t)n);
    v = malloc(sizeof *v * 3 * (size_t)n); samples = malloc(sizeof(double) * TWIST_AND_GO_N_INPUTS * (size_t)n);
    if (fread(ids, sizeof *ids, (size_t)n, in) != (size_t)n || fread(t, sizeof *t, (size_t)n, in) != (size_t)n
        || fread(v, sizeof *v * 3, (size_t)n, in) != (size_t)n) return 2;
    fclose(in);
    /* the samples, for the numpy cross-check and the featuriser-only loop */
    twist_and_go_sensors_init(&ad, TWIST_AND_GO_PLATFORM_ANDROID);
    n_samples = 0;
    for (i = 0; i < n; i++) twist_and_go_sensor_push(&ad, ids[i], t[i], v + 3 * i, keep, NULL);
    long m = n_samples;
    FILE *o = fopen(argv[2], "wb");
    fwrite(samples, sizeof(double) * TWIST_AND_GO_N_INPUTS, (size_t)m, o);
    fclose(o);
    printf("{\"events\": %ld, \"samples\": %ld, \"sizeof_adapter\": %zu, \"sizeof_state\": %zu",
           n, m, sizeof ad, sizeof st);
    const char *modes[3] = {"adapter", "featuriser", "both"};
    for (int mode = 0; mode < 3; mode++) {
        printf(", \"%s\": [", modes[mode]);
        for (r = 0; r < repeats; r++) {
            double t0, t1;
            twist_and_go_sensors_init(&ad, TWIST_AND_GO_PLATFORM_ANDROID);
            twist_and_go_init(&st);
            n_samples = 0;
            t0 = cpu_ns();
            if (mode == 0)
                for (i = 0; i < n; i++) twist_and_go_sensor_push(&ad, ids[i], t[i], v + 3 * i, count, NULL);
            else if (mode == 1)
                for (i = 0; i < m; i++) {
                    if (twist_and_go_push(&st, samples + i * TWIST_AND_GO_N_INPUTS, out) == TWIST_AND_GO_EMITTED)
                        check += out[i % TWIST_AND_GO_N_FEATURES];
                }
            else
                for (i = 0; i < n; i++) twist_and_go_sensor_push(&ad, ids[i], t[i], v + 3 * i, feed, NULL);
            t1 = cpu_ns();
            printf("%s%.0f", r ? ", " : "", t1 - t0);
        }
        printf("]");
    }
    printf(", \"check\": %.17g}\n", check);
    return 0;
}
"""


SWIFT_MAIN = r"""
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func cpuNs() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) * 1e9 + Double(t.tv_nsec)
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

@main
struct Bench {
    static func main() {
        let args = CommandLine.arguments
        let repeats = Int(args[2]) ?? 7
        guard let f = fopen(args[1], "rb") else { fatalError("cannot open") }
        var n64: Int64 = 0
        _ = fread(&n64, 8, 1, f)
        let n = Int(n64)
        var ids = [Int32](repeating: 0, count: n)
        var t = [Int64](repeating: 0, count: n)
        var v = [Double](repeating: 0, count: 3 * n)
        _ = ids.withUnsafeMutableBytes { fread($0.baseAddress, 4, n, f) }
        _ = t.withUnsafeMutableBytes { fread($0.baseAddress, 8, n, f) }
        _ = v.withUnsafeMutableBytes { fread($0.baseAddress, 8, 3 * n, f) }
        fclose(f)
        var check = 0.0
        var adapterNs: [Double] = []
        var bothNs: [Double] = []
        var samples = 0
        var out = [Double](repeating: 0, count: TwistAndGoFeatures.featureCount)
        for _ in 0..<repeats {
            var adapter = TwistAndGoSensors(platform: .android)
            samples = 0
            let t0 = cpuNs()
            for i in 0..<n {
                _ = adapter.push(sensor: Int(ids[i]), tNs: t[i], x: v[3 * i], y: v[3 * i + 1],
                                 z: v[3 * i + 2]) { _, sample, _ in
                    check += sample[0]
                    samples += 1
                }
            }
            adapterNs.append(cpuNs() - t0)
        }
        for _ in 0..<repeats {
            var adapter = TwistAndGoSensors(platform: .android)
            var featuriser = TwistAndGoFeatures()
            let t0 = cpuNs()
            out.withUnsafeMutableBufferPointer { op in
                for i in 0..<n {
                    _ = adapter.push(sensor: Int(ids[i]), tNs: t[i], x: v[3 * i],
                                     y: v[3 * i + 1], z: v[3 * i + 2]) { _, sample, first in
                        if first { featuriser = TwistAndGoFeatures() }
                        if featuriser.push(sample, into: op) == .emitted { check += op[0] }
                    }
                }
            }
            bothNs.append(cpuNs() - t0)
        }
        print("{\"events\": \(n), \"samples\": \(samples), \"adapter_ns\": \(median(adapterNs)), \"both_ns\": \(median(bothNs)), \"check\": \(check)}")
    }
}
"""


def swift_measure(files: dict, events: Path, work: Path, repeats: int) -> dict | None:
    """The Swift adapter alone and feeding the featuriser (swiftc -O -wmo), or None without
    swiftc."""
    from .common import find_swiftc

    swiftc = find_swiftc()
    if swiftc is None:
        return None
    sources = [
        p
        for p in files
        if p.startswith("ios/Sources/")
        and p.endswith(("/TwistAndGoSensors.swift", "/TwistAndGoFeatures.swift"))
    ]
    paths = []
    for rel in sources:
        (work / Path(rel).name).write_text(files[rel])
        paths.append(str(work / Path(rel).name))
    (work / "main.swift").write_text(SWIFT_MAIN)
    exe = work / "swiftbench"
    subprocess.run(
        [
            swiftc,
            "-O",
            "-wmo",
            "-parse-as-library",
            *paths,
            str(work / "main.swift"),
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    run = subprocess.run(
        [str(exe), str(events), str(repeats)], check=True, capture_output=True, text=True
    )
    return json.loads(run.stdout)


def stream(seconds: float, seed: int = 0):
    """Android-style events: accelerometer ~100 Hz, gyroscope ~200 Hz, 3 % jitter, by time."""
    rng = np.random.default_rng(seed)
    ids, times = [], []
    for k, rate in ((0, 100), (1, 200)):
        n = int(seconds * rate)
        steps = np.round(1e9 / rate * (1 + 0.03 * rng.standard_normal(n))).astype(np.int64)
        times.append(10**12 + np.cumsum(np.maximum(steps, 1)))
        ids.append(np.full(n, k, dtype=np.int32))
    t, sensor = np.concatenate(times), np.concatenate(ids)
    order = np.argsort(t, kind="stable")
    t, sensor = t[order], sensor[order]
    values = rng.standard_normal((len(t), 3)) * np.where(sensor[:, None] == 0, 3.0, 1.5)
    values[sensor == 0, 2] += 9.81
    return sensor, t, values


def measure(seconds: float = 600.0, repeats: int = 7, swift: bool = False) -> dict:
    spec = load_spec(SPEC)
    import dataclasses

    files = generate(dataclasses.replace(spec, model=None, decision=None))
    sensor, t, values = stream(seconds)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        for rel, text in files.items():
            if rel.startswith("c/") and rel.count("/") == 1:
                (work / Path(rel).name).write_text(text)
        (work / "driver.c").write_text(DRIVER)
        exe = work / "bench"
        cmd = [
            "gcc",
            *FLAGS,
            "-I",
            str(work),
            str(work / "twist_and_go_features.c"),
            str(work / "twist_and_go_sensors.c"),
            str(work / "driver.c"),
            "-o",
            str(exe),
            "-lm",
        ]
        subprocess.run(cmd, check=True)
        src = work / "events.bin"
        src.write_bytes(
            np.int64(len(t)).tobytes()
            + sensor.astype(np.int32).tobytes()
            + t.astype(np.int64).tobytes()
            + values.astype(np.float64).tobytes()
        )
        run = subprocess.run(
            [str(exe), str(src), str(work / "samples.bin"), str(repeats)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(run.stdout)
        c_samples = np.fromfile(work / "samples.bin", dtype=np.float64)
        swift_result = swift_measure(files, src, work, repeats) if swift else None
    import types

    module = types.ModuleType("twist_and_go_sensors")
    exec(compile(files["python/twist_and_go_sensors.py"], "<sensors>", "exec"), module.__dict__)
    import time

    cpu = time.process_time()
    r = module.resample(t, sensor, values, "android")
    numpy_s = time.process_time() - cpu
    identical = bool(np.array_equal(r.samples.reshape(-1).view(np.int64), c_samples.view(np.int64)))
    n, m = result["events"], result["samples"]
    return {
        "events": n,
        "samples": m,
        "identical_to_numpy": identical,
        "sizeof_adapter_bytes": result["sizeof_adapter"],
        "sizeof_featuriser_bytes": result["sizeof_state"],
        "adapter_ns_per_event": float(np.median(result["adapter"])) / n,
        "featuriser_ns_per_sample": float(np.median(result["featuriser"])) / m,
        "both_ns_per_event": float(np.median(result["both"])) / n,
        "both_ns_per_sample": float(np.median(result["both"])) / m,
        "numpy_resample_events_per_s": n / numpy_s,
        "swift": None
        if swift_result is None
        else {
            "samples": swift_result["samples"],
            "same_sample_count_as_c": swift_result["samples"] == m,
            "adapter_ns_per_event": swift_result["adapter_ns"] / n,
            "both_ns_per_event": swift_result["both_ns"] / n,
            "both_ns_per_sample": swift_result["both_ns"] / swift_result["samples"],
        },
        "repeats": repeats,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--no-swift", action="store_true", help="C and numpy only")
    args = parser.parse_args()
    m = measure(args.seconds, args.repeats, swift=not args.no_swift)
    print(
        f"{m['events']:,} events (accelerometer ~100 Hz + gyroscope ~200 Hz, "
        f"{args.seconds:g} s) -> {m['samples']:,} samples at 50 Hz; C samples bit-identical "
        f"to numpy: {m['identical_to_numpy']}"
    )
    print("| what | median CPU ns |")
    print("|---|---|")
    print(f"| adapter, per event | {m['adapter_ns_per_event']:.1f} |")
    print(f"| featuriser push (168 features), per sample | {m['featuriser_ns_per_sample']:.1f} |")
    print(f"| adapter + featuriser, per event | {m['both_ns_per_event']:.1f} |")
    print(f"| adapter + featuriser, per sample | {m['both_ns_per_sample']:.1f} |")
    sw = m["swift"]
    if sw is not None and not sw["same_sample_count_as_c"]:
        raise SystemExit(f"the Swift adapter emitted {sw['samples']} samples, C {m['samples']}")
    if sw is None:
        print("| Swift | NOT MEASURED (no swiftc) |")
    else:
        print(f"| Swift adapter, per event | {sw['adapter_ns_per_event']:.1f} |")
        print(f"| Swift adapter + featuriser, per event | {sw['both_ns_per_event']:.1f} |")
        print(f"| Swift adapter + featuriser, per sample | {sw['both_ns_per_sample']:.1f} |")
    print(
        f"numpy resampler (training): {m['numpy_resample_events_per_s']:,.0f} events/s "
        "(one run, process CPU time)"
    )
    print(
        f"state: adapter {m['sizeof_adapter_bytes']:,} bytes, featuriser "
        f"{m['sizeof_featuriser_bytes']:,} bytes"
    )


if __name__ == "__main__":
    main()
