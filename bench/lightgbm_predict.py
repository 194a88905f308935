"""LightGBM's own predict and lleaves (LightGBM compiled by LLVM) against featgen's C, on the same
LightGBM model, one row and a batch, medians and ratios side by side in one run:

    python3 -m bench.lightgbm_predict [--trees 300] [--leaves 31] [--rows 10000] [--repeats 7]

The model is trained here (seeded, 8 features, binary) and shipped the way a user ships it
(``featgen import-model model.txt``, then ``codegen.build.generate``); featgen's
``c/<name>_model.c`` (one row) and ``c/<name>_model_batch.c`` are compiled with gcc -O2 and timed
in C. LightGBM runs with num_threads 1, lleaves with n_jobs 1. Every clock is process CPU time
(this VM is shared; see bench/README.md). "one row" is one call per row (for the Python
libraries that includes the call's overhead, which is what an app calling them per vector
pays); "batch" is one call on every row, per row. The run also counts rows whose margin is not
bit-equal to LightGBM's raw score, for featgen and for lleaves.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from .common import run

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "@NAME@_model.h"
#define NF @NF@
static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec; }
int main(int argc, char **argv)
{
    FILE *in = fopen(argv[1], "rb");
    long n;
    int repeats = atoi(argv[2]);
    double (*rows)[NF];
    double *one, *many;
    if (!in) return 2;
    fseek(in, 0, SEEK_END);
    n = ftell(in) / (long)sizeof(double[NF]);
    fseek(in, 0, SEEK_SET);
    rows = malloc(sizeof *rows * (size_t)n);
    one = malloc(sizeof(double) * (size_t)n);
    many = malloc(sizeof(double) * (size_t)n);
    if (fread(rows, sizeof *rows, (size_t)n, in) != (size_t)n) return 2;
    fclose(in);
    printf("{\"one_ns\": [");
    for (int r = 0; r < repeats; ++r) {
        double t0 = now_ns();
        for (long i = 0; i < n; ++i) @NAME@_model_margins(rows[i], &one[i]);
        printf("%s%.0f", r ? ", " : "", now_ns() - t0);
    }
    printf("], \"batch_ns\": [");
    for (int r = 0; r < repeats; ++r) {
        double t0 = now_ns();
        @NAME@_model_margins_batch(&rows[0][0], (size_t)n, many);
        printf("%s%.0f", r ? ", " : "", now_ns() - t0);
    }
    printf("]}\n");
    FILE *o = fopen(argv[3], "wb");
    fwrite(one, sizeof(double), (size_t)n, o);
    fwrite(many, sizeof(double), (size_t)n, o);
    fclose(o);
    return 0;
}
"""

SPEC = """\
spec: featgen/v1
name: lgbbench
sample_rate_hz: 50
inputs: [acc_x, gyro_y]
windows:
  short: {length: 10, hop: 1}
features:
  - compute: [mean, std, min, max]
    of: [acc_x, gyro_y]
    over: [short]
model: {path: model}
"""


LLEAVES = r"""
import json, statistics, sys, time
import numpy as np
import lleaves
work, rows_n, nf, k, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rows = np.fromfile(work + "/rows.bin", dtype=np.float64).reshape(rows_n, nf)
model = lleaves.Model(model_file=work + "/model.txt")
t0 = time.perf_counter()
model.compile(cache=work + "/lleaves.bin", raw_score=True)
compile_s = time.perf_counter() - t0
def cpu(fn):
    t0 = time.process_time(); fn(); return time.process_time() - t0
single = [rows[i:i + 1] for i in range(k)]
one = statistics.median(cpu(lambda: [model.predict(r, n_jobs=1) for r in single]) for _ in range(max(3, repeats // 2))) / k
batch = statistics.median(cpu(lambda: model.predict(rows, n_jobs=1)) for _ in range(repeats)) / rows_n
np.asarray(model.predict(rows, n_jobs=1), dtype=np.float64).tofile(work + "/lleaves.out")
import importlib.metadata as md
print(json.dumps({"one_s": one, "batch_s": batch, "compile_s": compile_s,
                  "lleaves": md.version("lleaves"), "llvmlite": md.version("llvmlite")}))
"""


