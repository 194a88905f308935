"""The flight recorder's cost per push, in C (x86-64 gcc, the emitted flags) and in Swift
(swiftc -O -wmo, the generated package's sources): instructions per push (valgrind
--tool=callgrind, exact and independent of machine load) and wall time, recorder off against on
(full vectors, and digest), the C recorder writing into a sink that copies each record into a
64 KiB ring buffer, the Swift recorder into its own 64 KiB buffer handed to a sink closure that
copies it into a ring; and the log's bytes per hour at the spec's sample rate, also with the
sensor adapter's records (events at 100 Hz accelerometer + 200 Hz gyroscope, as fed, and the
adapter's samples).

``python3 -m bench.recorder_overhead [--pushes 20000] [--no-swift]``: prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
FLAGS = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math")

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include "NAME_recorder.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static unsigned char ring[1 << 16];
static size_t head;
static size_t logged;

static void sink(void *ctx, const void *bytes, size_t n)
{
    (void)ctx;
    size_t first = n < sizeof ring - head ? n : sizeof ring - head;
    memcpy(ring + head, bytes, first); /* records are smaller than the ring */
    memcpy(ring, (const unsigned char *)bytes + first, n - first);
    head = (head + n) & (sizeof ring - 1);
    logged += n;
}

typedef struct app {
    NAME_detector *d;
    NAME_recorder *rec;
    long events;
} app;

static void on_sample(void *ctx, int64_t t_ns, const double *sample, int segment_start)
{
    app *a = (app *)ctx;
    NAME_result r;
    (void)t_ns;
    if (segment_start) {
        NAME_detector_init_recorded(a->d, a->rec);
    }
    a->events += NAME_detector_push_recorded(a->d, a->rec, sample, &r) == 2;
}

/* MODE 3: the same motion as sensor events (accelerometer 100 Hz, gyroscope 200 Hz) through
   NAME_sensor_push_recorded, full vectors: the log's bytes with the adapter's records. */
static int sensors_mode(long n)
{
    static NAME_detector d;
    static NAME_sensors ad;
    NAME_recorder rec;
    app a;
    NAME_detector_init(&d);
    NAME_sensors_init(&ad, 0);
    NAME_recorder_start(&rec, sink, NULL, 0);
    a.d = &d;
    a.rec = &rec;
    a.events = 0;
    for (long i = 0; i < 4 * n; ++i) { /* 4 gyro ticks of 5 ms per 20 ms sample */
        double v[3];
        long k = i / 4;
        for (int j = 0; j < 3; ++j) {
            v[j] = (j == 2 ? 9.81 : 0.0) + 0.5 * (double)((k * (j + 3)) % 97) / 97.0;
        }
        if (i % 2 == 0) {
            NAME_sensor_push_recorded(&ad, &rec, 0, 1000000000LL + 5000000LL * i, v, on_sample, &a);
        }
        NAME_sensor_push_recorded(&ad, &rec, 1, 1000000000LL + 5000000LL * i + 1000, v, on_sample, &a);
    }
    NAME_recorder_stop(&rec);
    printf("0 %zu %ld %lu\n", logged, a.events, (unsigned long)rec.pushes);
    return 0;
}

/* bench MODE N: MODE 0 recorder off, 1 on (full vectors), 2 on (digest); N pushes of a smooth synthetic motion. */
int main(int argc, char **argv)
{
    static NAME_detector d;
    NAME_result r;
    NAME_recorder rec;
    int on = atoi(argv[1]);
    long n = atol(argv[2]);
    double s[PREFIX_N_INPUTS];
    struct timespec t0, t1;
    long events = 0;
    if (on == 3) {
        return sensors_mode(n);
    }
    NAME_detector_init(&d);
    if (on) {
        NAME_recorder_start(&rec, sink, NULL, on - 1);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; ++i) {
        for (int k = 0; k < PREFIX_N_INPUTS; ++k) {
            s[k] = (k == 2 ? 9.81 : 0.0) + 0.5 * (double)((i * (k + 3)) % 97) / 97.0;
        }
        events += (on > 0 ? NAME_detector_push_recorded(&d, &rec, s, &r)
                      : NAME_detector_push(&d, s, &r)) == 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (on) {
        NAME_recorder_stop(&rec);
    }
    printf("%.1f %zu %ld\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n,
           logged, events);
    return 0;
}
"""


