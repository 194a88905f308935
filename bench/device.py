"""Section 2: on-device cost of the generated C and Swift (ns per push, state size,
instructions per push) against a naive from-scratch C (bench/naive_c.py), on the Twist and Go
featuriser as ``featgen build`` emits it (shared work on)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from . import cbench, specs
from .common import Results, Row, find_swiftc

SECTION = "2 on-device cost"

# Kind families for the naive C's agreement report (max relative difference per family).
FAMILIES = {
    "sums and means": (
        "sum",
        "mean",
        "var",
        "std",
        "energy",
        "rms",
        "mean_abs",
        "slope",
        "integral",
        "mean_abs_change",
        "log_energy",
    ),
    "samples and extremes": ("min", "max", "range", "argmin", "argmax", "first", "last", "delta"),
    "counts": (
        "zero_crossings",
        "mean_crossings",
        "count_above",
        "longest_run_above",
        "longest_run_below",
        "histogram",
        "peak_count",
        "last_peak_index",
    ),
    "order statistics": ("median", "percentile", "iqr", "mad"),
    "moments": ("skewness", "kurtosis", "autocorrelation", "correlation", "covariance"),
    "spectra": (
        "dft_magnitude",
        "dft_power",
        "band_power",
        "dominant_frequency",
        "spectral_centroid",
        "spectral_entropy",
    ),
}
# Kinds whose value is an integer count or an index (dominant_frequency: a bin index times a
# constant step): they must agree exactly.
EXACT_KINDS = (
    "argmin",
    "argmax",
    "zero_crossings",
    "mean_crossings",
    "count_above",
    "longest_run_above",
    "longest_run_below",
    "histogram",
    "peak_count",
    "last_peak_index",
    "dominant_frequency",
)


def _agreement(spec, names, nv: np.ndarray, ref: np.ndarray) -> dict:
    """Max relative difference |a - b| / max(|a|, |b|) per column, per kind and per family; which
    exact kinds (counts, indices) differ at all."""
    scale = np.maximum(np.abs(nv), np.abs(ref))
    rel = np.where(nv == ref, 0.0, np.abs(nv - ref) / np.where(scale == 0, 1, scale))
    col = rel.max(axis=0)
    kinds = [f.kind for f in spec.features for _ in f.outputs]
    per_kind: dict[str, tuple[float, str]] = {}
    for j, k in enumerate(kinds):
        if k not in per_kind or col[j] > per_kind[k][0]:
            per_kind[k] = (float(col[j]), names[j])
    per_family = {}
    for fam, members in FAMILIES.items():
        got = [per_kind[k] for k in members if k in per_kind]
        if got:
            per_family[fam] = max(got)
    not_exact = sorted(
        {kinds[j] for j in range(len(kinds)) if kinds[j] in EXACT_KINDS and col[j] != 0.0}
    )
    worst = int(np.argmax(col))
    # the same differences against each column's largest magnitude: near-zero values (a mean of
    # a zero-mean signal, a filter output crossing 0) inflate the element-wise figure
    col_scale = np.abs(ref).max(axis=0)
    col_rel = np.abs(nv - ref).max(axis=0) / np.where(col_scale == 0, 1, col_scale)
    worst_scaled = int(np.argmax(col_rel))
    return {
        "max": float(col.max()),
        "worst_column": names[worst],
        "max_vs_column_scale": float(col_rel.max()),
        "worst_column_vs_scale": names[worst_scaled],
        "per_kind": per_kind,
        "per_family": per_family,
        "exact_kinds_differing": not_exact,
        "exact_kinds_present": sorted({k for k in kinds if k in EXACT_KINDS}),
    }


def _window_schedule(spec, n: int) -> list[tuple[str, ...]]:
    """For each push i, the windows evaluated on it (empty before the first vector)."""
    first = spec.max_length - 1
    due = []
    for i in range(n):
        if i < first:
            due.append(())
        else:
            due.append(tuple(w.name for w in spec.windows if (i - first) % w.hop == 0))
    return due


def run_section(res: Results, work: Path) -> None:
    quick = res.quick
    spec, files = specs.example()
    name = spec.name
    n = 5_000 if quick else 100_000
    reps = 2 if quick else 7
    samples = specs.recording(n, len(spec.inputs), seed=11)
    module = specs.numpy_module(files, name)
    ref, _ = module.featurize(samples)

    # ---- generated C, gcc and clang --------------------------------------------------------
    gen = cbench.generated_bench(work / "gen_gcc", files, name)
    path = gen.write_samples(samples)
    info = gen.loop(path, reps)
    c_ns = float(np.median(info["loop_ns"])) / n
    c_emit = float(np.median(info["loop_ns"])) / info["emitted"]
    identical = bool((gen.dump(path).view(np.int64) == ref.view(np.int64)).all())
    per = gen.perpush(path)
    schedule = _window_schedule(spec, n)
    groups = {}
    for due in sorted(set(schedule)):
        idx = [i for i, d in enumerate(schedule) if d == due]
        groups["+".join(due) or "filling"] = float(np.median(per[idx]))
    sizeof = cbench.sizeof_state_cffi(files, name, work)
    res.add(
        Row(
            "device.c.push",
            SECTION,
            f"generated C (gcc -O2), {name}: {len(spec.feature_names)} features",
            c_ns,
            "ns/push",
            params={
                "pushes": n,
                "ns_per_emitted": c_emit,
                "median_ns_by_windows_due": groups,
                "sizeof_state": sizeof,
            },
            repeats=[x / n for x in info["loop_ns"]],
            note=f"{c_emit:,.0f} ns/emitted vector; per push by windows due: "
            + ", ".join(f"{k} {v:,.0f}" for k, v in groups.items())
            + f" (timed one by one, +~25 ns clock); "
            f"{'bit-identical to numpy' if identical else 'DIFFERS from numpy'}",
        )
    )
    res.add(
        Row(
            "device.c.state",
            SECTION,
            "  generated C state: sizeof(state) via cffi",
            sizeof,
            "bytes",
            params={
                "signals_with_rings": len(spec.signals),
                "ring_doubles_each": 2 * spec.max_length,
            },
        )
    )

    if shutil.which("clang-14") is None:
        res.missing(
            "device.c_clang.push",
            SECTION,
            "  generated C (clang-14 -O2)",
            "clang-14 is not installed (.ci/run installs it)",
        )
    else:
        clang = cbench.CBench(
            work / "gen_clang",
            {Path(p).name: t for p, t in files.items() if p.startswith(f"c/{name}_features")},
            f"{name}_features.h",
            name,
            f"{name}_state",
            name.upper(),
            len(spec.feature_names),
            compiler="clang-14",
        )
        info_cl = clang.loop(clang.write_samples(samples), reps)
        cl_ns = float(np.median(info_cl["loop_ns"])) / n
        res.add(
            Row(
                "device.c_clang.push",
                SECTION,
                "  generated C (clang-14 -O2)",
                cl_ns,
                "ns/push",
                peer="generated C gcc",
                ratio=c_ns / cl_ns,
                repeats=[x / n for x in info_cl["loop_ns"]],
            )
        )

    # ---- naive C ---------------------------------------------------------------------------
    naive = cbench.naive_bench(work / "naive", spec, name)
    npath = naive.write_samples(samples)
    info_n = naive.loop(npath, reps)
    nv_ns = float(np.median(info_n["loop_ns"])) / n
    nv = naive.dump(npath)
    agree = _agreement(spec, module.FEATURE_NAMES, nv, ref)
    fam_txt = "; ".join(f"{fam} {v:.1e} ({col})" for fam, (v, col) in agree["per_family"].items())
    exact_txt = (
        "counts and indices identical"
        if not agree["exact_kinds_differing"]
        else "counts/indices DIFFER: " + ", ".join(agree["exact_kinds_differing"])
    )
    res.add(
        Row(
            "device.naive_c.push",
            SECTION,
            "  naive C (gcc -O2): every feature from scratch, own loops, modulo ring",
            nv_ns,
            "ns/push",
            peer="generated C",
            ratio=nv_ns / c_ns,
            params={
                "sizeof_state": info_n["sizeof_state"],
                "max_rel_diff": agree["max"],
                "worst_column": agree["worst_column"],
                "max_diff_vs_column_scale": agree["max_vs_column_scale"],
                "max_rel_diff_per_kind": agree["per_kind"],
                "max_rel_diff_per_family": agree["per_family"],
                "exact_kinds_differing": agree["exact_kinds_differing"],
            },
            repeats=[x / n for x in info_n["loop_ns"]],
            note=f"same {len(spec.feature_names)} features (generated from the spec by "
            f"bench/naive_c.py; libm cos/sin twiddle tables built at init, qsort, libm "
            f"log/atan2/tan); max rel diff vs featgen {agree['max']:.1e} "
            f"({agree['worst_column']}; |diff| / the column's largest |value| at most "
            f"{agree['max_vs_column_scale']:.1e}, {agree['worst_column_vs_scale']}); "
            f"per family: {fam_txt}; {exact_txt}; "
            f"state {info_n['sizeof_state']:,} B",
        )
    )

    # ---- Swift -------------------------------------------------------------------------------
    if find_swiftc() is None:
        res.missing(
            "device.swift.push",
            SECTION,
            "  generated Swift (swiftc -O -wmo)",
            "swiftc not found (PATH or /opt/swift/usr/bin)",
        )
        res.missing("device.swift.state", SECTION, "  generated Swift state", "swiftc not found")
    else:
        sw = __import__("bench.swiftbench", fromlist=["SwiftBench"]).SwiftBench(
            work / "swift", files
        )
        info_s = sw.loop(path, reps)
        s_ns = float(np.median(info_s["loop_ns"])) / n
        state = sw.state_bytes(info_s["inline_size"])
        res.add(
            Row(
                "device.swift.push",
                SECTION,
                "  generated Swift (swiftc -O -wmo), push(_:into:) on buffer pointers",
                s_ns,
                "ns/push",
                peer="generated C gcc",
                ratio=c_ns / s_ns,
                params={"ns_per_emitted": float(np.median(info_s["loop_ns"])) / info_s["emitted"]},
                repeats=[x / n for x in info_s["loop_ns"]],
            )
        )
        res.add(
            Row(
                "device.swift.state",
                SECTION,
                "  generated Swift state: storage count x 8 + array header + struct",
                state["total_bytes"],
                "bytes",
                params=state,
                note=f"{state['storage_doubles']} doubles on the heap "
                f"({state['heap_bytes']:,} B with the 32 B header) + "
                f"{state['inline_bytes']} B inline",
            )
        )

    # ---- callgrind -----------------------------------------------------------------------
    n_cg = 2_000 if quick else 20_000
    cg_samples = samples[:n_cg]
    ir_gen, pushes = gen.callgrind(gen.write_samples(cg_samples, "cg.bin"))
    ir_naive, _ = naive.callgrind(naive.write_samples(cg_samples, "cg.bin"))
    res.add(
        Row(
            "device.c.callgrind",
            SECTION,
            "generated C: instructions per push (callgrind)",
            ir_gen / pushes,
            "Ir/push",
            params={"pushes": pushes},
        )
    )
    res.add(
        Row(
            "device.naive_c.callgrind",
            SECTION,
            "  naive C: instructions per push",
            ir_naive / pushes,
            "Ir/push",
            peer="generated C",
            ratio=ir_naive / ir_gen,
            note=f"{ir_naive / ir_gen:.2f}x the instructions of the generated C for "
            f"{nv_ns / c_ns:.2f}x its time (ns/push rows above)",
        )
    )

    res.checks["naive_c_max_rel_diff"] = agree["max"]

    # ---- exact incremental min/max: measured, not adopted (bench/incremental.py) ----------
    from .incremental import run_rows

    run_rows(res, work)
