"""The optional ``sensors:`` block: which platform sensor feeds which inputs, in which unit and
axis convention, and the resampling rule (docs/sensors.md). Checked with located errors like the
rest of the spec; kept apart from validate.py so the two evolve independently.

    sensors:
      method: linear            # linear | hold
      max_gap: 200ms            # a longer gap between two events of one sensor resets the stream
      gravity: 9.80665          # m/s^2 per g (optional; Apple documents 9.81)
      buffer: 256               # pending events held per sensor (optional)
      sources:
        accelerometer:
          inputs: [acc_x, acc_y, acc_z]
          unit: m/s^2           # the inputs' unit
          android: {unit: m/s^2}
          ios: {unit: g, axes: [-x, -y, -z]}
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import closest, describe, did_you_mean, number_text, show, spec_hash
from .loader import DocPath
from .naming import collisions, lower_camel
from .schema import SensorsDef, SensorSource, SensorVariant

if TYPE_CHECKING:  # pragma: no cover
    from .validate import _Validator

SENSORS_KEYS = ("method", "max_gap", "gravity", "buffer", "sources")
SENSORS_REQUIRED = ("max_gap", "sources")
SOURCE_KEYS = ("inputs", "unit", "android", "ios")
SOURCE_REQUIRED = ("inputs", "unit")
PLATFORMS = ("android", "ios")
VARIANT_KEYS = ("unit", "axes")
METHODS = ("linear", "hold")
DEFAULT_METHOD = "linear"
STANDARD_GRAVITY = 9.80665  # m/s^2 per g (CGPM 1901); Apple's docs say 9.81
DEFAULT_BUFFER = 256
MIN_BUFFER, MAX_BUFFER = 2, 65536
MAX_GAP_NS = 3600 * 10**9  # 1 hour: every time difference converts to double exactly
MAX_AXES = 3  # events carry x, y, z
AXIS = re.compile(r"([+-]?)([xyz])")
AXIS_NAMES = "xyz"
MAX_RATE_NUMERATOR = 1 << 62  # the grid's remainder arithmetic stays inside int64
DURATION_NS = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|s)")

# unit -> (quantity, size in the quantity's base unit as an exact rational). The size of g is
# the spec's gravity; deg/s is the double nearest pi/180 (math.radians(1.0)), stated as such.
DEG = Fraction(math.radians(1.0))
BASE_UNITS = {
    "m/s^2": ("acceleration", Fraction(1)),
    "g": ("acceleration", None),  # the spec's gravity
    "rad/s": ("angular rate", Fraction(1)),
    "deg/s": ("angular rate", DEG),
    "uT": ("magnetic field", Fraction(1)),
    "nT": ("magnetic field", Fraction(1, 1000)),
}
UNITS = tuple(BASE_UNITS)


def unit_size(unit: str, gravity: float) -> Fraction:
    quantity, size = BASE_UNITS[unit]
    return Fraction(gravity) if size is None else size


def scale(unit: str, canonical: str, gravity: float) -> float:
    """The double a value in ``unit`` is multiplied by to be in ``canonical``: the exact ratio
    of the stated sizes, rounded once to the nearest double (1.0 when the units agree)."""
    return float(unit_size(unit, gravity) / unit_size(canonical, gravity))


def json_schema() -> dict[str, Any]:
    """The block's structural rules for featurespec/json_schema.py (the validator also checks
    that inputs exist and are fed once, units agree in quantity and platforms match)."""
    unit = {"enum": list(UNITS)}
    variant = {
        "type": "object",
        "required": ["unit"],
        "additionalProperties": False,
        "properties": {
            "unit": {"description": "the unit the platform reports", **unit},
            "axes": {
                "description": "per input: the raw axis and sign feeding it, e.g. "
                "[-x, -y, -z] (default [x, y, z])",
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_AXES,
                "uniqueItems": True,
                "items": {"type": "string", "pattern": "^[+-]?[xyz](?!\\n)$"},
            },
        },
    }
    source = {
        "type": "object",
        "required": list(SOURCE_REQUIRED),
        "additionalProperties": False,
        "anyOf": [{"required": [p]} for p in PLATFORMS],
        "properties": {
            "inputs": {
                "description": "the spec inputs this sensor feeds, in axis order",
                "type": "array",
                "items": {"$ref": "#/$defs/name"},
                "minItems": 1,
                "maxItems": MAX_AXES,
                "uniqueItems": True,
            },
            "unit": {"description": "the inputs' (canonical) unit", **unit},
            **{p: {"description": f"how {p} delivers this sensor", **variant} for p in PLATFORMS},
        },
    }
    return {
        "description": "platform sensor events -> fixed-rate samples (docs/sensors.md)",
        "type": "object",
        "required": list(SENSORS_REQUIRED),
        "additionalProperties": False,
        "properties": {
            "method": {
                "description": "linear interpolation or sample-and-hold",
                "enum": list(METHODS),
                "default": DEFAULT_METHOD,
            },
            "max_gap": {
                "description": "largest gap between two events of one sensor that is "
                "bridged; a longer one resets the stream",
                "type": "string",
                "pattern": f"^(?:{DURATION_NS.pattern})(?!\\n)$",
            },
            "gravity": {
                "description": "m/s^2 per g",
                "type": "number",
                "minimum": 9,
                "maximum": 10.5,
                "default": STANDARD_GRAVITY,
            },
            "buffer": {
                "description": "pending events held per sensor",
                "type": "integer",
                "minimum": MIN_BUFFER,
                "maximum": MAX_BUFFER,
                "default": DEFAULT_BUFFER,
            },
            "sources": {
                "description": "sensor name -> the inputs it feeds and its units",
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"$ref": "#/$defs/name"},
                "additionalProperties": source,
            },
        },
    }


def check_sensors(v: "_Validator", value: Any) -> SensorsDef | None:
    """The ``sensors:`` block, or None after reporting every problem found."""
    path = ("sensors",)
    if not isinstance(value, dict):
        v.error(path, f"expected a mapping with method, max_gap and sources, got {describe(value)}")
        return None
    before = len(v.problems)
    v.check_keys(value, path, SENSORS_KEYS, SENSORS_REQUIRED)
    method = value.get("method", DEFAULT_METHOD)
    if method not in METHODS:
        v.error(
            path + ("method",),
            f"expected one of linear, hold, got {describe(method)}"
            + (did_you_mean(closest(method, METHODS)) if isinstance(method, str) else ""),
        )
    max_gap = _max_gap(v, value, path + ("max_gap",), number_text) if "max_gap" in value else None
    gravity = value.get("gravity", STANDARD_GRAVITY)
    if "gravity" in value:
        where = path + ("gravity",)
        if isinstance(gravity, bool) or not isinstance(gravity, (int, float)):
            v.error(where, f"expected m/s^2 per g (e.g. 9.80665), got {describe(gravity)}")
            gravity = None
        elif not math.isfinite(gravity) or not 9 <= gravity <= 10.5:
            got = gravity if not math.isfinite(gravity) else number_text(gravity)
            v.error(
                where,
                f"expected m/s^2 per g between 9 and 10.5 (standard gravity is 9.80665), got {got}",
            )
            gravity = None
        else:
            gravity = float(gravity)
    buffer = value.get("buffer", DEFAULT_BUFFER)
    if "buffer" in value:
        if isinstance(buffer, bool) or not isinstance(buffer, int):
            v.error(
                path + ("buffer",), f"expected a whole number of events, got {describe(buffer)}"
            )
        elif not MIN_BUFFER <= buffer <= MAX_BUFFER:
            v.error(
                path + ("buffer",),
                f"buffer must be between {MIN_BUFFER} and {MAX_BUFFER} "
                f"events, got {number_text(buffer)}",
            )
    if v.rate is not None and v.rate.numerator >= MAX_RATE_NUMERATOR:
        v.error(
            ("sample_rate_hz",),
            f"sample_rate_hz {number_text(v.rate)} has too many "
            "digits for the sensors' exact integer grid; round it",
        )
    sources = (
        _sources(v, value["sources"], path + ("sources",), gravity, closest, did_you_mean)
        if "sources" in value
        else None
    )
    if len(v.problems) != before or sources is None or max_gap is None or gravity is None:
        return None
    platforms = tuple(p for p in PLATFORMS if any(p == var.platform for var in sources[0].variants))
    digest = spec_hash(
        {
            "sensors": value,
            "sample_rate_hz": v.doc.data.get("sample_rate_hz"),
            "inputs": v.doc.data.get("inputs"),
        }
    )
    return SensorsDef(
        method, max_gap, gravity, buffer, sources, platforms, digest, v.doc.key_loc(path)
    )


def _max_gap(
    v: _Validator, value: dict[str, Any], where: DocPath, number_text: Callable[[Any], str]
) -> int | None:
    text = value["max_gap"]
    match = DURATION_NS.fullmatch(text) if isinstance(text, str) else None
    if not match:
        v.error(where, f"expected a duration like '200ms' or '0.5s', got {describe(text)}")
        return None
    number, unit = match.groups()
    exact = Fraction(number) * (10**6 if unit == "ms" else 10**9)
    if exact.denominator != 1:
        v.error(where, f"{text} is {number_text(exact)} ns, not a whole number of nanoseconds")
        return None
    if exact <= 0:
        v.error(where, f"max_gap must be longer than 0, got {text}")
        return None
    if exact > MAX_GAP_NS:
        v.error(where, f"max_gap must be at most 3600s (an hour), got {text}")
        return None
    return exact.numerator


def _sources(
    v: _Validator, value: Any, path: DocPath, gravity: float | None, closest: Any, did_you_mean: Any
) -> tuple[SensorSource, ...] | None:
    if not isinstance(value, dict):
        v.error(
            path,
            f"expected a mapping of sensor name to {{inputs, unit, android, ios}}, "
            f"got {describe(value)}",
        )
        return None
    if not value:
        v.error(path, "needs at least one sensor")
        return None
    fed: dict[str, tuple[str, Any]] = {}  # input -> (sensor, path)
    out: list[SensorSource] = []
    platform_sets: list[tuple[str, tuple[str, ...], Any]] = []
    ok = inputs_ok = True
    for name, entry in value.items():
        item = path + (name,)
        valid = v.check_name(name, item, "a sensor name", at_key=True)
        if not isinstance(entry, dict):
            v.error(
                item,
                f"expected {{inputs: [...], unit: ..., android: {{unit: ...}}}}, "
                f"got {describe(entry)}",
            )
            ok = inputs_ok = False
            continue
        v.check_keys(entry, item, SOURCE_KEYS, SOURCE_REQUIRED)
        inputs = _inputs(v, entry, item, name, fed, closest, did_you_mean)
        inputs_ok = inputs_ok and inputs is not None
        canonical = (
            _unit(v, entry, item + ("unit",), closest, did_you_mean) if "unit" in entry else None
        )
        platforms = tuple(p for p in PLATFORMS if p in entry)
        if not platforms:
            v.error(item, f"sensor {show(name)} needs at least one platform: android or ios")
            ok = False
            continue
        platform_sets.append((name, platforms, item))
        variants = []
        for platform in platforms:
            variant = _variant(
                v,
                entry[platform],
                item + (platform,),
                platform,
                inputs,
                canonical,
                gravity,
                closest,
                did_you_mean,
            )
            variants.append(variant)
        if not valid or inputs is None or canonical is None or None in variants:
            ok = False
            continue
        checked = tuple(x for x in variants if x is not None)  # all of them (tested above)
        out.append(SensorSource(name, inputs, canonical, checked, v.doc.key_loc(item)))
    for earlier, later, member in collisions(value, lower_camel):
        if isinstance(later, str) and isinstance(earlier, str):
            v.key_error(
                path + (later,),
                f"sensor {show(later)} and sensor {show(earlier)} both "
                f"become the Swift name {show(member)} (the generated "
                "adapter drops underscores); rename one",
            )
            ok = False
    first_name, first_set, _ = platform_sets[0] if platform_sets else (None, None, None)
    for name, platforms, item in platform_sets[1:]:
        if platforms != first_set:
            v.key_error(
                item,
                f"sensor {show(name)} is declared for {' and '.join(platforms)} "
                f"but {show(str(first_name))} for {' and '.join(first_set or ())}; every "
                "sensor needs the same platforms",
            )
            ok = False
    if v.signals_complete and v.inputs and inputs_ok:  # else: already reported
        missing = [s.name for s in v.inputs if s.name not in fed]
        if missing:
            v.error(
                path,
                f"no sensor feeds the input{'s' * (len(missing) > 1)} "
                f"{', '.join(map(show, missing))}; every input needs one",
            )
            ok = False
    return tuple(out) if ok else None


def _inputs(
    v: _Validator,
    entry: dict[str, Any],
    item: DocPath,
    sensor: str,
    fed: dict[str, tuple[str, Any]],
    closest: Any,
    did_you_mean: Any,
) -> tuple[str, ...] | None:
    if "inputs" not in entry:
        return None
    value, where = entry["inputs"], item + ("inputs",)
    if not isinstance(value, list) or not value:
        got = "an empty list" if value == [] else describe(value)
        v.error(where, f"expected a list of 1 to {MAX_AXES} input names, got {got}")
        return None
    if len(value) > MAX_AXES:
        v.error(where, f"a sensor event has {MAX_AXES} axes (x, y, z); got {len(value)} inputs")
        return None
    known = [s.name for s in v.inputs]
    ok = True
    for i, name in enumerate(value):
        at = where + (i,)
        if not isinstance(name, str):
            v.error(at, f"expected an input name, got {describe(name)}")
            ok = False
        elif name not in known:
            if v.signals_complete:
                v.error(
                    at,
                    f"unknown input {show(name)}{did_you_mean(closest(name, known))}"
                    + (
                        "; a sensor feeds inputs, not derived signals"
                        if name in v.known_signals
                        else ""
                    ),
                )
            ok = False
        elif name in fed:
            other, other_at = fed[name]
            v.error(
                at, f"input {show(name)} is already fed by {show(other)} (line {v.line(other_at)})"
            )
            ok = False
        else:
            fed[name] = (sensor, at)
    return tuple(value) if ok else None


def _unit(
    v: _Validator, entry: dict[str, Any], where: DocPath, closest: Any, did_you_mean: Any
) -> str | None:
    unit = entry["unit"]
    if not isinstance(unit, str):
        v.error(where, f"expected a unit ({', '.join(UNITS)}), got {describe(unit)}")
        return None
    if unit not in BASE_UNITS:
        guess = next((u for u in UNITS if u.lower() == unit.lower()), None) or closest(unit, UNITS)
        v.error(where, f"unknown unit {show(unit)}{did_you_mean(guess)}; known: {', '.join(UNITS)}")
        return None
    return unit


def _variant(
    v: _Validator,
    value: Any,
    where: DocPath,
    platform: str,
    inputs: tuple[str, ...] | None,
    canonical: str | None,
    gravity: float | None,
    closest: Any,
    did_you_mean: Any,
) -> SensorVariant | None:
    if not isinstance(value, dict):
        v.error(where, f"expected {{unit: ..., axes: [...]}}, got {describe(value)}")
        return None
    before = len(v.problems)
    v.check_keys(value, where, VARIANT_KEYS, ("unit",))
    unit = _unit(v, value, where + ("unit",), closest, did_you_mean) if "unit" in value else None
    if (
        unit is not None
        and canonical is not None
        and BASE_UNITS[unit][0] != BASE_UNITS[canonical][0]
    ):
        v.error(
            where + ("unit",),
            f"{show(unit)} measures {BASE_UNITS[unit][0]} but the inputs "
            f"are in {show(canonical)}, which measures "
            f"{BASE_UNITS[canonical][0]}",
        )
        unit = None
    n = len(inputs) if inputs is not None else None
    axes: list[int] = []
    signs: list[int] = []
    if "axes" in value:
        given, at = value["axes"], where + ("axes",)
        if not isinstance(given, list) or (n is not None and len(given) != n):
            got = f"a list of {len(given)}" if isinstance(given, list) else describe(given)
            v.error(
                at,
                f"expected one axis per input ({n if n is not None else '1 to 3'}), "
                f"like [x, y, -z], got {got}",
            )
        else:
            for i, text in enumerate(given):
                match = AXIS.fullmatch(text) if isinstance(text, str) else None
                if not match:
                    v.error(
                        at + (i,),
                        f"expected an axis x, y or z with an optional sign "
                        f"(-z), got {describe(text)}",
                    )
                    continue
                axis = AXIS_NAMES.index(match.group(2))
                if axis in axes:
                    v.error(at + (i,), f"axis {match.group(2)} is used twice")
                    continue
                axes.append(axis)
                signs.append(-1 if match.group(1) == "-" else 1)
    elif n is not None:
        axes, signs = list(range(n)), [1] * n
    if (
        len(v.problems) != before
        or unit is None
        or n is None
        or gravity is None
        or canonical is None
    ):
        return None
    factor = scale(unit, canonical, gravity)
    return SensorVariant(
        platform,
        unit,
        tuple(axes),
        tuple(signs),
        tuple(s * factor for s in signs),
        v.doc.key_loc(where),
    )
