#!/usr/bin/env python3
"""Evaluate the Twist and Go detector beside its model, against the naive rule it replaces.

On fresh synthetic data from examples/twist_and_go/make_data.py, with a seed and subjects the
model never saw (training uses seed 20261125):

* **negative streams** (``--negative-subjects`` x ``--negative-seconds``, no twists at all:
  walking with arm swing, picking up, pocketing, wrist turns, rocking the phone): every event is a
  false opening, counted per hour;
* **gesture streams** (``--gesture-subjects`` x ``--gesture-recordings`` x ``--gesture-seconds``,
  the generator's usual mix): twists detected and missed, and the detection latency from the
  gesture's onset (its first labelled sample) to the sample whose push fired the event.

A twist is detected when an event fires on one of its samples or up to 1 s after it (featgen
train's rule); any other event is false. Two detectors run on the same samples:

* **the model**: the spec's features (the generated numpy module, bit-identical to the phones' C
  and Swift), XGBoost margins, and the spec's decision block (threshold on the margin, N positive
  vectors in a row, refractory), i.e. exactly what ``<name>_detector_push`` does;
* **the naive rule** on the gyroscope magnitude: a sample is positive when
  sqrt(gx^2 + gy^2 + gz^2) > T rad/s, with the same consecutive/refractory counter. Reported at
  ``--naive-threshold`` (default 2.5 rad/s), over a sweep of T, and at the highest T of the sweep
  that still detects at least as many twists as the model (its false openings at equal recall).

Also reported, as the generator prints it: the per-sample precision/recall of |gyro_y| > 2.5 rad/s
on the gesture streams. Writes JSON (default: examples/twist_and_go/model/evaluation.json).

    python examples/twist_and_go/evaluate.py            # ~1.3 h of negatives, ~30 min of twists
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SLACK_S = 1.0  # as featgen train (featgen/train.py EVENT_SLACK_S)
SWEEP = tuple(np.round(np.arange(1.0, 10.01, 0.5), 2).tolist())


def _make_data():
    spec = importlib.util.spec_from_file_location("twist_and_go_make_data", HERE / "make_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def match(labels: np.ndarray, event_rows: np.ndarray, slack: int) -> dict:
    """Gestures (runs of label 1), which are detected and how late, and the false events."""
    lab = labels == 1
    starts = np.flatnonzero(lab & ~np.r_[False, lab[:-1]])
    stops = np.flatnonzero(lab & ~np.r_[lab[1:], False])
    covered = np.zeros(len(lab), dtype=bool)
    latencies = []
    for a, b in zip(starts, stops):
        covered[a : min(b + slack + 1, len(lab))] = True
        hits = event_rows[(event_rows >= a) & (event_rows <= b + slack)]
        if hits.size:
            latencies.append(int(hits.min() - a))
    return {
        "gestures": len(starts),
        "latencies": latencies,
        "false": int((~covered[event_rows]).sum()) if event_rows.size else 0,
    }


class Tally:
    """Events of one detector over the negative and the gesture streams."""

    def __init__(self):
        self.neg_false = 0
        self.neg_samples = 0
        self.gestures = 0
        self.latencies: list[int] = []
        self.gesture_false = 0
        self.gesture_samples = 0

    def negative(self, event_rows, n):
        self.neg_false += int(event_rows.size)
        self.neg_samples += n

    def gesture(self, labels, event_rows, rate):
        m = match(labels, event_rows, int(round(SLACK_S * rate)))
        self.gestures += m["gestures"]
        self.latencies += m["latencies"]
        self.gesture_false += m["false"]
        self.gesture_samples += len(labels)

    def to_json(self, rate: float) -> dict:
        neg_h = self.neg_samples / rate / 3600
        ges_h = self.gesture_samples / rate / 3600
        lat = np.array(self.latencies, dtype=np.float64) / rate * 1000
        detected = len(self.latencies)
        return {
            "false_openings_negative_streams": self.neg_false,
            "negative_hours": round(neg_h, 4),
            "false_openings_per_hour": self.neg_false / neg_h if neg_h else None,
            "gestures": self.gestures,
            "detected": detected,
            "missed": self.gestures - detected,
            "detection_rate": detected / self.gestures if self.gestures else None,
            "latency_ms_from_onset": None
            if not detected
            else {
                "median": float(np.median(lat)),
                "p90": float(np.percentile(lat, 90)),
                "min": float(lat.min()),
                "max": float(lat.max()),
                "mean": float(lat.mean()),
            },
            "false_openings_gesture_streams": self.gesture_false,
            "gesture_hours": round(ges_h, 4),
        }


def naive_events(decision, samples: np.ndarray, threshold: float) -> np.ndarray:
    from codegen.trees import decision as decisions

    gyro = np.sqrt(samples[:, 3] ** 2 + samples[:, 4] ** 2 + samples[:, 5] ** 2)
    _, fired = decisions.events(decision, gyro > threshold, np.arange(len(samples)))
    return np.flatnonzero(fired)


def evaluate(spec_path: Path, args) -> dict:
    from codegen.build import generate
    from codegen.trees import decision as decisions
    from codegen.trees.model_dir import load_bundle
    from featgen.harness import load_numpy_module
    from featgen.harness.prediction import load_booster
    from featurespec import load_spec

    spec = load_spec(spec_path)
    if spec.model is None or spec.decision is None:
        sys.exit(f"{spec_path}: needs a model: and a decision: block")
    bundle = load_bundle(spec)
    booster = load_booster(bundle.raw)
    decision = decisions.resolve(spec.decision, bundle.forest)
    module = load_numpy_module(
        generate(dataclasses.replace(spec, model=None, decision=None)), spec.name
    )
    rate = spec.sample_rate_hz
    make_data = _make_data()

    def model_events(samples):
        x, ends = module.featurize(samples)
        margins = np.asarray(
            booster.inplace_predict(x, predict_type="margin"), dtype=np.float32
        ).reshape(len(ends), -1)
        _, fired = decisions.events(decision, decisions.positive(decision, margins), ends)
        return ends[fired]

    t0 = time.perf_counter()
    negatives = make_data.generate(
        args.negative_subjects, 1, args.negative_seconds, seed=args.seed, twists=False
    )
    gestures = make_data.generate(
        args.gesture_subjects, args.gesture_recordings, args.gesture_seconds, seed=args.seed + 1
    )
    t_data = time.perf_counter() - t0
    model = Tally()
    naive = {t: Tally() for t in sorted(set(SWEEP) | {args.naive_threshold})}
    t0 = time.perf_counter()
    for samples, labels, _ in negatives.values():
        assert not labels.any()
        model.negative(model_events(samples), len(samples))
        for t, tally in naive.items():
            tally.negative(naive_events(decision, samples, t), len(samples))
    hit = pos = flagged = 0
    for samples, labels, _ in gestures.values():
        model.gesture(labels, model_events(samples), rate)
        for t, tally in naive.items():
            tally.gesture(labels, naive_events(decision, samples, t), rate)
        rule = np.abs(samples[:, 4]) > 2.5
        hit += int((rule & (labels == 1)).sum())
        pos += int((labels == 1).sum())
        flagged += int(rule.sum())
    t_eval = time.perf_counter() - t0

    m = model.to_json(rate)
    sweep = {f"{t:g}": tally.to_json(rate) for t, tally in naive.items()}
    equal = [t for t in SWEEP if naive[t].to_json(rate)["detected"] >= m["detected"]]
    return {
        "spec": spec.name,
        "features": len(spec.feature_names),
        "features_hash": spec.features_hash,
        "model_sha256": bundle.model_sha256,
        "decision": decision.to_json(),
        "data": {
            "generator": "examples/twist_and_go/make_data.py",
            "seed": args.seed,
            "negative_streams": {
                "subjects": args.negative_subjects,
                "recordings": 1,
                "seconds_each": args.negative_seconds,
                "seed": args.seed,
                "samples": sum(len(v[0]) for v in negatives.values()),
            },
            "gesture_streams": {
                "subjects": args.gesture_subjects,
                "recordings": args.gesture_recordings,
                "seconds_each": args.gesture_seconds,
                "seed": args.seed + 1,
                "samples": sum(len(v[0]) for v in gestures.values()),
            },
            "detected_if_event_within_s_after_gesture": SLACK_S,
        },
        "model": m,
        "naive_rule": {
            "rule": "sqrt(gx^2 + gy^2 + gz^2) > T rad/s per sample, then the same consecutive/"
            "refractory counter as the model",
            "threshold": args.naive_threshold,
            **naive[args.naive_threshold].to_json(rate),
            "at_model_recall": None
            if not equal
            else {"threshold": max(equal), **naive[max(equal)].to_json(rate)},
            "sweep": sweep,
        },
        "naive_gyro_y_per_sample": {
            "rule": "|gyro_y| > 2.5 rad/s, per sample, on the gesture streams",
            "precision": hit / flagged if flagged else None,
            "recall": hit / pos if pos else None,
        },
        "seconds": {"simulate": round(t_data, 1), "featurize_predict": round(t_eval, 1)},
    }


def summary(r: dict) -> list[str]:
    def line(name, d):
        lat = d["latency_ms_from_onset"]
        lat_s = (
            "n/a"
            if lat is None
            else f"latency median {lat['median']:.0f} ms, p90 {lat['p90']:.0f} ms"
        )
        return (
            f"{name}: {d['detected']}/{d['gestures']} twists detected ({d['missed']} missed), "
            f"{lat_s}; {d['false_openings_negative_streams']} false openings in "
            f"{d['negative_hours']:.2f} h of negatives = {d['false_openings_per_hour']:.1f}/h "
            f"(+{d['false_openings_gesture_streams']} on the gesture streams)"
        )

    n = r["naive_rule"]
    lines = [line("model", r["model"]), line(f"naive |gyro| > {n['threshold']:g} rad/s", n)]
    if n["at_model_recall"]:
        lines.append(
            line(
                f"naive at the model's recall (|gyro| > {n['at_model_recall']['threshold']:g})",
                n["at_model_recall"],
            )
        )
    p = r["naive_gyro_y_per_sample"]
    lines.append(
        f"per sample |gyro_y| > 2.5: precision {p['precision']:.2f}, recall {p['recall']:.2f}"
    )
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=HERE / "spec.yaml")
    parser.add_argument("-o", "--output", type=Path, default=HERE / "model" / "evaluation.json")
    parser.add_argument("--seed", type=int, default=1, help="not the training seed")
    parser.add_argument("--negative-subjects", type=int, default=16)
    parser.add_argument("--negative-seconds", type=float, default=300.0)
    parser.add_argument("--gesture-subjects", type=int, default=8)
    parser.add_argument("--gesture-recordings", type=int, default=4)
    parser.add_argument("--gesture-seconds", type=float, default=60.0)
    parser.add_argument("--naive-threshold", type=float, default=2.5)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))  # this checkout's featgen, whatever is installed
    report = evaluate(args.spec, args)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    for line in summary(report):
        print(line)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
