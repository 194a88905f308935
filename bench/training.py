"""Section 1: training featurisation (windows/second), peers, scaling and peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from . import cbench, specs
from .common import ROOT, Results, Row, median_time

SECTION = "1 training featurisation"
L = specs.SHARED_WINDOW
COLUMNS = specs.SHARED_KINDS

DEFINITIONS = {
    "featgen": "zero_crossings: sign changes between consecutive non-zero samples (exact zeros "
    "skipped); std ddof 0; slope = least squares against the index; energy = sum x^2",
    "tsfel": "zero_cross = len(np.where(np.diff(np.sign(x)))[0]): a step to or from an exact 0 "
    "counts (1, 0, -1 is 2 crossings; featgen: 1); calc_std = np.std (ddof 0); slope = "
    "np.polyfit(t, x, 1)[0]; rms = sqrt(sum(x**2)/n); abs_energy = sum(|x|**2)",
    "tsfresh": "number_crossing_m(x, 0) counts changes of (x > 0): an exact 0 is 'not positive' "
    "(1, 0, 1 is 2 crossings; featgen: 0); standard_deviation = np.std (ddof 0); "
    "linear_trend slope = scipy.stats.linregress; abs_energy = np.dot(x, x)",
    "plain numpy": "np.mean, np.std, np.min, np.max, sqrt(mean(w*w)), featgen's crossing rule "
    "on w[w != 0], np.dot(w, w), np.dot(k - c, w - mean) / D per window",
}


# ------------------------------------------------------------------ the per-window peers


def plain_numpy(x: np.ndarray, n: int) -> np.ndarray:
    k = np.arange(L, dtype=np.float64) - (L - 1) / 2
    D = L * (L * L - 1) / 12
    out = np.empty((n, len(COLUMNS)))
    for i in range(n):
        w = x[i : i + L]
        m = np.mean(w)
        s = np.sign(w[w != 0])
        out[i] = (
            m,
            np.std(w),
            np.min(w),
            np.max(w),
            np.sqrt(np.mean(w * w)),
            np.count_nonzero(s[1:] != s[:-1]),
            np.dot(w, w),
            np.dot(k, w - m) / D,
        )
    return out


def tsfel_loop(x: np.ndarray, n: int) -> np.ndarray:
    from tsfel.feature_extraction import features as F

    out = np.empty((n, len(COLUMNS)))
    for i in range(n):
        w = x[i : i + L]
        out[i] = (
            F.calc_mean(w),
            F.calc_std(w),
            F.calc_min(w),
            F.calc_max(w),
            F.rms(w),
            F.zero_cross(w),
            F.abs_energy(w),
            F.slope(w),
        )
    return out


def tsfresh_loop(x: np.ndarray, n: int) -> np.ndarray:
    from tsfresh.feature_extraction import feature_calculators as fc

    trend = [{"attr": "slope"}]
    out = np.empty((n, len(COLUMNS)))
    for i in range(n):
        w = x[i : i + L]
        out[i] = (
            fc.mean(w),
            fc.standard_deviation(w),
            fc.minimum(w),
            fc.maximum(w),
            fc.root_mean_square(w),
            fc.number_crossing_m(w, 0),
            fc.abs_energy(w),
            fc.linear_trend(w, trend)[0][1],
        )
    return out


TSFRESH_PARAMS = {
    "mean": None,
    "standard_deviation": None,
    "minimum": None,
    "maximum": None,
    "root_mean_square": None,
    "number_crossing_m": [{"m": 0}],
    "abs_energy": None,
    "linear_trend": [{"attr": "slope"}],
}
TSFRESH_COLUMNS = [
    "x__mean",
    "x__standard_deviation",
    "x__minimum",
    "x__maximum",
    "x__root_mean_square",
    "x__number_crossing_m__m_0",
    "x__abs_energy",
    'x__linear_trend__attr_"slope"',
]


def tsfresh_rolled(x: np.ndarray, n: int):
    """The long DataFrame a tsfresh user builds with roll_time_series (windows of exactly L)."""
    import pandas as pd
    from tsfresh.utilities.dataframe_functions import roll_time_series

    df = pd.DataFrame({"id": 0, "time": np.arange(n + L - 1), "x": x[: n + L - 1]})
    return roll_time_series(
        df,
        column_id="id",
        column_sort="time",
        max_timeshift=L - 1,
        min_timeshift=L - 1,
        n_jobs=0,
        disable_progressbar=True,
    )


def tsfresh_extract(rolled) -> np.ndarray:
    from tsfresh import extract_features

    feats = extract_features(
        rolled,
        column_id="id",
        column_sort="time",
        default_fc_parameters=TSFRESH_PARAMS,
        n_jobs=0,
        disable_progressbar=True,
    )
    feats = feats.sort_index()
    return feats[TSFRESH_COLUMNS].to_numpy(dtype=np.float64)


def rel_diffs(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    n = min(a.shape[0], b.shape[0])
    a, b = a[:n], b[:n]
    scale = np.maximum(np.abs(a), np.abs(b))
    rel = np.where(a == b, 0.0, np.abs(a - b) / np.where(scale == 0, 1.0, scale))
    return {c: float(rel[:, j].max()) for j, c in enumerate(COLUMNS)}


# ------------------------------------------------------------------ the section


def run_section(res: Results, work: Path) -> None:
    quick = res.quick
    work = Path(work)
    shared_spec, shared_files = specs.shared()
    shared_mod = specs.numpy_module(shared_files, shared_spec.name)
    ex_spec, ex_files = specs.example()
    ex_mod = specs.numpy_module(ex_files, ex_spec.name)
    reps = 1 if quick else 5

    env_note = ", ".join(f"{k}={v}" for k, v in _blas_env().items())
    res.notes.append(
        f"numpy benchmarks run with {env_note} (left as set on this machine; "
        "featgen's generated numpy calls no BLAS routine, so they should not matter)"
    )

    # ---- Twist and Go, all its features -------------------------------------------------
    n_win = 2_000 if quick else 100_000
    x6 = specs.recording(n_win + ex_spec.max_length - 1, len(ex_spec.inputs))
    t, times = median_time(lambda: ex_mod.featurize(x6), 1 if quick else 3)
    feats, _ = ex_mod.featurize(x6)
    ex_rate = feats.shape[0] / t
    res.add(
        Row(
            "train.example.featgen_numpy",
            SECTION,
            f"Twist and Go ({ex_spec.name}, {len(ex_spec.feature_names)} features): "
            "featgen numpy featurize",
            ex_rate,
            "windows/s",
            params={"windows": feats.shape[0]},
            repeats=times,
            note=f"{ex_rate * len(ex_spec.feature_names) / 1e6:.1f} M feature values/s",
        )
    )
    c_rate_ex, c_e2e_ex = _c_batch(
        res,
        work / "c_example",
        ex_files,
        ex_spec.name,
        x6,
        feats,
        "train.example",
        "Twist and Go",
        reps,
    )
    for row_id, rate in (("train.example.c_loop", c_rate_ex), ("train.example.c_driver", c_e2e_ex)):
        row = next(r for r in res.rows if r.id == row_id)
        row.peer, row.ratio = "featgen numpy", ex_rate / rate if rate else None

    # ---- the shared features -----------------------------------------------------------
    n_win = 3_000 if quick else 100_000
    x = specs.recording(n_win + L - 1, 1)
    col = x[:, 0].copy()
    t, times = median_time(lambda: shared_mod.featurize(x), reps)
    ref, _ = shared_mod.featurize(x)
    fg_rate = ref.shape[0] / t
    res.add(
        Row(
            "train.shared.featgen_numpy",
            SECTION,
            f"shared 8 features, 1 signal, window {L} hop 1: featgen numpy featurize",
            fg_rate,
            "windows/s",
            params={"windows": ref.shape[0]},
            repeats=times,
        )
    )

    # chunked: the same generated function on blocks of windows (cache-sized temporaries)
    block = 8192

    def chunked():
        parts = []
        for i in range(0, n_win, block):
            parts.append(shared_mod.featurize(x[i : i + block + L - 1])[0])
        return np.concatenate(parts)

    t, times = median_time(chunked, reps)
    same = bool(np.array_equal(chunked().view(np.int64), ref.view(np.int64)))
    res.add(
        Row(
            "train.shared.featgen_numpy_chunked",
            SECTION,
            f"  same, called on blocks of {block} windows (what streaming through the "
            "recording would give)",
            n_win / t,
            "windows/s",
            peer="featgen numpy",
            ratio=fg_rate / (n_win / t),
            params={"block": block},
            repeats=times,
            note="bit-identical to one call" if same else "DIFFERS from one call",
        )
    )

    c_rate, c_e2e = _c_batch(
        res,
        work / "c_shared",
        shared_files,
        shared_spec.name,
        x,
        ref,
        "train.shared",
        "shared 8",
        reps,
    )
    for row_id, rate in (("train.shared.c_loop", c_rate), ("train.shared.c_driver", c_e2e)):
        row = next(r for r in res.rows if r.id == row_id)
        row.peer, row.ratio = "featgen numpy", fg_rate / rate if rate else None
    for prefix, numpy_rate, rate in (
        ("train.example", ex_rate, c_rate_ex),
        ("train.shared", fg_rate, c_rate),
    ):
        row = next(r for r in res.rows if r.id == f"{prefix}.c_loop")
        row.note = (
            f"goal numpy within 3x of C: {'met' if numpy_rate * 3 >= rate else 'NOT met'}"
            f" (numpy {rate / numpy_rate:.1f}x slower)"
        )

    checks = {}
    # plain numpy per-window loop
    n_peer = 500 if quick else 20_000
    t, times = median_time(lambda: plain_numpy(col, n_peer), 1 if quick else 3, warmup=0)
    checks["plain numpy"] = rel_diffs(ref, plain_numpy(col, n_peer))
    res.add(
        Row(
            "train.shared.plain_numpy",
            SECTION,
            "  plain numpy, per-window Python loop",
            n_peer / t,
            "windows/s",
            peer="featgen numpy",
            ratio=fg_rate / (n_peer / t),
            params={"windows": n_peer},
            repeats=times,
            note=f"max rel diff {max(checks['plain numpy'].values()):.1e}",
        )
    )

    # TSFEL
    n_peer = 300 if quick else 10_000
    try:
        import tsfel  # noqa: F401
    except ImportError as exc:
        res.missing(
            "train.shared.tsfel",
            SECTION,
            "  TSFEL per-window feature functions",
            f"tsfel is not installed ({exc}); pip install '.[bench]'",
        )
    else:
        t, times = median_time(lambda: tsfel_loop(col, n_peer), 1 if quick else 3, warmup=0)
        checks["tsfel"] = rel_diffs(ref, tsfel_loop(col, n_peer))
        rate = n_peer / t
        res.add(
            Row(
                "train.shared.tsfel",
                SECTION,
                "  TSFEL per-window feature functions",
                rate,
                "windows/s",
                peer="featgen numpy",
                ratio=fg_rate / rate,
                params={"windows": n_peer},
                repeats=times,
                note=f"max rel diff {max(checks['tsfel'].values()):.1e}; goal >= 100x: "
                f"{'met' if fg_rate / rate >= 100 else 'NOT met'} "
                f"({fg_rate / rate:.0f}x; chunked "
                f"{next(r for r in res.rows if r.id.endswith('chunked')).value / rate:.0f}x)",
            )
        )

    # tsfresh: calculators per window, and extract_features on rolled windows
    try:
        import tsfresh  # noqa: F401
    except ImportError as exc:
        for rid, label in (
            ("train.shared.tsfresh_calculators", "  tsfresh feature calculators, per-window loop"),
            (
                "train.shared.tsfresh_extract",
                "  tsfresh extract_features on roll_time_series windows",
            ),
        ):
            res.missing(
                rid, SECTION, label, f"tsfresh is not installed ({exc}); pip install '.[bench]'"
            )
    else:
        n_peer = 200 if quick else 5_000
        t, times = median_time(lambda: tsfresh_loop(col, n_peer), 1 if quick else 3, warmup=0)
        checks["tsfresh calculators"] = rel_diffs(ref, tsfresh_loop(col, n_peer))
        rate = n_peer / t
        res.add(
            Row(
                "train.shared.tsfresh_calculators",
                SECTION,
                "  tsfresh feature calculators, per-window loop",
                rate,
                "windows/s",
                peer="featgen numpy",
                ratio=fg_rate / rate,
                params={"windows": n_peer},
                repeats=times,
                note=f"max rel diff {max(checks['tsfresh calculators'].values()):.1e}",
            )
        )
        n_peer = 200 if quick else 2_000
        t0 = time.perf_counter()
        rolled = tsfresh_rolled(col, n_peer)
        roll_s = time.perf_counter() - t0
        t, times = median_time(lambda: tsfresh_extract(rolled), 1 if quick else 3, warmup=0)
        checks["tsfresh extract_features"] = rel_diffs(ref, tsfresh_extract(rolled))
        rate = n_peer / t
        res.add(
            Row(
                "train.shared.tsfresh_extract",
                SECTION,
                "  tsfresh extract_features on roll_time_series windows (n_jobs=0)",
                rate,
                "windows/s",
                peer="featgen numpy",
                ratio=fg_rate / rate,
                params={"windows": n_peer, "roll_time_series_s": roll_s},
                repeats=times,
                note=f"max rel diff {max(checks['tsfresh extract_features'].values()):.1e}; "
                f"roll_time_series itself: {n_peer / roll_s:.0f} windows/s",
            )
        )
    res.checks["shared_features_max_rel_diff_vs_featgen"] = checks
    res.checks["shared_feature_definitions"] = DEFINITIONS
    for who, text in DEFINITIONS.items():
        res.notes.append(f"definitions, {who}: {text}")
    res.notes.append(
        "the shared-feature recording is smooth IMU-like motion with no exact zeros, "
        "so the three zero-crossing rules give the same counts on it (max rel diff "
        "above includes them)"
    )

    _by_kind(res, work / "by_kind", quick)
    _scaling(res, quick)


def _by_kind(res: Results, work: Path, quick: bool) -> None:
    """Cost of each feature kind of the example on its own (a spec with only that kind, over the
    same signals and windows): where the numpy (and C) time goes."""
    import yaml

    from codegen.build import generate

    doc = specs.example_document()
    kinds: dict[str, list[dict]] = {}
    for entry in doc["features"]:
        for k in entry["compute"] if isinstance(entry["compute"], list) else [entry["compute"]]:
            kinds.setdefault(k, []).append(entry)
    if quick:
        kinds = {k: v for k, v in kinds.items() if k in ("histogram", "mean", "zero_crossings")}
    n_win = 1_000 if quick else 20_000
    x = specs.recording(n_win + 99, len(doc["inputs"]), seed=3)
    measured = []
    for kind, entries in kinds.items():
        d = yaml.safe_load(yaml.safe_dump(doc))
        d["features"] = [dict(e, compute=[kind]) for e in entries]
        used = {
            w
            for e in d["features"]
            for w in (e["over"] if isinstance(e["over"], list) else [e["over"]])
        }
        d["windows"] = {k: v for k, v in d["windows"].items() if k in used}
        d["name"] = f"kind_{kind}"
        spec = specs.spec_from_document(d)
        files = generate(spec)
        module = specs.numpy_module(files, spec.name)
        t, _ = median_time(lambda: module.featurize(x), 1 if quick else 3)
        c_ns = None
        if not quick:
            b = cbench.generated_bench(work / kind, files, spec.name)
            c_ns = float(np.median(b.loop(b.write_samples(x), 3)["loop_ns"])) / x.shape[0]
        measured.append((kind, len(spec.feature_names), t / n_win * 1e9, c_ns))
    total = sum(m[2] for m in measured)
    for kind, cols, ns, c_ns in sorted(measured, key=lambda m: -m[2]):
        res.add(
            Row(
                "train.example.by_kind",
                SECTION,
                f"  Twist and Go cost by kind: {kind} ({cols} columns) alone",
                ns,
                "numpy ns/window",
                params={"kind": kind, "columns": cols, "c_ns_per_push": c_ns},
                note=f"{ns / total:.0%} of the sum over kinds"
                + (f"; C {c_ns:,.0f} ns/push" if c_ns is not None else "")
                + "; each includes ~0.5 us of signals and output assembly",
            )
        )


def _blas_env() -> dict:
    import os

    return {k: os.environ.get(k, "(unset)") for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


def _c_batch(
    res: Results,
    work: Path,
    files: dict,
    name: str,
    samples: np.ndarray,
    ref: np.ndarray,
    prefix: str,
    label: str,
    reps: int,
) -> tuple[float, float]:
    """The generated C over the same recording: in-process push loop (bench driver) and the
    harness's stream driver end to end (process start, file I/O, every vector written)."""
    from featgen.harness import driver_target, same_bits

    bench = cbench.generated_bench(work / "bench", files, name)
    path = bench.write_samples(samples)
    info = bench.loop(path, reps)
    t = float(np.median(info["loop_ns"])) / 1e9
    rate = info["emitted"] / t
    res.add(
        Row(
            f"{prefix}.c_loop",
            SECTION,
            "  generated C (gcc -O2), in-process push loop over the same recording",
            rate,
            "windows/s",
            params={"windows": info["emitted"]},
            repeats=[x / 1e9 for x in info["loop_ns"]],
            note="ratio = numpy / C; goal: numpy within 3x of C (ratio >= 0.33)",
        )
    )
    target = driver_target(files, name, work / "driver", ["gcc", *cbench.C_FLAGS], label="C driver")
    out = {}

    def stream():
        out["v"] = target.stream(samples)

    t, times = median_time(stream, reps, clock=time.perf_counter)  # wall: a child process
    identical = bool(same_bits(out["v"][0], ref).all()) and out["v"][0].shape == ref.shape
    res.add(
        Row(
            f"{prefix}.c_driver",
            SECTION,
            "  generated C via harness.driver_target (gcc -O2), end to end",
            out["v"][0].shape[0] / t,
            "windows/s",
            params={"windows": out["v"][0].shape[0]},
            repeats=times,
            note=("bit-identical to numpy" if identical else "DIFFERS from numpy")
            + "; includes process start and "
            "writing/reading every vector through files",
        )
    )
    return rate, out["v"][0].shape[0] / t


