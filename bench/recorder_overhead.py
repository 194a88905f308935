"""The flight recorder's cost per push (C, x86-64 gcc, the emitted flags): instructions per push
(valgrind --tool=callgrind, exact and independent of machine load) and wall time, for
``<name>_detector_push`` (recorder off) against ``<name>_detector_push_recorded`` into a sink
that copies each record into a 64 KiB ring buffer (recorder on); and the log's bytes per hour
at the spec's sample rate.

``python3 -m bench.recorder_overhead [--pushes 20000]``: prints one JSON object.
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
        subprocess.run(["gcc", *FLAGS, "-I", str(w), *(str(w / f) for f in (
            f"{feat}_features.c", f"{name}_model.c", f"{name}_detector.c", f"{name}_recorder.c",
            "bench.c")), "-o", str(exe), "-lm"], check=True)
        out = {"pushes": args.pushes, "compiler": "gcc " + " ".join(FLAGS)}
        for label, mode in (("off", "0"), ("on", "1"), ("digest", "2")):
            walls = []
            for _ in range(5):
                ns, logged, _ = subprocess.run([str(exe), mode, str(args.pushes)], check=True,
                                               capture_output=True, text=True).stdout.split()
                walls.append(float(ns))
            out[f"wall_ns_per_push_{label}_min_of_5"] = min(walls)
            out[f"log_bytes_{label}"] = int(logged)
            if shutil.which("valgrind"):
                cg = w / f"cg.{label}"
                res = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}",
                                      str(exe), mode, str(args.pushes)],
                                     capture_output=True, text=True, check=True)
                total = int(re.search(r"Collected : (\d+)", res.stderr).group(1))
                out[f"instructions_per_push_{label}"] = round(total / args.pushes, 1)
        rate = spec.sample_rate_hz
        out["sample_rate_hz"] = rate
        for label in ("on", "digest"):
            if "instructions_per_push_off" in out:
                out[f"recorder_instructions_per_push_{label}"] = round(
                    out[f"instructions_per_push_{label}"] - out["instructions_per_push_off"], 1)
            per_push = out[f"log_bytes_{label}"] / args.pushes
            out[f"log_bytes_per_push_{label}"] = round(per_push, 1)
            out[f"log_mib_per_hour_{label}"] = round(per_push * rate * 3600 / 2 ** 20, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
