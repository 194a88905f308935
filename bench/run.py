#!/usr/bin/env python3
"""featgen benchmarks: ``python bench/run.py [--quick] [--json out.json]``.

Prints a table (medians of repeated runs, ratios against a peer measured in the same run, the
machine described) and writes the same as JSON. Nothing is asserted about speed: ``--quick``
(small sizes, one repeat, under 90 s) only shows that every benchmark runs; the full run takes
a few minutes on 2 cores. See bench/README.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import TIMING, Results, Row, machine, write_json  # noqa: E402
from bench.incremental import ROW_IDS as INCREMENTAL_ROW_IDS  # noqa: E402

# Every benchmark row the suite produces (a row may repeat for several sizes). The smoke test
# checks that a --quick run produces each one.
ROW_IDS = (
    "train.example.featgen_numpy",
    "train.example.c_loop",
    "train.example.c_driver",
    "train.example.by_kind",
    "train.shared.featgen_numpy",
    "train.shared.featgen_numpy_chunked",
    "train.shared.c_loop",
    "train.shared.c_driver",
    "train.shared.plain_numpy",
    "train.shared.tsfel",
    "train.shared.tsfresh_calculators",
    "train.shared.tsfresh_extract",
    "train.scaling.shared8",
    "train.scaling.shared8_blocks",
    "train.scaling.twist_and_go",
    "device.c.push",
    "device.c.state",
    "device.c_clang.push",
    "device.naive_c.push",
    "device.swift.push",
    "device.swift.state",
    "device.c.callgrind",
    "device.naive_c.callgrind",
    *INCREMENTAL_ROW_IDS,
    "build.featgen.example",
    "build.featgen.features_only",
    "build.swift.release",
    "predict.own_c",
    "predict.own_c_batch",
    "predict.tl2cgen_c",
    "predict.xgboost",
    "predict.text_size",
    *(
        f"prune.c.{what}.{v}"
        for what in ("push", "callgrind", "state", "text")
        for v in ("full", "shared", "pruned", "both")
    ),
    "prune.features",
    "prune.swift.push.full",
    "prune.swift.push.both",
    "cluster.fleet",
    "cluster.featurize.workers1",
    "cluster.featurize.workers2",
    "cluster.featurize.per_core",
    "cluster.memory.peak_worker",
    "cluster.bits.same_partitions",
    "cluster.estimate.core_hours",
    "cluster.train.margin_diff",
)

SECTIONS = (
    ("1 training featurisation", "bench.training", "train."),
    ("2 on-device cost", "bench.device", "device."),
    ("3 build", "bench.build_time", "build."),
    ("4 prediction", "bench.prediction", "predict."),
    ("5 device pruning and sharing", "bench.pruning", "prune."),
    ("6 cluster", "bench.cluster", "cluster."),
)


def _loadavg() -> list[float] | None:
    try:
        import os

        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def fmt(v: float | None) -> str:
    if v is None:
        return "-"
    a = abs(v)
    if a >= 100:
        return f"{v:,.0f}"
    if a >= 1:
        return f"{v:.2f}"
    return f"{v:.3g}"


def print_table(res: Results, info: dict, out=sys.stdout) -> None:
    p = lambda *a: print(*a, file=out)  # noqa: E731
    v = info["versions"]
    p(f"featgen benchmarks ({'quick' if res.quick else 'full'}), {info['date']}")
    p(
        f"machine: {info['cpu']}, {info['cores']} cores, {info['memory_gb']} GB, {info['os']}, "
        f"hypervisor: {info['hypervisor']}"
    )
    p(
        f"versions: Python {v['python']}, numpy {v['numpy']} ({info['numpy_blas']}), "
        f"scipy {v.get('scipy')}, pandas {v.get('pandas')}, tsfel {v.get('tsfel')}, "
        f"tsfresh {v.get('tsfresh')}, xgboost {v.get('xgboost')}, tl2cgen {v.get('tl2cgen')}"
    )
    p(f"compilers: {info['gcc']}; {info['clang']}; {info['swiftc']}; {info['valgrind']}")
    p(
        f"load average (1, 5, 15 min) at start {info.get('load_average_start')}, at end "
        f"{info.get('load_average_end')} (above {info['cores']}: other processes competed "
        "for the cores)"
    )
    p(
        "env: "
        + ", ".join(
            f"{k}={val if val is not None else '(unset)'}" for k, val in info["env"].items()
        )
    )
    p(f"timing: {TIMING}; medians of repeats")
    p(
        "ratio: featgen / peer in speed (>1: featgen faster or smaller); for a row that is itself "
        "featgen, this row / its peer"
    )
    section = None
    for r in res.rows:
        if r.section != section:
            section = r.section
            p("")
            p(f"## {section}")
            p("")
            p("| benchmark | value | unit | ratio | vs | note |")
            p("|---|---:|---|---:|---|---|")
        value = fmt(r.value) if r.status == "ok" else f"**{r.status}**"
        ratio = f"{r.ratio:.3g}x" if r.ratio is not None else ""
        p(f"| {r.label} | {value} | {r.unit} | {ratio} | {r.peer or ''} | {r.note} |")
    if res.notes:
        p("")
        for n in res.notes:
            p(f"* {n}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, one repeat: checks that every benchmark runs (< 90 s)",
    )
    ap.add_argument("--json", type=Path, help="write the results here as JSON")
    ap.add_argument("--only", help="comma-separated section numbers to run (1-6), for development")
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    res = Results(quick=args.quick)
    info = machine()
    info["load_average_start"] = _loadavg()
    only = set(args.only.split(",")) if args.only else None
    with tempfile.TemporaryDirectory(prefix="featgen-bench-") as tmp:
        for title, module, prefix in SECTIONS:
            if only and title.split()[0] not in only:
                continue
            t0 = time.perf_counter()
            print(f"[bench] section {title} ...", file=sys.stderr, flush=True)
            try:
                __import__(module, fromlist=["run_section"]).run_section(
                    res, Path(tmp) / prefix.rstrip(".")
                )
            except Exception as exc:  # a crashed section: every row it owes becomes an error row
                traceback.print_exc()
                done = {r.id for r in res.rows}
                for rid in ROW_IDS:
                    if rid.startswith(prefix) and rid not in done:
                        res.error(rid, title, rid, exc)
            print(
                f"[bench] section {title}: {time.perf_counter() - t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    elapsed = time.perf_counter() - t_start
    present = {r.id for r in res.rows}
    wanted = [
        rid
        for rid in ROW_IDS
        if not only or any(rid.startswith(p) for t, _, p in SECTIONS if t.split()[0] in only)
    ]
    for rid in wanted:
        if rid not in present:
            res.add(Row(rid, "missing", rid, status="error", note="benchmark produced no row"))
    info["load_average_end"] = _loadavg()
    print_table(res, info)
    print(f"\ntotal {elapsed:.0f} s", flush=True)
    payload = {
        "schema": "featgen-bench/1",
        "mode": "quick" if args.quick else "full",
        "seconds": elapsed,
        "timing": TIMING,
        "machine": info,
        "expected_rows": list(ROW_IDS),
        "rows": [asdict(r) for r in res.rows],
        "checks": res.checks,
        "notes": res.notes,
        "findings": res.findings,
    }
    if args.json:
        write_json(args.json, payload)
    errors = [r for r in res.rows if r.status == "error"]
    if errors:
        print(
            f"{len(errors)} benchmark(s) failed: {', '.join(r.id for r in errors)}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
