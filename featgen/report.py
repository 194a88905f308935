"""``featgen parity --html``: the parity report as one self-contained HTML file.

Sections: phone cost cards (featgen/phone_cost.py: ns/push measured here, state, code and
table bytes per target), the per-feature ULP table (numpy against every target), prediction parity
(every registered target's detector, TL2cgen, the Core ML evaluator against XGBoost), threshold
proximity (how close feature values come to the model's split thresholds), decision timelines for
one recording (XGBoost on the numpy features, one lane per registered target's detector, the Core
ML evaluator) and the manifest. The target columns, rows and lanes come from the registry
(codegen/targets): a new target shows up with no edit here.
Plots are drawn with matplotlib (Agg) and embedded as base64 PNG: the file needs no network, no
script and no stylesheet besides its own. The numbers come from the same harness objects the
terminal report prints; templates/report/report.html.j2 only lays them out.
"""

from __future__ import annotations

import base64
import io
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from codegen import __version__, escape
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from codegen.trees.model_dir import load_bundle
from codegen.trees.proximity import proximity, ulps_to_nearest_threshold
from featgen.harness import adapters
from featgen.harness import prediction as mh
from featgen.harness.toolchains import find_swiftc

from .phone_cost import machine, measure, measure_swift
from .safe_io import write_text_atomic

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"
PROXIMITY_K = 4  # float32 ULPs: "near" a threshold (the `featgen proximity` default)
REFERENCE = "XGBoost on numpy (reference)"  # the first timeline lane
COREML = "Core ML evaluator"  # the last one; between them one per registered target's detector
TARGET_COLOURS = ("#55a868", "#dd8452", "#937860", "#da8bc3", "#64b5cd", "#ccb974")
COLOURS = {
    "ref": "#4c72b0",
    "Core ML": "#8172b3",
    "TL2cgen": "#c44e52",
    "near": "#c44e52",
    "far": "#8c8c8c",
    "on": "#4c72b0",
}


# ---------------------------------------------------------------- plotting helpers


def _pyplot():
    import matplotlib  # lazily: matplotlib is heavy, only this path needs it

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt  # lazily: matplotlib is heavy, only this path needs it

    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titlesize": 10,
            "svg.hashsalt": "featgen",
        }
    )
    return plt


def _png(fig) -> str:
    """The figure as a data: URI (PNG, 110 dpi); closes it."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


# ---------------------------------------------------------------- data for the sections


@dataclass
class Trace:
    """Per-vector predictions on one recording, from every prediction target."""

    label: str
    seconds: np.ndarray  # time of each emitted vector (its sample / rate)
    duration: float
    ref_margin: np.ndarray  # XGBoost on the numpy features (float32 margins)
    lanes: list[str] = field(default_factory=list)  # REFERENCE, "<target> detector"..., COREML
    colours: list[str] = field(default_factory=list)  # one per lane
    positive: dict[str, np.ndarray] = field(default_factory=dict)  # lane -> bool per vector
    events: dict[str, np.ndarray] = field(default_factory=dict)  # lane -> bool per vector
    missing: dict[str, str] = field(default_factory=dict)  # lane -> why not drawn


def parity_names() -> list[str]:
    """The registered parity targets' names, registry order (featgen/harness/adapters.py)."""
    return [t.name for t, _ in adapters.parity_adapters()]


def target_colour(name: str) -> str:
    """A registered target's colour in the plots (by its registry position)."""
    names = parity_names()
    index = names.index(name) if name in names else len(names)
    return TARGET_COLOURS[index % len(TARGET_COLOURS)]


