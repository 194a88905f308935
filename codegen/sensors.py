"""The sensor adapters: timestamped platform events -> the spec's fixed-rate samples.

The rule (docs/sensors.md states it for users; the C and numpy adapters implement it):

* Time is int64 nanoseconds. Each event is (sensor, t, x, y, z) in arrival order.
* An event with a non-finite x, y or z is rejected (NONFINITE). An event older than the newest
  accepted event of its sensor is rejected (OUT_OF_ORDER); one with the same time is ignored,
  the first one wins (DUPLICATE). Rejected events change nothing but a counter.
* A gap longer than ``max_gap`` between two accepted events of one sensor, or an event that finds
  its sensor's pending queue full (``buffer`` events), starts a new segment at that event's time
  B, unless B is not after the current segment's start: every queued event older than B (of
  every sensor) is dropped, no sample is ever interpolated across the gap, and the next sample
  emitted is flagged ``segment_start`` (the featuriser is re-initialised, as after init). Later
  events older than B are accepted for ordering but not queued (STALE).
* A segment starts emitting once every sensor has a queued event: the first grid time is
  t0 = the latest of the sensors' first queued times (an exact integer, no rounding). Grid times
  are t_k = t0 + floor(k * 10^9 / rate), rate = sample_rate_hz as the exact rational of its
  decimal text, computed incrementally in integers (period P, remainder R, denominator D): no
  target rounds time differently. A grid time past INT64_MAX ends the segment's samples.
* The sample at grid time t is emitted once every sensor has an event at or after t. Each input
  is its sensor's raw axis at t, from that sensor's own events: the event at exactly t if there
  is one; otherwise (linear) va + w * (vb - va) with w = (double)(t - ta) / (double)(tb - ta)
  over the two events bracketing t, or (hold) va; then multiplied by the input's factor (unit
  scale times sign, one double). The IEEE operations and their order are written once, below
  (VALUE), and printed as C and as numpy from that one description.

Every time difference inside a segment is at most max_gap <= 3600 s < 2^53 ns, so each int64 ->
double conversion is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import jinja2

from featurespec.naming import lower_camel
from featurespec.schema import SensorsDef, Spec

NS = 10**9


# ---------------------------------------------------------------- the arithmetic, written once


@dataclass(frozen=True)
class Var:
    name: str


@dataclass(frozen=True)
class Op:
    op: str  # "+", "-", "*", "/"
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class ToDouble:
    """An exact int64 -> double conversion of an integer difference."""

    arg: "Expr"


Expr = Var | Op | ToDouble

T, TA, TB, VA, VB, F = (Var(n) for n in ("t", "ta", "tb", "va", "vb", "f"))
WEIGHT = Op("/", ToDouble(Op("-", T, TA)), ToDouble(Op("-", TB, TA)))
VALUE = {
    "exact": Op("*", VB, F),  # an event at exactly t
    "linear": Op("*", Op("+", VA, Op("*", WEIGHT, Op("-", VB, VA))), F),
    "hold": Op("*", VA, F),
}


def c_expr(e: Expr, names: dict[str, str]) -> str:
    """C text, every operation parenthesised (FP_CONTRACT is off in every generated file)."""
    if isinstance(e, Var):
        return names[e.name]
    if isinstance(e, ToDouble):
        inner = c_expr(e.arg, names)
        return f"(double){inner}" if isinstance(e.arg, Op) else f"(double)({inner})"
    return f"({c_expr(e.left, names)} {e.op} {c_expr(e.right, names)})"


def numpy_expr(e: Expr, names: dict[str, str]) -> str:
    """numpy text over arrays (int64 times, float64 values), the same operations in the same
    order: elementwise IEEE double, int64 -> float64 conversions exact."""
    if isinstance(e, Var):
        return names[e.name]
    if isinstance(e, ToDouble):
        inner = numpy_expr(e.arg, names)
        return (
            f"{inner}.astype(np.float64)"
            if isinstance(e.arg, Op)
            else f"({inner}).astype(np.float64)"
        )
    return f"({numpy_expr(e.left, names)} {e.op} {numpy_expr(e.right, names)})"


def swift_expr(e: Expr, names: dict[str, str]) -> str:
    """Swift text: the same parentheses (swiftc never contracts into a fused multiply-add)."""
    if isinstance(e, Var):
        return names[e.name]
    if isinstance(e, ToDouble):
        inner = swift_expr(e.arg, names)
        return f"Double{inner}" if isinstance(e.arg, Op) else f"Double({inner})"
    return f"({swift_expr(e.left, names)} {e.op} {swift_expr(e.right, names)})"


# ---------------------------------------------------------------- constants from the spec

STATUS = (
    ("OK", 0, "accepted"),
    ("RESET", 1, "accepted; started a new segment (a gap over max_gap, or a full queue)"),
    ("STALE", 2, "accepted, but older than the current segment's start: not used"),
    ("DUPLICATE", -1, "same time as the newest accepted event of its sensor: ignored"),
    ("OUT_OF_ORDER", -2, "older than the newest accepted event of its sensor: ignored"),
    ("NONFINITE", -3, "x, y or z is NaN or infinite: ignored"),
    ("BAD_ID", -4, "no such sensor id: ignored"),
)


def sensors_magic(spec: Spec) -> int:
    """32 bits of sha256 over what makes a C adapter state this adapter's: the sensors hash, the
    generator version, the prefix and the sizes (as the featuriser's STATE_MAGIC)."""
    import hashlib

    from . import __version__

    s: SensorsDef = spec.sensors  # type: ignore[assignment]  # only called for a spec with sensors:
    text = f"{s.sensors_hash}:{__version__}:{spec.name}:{s.buffer}:{len(s.sources)}"
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def grid_constants(rate_hz: float) -> tuple[int, int, int]:
    """(P, R, D): the sample period 10^9 / rate = P + R / D ns exactly, with the rate read as
    the exact rational of its shortest decimal text (50 -> (20000000, 0, 50))."""
    rate = Fraction(repr(float(rate_hz)))
    period = Fraction(NS) / rate
    return (
        period.numerator // period.denominator,
        period.numerator % period.denominator,
        period.denominator,
    )


def context(spec: Spec) -> dict[str, Any]:
    """Template values shared by the C and numpy adapters."""
    s = spec.sensors
    if s is None:
        raise ValueError(f"spec {spec.name} has no sensors: block (no adapter to generate)")
    feeds = []  # per input: (sensor index, {platform: (axis, factor)})
    by_input = {}
    for k, source in enumerate(s.sources):
        for j, name in enumerate(source.inputs):
            by_input[name] = (k, [(v.axes[j], v.factors[j]) for v in source.variants])
    for name in spec.inputs:
        feeds.append(by_input[name])
    period, rem, den = grid_constants(spec.sample_rate_hz)
    return {
        "sensors": [src.name for src in s.sources],
        "platforms": list(s.platforms),
        "inputs": list(spec.inputs),
        "input_sensor": [k for k, _ in feeds],
        "input_axis": [[per[p][0] for _, per in feeds] for p in range(len(s.platforms))],
        "input_factor": [[repr(per[p][1]) for _, per in feeds] for p in range(len(s.platforms))],
        "method": s.method,
        "max_gap_ns": s.max_gap_ns,
        "buffer": s.buffer,
        "gravity": repr(s.gravity),
        "period_ns": period,
        "period_rem": rem,
        "period_den": den,
        "sensors_hash": s.sensors_hash,
        "sensors_magic": sensors_magic(spec),
        "status": STATUS,
        "c_linear": c_expr(VALUE[s.method], C_NAMES),
        "c_exact": c_expr(VALUE["exact"], C_NAMES),
        "np_linear": numpy_expr(VALUE[s.method], NP_NAMES),
        "np_exact": numpy_expr(VALUE["exact"], NP_NAMES),
        "swift_linear": swift_expr(VALUE[s.method], SWIFT_NAMES),
        "swift_exact": swift_expr(VALUE["exact"], SWIFT_NAMES),
        "units": [
            (src.name, src.unit, [(v.platform, v.unit, v.axes, v.signs) for v in src.variants])
            for src in s.sources
        ],
    }


def manifest_entry(spec: Spec) -> dict[str, Any]:
    """The sensors: block as the manifest states it (the rule's constants, per platform)."""
    s: SensorsDef = spec.sensors  # type: ignore[assignment]  # only called for a spec with sensors:
    period, rem, den = grid_constants(spec.sample_rate_hz)
    return {
        "sensors_hash": s.sensors_hash,
        "rule": "docs/sensors.md",
        "method": s.method,
        "max_gap_ns": s.max_gap_ns,
        "gravity_m_s2_per_g": s.gravity,
        "buffer_events": s.buffer,
        "period_ns": {"whole": period, "remainder": rem, "denominator": den},
        "sources": [
            {
                "sensor": src.name,
                "id": k,
                "inputs": list(src.inputs),
                "unit": src.unit,
                "platforms": {
                    v.platform: {
                        "unit": v.unit,
                        "axes": [
                            ("-" if sign < 0 else "") + "xyz"[a] for a, sign in zip(v.axes, v.signs)
                        ],
                        "factors": list(v.factors),
                    }
                    for v in src.variants
                },
            }
            for k, src in enumerate(s.sources)
        ],
    }


C_NAMES = {
    "t": "t",
    "ta": "q->t[ia]",
    "tb": "q->t[ib]",
    "va": "q->v[ia][axis]",
    "vb": "q->v[ib][axis]",
    "f": "factor",
}
NP_NAMES = {"t": "t", "ta": "ta", "tb": "tb", "va": "va", "vb": "vb", "f": "f"}
SWIFT_NAMES = {"t": "t", "ta": "ta", "tb": "tb", "va": "va", "vb": "vb", "f": "factor"}

# Core Motion's class and field for the sensors it delivers (the Swift conveniences).
CORE_MOTION = {
    "accelerometer": ("CMAccelerometerData", "acceleration"),
    "gyroscope": ("CMGyroData", "rotationRate"),
    "magnetometer": ("CMMagnetometerData", "magneticField"),
}

# What one CMDeviceMotion (Core Motion's fused sample) carries for each sensor it can feed: the
# Swift expression per axis ({a} = x, y, z) and what it is. The accelerometer's is the one
# arithmetic step: gravity + userAcceleration, one correctly rounded double addition, so a
# training log of device motion must hold that same sum (docs/sensors.md, "CMDeviceMotion").
DEVICE_MOTION = {
    "accelerometer": (
        "motion.gravity.{a} + motion.userAcceleration.{a}",
        "gravity + userAcceleration, g: the total acceleration, fused",
    ),
    "gyroscope": ("motion.rotationRate.{a}", "rotationRate, rad/s, bias-corrected"),
    "magnetometer": ("motion.magneticField.field.{a}", "magneticField.field, µT, calibrated"),
    "user_acceleration": ("motion.userAcceleration.{a}", "userAcceleration, g, gravity removed"),
    "gravity": ("motion.gravity.{a}", "gravity, g"),
}


def device_motion(spec: Spec) -> list[tuple[str, tuple[str, ...], str]]:
    """(sensor, Swift x/y/z expressions, doc) for each source a CMDeviceMotion feeds."""
    if spec.sensors is None or "ios" not in spec.sensors.platforms:
        return []
    return [
        (
            src.name,
            tuple(DEVICE_MOTION[src.name][0].format(a=a) for a in "xyz"),
            DEVICE_MOTION[src.name][1],
        )
        for src in spec.sensors.sources
        if src.name in DEVICE_MOTION
    ]


camel = lower_camel  # user_acceleration -> userAcceleration (featurespec/naming.py)


def status_case(key: str) -> str:
    """``OUT_OF_ORDER`` -> ``outOfOrder``; ``BAD_ID`` -> ``badID``."""
    return "badID" if key == "BAD_ID" else camel(key.lower())


def sensor_files(
    spec: Spec,
    env: jinja2.Environment,
    c_header: str,
    py_header: str,
    swift_header: str,
    normalise: Callable[[str], str],
) -> dict[str, str]:
    """c/<name>_sensors.{h,c}, python/<name>_sensors.py, the Swift adapter in the iOS package
    and its harness shim; {} without a sensors: block."""
    if spec.sensors is None:
        return {}
    from .backends.swift import upper_camel

    env = env.overlay()
    env.filters.update(camel=camel, status_case=status_case)
    ctx = dict(context(spec), name=spec.name, P=spec.name.upper())
    name = spec.name
    package = upper_camel(name) + "Features"
    type_name = upper_camel(name) + "Sensors"
    core_motion = (
        [
            (src.name, *CORE_MOTION[src.name])
            for src in spec.sensors.sources
            if src.name in CORE_MOTION
        ]
        if "ios" in spec.sensors.platforms
        else []
    )
    sw = dict(
        ctx,
        header=swift_header,
        type_name=type_name,
        features_type=package,
        core_motion=core_motion,
        device_motion=device_motion(spec),
    )
    return {
        f"ios/Sources/{package}/{type_name}.swift": normalise(
            env.get_template("swift/Sensors.swift.j2").render(**sw)
        ),
        f"swift_shim/{type_name}Shim.swift": normalise(
            env.get_template("swift/SensorsShim.swift.j2").render(**sw)
        ),
        f"c/{name}_sensors.h": normalise(
            env.get_template("c/sensors.h.j2").render(header=c_header, **ctx)
        ),
        f"c/{name}_sensors.c": normalise(
            env.get_template("c/sensors.c.j2").render(header=c_header, **ctx)
        ),
        f"python/{name}_sensors.py": normalise(
            env.get_template("numpy/sensors.py.j2").render(header=py_header, **ctx)
        ),
    }


# Android's sensor type for the sensors a SensorEventListener can register by name.
ANDROID_TYPES = {
    "accelerometer": "TYPE_ACCELEROMETER",
    "gyroscope": "TYPE_GYROSCOPE",
    "magnetometer": "TYPE_MAGNETIC_FIELD",
    "user_acceleration": "TYPE_LINEAR_ACCELERATION",
    "gravity": "TYPE_GRAVITY",
}


def android_sensor_files(
    spec: Spec, env: jinja2.Environment, lines: list[str], normalise: Callable[[str], str]
) -> dict[str, str]:
    """android/: the JNI bridge (<name>_sensors_jni.c, built into lib<name>_jni.so next to the
    adapter's C, see codegen/android.py) and the Kotlin class <Name>Sensors."""
    from .android import KOTLIN_PACKAGE, ROOT, jni_prefix, type_name

    name = spec.name
    cls = type_name(name) + "Sensors"
    ctx = dict(
        context(spec),
        name=name,
        P=name.upper(),
        cls=cls,
        kotlin_package=KOTLIN_PACKAGE,
        jni_library=f"{name}_jni",
        prefix=jni_prefix(KOTLIN_PACKAGE, cls),
        has_model=spec.model is not None,
        detector_cls=type_name(name),
    )
    from . import escape

    c_header = escape.c_block_comment(lines)
    kt_header = escape.line_comments(lines)
    kotlin_dir = "/".join((ROOT, "kotlin", *KOTLIN_PACKAGE.split(".")))
    kotlin = f"{kotlin_dir}/{cls}.kt"
    out = {}
    names = [src.name for src in spec.sensors.sources]  # type: ignore[union-attr]  # only called for a spec with sensors:
    if "android" in spec.sensors.platforms and all(n in ANDROID_TYPES for n in names):  # type: ignore[union-attr]  # only called for a spec with sensors:
        listener = type_name(name) + "SensorListener"
        period, _, _ = grid_constants(spec.sample_rate_hz)
        out[f"{kotlin_dir}/{listener}.kt"] = normalise(
            env.get_template("android/SensorListener.kt.j2").render(
                header=kt_header,
                listener=listener,
                sampling_period_us=period // 1000,
                android_types=[f"Sensor.{ANDROID_TYPES[n]}" for n in names],
                **ctx,
            )
        )
    return out | {
        f"{ROOT}/cpp/{name}_sensors_jni.c": normalise(
            env.get_template("android/sensors_jni.c.j2").render(header=c_header, **ctx)
        ),
        kotlin: normalise(
            env.get_template("android/Sensors.kt.j2").render(header=kt_header, **ctx)
        ),
    }
