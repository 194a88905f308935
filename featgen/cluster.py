"""Featurise and train on a Dask cluster (``--cluster ADDRESS`` or ``--cluster local[:N]``).

The engine is ``dask.distributed``: featgen submits one task per recording and nothing else, so
scheduling, data locality, retries after a lost worker and the dashboard are Dask's.

* Featurising: each task reads one recording, runs the spec's generated numpy ``featurize`` on it
  (the very function ``featgen featurize`` calls on one machine, so windows never cross a
  recording and the bits are the same) and writes that recording's Parquet partition atomically
  (featgen/parquet_io.py). Only a small summary travels back to the client. At most WINDOW tasks
  are in flight, so a fleet of any size streams through bounded memory; a rerun skips the
  partitions that are finished.
* Training: the same per-recording featurisation, kept in the workers' memory, feeds
  ``xgboost.dask``; the split by group, the held-out metrics and the model directory are
  those of ``featgen train`` (featgen/train.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import os
import posixpath
import re
import resource
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from codegen import __version__
from codegen.build import generate
from codegen.trees import decision as decisions
from featgen.harness import load_numpy_module

from . import train as tr
from .data import DataError
from .parquet_io import (
    FeatureJob,
    RecordingRef,
    _fs,
    partition_metadata,
    plan,
    read_labeled_one,
    read_sample_chunks,
    remove_leftovers,
    remove_manifest,
    write_manifest,
    write_partition_stream,
)
from .policy import nonfinite_message  # the message featurize gives
from .train import EVENT_SLACK_S, event_metrics

CONNECT_TIMEOUT_S = 10.0  # FEATGEN_CONNECT_TIMEOUT (seconds) overrides it
_LOCAL = re.compile(r"local(?::(.*))?\Z")
_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://)?(?:\[[0-9a-fA-F:]+\]|[\w.-]+)(?::\d{1,5})?/?\Z")


class ClusterError(RuntimeError):
    """The cluster cannot be used (bad --cluster value, unreachable scheduler, lost work)."""


# ---------------------------------------------------------------- connecting


def parse_cluster(value: str) -> tuple[str, object]:
    """("local", n_workers) for ``local`` / ``local:N``, ("address", value) for a scheduler
    address such as ``tcp://10.0.0.5:8786`` or ``scheduler:8786``; else ClusterError."""
    text = value.strip()
    m = _LOCAL.match(text)
    if m:
        if m.group(1) is None:
            return "local", max(1, os.cpu_count() or 1)
        n = m.group(1).strip()
        if not n.isdigit() or not 1 <= int(n) <= 512:
            raise ClusterError(
                f"--cluster {value!r}: in local:N, N is the number of worker "
                f"processes, a whole number from 1 to 512 (got {n!r})"
            )
        return "local", int(n)
    if not text or not _ADDRESS.match(text) or ("://" not in text and ":" not in text):
        raise ClusterError(
            f"--cluster {value!r}: expected a Dask scheduler address "
            "(tcp://host:8786, host:8786) or local[:N] for a cluster on this "
            "machine"
        )
    return "address", text


