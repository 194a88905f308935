"""`featgen replay`: read a flight-recorder log (docs/flight_recorder.md), re-run its samples
through the training side (the generated numpy featuriser, XGBoost's own margins, the spec's
decision rule) and say whether the device computed the same bits, and if not where and why.

The log reader never trusts the file: every length is checked against what is left and every
record's FNV-1a checksum against its bytes, so a truncated or corrupt log is a DataError naming
the byte offset (exit 2), never an exception from struct or numpy.
"""
from __future__ import annotations

import math
import struct
import types
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen import __version__
from codegen.build import generate
from codegen.trees import decision as decisions
from featurespec import load_spec

from .data import DataError

MAGIC = b"FGFLIGHT"
FORMAT_VERSION = 1
HEADER_BYTES = 176              # format 1; a later header may be longer (header length field)
KIND_PUSH = 1
KIND_END = 2                    # written by <name>_recorder_stop: the push count
GRAVITY = 9.80665               # m/s^2

FLAG_FAST_MATH, FLAG_FINITE_MATH, FLAG_FP_FAST_FMA, FLAG_BIG_ENDIAN = 1, 2, 4, 8
FLAG_CONTRACTION, FLAG_UNSAFE_MATH = 16, 32
COMPILERS = {0: "unknown compiler", 1: "gcc", 2: "clang", 3: "Apple clang", 4: "MSVC"}


