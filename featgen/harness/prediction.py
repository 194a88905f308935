"""Prediction parity: XGBoost (the model the data scientists validated) against featgen's C
detector (bit for bit, every vector, and the decision/event stream), TL2cgen's C and the Core ML
model (both measured and reported), on recordings and on boundary vectors built from the model.

The reference chain is: the generated numpy featuriser -> ``booster.inplace_predict(features,
predict_type="margin")`` (XGBoost converts the doubles to float32 itself) -> the spec's decision
rule and event state machine (codegen.trees.decision).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cffi
import numpy as np

from codegen.bundle import manifest_of
from codegen.targets.base import environment as _environment
from codegen.trees import c_emit, coreml, fp32
from codegen.trees import decision as decisions
from codegen.trees.build import coreml_path
from codegen.trees.ir import Forest

from .c_runtime import cdef_from_header, open_library
from .sources import by_name, c_sources
from .swift_runtime import build_swift_library, swift_sources
from .toolchains import C_FLAGS, CACHE

# ---------------------------------------------------------------- building


def device_featuriser(files: Mapping[str, str | bytes], name: str) -> tuple[str, np.ndarray | None]:
    """(prefix of the featuriser the detector runs, its full-vector columns or None when it
    computes the full vector), from the manifest."""
    model = manifest_of(files).model
    if model is None:
        raise ValueError(f"{name}: the build has no model, so no detector")
    device = model.device
    if device.featuriser == name:
        return name, None
    return device.featuriser, np.array(device.columns, dtype=np.int64)


def device_model(
    files: Mapping[str, str | bytes], name: str, forest: Forest, feature_names: tuple[str, ...]
) -> tuple[Forest, tuple[str, ...]]:
    """The forest and feature names as the generated device model reads them."""
    _, columns = device_featuriser(files, name)
    if columns is None:
        return forest, tuple(feature_names)
    cols = tuple(int(c) for c in columns)
    return forest.reindexed(cols), tuple(feature_names[c] for c in cols)


def model_input(X: np.ndarray, columns: np.ndarray | None) -> np.ndarray:
    """Full feature vectors -> what the device model reads (the same values, compacted)."""
    X = np.asarray(X, dtype=np.float64)
    return X if columns is None else np.ascontiguousarray(X[:, columns])


def _compile(
    sources: dict[str, str],
    compile_names: list[str],
    tag: str,
    workdir: Path,
    compiler: str = "gcc",
    flags: tuple[str, ...] = C_FLAGS,
) -> Path:
    """Shared library of ``compile_names`` (files of ``sources``), cached by content and flags."""
    key = hashlib.sha256()
    for file_name, text in sorted(sources.items()):
        key.update(file_name.encode() + b"\0" + text.encode() + b"\0")
    full = (*flags, "-fPIC", "-shared")
    key.update(" ".join((compiler, *full)).encode())
    out = CACHE / f"{tag}-{key.hexdigest()[:16]}.so"
    if out.exists():
        return out
    src = Path(workdir) / f"src-{tag}"
    src.mkdir(parents=True, exist_ok=True)
    for file_name, text in sources.items():
        (src / file_name).write_text(text)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.stem}.{os.getpid()}.tmp.so")
    cmd = [
        compiler,
        *full,
        "-I",
        str(src),
        *(str(src / n) for n in compile_names),
        "-o",
        str(tmp),
        "-lm",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"compiling failed:\n{' '.join(cmd)}\n{result.stderr}")
    os.replace(tmp, out)
    return out


class Detector:
    """The generated C detector (features + model + decision) through cffi."""

    def __init__(
        self,
        files: Mapping[str, str | bytes],
        name: str,
        workdir: Path,
        compiler: str = "gcc",
        extra_flags: tuple[str, ...] = (),
        library: Path | None = None,
        label: str = "C",
    ):
        feat, self.columns = device_featuriser(files, name)
        sources = c_sources(files)  # the C target's files (its roles; c/* for a plain copy)
        if library is None:
            names = [
                f"{feat}_features.c",
                f"{name}_model.c",
                f"{name}_model_batch.c",
                f"{name}_detector.c",
            ]
            library = _compile(
                sources, names, f"{name}-detector", workdir, compiler, (*C_FLAGS, *extra_flags)
            )
        self.label = label
        headers = "\n".join(
            sources[f"{p}.h"] for p in (f"{feat}_features", f"{name}_model", f"{name}_detector")
        )
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef_from_header(headers))
        self.lib = open_library(self.ffi, library)
        self.name = name
        P = name.upper()
        self.n_features = getattr(self.lib, f"{P}_MODEL_N_FEATURES")
        self.n_outputs = getattr(self.lib, f"{P}_MODEL_N_OUTPUTS")
        k = self.n_outputs
        layout = [
            (f, self.ffi.offsetof(f"{name}_result", f))
            for f in ("margins", "probabilities", "predicted_class", "positive", "run", "event")
        ]
        if layout != [
            ("margins", 0),
            ("probabilities", 4 * k),
            ("predicted_class", 8 * k),
            ("positive", 8 * k + 4),
            ("run", 8 * k + 8),
            ("event", 8 * k + 12),
        ]:
            raise RuntimeError(
                f"{name}_result layout {layout} is not the one the Swift shim writes"
            )

    def margins(self, X: np.ndarray) -> np.ndarray:
        """``<name>_model_margins`` on each full feature vector of X (doubles), given the
        columns the model reads: (rows, outputs) float32."""
        X = model_input(X, self.columns)
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        fn = getattr(self.lib, f"{self.name}_model_margins")
        cast, base, step = self.ffi.cast, X.ctypes.data, X.strides[0]
        obase = out.ctypes.data
        for i in range(X.shape[0]):
            fn(cast("double *", base + i * step), cast("float *", obase + i * 4 * self.n_outputs))
        return out

    def margins_batch(self, X: np.ndarray) -> np.ndarray:
        """``<name>_model_margins_batch`` on all rows of X at once: (rows, outputs) float32."""
        X = np.ascontiguousarray(model_input(X, self.columns), dtype=np.float64)
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        getattr(self.lib, f"{self.name}_model_margins_batch")(
            self.ffi.cast("double *", X.ctypes.data),
            X.shape[0],
            self.ffi.cast("float *", out.ctypes.data),
        )
        return out

    def stream(self, samples: np.ndarray) -> dict:
        """Push every row through ``<name>_detector_push``: statuses, and per scored vector its
        sample row, margins, probabilities, positive, run and event flags."""
        samples = np.ascontiguousarray(samples, dtype=np.float64)
        d = self.ffi.new(f"{self.name}_detector *")
        r = self.ffi.new(f"{self.name}_result *")
        getattr(self.lib, f"{self.name}_detector_init")(d)
        push = getattr(self.lib, f"{self.name}_detector_push")
        cast, base, step = self.ffi.cast, samples.ctypes.data, samples.strides[0]
        status = np.empty(samples.shape[0], dtype=np.int8)
        rows, margins, probs, flags = [], [], [], []
        m_buf = self.ffi.buffer(r.margins)
        p_buf = self.ffi.buffer(r.probabilities)
        for i in range(samples.shape[0]):
            s = push(d, cast("double *", base + i * step), r)
            status[i] = s
            if s > 0:
                rows.append(i)
                margins.append(bytes(m_buf))
                probs.append(bytes(p_buf))
                flags.append((r.positive, r.run, r.event, r.predicted_class))
        k = self.n_outputs
        f = np.array(flags, dtype=np.int64).reshape(-1, 4)
        return {
            "status": status,
            "ends": np.array(rows, dtype=np.int64),
            "margins": np.frombuffer(b"".join(margins), dtype=np.float32).reshape(-1, k),
            "probabilities": np.frombuffer(b"".join(probs), dtype=np.float32).reshape(-1, k),
            "positive": f[:, 0].astype(bool),
            "run": f[:, 1],
            "event": f[:, 2].astype(bool),
            "predicted_class": f[:, 3],
        }


def forest_c_files(forest: Forest, name: str = "forest") -> dict[str, str]:
    """featgen's model C (``c/<name>_model.{h,c}``, ``c/<name>_model_batch.c``) for a bare
    forest, without a spec: the templates ``featgen build`` renders, with placeholder hashes."""
    names = tuple(f"f{i}" for i in range(forest.n_features))
    ctx = dict(
        header=f"/* {name}: test forest */",
        name=name,
        P=name.upper(),
        feat=name,
        FP=name.upper(),
        version="test",
        spec_hash="0" * 64,
        model_sha256="0" * 64,
        feature_order_sha256="0" * 64,
        feature_names=names,
        **c_emit.render_context(forest, name, names),
    )
    env = _environment()
    return {
        f"c/{name}_{stem}": env.get_template(f"c/{stem}.j2").render(**ctx)
        for stem in ("model.h", "model.c", "model_batch.c")
    }


class ForestC:
    """featgen's model C for a bare forest (:func:`forest_c_files`) through cffi: the one-row
    ``<name>_model_margins`` and ``<name>_model_margins_batch``."""

    def __init__(self, forest: Forest, workdir: Path, name: str = "forest"):
        files = forest_c_files(forest, name)
        sources = {Path(p).name: t for p, t in files.items()}
        library = _compile(
            sources, [f"{name}_model.c", f"{name}_model_batch.c"], f"{name}-forest", workdir
        )
        self.ffi = cffi.FFI()
        self.ffi.cdef(cdef_from_header(files[f"c/{name}_model.h"]))
        self.lib = open_library(self.ffi, library)
        self.name, self.files = name, files
        self.n_outputs = forest.n_outputs
        self.batch_rows = getattr(self.lib, f"{name.upper()}_MODEL_BATCH_ROWS")

    def margins(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        fn, cast = getattr(self.lib, f"{self.name}_model_margins"), self.ffi.cast
        for i in range(X.shape[0]):
            fn(
                cast("double *", X.ctypes.data + i * X.strides[0]),
                cast("float *", out.ctypes.data + i * 4 * self.n_outputs),
            )
        return out

    def margins_batch(self, X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float64)
        out = np.empty((X.shape[0], self.n_outputs), dtype=np.float32)
        getattr(self.lib, f"{self.name}_model_margins_batch")(
            self.ffi.cast("double *", X.ctypes.data),
            X.shape[0],
            self.ffi.cast("float *", out.ctypes.data),
        )
        return out


class TL2cgen:
    """TL2cgen's generated C (c/tl2cgen/main.c) through cffi: ``predict(data, 1, result)``."""

    def __init__(self, files: Mapping[str, str | bytes], name: str, workdir: Path):
        # TL2cgen's output is the model stage's, not a registered target's: no roles
        sources = by_name(
            files, [p for p in files if p.startswith("c/tl2cgen/") and p.endswith((".c", ".h"))]
        )
        flags = ("-std=c99", "-O2", "-ffp-contract=off", "-fno-fast-math", "-w")
        library = _compile(sources, ["main.c"], f"{name}-tl2cgen", workdir, flags=flags)
        self.ffi = cffi.FFI()
        self.ffi.cdef("""
            union Entry { int missing; float fvalue; int qvalue; };
            int32_t get_num_feature(void);
            void get_num_class(int32_t* out);
            void predict(union Entry* data, int pred_margin, float* result);
        """)
        self.lib = open_library(self.ffi, library)
        n = self.ffi.new("int32_t[1]")
        self.lib.get_num_class(n)
        self.n_outputs = int(n[0])
        self.n_features = int(self.lib.get_num_feature())

    def margins(self, X: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            x32 = np.asarray(X, dtype=np.float64).astype(np.float32)
        entries = x32.view(np.int32).copy()
        entries[np.isnan(x32)] = -1  # missing
        entries = np.ascontiguousarray(entries)
        out = np.zeros((x32.shape[0], self.n_outputs), dtype=np.float32)
        cast = self.ffi.cast
        base, step, obase = entries.ctypes.data, entries.strides[0], out.ctypes.data
        for i in range(x32.shape[0]):
            self.lib.predict(
                cast("union Entry *", base + i * step),
                1,
                cast("float *", obase + i * 4 * self.n_outputs),
            )
        return out


def swift_detector(files: Mapping[str, str | bytes], name: str, workdir: Path) -> Detector:
    """The Swift model and detector (ios/Sources) through their C-ABI shim, driven with the C
    headers' cffi declarations like the C detector."""
    roles = getattr(files, "roles", None)  # a Bundle names the shim; a plain copy: by name
    shim = (
        Path(roles["Swift"]["detector_shim"]).stem
        if roles
        else next(Path(p).stem for p in sorted(files) if p.endswith("DetectorShim.swift"))
    )
    library = build_swift_library(swift_sources(files, name), shim, Path(workdir))
    return Detector(files, name, workdir, library=library, label="Swift")


def coreml_evaluator(files: Mapping[str, str | bytes], name: str) -> coreml.Evaluator:
    model = files[coreml_path(name)]
    if not isinstance(model, bytes):
        raise TypeError(f"{coreml_path(name)} is not binary")
    return coreml.Evaluator(model)


def coreml_margins(
    evaluator: coreml.Evaluator, X: np.ndarray, columns: np.ndarray | None = None
) -> np.ndarray:
    """Core ML's margins (double) for full feature vectors X, of which the model reads
    ``columns`` (None: all), rounded to Float first, as the Swift wrapper does."""
    with np.errstate(over="ignore"):
        x = model_input(X, columns).astype(np.float32).astype(np.float64)
    return evaluator.margins(x)


def xgboost_margins(booster, X: np.ndarray) -> np.ndarray:
    """XGBoost's own margins (float32) for double features (it rounds them to float32)."""
    m = booster.inplace_predict(
        np.ascontiguousarray(X, dtype=np.float64), predict_type="margin", missing=np.nan
    )
    return np.asarray(m, dtype=np.float32).reshape(np.asarray(X).shape[0], -1)


def load_booster(raw: bytes):
    import xgboost  # lazily: a heavy optional import only the model checks need

    booster = xgboost.Booster()
    booster.load_model(bytearray(raw))
    return booster


# ---------------------------------------------------------------- comparing


def bits_equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise float32 bit equality (all outputs)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    return (a.view(np.int32) == b.view(np.int32)).reshape(a.shape[0], -1).all(axis=1)


COUNTS = ("margins", "decisions", "events", "probabilities")


@dataclass
class ModelComparison:
    """Everything the prediction-parity report says, accumulated over recordings.

    ``targets``: per registered target name (codegen/targets; "C", "Swift", "Kotlin/JVM"...), in
    the order the detectors were given, how many vectors' margins (bit for bit), decisions and
    event flags equal the reference's, and (informative: libm's expf against XGBoost's) how many
    probabilities. Only the targets that ran are listed; the caller reports the others as not
    checked. TL2cgen and Core ML are not featgen targets: they are measured, not promised."""

    vectors: int = 0
    events: int = 0
    targets: dict[str, dict[str, int]] = field(default_factory=dict)
    tl2cgen_margin_equal: int = 0
    tl2cgen_max_abs: float = 0.0
    tl2cgen_decision_equal: int = 0
    coreml_margin_equal: int = 0  # double margin rounded to float32 == XGBoost's
    coreml_max_abs: float = 0.0
    coreml_decision_equal: int = 0
    coreml_near_threshold: int = 0  # |XGBoost margin - m*| <= coreml_max_abs seen so far
    problems: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        """The promise: every target's margins, decisions and events bit/flag-identical on every
        vector (probabilities are informative)."""
        n = self.vectors
        return not self.problems and all(
            counts[k] == n for counts in self.targets.values() for k in COUNTS[:3]
        )

    def count(self, target: str) -> dict[str, int]:
        """The running counts of ``target`` (created at zero)."""
        return self.targets.setdefault(target, dict.fromkeys(COUNTS, 0))

    def pct(self, count: int) -> float:
        return 100.0 * count / self.vectors if self.vectors else 100.0

    def to_json(self) -> dict:
        return {
            "vectors": self.vectors,
            "identical": self.identical,
            "events": self.events,
            "targets": {
                name: {
                    "margins_bit_equal_pct": self.pct(c["margins"]),
                    "decisions_equal_pct": self.pct(c["decisions"]),
                    "events_equal_pct": self.pct(c["events"]),
                    "probabilities_bit_equal_pct": self.pct(c["probabilities"]),
                }
                for name, c in self.targets.items()
            },
            "tl2cgen": {
                "margins_bit_equal_pct": self.pct(self.tl2cgen_margin_equal),
                "max_abs_margin_diff": self.tl2cgen_max_abs,
                "decisions_equal_pct": self.pct(self.tl2cgen_decision_equal),
            },
            "coreml_spec_evaluator": {
                "margins_equal_after_float32_rounding_pct": self.pct(self.coreml_margin_equal),
                "max_abs_margin_diff": self.coreml_max_abs,
                "decisions_equal_pct": self.pct(self.coreml_decision_equal),
                "vectors_within_max_diff_of_threshold": self.coreml_near_threshold,
            },
            "problems": self.problems,
        }


class ModelParity:
    """All prediction targets of one generated tree, built once.

    ``detectors``: {registered target name: detector} (``featgen.harness.adapters.detectors``
    builds one per runnable parity target), each with ``stream(samples)`` and ``margins(X)``
    like ``Detector``; by default only the generated C's (the harness needs a C compiler
    anyway). ``columns``: the full-vector columns the model reads (None: all)."""

    def __init__(
        self,
        files: Mapping[str, str | bytes],
        name: str,
        workdir: Path,
        numpy_module,
        with_tl2cgen: bool = True,
        detectors: Mapping[str, Any] | None = None,
    ):
        self.name = name
        self.module = numpy_module
        model = manifest_of(files).model
        if model is None:
            raise ValueError(f"{name}: the build has no model, so no prediction parity")
        self.meta = model
        self.columns = device_featuriser(files, name)[1]
        self.detectors: dict[str, Any] = (
            {"C": Detector(files, name, workdir)} if detectors is None else dict(detectors)
        )
        self.tl2cgen = TL2cgen(files, name, workdir) if with_tl2cgen else None
        self.coreml = coreml_evaluator(files, name)
        self.decision = decisions.Decision.from_json(self.meta.decision)

    def stream(
        self, label: str, samples: np.ndarray, ends: np.ndarray, problems: list[str]
    ) -> dict[str, dict] | None:
        """Every detector's ``stream(samples)``, or None (with the problem appended to
        ``problems``) when one scores other rows than numpy emits or rejects other rows than
        the non-finite ones."""
        finite = np.isfinite(samples).all(axis=1)
        outs = {}
        for target, detector in self.detectors.items():
            out = outs[target] = detector.stream(samples)
            if not np.array_equal(out["ends"], ends):
                problems.append(
                    f"{label}: the {target} detector scored {len(out['ends'])} vectors, "
                    f"numpy emitted {len(ends)}"
                )
                return None
            bad = np.flatnonzero(out["status"] < 0)
            if not np.array_equal(bad, np.flatnonzero(~finite)):
                problems.append(
                    f"{label}: the {target} detector's rejected rows {bad[:5]} are not the "
                    "non-finite rows"
                )
        return outs

    def compare_recording(
        self, booster, label: str, samples: np.ndarray, result: ModelComparison
    ) -> None:
        features, ends = self.module.featurize(samples, nonfinite="drop")
        outs = self.stream(label, samples, ends, result.problems)
        if outs is None:
            return
        finite = np.isfinite(samples).all(axis=1)
        ordinals = np.cumsum(finite)[ends] - 1
        self.compare_vectors(booster, features, ordinals, outs, result)

    def compare_vectors(
        self,
        booster,
        features,
        ordinals,
        outs: Mapping[str, dict],
        result: ModelComparison,
    ) -> None:
        """Count, per target of ``outs`` ({target name: its detector's stream output}), the
        vectors equal to the reference (XGBoost on ``features``, the spec's decision and event
        rule); and TL2cgen's and Core ML's."""
        ref = xgboost_margins(booster, features)
        positive = decisions.positive(self.decision, ref)
        _, fired = decisions.events(self.decision, positive, ordinals)
        result.vectors += len(ref)
        result.events += int(fired.sum())
        xgb_prob = np.asarray(
            booster.inplace_predict(features, predict_type="value"), dtype=np.float32
        ).reshape(len(ref), -1)
        for target, out in outs.items():
            counts = result.count(target)
            counts["margins"] += int(bits_equal(ref, out["margins"]).sum())
            counts["decisions"] += int((positive == out["positive"]).sum())
            counts["events"] += int((fired == out["event"]).sum())
            counts["probabilities"] += int(bits_equal(xgb_prob, out["probabilities"]).sum())
        if self.tl2cgen is not None:
            tl = self.tl2cgen.margins(features)
            result.tl2cgen_margin_equal += int(bits_equal(ref, tl).sum())
            result.tl2cgen_max_abs = max(result.tl2cgen_max_abs, _max_abs(ref, tl))
            result.tl2cgen_decision_equal += int(
                (decisions.positive(self.decision, tl) == positive).sum()
            )
        cm = coreml_margins(self.coreml, features, self.columns)
        result.coreml_margin_equal += int(bits_equal(ref, cm.astype(np.float32)).sum())
        diff = _max_abs(ref, cm)
        result.coreml_max_abs = max(result.coreml_max_abs, diff)
        result.coreml_decision_equal += int((coreml_positive(self.decision, cm) == positive).sum())
        if self.decision.kind == "binary":
            near = np.abs(ref[:, 0].astype(np.float64) - self.decision.margin_threshold)
            result.coreml_near_threshold += int((near <= result.coreml_max_abs).sum())


def coreml_positive(decision: decisions.Decision, margins: np.ndarray) -> np.ndarray:
    """The decision an app would take from Core ML's output: its probability (double logistic)
    reaching the threshold (binary), the objective's transform of the margin a regressor outputs
    (in double), or its largest margin (multi-class)."""
    m = np.asarray(margins, dtype=np.float64)
    if decision.kind == "none":
        return np.zeros(m.shape[0], dtype=bool)
    if decision.kind == "binary":
        transforms: dict[str, Callable[[np.ndarray], np.ndarray]] = {
            "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
            "exp": np.exp,
            "identity": lambda x: x,
            "hinge": lambda x: (x > 0).astype(np.float64),
        }
        with np.errstate(over="ignore"):
            value = transforms[decision.transform](m[:, 0])
        return value >= decision.threshold
    return np.argmax(m, axis=1) == decision.positive_class


def _max_abs(a: np.ndarray, b: np.ndarray) -> float:
    d = np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    finite = np.isfinite(d)
    return float(d[finite].max()) if finite.any() else 0.0


# ---------------------------------------------------------------- boundary vectors


def boundary_values(t: float) -> list[float]:
    """Doubles around the float32 threshold t: t, its float32 neighbours, the doubles that
    round (to float32) just onto or just off t from either side, and t +- 1 double ULP."""
    below, above = fp32.next_f32(t, -1), fp32.next_f32(t, 1)
    out = [t, below, above, float(np.nextafter(t, -np.inf)), float(np.nextafter(t, np.inf))]
    for other in (below, above):
        if np.isfinite(other):
            mid = (t + other) / 2  # exact in double: a float32 midpoint
            out += [mid, float(np.nextafter(mid, t)), float(np.nextafter(mid, other))]
    return out


SPECIAL = [
    np.nan,
    np.inf,
    -np.inf,
    0.0,
    -0.0,
    fp32.FLT_TRUE_MIN,
    -fp32.FLT_TRUE_MIN,
    float(np.finfo(np.float32).tiny),
    5e-324,
    -5e-324,
    1e-300,
    fp32.FLT_MAX,
    -fp32.FLT_MAX,
    3.5e38,
    -3.5e38,
    1e300,
    -1e300,
]


def boundary_vectors(forest: Forest, base_rows: np.ndarray, limit: int | None = None) -> np.ndarray:
    """For every split threshold t of every feature, each base row with that feature set to each
    of :func:`boundary_values`; plus each feature set to each SPECIAL value (NaN, +-inf, +-0,
    subnormals, FLT_MAX and beyond)."""
    rows = []
    base_rows = np.atleast_2d(np.asarray(base_rows, dtype=np.float64))
    for feature, thresholds in forest.thresholds().items():
        values = [v for t in thresholds.tolist() for v in boundary_values(float(t))]
        values += SPECIAL
        for base in base_rows:
            block = np.repeat(base[None, :], len(values), axis=0)
            block[:, feature] = values
            rows.append(block)
    X = np.concatenate(rows) if rows else np.empty((0, forest.n_features))
    if limit is not None and X.shape[0] > limit:
        X = X[np.random.default_rng(0).choice(X.shape[0], limit, replace=False)]
    return X


def double_sum_of_leaves(forest: Forest, X: np.ndarray) -> np.ndarray:
    """(rows, outputs) double: the base margin plus the leaves XGBoost's rule selects, summed in
    double in tree order: what a Core ML evaluation that follows the same paths must give."""
    leaves = forest.leaves(X).astype(np.float64)
    out = np.empty((leaves.shape[0], forest.n_outputs))
    out[:] = np.array(forest.base_margin, dtype=np.float64)
    for k, tree in enumerate(forest.trees):
        out[:, tree.group] = out[:, tree.group] + leaves[:, k]
    return out


def boundary_check(
    parity: ModelParity, booster, forest: Forest, np_rows: np.ndarray, n_base: int = 2
) -> dict:
    """Boundary vectors (every threshold, its float32 and double neighbours, specials) on
    ``n_base`` real feature rows: every target's margins must equal XGBoost's on all of them."""
    if len(np_rows):
        picks = np.linspace(0, len(np_rows) - 1, n_base).astype(int)
        base = np_rows[picks]
    else:
        base = np.zeros((1, forest.n_features))
    X = boundary_vectors(forest, base)
    ref = xgboost_margins(booster, X)
    out: dict[str, Any] = {
        "vectors": int(X.shape[0]),
        "targets_margins_bit_equal": {
            target: int(bits_equal(ref, d.margins(X)).sum())
            for target, d in parity.detectors.items()
        },
        "reference_rule_bit_equal": int(bits_equal(ref, forest.margins(X)).sum()),
    }
    if parity.tl2cgen is not None:
        out["tl2cgen_margins_bit_equal"] = int(bits_equal(ref, parity.tl2cgen.margins(X)).sum())
    columns = parity.columns
    same = coreml_margins(parity.coreml, X, columns) == double_sum_of_leaves(forest, X)
    out["coreml_same_leaves"] = int(same.all(axis=1).sum())
    raw = parity.coreml.margins(model_input(X, columns))  # doubles, not rounded
    out["coreml_unrounded_inputs_same_leaves"] = int(
        (raw == double_sum_of_leaves(forest, X)).all(axis=1).sum()
    )
    return out