def prediction_traces(
    spec, files: dict, module, recordings: dict, checked: list[str], missing: dict[str, str]
) -> tuple[list[Trace], np.ndarray, dict]:
    """Run the detector of every target in ``checked`` (registered names), TL2cgen and Core ML
    on every recording, keeping the per-vector results the terminal report only counts; the
    targets in ``missing`` get a NOT CHECKED lane. Returns (traces, features of all recordings,
    margin differences against XGBoost per target)."""
    bundle = _model(spec, files)
    booster = mh.load_booster(bundle.raw)
    traces, features = [], []
    with tempfile.TemporaryDirectory() as work:
        detectors = adapters.detectors(files, Path(work), checked)
        parity = mh.ModelParity(files, spec.name, Path(work), module, detectors=detectors)
        dec = parity.decision
        shown = [n for n in parity_names() if n in detectors or n in missing]
        lanes = [REFERENCE, *(f"{name} detector" for name in shown), COREML]
        colours = [COLOURS["ref"], *(target_colour(name) for name in shown), COLOURS["Core ML"]]
        diffs: dict[str, list[np.ndarray]] = {
            **{name: [] for name in detectors},
            "TL2cgen": [],
            "Core ML": [],
            "Core ML float": [],
        }
        for label, samples in recordings.items():
            X, ends = module.featurize(samples, nonfinite="drop")
            features.append(X)
            finite = np.isfinite(samples).all(axis=1)
            ordinals = np.cumsum(finite)[ends] - 1
            ref = mh.xgboost_margins(booster, X)
            trace = Trace(
                label,
                ends / spec.sample_rate_hz,
                samples.shape[0] / spec.sample_rate_hz,
                ref[:, 0] if dec.kind == "binary" else ref.max(1),
                lanes,
                colours,
            )
            ref_pos = decisions.positive(dec, ref)
            trace.positive[REFERENCE] = ref_pos
            trace.events[REFERENCE] = decisions.events(dec, ref_pos, ordinals)[1]
            for name in shown:
                lane = f"{name} detector"
                if name not in detectors:
                    trace.missing[lane] = f"NOT CHECKED: {missing[name]}"
                    continue
                out = detectors[name].stream(samples)
                trace.positive[lane], trace.events[lane] = out["positive"], out["event"]
                diffs[name].append(_diff(out["margins"], ref))
            cm = mh.coreml_margins(parity.coreml, X, parity.columns)
            cm_pos = mh.coreml_positive(dec, cm)
            trace.positive[COREML] = cm_pos
            trace.events[COREML] = decisions.events(dec, cm_pos, ordinals)[1]
            diffs["Core ML"].append(_diff(cm, ref))
            diffs["Core ML float"].append(_diff(cm.astype(np.float32), ref))
            if parity.tl2cgen is not None:
                diffs["TL2cgen"].append(_diff(parity.tl2cgen.margins(X), ref))
            traces.append(trace)
    joined = {k: np.concatenate(v) if v else None for k, v in diffs.items()}
    return (
        traces,
        np.concatenate(features),
        {
            "booster": booster,
            "bundle": bundle,
            "decision": dec,
            "diffs": joined,
            "targets": list(detectors),
        },
    )