def fnv1a(data: bytes) -> int:
    """FNV-1a, 32 bit: the per-record checksum the C recorder writes."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


@dataclass
class Header:
    version: int
    spec_sha256: str
    model_sha256: str
    feature_order_sha256: str
    generator_version: str
    spec_name: str
    flt_eval_method: int
    flags: int
    compiler: str
    compiler_version: str
    pointer_bytes: int
    n_inputs: int
    n_features: int
    n_outputs: int
    digest: bool                        # vectors logged as one 64-bit digest each

    def fingerprint(self) -> dict:
        f = self.flags
        return {"FLT_EVAL_METHOD": self.flt_eval_method, "__FAST_MATH__": bool(f & FLAG_FAST_MATH),
                "__FINITE_MATH_ONLY__": bool(f & FLAG_FINITE_MATH),
                "__FP_FAST_FMA": bool(f & FLAG_FP_FAST_FMA),
                "unsafe_math": bool(f & FLAG_UNSAFE_MATH),
                "contraction_observed": bool(f & FLAG_CONTRACTION),
                "compiler": f"{self.compiler} {self.compiler_version}",
                "pointer_bytes": self.pointer_bytes,
                "endianness": "big" if f & FLAG_BIG_ENDIAN else "little"}


@dataclass
class Log:
    header: Header
    status: np.ndarray                  # (pushes,) int8
    samples: np.ndarray                 # (pushes, n_inputs) float64, bits as logged
    scored: np.ndarray                  # push indices with status > 0
    features: np.ndarray                # (scored, n_features) float64
    margins: np.ndarray                 # (scored, n_outputs) float32
    positive: np.ndarray
    event: np.ndarray
    run: np.ndarray
    size: int = 0
    ended: bool = False                 # the recorder's end record was read


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


def parse(data: bytes, label: str = "log") -> Log:
    """The log in ``data``; DataError "LABEL: ... at byte offset N" when it is not whole."""
    def bad(offset: int, what: str) -> DataError:
        return DataError(f"{label}: {what} at byte offset {offset}")

    n = len(data)
    if n < 12:
        raise bad(n, f"truncated: {n} bytes, not even a header")
    if data[:8] != MAGIC:
        raise bad(0, "corrupt: not a featgen flight log (magic is not FGFLIGHT)")
    version, hlen = struct.unpack_from("<HH", data, 8)
    if version != FORMAT_VERSION:
        raise bad(8, f"unsupported format version {version} (this featgen reads "
                     f"{FORMAT_VERSION})")
    if hlen < HEADER_BYTES:
        raise bad(10, f"corrupt: header length {hlen} < {HEADER_BYTES}")
    if n < hlen:
        raise bad(n, f"truncated inside the header ({hlen} bytes)")
    if fnv1a(data[:hlen - 4]) != struct.unpack_from("<I", data, hlen - 4)[0]:
        raise bad(0, "corrupt: header checksum mismatch")
    fem, flags, comp, ptr, major, minor, n_in, n_feat, n_out, mode = struct.unpack_from(
        "<bBBBHHHHHH", data, 156)
    if mode > 1:
        raise bad(170, f"corrupt: vector mode {mode} (0 full vectors, 1 digest)")
    header = Header(version, data[12:44].hex(), data[44:76].hex(), data[76:108].hex(),
                    _text(data[108:124]), _text(data[124:156]), fem, flags,
                    COMPILERS.get(comp, f"compiler id {comp}"), f"{major}.{minor}", ptr,
                    n_in, n_feat, n_out, mode == 1)
    if n_in == 0:
        raise bad(164, "corrupt: the header says 0 inputs")
    short = 2 + 8 * n_in
    vec = 8 if mode == 1 else 8 * n_feat
    full = short + vec + 4 * n_out + 6
    status, samples, scored, feats, margins, flags_ = [], [], [], [], [], []
    o = hlen
    ended = False
    while o < n:
        if n - o < 4:
            raise bad(o, f"truncated: {n - o} byte(s) where a record's length should be")
        (length,) = struct.unpack_from("<I", data, o)
        if length < 1 or length > max(full, 1 << 16):
            raise bad(o, f"corrupt: record length {length}")
        if n - o < 8 + length:
            raise bad(o, f"truncated: the record needs {8 + length} bytes, {n - o} left")
        body = data[o:o + 4 + length]
        if fnv1a(body) != struct.unpack_from("<I", data, o + 4 + length)[0]:
            raise bad(o, "corrupt: record checksum mismatch")
        kind = body[4]
        if ended:
            raise bad(o, "corrupt: a record after the end record")
        if kind == KIND_END:
            if length != 9:
                raise bad(o, f"corrupt: end record of {length} bytes")
            (count,) = struct.unpack_from("<Q", body, 5)
            if count != len(status):
                raise bad(o, f"corrupt: the end record counts {count} pushes, the log has "
                             f"{len(status)}")
            ended = True
        elif kind == KIND_PUSH:           # other kinds: a later format's records, skipped
            if length < 2:
                raise bad(o, "corrupt: push record without a status")
            st = struct.unpack_from("<b", body, 5)[0]
            if length != (full if st > 0 else short) or st > 2 or st < -3:
                raise bad(o, f"corrupt: push record of {length} bytes with status {st}")
            status.append(st)
            samples.append(body[6:6 + 8 * n_in])
            if st > 0:
                p = 6 + 8 * n_in
                scored.append(len(status) - 1)
                feats.append(body[p:p + vec])
                p += vec
                margins.append(body[p:p + 4 * n_out])
                p += 4 * n_out
                flags_.append(struct.unpack_from("<BBI", body, p))
        o += 8 + length
    fl = np.array(flags_, dtype=np.int64).reshape(-1, 3)
    return Log(header, np.array(status, dtype=np.int8),
               np.frombuffer(b"".join(samples), dtype="<f8").reshape(-1, n_in).astype(np.float64),
               np.array(scored, dtype=np.int64),
               np.frombuffer(b"".join(feats), dtype="<f8").reshape(-1, vec // 8).astype(np.float64),
               np.frombuffer(b"".join(margins), dtype="<f4").reshape(-1, n_out).astype(np.float32),
               fl[:, 0].astype(bool), fl[:, 1].astype(bool), fl[:, 2], size=n, ended=ended)


def read_log(path: Path) -> Log:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse(data, str(path))


# ---------------------------------------------------------------- comparing


def ulp64(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in units in the last place between doubles (0 when the bits are equal; NaN vs
    NaN with any payload is 0; a NaN against a number is 2**63)."""
    def ordered(x):
        i = np.ascontiguousarray(x, dtype=np.float64).view(np.int64).astype(object)
        return np.array([v if v >= 0 else -(v & 0x7FFFFFFFFFFFFFFF) for v in i], dtype=object)
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    out = np.abs(ordered(a) - ordered(b))
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    out[nan_a & nan_b] = 0
    out[nan_a ^ nan_b] = 2 ** 63
    return out


def ulp32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    def ordered(x):
        i = np.ascontiguousarray(x, dtype=np.float32).view(np.int32).astype(np.int64)
        return np.where(i >= 0, i, -(i & 0x7FFFFFFF))
    return np.abs(ordered(a) - ordered(b))


