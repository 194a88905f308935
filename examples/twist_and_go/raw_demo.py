#!/usr/bin/env python3
"""The same motions logged by an Android and by an iPhone, through featgen's sensor rule and
through the pipelines teams write by hand: what each feeds the model, measured.

make_data.py's raw-events mode gives each motion twice: an Android log (``t_ns``, m/s^2 and rad/s
as the ``float`` SensorEvent holds) and an iOS log (``t_s`` seconds, acceleration in g with Core
Motion's opposite sign, doubles). Each log goes through the spec's ``sensors:`` rule (the
generated numpy resampler, bit-identical to the phones' C, Swift and Kotlin adapters), the
features and the model, and the detector's decision block. The reference is **the phone**: the
Android log through featgen, which is what the generated Android adapter computes on the device.

The hand-written pipelines, each a mistake a team makes when training and phone code are
written separately:

* ``ios: no sign flip``: the iOS log converted g -> m/s^2 but without Core Motion's sign;
* ``pandas resample``: the Android log binned with ``resample("20ms").mean()`` (then
  ``interpolate()`` for empty bins), the usual notebook code, instead of the rule's linear
  interpolation at the grid times;
* ``phone: latest value``: the hand-written phone loop that feeds each 20 ms tick the latest
  event of each sensor (sample-and-hold) while training interpolated;
* ``android decimals as double``: the Android log's decimals read as doubles, not as the
  float32 values the phone's listener holds.

For each: how many feature vectors reach the model with other float32 inputs than the phone's,
how many decisions (positive / negative per vector) differ, and the door openings it would
cause on the labelled motions (twists detected, false openings).

    python examples/twist_and_go/raw_demo.py                  # 8 subjects x 2 x 60 s
    python examples/twist_and_go/raw_demo.py --subjects 2 --recordings 1 --seconds 30
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SLACK_S = 1.0  # a twist is detected by an event up to 1 s after it (as train)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"twist_and_go_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclasses.dataclass
class Run:
    """One log through one pipeline: the fixed-rate grid, what the model saw, what it decided."""

    t_ns: np.ndarray  # grid time of each feature vector
    inputs: np.ndarray  # (vectors, features) float64 features
    positive: np.ndarray  # per vector
    fired: np.ndarray  # per vector: an opening
    labels: np.ndarray  # per vector: the motion's label at its time


class Pipeline:
    """The spec, its generated numpy modules, the model and the decision block, loaded once."""

    def __init__(self, spec_path: Path):
        from codegen.build import generate
        from codegen.trees import decision as decisions
        from codegen.trees.model_dir import load_bundle
        from featgen import rawlog
        from featgen.harness import load_numpy_module
        from featgen.harness.prediction import load_booster
        from featurespec import load_spec

        self.spec = load_spec(spec_path)
        if self.spec.sensors is None or self.spec.model is None or self.spec.decision is None:
            sys.exit(f"{spec_path}: needs sensors:, model: and decision: blocks")
        files = generate(dataclasses.replace(self.spec, model=None, decision=None))
        self.features = load_numpy_module(files, self.spec.name)
        self.sensors = rawlog.sensors_module(self.spec, files)
        bundle = load_bundle(self.spec)
        self.booster = load_booster(bundle.raw)
        self.decisions = decisions
        self.decision = decisions.resolve(self.spec.decision, bundle.forest)
        self.rawlog = rawlog
        self.inputs = list(self.spec.inputs)

    def read(self, path: Path):
        return self.rawlog.read_raw_log(path, self.spec, label_column="label")

    def run(
        self,
        t_ns: np.ndarray,
        samples: np.ndarray,
        starts: np.ndarray,
        event_t: np.ndarray,
        event_label: np.ndarray,
    ) -> Run:
        """Featurise fixed-rate samples segment by segment (fresh state after each reset, as the
        phone), predict, decide; label each vector with the latest event at or before it."""
        bounds = np.flatnonzero(starts).tolist() + [len(t_ns)]
        if not bounds or bounds[0] != 0:
            bounds = [0] + bounds
        xs, ts = [], []
        for a, b in zip(bounds, bounds[1:]):
            x, ends = self.features.featurize(samples[a:b])
            xs.append(x)
            ts.append(t_ns[a:b][ends])
        x = np.concatenate(xs) if xs else np.zeros((0, len(self.spec.feature_names)))
        t = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
        margins = np.asarray(
            self.booster.inplace_predict(x.astype(np.float32), predict_type="margin"),
            dtype=np.float32,
        ).reshape(len(x), -1)
        positive = self.decisions.positive(self.decision, margins)
        # the refractory period counts accepted samples; the grid is one sample per 20 ms
        ordinals = (
            np.rint((t - t[0]) * self.spec.sample_rate_hz / 1e9).astype(np.int64)
            if len(t)
            else np.zeros(0, dtype=np.int64)
        )
        _, fired = self.decisions.events(self.decision, positive, ordinals)
        order = np.argsort(event_t, kind="stable")
        at = np.searchsorted(event_t[order], t, side="right") - 1
        labels = event_label[order][np.maximum(at, 0)]
        return Run(t, x, positive, fired, labels)

    def featgen(self, log, platform: str, values: np.ndarray | None = None) -> Run:
        """The spec's rule: what the generated adapter computes on the phone."""
        v = self.rawlog.as_delivered(log.values, platform) if values is None else values
        r = self.sensors.resample(log.t_ns, log.sensor, v, platform)
        return self.run(r.t_ns, r.samples, r.segment_start, log.t_ns, log.labels)

    def grid(self, log) -> tuple[int, int]:
        """The featgen grid's first time and step count for this log (to align hand-written
        pipelines with it)."""
        r = self.sensors.resample(
            log.t_ns, log.sensor, self.rawlog.as_delivered(log.values, "android"), "android"
        )
        return int(r.t_ns[0]), len(r.t_ns)

    def pandas_resample(self, log) -> Run:
        """The notebook pipeline: per sensor, ``resample("20ms", origin=t0).mean()``, joined,
        empty bins filled by ``interpolate()``, leading gaps dropped."""
        import pandas as pd

        t0, n = self.grid(log)
        period = f"{int(round(1e9 / self.spec.sample_rate_hz))}ns"
        frames = []
        values = self.rawlog.as_delivered(log.values, "android")
        for k, source in enumerate(self.spec.sensors.sources):
            keep = log.sensor == k
            frame = pd.DataFrame(
                values[keep],
                columns=["x", "y", "z"],
                index=pd.to_datetime(log.t_ns[keep], unit="ns"),
            )
            binned = frame.resample(period, origin=pd.Timestamp(t0, unit="ns")).mean()
            # the Android source's input order (the spec maps x, y, z to its inputs)
            binned.columns = list(source.inputs)
            frames.append(binned)
        table = pd.concat(frames, axis=1, sort=True).interpolate(limit_area="inside").dropna()
        table = table[table.index >= pd.Timestamp(t0, unit="ns")]
        t = table.index.asi8.astype(np.int64)
        samples = table[self.inputs].to_numpy(dtype=np.float64)
        return self.run(t, samples, np.zeros(len(t), dtype=bool), log.t_ns, log.labels)

    def latest_value(self, log) -> Run:
        """The hand-written phone loop: at each grid tick, the latest event of each sensor."""
        t0, n = self.grid(log)
        step = 1e9 / self.spec.sample_rate_hz
        t = t0 + np.floor(np.arange(n) * step).astype(np.int64)
        values = self.rawlog.as_delivered(log.values, "android")
        samples = np.zeros((n, len(self.inputs)))
        for k, source in enumerate(self.spec.sensors.sources):
            keep = log.sensor == k
            at = np.searchsorted(log.t_ns[keep], t, side="right") - 1
            cols = [self.inputs.index(name) for name in source.inputs]
            samples[:, cols] = values[keep][np.maximum(at, 0)][:, : len(cols)]
        return self.run(t, samples, np.zeros(n, dtype=bool), log.t_ns, log.labels)