def main() -> None:
    from codegen.build import generate
    from featurespec import load_spec

    ap = argparse.ArgumentParser()
    ap.add_argument("--pushes", type=int, default=20_000)
    ap.add_argument("--no-swift", action="store_true", help="C only")
    args = ap.parse_args()
    spec = load_spec(SPEC)
    files = generate(spec)
    name = spec.name
    feat = json.loads(files["manifest.json"])["model"]["device"]["featuriser"]
    with tempfile.TemporaryDirectory() as work:
        w = Path(work)
        for p, text in files.items():
            if p.startswith("c/") and p.count("/") == 1 and p.endswith((".c", ".h")):
                (w / Path(p).name).write_text(text)
        (w / "bench.c").write_text(DRIVER.replace("NAME", name).replace("PREFIX", feat.upper()))
        exe = w / "bench"
        subprocess.run(
            [
                "gcc",
                *FLAGS,
                "-I",
                str(w),
                *(
                    str(w / f)
                    for f in (
                        f"{feat}_features.c",
                        f"{name}_model.c",
                        f"{name}_detector.c",
                        f"{name}_recorder.c",
                        f"{name}_sensors.c",
                        "bench.c",
                    )
                ),
                "-o",
                str(exe),
                "-lm",
            ],
            check=True,
        )
        out = {"pushes": args.pushes, "compiler": "gcc " + " ".join(FLAGS)}
        for label, mode in (("off", "0"), ("on", "1"), ("digest", "2")):
            walls = []
            for _ in range(5):
                ns, logged, _ = subprocess.run(
                    [str(exe), mode, str(args.pushes)], check=True, capture_output=True, text=True
                ).stdout.split()
                walls.append(float(ns))
            out[f"wall_ns_per_push_{label}_min_of_5"] = min(walls)
            out[f"log_bytes_{label}"] = int(logged)
            if shutil.which("valgrind"):
                cg = w / f"cg.{label}"
                res = subprocess.run(
                    [
                        "valgrind",
                        "--tool=callgrind",
                        f"--callgrind-out-file={cg}",
                        str(exe),
                        mode,
                        str(args.pushes),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                total = int(re.search(r"Collected : (\d+)", res.stderr).group(1))
                out[f"instructions_per_push_{label}"] = round(total / args.pushes, 1)
        rate = spec.sample_rate_hz
        out["sample_rate_hz"] = rate
        _, logged, _, pushes = subprocess.run(
            [str(exe), "3", str(args.pushes)], check=True, capture_output=True, text=True
        ).stdout.split()
        out["log_bytes_per_push_with_sensors"] = round(int(logged) / int(pushes), 1)
        out["log_mib_per_hour_with_sensors"] = round(
            int(logged) / int(pushes) * rate * 3600 / 2**20, 1
        )
        if not args.no_swift:
            out.update(swift(files, name, w, args.pushes))
        for label in ("on", "digest"):
            for lang in ("", "swift_"):
                if f"{lang}instructions_per_push_off" in out:
                    out[f"{lang}recorder_instructions_per_push_{label}"] = round(
                        out[f"{lang}instructions_per_push_{label}"]
                        - out[f"{lang}instructions_per_push_off"],
                        1,
                    )
            per_push = out[f"log_bytes_{label}"] / args.pushes
            out[f"log_bytes_per_push_{label}"] = round(per_push, 1)
            out[f"log_mib_per_hour_{label}"] = round(per_push * rate * 3600 / 2**20, 1)
    print(json.dumps(out, indent=2))


SWIFT_DRIVER = r"""
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// bench MODE N: 0 recorder off, 1 on (full vectors), 2 on (digest); prints ns/push, log bytes.
@main
struct Bench {
    static func main() throws {
        let mode = Int(CommandLine.arguments[1])!
        let n = Int(CommandLine.arguments[2])!
        var detector = try @DETECTOR@()
        var ring = [UInt8](repeating: 0, count: 1 << 16)
        var logged = 0
        if mode > 0 {
            try detector.startRecording(mode: mode == 1 ? .fullVectors : .vectorDigest) { bytes in
                ring.withUnsafeMutableBytes { target in
                    var o = 0
                    while o < bytes.count {
                        let k = min(bytes.count - o, target.count)
                        target.baseAddress!.copyMemory(from: bytes.baseAddress! + o, byteCount: k)
                        o += k
                    }
                }
                logged += bytes.count
            }
        }
        var s = [Double](repeating: 0, count: @FEATURES@.inputCount)
        var t0 = timespec()
        var t1 = timespec()
        var events = 0
        clock_gettime(CLOCK_MONOTONIC, &t0)
        for i in 0..<n {
            for k in 0..<s.count {
                s[k] = (k == 2 ? 9.81 : 0.0) + 0.5 * Double((i * (k + 3)) % 97) / 97.0
            }
            if detector.push(s) == .event { events += 1 }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1)
        detector.stopRecording()
        let ns = Double(t1.tv_sec - t0.tv_sec) * 1e9 + Double(t1.tv_nsec - t0.tv_nsec)
        print(ns / Double(n), logged, events)
    }
}
"""


def swift(files: dict, name: str, work: Path, pushes: int) -> dict:
    """The Swift recorder's figures (empty when there is no swiftc)."""
    swiftc = shutil.which("swiftc") or "/opt/swift/usr/bin/swiftc"
    if not Path(swiftc).exists():
        return {"swift": "NOT MEASURED: no swiftc"}
    from codegen.android import type_name

    camel = type_name(name)
    sources = []
    for p, text in files.items():
        if p.startswith("ios/Sources/") and p.endswith(".swift"):
            sources.append(work / Path(p).name)
            sources[-1].write_text(text)
    feat = (
        f"{camel}DeviceFeatures"
        if any(p.endswith(f"{camel}DeviceFeatures.swift") for p in files)
        else f"{camel}Features"
    )
    (work / "bench.swift").write_text(
        SWIFT_DRIVER.replace("@DETECTOR@", f"{camel}Detector").replace("@FEATURES@", feat)
    )
    exe = work / "swiftbench"
    subprocess.run(
        [
            swiftc,
            "-O",
            "-wmo",
            "-module-name",
            "Bench",
            *map(str, sources),
            str(work / "bench.swift"),
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
    )
    out = {"swift_compiler": "swiftc -O -wmo"}
    for label, mode in (("off", "0"), ("on", "1"), ("digest", "2")):
        walls = []
        for _ in range(5):
            ns, logged, _ = subprocess.run(
                [str(exe), mode, str(pushes)], check=True, capture_output=True, text=True
            ).stdout.split()
            walls.append(float(ns))
        out[f"swift_wall_ns_per_push_{label}_min_of_5"] = round(min(walls), 1)
        out[f"swift_log_bytes_{label}"] = int(logged)
        if shutil.which("valgrind"):
            cg = work / f"swift-cg.{label}"
            res = subprocess.run(
                [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={cg}",
                    str(exe),
                    mode,
                    str(pushes),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            total = int(re.search(r"Collected : (\d+)", res.stderr).group(1))
            out[f"swift_instructions_per_push_{label}"] = round(total / pushes, 1)
    return out


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
