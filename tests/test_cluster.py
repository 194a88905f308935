"""featgen on a Dask cluster: the same feature bits as one machine, no partition lost or
duplicated when a worker dies, resumable runs, the same split and a reported model comparison
for xgboost.dask, and clean messages for bad input.

One LocalCluster (3 worker processes) serves the module; its scheduler address is what a user
passes as ``--cluster ADDRESS``, so the CLI tests run against an existing scheduler."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codegen.build import generate
from featgen import cluster as cl
from featgen.cli import main
from featgen.data import DataError, read_recordings
from featgen.parquet_io import (
    MANIFEST,
    TMP_MARK,
    discover,
    read_features,
    recording_of,
    write_recording_parquet,
)
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
INPUTS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")

# A hung cluster fails its test instead of holding CI (pytest-timeout, in the test extra).
pytestmark = pytest.mark.timeout(240, method="thread")


def _make_data():
    path = ROOT / "examples" / "twist_and_go" / "make_data.py"
    spec = importlib.util.spec_from_file_location("featgen_make_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Path:
    """9 labelled recordings of 3 subjects in all three formats: s00 as CSV files, s01 as
    Parquet files, s02 in one NPZ archive (recordings fleet:s02_r00 ...)."""
    make = _make_data()
    data = make.generate(subjects=3, recordings=3, seconds=8.0, seed=3)
    root = tmp_path_factory.mktemp("fleet")
    make.write({k: v for k, v in data.items() if k.startswith("s00")}, root, "csv")
    for name, (samples, labels, subject) in data.items():
        if name.startswith("s01"):
            write_recording_parquet(
                root / f"{name}.parquet",
                samples,
                INPUTS,
                {
                    "label": labels.astype(np.int64),
                    "subject": np.full(len(labels), subject, np.int64),
                },
            )
    arrays = {}
    for name, (samples, labels, subject) in data.items():
        if name.startswith("s02"):
            arrays[name] = samples
            arrays[f"{name}.label"] = labels
            arrays[f"{name}.subject"] = np.full(labels.shape, subject, dtype=np.int64)
    np.savez(root / "fleet.npz", **arrays)
    return root


@pytest.fixture(scope="module")
def spec():
    return load_spec(str(SPEC))


@pytest.fixture(scope="module")
def job(spec):
    return cl.feature_job(spec, generate(spec))


@pytest.fixture(scope="module")
def reference(fleet, spec):
    """The single-machine reference: ``featgen featurize`` on the same files, in the same
    order (.npz output: features, end_sample, recording)."""
    files = [r.url for r in discover([str(fleet)])]
    files = list(dict.fromkeys(files))  # the NPZ archive once
    out = fleet.parent / "reference.npz"
    result = CliRunner().invoke(main, ["featurize", str(SPEC), *files, "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as ref:
        return ref["features"], ref["end_sample"], [str(r) for r in ref["recording"]]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with cl.connect("local:3", local_directory=tmp_path_factory.mktemp("dask"), timeout=60) as c:
        c.wait_for_workers(3, timeout=120)
        yield c


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    assert "Traceback" not in result.output, result.output
    return result


def _bits(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64).view(np.uint64)


def _assert_same(out: Path, reference):
    x_ref, ends_ref, names_ref = reference
    x, ends, names, manifest = read_features(str(out))
    assert x.shape == x_ref.shape and x.shape[0] > 1500
    assert np.array_equal(_bits(x), _bits(x_ref))  # bit for bit, NaN payloads included
    assert np.array_equal(ends, ends_ref)
    assert list(names) == names_ref  # order included
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([MANIFEST] + [p["file"] for p in manifest["partitions"]])
    assert len({p["recording"] for p in manifest["partitions"]}) == len(manifest["partitions"])
    return manifest


# ---------------------------------------------------------------- same bits


def test_discover_names_recordings_as_one_machine_does(fleet, spec):
    refs = discover([str(fleet)])
    assert [r.name for r in refs] == [
        "fleet:s02_r00",
        "fleet:s02_r01",
        "fleet:s02_r02",
        "s00_r00",
        "s00_r01",
        "s00_r02",
        "s01_r00",
        "s01_r01",
        "s01_r02",
    ]
    single = read_recordings(list(dict.fromkeys(Path(r.url) for r in refs)), spec.inputs)
    assert list(single) == [r.name for r in refs]
    assert [r.name for r in discover([str(fleet / "s0*_r0[01].*")])] == [
        "s00_r00",
        "s00_r01",
        "s01_r00",
        "s01_r01",
    ]


def test_cluster_features_are_bit_identical_to_one_machine(fleet, client, reference, tmp_path):
    address = client.scheduler.address
    out = tmp_path / "features"
    result = run("featurize", SPEC, fleet, "-o", out, "--cluster", address)
    assert result.exit_code == 0, result.output
    assert "9 partition(s) (9 written)" in result.output
    manifest = _assert_same(out, reference)
    assert manifest["features_hash"] == load_spec(str(SPEC)).features_hash


def test_work_is_spread_over_workers_and_partitions_carry_their_spec(
    fleet, client, job, reference, tmp_path
):
    import pyarrow.parquet as pq

    out = tmp_path / "features"
    report = cl.featurize(job, discover([str(fleet)]), str(out), client, window=3)
    assert report.written == 9 and report.skipped == 0
    assert len({r["worker"] for r in report.results}) >= 2
    assert len({r["pid"] for r in report.results} - {os.getpid()}) >= 2
    _assert_same(out, reference)
    meta = json.loads(pq.read_schema(out / "part-s00_r01.parquet").metadata[b"featgen"])
    assert meta["spec_hash"] == job.spec_hash and meta["recording"] == "s00_r01"
    assert meta["feature_names"] == list(job.feature_names)
    assert pq.read_schema(out / "part-s00_r01.parquet").names[2:] == list(job.feature_names)


# ---------------------------------------------------------------- resumable


def test_interrupted_run_resumes_without_redoing_finished_partitions(
    fleet, client, job, reference, tmp_path
):
    out = tmp_path / "features"
    refs = discover([str(fleet)])
    done = []

    def stop_after_three(summary):
        done.append(summary["recording"])
        if len(done) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # on this machine, deterministically
        cl.featurize(job, refs, str(out), None, on_done=stop_after_three)
    assert not (out / MANIFEST).exists()
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("part-*.parquet")}
    assert len(finished) == 3
    # what a writer killed mid-file leaves: its temporary file, never a partition
    (out / f"{TMP_MARK}dead-part-s01_r02.parquet").write_bytes(b"PAR1 half")
    # a partition damaged behind featgen's back is redone, not trusted
    damaged = next(p for p in finished if p != "part-fleet%3As02_r00.parquet")
    (out / damaged).write_bytes(b"not parquet")
    time.sleep(0.01)
    report = cl.featurize(job, refs, str(out), client)  # resumed on the cluster
    assert (report.skipped, report.unreadable, report.written) == (2, 1, 7)
    kept = {recording_of(name) for name in finished if name != damaged}
    assert sorted(r["recording"] for r in report.results) == sorted({r.name for r in refs} - kept)
    for name, mtime in finished.items():
        if name != damaged:
            assert (out / name).stat().st_mtime_ns == mtime  # kept, not rewritten
    assert not list(out.glob(f"{TMP_MARK}*"))
    _assert_same(out, reference)
    again = cl.featurize(job, refs, str(out), client)
    assert (again.skipped, again.written) == (9, 0)


def test_a_changed_recording_is_redone(fleet, job, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(fleet, data)
    out = tmp_path / "features"
    refs = discover([str(data)])
    cl.featurize(job, refs, str(out))
    text = (data / "s00_r00.csv").read_text().splitlines()
    (data / "s00_r00.csv").write_text("\n".join(text[:-40]) + "\n")
    os.utime(data / "s00_r00.csv", ns=(1, 1))
    report = cl.featurize(job, discover([str(data)]), str(out))
    assert (report.stale, report.written, report.skipped) == (1, 1, 8)


def test_partitions_of_another_spec_are_refused(fleet, tmp_path):
    out = tmp_path / "features"
    assert run("featurize", SPEC, fleet / "s00_r00.csv", "-o", out).exit_code == 0
    other = tmp_path / "spec.yaml"
    text = SPEC.read_text().split("\nmodel:")[0] + "\n"
    other.write_text(text.replace("threshold: 2.5", "threshold: 2.75"))
    before = (out / "part-s00_r00.parquet").read_bytes()
    result = run("featurize", other, fleet / "s00_r00.csv", "-o", out)
    assert result.exit_code == 2
    assert "was written by spec 'twist_and_go'" in result.output
    assert "features hash" in result.output and "another directory" in result.output
    assert (out / "part-s00_r00.parquet").read_bytes() == before


# ---------------------------------------------------------------- a worker dies mid-run


def test_killed_worker_loses_and_duplicates_no_partition(fleet, client, job, reference, tmp_path):
    out = tmp_path / "features"
    refs = discover([str(fleet)])
    killed = []
    pids = client.run(os.getpid)  # {worker address: process id}

    def kill_a_busy_worker(summary):
        if killed:
            return
        busy = [
            w
            for w, keys in client.processing().items()
            if any("featgen-partition" in str(k) for k in keys)
        ]
        assert busy, "no worker was featurising when the first partition finished"
        killed.append(busy[0])
        os.kill(pids[busy[0]], signal.SIGKILL)  # no goodbye to the scheduler

    report = cl.featurize(job, refs, str(out), client, on_done=kill_a_busy_worker, window=9)
    assert killed
    deadline = time.monotonic() + 60
    while killed[0] in client.nthreads() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert killed[0] not in client.nthreads()  # it really died mid-run
    assert sorted(r["recording"] for r in report.results) == sorted(r.name for r in refs)
    assert not list(out.glob(f"{TMP_MARK}*"))
    _assert_same(out, reference)
    client.wait_for_workers(3, timeout=120)  # the nanny restarted it


# ---------------------------------------------------------------- training


def test_train_on_cluster_splits_like_one_machine_and_reports_both_models(fleet, client, tmp_path):
    address = client.scheduler.address
    local = run("train", SPEC, fleet, "-o", tmp_path / "local", "--rounds", 5)  # one machine
    assert local.exit_code == 0, local.output
    result = run(
        "train",
        SPEC,
        fleet,
        "-o",
        tmp_path / "dist",
        "--rounds",
        5,
        "--cluster",
        address,
        "--compare-local",
    )
    assert result.exit_code == 0, result.output
    assert "beside the single-machine model" in result.output
    m_local = json.loads((tmp_path / "local" / "metrics.json").read_text())
    m_dist = json.loads((tmp_path / "dist" / "metrics.json").read_text())
    assert m_dist["data"] == m_local["data"]  # same vectors, same split by group
    assert m_dist["events"]["labelled_events"] == m_local["events"]["labelled_events"]
    side = m_dist["cluster"]["single_machine"]
    assert side["test_vectors"] == m_local["data"]["test_vectors"]
    for key in (
        "max_abs_margin_diff",
        "decisions_equal_pct",
        "roc_auc_cluster",
        "roc_auc_single_machine",
    ):
        assert side[key] is not None and np.isfinite(side[key]), key
    meta = json.loads((tmp_path / "dist" / "featgen_model.json").read_text())
    assert meta["features_hash"] == load_spec(str(SPEC)).features_hash
    assert (
        meta["split"]
        == json.loads((tmp_path / "local" / "featgen_model.json").read_text())["split"]
    )


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "value, message",
    [
        ("local:0", "a whole number from 1 to 512"),
        ("local:x", "a whole number from 1 to 512"),
        ("local:", "a whole number from 1 to 512"),
        ("nonsense", "expected a Dask scheduler address"),
        ("tcp://", "expected a Dask scheduler address"),
    ],
)
def test_malformed_cluster_values_are_clear_errors(fleet, tmp_path, value, message):
    result = run("featurize", SPEC, fleet, "-o", tmp_path / "f", "--cluster", value)
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "f").exists()


def test_parse_cluster():
    assert cl.parse_cluster("local:3") == ("local", 3)
    assert cl.parse_cluster("local")[0] == "local"
    assert cl.parse_cluster("tcp://10.1.2.3:8786") == ("address", "tcp://10.1.2.3:8786")
    assert cl.parse_cluster("scheduler:8786") == ("address", "scheduler:8786")
    with pytest.raises(cl.ClusterError):
        cl.parse_cluster("local:-1")


def test_unreachable_scheduler_is_a_clear_error(fleet, tmp_path):
    result = run(
        "featurize",
        SPEC,
        fleet,
        "-o",
        tmp_path / "f",
        "--cluster",
        "tcp://127.0.0.1:9",
        env={"FEATGEN_CONNECT_TIMEOUT": "2"},
    )
    assert result.exit_code == 2
    assert "cannot reach a Dask scheduler there within 2 s" in result.output


@pytest.mark.parametrize(
    "source, message",
    [
        ("missing_dir", "no such file or directory"),
        ("*.nothing", "no files match this pattern"),
        ("empty", "directory holds no .csv, .npz or .parquet files"),
    ],
)
def test_bad_data_sources_are_clear_errors(tmp_path, source, message):
    (tmp_path / "empty").mkdir()
    result = run("featurize", SPEC, tmp_path / source, "-o", tmp_path / "f", "--cluster", "local:1")
    assert result.exit_code == 2 and message in result.output, result.output


def test_bad_recordings_fail_the_run_with_their_name(fleet, client, tmp_path):
    address = client.scheduler.address
    bad = tmp_path / "data"
    bad.mkdir()
    (bad / "good.csv").write_text((fleet / "s00_r00.csv").read_text())
    lines = (fleet / "s00_r01.csv").read_text().splitlines()
    fields = lines[200].split(",")
    fields[3] = "nan"  # gyro_x of sample 199
    lines[200] = ",".join(fields)
    (bad / "holey.csv").write_text("\n".join(lines) + "\n")
    result = run("featurize", SPEC, bad, "-o", tmp_path / "f", "--cluster", address)
    assert result.exit_code == 2
    assert (
        "holey.csv:201: input 'gyro_x': nan is not finite. featgen refuses non-finite samples"
        in result.output.replace("\n", " ")
    )
    assert "--drop-nonfinite" in result.output and "rerun the same command" in result.output
    ok = run("featurize", SPEC, bad, "-o", tmp_path / "f", "--cluster", address, "--drop-nonfinite")
    assert ok.exit_code == 0, ok.output
    result = run("featurize", SPEC, bad, "-o", tmp_path / "f.csv", "--cluster", address)
    assert result.exit_code == 2 and "directory of Parquet partitions" in result.output


def test_data_errors_name_the_file(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text("acc_x\n1\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x.csv").write_text("acc_x\n1\n")
    with pytest.raises(DataError, match="two recordings are named 'x'"):
        discover([str(tmp_path / "a"), str(tmp_path / "b")])
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(DataError, match="not a recording"):
        discover([str(tmp_path / "*")])


# ---------------------------------------------------------------- SageMaker-style script mode


def test_sagemaker_script_mode_reads_its_environment(fleet, client, tmp_path, monkeypatch):
    from featgen import sagemaker

    model, output = tmp_path / "model", tmp_path / "output"
    monkeypatch.setenv("SM_CHANNEL_TRAINING", str(fleet))
    monkeypatch.setenv("SM_MODEL_DIR", str(model))
    monkeypatch.setenv("SM_OUTPUT_DATA_DIR", str(output / "data"))
    monkeypatch.setenv("SM_OUTPUT_DIR", str(output))
    monkeypatch.setenv("SM_HOSTS", '["algo-1"]')
    monkeypatch.setenv("SM_NUM_CPUS", "2")
    assert (
        sagemaker.main(
            ["--spec", str(SPEC), "--rounds", "3", "--cluster", client.scheduler.address]
        )
        == 0
    )
    assert {p.name for p in model.iterdir()} >= {"model.json", "featgen_model.json", "metrics.json"}
    _, _, names, manifest = read_features(str(output / "data" / "features"))
    assert manifest["recordings"] == 9 and len(names) == manifest["vectors"]
    # a job of several hosts without a scheduler, and a missing spec: the reason is recorded
    monkeypatch.setenv("SM_HOSTS", '["algo-1", "algo-2"]')
    assert sagemaker.main(["--spec", str(SPEC)]) == 2
    assert "start a Dask scheduler" in (output / "failure").read_text()
    monkeypatch.setenv("SM_HOSTS", '["algo-1"]')
    assert sagemaker.main(["--spec", "nope.yaml"]) == 2
    assert "--spec nope.yaml: not found" in (output / "failure").read_text()
    monkeypatch.delenv("SM_CHANNEL_TRAINING")
    assert sagemaker.main([]) == 2
    assert "$SM_CHANNEL_TRAINING is not set" in (output / "failure").read_text()


def test_fsspec_urls_in_and_out(fleet, job, spec):
    """Recordings and features behind a URL (fsspec's in-memory filesystem stands in for an
    object store): read through a local copy, written through a temporary object and a move."""
    import fsspec

    from featgen.cluster import generated_module

    fs = fsspec.filesystem("memory")
    for name in ("s00_r00.csv", "s01_r01.parquet"):
        fs.pipe(f"/fleet/{name}", (fleet / name).read_bytes())
    refs = discover(["memory://fleet/*"])
    assert [r.name for r in refs] == ["s00_r00", "s01_r01"]
    assert refs[0].url.startswith("memory://") and refs[0].url.endswith("/fleet/s00_r00.csv")
    report = cl.featurize(job, refs, "memory://features")
    assert report.written == 2
    x, ends, names, _ = read_features("memory://features")
    module = generated_module(job)
    local = read_recordings([fleet / "s00_r00.csv", fleet / "s01_r01.parquet"], spec.inputs)
    expected = [module.featurize(samples) for samples in local.values()]
    assert np.array_equal(_bits(x), _bits(np.concatenate([e[0] for e in expected])))
    assert np.array_equal(ends, np.concatenate([e[1] for e in expected]))
    assert not [p for p in fs.ls("/features", detail=False) if TMP_MARK in p]
    assert cl.featurize(job, refs, "memory://features").skipped == 2
    fs.rm("/fleet", recursive=True)
    fs.rm("/features", recursive=True)
