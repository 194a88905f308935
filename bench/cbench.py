"""C benchmark driver: times ``<prefix>_push`` in-process with clock_gettime (no cffi or
subprocess overhead inside the timed loop), dumps vectors for cross-checks, and runs under
callgrind for instruction counts.

Usage of the built driver: ``bench SAMPLES MODE [REPEATS|OUT]`` with MODE one of
``loop REPEATS`` (prints JSON: ns of each full pass over the recording), ``perpush OUT``
(writes one double per push: its ns), ``dump OUT`` (writes the emitted vectors), ``count``
(one pass, no clock: for callgrind).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .common import run

C_FLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math"]

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include "@HEADER@"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NI @P@_N_INPUTS
#define NF @P@_N_FEATURES

static double now_ns(void)   /* wall clock: per-push timing (vDSO, ~25 ns per call) */
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double cpu_ns(void)   /* process CPU time: whole-loop timing */
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static @STATE@ st;
static double out[NF];

int main(int argc, char **argv)
{
    if (argc < 3) { fprintf(stderr, "usage: %s SAMPLES MODE [ARG]\n", argv[0]); return 2; }
    FILE *in = fopen(argv[1], "rb");
    if (!in) { perror("open"); return 2; }
    fseek(in, 0, SEEK_END);
    long n = ftell(in) / (long)sizeof(double[NI]);
    fseek(in, 0, SEEK_SET);
    double (*samples)[NI] = malloc(sizeof *samples * (size_t)(n > 0 ? n : 1));
    if (!samples || fread(samples, sizeof *samples, (size_t)n, in) != (size_t)n) return 2;
    fclose(in);
    const char *mode = argv[2];
    double check = 0.0;
    long emitted = 0;
    if (strcmp(mode, "count") == 0) {
        @PREFIX@_init(&st);
        for (long i = 0; i < n; ++i) {
            if (@PREFIX@_push(&st, samples[i], out) == @P@_EMITTED) { ++emitted; check += out[i % NF]; }
        }
        printf("{\"n\": %ld, \"emitted\": %ld, \"check\": %.17g}\n", n, emitted, check);
    } else if (strcmp(mode, "loop") == 0) {
        int repeats = argc > 3 ? atoi(argv[3]) : 5;
        printf("{\"n\": %ld, \"sizeof_state\": %zu, \"loop_ns\": [", n, sizeof st);
        for (int r = 0; r < repeats; ++r) {
            @PREFIX@_init(&st);
            emitted = 0;
            double t0 = cpu_ns();
            for (long i = 0; i < n; ++i) {
                if (@PREFIX@_push(&st, samples[i], out) == @P@_EMITTED) { ++emitted; check += out[i % NF]; }
            }
            double t1 = cpu_ns();
            printf("%s%.0f", r ? ", " : "", t1 - t0);
        }
        printf("], \"emitted\": %ld, \"check\": %.17g}\n", emitted, check);
    } else if (strcmp(mode, "perpush") == 0 || strcmp(mode, "dump") == 0) {
        int dump = strcmp(mode, "dump") == 0;
        FILE *o = fopen(argv[3], "wb");
        if (!o) { perror("open"); return 2; }
        double *ns = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
        @PREFIX@_init(&st);
        for (long i = 0; i < n; ++i) {
            double t0 = now_ns();
            int s = @PREFIX@_push(&st, samples[i], out);
            double t1 = now_ns();
            ns[i] = t1 - t0;
            if (s == @P@_EMITTED) {
                ++emitted;
                if (dump) fwrite(out, sizeof out, 1, o);
            }
        }
        if (!dump) fwrite(ns, sizeof(double), (size_t)n, o);
        fclose(o);
        printf("{\"n\": %ld, \"emitted\": %ld}\n", n, emitted);
        free(ns);
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    free(samples);
    return 0;
}
"""


