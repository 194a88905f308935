"""Section 6: featurising a fleet on a Dask cluster (featgen featurize --cluster).

* A synthetic fleet of 3 * 10^6 samples (full: 30 recordings of 10^5 samples, 33 min each at
  50 Hz, so that the whole benchmark stays under 15 minutes on 2 cores; 2.4 * 10^4 with --quick;
  FEATGEN_BENCH_CLUSTER_RECORDINGS=100 for the 10^7-sample fleet of results/cluster-full-*):
  recordings of examples/twist_and_go/make_data.py (phone motion at 50 Hz) cut, re-spliced and
  re-noised, one Parquet file per recording.
* The same fleet featurised end to end (read Parquet, generated numpy featurize, write the Parquet
  partition) on a LocalCluster of 1 worker, then of 2 workers (threads_per_worker=1, processes):
  windows per second of wall time, the speed-up, windows per CPU-second of the tasks (the
  per-core throughput, which neighbours on a shared machine do not dilute), peak RSS per worker.
  The two runs' partitions are compared byte for byte.
* A paper estimate of the cluster for 10^5 hours of recordings at 50 Hz from that per-core
  throughput, and the held-out comparison of a model trained with xgboost.dask against the
  single-machine model (featgen train --cluster --compare-local).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from bench.common import ROOT, Results, Row

SECTION = "6 cluster (Dask)"
HOURS = 1e5  # the fleet of the paper estimate
RATE_HZ = 50.0


def _make_data():
    path = ROOT / "examples" / "twist_and_go" / "make_data.py"
    spec = importlib.util.spec_from_file_location("featgen_make_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_fleet(out: Path, recordings: int, samples: int, seed: int = 5) -> int:
    """RECORDINGS Parquet files of SAMPLES samples, spliced from make_data's simulated motion."""
    from featgen.parquet_io import write_recording_parquet

    make = _make_data()
    pool = [
        s
        for s, _, _ in make.generate(
            subjects=3, recordings=2, seconds=30.0 if samples > 20_000 else 12.0, seed=seed
        ).values()
    ]
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    for r in range(recordings):
        pieces, n = [], 0
        while n < samples:
            base = pool[int(rng.integers(len(pool)))]
            a = int(rng.integers(0, base.shape[0] // 2))
            piece = base[a : a + int(rng.integers(base.shape[0] // 4, base.shape[0] - a + 1))]
            pieces.append(piece)
            n += piece.shape[0]
        x = np.concatenate(pieces)[:samples]
        x = x + rng.normal(0, 0.01, x.shape)
        write_recording_parquet(out / f"phone{r:05d}.parquet", x, make.INPUTS)
    return recordings * samples


def _hashes(out: Path) -> dict[str, str]:
    digests = {}
    for p in sorted(out.glob("part-*.parquet")):
        h = hashlib.sha256()
        with open(p, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                h.update(block)
        digests[p.name] = h.hexdigest()
    return digests


def run_section(res: Results, work: Path) -> None:
    from codegen.build import generate
    from featgen import cluster as cl
    from featgen.parquet_io import discover
    from featurespec import load_spec

    quick = res.quick
    work = Path(work)
    spec = load_spec(str(ROOT / "examples" / "twist_and_go" / "spec.yaml"))
    job = cl.feature_job(spec, generate(spec))
    n_rec, n_samp = (4, 6_000) if quick else (30, 100_000)
    n_rec = int(os.environ.get("FEATGEN_BENCH_CLUSTER_RECORDINGS", n_rec))  # a smaller fleet
    t0 = time.perf_counter()
    total = make_fleet(work / "fleet", n_rec, n_samp)
    refs = discover([str(work / "fleet")])
    res.add(
        Row(
            "cluster.fleet",
            SECTION,
            "synthetic fleet (make_data motion, re-spliced)",
            total,
            "samples",
            params={"recordings": n_rec, "samples_per_recording": n_samp},
            note=f"{n_rec} Parquet recordings of {n_samp:,} samples "
            f"({n_samp / RATE_HZ / 60:.0f} min at 50 Hz); made in "
            f"{time.perf_counter() - t0:.0f} s",
        )
    )

    runs = {}
    hashes = {}
    with cl.connect("local:1", local_directory=work / "dask", timeout=120) as client:
        for n_workers in (1, 2):
            if n_workers > 1:
                client.cluster.scale(n_workers)
                client.wait_for_workers(n_workers, timeout=180)
            out = work / f"features_w{n_workers}"
            load0 = os.getloadavg()
            report = cl.featurize(job, refs, str(out), client)
            runs[n_workers] = (report, load0, os.getloadavg())
            cpu = sum(r["cpu_seconds"] for r in report.results)
            peak = max(r["peak_rss_bytes"] for r in report.results) / 2**20
            print(
                f"[bench] cluster: {n_workers} worker(s): {report.vectors} windows in "
                f"{report.seconds:.1f} s ({report.vectors / report.seconds:.0f}/s; "
                f"{report.vectors / cpu:.0f} per task CPU-s; peak RSS {peak:.0f} MiB), load "
                f"{load0} -> {os.getloadavg()}",
                file=sys.stderr,
                flush=True,
            )
            hashes[n_workers] = _hashes(out)
            shutil.rmtree(out)  # 16 GB at full size: one table on disk at a time

    r1, r2 = runs[1][0], runs[2][0]
    w1, w2 = r1.vectors / r1.seconds, r2.vectors / r2.seconds
    for n, rate in ((1, w1), (2, w2)):
        report, load0, load1 = runs[n]
        res.add(
            Row(
                f"cluster.featurize.workers{n}",
                SECTION,
                f"featurize --cluster local:{n}: Parquet in, featurize, Parquet partition "
                "out (wall)",
                rate,
                "windows/s",
                peer="1 worker" if n == 2 else None,
                ratio=w2 / w1 if n == 2 else None,
                params={
                    "windows": report.vectors,
                    "seconds": report.seconds,
                    "workers": n,
                    "load_average_before": load0,
                    "load_average_after": load1,
                },
                note=f"{report.vectors:,} windows x {len(spec.feature_names)} features in "
                f"{report.seconds:.0f} s; load average {load0[0]:.1f} -> "
                f"{load1[0]:.1f} on {os.cpu_count()} cores"
                + ("; ratio = speed-up over 1 worker" if n == 2 else ""),
            )
        )
    cpu = sum(r["cpu_seconds"] for r in r2.results)
    per_core = r2.vectors / cpu if cpu else None
    res.add(
        Row(
            "cluster.featurize.per_core",
            SECTION,
            "per-core throughput (windows per CPU-second of the partition tasks, 2 workers)",
            per_core,
            "windows/CPU-s",
            note="thread CPU time of read + featurize + write; not diluted by neighbours",
        )
    )
    peaks = {w: s["peak_rss_bytes"] for w, s in r2.per_worker().items()}
    peak = max(peaks.values()) / 2**20
    part_mb = n_samp * len(spec.feature_names) * 8 / 2**20
    res.add(
        Row(
            "cluster.memory.peak_worker",
            SECTION,
            "peak RSS per worker process (max over workers)",
            peak,
            "MiB",
            params={"per_worker_mib": sorted(v / 2**20 for v in peaks.values())},
            note=f"one recording of {n_samp:,} samples in flight per worker thread; its "
            f"feature block alone is {part_mb:.0f} MiB",
        )
    )
    same = sum(1 for k, v in hashes[1].items() if hashes[2].get(k) == v)
    res.add(
        Row(
            "cluster.bits.same_partitions",
            SECTION,
            "partitions byte-identical between the 1-worker and 2-worker runs",
            same,
            f"of {len(hashes[1])}",
            note="sha256 of every Parquet file",
        )
    )
    res.checks["cluster_partitions_identical"] = same == len(hashes[1]) == n_rec

    # ---- the paper estimate ----------------------------------------------------------------
    windows = HOURS * 3600 * RATE_HZ  # hop 1: one vector per sample after the first window
    core_hours = windows / per_core / 3600 if per_core else None
    feature_tb = windows * len(spec.feature_names) * 8 / 1e12
    res.add(
        Row(
            "cluster.estimate.core_hours",
            SECTION,
            f"estimate: featurise {HOURS:.0e} h of recordings at 50 Hz ({windows:.2g} windows)",
            core_hours,
            "core-hours",
            note=(
                f"at the measured {per_core:,.0f} windows/CPU-s: "
                f"{core_hours / 24:.0f} cores for a day, {core_hours / 8:.0f} for a night "
                f"(8 h), {core_hours:.0f} for an hour; output "
                f"{feature_tb:.1f} TB of float64 features before compression"
            )
            if core_hours
            else "no throughput measured",
        )
    )

    # ---- training: xgboost.dask beside the single-machine model -------------------------------
    _train(res, work, spec, quick)


def _train(res: Results, work: Path, spec, quick: bool) -> None:
    from featgen import cluster as cl
    from featgen.parquet_io import discover
    from featgen.train import Params

    make = _make_data()
    data = make.generate(
        subjects=3 if quick else 8, recordings=2 if quick else 4, seconds=15.0 if quick else 60.0
    )
    make.write(data, work / "labeled", "csv")
    refs = discover([str(work / "labeled")])
    params = Params(rounds=5 if quick else 60)
    with cl.connect("local:2", local_directory=work / "dask", timeout=120) as client:
        metrics = cl.train(spec, refs, work / "model", params, client, compare_local=True)
    s = metrics["cluster"]["single_machine"]
    res.add(
        Row(
            "cluster.train.margin_diff",
            SECTION,
            "featgen train --cluster local:2 vs one machine: held-out margins",
            s["max_abs_margin_diff"],
            "max |diff|",
            params=s,
            note=f"{s['test_vectors']:,} held-out vectors; margins bit-equal "
            f"{s['margins_bit_equal_pct']:.1f}%, decisions equal "
            f"{s['decisions_equal_pct']:.2f}%, ROC AUC {s['roc_auc_cluster']:.4f} "
            f"(cluster) vs {s['roc_auc_single_machine']:.4f} (one machine); same model "
            f"bytes: {'yes' if s['same_model_bytes'] else 'no'}",
        )
    )