def _diff(margins: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return (np.asarray(margins, dtype=np.float64) - np.asarray(ref, dtype=np.float64)).ravel()


def ulp_rows(manifest: Mapping[str, Any], comparisons) -> list[dict]:
    """One row per feature, vector order: its definition and, per target, max ULP and the
    number of mismatching values."""
    rows = []
    for j, f in enumerate(manifest["features"]):
        cells = []
        for c in comparisons:
            s = next((s for s in c.stats if s.name == f["name"]), None)
            cells.append(
                {
                    "max_ulp": s.max_ulp,
                    "mismatches": s.mismatches,
                    "first": s.first,
                    "absent": False,
                }
                if s is not None
                else {
                    "max_ulp": 0,
                    "mismatches": 0,
                    "absent": True,
                    "first": "not computed by this featuriser (the device one computes "
                    "what the model reads)",
                }
            )
        params = ", ".join(f"{k}: {json.dumps(v)}" for k, v in f["params"].items())
        rows.append(
            {
                "index": j,
                "name": f["name"],
                "kind": f["kind"],
                "signals": " × ".join(f["signals"]),
                "window": f["window"],
                "params": params,
                "cells": cells,
                "bad": any(c["mismatches"] for c in cells),
            }
        )
    return rows


# ---------------------------------------------------------------- plots


def margin_plot(diffs: dict, vectors: int, targets: list[str]) -> str:
    """Histogram of (target margin - XGBoost margin) for TL2cgen and Core ML, with featgen's
    own ``targets`` (registered names) as the line at 0 they are."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.2, 2.8))
    scale = 1e-6
    shown = [(k, d) for k, d in diffs.items() if k in ("TL2cgen", "Core ML") and d is not None]
    spread = max((np.abs(d[np.isfinite(d)]).max(initial=0.0) for _, d in shown), default=0.0)
    edges = np.linspace(-spread / scale, spread / scale, 61) if spread else np.linspace(-1, 1, 3)
    for k, d in shown:
        # Core ML sums in double: drawn as it is, counted as equal after rounding to float
        # (as the table, and an app comparing float margins, would)
        equal = diffs["Core ML float"] if k == "Core ML" else d
        exact = int((equal == 0).sum())
        d = d[np.isfinite(d)] / scale
        ax.hist(
            d,
            bins=edges,
            histtype="step",
            linewidth=1.4,
            color=COLOURS[k],
            label=f"{k}{' (double)' if k == 'Core ML' else ''}: {exact:,}/{d.size:,} "
            f"equal{' after rounding to float' if k == 'Core ML' else ''}",
        )
    own = [k for k in targets if diffs.get(k) is not None]
    own_equal = all(np.all(diffs[k] == 0) for k in own)
    ax.axvline(
        0,
        color=target_colour(own[0]) if own else COLOURS["ref"],
        linewidth=2,
        label=f"own {' and '.join(own)}: difference 0 on "
        f"{'all' if own_equal else 'NOT all'} {vectors:,} vectors",
    )
    ax.set_xlabel("margin − XGBoost margin  (×1e-6)")
    ax.set_ylabel("vectors")
    ax.set_yscale("log")
    ax.set_title("Prediction margins against XGBoost's predict(output_margin=True)", loc="left")
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3)
    return _png(fig)


def proximity_data(forest, X: np.ndarray, names, k: int = PROXIMITY_K) -> dict:
    """ULP distance of every (value, split feature) pair to the feature's nearest threshold,
    bucketed by powers of two; and the per-feature table of `featgen proximity`."""
    distances = [ulps_to_nearest_threshold(X[:, f], t) for f, t in forest.thresholds().items()]
    d = np.concatenate(distances) if distances else np.empty(0, dtype=np.int64)
    missing = int((d < 0).sum())
    d = d[d >= 0]
    top = max(int(np.ceil(np.log2(d.max() + 1))) if d.size else 1, 1)
    labels, counts, near = ["0 (on)"], [int((d == 0).sum())], [True]
    for b in range(top + 1):
        lo, hi = 2**b, 2 ** (b + 1) - 1
        labels.append(str(lo) if lo == hi else f"{lo}–{hi}" if b < 10 else f"2^{b}")
        counts.append(int(((d >= lo) & (d <= hi)).sum()))
        near.append(hi <= k)
    while len(counts) > 2 and counts[-1] == 0:
        labels.pop(), counts.pop(), near.pop()
    rows = proximity(forest, X, names, k)
    return {
        "labels": labels,
        "counts": counts,
        "near": near,
        "missing": missing,
        "pairs": int(d.size),
        "rows": rows,
        "k": k,
        "vectors": int(X.shape[0]),
        "near_total": f"{sum(r['near_not_on'] for r in rows):,}",
        "on_total": f"{sum(r['exactly_on'] for r in rows):,}",
        "vectors_text": f"{X.shape[0]:,}",
        "missing_text": f"{missing:,}",
    }


def proximity_plot(p: dict) -> str:
    from matplotlib.patches import Patch  # lazily: matplotlib is heavy, only this path needs it

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.6, 3.0))
    x = np.arange(len(p["counts"]))
    colours = [
        COLOURS["on"] if i == 0 else COLOURS["near"] if n else COLOURS["far"]
        for i, n in enumerate(p["near"])
    ]
    ax.bar(x, np.maximum(p["counts"], 0), color=colours)
    for xi, c in zip(x, p["counts"]):
        if c and (xi == 0 or p["near"][xi]):
            ax.text(xi, c, f"{c:,}", ha="center", va="bottom", fontsize=7)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_xticks(x, p["labels"], rotation=60, ha="right", fontsize=7)
    ax.set_xlabel(
        "float32 ULPs from a value to the nearest split threshold of its feature "
        "(bucket 2^b: 2^b to 2^(b+1) - 1)"
    )
    ax.set_ylabel("values")
    ax.set_title(
        f"Threshold proximity of {p['pairs']:,} values (every split feature × every vector)",
        loc="left",
    )
    ax.legend(
        handles=[
            Patch(color=COLOURS["on"], label="exactly on a threshold"),
            Patch(
                color=COLOURS["near"],
                label=f"1–{p['k']} ULPs away: a 1-ULP featuriser error could flip a branch",
            ),
            Patch(color=COLOURS["far"], label="further"),
        ],
        frameon=False,
        fontsize=8,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.42),
        ncol=3,
    )
    return _png(fig)


def threshold_hist_plot(forest, X: np.ndarray, rows: list[dict], n: int = 6) -> str:
    """Small multiples: the values of the features closest to their thresholds, as float32,
    with every split threshold of that feature drawn as a vertical line."""
    plt = _pyplot()
    thresholds = forest.thresholds()
    picked = [r for r in rows if r["values"]][:n]
    cols = 3
    fig, axes = plt.subplots(
        (len(picked) + cols - 1) // cols or 1,
        cols,
        figsize=(8.6, 2.3 * max(1, (len(picked) + cols - 1) // cols)),
        squeeze=False,
    )
    for ax in axes.ravel()[len(picked) :]:
        ax.axis("off")
    for ax, r in zip(axes.ravel(), picked):
        with np.errstate(over="ignore"):
            v = X[:, r["index"]].astype(np.float32)
        v = v[np.isfinite(v)]
        t = thresholds[r["index"]]
        # the bulk of the values (synthetic edge-case streams hold values near 1e12) and every
        # threshold; values outside are counted in the title, not drawn
        lo, hi = np.percentile(v, [1, 99]) if v.size else (0.0, 1.0)
        lo, hi = min(lo, float(t.min())), max(hi, float(t.max()))
        pad = (hi - lo) * 0.08 or 1.0
        lo, hi = lo - pad, hi + pad
        inside = (v >= lo) & (v <= hi)
        if np.all(v[inside] == np.round(v[inside])) and hi - lo <= 120:
            bins = np.arange(np.floor(lo), np.ceil(hi) + 2) - 0.5  # one bar per integer
        else:
            bins = np.linspace(lo, hi, 61)
        ax.hist(v[inside], bins=bins, color=COLOURS["far"])
        for th in t:
            ax.axvline(float(th), color=COLOURS["near"], linewidth=0.8, alpha=0.8)
        outside = int((~inside).sum())
        ax.set_title(
            f"{r['feature']}\n{_n(r['thresholds'], 'threshold')} · "
            f"{_n(r['near_not_on'], 'value')} 1–{PROXIMITY_K} ULPs away"
            + (f" · {outside} off-axis" if outside else ""),
            fontsize=7.5,
            loc="left",
        )
        ax.tick_params(labelsize=7)
        ax.set_yscale("symlog", linthresh=1)
    fig.tight_layout()
    return _png(fig)


def timeline_plot(trace: Trace, decision, window: tuple[float, float] | None = None) -> str:
    """Probability (XGBoost) over time, then one lane per target: positive vectors as bars,
    events as triangles, vectors that differ from the reference as red crosses."""
    plt = _pyplot()
    fig, (top, lanes) = plt.subplots(
        2,
        1,
        figsize=(8.6, 3.9),
        sharex=True,
        gridspec_kw={"height_ratios": [1.3, 1.6], "hspace": 0.08},
    )
    t = trace.seconds
    keep = np.ones(t.size, dtype=bool) if window is None else (t >= window[0]) & (t <= window[1])
    ref = trace.ref_margin
    if decision.kind == "binary" and decision.transform != "sigmoid":
        top.plot(t[keep], ref[keep], color=COLOURS["ref"], linewidth=0.9)
        top.axhline(decision.margin_threshold, color=COLOURS["near"], linestyle="--", linewidth=0.8)
        top.set_ylabel(f"margin ({decision.transform} -> value)")
    elif decision.kind == "binary":
        with np.errstate(over="ignore"):
            prob = 1.0 / (1.0 + np.exp(-ref.astype(np.float64)))
        top.plot(t[keep], prob[keep], color=COLOURS["ref"], linewidth=0.9)
        top.axhline(decision.threshold, color=COLOURS["near"], linestyle="--", linewidth=0.8)
        top.text(
            t[keep][0] if keep.any() else 0,
            decision.threshold,
            f" threshold {decision.threshold}",
            color=COLOURS["near"],
            va="bottom",
            fontsize=7,
        )
        top.set_ylim(-0.03, 1.03)
        top.set_ylabel("probability")
    else:
        top.plot(t[keep], ref[keep], color=COLOURS["ref"], linewidth=0.9)
        top.set_ylabel("max margin")
    step = np.median(np.diff(t)) if t.size > 1 else 0.02
    reference = trace.positive[REFERENCE]
    names = trace.lanes
    for row, (lane, colour) in enumerate(zip(names, trace.colours)):
        y = len(names) - 1 - row
        if lane in trace.missing:
            lanes.text(
                (t[keep][0] if keep.any() else 0),
                y,
                "  " + trace.missing[lane],
                va="center",
                color="#b00020",
                fontsize=8,
                fontweight="bold",
            )
            continue
        pos = trace.positive[lane] & keep
        lanes.broken_barh(
            [(float(s), float(step)) for s in t[pos]],
            (y - 0.3, 0.6),
            facecolors=colour,
            linewidth=0,
        )
        ev = trace.events[lane] & keep
        lanes.plot(t[ev], np.full(int(ev.sum()), y + 0.38), "v", color="black", markersize=4)
        if row:
            differ = (trace.positive[lane] != reference) & keep
            if differ.any():
                lanes.plot(
                    t[differ], np.full(int(differ.sum()), y), "x", color="#b00020", markersize=5
                )
    lanes.set_yticks(range(len(names)), list(reversed(names)), fontsize=8)
    right = lanes.secondary_yaxis("right")
    right.set_yticks(
        range(len(names)),
        [
            _n(int((trace.events[lane] & keep).sum()), "event")
            if lane not in trace.missing
            else "—"
            for lane in reversed(names)
        ],
        fontsize=7.5,
    )
    right.spines["right"].set_visible(False)
    lanes.set_ylim(-0.6, len(names) - 0.3)
    lanes.set_xlabel("seconds")
    if window is not None:
        lanes.set_xlim(*window)
    else:
        lanes.set_xlim(0, trace.duration)
    title = f"{escape.plot_text(trace.label)}: positive vectors (bars) and events (▼)"
    top.set_title(
        title if window is None else f"{title}, {window[0]:.1f}–{window[1]:.1f} s", loc="left"
    )
    return _png(fig)


# ---------------------------------------------------------------- the report


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _fmt_pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f} %"


def _model(spec, files):
    """The build's loaded model directory (a ``Bundle`` carries it; else loaded here)."""
    model = getattr(files, "model", None)
    return model if model is not None else load_bundle(spec)


def prediction_rows(pred: dict, missing: dict | None = None) -> list[dict]:
    """The prediction-parity table: one row per registered target that ran (or NOT CHECKED
    when its toolchain is missing), then TL2cgen and Core ML: the terminal report's figures."""
    b, n = pred["boundary_vectors"], pred["boundary_vectors"]["vectors"]
    t, m = pred["tl2cgen"], pred["coreml_spec_evaluator"]
    missing = missing or {}
    rows = []
    for target in parity_names():
        r = pred["targets"].get(target)
        if r is None:
            if target in missing:
                rows.append(
                    {
                        "target": f"own {target} (model + detector)",
                        "promise": "bit-identical",
                        "not_checked": True,
                        "reason": missing[target],
                    }
                )
            continue
        rows.append(
            {
                "target": f"own {target} (model + detector)",
                "promise": "bit-identical",
                "margins": _fmt_pct(r["margins_bit_equal_pct"]),
                "max_diff": "0" if r["margins_bit_equal_pct"] == 100 else "≠ 0",
                "decisions": _fmt_pct(r["decisions_equal_pct"]),
                "events": f"{_fmt_pct(r['events_equal_pct'])} ({pred['events']} events)",
                "boundary": f"{b['targets_margins_bit_equal'][target]:,}/{n:,}",
                "ok": r["margins_bit_equal_pct"] == 100 and r["events_equal_pct"] == 100,
            }
        )
    rows.append(
        {
            "target": "TL2cgen C",
            "promise": "measured",
            "margins": _fmt_pct(t["margins_bit_equal_pct"]),
            "max_diff": f"{t['max_abs_margin_diff']:.3g}",
            "decisions": _fmt_pct(t["decisions_equal_pct"]),
            "events": "—",
            "boundary": f"{b.get('tl2cgen_margins_bit_equal', 0):,}/{n:,}",
            "ok": None,
        }
    )
    rows.append(
        {
            "target": "Core ML (spec evaluator, Float inputs)",
            "promise": "measured",
            "margins": _fmt_pct(m["margins_equal_after_float32_rounding_pct"])
            + " (after rounding to float)",
            "max_diff": f"{m['max_abs_margin_diff']:.3g}",
            "decisions": _fmt_pct(m["decisions_equal_pct"]),
            "events": "—",
            "boundary": f"same leaves {b['coreml_same_leaves']:,}/{n:,} "
            f"({b['coreml_unrounded_inputs_same_leaves']:,} without rounding)",
            "ok": None,
        }
    )
    for r in rows:
        r.setdefault("not_checked", False)
    return rows


def build_report(
    spec,
    files: dict,
    module,
    recordings: dict,
    comparisons,
    predictions,
    missing: dict | None,
    source: str,
    synthetic: bool = False,
    checked: list[str] | None = None,
) -> str:
    """The report as HTML text. ``checked``: the registered target names that ran (``featgen
    parity --targets``; default: every parity target not in ``missing``)."""
    manifest = manifest_of(files).data
    missing = dict(missing or {})
    if checked is None:
        checked = [n for n in parity_names() if n not in missing]
    swift_missing = missing.get("Swift")
    rows = ulp_rows(manifest, comparisons)
    worst_first = sorted(
        rows, key=lambda r: (-max((c["max_ulp"] for c in r["cells"]), default=0), r["index"])
    )
    total = sum(r.shape[0] for r in recordings.values())
    targets = [
        {
            "name": c.target,
            "vectors": f"{c.vectors:,}",
            "exact": sum(1 for s in c.stats if not s.mismatches),
            "worst": c.worst.name,
            "worst_ulp": c.worst.max_ulp,
            "identical": c.identical,
            "problems": c.problems,
        }
        for c in comparisons
    ]
    model = None
    if spec.model is not None and predictions is not None:
        traces, X, extra = prediction_traces(spec, files, module, recordings, checked, missing)
        forest, dec = extra["bundle"].forest, extra["decision"]
        prox = proximity_data(forest, X, spec.feature_names)
        shown = max(traces, key=lambda tr: (int(tr.events[REFERENCE].sum()), -len(tr.seconds)))
        timelines = [{"title": f"whole recording {shown.label}", "png": timeline_plot(shown, dec)}]
        fired = np.flatnonzero(shown.events[REFERENCE])
        if fired.size:
            centre = float(shown.seconds[fired[0]])
            timelines.append(
                {
                    "title": f"around the first event ({centre:.2f} s)",
                    "png": timeline_plot(shown, dec, (max(centre - 4, 0), centre + 4)),
                }
            )
        lanes = []
        for lane in shown.lanes[1:]:
            if lane in shown.missing:
                lanes.append({"lane": lane, "text": shown.missing[lane], "ok": False})
                continue
            pos_diff = int((shown.positive[lane] != shown.positive[REFERENCE]).sum())
            ev_diff = int((shown.events[lane] != shown.events[REFERENCE]).sum())
            lanes.append(
                {
                    "lane": lane,
                    "ok": pos_diff == 0 and ev_diff == 0,
                    "text": f"{pos_diff} decisions and {ev_diff} event flags differ "
                    f"from the reference over {len(shown.seconds):,} vectors",
                }
            )
        model = {
            "summary": predictions,
            "vectors": f"{predictions['vectors']:,}",
            "sha": extra["bundle"].model_sha256[:12],
            "rows": prediction_rows(predictions, missing),
            "identical": predictions["identical"],
            "margin_png": margin_plot(extra["diffs"], predictions["vectors"], extra["targets"]),
            "targets": list(predictions["targets"]),
            "proximity": prox,
            "proximity_png": proximity_plot(prox),
            "threshold_png": threshold_hist_plot(forest, X, prox["rows"]),
            "proximity_rows": prox["rows"][:15],
            "timelines": timelines,
            "timeline_recording": shown.label,
            "timeline_vectors": f"{len(shown.seconds):,}",
            "lanes": lanes,
            "decision": manifest["model"]["decision"],
            "n_trees": manifest["model"]["n_trees"],
            "depth": manifest["model"]["max_depth"],
        }
    swift_costs = (
        measure_swift(files, spec, recordings, find_swiftc() if swift_missing is None else None)
        if "Swift" in checked or swift_missing is not None
        else []  # left out with --targets
    )
    costs = [_cost_card(c) for c in measure(files, spec, recordings) + swift_costs]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(
        spec=spec,
        manifest=manifest,
        version=__version__,
        source=source,
        recordings=[
            {
                "label": k,
                "samples": f"{v.shape[0]:,}",
                "rejected": int((~np.isfinite(v).all(axis=1)).sum()),
            }
            for k, v in recordings.items()
        ],
        total_samples=f"{total:,}",
        targets=targets,
        rows=worst_first,
        n_mismatching=sum(1 for r in rows if r["bad"]),
        all_identical=all(c.identical for c in comparisons),
        swift_missing=swift_missing,
        model=model,
        synthetic=synthetic,
        missing=[
            {"name": t.name, "key": t.key, "title": t.title, "reason": missing[t.name]}
            for t, _ in adapters.parity_adapters()
            if t.name in missing
        ],
        checked=checked,
        costs=costs,
        cost_machine=machine(),
        manifest_json=json.dumps(manifest, indent=2),
        windows=manifest["windows"],
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _cost_card(c) -> dict:
    """A phone-cost card's text (featgen/phone_cost.py measured the numbers)."""

    def b(v):
        return "—" if v is None else f"{v:,} B"

    return {
        "target": c.target,
        "what": c.what,
        "note": c.note,
        "measured": c.ns_per_push is not None,
        "ns": "NOT MEASURED"
        if c.ns_per_push is None
        else (
            f"{c.ns_per_push / 1000:.2f} µs" if c.ns_per_push >= 1000 else f"{c.ns_per_push:.0f} ns"
        ),
        "state": b(c.state_bytes),
        "text": b(c.text_bytes),
        "rodata": b(c.rodata_bytes),
        "model_rodata": None if c.model_rodata_bytes is None else b(c.model_rodata_bytes),
        "pushes": f"{c.pushes:,}",
    }


def write_report(path: Path, *args, **kwargs) -> None:
    """Build the report, then write it atomically (a killed run leaves no half page)."""
    write_text_atomic(path, build_report(*args, **kwargs))