def _scaling(res: Results, quick: bool) -> None:
    sizes = [1_000, 10_000] if quick else [1_000, 10_000, 100_000, 1_000_000]
    block = 8192
    for which, label, chunk in (
        ("shared8", "shared 8", 0),
        ("shared8", "shared 8", block),
        ("twist_and_go", "Twist and Go", 0),
    ):
        for n in sizes:
            large = n >= 1_000_000 or (which == "twist_and_go" and n >= 100_000)
            reps = 1 if (quick or large) else 3
            # timed runs never run under tracemalloc (it slows the Python-level EMA loop); the
            # traced run is extra, skipped for Twist and Go at 10^6 (RSS high-water mark only)
            tm = 0 if (which == "twist_and_go" and n >= 1_000_000) else 1
            cmd = [sys.executable, "-m", "bench.memprobe", which, str(n), str(reps), str(tm)]
            if chunk:
                cmd.append(str(chunk))
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
            if out.returncode != 0:
                raise RuntimeError(f"memprobe failed: {out.stderr[-2000:]}")
            info = json.loads(out.stdout.strip().splitlines()[-1])
            t = float(np.median(info["seconds"]))
            traced = info["traced_peak"]
            rss = max((p for p in info["rss_peak_delta"] if p is not None), default=None)
            peak = traced if traced is not None else rss
            out_b = info["output_bytes"]
            rid = f"train.scaling.{which}" + ("_blocks" if chunk else "")
            what = f"scaling {label}" + (f" in blocks of {chunk}" if chunk else "")
            traced_txt = f"{traced / 1e6:,.1f} MB traced, " if traced is not None else ""
            rss_txt = f"RSS +{rss / 1e6:,.1f} MB" if rss is not None else "RSS n/a"
            res.add(
                Row(
                    rid,
                    SECTION,
                    f"{what}: {n:>9,} windows",
                    info["vectors"] / t,
                    "windows/s",
                    params={
                        "windows": n,
                        "block": chunk,
                        "output_mb": out_b / 1e6,
                        "traced_peak_mb": traced / 1e6 if traced is not None else None,
                        "rss_peak_delta_mb": rss / 1e6 if rss is not None else None,
                        "peak_over_output": peak / out_b if peak else None,
                        "input_mb": info["input_bytes"] / 1e6,
                    },
                    repeats=info["seconds"],
                    note=f"peak {traced_txt}{rss_txt} for {out_b / 1e6:,.1f} MB of output"
                    + (f" = {peak / out_b:.2f}x output" if peak else ""),
                )
            )
