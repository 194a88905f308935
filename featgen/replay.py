"""`featgen replay`: read a flight-recorder log (docs/replay.md; written by the C, Swift or
Kotlin/JNI recorder, format 1 or 2, binary or the JSON-lines text form of replay_text.py),
re-run its samples through the training side (the generated numpy featuriser, XGBoost's own
margins, the spec's decision rule; and the numpy sensor adapter on the events it logged) and say
whether the device computed the same bits, and if not where and why.

The log reader never trusts the file: every length is checked against what is left and every
record's FNV-1a checksum against its bytes, so a truncated or corrupt log is a DataError naming
the byte offset (exit 2), never an exception from struct or numpy.
"""

from __future__ import annotations

import itertools
import math
import struct
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from codegen import __version__
from codegen.build import generate
from codegen.trees import decision as decisions
from featurespec import Spec, load_spec

from .data import DataError

if TYPE_CHECKING:
    import xgboost  # imported lazily where it is used: xgboost is heavy

MAGIC = b"FGFLIGHT"
FORMAT_VERSION = 2  # the newest this featgen writes and reads
READS = (1, 2)  # every version this featgen reads (docs/replay.md)
HEADER_BYTES = {1: 176, 2: 212}  # the smallest header of each version (a later one may be longer)
KIND_PUSH = 1
KIND_END = 2  # written by <name>_recorder_stop: the push count
KIND_SENSOR = 3  # format 2: one event as fed to the sensor adapter
KIND_SAMPLE = 4  # format 2: one fixed-rate sample as the adapter emitted it
KIND_RESET = 5  # format 2: the detector was re-initialised
ANCILLARY = 128  # kinds >= 128 may be skipped by a reader that does not know them
GRAVITY = 9.80665  # m/s^2

FLAG_FAST_MATH, FLAG_FINITE_MATH, FLAG_FP_FAST_FMA, FLAG_BIG_ENDIAN = 1, 2, 4, 8
FLAG_CONTRACTION, FLAG_UNSAFE_MATH = 16, 32
COMPILERS = {0: "unknown compiler", 1: "gcc", 2: "clang", 3: "Apple clang", 4: "MSVC", 5: "swiftc"}
RUNTIMES = {0: "C (format 1)", 1: "C", 2: "Swift", 3: "Kotlin/JNI"}


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
    digest: bool  # vectors logged as one 64-bit digest each
    compiler_id: int = 0
    compiler_major: int = 0
    compiler_minor: int = 0
    sensors_sha256: str = ""  # format 2; "" for format 1 or a spec without sensors:
    runtime: int = 0  # format 2: 1 C, 2 Swift, 3 Kotlin/JNI; 0 format 1
    n_sensors: int = 0

    def fingerprint(self) -> dict:
        f = self.flags
        return {
            "FLT_EVAL_METHOD": self.flt_eval_method,
            "__FAST_MATH__": bool(f & FLAG_FAST_MATH),
            "__FINITE_MATH_ONLY__": bool(f & FLAG_FINITE_MATH),
            "__FP_FAST_FMA": bool(f & FLAG_FP_FAST_FMA),
            "unsafe_math": bool(f & FLAG_UNSAFE_MATH),
            "contraction_observed": bool(f & FLAG_CONTRACTION),
            "compiler": f"{self.compiler} {self.compiler_version}",
            "runtime": RUNTIMES.get(self.runtime, f"runtime id {self.runtime}"),
            "pointer_bytes": self.pointer_bytes,
            "endianness": "big" if f & FLAG_BIG_ENDIAN else "little",
        }


@dataclass
class Log:
    header: Header
    status: np.ndarray  # (pushes,) int8
    samples: np.ndarray  # (pushes, n_inputs) float64, bits as logged
    scored: np.ndarray  # push indices with status > 0
    features: np.ndarray  # (scored, n_features) float64 (digest: (scored, 1))
    margins: np.ndarray  # (scored, n_outputs) float32
    positive: np.ndarray
    event: np.ndarray
    run: np.ndarray
    size: int = 0
    ended: bool = False  # the recorder's end record was read
    resets: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # ^ for each reset record, the number of push records before it
    sensor: dict = field(default_factory=dict)  # id, platform, status, t_ns, values, before
    adapter: dict = field(default_factory=dict)  # segment_start, t_ns, values, before
    order: list = field(default_factory=list)  # (kind, index) in log order, for conversion
    ancillary: list = field(default_factory=list)  # (kind, payload) of skipped kinds >= 128


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("ascii", "replace")