@contextlib.contextmanager
def connect(
    value: str, local_directory: str | os.PathLike | None = None, timeout: float | None = None
):
    """A ``distributed.Client`` for --cluster VALUE, closed (with its LocalCluster) on exit."""
    kind, arg = parse_cluster(value)
    if timeout is None:
        try:
            timeout = float(os.environ.get("FEATGEN_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S))
        except ValueError:
            raise ClusterError("FEATGEN_CONNECT_TIMEOUT must be a number of seconds") from None
    try:
        from distributed import (  # lazily: dask is heavy, only this path needs it
            Client,
            LocalCluster,
        )
    except ImportError as exc:  # pragma: no cover - a dependency of featgen
        raise ClusterError(
            f"--cluster needs dask.distributed ({exc}); pip install 'dask[distributed]'"
        ) from None
    cluster = None
    try:
        if kind == "local":
            import dask  # lazily: dask is heavy, only this path needs it

            with dask.config.set(
                {
                    "distributed.worker.daemon": False,
                    "distributed.admin.system-monitor.gil.enabled": False,
                }
            ):
                cluster = LocalCluster(
                    n_workers=arg,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                    local_directory=None if local_directory is None else str(local_directory),
                )
            client = Client(cluster, timeout=timeout)
        else:
            try:
                client = Client(arg, timeout=timeout)
            except (OSError, TimeoutError) as exc:
                raise ClusterError(
                    f"--cluster {arg}: cannot reach a Dask scheduler there "
                    f"within {timeout:g} s ({_short(exc)})"
                ) from None
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def worker_threads(client) -> int:
    return max(1, sum(client.nthreads().values()))


# ---------------------------------------------------------------- the per-recording tasks

_MODULES: dict[str, object] = {}


def generated_module(job: FeatureJob):
    """The spec's generated numpy module in this process, compiled once per source text."""
    key = hashlib.sha256(job.source.encode()).hexdigest()
    if key not in _MODULES:
        _MODULES[key] = load_numpy_module(
            {f"python/{job.spec_name}_features.py": job.source}, job.spec_name
        )
    return _MODULES[key]


def featurize_recording(job: FeatureJob, samples: np.ndarray, name: str):
    """(features, ends, dropped samples) of one recording: the generated ``featurize``, with
    a non-finite sample turned into a DataError naming the recording (picklable, unlike the
    generated module's own exception class)."""
    module = generated_module(job)
    try:
        x, ends = module.featurize(samples, nonfinite=job.nonfinite)
    except module.NonFiniteSampleError as exc:
        raise DataError(
            f"{name}: sample {exc.row}, input {exc.input_name!r}: {exc.value!r} is "
            "not finite. featgen refuses non-finite samples; pass --drop-nonfinite "
            "to drop them as the device runtimes do."
        ) from None
    dropped = int((~np.isfinite(samples).all(axis=1)).sum())
    return x, ends, dropped


def _where() -> str:
    try:
        from distributed import get_worker  # lazily: dask is heavy, only this path needs it

        return get_worker().address
    except (ImportError, ValueError):
        return "client"


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB


def featurize_partition(job: FeatureJob, ref: RecordingRef, out_url: str) -> dict:
    """The task: one recording in, its Parquet partition out (atomically), a summary back.
    Streamed: the recording is read a chunk at a time, pushed through the generated
    Featurizer and its vectors written as a row group, so a task's memory does not grow with
    the recording's length."""
    start, cpu = time.perf_counter(), time.thread_time()
    module = generated_module(job)
    featurizer = module.Featurizer(job.nonfinite)

    def vectors():
        for chunk in read_sample_chunks(ref, job.inputs):
            try:
                yield featurizer.push(chunk.samples)
            except module.NonFiniteSampleError as exc:
                raise DataError(
                    nonfinite_message(
                        chunk.located(ref.url, ref.kind, ref.key, exc.row),
                        exc.input_name,
                        exc.value,
                    )
                ) from None

    def meta(n_vectors):
        return job.metadata(ref, featurizer.rows, n_vectors, featurizer.rows - featurizer.accepted)

    n_vectors = write_partition_stream(out_url, job, ref, vectors(), meta)
    return {
        "recording": ref.name,
        "samples": featurizer.rows,
        "vectors": n_vectors,
        "dropped": featurizer.rows - featurizer.accepted,
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.thread_time() - cpu,
        "worker": _where(),
        "pid": os.getpid(),
        "peak_rss_bytes": _peak_rss_bytes(),
    }


def _identity(x):
    return x


# ---------------------------------------------------------------- featurising


@dataclasses.dataclass
class Report:
    recordings: int
    written: int
    skipped: int
    stale: int
    unreadable: int
    foreign: list[str]
    vectors: int
    samples: int
    seconds: float
    workers: int
    results: list[dict]

    def per_worker(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for r in self.results:
            w = out.setdefault(r["worker"], {"partitions": 0, "vectors": 0, "peak_rss_bytes": 0})
            w["partitions"] += 1
            w["vectors"] += r["vectors"]
            w["peak_rss_bytes"] = max(w["peak_rss_bytes"], r["peak_rss_bytes"])
        return out


def featurize(
    job: FeatureJob,
    refs: list[RecordingRef],
    out_url: str,
    client=None,
    on_start=None,
    on_done=None,
    window: int | None = None,
) -> Report:
    """Write the partitioned feature table of REFS to OUT_URL: on CLIENT's cluster, or in this
    process without one. Finished partitions of an earlier run are kept; the manifest is
    written when every partition is there. ON_START(n_to_do) and ON_DONE(summary) drive a
    progress bar. An error in any recording stops the run (finished partitions stay)."""
    start = time.perf_counter()
    todo = plan(out_url, job, refs)
    if todo.todo:
        remove_manifest(out_url)
    if on_start is not None:
        on_start(len(todo.todo))
    results: list[dict] = []
    if client is None:
        for ref in todo.todo:
            results.append(featurize_partition(job, ref, out_url))
            if on_done is not None:
                on_done(results[-1])
        workers = 1
    else:
        workers = worker_threads(client)
        results = _run_on_cluster(client, job, todo.todo, out_url, on_done, window or 4 * workers)
    remove_leftovers(out_url)  # a worker killed mid-write left its temporary file
    vectors = {r["recording"]: r["vectors"] for r in results}
    if todo.done:
        vectors.update(_finished_vectors(out_url, todo.done))
    write_manifest(out_url, job, refs, vectors)
    return Report(
        len(refs),
        len(results),
        len(todo.done),
        len(todo.stale),
        len(todo.unreadable),
        todo.foreign,
        int(sum(vectors.values())),
        sum(r["samples"] for r in results),
        time.perf_counter() - start,
        workers,
        results,
    )


def _run_on_cluster(client, job, todo, out_url, on_done, window: int) -> list[dict]:
    from distributed import as_completed  # lazily: dask is heavy, only this path needs it

    run = uuid.uuid4().hex[:8]
    # The job (with the generated source) goes to the cluster once, as a task result that Dask
    # can recompute if the workers holding it die; every partition task depends on it.
    job_f = client.submit(_identity, job, key=f"featgen-job-{run}", pure=False)
    pending = iter(enumerate(todo))
    names = {}
    results = []
    live = as_completed()

    def submit_next() -> bool:
        item = next(pending, None)
        if item is None:
            return False
        i, ref = item
        f = client.submit(
            featurize_partition, job_f, ref, out_url, pure=False, key=f"featgen-partition-{run}-{i}"
        )
        names[f.key] = ref.name
        live.add(f)
        return True

    for _ in range(window):
        if not submit_next():
            break
    try:
        for future in live:
            if future.status == "error":
                exc = future.exception()
                if isinstance(exc, DataError):
                    raise DataError(str(exc)) from None
                raise ClusterError(
                    f"{names[future.key]}: the task failed on the cluster: {_short(exc)}"
                ) from None
            if future.status == "cancelled":
                raise ClusterError(f"{names[future.key]}: the task was cancelled on the cluster")
            results.append(future.result())
            future.release()
            if on_done is not None:
                on_done(results[-1])
            submit_next()
    except BaseException:
        client.cancel(list(live.futures), force=True)
        raise
    finally:
        job_f.release()
    return results


def _finished_vectors(out_url: str, refs: list[RecordingRef]) -> dict[str, int]:
    fs, root = _fs(out_url)
    out: dict[str, int] = {}
    for r in refs:
        path = posixpath.join(root, r.file)
        meta = partition_metadata(fs, path)
        if meta is None:  # readable when the run was planned, and changed since
            raise ClusterError(
                f"{path}: the finished partition of {r.name!r} is no longer readable "
                "featgen Parquet (was it changed during the run?); run again to redo it"
            )
        out[r.name] = int(meta["vectors"])
    return out


def _text(content: str | bytes) -> str:
    return content if isinstance(content, str) else content.decode("utf-8")


def feature_job(spec, files: Mapping[str, str | bytes], nonfinite: str = "raise") -> FeatureJob:
    return FeatureJob(
        spec.name,
        spec.spec_hash,
        spec.features_hash,
        __version__,
        tuple(spec.inputs),
        tuple(spec.feature_names),
        _text(files[f"python/{spec.name}_features.py"]),
        nonfinite,
    )


# ---------------------------------------------------------------- training


def labeled_partition(
    job: FeatureJob, ref: RecordingRef, label_column: str, group_column: str | None
):
    """The task: one labelled recording -> (Recording, X, y, ends, dropped), kept in the
    worker's memory for xgboost.dask (as ``featgen train`` featurises it)."""
    rec = read_labeled_one(ref, job.inputs, label_column, group_column)
    x, ends, dropped = featurize_recording(job, rec.samples, ref.name)
    return rec, x, rec.labels[ends].astype(np.int64), ends, dropped


def _summary(part) -> dict:
    rec, x, y, _, dropped = part
    return {
        "group": rec.group,
        "vectors": int(x.shape[0]),
        "classes": sorted(set(y.tolist())),
        "dropped": dropped,
        "samples": int(rec.samples.shape[0]),
    }


def _part_x(part):
    return part[1]


def _part_y(part):
    return part[2]


def _events_one(decision, spec, part, booster) -> dict:
    """train.event_metrics on one held-out recording (run where the recording lives)."""
    rec, x, y, ends, _ = part
    n = x.shape[0]
    return event_metrics(
        decision,
        spec,
        {rec.name: rec},
        x,
        y,
        np.zeros(n, np.int64),
        ends,
        np.ones(n, bool),
        booster,
    )


def train(
    spec,
    refs: list[RecordingRef],
    out: Path,
    params,
    client,
    label_column: str = "label",
    group_column: str | None = "subject",
    compare_local: bool = False,
    on_start=None,
    on_done=None,
) -> dict:
    """``featgen train`` on the cluster: featurise every recording on the workers, split by
    group exactly as on one machine, train with xgboost.dask, evaluate on the held-out groups
    and write the same model directory. With COMPARE_LOCAL, also train the single-machine
    model on the same (gathered) training vectors and report both on the held-out set."""
    import dask.array as da  # lazily: dask is heavy, only this path needs it
    import xgboost.dask as dxgb  # lazily: xgboost is heavy, only this path needs it
    from dask.delayed import delayed  # lazily: dask is heavy, only this path needs it
    from distributed import as_completed  # lazily: dask is heavy, only this path needs it

    if params.objective not in tr.OBJECTIVES:
        raise tr.TrainError(
            f"objective {params.objective!r}: use one of {', '.join(tr.OBJECTIVES)}"
        )
    files = generate(dataclasses.replace(spec, model=None, decision=None))
    job = feature_job(dataclasses.replace(spec, model=None, decision=None), files, "drop")
    run = uuid.uuid4().hex[:8]
    job_f = client.submit(_identity, job, key=f"featgen-job-{run}", pure=False)
    parts = [
        client.submit(
            labeled_partition,
            job_f,
            ref,
            label_column,
            group_column,
            pure=False,
            key=f"featgen-train-{run}-{i}",
        )
        for i, ref in enumerate(refs)
    ]
    summaries_f = client.map(_summary, parts, pure=False)
    index = {f.key: i for i, f in enumerate(summaries_f)}
    summaries: list = [None] * len(refs)
    if on_start is not None:
        on_start(len(refs))
    start = time.perf_counter()
    try:
        for f in as_completed(summaries_f):
            if f.status == "error":
                exc = f.exception()
                if isinstance(exc, DataError):
                    raise DataError(str(exc)) from None
                raise ClusterError(
                    f"{refs[index[f.key]].name}: the task failed on the cluster: {_short(exc)}"
                ) from None
            summaries[index[f.key]] = f.result()
            if on_done is not None:
                on_done(summaries[index[f.key]])
    except BaseException:
        client.cancel(parts + summaries_f, force=True)
        raise
    featurize_seconds = time.perf_counter() - start
    n_features = len(spec.feature_names)
    vectors = [s["vectors"] for s in summaries]
    if sum(vectors) == 0:
        raise tr.TrainError(
            "the recordings produced no feature vectors (each needs at least "
            f"{spec.max_length} samples)"
        )
    classes_seen = sorted({c for s in summaries for c in s["classes"]})
    classes, n_class = tr.check_labels(params, np.array(classes_seen, dtype=np.int64))
    with_vectors = [i for i, v in enumerate(vectors) if v]
    groups = np.array([summaries[i]["group"] for i in with_vectors], dtype=object)
    train_groups, test_groups = tr.split_groups(groups, params.test_fraction, params.seed)
    test_set = set(test_groups)
    train_idx = [i for i in with_vectors if summaries[i]["group"] not in test_set]
    test_idx = [i for i in with_vectors if summaries[i]["group"] in test_set]

    def stack(idx, getter, shape_of, dtype):
        return da.concatenate(
            [da.from_delayed(delayed(getter)(parts[i]), shape_of(i), dtype=dtype) for i in idx]
        )

    X_train = stack(train_idx, _part_x, lambda i: (vectors[i], n_features), np.float64)
    y_train = stack(train_idx, _part_y, lambda i: (vectors[i],), np.int64)
    X_test = stack(test_idx, _part_x, lambda i: (vectors[i], n_features), np.float64)
    xgb_params = tr.xgb_params_of(params, n_class)
    start = time.perf_counter()
    dtrain = dxgb.DaskDMatrix(client, X_train, y_train, missing=np.nan)
    booster = dxgb.train(client, xgb_params, dtrain, num_boost_round=params.rounds)["booster"]
    train_seconds = time.perf_counter() - start

    out = Path(out)
    raw, forest, decision = tr.save_model(spec, booster, out, params)
    margins = np.asarray(
        dxgb.inplace_predict(client, booster, X_test, predict_type="margin").compute(),
        dtype=np.float32,
    ).reshape(sum(vectors[i] for i in test_idx), -1)
    y_test = np.concatenate(client.gather(client.map(_part_y, [parts[i] for i in test_idx])))
    metrics = tr.evaluate(decision, y_test, margins, n_class)
    booster_f = client.scatter(booster, broadcast=True, hash=False)
    events = client.gather(
        [
            client.submit(_events_one, decision, spec, parts[i], booster_f, pure=False)
            for i in test_idx
        ]
    )
    metrics["events"] = _sum_events(events, decision)
    n_train = sum(vectors[i] for i in train_idx)
    y_counts = {c: 0 for c in classes}
    for counts in client.gather(
        client.map(_class_counts, [parts[i] for i in with_vectors], pure=False)
    ):
        for c, k in counts.items():  # class fractions over all vectors, as featgen train
            y_counts[c] = y_counts.get(c, 0) + k
    total = sum(vectors)
    metrics["data"] = {
        "recordings": len(refs),
        "vectors": int(total),
        "train_vectors": int(n_train),
        "test_vectors": int(total - n_train),
        "train_groups": [str(g) for g in train_groups],
        "test_groups": [str(g) for g in test_groups],
        "positive_fraction": {str(c): y_counts[c] / total for c in classes},
        "dropped_nonfinite_samples": int(sum(s["dropped"] for s in summaries)),
    }
    metrics["cluster"] = {
        "engine": "dask.distributed + xgboost.dask",
        "workers": len(client.nthreads()),
        "threads": worker_threads(client),
        "featurize_seconds": featurize_seconds,
        "train_seconds": train_seconds,
        "samples": int(sum(s["samples"] for s in summaries)),
    }
    if compare_local:
        metrics["cluster"]["single_machine"] = _compare_local(
            client,
            booster,
            xgb_params,
            params,
            parts,
            train_idx,
            X_test,
            y_test,
            margins,
            decision,
            n_class,
        )
    tr.write_meta(
        spec,
        out,
        params,
        xgb_params,
        raw,
        forest,
        n_class,
        test_groups,
        label_column,
        group_column,
        metrics,
    )
    return metrics  # the futures (features held by the workers) are released on return


def _class_counts(part) -> dict:
    values, counts = np.unique(part[2], return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts)}


def _sum_events(events: list[dict], decision) -> dict:
    labelled = sum(e["labelled_events"] for e in events)
    detected = sum(e["detected"] for e in events)
    false_events = sum(e["false_events"] for e in events)
    hours = sum(e["hours"] for e in events)
    return {
        "labelled_events": labelled,
        "detected": detected,
        "detection_rate": detected / labelled if labelled else None,
        "false_events": false_events,
        "hours": hours,
        "false_events_per_hour": false_events / hours if hours else None,
        "slack_seconds": EVENT_SLACK_S,
        "decision": decision.to_json(),
    }


def _compare_local(
    client,
    booster,
    xgb_params,
    params,
    parts,
    train_idx,
    X_test,
    y_test,
    margins,
    decision,
    n_class,
) -> dict:
    """Train the single-machine model on the same training vectors (gathered, in recording
    order) and set its held-out predictions beside the cluster model's."""
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    xs = client.gather(client.map(_part_x, [parts[i] for i in train_idx]))
    ys = client.gather(client.map(_part_y, [parts[i] for i in train_idx]))
    start = time.perf_counter()
    local = xgboost.train(
        xgb_params,
        xgboost.DMatrix(np.concatenate(xs), np.concatenate(ys), missing=np.nan),
        num_boost_round=params.rounds,
    )
    seconds = time.perf_counter() - start
    x_test = X_test.compute()
    local_margins = np.asarray(
        local.inplace_predict(x_test, predict_type="margin"), dtype=np.float32
    ).reshape(margins.shape)
    local_metrics = tr.evaluate(decision, y_test, local_margins, n_class)
    diff = np.abs(local_margins.astype(np.float64) - margins.astype(np.float64))
    if decision.kind == "binary":
        same = decisions.positive(decision, local_margins) == decisions.positive(decision, margins)
    else:
        same = decisions.argmax_first(local_margins) == decisions.argmax_first(margins)
    key = "roc_auc" if decision.kind == "binary" else "roc_auc_macro_ovr"
    return {
        "test_vectors": int(len(y_test)),
        "train_seconds": seconds,
        "margins_bit_equal_pct": 100.0 * float((local_margins == margins).all(axis=1).mean())
        if len(y_test)
        else None,
        "max_abs_margin_diff": float(diff.max()) if diff.size else 0.0,
        "mean_abs_margin_diff": float(diff.mean()) if diff.size else 0.0,
        "decisions_equal_pct": 100.0 * float(same.mean()) if len(y_test) else None,
        "roc_auc_single_machine": local_metrics.get(key),
        "roc_auc_cluster": tr.evaluate(decision, y_test, margins, n_class).get(key),
        "same_model_bytes": bytes(local.save_raw("json")) == bytes(booster.save_raw("json")),
    }
