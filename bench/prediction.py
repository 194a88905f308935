"""Section 4: prediction cost of the exact tree-ensemble C featgen emits, against TL2cgen's C
and XGBoost's own inplace_predict, for models of 100 / 500 / 2000 trees (depth 6) trained on
the Twist and Go features.

The models are built through the public path: a model directory (model.json +
featgen_model.json, as ``featgen train`` writes it) next to a copy of the example spec with a
``model:`` block, then ``codegen.build.generate``; the emitted ``c/<name>_model.c`` and
``c/tl2cgen/main.c`` are compiled with gcc -O2 and timed one row at a time; featgen's
``c/<name>_model_batch.c`` (``<name>_model_margins_batch``) on the whole batch in one call.
TL2cgen's C has no batch entry point (``predict`` takes one row; its Python runtime loops over
rows), so it has no batch row. XGBoost runs with nthread 1; the clock is process CPU time, which
counts every thread, so more threads would not lower XGBoost's figures.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path

import numpy as np
import yaml

from . import specs
from .common import Results, Row, median_time, run

SECTION = "4 prediction"
IDS = (
    "predict.own_c",
    "predict.own_c_batch",
    "predict.tl2cgen_c",
    "predict.xgboost",
    "predict.text_size",
)
C_FLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math"]

DRIVER = r"""
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
@INCLUDE@
#define NF @NF@
static double now_ns(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return (double)t.tv_sec * 1e9 + (double)t.tv_nsec; }
int main(int argc, char **argv)
{
    FILE *in = fopen(argv[1], "rb");
    if (!in) return 2;
    fseek(in, 0, SEEK_END);
    long n = ftell(in) / (long)sizeof(double[NF]);
    fseek(in, 0, SEEK_SET);
    double (*rows)[NF] = malloc(sizeof *rows * (size_t)n);
    if (fread(rows, sizeof *rows, (size_t)n, in) != (size_t)n) return 2;
    fclose(in);
    int repeats = atoi(argv[2]);
    float *margins = malloc(sizeof(float) * (size_t)n);
    printf("{\"n\": %ld, \"loop_ns\": [", n);
    for (int r = 0; r < repeats; ++r) {
        double t0 = now_ns();
        @LOOP@
        double t1 = now_ns();
        printf("%s%.0f", r ? ", " : "", t1 - t0);
    }
    printf("]}\n");
    FILE *o = fopen(argv[3], "wb");
    fwrite(margins, sizeof(float), (size_t)n, o);
    fclose(o);
    return 0;
}
"""
ONE_ROW_LOOP = "for (long i = 0; i < n; ++i) { @PREDICT@ }"


TL2CGEN_ONE_FUNCTION_MAX = 500  # above: TL2cgen's parallel_comp (its single function is too slow
# to compile: 842 s for 2000 trees with gcc -O2 on 2 cores)


def _tl2cgen_parallel(booster, out: Path, trees: int) -> Path:
    """TL2cgen's C for ``booster`` split over translation units (``parallel_comp``), the way
    TL2cgen's documentation suggests for large models; returns its main.c."""
    import tl2cgen
    import treelite

    from codegen.trees.tl2cgen_emit import quiet  # silences Treelite's C++ notes on fd 2 too

    out.mkdir(parents=True, exist_ok=True)
    with quiet():
        model = treelite.frontend.from_xgboost(booster)
        tl2cgen.generate_c_code(
            model, str(out), params={"parallel_comp": max(2, trees // 50)}, verbose=False
        )
    return out / "main.c"


def _compile_all(cmd: list[str], sources: list[Path], objs: list[Path], jobs: int = 2) -> None:
    import subprocess

    pending = list(zip(sources, objs))
    running: list[subprocess.Popen] = []
    while pending or running:
        while pending and len(running) < jobs:
            src, obj = pending.pop(0)
            running.append(
                subprocess.Popen(
                    [*cmd, str(src), "-o", str(obj)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
                )
            )
        proc = running.pop(0)
        _, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"compile failed: {err.decode()[-2000:]}")


def _todo(res: Results, why: str) -> None:
    for rid in IDS:
        res.add(
            Row(
                rid,
                SECTION,
                f"prediction: pending the model emitter ({rid})",
                status="TODO",
                note=why,
            )
        )


def _text_size(obj: Path, section: str = "text") -> int:
    out = run(["size", "-A", str(obj)]).stdout
    return sum(int(m.group(1)) for m in re.finditer(rf"^\.{section}\S*\s+(\d+)", out, re.M))


def _train(X: np.ndarray, y: np.ndarray, trees: int):
    import xgboost as xgb

    d = xgb.DMatrix(X, label=y)
    params = {
        "objective": "binary:logistic",
        "max_depth": 6,
        "eta": 0.1,
        "seed": 0,
        "nthread": 2,
        "tree_method": "hist",
    }
    return xgb.train(params, d, num_boost_round=trees)


def training_set(n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """The example's feature vectors over a seeded recording and a noisy label that depends on
    a few of them: what the benchmark models are trained on."""
    spec, files = specs.example()
    X, _ = specs.numpy_module(files, spec.name).featurize(
        specs.recording(n_samples, len(spec.inputs), seed=21)
    )
    rng = np.random.default_rng(0)
    score = X[:, 0] * X[:, 73] + X[:, 10] - np.median(X[:, 10])
    y = ((score > np.median(score)) ^ (rng.random(X.shape[0]) < 0.15)).astype(np.float64)
    return X, y


def model_spec(directory: Path, booster):
    """A copy of the example spec whose ``model:`` is ``booster``, in a model directory as
    ``featgen train`` writes it (model.json + featgen_model.json); returns the loaded spec."""
    from codegen.trees.model_dir import FORMAT, META_FILE, MODEL_FILE, feature_order_hash
    from featurespec import load_spec

    model = directory / "model"
    model.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model / MODEL_FILE))
    raw = (model / MODEL_FILE).read_bytes()
    doc = specs.example_document()
    doc["model"] = {"path": "model"}
    (directory / "spec.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    spec = load_spec(directory / "spec.yaml")
    meta = {
        "format": FORMAT,
        "spec_name": spec.name,
        "spec_hash": spec.spec_hash,
        "features_hash": spec.features_hash,
        "feature_order_sha256": feature_order_hash(spec.feature_names),
        "model_sha256": hashlib.sha256(raw).hexdigest(),
        "objective": "binary:logistic",
        "n_classes": 2,
        "feature_names": list(spec.feature_names),
    }
    (model / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return spec


def run_section(res: Results, work: Path) -> None:
    try:
        import tl2cgen  # noqa: F401
        import xgboost  # noqa: F401

        import codegen.trees.build  # noqa: F401
    except ImportError as exc:
        _todo(res, f"cannot import the model emitter or its tools: {exc}")
        return
    from codegen.build import generate

    quick = res.quick
    sizes = [20] if quick else [100, 500, 2000]
    name = specs.example()[0].name
    X, y = training_set(3_000 if quick else 5_000)
    rows = X[: 500 if quick else 2_000]
    rows_path = work / "rows.bin"
    work.mkdir(parents=True, exist_ok=True)
    np.ascontiguousarray(rows).tofile(rows_path)
    reps = 1 if quick else 5

    # One training run: the first T trees of a boosted model are exactly the model T rounds of
    # the same training would give (checked: identical JSON), so smaller models are slices.
    full = _train(X, y, max(sizes))
    for trees in sizes:
        booster = full[:trees]
        booster.set_param({"nthread": 1})
        d = work / f"t{trees}"
        spec = model_spec(d, booster)
        t0 = time.perf_counter()
        files = generate(spec)
        gen_s = time.perf_counter() - t0

        c_dir = d / "c"
        (c_dir / "tl2cgen").mkdir(parents=True, exist_ok=True)
        for rel, text in files.items():
            if rel.startswith(f"c/{name}_model") or rel.startswith("c/tl2cgen/"):
                (d / rel).write_text(text if isinstance(text, str) else text.decode())
        nf = len(spec.feature_names)
        # featgen's model reads the device vector: only the features the model splits on
        # (manifest "device"); TL2cgen's C and XGBoost read the full vector.
        device = json.loads(files["manifest.json"])["model"]["device"]
        columns = None if device["featuriser"] == name else [f["index"] for f in device["features"]]
        model_rows = rows_path
        if columns is not None:
            model_rows = d / "model_rows.bin"
            np.ascontiguousarray(rows[:, columns]).tofile(model_rows)
        results = {}
        for which, src, include, loop in (
            (
                "own",
                c_dir / f"{name}_model.c",
                f'#include "{name}_model.h"',
                ONE_ROW_LOOP.replace("@PREDICT@", f"{name}_model_margins(rows[i], &margins[i]);"),
            ),
            (
                "own_batch",
                c_dir / f"{name}_model_batch.c",
                f'#include "{name}_model.h"',
                f"{name}_model_margins_batch(&rows[0][0], (size_t)n, margins);",
            ),
            (
                "tl2cgen",
                c_dir / "tl2cgen" / "main.c",
                '#include "header.h"',
                ONE_ROW_LOOP.replace(
                    "@PREDICT@",
                    "union Entry e[NF]; for (int j = 0; j < NF; ++j) e[j].fvalue = (float)rows[i][j]; "
                    "margins[i] = 0.0f; predict(e, 1, &margins[i]);",
                ),
            ),
        ):
            flags = ["-O2"] if which == "tl2cgen" else C_FLAGS
            if which == "tl2cgen" and trees > TL2CGEN_ONE_FUNCTION_MAX:
                src = _tl2cgen_parallel(booster, d / "tl2cgen_parallel", trees)
            sources = sorted(src.parent.glob("*.c")) if which == "tl2cgen" else [src]
            objs = [s_.with_suffix(".o") for s_ in sources]
            t0 = time.perf_counter()
            _compile_all(["gcc", *flags, "-c", "-I", str(src.parent)], sources, objs)
            compile_s = time.perf_counter() - t0
            drv_c = d / f"driver_{which}.c"
            own_c = which != "tl2cgen"
            width = len(columns) if own_c and columns is not None else nf
            drv_c.write_text(
                DRIVER.replace("@INCLUDE@", include)
                .replace("@NF@", str(width))
                .replace("@LOOP@", loop)
            )
            exe = d / f"driver_{which}"
            run(
                [
                    "gcc",
                    *flags,
                    "-I",
                    str(src.parent),
                    str(drv_c),
                    *map(str, objs),
                    "-o",
                    str(exe),
                    "-lm",
                ]
            )
            out_path = src.parent / f"margins_{which}.bin"
            info = json.loads(
                run(
                    [str(exe), str(model_rows if own_c else rows_path), str(reps), str(out_path)]
                ).stdout
            )
            results[which] = {
                "ns": float(np.median(info["loop_ns"])) / info["n"],
                "repeats": [x / info["n"] for x in info["loop_ns"]],
                "compile_s": compile_s,
                "text": sum(_text_size(o) for o in objs),
                "rodata": sum(_text_size(o, "rodata") for o in objs),
                "units": len(objs),
                "margins": np.fromfile(out_path, dtype=np.float32),
            }
        xgb_margin = booster.inplace_predict(rows, predict_type="margin").astype(np.float32)
        for r in results.values():
            r["exact"] = float(np.mean(r["margins"].view(np.int32) == xgb_margin.view(np.int32)))

        n_single = 50 if quick else 200
        t1, times1 = median_time(
            lambda: [
                booster.inplace_predict(rows[i : i + 1], predict_type="margin")
                for i in range(n_single)
            ],
            reps,
        )
        t1 /= n_single
        batch = rows
        tb, timesb = median_time(
            lambda: booster.inplace_predict(batch, predict_type="margin"), reps
        )
        tb /= batch.shape[0]
        own, tl, ob = results["own"], results["tl2cgen"], results["own_batch"]
        p = {
            "trees": trees,
            "max_depth": 6,
            "features": nf,
            "features_read_by_own_c": nf if columns is None else len(columns),
        }
        res.add(
            Row(
                "predict.own_c",
                SECTION,
                f"featgen C, {trees} trees: one row",
                own["ns"],
                "ns/row",
                params={**p, "compile_s": own["compile_s"], "generate_s": gen_s},
                repeats=own["repeats"],
                note=f"margins bit-equal to XGBoost on {own['exact']:.1%} of "
                f"{rows.shape[0]} rows; gcc -O2 compile {own['compile_s']:.1f} s",
            )
        )
        res.add(
            Row(
                "predict.tl2cgen_c",
                SECTION,
                f"  TL2cgen C, {trees} trees: one row",
                tl["ns"],
                "ns/row",
                peer="featgen C",
                ratio=tl["ns"] / own["ns"],
                params={**p, "compile_s": tl["compile_s"]},
                repeats=tl["repeats"],
                note=f"bit-equal to XGBoost on {tl['exact']:.1%}; gcc -O2 compile "
                f"{tl['compile_s']:.1f} s"
                + (
                    f" ({tl['units']} files, parallel_comp, 2 jobs: TL2cgen's default "
                    "single function, as shipped in c/tl2cgen/, took 842 s to compile "
                    "at 2000 trees here)"
                    if tl["units"] > 2
                    else " (as shipped in c/tl2cgen/: one function)"
                ),
            )
        )
        res.add(
            Row(
                "predict.xgboost",
                SECTION,
                f"  XGBoost inplace_predict, {trees} trees: one row per call (nthread 1)",
                t1 * 1e9,
                "ns/row",
                peer="featgen C",
                ratio=t1 * 1e9 / own["ns"],
                params=p,
                repeats=[x / n_single * 1e9 for x in times1],
            )
        )
        res.add(
            Row(
                "predict.own_c_batch",
                SECTION,
                f"featgen C, {trees} trees: batch of {rows.shape[0]} rows "
                f"({name}_model_margins_batch)",
                ob["ns"],
                "ns/row",
                peer="XGBoost inplace_predict batch",
                ratio=tb * 1e9 / ob["ns"],
                params={**p, "batch": rows.shape[0], "compile_s": ob["compile_s"]},
                repeats=ob["repeats"],
                note=f"margins bit-equal to XGBoost on {ob['exact']:.1%}; "
                f"{own['ns'] / ob['ns']:.2f}x featgen's one-row speed; node tables "
                f"{ob['rodata']:,} B .rodata + {ob['text']:,} B .text; gcc -O2 "
                f"compile {ob['compile_s']:.1f} s",
            )
        )
        res.add(
            Row(
                "predict.xgboost",
                SECTION,
                f"  XGBoost inplace_predict, {trees} trees: batch of {batch.shape[0]} rows "
                "(nthread 1)",
                tb * 1e9,
                "ns/row",
                peer="featgen C",
                ratio=tb * 1e9 / own["ns"],
                params={**p, "batch": batch.shape[0], "nthread": 1},
                repeats=[x / batch.shape[0] * 1e9 for x in timesb],
                note="ratio against featgen's one-row function; against its batch function "
                "see the row above; process CPU time counts all of XGBoost's threads",
            )
        )
        res.add(
            Row(
                "predict.text_size",
                SECTION,
                f"  .text of featgen C, {trees} trees",
                own["text"],
                "bytes",
                peer="TL2cgen C",
                ratio=tl["text"] / own["text"],
                params=p,
                note=f"TL2cgen .text {tl['text']:,} B",
            )
        )
