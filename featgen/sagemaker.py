"""SageMaker-style script mode: ``python -m featgen.sagemaker [--hyperparameter value ...]``.

The training-job convention: the data are in the channel directories named by
``SM_CHANNEL_<NAME>`` (``training`` holds the recordings: CSV, NPZ or Parquet, with a label
column), the model goes to ``SM_MODEL_DIR``, other artefacts to ``SM_OUTPUT_DATA_DIR``,
hyperparameters arrive as command-line arguments, ``SM_NUM_CPUS`` / ``SM_HOSTS`` describe the
machine(s), and a failure's reason is written to ``$SM_OUTPUT_DIR/failure``.

It runs what ``featgen featurize --cluster`` and ``featgen train --cluster`` run, on a
LocalCluster of SM_NUM_CPUS workers (or on ``--cluster ADDRESS``): the partitioned Parquet
features to ``$SM_OUTPUT_DATA_DIR/features`` and the model directory (model.json,
featgen_model.json, metrics.json) to ``$SM_MODEL_DIR``. A job of several hosts must bring its
own Dask scheduler (``--cluster tcp://host:8786``); this entry point does not start one across
hosts.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from codegen.build import generate
from featurespec import SpecError, load_spec

from . import cluster as cl
from .cluster import ClusterError
from .data import DataError
from .parquet_io import discover
from .train import Params, TrainError


class JobError(RuntimeError):
    pass


def _env_dir(name: str, default: str | None = None) -> Path:
    value = os.environ.get(name, default)
    if not value:
        raise JobError(
            f"${name} is not set: this entry point runs inside a SageMaker-style "
            "training job (or set the variable yourself)"
        )
    return Path(value)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m featgen.sagemaker", description=__doc__.split("\n\n")[0]
    )
    p.add_argument(
        "--spec",
        default="spec.yaml",
        help="feature spec: absolute, or relative to $SM_CHANNEL_SPEC, the working "
        "directory (the job's source dir) or $SM_CHANNEL_TRAINING",
    )
    p.add_argument("--cluster", help="an existing Dask scheduler; default local:$SM_NUM_CPUS")
    p.add_argument(
        "--featurize",
        default="true",
        choices=("true", "false"),
        help="also write the partitioned features to $SM_OUTPUT_DATA_DIR/features",
    )
    p.add_argument("--drop-nonfinite", default="false", choices=("true", "false"))
    p.add_argument("--label-column", default="label")
    p.add_argument("--group-column", default="subject")
    p.add_argument("--objective", default="binary:logistic")
    p.add_argument("--rounds", type=int, default=60)
    p.add_argument("--max-depth", type=int, default=5)
    p.add_argument("--eta", type=float, default=0.2)
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    return p


def _spec_path(value: str, training: Path) -> Path:
    path = Path(value)
    if path.is_absolute():
        candidates = [path]
    else:
        candidates = [Path(os.environ[k]) / path for k in ("SM_CHANNEL_SPEC",) if k in os.environ]
        candidates += [Path.cwd() / path, training / path]
    for c in candidates:
        if c.is_file():
            return c
    raise JobError(f"--spec {value}: not found (looked at {', '.join(map(str, candidates))})")


def run(argv: list[str] | None = None) -> dict:
    args = _parser().parse_args(argv)
    training = _env_dir("SM_CHANNEL_TRAINING")
    model_dir = _env_dir("SM_MODEL_DIR", "/opt/ml/model")
    output_dir = _env_dir("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    hosts = json.loads(os.environ.get("SM_HOSTS", "[]") or "[]")
    if len(hosts) > 1 and not args.cluster:
        raise JobError(
            f"{len(hosts)} hosts ({', '.join(hosts)}): start a Dask scheduler and "
            "workers on them and pass --cluster tcp://<scheduler>:8786"
        )
    spec = load_spec(str(_spec_path(args.spec, training)))
    refs = discover([str(training)])
    try:
        cpus = int(os.environ.get("SM_NUM_CPUS") or os.cpu_count() or 1)
    except ValueError:
        raise JobError("$SM_NUM_CPUS is not a whole number") from None
    cluster = args.cluster or f"local:{max(1, cpus)}"
    params = Params(
        objective=args.objective,
        rounds=args.rounds,
        max_depth=args.max_depth,
        eta=args.eta,
        test_fraction=args.test_fraction,
        seed=args.seed,
    )
    summary = {
        "spec": spec.name,
        "spec_hash": spec.spec_hash,
        "recordings": len(refs),
        "cluster": cluster,
    }
    with cl.connect(
        cluster, local_directory=os.environ.get("SM_OUTPUT_INTERMEDIATE_DIR")
    ) as client:
        if args.featurize == "true":
            job = cl.feature_job(
                spec, generate(spec), "drop" if args.drop_nonfinite == "true" else "raise"
            )
            report = cl.featurize(job, refs, str(output_dir / "features"), client)
            summary["features"] = {
                "dir": str(output_dir / "features"),
                "vectors": report.vectors,
                "written": report.written,
                "skipped": report.skipped,
            }
        metrics = cl.train(
            spec, refs, model_dir, params, client, args.label_column, args.group_column or None
        )
    summary["metrics"] = {
        k: metrics.get(k) for k in ("roc_auc", "accuracy", "precision", "recall") if k in metrics
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    try:
        summary = run(argv)
    except (JobError, DataError, TrainError, ClusterError, SpecError, OSError) as exc:
        message = str(exc)
        print(f"error: {message}", file=sys.stderr)
        failure = Path(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output")) / "failure"
        try:
            failure.parent.mkdir(parents=True, exist_ok=True)
            failure.write_text(message + "\n")
        except OSError:
            pass
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
