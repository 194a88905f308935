"""The ``sensors:`` block: what a valid one expands to (units, signs, factors) and the exact
located message of each bad declaration (``file:line:column: path: message``)."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from featurespec import SpecError, load_spec_text
from featurespec.json_schema import spec_schema

BASE = """\
spec: featgen/v1
name: twist_and_go
sample_rate_hz: 50
inputs: [acc_x, acc_y, acc_z, gyro_y]
windows:
  short: {length: 0.5s, hop: 1}
features:
  - {compute: mean, of: acc_x, over: short}
sensors:
  method: linear
  max_gap: 200ms
  sources:
    accelerometer:
      inputs: [acc_x, acc_y, acc_z]
      unit: m/s^2
      android: {unit: m/s^2}
      ios: {unit: g, axes: [-x, -y, -z]}
    gyroscope:
      inputs: [gyro_y]
      unit: rad/s
      android: {unit: rad/s, axes: [y]}
      ios: {unit: deg/s, axes: [y]}
"""


def defect(*edits: str) -> str:
    text = BASE
    for old, new in zip(edits[::2], edits[1::2]):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def test_valid_block_expands_to_factors():
    spec = load_spec_text(BASE)
    s = spec.sensors
    assert (s.method, s.max_gap_ns, s.gravity, s.buffer) == ("linear", 200_000_000, 9.80665, 256)
    assert s.platforms == ("android", "ios")
    acc, gyro = s.sources
    assert acc.variant("android").factors == (1.0, 1.0, 1.0)
    # g -> m/s^2 is the stated gravity; the sign flips every axis
    assert acc.variant("ios").factors == (-9.80665, -9.80665, -9.80665)
    assert gyro.variant("android").axes == (1,)
    # deg/s -> rad/s: the double nearest pi/180 (math.radians(1.0)), exactly
    assert gyro.variant("ios").factors == (0.017453292519943295,)


def test_conversions_round_the_exact_ratio_once():
    text = defect(
        "unit: m/s^2\n      android: {unit: m/s^2}",
        "unit: g\n      android: {unit: m/s^2}",
        "ios: {unit: g, axes: [-x, -y, -z]}",
        "ios: {unit: g, axes: [-x, -y, -z]}",
        "max_gap: 200ms",
        "max_gap: 200ms\n  gravity: 9.81",
    )
    acc = load_spec_text(text).sensors.sources[0]
    # m/s^2 -> g: 1 / 9.81 as one rounding of the exact rational (Fraction), not 1.0 / 9.81
    from fractions import Fraction

    assert acc.variant("android").factors[0] == float(1 / Fraction(9.81))
    assert acc.variant("ios").factors == (-1.0, -1.0, -1.0)


def test_sensors_do_not_change_the_feature_hashes():
    """The block changes no feature code: spec_hash and features_hash stay; sensors_hash moves."""
    without = load_spec_text(BASE[: BASE.index("sensors:")])
    with_ = load_spec_text(BASE)
    other = load_spec_text(defect("max_gap: 200ms", "max_gap: 100ms"))
    assert without.spec_hash == with_.spec_hash == other.spec_hash
    assert without.features_hash == with_.features_hash
    assert without.sensors is None and with_.sensors.sensors_hash != other.sensors.sensors_hash


CASES = [
    (
        "not_mapping",
        defect(BASE[BASE.index("  method") :], "  [a]\n"),
        "<spec>:10:3: sensors: expected a mapping with method, max_gap and sources, got a list",
    ),
    (
        "unknown_key",
        defect("  method: linear\n", "  methd: linear\n"),
        "<spec>:10:3: sensors.methd: unknown key 'methd' (did you mean 'method'?)",
    ),
    (
        "missing_sources",
        BASE[: BASE.index("  sources:")],
        "<spec>:10:3: sensors: missing required key 'sources'",
    ),
    (
        "bad_method",
        defect("method: linear", "method: lineer"),
        "<spec>:10:11: sensors.method: expected one of linear, hold, got the text 'lineer' "
        "(did you mean 'linear'?)",
    ),
    (
        "gap_not_duration",
        defect("max_gap: 200ms", "max_gap: 2h"),
        "<spec>:11:12: sensors.max_gap: expected a duration like '200ms' or '0.5s', "
        "got the text '2h'",
    ),
    (
        "gap_number",
        defect("max_gap: 200ms", "max_gap: 200"),
        "<spec>:11:12: sensors.max_gap: expected a duration like '200ms' or '0.5s', "
        "got the number 200",
    ),
    (
        "gap_subnanosecond",
        defect("max_gap: 200ms", "max_gap: 0.0000000001s"),
        "<spec>:11:12: sensors.max_gap: 0.0000000001s is 0.1 ns, not a whole number of nanoseconds",
    ),
    (
        "gap_zero",
        defect("max_gap: 200ms", "max_gap: 0ms"),
        "<spec>:11:12: sensors.max_gap: max_gap must be longer than 0, got 0ms",
    ),
    (
        "gap_too_long",
        defect("max_gap: 200ms", "max_gap: 3601s"),
        "<spec>:11:12: sensors.max_gap: max_gap must be at most 3600s (an hour), got 3601s",
    ),
    (
        "gravity_nan",
        defect("max_gap: 200ms", "max_gap: 200ms\n  gravity: .nan"),
        "<spec>:12:12: sensors.gravity: expected m/s^2 per g between 9 and 10.5 (standard gravity "
        "is 9.80665), got nan",
    ),
    (
        "gravity_text",
        defect("max_gap: 200ms", "max_gap: 200ms\n  gravity: earth"),
        "<spec>:12:12: sensors.gravity: expected m/s^2 per g (e.g. 9.80665), got the text 'earth'",
    ),
    (
        "buffer_small",
        defect("max_gap: 200ms", "max_gap: 200ms\n  buffer: 1"),
        "<spec>:12:11: sensors.buffer: buffer must be between 2 and 65536 events, got 1",
    ),
    (
        "sources_empty",
        defect(BASE[BASE.index("  sources:") :], "  sources: {}\n"),
        "<spec>:12:12: sensors.sources: needs at least one sensor",
    ),
    (
        "sensor_name",
        defect("    gyroscope:", "    Gyroscope:"),
        "<spec>:18:5: sensors.sources.Gyroscope: 'Gyroscope' is not a valid name: it contains the "
        "capital 'G'; names use only a-z, 0-9 and _, starting with a letter",
    ),
    (
        "unknown_input",
        defect("[gyro_y]\n      unit: rad/s", "[gyro_q]\n      unit: rad/s"),
        "<spec>:19:16: sensors.sources.gyroscope.inputs[0]: unknown input 'gyro_q' "
        "(did you mean 'gyro_y'?)",
    ),
    (
        "input_fed_twice",
        defect("[gyro_y]\n      unit: rad/s", "[acc_x]\n      unit: rad/s"),
        "<spec>:19:16: sensors.sources.gyroscope.inputs[0]: input 'acc_x' is already fed by "
        "'accelerometer' (line 14)",
    ),
    (
        "input_not_fed",
        defect("[acc_x, acc_y, acc_z]", "[acc_x, acc_y]", "[-x, -y, -z]", "[-x, -y]"),
        "<spec>:13:5: sensors.sources: no sensor feeds the input 'acc_z'; every input needs one",
    ),
    (
        "four_axes",
        defect("[acc_x, acc_y, acc_z]", "[acc_x, acc_y, acc_z, gyro_y]"),
        "<spec>:14:15: sensors.sources.accelerometer.inputs: a sensor event has 3 axes (x, y, z); "
        "got 4 inputs",
    ),
    (
        "unknown_unit_case",
        defect("ios: {unit: g,", "ios: {unit: G,"),
        "<spec>:17:19: sensors.sources.accelerometer.ios.unit: unknown unit 'G' (did you mean "
        "'g'?); known: m/s^2, g, rad/s, deg/s, uT, nT",
    ),
    (
        "unit_quantity",
        defect("unit: deg/s", "unit: uT"),
        "<spec>:22:19: sensors.sources.gyroscope.ios.unit: 'uT' measures magnetic field but the "
        "inputs are in 'rad/s', which measures angular rate",
    ),
    (
        "axis_twice",
        defect("[-x, -y, -z]", "[-x, -x, -z]"),
        "<spec>:17:33: sensors.sources.accelerometer.ios.axes[1]: axis x is used twice",
    ),
    (
        "axis_bad",
        defect("[-x, -y, -z]", "[-x, -y, w]"),
        "<spec>:17:37: sensors.sources.accelerometer.ios.axes[2]: expected an axis x, y or z with "
        "an optional sign (-z), got the text 'w'",
    ),
    (
        "axes_length",
        defect("[-x, -y, -z]", "[-x, -y]"),
        "<spec>:17:28: sensors.sources.accelerometer.ios.axes: expected one axis per input (3), "
        "like [x, y, -z], got a list of 2",
    ),
    (
        "no_platform",
        defect("      android: {unit: m/s^2}\n      ios: {unit: g, axes: [-x, -y, -z]}\n", ""),
        "<spec>:14:7: sensors.sources.accelerometer: sensor 'accelerometer' needs at least one "
        "platform: android or ios",
    ),
    (
        "platforms_differ",
        defect("      ios: {unit: deg/s, axes: [y]}\n", ""),
        "<spec>:18:5: sensors.sources.gyroscope: sensor 'gyroscope' is declared for android but "
        "'accelerometer' for android and ios; every sensor needs the same platforms",
    ),
    (
        "variant_unknown_key",
        defect("android: {unit: m/s^2}", "android: {unit: m/s^2, sign: -1}"),
        "<spec>:16:30: sensors.sources.accelerometer.android.sign: unknown key 'sign'",
    ),
    # the Swift adapter names each sensor in lowerCamelCase: a_b1 and a_b_1 would both be aB1
    (
        "camel_collision",
        defect("    accelerometer:\n", "    a_b1:\n", "    gyroscope:\n", "    a_b_1:\n"),
        "<spec>:18:5: sensors.sources.a_b_1: sensor 'a_b_1' and sensor 'a_b1' both become the "
        "Swift name 'aB1' (the generated adapter drops underscores); rename one",
    ),
]


@pytest.mark.parametrize("text, expected", [pytest.param(t, e, id=n) for n, t, e in CASES])
def test_located_error(text, expected):
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    assert str(info.value).splitlines()[0] == expected


# structural defects the JSON Schema states too; the others need the rest of the document
SEMANTIC = {
    "gap_subnanosecond",
    "gap_zero",
    "gap_too_long",
    "gravity_nan",
    "unknown_input",
    "input_fed_twice",
    "input_not_fed",
    "unit_quantity",
    "axes_length",
    "platforms_differ",
    "camel_collision",
}


@pytest.mark.parametrize("name, text", [(n, t) for n, t, _ in CASES])
def test_schema_agrees(name, text):
    validator = jsonschema.Draft202012Validator(spec_schema())
    assert not list(validator.iter_errors(yaml.safe_load(BASE)))
    errors = list(validator.iter_errors(yaml.safe_load(text)))
    assert bool(errors) == (name not in SEMANTIC), (name, errors[:1])