class CBench:
    """A built benchmark driver around one featuriser's C (generated or naive)."""

    def __init__(
        self,
        workdir: Path,
        sources: dict[str, str],
        header: str,
        prefix: str,
        state: str,
        P: str,
        n_features: int,
        compiler: str = "gcc",
        flags: list[str] = C_FLAGS,
    ):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, text in sources.items():
            (self.dir / name).write_text(text)
        driver = (
            DRIVER.replace("@HEADER@", header)
            .replace("@P@", P)
            .replace("@PREFIX@", prefix)
            .replace("@STATE@", state)
        )
        (self.dir / "bench_driver.c").write_text(driver)
        self.exe = self.dir / "bench_driver"
        c_files = [str(self.dir / n) for n in sources if n.endswith(".c")]
        run(
            [
                compiler,
                *flags,
                "-I",
                str(self.dir),
                *c_files,
                str(self.dir / "bench_driver.c"),
                "-o",
                str(self.exe),
                "-lm",
            ]
        )
        self.prefix, self.n_features = prefix, n_features

    def write_samples(self, samples: np.ndarray, name: str = "samples.bin") -> Path:
        path = self.dir / name
        np.ascontiguousarray(samples, dtype=np.float64).tofile(path)
        return path

    def loop(self, samples_path: Path, repeats: int) -> dict:
        return json.loads(run([str(self.exe), str(samples_path), "loop", str(repeats)]).stdout)

    def perpush(self, samples_path: Path) -> np.ndarray:
        out = self.dir / "perpush.bin"
        run([str(self.exe), str(samples_path), "perpush", str(out)])
        return np.fromfile(out, dtype=np.float64)

    def dump(self, samples_path: Path) -> np.ndarray:
        out = self.dir / "vectors.bin"
        run([str(self.exe), str(samples_path), "dump", str(out)])
        return np.fromfile(out, dtype=np.float64).reshape(-1, self.n_features)

    def callgrind(self, samples_path: Path) -> tuple[int, int]:
        """(instructions executed inside ``<prefix>_push`` and its callees, pushes)."""
        out = self.dir / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--toggle-collect={self.prefix}_push",
            str(self.exe),
            str(samples_path),
            "count",
        ]
        result = run(cmd)
        info = json.loads(result.stdout.strip().splitlines()[-1])
        text = out.read_text()
        m = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.M)
        if not m:
            raise RuntimeError("no totals in callgrind output")
        return int(m.group(1)), int(info["n"])


def generated_bench(workdir: Path, files: dict, name: str) -> CBench:
    sources = {
        Path(p).name: t
        for p, t in files.items()
        if p.startswith("c/")
        and p.endswith((".c", ".h"))
        and Path(p).name.startswith(f"{name}_features")
    }
    header = f"c/{name}_features.h"
    n_features = int(re.search(rf"#define {name.upper()}_N_FEATURES (\d+)", files[header]).group(1))
    return CBench(
        workdir, sources, f"{name}_features.h", name, f"{name}_state", name.upper(), n_features
    )


def naive_bench(workdir: Path, spec, name: str) -> CBench:
    from .naive_c import generate

    prefix = f"{name}_naive"
    h, c = generate(spec, prefix)
    return CBench(
        workdir,
        {f"{prefix}.h": h, f"{prefix}.c": c},
        f"{prefix}.h",
        prefix,
        f"{prefix}_state",
        prefix.upper(),
        len(spec.feature_names),
    )


def sizeof_state_cffi(files: dict, name: str, workdir: Path) -> int:
    """sizeof(<name>_state) through cffi, with the harness's header-derived declarations."""
    from featgen.harness import CStream, build_shared_library

    c_dir = Path(workdir) / "cffi" / "c"
    c_dir.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        if rel.startswith("c/") and Path(rel).name.startswith(f"{name}_features"):
            (c_dir / Path(rel).name).write_text(text)
    lib = build_shared_library(c_dir, name)
    runtime = CStream(files[f"c/{name}_features.h"], lib, name)
    return int(runtime.ffi.sizeof(f"{name}_state"))