class _Builder:
    """Collects records (from the binary or the text form) into a Log's arrays."""

    def __init__(self, header: Header):
        self.h = header
        self.status: list[int] = []
        self.samples: list[bytes] = []  # each: n_inputs little-endian float64
        self.scored: list[int] = []
        self.feats: list[bytes] = []
        self.margins: list[bytes] = []
        self.flags: list[tuple[int, ...]] = []  # (positive, event, run) of each scored push
        self.resets: list[int] = []
        self.order: list[tuple[int, int]] = []
        self.ancillary: list[tuple[int, bytes]] = []
        self.sensor: dict[str, list[Any]] = {
            k: [] for k in ("id", "platform", "status", "t_ns", "values", "before")
        }
        self.adapter: dict[str, list[Any]] = {
            k: [] for k in ("segment_start", "t_ns", "values", "before")
        }
        self.ended = False

    def push(
        self, st: int, sample: bytes, vec: bytes = b"", margins: bytes = b"", flags: tuple = ()
    ) -> None:
        self.order.append((KIND_PUSH, len(self.status)))
        self.status.append(st)
        self.samples.append(sample)
        if st > 0:
            self.scored.append(len(self.status) - 1)
            self.feats.append(vec)
            self.margins.append(margins)
            self.flags.append(flags)

    def reset(self) -> None:
        self.order.append((KIND_RESET, len(self.resets)))
        self.resets.append(len(self.status))

    def sensor_event(self, sid: int, platform: int, st: int, t_ns: int, values: bytes) -> None:
        self.order.append((KIND_SENSOR, len(self.sensor["id"])))
        for k, v in zip(
            ("id", "platform", "status", "t_ns", "values", "before"),
            (sid, platform, st, t_ns, values, len(self.status)),
        ):
            self.sensor[k].append(v)

    def adapter_sample(self, segment_start: int, t_ns: int, values: bytes) -> None:
        self.order.append((KIND_SAMPLE, len(self.adapter["t_ns"])))
        for k, v in zip(
            ("segment_start", "t_ns", "values", "before"),
            (segment_start, t_ns, values, len(self.status)),
        ):
            self.adapter[k].append(v)

    def other(self, kind: int, payload: bytes) -> None:
        self.order.append((kind, len(self.ancillary)))
        self.ancillary.append((kind, payload))

    def log(self, size: int) -> Log:
        h = self.h
        n_in, vec = h.n_inputs, 1 if h.digest else h.n_features
        fl = np.array(self.flags, dtype=np.int64).reshape(-1, 3)
        s, a = self.sensor, self.adapter
        return Log(
            h,
            np.array(self.status, dtype=np.int8),
            np.frombuffer(b"".join(self.samples), "<f8").reshape(-1, n_in).astype(np.float64),
            np.array(self.scored, dtype=np.int64),
            np.frombuffer(b"".join(self.feats), "<f8").reshape(-1, vec).astype(np.float64),
            np.frombuffer(b"".join(self.margins), "<f4")
            .reshape(-1, h.n_outputs)
            .astype(np.float32),
            fl[:, 0].astype(bool),
            fl[:, 1].astype(bool),
            fl[:, 2],
            size=size,
            ended=self.ended,
            resets=np.array(self.resets, dtype=np.int64),
            sensor={
                "id": np.array(s["id"], np.int64),
                "platform": np.array(s["platform"], np.int64),
                "status": np.array(s["status"], np.int8),
                "t_ns": np.array(s["t_ns"], np.int64),
                "values": np.frombuffer(b"".join(s["values"]), "<f8")
                .reshape(-1, 3)
                .astype(np.float64),
                "before": np.array(s["before"], np.int64),
            },
            adapter={
                "segment_start": np.array(a["segment_start"], bool),
                "t_ns": np.array(a["t_ns"], np.int64),
                "values": np.frombuffer(b"".join(a["values"]), "<f8")
                .reshape(-1, n_in)
                .astype(np.float64),
                "before": np.array(a["before"], np.int64),
            },
            order=self.order,
            ancillary=self.ancillary,
        )