def vector_digest(x: np.ndarray) -> int:
    """The C recorder's digest of one feature vector (FNV-1a over the 64-bit words)."""
    h = 14695981039346656037
    for u in np.ascontiguousarray(x, dtype="<f8").view("<u8").tolist():
        h = ((h ^ u) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h


def _bits(x: float) -> str:
    return struct.pack("<d", x)[::-1].hex()


def _numpy_module(files: dict, name: str) -> types.ModuleType:
    """The generated numpy featuriser, imported from its text."""
    source = files[f"python/{name}_features.py"]
    module = types.ModuleType(f"featgen_replay_{name}")
    module.__file__ = f"<generated python/{name}_features.py>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


@dataclass
class Reference:
    """What this checkout builds for a spec: hashes, the numpy featuriser, XGBoost, decision."""
    spec: object
    manifest: dict
    module: types.ModuleType
    booster: object
    decision: object
    columns: np.ndarray
    device_names: list = field(default_factory=list)


def reference(spec_path: str) -> Reference:
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    spec = load_spec(spec_path)
    if spec.model is None:
        raise DataError(f"{spec_path}: the spec has no model: block; the flight recorder logs "
                        "the detector, which needs one")
    bundle = generate(spec)
    model = bundle.manifest.model
    booster = xgboost.Booster()
    booster.load_model(bytearray(bundle.model.raw))
    decision = decisions.Decision.from_json(model.decision)
    return Reference(spec, bundle.manifest.data, _numpy_module(bundle, spec.name), booster,
                     decision, np.array(model.device.columns, dtype=np.int64),
                     list(model.device.names))


def _accelerometers(spec) -> list[tuple[str, ...]]:
    """Input triples that are accelerometer axes: a 3-input magnitude signal over inputs named
    acc*/accel* (the spec documents units in prose only, so this is a naming convention)."""
    out = []
    for s in spec.signals:
        if s.kind == "magnitude" and len(s.sources) == 3 and all(
                src.lower().startswith("acc") for src in s.sources):
            out.append(tuple(s.sources))
    return out


def units_check(spec, samples: np.ndarray) -> str | None:
    """"input units differ by 9.81x" when the accelerometer's median magnitude sits near g
    times 9.81 or g / 9.81 instead of g (m/s^2), which training data at rest always shows."""
    finite = samples[np.isfinite(samples).all(axis=1)]
    if finite.shape[0] < 10:
        return None
    for triple in _accelerometers(spec):
        cols = [spec.inputs.index(t) for t in triple]
        median = float(np.median(np.sqrt((finite[:, cols] ** 2).sum(axis=1))))
        if not median > 0:
            continue
        r = math.log(median / GRAVITY)
        for k, meaning in ((-1, "the samples look like g, not m/s^2 (divided by 9.80665)"),
                           (1, "the samples look multiplied by 9.80665 (g converted twice?)")):
            if abs(r - k * math.log(GRAVITY)) < math.log(1.6):
                return (f"input units differ by 9.81x: the median magnitude of "
                        f"({', '.join(triple)}) is {median:.3g}, gravity is {GRAVITY} m/s^2; "
                        f"{meaning}")
    return None


def compare(log: Log, ref: Reference) -> dict:
    """The replay report (a JSON-able dict; see docs/flight_recorder.md)."""
    h = ref.manifest
    model = h["model"]
    hd = log.header
    identity = {"spec_sha256": [hd.spec_sha256, ref.spec.spec_hash],
                "model_sha256": [hd.model_sha256, model["model_sha256"]],
                "feature_order_sha256": [hd.feature_order_sha256, model["feature_order_sha256"]],
                "generator_version": [hd.generator_version, h.get("generator_version")
                                      or _version()]}
    causes: list[str] = []
    if hd.spec_sha256 != ref.spec.spec_hash:
        causes.append(f"stale generated code: spec hash differs (device {hd.spec_sha256[:12]}…, "
                      f"this checkout {ref.spec.spec_hash[:12]}…)")
    if hd.model_sha256 != model["model_sha256"]:
        causes.append(f"another model: model hash differs (device {hd.model_sha256[:12]}…, this "
                      f"checkout {model['model_sha256'][:12]}…): another training run or a "
                      "swapped model.json")
    if hd.feature_order_sha256 != model["feature_order_sha256"]:
        causes.append("feature order differs: the device model reads another feature vector")
    fp = hd.fingerprint()
    if hd.flt_eval_method != 0:
        causes.append(f"x87 excess precision: FLT_EVAL_METHOD is {hd.flt_eval_method} (the "
                      "numeric guards were bypassed; build with -msse2 -mfpmath=sse)")
    if fp["__FAST_MATH__"] or fp["__FINITE_MATH_ONLY__"] or fp["unsafe_math"]:
        causes.append("fast-math build: the fingerprint shows -ffast-math / -ffinite-math-only /"
                      " unsafe math")
    if fp["contraction_observed"] and hd.flt_eval_method == 0:
        causes.append("fused multiply-add suspected: the build fingerprint shows contraction "
                      "(the recorder's a*b+c probe was fused"
                      f"{', __FP_FAST_FMA defined' if fp['__FP_FAST_FMA'] else ''}); build with "
                      "-ffp-contract=off")
    report = {"format_version": hd.version, "complete": log.ended,
              "vector_mode": "digest" if hd.digest else "full",
              "pushes": int(log.status.size),
              "scored_on_device": int(log.scored.size), "identity": identity,
              "fingerprint": fp}
    n_dev = len(ref.device_names)
    if (hd.n_inputs, hd.n_features, hd.n_outputs) != (len(ref.spec.inputs), n_dev,
                                                       model["n_outputs"]):
        causes.append(f"shape differs: the device logs {hd.n_inputs} inputs, {hd.n_features} "
                      f"features, {hd.n_outputs} outputs; this checkout builds "
                      f"{len(ref.spec.inputs)}, {n_dev}, {model['n_outputs']}")
        report.update(identical=False, causes=causes, first_divergence=None)
        return report

    # The training side, on the samples the device was fed (misuse pushes did nothing).
    fed = np.flatnonzero(log.status >= -1)
    samples = log.samples[fed]
    full, ends = ref.module.featurize(samples, nonfinite="drop")
    finite = np.isfinite(samples).all(axis=1)
    expected_status = np.zeros(fed.size, dtype=np.int8)
    expected_status[~finite] = -1
    if full.shape[0] == 0:              # fewer pushes than the longest window
        margins = np.empty((0, model["n_outputs"]), dtype=np.float32)
    else:
        margins = np.asarray(ref.booster.inplace_predict(
            np.ascontiguousarray(full), predict_type="margin", missing=np.nan),
            dtype=np.float32).reshape(full.shape[0], -1)
    if ends.size:
        positive = decisions.positive(ref.decision, margins)
        runs, fired = decisions.events(ref.decision, positive, np.cumsum(finite)[ends] - 1)
    else:
        positive = fired = np.zeros(0, dtype=bool)
    expected_status[ends] = np.where(fired, 2, 1)
    ref_feats = full[:, ref.columns] if full.size else np.empty((0, n_dev))

    # Align: push index -> reference vector / device vector.
    ref_at = {int(fed[e]): i for i, e in enumerate(ends.tolist())}
    dev_at = {int(p): i for i, p in enumerate(log.scored.tolist())}
    exp_full = np.zeros(log.status.size, dtype=np.int8)
    exp_full[:] = log.status                    # misuse pushes: nothing to compare
    exp_full[fed] = expected_status
    first = None
    feat_diff_vectors = margin_diff = decision_diff = 0
    worst: dict[str, int] = {}
    events_dev = [int(p) for p in np.flatnonzero(log.status == 2)]
    events_ref = [int(p) for p in np.flatnonzero(exp_full == 2)]
    for push in range(log.status.size):
        reasons = []
        if log.status[push] != exp_full[push]:
            reasons.append(f"status {int(log.status[push])} on device, {int(exp_full[push])} "
                           "in the reference")
        i, j = dev_at.get(push), ref_at.get(push)
        detail = None
        if i is not None and j is not None:
            if hd.digest:           # one digest: the push, not the feature (docs)
                same = int(log.features[i].view("<u8")[0]) == vector_digest(ref_feats[j])
                u = np.zeros(n_dev, dtype=object)
                differ = np.empty(0, dtype=np.int64)
                if not same:
                    feat_diff_vectors += 1
                    reasons.append("feature vector digest differs (digest mode: re-record with "
                                   "full vectors to name the features)")
            else:
                u = ulp64(log.features[i], ref_feats[j])
                differ = np.flatnonzero(u != 0)
            mu = ulp32(log.margins[i], margins[j])
            if differ.size:
                feat_diff_vectors += 1
                for k in differ.tolist():
                    worst[ref.device_names[k]] = max(worst.get(ref.device_names[k], 0),
                                                     int(u[k]))
                reasons.append(f"{differ.size} feature(s) differ")
            if mu.any():
                margin_diff += 1
                reasons.append(f"margin differs by {int(mu.max())} ULP")
            if log.positive[i] != positive[j]:
                decision_diff += 1
                reasons.append(f"decision {'positive' if log.positive[i] else 'negative'} on "
                               f"device, {'positive' if positive[j] else 'negative'} in the "
                               "reference")
            if first is None and reasons:
                detail = {"features": [
                    {"name": ref.device_names[k], "device": float(log.features[i, k]),
                     "reference": float(ref_feats[j, k]),
                     "device_bits": _bits(float(log.features[i, k])),
                     "reference_bits": _bits(float(ref_feats[j, k])), "ulp": int(u[k])}
                    for k in differ.tolist()],
                    "margins": {"device": [float(m) for m in log.margins[i]],
                                "reference": [float(m) for m in margins[j]],
                                "ulp": [int(x) for x in mu]}}
        if first is None and reasons:
            first = {"push": push, "reasons": reasons, **(detail or {})}
    identical = first is None and not causes

    units = units_check(ref.spec, samples)
    if units:
        causes.append(units)
    if first is not None and not causes:
        feats = first.get("features") or []
        if hd.digest and any(r.startswith("feature vector digest") for r in first["reasons"]):
            causes.append(f"generated code edited or miscompiled: the hashes and the build "
                          f"fingerprint are clean, yet the feature vector diverges at push "
                          f"{first['push']} (digest mode cannot name the features)")
        elif feats:
            causes.append(f"generated code edited or miscompiled: the hashes and the build "
                          f"fingerprint are clean, yet {len(feats)} feature(s) "
                          f"({', '.join(f['name'] for f in feats[:4])}"
                          f"{'…' if len(feats) > 4 else ''}) diverge from the first vector that "
                          f"uses them (push {first['push']}); a hand-edited constant or "
                          "unrecorded compiler flags")
        elif first.get("margins") and any(first["margins"]["ulp"]):
            causes.append("model code edited: the features are identical but the margins differ,"
                          " with matching hashes and a clean fingerprint")
        else:
            causes.append("decision or event logic differs with identical features and margins")
    report.update(
        identical=identical and not units, causes=causes, first_divergence=first,
        vectors={"device": int(log.scored.size), "reference": int(ends.size),
                 "features_differ": feat_diff_vectors, "margins_differ": margin_diff,
                 "decisions_differ": decision_diff},
        worst_features=sorted(({"name": k, "max_ulp": v} for k, v in worst.items()),
                              key=lambda r: -r["max_ulp"])[:10],
        events={"device": events_dev, "reference": events_ref,
                "only_on_device": sorted(set(events_dev) - set(events_ref)),
                "only_in_reference": sorted(set(events_ref) - set(events_dev))})
    return report


def _version() -> str:
    return __version__


def summary_lines(label: str, report: dict) -> list[str]:
    """The human report, in the order the issue asks for."""
    lines = [f"{label}: {report['pushes']} pushes, {report['scored_on_device']} scored "
             f"({report['fingerprint']['compiler']}, {report['fingerprint']['pointer_bytes'] * 8}"
             f"-bit, FLT_EVAL_METHOD {report['fingerprint']['FLT_EVAL_METHOD']})"]
    ident = report["identity"]
    same = all(a == b for a, b in ident.values())
    if not report["complete"]:
        lines.append("  note: no end record: the recorder was not stopped (app killed?) or the "
                     "log was cut at a record boundary; every whole record was replayed")
    lines.append("  identity: " + ("spec, model and feature-order hashes match this checkout"
                                   if same else "; ".join(
                                       f"{k} differs" for k, (a, b) in ident.items() if a != b)))
    first = report.get("first_divergence")
    if first is not None:
        lines.append(f"  first divergence: push {first['push']}: {'; '.join(first['reasons'])}")
        for f in (first.get("features") or [])[:6]:
            lines.append(f"    {f['name']}: device {f['device']!r} reference {f['reference']!r}"
                         f" ({f['ulp']} ULP)")
    for cause in report["causes"]:
        lines.append(f"  cause: {cause}")
    ev = report.get("events")
    if ev and (ev["only_on_device"] or ev["only_in_reference"]):
        lines.append(f"  events that would differ: on device only at pushes "
                     f"{ev['only_on_device'][:10]}, in the reference only at "
                     f"{ev['only_in_reference'][:10]}")
    v = report.get("vectors")
    if v:
        lines.append(f"  summary: {'IDENTICAL' if report['identical'] else 'DIVERGED'}: "
                     f"{v['device']} vectors on device, {v['reference']} in the reference; "
                     f"features differ in {v['features_differ']}, margins in "
                     f"{v['margins_differ']}, decisions in {v['decisions_differ']}")
    else:
        lines.append("  summary: DIVERGED (not comparable)")
    return lines
