"""Section 2: on-device cost of the generated C and Swift (ns per push, state size,
instructions per push) against a naive from-scratch C, and what incremental updates and exact
common-subexpression sharing could save."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import cbench, specs
from .common import Results, Row, find_swiftc

SECTION = "2 on-device cost"

# Feature kinds whose sliding-window value can be updated per push without changing a bit:
# comparisons and integer counts do not depend on evaluation order (monotonic deques for
# min/max/argmin/argmax/range; per-bin counts; run and crossing bookkeeping; first/last/delta are
# already O(1)). Sums, means, variances, rms, energy, mean_abs, slope and mean_crossings are not:
# their left-to-right floating-point order from the window start would change.
EXACT_INCREMENTAL = {"min", "max", "range", "argmin", "argmax", "first", "last", "delta",
                     "count_above", "histogram", "longest_run_above", "longest_run_below",
                     "zero_crossings"}
INCREMENTAL_IR_PER_FEATURE = 30   # assumed cost of one O(1) amortised update + output, per push


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
    res.add(Row("device.c.push", SECTION,
                f"generated C (gcc -O2), {name}: {len(spec.feature_names)} features",
                c_ns, "ns/push", params={"pushes": n, "ns_per_emitted": c_emit,
                                         "median_ns_by_windows_due": groups,
                                         "sizeof_state": sizeof},
                repeats=[x / n for x in info["loop_ns"]],
                note=f"{c_emit:,.0f} ns/emitted vector; per push by windows due: " +
                     ", ".join(f"{k} {v:,.0f}" for k, v in groups.items()) +
                     f" (timed one by one, +~25 ns clock); "
                     f"{'bit-identical to numpy' if identical else 'DIFFERS from numpy'}"))
    res.add(Row("device.c.state", SECTION, "  generated C state: sizeof(state) via cffi",
                sizeof, "bytes", params={"signals_with_rings": len(spec.signals),
                                         "ring_doubles_each": 2 * spec.max_length}))

    clang = cbench.CBench(work / "gen_clang", {Path(p).name: t for p, t in files.items()
                                                if p.startswith(f"c/{name}_features")},
                          f"{name}_features.h", name, f"{name}_state", name.upper(),
                          len(spec.feature_names), compiler="clang-14")
    info_cl = clang.loop(clang.write_samples(samples), reps)
    cl_ns = float(np.median(info_cl["loop_ns"])) / n
    res.add(Row("device.c_clang.push", SECTION, "  generated C (clang-14 -O2)", cl_ns, "ns/push",
                peer="generated C gcc", ratio=c_ns / cl_ns,
                repeats=[x / n for x in info_cl["loop_ns"]]))

    # ---- naive C ---------------------------------------------------------------------------
    naive = cbench.naive_bench(work / "naive", spec, name)
    npath = naive.write_samples(samples)
    info_n = naive.loop(npath, reps)
    nv_ns = float(np.median(info_n["loop_ns"])) / n
    nv = naive.dump(npath)
    scale = np.maximum(np.abs(nv), np.abs(ref))
    rel = np.where(nv == ref, 0.0, np.abs(nv - ref) / np.where(scale == 0, 1, scale))
    worst = int(np.argmax(rel.max(axis=0)))
    res.add(Row("device.naive_c.push", SECTION,
                "  naive C (gcc -O2): every feature from scratch, own loops, modulo ring",
                nv_ns, "ns/push", peer="generated C", ratio=nv_ns / c_ns,
                params={"sizeof_state": info_n["sizeof_state"]},
                repeats=[x / n for x in info_n["loop_ns"]],
                note=f"same {len(spec.feature_names)} features (generated from the spec by "
                     f"bench/naive_c.py); max rel diff vs featgen {rel.max():.1e} "
                     f"({module.FEATURE_NAMES[worst]}); state {info_n['sizeof_state']:,} B"))

    # ---- Swift -------------------------------------------------------------------------------
    if find_swiftc() is None:
        res.missing("device.swift.push", SECTION, "  generated Swift (swiftc -O -wmo)",
                    "swiftc not found (PATH or /opt/swift/usr/bin)")
        res.missing("device.swift.state", SECTION, "  generated Swift state",
                    "swiftc not found")
    else:
        sw = __import__("bench.swiftbench", fromlist=["SwiftBench"]).SwiftBench(work / "swift", files)
        info_s = sw.loop(path, reps)
        s_ns = float(np.median(info_s["loop_ns"])) / n
        state = sw.state_bytes(info_s["inline_size"])
        res.add(Row("device.swift.push", SECTION,
                    "  generated Swift (swiftc -O -wmo), push(_:into:) on buffer pointers",
                    s_ns, "ns/push", peer="generated C gcc", ratio=c_ns / s_ns,
                    params={"ns_per_emitted": float(np.median(info_s["loop_ns"])) / info_s["emitted"]},
                    repeats=[x / n for x in info_s["loop_ns"]]))
        res.add(Row("device.swift.state", SECTION,
                    "  generated Swift state: storage count x 8 + array header + struct",
                    state["total_bytes"], "bytes", params=state,
                    note=f"{state['storage_doubles']} doubles on the heap "
                         f"({state['heap_bytes']:,} B with the 32 B header) + "
                         f"{state['inline_bytes']} B inline"))

    # ---- callgrind -----------------------------------------------------------------------
    n_cg = 2_000 if quick else 20_000
    cg_samples = samples[:n_cg]
    ir_gen, pushes = gen.callgrind(gen.write_samples(cg_samples, "cg.bin"))
    ir_naive, _ = naive.callgrind(naive.write_samples(cg_samples, "cg.bin"))
    res.add(Row("device.c.callgrind", SECTION, "generated C: instructions per push (callgrind)",
                ir_gen / pushes, "Ir/push", params={"pushes": pushes}))
    res.add(Row("device.naive_c.callgrind", SECTION, "  naive C: instructions per push",
                ir_naive / pushes, "Ir/push", peer="generated C", ratio=ir_naive / ir_gen,
                note="more instructions but similar time: the generated C's strictly sequential "
                     "sums are bound by FP-add latency, the naive C's extra integer work "
                     "(modulo indexing) overlaps with it"))

    # ---- what incremental updates / exact sharing could save --------------------------------
    incr_doc, rest_doc = specs.split_example(EXACT_INCREMENTAL)
    from codegen.build import generate
    ir_part = {}
    ns_part = {}
    n_groups = {}
    for tag, doc in (("incr", incr_doc), ("rest", rest_doc)):
        sub = specs.spec_from_document(doc)
        sub_files = generate(sub)
        b = cbench.generated_bench(work / f"split_{tag}", sub_files, sub.name)
        ir, p = b.callgrind(b.write_samples(cg_samples, "cg.bin"))
        ir_part[tag] = ir / p
        li = b.loop(b.write_samples(samples), reps)
        ns_part[tag] = float(np.median(li["loop_ns"])) / n
        n_groups[tag] = (len(sub.features), len(sub.feature_names))
    base = max(ir_part["incr"] + ir_part["rest"] - ir_gen / pushes, 0.0)
    incr_only = ir_part["incr"] - base
    est_after = ir_gen / pushes - incr_only + INCREMENTAL_IR_PER_FEATURE * n_groups["incr"][0]
    res.add(Row("device.incremental.estimate", SECTION,
                f"estimate: exact-incremental families ({n_groups['incr'][1]} of "
                f"{len(spec.feature_names)} columns) updated per push",
                est_after, "Ir/push (est.)", peer="generated C", ratio=(ir_gen / pushes) / est_after,
                params={"ir_incr_subset": ir_part["incr"], "ir_rest_subset": ir_part["rest"],
                        "ir_shared_base": base, "ns_incr_subset": ns_part["incr"],
                        "ns_rest_subset": ns_part["rest"],
                        "assumed_ir_per_incremental_feature": INCREMENTAL_IR_PER_FEATURE,
                        "families": sorted(EXACT_INCREMENTAL)},
                note=f"those families cost {incr_only:,.0f} Ir/push now "
                     f"({incr_only / (ir_gen / pushes):.0%}; {ns_part['incr']:,.0f} ns/push alone "
                     f"vs {ns_part['rest']:,.0f} for the rest); at ~{INCREMENTAL_IR_PER_FEATURE} "
                     f"Ir per feature group per push they would cost "
                     f"{INCREMENTAL_IR_PER_FEATURE * n_groups['incr'][0]:,}"))

    profile = cbench.static_loop_profile(files[f"c/{name}_features.c"])
    hops = {w.name: w.hop for w in spec.windows}
    per_push = sum(v["loop_iterations"] / hops[w] for w, v in profile.items())
    dup_push = sum(v["duplicate_iterations"] / hops[w] for w, v in profile.items())
    res.add(Row("device.cse.estimate", SECTION,
                "estimate: exact sharing of repeated loops (mean in std/var/slope, min/max in "
                "range, energy in rms)", per_push - dup_push, "loop iter/push",
                peer="generated C", ratio=per_push / (per_push - dup_push),
                params={"per_window": profile, "loop_iterations_per_push": per_push,
                        "duplicate_iterations_per_push": dup_push},
                note=f"{dup_push:,.0f} of {per_push:,.0f} loop iterations per push "
                     f"({dup_push / per_push:.0%}) recompute, bit for bit, a value the same "
                     "function already computed; same in the numpy backend"))
    res.checks["naive_c_max_rel_diff"] = float(rel.max())