def parse_binary(data: bytes, label: str = "log") -> Log:
    def bad(offset: int, what: str) -> DataError:
        return DataError(f"{label}: {what} at byte offset {offset}")

    n = len(data)
    if n < 12:
        raise bad(n, f"truncated: {n} bytes, not even a header")
    if data[:8] != MAGIC:
        raise bad(0, "corrupt: not a featgen flight log (magic is not FGFLIGHT)")
    version, hlen = struct.unpack_from("<HH", data, 8)
    if version not in READS:
        raise bad(
            8,
            f"unsupported format version {version} (this featgen reads versions "
            f"{', '.join(map(str, READS))}; a newer featgen may read it)",
        )
    if hlen < HEADER_BYTES[version]:
        raise bad(10, f"corrupt: header length {hlen} < {HEADER_BYTES[version]}")
    if n < hlen:
        raise bad(n, f"truncated inside the header ({hlen} bytes)")
    if fnv1a(data[: hlen - 4]) != struct.unpack_from("<I", data, hlen - 4)[0]:
        raise bad(0, "corrupt: header checksum mismatch")
    fem, flags, comp, ptr, major, minor, n_in, n_feat, n_out, mode = struct.unpack_from(
        "<bBBBHHHHHH", data, 156
    )
    if mode > 1:
        raise bad(170, f"corrupt: vector mode {mode} (0 full vectors, 1 digest)")
    sensors_sha, runtime, n_sensors = "", 0, 0
    if version >= 2:
        raw = data[172:204]
        sensors_sha = raw.hex() if any(raw) else ""
        runtime, n_sensors = data[204], data[205]
    header = Header(
        version,
        data[12:44].hex(),
        data[44:76].hex(),
        data[76:108].hex(),
        _text(data[108:124]),
        _text(data[124:156]),
        fem,
        flags,
        COMPILERS.get(comp, f"compiler id {comp}"),
        f"{major}.{minor}",
        ptr,
        n_in,
        n_feat,
        n_out,
        mode == 1,
        comp,
        major,
        minor,
        sensors_sha,
        runtime,
        n_sensors,
    )
    if n_in == 0:
        raise bad(164, "corrupt: the header says 0 inputs")
    short = 2 + 8 * n_in
    vec = 8 if mode == 1 else 8 * n_feat
    full = short + vec + 4 * n_out + 6
    b = _Builder(header)
    o = hlen
    while o < n:
        if n - o < 4:
            raise bad(o, f"truncated: {n - o} byte(s) where a record's length should be")
        (length,) = struct.unpack_from("<I", data, o)
        if length < 1 or length > max(full, 1 << 16):
            raise bad(o, f"corrupt: record length {length}")
        if n - o < 8 + length:
            raise bad(o, f"truncated: the record needs {8 + length} bytes, {n - o} left")
        body = data[o : o + 4 + length]
        if fnv1a(body) != struct.unpack_from("<I", data, o + 4 + length)[0]:
            raise bad(o, "corrupt: record checksum mismatch")
        kind = body[4]
        if b.ended:
            raise bad(o, "corrupt: a record after the end record")
        if kind == KIND_END:
            if length != 9:
                raise bad(o, f"corrupt: end record of {length} bytes")
            (count,) = struct.unpack_from("<Q", body, 5)
            if count != len(b.status):
                raise bad(
                    o, f"corrupt: the end record counts {count} pushes, the log has {len(b.status)}"
                )
            b.ended = True
        elif kind == KIND_PUSH:
            if length < 2:
                raise bad(o, "corrupt: push record without a status")
            st = struct.unpack_from("<b", body, 5)[0]
            if length != (full if st > 0 else short) or st > 2 or st < -3:
                raise bad(o, f"corrupt: push record of {length} bytes with status {st}")
            p = 6 + 8 * n_in
            if st > 0:
                b.push(
                    st,
                    body[6:p],
                    body[p : p + vec],
                    body[p + vec : p + vec + 4 * n_out],
                    struct.unpack_from("<BBI", body, p + vec + 4 * n_out),
                )
            else:
                b.push(st, body[6:p])
        elif version < 2 and kind < ANCILLARY:
            pass  # format 1 skipped every kind it did not know
        elif kind == KIND_RESET:
            if length != 1:
                raise bad(o, f"corrupt: reset record of {length} bytes")
            b.reset()
        elif kind == KIND_SENSOR:
            if length != 36:
                raise bad(o, f"corrupt: sensor event record of {length} bytes")
            sid, plat, st, t = struct.unpack_from("<BBbq", body, 5)
            b.sensor_event(sid, plat, st, t, body[16:40])
        elif kind == KIND_SAMPLE:
            if length != 10 + 8 * n_in:
                raise bad(o, f"corrupt: adapter sample record of {length} bytes")
            seg, t = struct.unpack_from("<Bq", body, 5)
            if seg > 1:
                raise bad(o, f"corrupt: segment_start {seg}")
            b.adapter_sample(seg, t, body[14 : 14 + 8 * n_in])
        elif kind >= ANCILLARY:
            b.other(kind, body[5:])  # a later format's optional record: skipped
        else:
            raise bad(
                o,
                f"record kind {kind} is not known to this featgen (format {version} "
                "defines 1-5; a newer featgen may read it)",
            )
        o += 8 + length
    return b.log(n)


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
    out[nan_a ^ nan_b] = 2**63
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


def _numpy_module(
    files: Mapping[str, str | bytes], name: str, part: str = "features"
) -> types.ModuleType:
    """The generated numpy featuriser (or sensor adapter), imported from its text."""
    source = files[f"python/{name}_{part}.py"]
    module = types.ModuleType(f"featgen_replay_{name}_{part}")
    module.__file__ = f"<generated python/{name}_{part}.py>"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


