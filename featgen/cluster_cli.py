"""The scale-out half of ``featgen featurize`` and ``featgen train`` (``--cluster``, partitioned
Parquet output): progress bars, summaries and clean error messages around featgen/cluster.py."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from featurespec import SpecError
from featurespec.errors import OutputError

from . import cluster as cl
from . import ui
from .cluster import ClusterError, connect
from .data import DataError
from .parquet_io import discover
from .policy import Yield, short_recordings
from .rawlog import refuse_raw_logs
from .safe_io import check_not_inside_an_input
from .train import TrainError

CLUSTER_HELP = (
    "Run on a Dask cluster: a scheduler address (tcp://host:8786) or local[:N] for "
    "a LocalCluster of N worker processes on this machine (default N: the cores)."
)


def _progress():
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("partitions"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=ui.errors,
        transient=True,
    )


@contextmanager
def _client(cluster: str | None, what: str):
    """A distributed client for --cluster (None without one); bad values end the command."""
    if cluster is None:
        yield None
        return
    try:
        with connect(cluster) as client:
            n = len(client.nthreads())
            ui.errors.print(
                f"{what} on {cluster} ({n} worker{'s' if n != 1 else ''}, "
                f"{sum(client.nthreads().values())} threads)",
                soft_wrap=True,
                markup=False,
            )
            yield client
    except ClusterError as exc:
        ui.fail(str(exc))


def featurize_partitioned(
    parsed, files, data: tuple[str, ...], output: str, cluster: str | None, drop_nonfinite: bool
) -> None:
    """featgen featurize into a directory of Parquet partitions, one per recording."""
    if Path(output).suffix.lower() in (".csv", ".npz"):
        ui.fail(
            f"-o {output}: with --cluster the output is a directory of Parquet partitions "
            "(one per recording), not a .csv or .npz file"
        )
    try:
        check_not_inside_an_input(output, data, "-o")
    except OutputError as exc:
        ui.fail(str(exc))
    try:
        refs = discover(data)
        refuse_raw_logs(parsed, refs, "a directory of Parquet partitions")
    except DataError as exc:
        ui.fail(str(exc))
    job = cl.feature_job(parsed, files, "drop" if drop_nonfinite else "raise")
    done = 0
    with _client(cluster, f"featurizing {len(refs)} recording(s)") as client, _progress() as bar:
        task = bar.add_task("featurizing")

        def on_start(n):
            bar.update(task, total=n)

        def on_done(_):
            nonlocal done
            done += 1
            bar.advance(task)

        try:
            report = cl.featurize(job, refs, output, client, on_start=on_start, on_done=on_done)
        except (DataError, cl.ClusterError) as exc:
            ui.fail(
                f"{exc}\n({done} partition(s) written in this run are kept; rerun the same "
                "command to resume)"
            )
        except OSError as exc:
            ui.fail(f"{output}: {exc}")
        except KeyboardInterrupt:
            ui.fail(
                f"interrupted: {done} partition(s) written in this run are kept; rerun "
                "the same command to resume",
                status=130,
            )
    parts = [f"{report.written} written"]
    if report.skipped:
        parts.append(f"{report.skipped} already finished (kept)")
    if report.stale:
        parts.append(f"{report.stale} redone because the recording changed")
    if report.unreadable:
        parts.append(f"{report.unreadable} unreadable, redone")
    rate = report.samples / report.seconds if report.seconds and report.samples else 0
    ui.console.print(
        f"wrote {output}/: {report.recordings} partition(s) ({', '.join(parts)}), "
        f"{report.vectors} vectors x {len(parsed.feature_names)} features, spec "
        f"{parsed.spec_hash[:12]}" + (f"; {rate:,.0f} samples/s" if rate else ""),
        soft_wrap=True,
        markup=False,
    )
    if report.foreign:
        ui.errors.print(
            f"note: {len(report.foreign)} partition(s) in {output}/ belong to "
            f"recordings not among the inputs (e.g. {report.foreign[0]}); kept, "
            "but not in the manifest",
            soft_wrap=True,
            markup=False,
        )
    # the short-recording policy of every command (docs/semantics.md)
    warning = short_recordings(
        parsed,
        [
            Yield(r["recording"], r["samples"], r["samples"] - r["dropped"], r["vectors"])
            for r in report.results
        ],
    )
    if warning:
        warning = warning.replace("; --min-vectors N refuses them instead", "")
        ui.errors.print(
            f"warning: {warning} (counted over the {report.written} partition(s) "
            "written in this run; --min-vectors needs a .csv or .npz output)",
            soft_wrap=True,
            markup=False,
        )
    if report.vectors == 0 and report.written and not report.skipped:
        ui.fail(
            f"no feature vectors at all from {report.written} recording(s): each needs "
            f"at least {parsed.max_length} finite samples (the longest window); the "
            f"empty partitions in {output}/ describe that"
        )


def train_on_cluster(
    parsed,
    data: tuple[str, ...],
    output: str,
    cluster: str,
    params,
    label_column: str,
    group_column: str | None,
    compare_local: bool,
) -> dict:
    """featgen train --cluster: returns the metrics (printed by the caller)."""
    try:
        refs = discover(data)
        refuse_raw_logs(parsed, refs, "train --cluster")
    except DataError as exc:
        ui.fail(str(exc))
    with _client(cluster, f"training on {len(refs)} recording(s)") as client, _progress() as bar:
        task = bar.add_task("featurizing")
        try:
            return cl.train(
                parsed,
                refs,
                Path(output),
                params,
                client,
                label_column,
                group_column,
                compare_local,
                on_start=lambda n: bar.update(task, total=n),
                on_done=lambda _: bar.advance(task),
            )
        except (DataError, TrainError, cl.ClusterError) as exc:
            ui.fail(str(exc))
        except SpecError as exc:
            ui.fail(f"the spec's decision block does not fit this model:\n{exc}")
        except KeyboardInterrupt:
            ui.fail("interrupted", status=130)
    sys.exit(1)  # not reached: _fail exits


def comparison_lines(metrics: dict) -> list[str]:
    c = metrics.get("cluster")
    if not c:
        return []
    lines = [
        f"cluster: {c['workers']} workers ({c['threads']} threads); featurised "
        f"{c['samples']} samples in {c['featurize_seconds']:.1f} s, trained in "
        f"{c['train_seconds']:.1f} s ({c['engine']})"
    ]
    s = c.get("single_machine")
    if s:

        def num(v):
            return "n/a" if v is None else f"{v:.6f}"

        lines.append(
            f"beside the single-machine model on the same {s['test_vectors']} held-out vectors: "
            f"ROC AUC {num(s['roc_auc_cluster'])} (cluster) vs {num(s['roc_auc_single_machine'])}"
            f" (one machine); margins bit-equal {s['margins_bit_equal_pct']:.2f}%, max |diff| "
            f"{s['max_abs_margin_diff']:.3g}, decisions equal {s['decisions_equal_pct']:.2f}%; "
            f"same model bytes: {'yes' if s['same_model_bytes'] else 'no'}"
        )
    return lines