def compare(reference: Run, other: Run) -> dict:
    """Vectors at the same grid times: how many reach the model with other float32 inputs, how
    many of the float32 values differ, the worst relative difference of a feature, and how many
    decisions differ."""
    common, i, j = np.intersect1d(reference.t_ns, other.t_ns, return_indices=True)
    a, b = reference.inputs[i], other.inputs[j]
    differ32 = a.astype(np.float32) != b.astype(np.float32)
    scale = np.maximum(np.abs(a), np.abs(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, np.abs(a - b) / scale, 0.0)
    return {
        "vectors_compared": int(len(common)),
        "vectors_missing": int(len(reference.t_ns) - len(common)),
        "vectors_with_other_inputs": int(differ32.any(axis=1).sum()),
        "values_compared": int(differ32.size),
        "values_differ": int(differ32.sum()),
        "worst_relative_difference": float(rel.max()) if rel.size else 0.0,
        "decisions_differ": int((reference.positive[i] != other.positive[j]).sum()),
    }


def outcome(runs: list[Run], rate: float) -> dict:
    """Openings on the labelled motions: twists detected (an event on it or up to 1 s after),
    false openings (any other event)."""
    match = _load("evaluate").match
    twists = detected = false = openings = 0
    for run in runs:
        rows = np.flatnonzero(run.fired)
        m = match(run.labels, rows, int(round(SLACK_S * rate)))
        twists += m["gestures"]
        detected += len(m["latencies"])
        false += m["false"]
        openings += int(rows.size)
    return {"twists": twists, "detected": detected, "false_openings": false, "openings": openings}


PIPELINES = (
    "featgen: android log",
    "featgen: ios log",
    "ios: no sign flip",
    "pandas resample",
    "phone: latest value",
    "android decimals as double",
)


def demonstrate(
    spec_path: Path,
    subjects: int,
    recordings: int,
    seconds: float,
    negative_seconds: float,
    seed: int,
) -> dict:
    """Gesture motions (the generator's usual mix, labelled) and negative motions (no twists:
    every opening is false), each logged by both platforms, through every pipeline."""
    make_data = _load("make_data")
    pipe = Pipeline(spec_path)
    t0 = time.perf_counter()
    sets = {
        "gestures": make_data.generate_raw(subjects, recordings, seconds, seed),
        "negatives": make_data.generate_raw(subjects, 1, negative_seconds, seed + 1, twists=False),
    }
    runs = {kind: {name: [] for name in PIPELINES} for kind in sets}
    with tempfile.TemporaryDirectory() as tmp:
        for kind, raw in sets.items():
            paths = make_data.write_raw(raw, Path(tmp) / kind, ("android", "ios"))
            for android_path, ios_path in zip(paths[0::2], paths[1::2]):
                android, ios = pipe.read(android_path), pipe.read(ios_path)
                out = runs[kind]
                out["featgen: android log"].append(pipe.featgen(android, "android"))
                out["featgen: ios log"].append(pipe.featgen(ios, "ios"))
                flipped = ios.values.copy()
                flipped[ios.sensor == 0] *= -1.0  # undo Core Motion's sign: no flip applied
                out["ios: no sign flip"].append(pipe.featgen(ios, "ios", flipped))
                out["pandas resample"].append(pipe.pandas_resample(android))
                out["phone: latest value"].append(pipe.latest_value(android))
                out["android decimals as double"].append(
                    pipe.featgen(android, "android", android.values)
                )
    used = time.perf_counter() - t0
    rate = pipe.spec.sample_rate_hz
    table = {}
    for name in PIPELINES:
        pairs = [
            (r, o)
            for kind in sets
            for r, o in zip(runs[kind]["featgen: android log"], runs[kind][name])
        ]
        parts = [compare(r, o) for r, o in pairs]
        summed = {k: sum(p[k] for p in parts) for k in parts[0] if k != "worst_relative_difference"}
        summed["worst_relative_difference"] = max(p["worst_relative_difference"] for p in parts)
        gestures = outcome(runs["gestures"][name], rate)
        negatives = outcome(runs["negatives"][name], rate)
        hours = sum(len(r.t_ns) for r in runs["negatives"][name]) / rate / 3600
        table[name] = {
            "vs_phone": summed,
            "gesture_streams": gestures,
            "negative_streams": {
                "openings": negatives["openings"],
                "hours": round(hours, 4),
                "per_hour": negatives["openings"] / hours if hours else None,
            },
        }
    count = {kind: sum(len(s["t_ns"]) for s, _ in raw.values()) for kind, raw in sets.items()}
    return {
        "spec": pipe.spec.name,
        "features": len(pipe.spec.feature_names),
        "data": {
            "generator": "examples/twist_and_go/make_data.py --raw both",
            "gesture_streams": {
                "subjects": subjects,
                "recordings": recordings,
                "seconds_each": seconds,
                "seed": seed,
            },
            "negative_streams": {
                "subjects": subjects,
                "recordings": 1,
                "seconds_each": negative_seconds,
                "seed": seed + 1,
            },
            "events_per_platform": count,
            "accelerometer_hz": make_data.ACC_HZ,
            "gyroscope_hz": make_data.GYRO_HZ,
        },
        "reference": "featgen: android log (what the generated Android adapter computes)",
        "pipelines": table,
        "seconds": round(used, 1),
    }


def render(result: dict) -> str:
    lines = [
        "| pipeline | vectors with other model inputs | float32 inputs differing | "
        "worst relative difference | decisions differing | twists detected | "
        "false openings (gesture streams) | openings on negatives (per hour) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in result["pipelines"].items():
        v, g, n = row["vs_phone"], row["gesture_streams"], row["negative_streams"]
        share = 100 * v["values_differ"] / max(v["values_compared"], 1)
        lines.append(
            f"| {name} | {v['vectors_with_other_inputs']} of {v['vectors_compared']} | "
            f"{share:.1f} % | {v['worst_relative_difference']:.2g} | "
            f"{v['decisions_differ']} | {g['detected']}/{g['twists']} | "
            f"{g['false_openings']} | {n['openings']} ({n['per_hour']:.1f}) |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=HERE / "spec.yaml")
    parser.add_argument("--subjects", type=int, default=8)
    parser.add_argument("--recordings", type=int, default=2, help="per subject")
    parser.add_argument("--seconds", type=float, default=60.0, help="per recording")
    parser.add_argument(
        "--negative-seconds",
        type=float,
        default=120.0,
        help="one negative (no twist) motion per subject, this long",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=20261202,
        help="not the training seed: motions the model never saw",
    )
    parser.add_argument("-o", "--output", type=Path, default=HERE / "model" / "raw_demo.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's featgen, whatever is installed
    result = demonstrate(
        args.spec, args.subjects, args.recordings, args.seconds, args.negative_seconds, args.seed
    )
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print(render(result))
    events = sum(result["data"]["events_per_platform"].values())
    print(f"({events} events per platform, {result['seconds']} s; written to {args.output})")


if __name__ == "__main__":
    main()