@dataclass
class Reference:
    """What this checkout builds for a spec: hashes, the numpy featuriser, XGBoost, decision."""

    spec: Spec
    manifest: Mapping[str, Any]
    module: types.ModuleType
    booster: xgboost.Booster
    decision: decisions.Decision
    columns: np.ndarray
    device_names: list[str] = field(default_factory=list)
    sensors: types.ModuleType | None = None  # the generated numpy sensor adapter


def reference(spec_path: str) -> Reference:
    import xgboost  # lazily: xgboost is heavy, only this path needs it

    spec = load_spec(spec_path)
    if spec.model is None:
        raise DataError(
            f"{spec_path}: the spec has no model: block; the flight recorder logs "
            "the detector, which needs one"
        )
    bundle = generate(spec)
    library = bundle.model.forest.rule.library if bundle.model is not None else "xgboost"
    if library != "xgboost":
        raise DataError(
            f"{spec_path}: featgen replay re-scores with XGBoost; this spec's model "
            f"is a {library} model, which replay does not support yet (its records "
            "hold double margins)"
        )
    model = bundle.manifest.model
    if bundle.model is None or model is None:  # a spec with a model: block builds both
        raise DataError(f"{spec_path}: the build of this spec produced no model")
    booster = xgboost.Booster()
    booster.load_model(bytearray(bundle.model.raw))
    decision = decisions.Decision.from_json(model.decision)
    return Reference(
        spec,
        bundle.manifest.data,
        _numpy_module(bundle, spec.name),
        booster,
        decision,
        np.array(model.device.columns, dtype=np.int64),
        list(model.device.names),
        _numpy_module(bundle, spec.name, "sensors") if spec.sensors is not None else None,
    )


def _accelerometers(spec) -> list[tuple[str, ...]]:
    """Input triples that are accelerometer axes: a 3-input magnitude signal over inputs named
    acc*/accel* (the spec documents units in prose only, so this is a naming convention)."""
    out = []
    for s in spec.signals:
        if (
            s.kind == "magnitude"
            and len(s.sources) == 3
            and all(src.lower().startswith("acc") for src in s.sources)
        ):
            out.append(tuple(s.sources))
    return out