def measure_lleaves(python: str, work: Path, args, k: int) -> tuple[str, dict | None]:
    """lleaves' timings from ``python`` (a child process: lleaves may need another llvmlite
    than this interpreter's), or (the reason it could not run, None)."""
    result = subprocess.run(
        [python, "-c", LLEAVES, str(work), str(args.rows), "8", str(k), str(args.repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return f"lleaves NOT MEASURED with {python}: {last}", None
    ll = json.loads(result.stdout.strip().splitlines()[-1])
    return (
        f"lleaves {ll['lleaves']} (llvmlite {ll['llvmlite']}, {python}): compiled in "
        f"{ll['compile_s']:.1f} s wall"
    ), ll


def cpu(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0


def median_per_row(fn, rows: int, repeats: int) -> float:
    """Median over repeats of CPU seconds per row."""
    return statistics.median(cpu(fn) for _ in range(repeats)) / rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trees", type=int, default=300)
    parser.add_argument("--leaves", type=int, default=31)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument(
        "--one-row-calls",
        type=int,
        default=2_000,
        help="rows timed one call each for the Python libraries",
    )
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--lleaves-python",
        default=sys.executable,
        help="the Python that runs lleaves (lleaves 1.3 needs llvmlite < 0.45, "
        "older than numba's: a venv with lleaves and llvmlite 0.44)",
    )
    args = parser.parse_args()

    import lightgbm
    import pandas as pd

    from codegen.build import generate
    from featgen.import_model import import_model
    from featurespec import load_spec

    work = Path(tempfile.mkdtemp(prefix="lgbbench-"))
    (work / "spec.yaml").write_text(SPEC)
    spec = load_spec(str(work / "spec.yaml"))
    names = list(spec.feature_names)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20_000, len(names)))
    X[rng.random(X.shape) < 0.05] = np.nan
    y = (
        (
            np.nan_to_num(X[:, 0])
            + np.sin(np.nan_to_num(X[:, 1]) * 2)
            + rng.normal(scale=0.5, size=len(X))
        )
        > 0
    ).astype(int)
    booster = lightgbm.train(
        {
            "objective": "binary",
            "num_leaves": args.leaves,
            "verbose": -1,
            "num_threads": 1,
            "seed": 0,
            "deterministic": True,
        },
        lightgbm.Dataset(pd.DataFrame(X, columns=names), y),
        args.trees,
    )
    booster.save_model(str(work / "model.txt"))
    import_model(work / "model.txt", spec, work / "model")
    files = generate(load_spec(str(work / "spec.yaml")))
    name = spec.name
    for stem in ("model.h", "model.c", "model_batch.c"):
        (work / f"{name}_{stem}").write_text(files[f"c/{name}_{stem}"])
    (work / "driver.c").write_text(DRIVER.replace("@NAME@", name).replace("@NF@", str(len(names))))
    exe = work / "driver"
    run(
        [
            "gcc",
            "-std=c99",
            "-O2",
            "-ffp-contract=off",
            "-fno-fast-math",
            "-o",
            str(exe),
            str(work / "driver.c"),
            str(work / f"{name}_model.c"),
            str(work / f"{name}_model_batch.c"),
            "-lm",
        ]
    )

    rows = rng.normal(size=(args.rows, len(names)))
    rows[rng.random(rows.shape) < 0.05] = np.nan
    rows = np.ascontiguousarray(rows)
    rows.tofile(work / "rows.bin")
    out = run([str(exe), str(work / "rows.bin"), str(args.repeats), str(work / "out.bin")]).stdout
    c = json.loads(out)
    both = np.fromfile(work / "out.bin", dtype=np.float64)
    c_one, c_batch = both[: args.rows], both[args.rows :]

    raw = booster.predict(rows, raw_score=True, num_threads=1)
    figures = {}
    figures["featgen C"] = (
        statistics.median(c["one_ns"]) / args.rows * 1e-9,
        statistics.median(c["batch_ns"]) / args.rows * 1e-9,
    )
    k = args.one_row_calls
    single = [rows[i : i + 1] for i in range(k)]
    figures["LightGBM predict"] = (
        median_per_row(
            lambda: [booster.predict(r, raw_score=True, num_threads=1) for r in single],
            k,
            max(3, args.repeats // 2),
        ),
        median_per_row(
            lambda: booster.predict(rows, raw_score=True, num_threads=1), args.rows, args.repeats
        ),
    )
    differ = {
        "featgen C": int(
            (c_one.view(np.uint64) != raw.view(np.uint64)).sum()
            + (c_batch.view(np.uint64) != raw.view(np.uint64)).sum()
        )
    }
    lleaves_note, ll = measure_lleaves(args.lleaves_python, work, args, k)
    if ll is None:
        figures["lleaves"] = None
    else:
        figures["lleaves"] = (ll["one_s"], ll["batch_s"])
        raw_ll = np.fromfile(work / "lleaves.out", dtype=np.float64)
        differ["lleaves"] = int((raw_ll.view(np.uint64) != raw.view(np.uint64)).sum())
    base_one, base_batch = figures["LightGBM predict"]
    lines = [
        (
            f"LightGBM model: {args.trees} trees, {args.leaves} leaves, {len(names)} "
            f"features; {args.rows} rows (5 % NaN); "
            f"{platform.processor() or platform.machine()}, LightGBM {lightgbm.__version__}; "
            f"process CPU time, medians of {args.repeats} repeats"
        ),
        (
            f"{'':18} {'one row (us/row)':>17} {'x LightGBM':>10} {'batch (ns/row)':>15} "
            f"{'x LightGBM':>10} {'rows != raw_score':>17}"
        ),
    ]
    for label, value in figures.items():
        if value is None:
            lines.append(f"{label:18} {lleaves_note}")
            continue
        one, batch = value
        lines.append(
            f"{label:18} {one * 1e6:17.3f} {base_one / one:9.1f}x {batch * 1e9:15.1f} "
            f"{base_batch / batch:9.1f}x {differ.get(label, 0):17d}"
        )
    lines.append(lleaves_note)
    print("\n".join(lines))
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "figures_seconds_per_row": figures,
                    "rows_differing": differ,
                    "args": vars(args) | {"json": str(args.json)},
                },
                indent=2,
                default=str,
            )
        )
    return 1 if differ["featgen C"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