def units_check(spec, samples: np.ndarray) -> str | None:
    """ "input units differ by 9.81x" when the accelerometer's median magnitude sits near g
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
        for k, meaning in (
            (-1, "the samples look like g, not m/s^2 (divided by 9.80665)"),
            (1, "the samples look multiplied by 9.80665 (g converted twice?)"),
        ):
            if abs(r - k * math.log(GRAVITY)) < math.log(1.6):
                return (
                    f"input units differ by 9.81x: the median magnitude of "
                    f"({', '.join(triple)}) is {median:.3g}, gravity is {GRAVITY} m/s^2; "
                    f"{meaning}"
                )
    return None


def _reference_stream(log: Log, ref: Reference):
    """What the training side computes on the logged pushes: the expected status of every push,
    {push: vector index}, and the reference vectors, margins and decisions by vector index. The
    stream restarts (featuriser and decision state) at every reset record, as the detector's
    init does on the device."""
    model = ref.manifest["model"]
    n_dev = len(ref.device_names)
    exp_full = log.status.copy()  # misuse pushes: nothing to compare
    bounds = sorted({0, log.status.size, *[int(r) for r in log.resets.tolist()]})
    ref_at: dict[int, int] = {}
    feats, margins, positive = [], [], []
    for a, b in itertools.pairwise(bounds):
        fed = a + np.flatnonzero(log.status[a:b] >= -1)
        samples = log.samples[fed]
        full, ends = ref.module.featurize(samples, nonfinite="drop")
        finite = np.isfinite(samples).all(axis=1)
        expected = np.zeros(fed.size, dtype=np.int8)
        expected[~finite] = -1
        if ends.size == 0:  # fewer pushes than the longest window
            exp_full[fed] = expected
            continue
        m = np.asarray(
            ref.booster.inplace_predict(
                np.ascontiguousarray(full), predict_type="margin", missing=np.nan
            ),
            dtype=np.float32,
        ).reshape(full.shape[0], -1)
        pos = decisions.positive(ref.decision, m)
        _, fired = decisions.events(ref.decision, pos, np.cumsum(finite)[ends] - 1)
        expected[ends] = np.where(fired, 2, 1)
        exp_full[fed] = expected
        for e in ends.tolist():
            ref_at[int(fed[e])] = len(ref_at)
        feats.append(full[:, ref.columns])
        margins.append(m)
        positive.append(pos)
    if not feats:
        return (
            exp_full,
            ref_at,
            np.empty((0, n_dev)),
            np.empty((0, model["n_outputs"]), np.float32),
            np.zeros(0, bool),
        )
    return (
        exp_full,
        ref_at,
        np.concatenate(feats),
        np.concatenate(margins),
        np.concatenate(positive),
    )


def _adapter_check(
    log: Log, ref: Reference, mod: types.ModuleType, samples: np.ndarray
) -> dict | None:
    """The sensor adapter's side of a format-2 log: re-runs the logged events (as fed) through
    the numpy adapter and compares its samples with the logged adapter samples (the adapter was
    faithful), then those with the samples pushed into the detector (the app fed the detector
    what the adapter produced, and re-initialised it at every segment start)."""
    ev, ad = log.sensor, log.adapter
    if ev["id"].size == 0 and ad["t_ns"].size == 0:
        return None
    out: dict[str, Any] = {
        "events": int(ev["id"].size),
        "samples_on_device": int(ad["t_ns"].size),
        "causes": [],
    }
    platforms = sorted(set(ev["platform"].tolist()))
    out["platform"] = [mod.PLATFORMS[p] if 0 <= p < len(mod.PLATFORMS) else p for p in platforms]
    if len(platforms) > 1 or (platforms and not 0 <= platforms[0] < len(mod.PLATFORMS)):
        out["causes"].append(
            f"sensor adapter: the log mixes or names unknown platforms "
            f"{platforms}: one adapter per recording"
        )
        return out
    if ev["id"].size:
        res = mod.resample(ev["t_ns"], ev["id"], ev["values"], platforms[0])
        out["samples_in_reference"] = int(res.t_ns.size)
        bad_status = np.flatnonzero(res.status != ev["status"])
        first = None
        if bad_status.size:
            k = int(bad_status[0])
            first = {
                "event": k,
                "reason": f"status {int(ev['status'][k])} on device, "
                f"{int(res.status[k])} in the reference",
            }
        n = min(res.t_ns.size, ad["t_ns"].size)
        same = (
            (res.t_ns[:n] == ad["t_ns"][:n])
            & (res.segment_start[:n] == ad["segment_start"][:n])
            & (res.samples[:n].view(np.int64) == ad["values"][:n].view(np.int64)).all(axis=1)
        )
        if not same.all() or res.t_ns.size != ad["t_ns"].size:
            k = int(np.flatnonzero(~same)[0]) if not same.all() else n
            where: dict[str, Any] = {"sample": k}
            if k < n:
                differ = np.flatnonzero(
                    res.samples[k].view(np.int64) != ad["values"][k].view(np.int64)
                )
                where["inputs"] = [ref.spec.inputs[i] for i in differ.tolist()]
                where["t_ns"] = [int(ad["t_ns"][k]), int(res.t_ns[k])]
            first = first or where
            out["causes"].append(
                "sensor adapter differs: the events as fed give other samples in this "
                f"checkout's adapter (first at adapter sample {k}"
                f"{', inputs ' + ', '.join(where.get('inputs', [])) if where.get('inputs') else ''}"
                "); an edited or stale adapter, or another platform's build"
            )
        out["first_divergence"] = first
        units = _raw_units(ref.spec, mod, ev, platforms[0])
        if units:
            out["causes"].append(units)
    # the app's wiring: each adapter sample should be the next push, after a reset when it
    # starts a segment
    before, nxt = ad["before"], np.append(ad["before"][1:], log.status.size + 1)
    dropped = int(np.count_nonzero(before == nxt))
    fed = (before < log.status.size) & (before != nxt)
    fed_at = np.flatnonzero(fed)
    changed = fed_at[
        (log.samples[before[fed_at]].view(np.int64) != ad["values"][fed_at].view(np.int64)).any(
            axis=1
        )
    ]
    resets = set(log.resets.tolist())
    no_reset = [
        int(i)
        for i in np.flatnonzero(ad["segment_start"]).tolist()
        if int(before[i]) not in resets and fed[i]
    ]
    out.update(
        dropped_by_app=dropped,
        changed_by_app=int(changed.size),
        segment_starts_without_reset=len(no_reset),
    )
    if changed.size:
        i = int(changed[0])
        a, b = ad["values"][i], log.samples[before[i]]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.abs(b / a)
        ratio = ratio[np.isfinite(ratio) & (ratio != 0) & (a.view(np.int64) != b.view(np.int64))]
        how = ""
        if ratio.size and abs(math.log(float(np.median(ratio)) / GRAVITY)) < 0.01:
            how = " by 9.81x (units converted twice?)"
        elif ratio.size and abs(math.log(float(np.median(ratio)) * GRAVITY)) < 0.01:
            how = " by 1/9.81 (converted back to g?)"
        out["causes"].append(
            f"the app changed the adapter's samples before the detector"
            f"{how}: {changed.size} pushed sample(s) differ from what the "
            f"adapter emitted, the first at push {int(before[i])}"
        )
    if dropped:
        out["causes"].append(
            f"the app dropped {dropped} adapter sample(s) (not pushed into the detector)"
        )
    if no_reset:
        out["causes"].append(
            f"the detector was not re-initialised at {len(no_reset)} of the "
            f"adapter's segment starts (the first at push "
            f"{int(before[no_reset[0]])}); docs/sensors.md: init before a "
            "segment_start sample"
        )
    return out


def _raw_units(spec, mod, ev: dict, platform: int) -> str | None:
    """The accelerometer's raw magnitude (as fed) against the unit the adapter's platform
    declares: the app initialised the adapter for another platform, or converted first."""
    for triple in _accelerometers(spec):
        cols = [spec.inputs.index(t) for t in triple]
        sensor = {mod.INPUT_SENSOR[c] for c in cols}
        if len(sensor) != 1:
            continue
        (sid,) = sensor
        rows = ev["values"][(ev["id"] == sid) & np.isfinite(ev["values"]).all(axis=1)]
        if rows.shape[0] < 10:
            continue
        factor = abs(mod.INPUT_FACTOR[platform][cols[0]])
        median = float(np.median(np.sqrt((rows**2).sum(axis=1)))) * factor
        if median > 0 and abs(math.log(median / GRAVITY)) > math.log(1.6):
            return (
                f"input units: the adapter was initialised for platform "
                f"{mod.PLATFORMS[platform]}, whose accelerometer unit makes the raw events' "
                f"median magnitude {median:.3g} m/s^2, not about {GRAVITY}: another "
                "platform's events, or values converted before the adapter"
            )
    return None


def compare(log: Log, ref: Reference, want_timeline: bool = False) -> dict:
    """The replay report (a JSON-able dict; see docs/replay.md); ``want_timeline`` adds every
    scored push's device and reference margin (for the HTML report)."""
    h = ref.manifest
    model = h["model"]
    hd = log.header
    identity = {
        "spec_sha256": [hd.spec_sha256, ref.spec.spec_hash],
        "model_sha256": [hd.model_sha256, model["model_sha256"]],
        "feature_order_sha256": [hd.feature_order_sha256, model["feature_order_sha256"]],
        "generator_version": [hd.generator_version, h.get("generator_version") or _version()],
    }
    causes: list[str] = []
    if hd.spec_sha256 != ref.spec.spec_hash:
        causes.append(
            f"stale generated code: spec hash differs (device {hd.spec_sha256[:12]}…, "
            f"this checkout {ref.spec.spec_hash[:12]}…)"
        )
    if hd.model_sha256 != model["model_sha256"]:
        causes.append(
            f"another model: model hash differs (device {hd.model_sha256[:12]}…, this "
            f"checkout {model['model_sha256'][:12]}…): another training run or a "
            "swapped model.json"
        )
    if hd.feature_order_sha256 != model["feature_order_sha256"]:
        causes.append("feature order differs: the device model reads another feature vector")
    fp = hd.fingerprint()
    if hd.flt_eval_method != 0:
        causes.append(
            f"x87 excess precision: FLT_EVAL_METHOD is {hd.flt_eval_method} (the "
            "numeric guards were bypassed; build with -msse2 -mfpmath=sse)"
        )
    if fp["__FAST_MATH__"] or fp["__FINITE_MATH_ONLY__"] or fp["unsafe_math"]:
        causes.append(
            "fast-math build: the fingerprint shows -ffast-math / -ffinite-math-only / unsafe math"
        )
    if fp["contraction_observed"] and hd.flt_eval_method == 0:
        causes.append(
            "fused multiply-add suspected: the build fingerprint shows contraction "
            "(the recorder's a*b+c probe was fused"
            f"{', __FP_FAST_FMA defined' if fp['__FP_FAST_FMA'] else ''}); build with "
            "-ffp-contract=off"
        )
    report: dict[str, Any] = {
        "format_version": hd.version,
        "complete": log.ended,
        "vector_mode": "digest" if hd.digest else "full",
        "pushes": int(log.status.size),
        "scored_on_device": int(log.scored.size),
        "identity": identity,
        "fingerprint": fp,
    }
    n_dev = len(ref.device_names)
    if (hd.n_inputs, hd.n_features, hd.n_outputs) != (
        len(ref.spec.inputs),
        n_dev,
        model["n_outputs"],
    ):
        causes.append(
            f"shape differs: the device logs {hd.n_inputs} inputs, {hd.n_features} "
            f"features, {hd.n_outputs} outputs; this checkout builds "
            f"{len(ref.spec.inputs)}, {n_dev}, {model['n_outputs']}"
        )
        report.update(identical=False, causes=causes, first_divergence=None)
        return report

    # The training side, on the samples the device was fed (misuse pushes did nothing),
    # restarted wherever the device re-initialised its detector (reset records).
    exp_full, ref_at, ref_feats, margins, positive = _reference_stream(log, ref)
    dev_at = {int(p): i for i, p in enumerate(log.scored.tolist())}
    fed = np.flatnonzero(log.status >= -1)
    samples = log.samples[fed]
    ends = np.array(sorted(ref_at), dtype=np.int64)
    first: dict[str, Any] | None = None
    feat_diff_vectors = margin_diff = decision_diff = 0
    worst: dict[str, int] = {}
    differ_count: dict[str, int] = {}
    timeline: dict[str, list] = {"push": [], "device": [], "reference": [], "differs": []}
    events_dev = [int(p) for p in np.flatnonzero(log.status == 2)]
    events_ref = [int(p) for p in np.flatnonzero(exp_full == 2)]
    for push in range(log.status.size):
        reasons = []
        if log.status[push] != exp_full[push]:
            reasons.append(
                f"status {int(log.status[push])} on device, {int(exp_full[push])} in the reference"
            )
        i, j = dev_at.get(push), ref_at.get(push)
        detail = None
        if i is not None and j is not None:
            if hd.digest:  # one digest: the push, not the feature (docs)
                same = int(log.features[i].view("<u8")[0]) == vector_digest(ref_feats[j])
                u = np.zeros(n_dev, dtype=object)
                differ = np.empty(0, dtype=np.int64)
                if not same:
                    feat_diff_vectors += 1
                    reasons.append(
                        "feature vector digest differs (digest mode: re-record with "
                        "full vectors to name the features)"
                    )
            else:
                u = ulp64(log.features[i], ref_feats[j])
                differ = np.flatnonzero(u != 0)
            mu = ulp32(log.margins[i], margins[j])
            if want_timeline:
                timeline["push"].append(push)
                timeline["device"].append(float(log.margins[i, 0]))
                timeline["reference"].append(float(margins[j, 0]))
            if differ.size:
                feat_diff_vectors += 1
                for k in differ.tolist():
                    worst[ref.device_names[k]] = max(worst.get(ref.device_names[k], 0), int(u[k]))
                    differ_count[ref.device_names[k]] = differ_count.get(ref.device_names[k], 0) + 1
                reasons.append(f"{differ.size} feature(s) differ")
            if mu.any():
                margin_diff += 1
                reasons.append(f"margin differs by {int(mu.max())} ULP")
            if log.positive[i] != positive[j]:
                decision_diff += 1
                reasons.append(
                    f"decision {'positive' if log.positive[i] else 'negative'} on "
                    f"device, {'positive' if positive[j] else 'negative'} in the "
                    "reference"
                )
            if first is None and reasons:
                detail = {
                    "features": [
                        {
                            "name": ref.device_names[k],
                            "device": float(log.features[i, k]),
                            "reference": float(ref_feats[j, k]),
                            "device_bits": _bits(float(log.features[i, k])),
                            "reference_bits": _bits(float(ref_feats[j, k])),
                            "ulp": int(u[k]),
                        }
                        for k in differ.tolist()
                    ],
                    "margins": {
                        "device": [float(m) for m in log.margins[i]],
                        "reference": [float(m) for m in margins[j]],
                        "ulp": [int(x) for x in mu],
                    },
                }
        if want_timeline and i is not None and j is not None:
            timeline["differs"].append(bool(reasons))
        if first is None and reasons:
            first = {"push": push, "reasons": reasons, **(detail or {})}

    units = units_check(ref.spec, samples)
    if units:
        causes.append(units)
    if first is not None and not causes:
        feats = first.get("features") or []
        if hd.digest and any(r.startswith("feature vector digest") for r in first["reasons"]):
            causes.append(
                f"generated code edited or miscompiled: the hashes and the build "
                f"fingerprint are clean, yet the feature vector diverges at push "
                f"{first['push']} (digest mode cannot name the features)"
            )
        elif feats:
            causes.append(
                f"generated code edited or miscompiled: the hashes and the build "
                f"fingerprint are clean, yet {len(feats)} feature(s) "
                f"({', '.join(f['name'] for f in feats[:4])}"
                f"{'…' if len(feats) > 4 else ''}) diverge from the first vector that "
                f"uses them (push {first['push']}); a hand-edited constant or "
                "unrecorded compiler flags"
            )
        elif first.get("margins") and any(first["margins"]["ulp"]):
            causes.append(
                "model code edited: the features are identical but the margins differ,"
                " with matching hashes and a clean fingerprint"
            )
        else:
            causes.append("decision or event logic differs with identical features and margins")
    adapter = _adapter_check(log, ref, ref.sensors, samples) if ref.sensors is not None else None
    if log.sensor["id"].size and ref.sensors is None:
        causes.append("the log holds sensor events but this checkout's spec has no sensors: block")
    if adapter is not None:
        causes.extend(adapter.pop("causes"))
        report["adapter"] = adapter
    if hd.version >= 2 and hd.sensors_sha256 != (
        ref.spec.sensors.sensors_hash if ref.spec.sensors is not None else ""
    ):
        causes.insert(
            0,
            f"sensor adapter configuration differs: sensors hash "
            f"{hd.sensors_sha256[:12] or '(none)'}… on device, "
            f"{(ref.spec.sensors.sensors_hash[:12] + '…') if ref.spec.sensors else '(none)'}"
            " in this checkout (units, axes, rate or gap rule of the sensors: block)",
        )
        identity["sensors_sha256"] = [
            hd.sensors_sha256,
            ref.spec.sensors.sensors_hash if ref.spec.sensors else "",
        ]
    elif hd.version >= 2:
        identity["sensors_sha256"] = [hd.sensors_sha256, hd.sensors_sha256]
    identical = first is None and not causes
    if want_timeline:
        report["timeline"] = timeline
        report["margin_threshold"] = (
            float(ref.decision.margin_threshold) if ref.decision.kind == "binary" else None
        )
    report.update(
        identical=identical,
        causes=causes,
        first_divergence=first,
        vectors={
            "device": int(log.scored.size),
            "reference": int(ends.size),
            "features_differ": feat_diff_vectors,
            "margins_differ": margin_diff,
            "decisions_differ": decision_diff,
        },
        worst_features=[
            {"name": k, "max_ulp": v} for k, v in sorted(worst.items(), key=lambda kv: -kv[1])[:10]
        ],
        feature_ulp=[
            {"name": k, "max_ulp": v, "vectors": differ_count[k]}
            for k, v in sorted(worst.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        events={
            "device": events_dev,
            "reference": events_ref,
            "only_on_device": sorted(set(events_dev) - set(events_ref)),
            "only_in_reference": sorted(set(events_ref) - set(events_dev)),
        },
    )
    return report


def _version() -> str:
    return __version__


def summary_lines(label: str, report: dict) -> list[str]:
    """The human report, in the order the issue asks for."""
    lines = [
        f"{label}: {report['pushes']} pushes, {report['scored_on_device']} scored "
        f"({report['fingerprint']['compiler']}, {report['fingerprint']['pointer_bytes'] * 8}"
        f"-bit, FLT_EVAL_METHOD {report['fingerprint']['FLT_EVAL_METHOD']})"
    ]
    ident = report["identity"]
    same = all(a == b for a, b in ident.values())
    if not report["complete"]:
        lines.append(
            "  note: no end record: the recorder was not stopped (app killed?) or the "
            "log was cut at a record boundary; every whole record was replayed"
        )
    lines.append(
        "  identity: "
        + (
            "spec, model and feature-order hashes match this checkout"
            if same
            else "; ".join(f"{k} differs" for k, (a, b) in ident.items() if a != b)
        )
    )
    first = report.get("first_divergence")
    if first is not None:
        lines.append(f"  first divergence: push {first['push']}: {'; '.join(first['reasons'])}")
        for f in (first.get("features") or [])[:6]:
            lines.append(
                f"    {f['name']}: device {f['device']!r} reference {f['reference']!r}"
                f" ({f['ulp']} ULP)"
            )
    for cause in report["causes"]:
        lines.append(f"  cause: {cause}")
    ad = report.get("adapter")
    if ad:
        lines.append(
            f"  sensor adapter: {ad['events']} events as fed ({', '.join(map(str, ad['platform']))}), "
            f"{ad['samples_on_device']} samples on the device"
            + (
                f", {ad['samples_in_reference']} in the reference"
                if "samples_in_reference" in ad
                else ""
            )
        )
    ev = report.get("events")
    if ev and (ev["only_on_device"] or ev["only_in_reference"]):
        lines.append(
            f"  events that would differ: on device only at pushes "
            f"{ev['only_on_device'][:10]}, in the reference only at "
            f"{ev['only_in_reference'][:10]}"
        )
    v = report.get("vectors")
    if v:
        lines.append(
            f"  summary: {'IDENTICAL' if report['identical'] else 'DIVERGED'}: "
            f"{v['device']} vectors on device, {v['reference']} in the reference; "
            f"features differ in {v['features_differ']}, margins in "
            f"{v['margins_differ']}, decisions in {v['decisions_differ']}"
        )
    else:
        lines.append("  summary: DIVERGED (not comparable)")
    return lines
