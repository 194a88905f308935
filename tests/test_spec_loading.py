"""Valid specs: what load_spec produces (order, names, units, defaults, hash)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from featurespec import (
    FeatureDef,
    Location,
    SignalDef,
    Spec,
    SpecError,
    WindowDef,
    load_spec,
    load_spec_text,
)
from featurespec.loader import parse_document

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
spec: featgen/v1            # required, exactly this string
name: twist_and_go
sample_rate_hz: 50
inputs: [acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z]
signals:
  acc_mag:  {magnitude: [acc_x, acc_y, acc_z]}
  gyro_y_d: {diff: gyro_y}
  acc_x_lp: {ema: acc_x, alpha: 0.2}
windows:
  short: {length: 0.5s, hop: 1}
  long:  {length: 100, hop: 5}
features:
  - compute: [mean, std, min]
    of: [acc_x, acc_mag]
    over: [short, long]
  - {compute: histogram, of: gyro_y, over: long, bins: 20, range: [-8, 8]}
  - {compute: count_above, of: gyro_y, over: long, threshold: 2.5, label: big_spin}
"""


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec_text(SPEC)


def minimal(**overrides: str) -> str:
    """A small valid spec; keyword arguments replace whole top-level sections."""
    sections = {
        "spec": "featgen/v1",
        "name": "mini",
        "sample_rate_hz": "50",
        "inputs": "[x, y]",
        "signals": "{}",
        "windows": "{w: {length: 4, hop: 2}}",
        "features": "[{compute: mean, of: x, over: w}]",
    }
    sections.update(overrides)
    return "".join(f"{key}: {value}\n" for key, value in sections.items())


def test_header(spec: Spec):
    assert spec.name == "twist_and_go"
    assert spec.sample_rate_hz == 50.0 and isinstance(spec.sample_rate_hz, float)
    assert spec.inputs == ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
    assert spec.source == "<spec>"
    assert spec.max_length == 100


def test_feature_order_is_entry_signal_window_kind(spec: Spec):
    assert spec.feature_names[:12] == (
        "mean__acc_x__short",
        "std__acc_x__short",
        "min__acc_x__short",
        "mean__acc_x__long",
        "std__acc_x__long",
        "min__acc_x__long",
        "mean__acc_mag__short",
        "std__acc_mag__short",
        "min__acc_mag__short",
        "mean__acc_mag__long",
        "std__acc_mag__long",
        "min__acc_mag__long",
    )
    assert len(spec.feature_names) == 12 + 20 + 1
    assert len(set(spec.feature_names)) == len(spec.feature_names)


def test_feature_defs(spec: Spec):
    std = spec.features[1]
    assert std == FeatureDef("std", ("acc_x",), "short", (("ddof", 0),), ("std__acc_x__short",))
    assert std.param("ddof") == 0  # default filled in
    assert std.loc == Location("<spec>", 13, 21, "features[0].compute[1]")
    assert [f.kind for f in spec.features[:3]] == ["mean", "std", "min"]
    assert spec.features[0].params == ()


def test_histogram_outputs_and_params(spec: Spec):
    histogram = spec.features[12]
    assert histogram.kind == "histogram"
    assert histogram.outputs == tuple(f"histogram_b{i:02d}__gyro_y__long" for i in range(20))
    assert histogram.outputs[0] == "histogram_b00__gyro_y__long"
    assert histogram.outputs[-1] == "histogram_b19__gyro_y__long"
    assert histogram.params == (
        ("bins", 20),
        ("normalize", False),
        ("outside", "drop"),
        ("range", (-8.0, 8.0)),
    )
    assert histogram.loc.path == "features[1].compute"


def test_label_replaces_the_stem_and_is_not_a_param(spec: Spec):
    counted = spec.features[-1]
    assert counted.outputs == ("big_spin__gyro_y__long",)
    assert counted.params == (("threshold", 2.5),)


def test_default_stem_carries_the_param_tag():
    spec = load_spec_text(
        minimal(
            features="""
  - {compute: [count_above, longest_run_below], of: x, over: w, threshold: -2.5}
  - {compute: [std, var], of: x, over: w, ddof: 1}
  - {compute: histogram, of: y, over: w, bins: 3, range: [0, 1], label: spread}"""
        )
    )
    assert spec.feature_names == (
        "count_above_m2p5__x__w",
        "longest_run_below_m2p5__x__w",
        "std_ddof1__x__w",
        "var_ddof1__x__w",
        "spread_b0__y__w",
        "spread_b1__y__w",
        "spread_b2__y__w",
    )


def test_signals_inputs_first_then_dependency_order(spec: Spec):
    assert spec.signals[:6] == tuple(SignalDef(n, "input", ()) for n in spec.inputs)
    assert spec.signals[6:] == (
        SignalDef("acc_mag", "magnitude", ("acc_x", "acc_y", "acc_z")),
        SignalDef("gyro_y_d", "diff", ("gyro_y",)),
        SignalDef("acc_x_lp", "ema", ("acc_x",), (("alpha", 0.2),)),
    )
    assert spec.signal("acc_x_lp").param("alpha") == 0.2
    assert spec.signal("acc_mag").loc == Location("<spec>", 6, 3, "signals.acc_mag")
    assert spec.signal("acc_x").loc == Location("<spec>", 4, 10, "inputs[0]")


def test_topological_order_ties_in_document_order():
    spec = load_spec_text(
        minimal(
            signals="""
  late: {diff: mid}
  mid: {sum: [early, y]}
  other: {diff: y}
  early: {scale: x}
  last: {difference: [late, other]}"""
        )
    )
    assert [s.name for s in spec.signals] == ["x", "y", "other", "early", "mid", "late", "last"]
    assert spec.signal("early").params == (("factor", 1.0), ("offset", 0.0))  # defaults


def test_windows_in_samples(spec: Spec):
    assert spec.windows == (WindowDef("short", 25, 1), WindowDef("long", 100, 5))
    assert spec.window("short").loc == Location("<spec>", 10, 3, "windows.short")


@pytest.mark.parametrize(
    "rate, length, samples",
    [
        ("50", "0.5s", 25),
        ("50", "1.1s", 55),  # 1.1 * 50 == 55.00000000000001 in floating point
        ("100", "0.29s", 29),  # 0.29 * 100 == 28.999999999999996 in floating point
        ("30", "0.1s", 3),
        ("33.3", "30s", 999),
        ("50", "250ms", None),  # 12.5 samples: rejected
        ("100000", "10ms", 1000),
        ("50", ".5s", 25),
        ("50", "2s", 100),
        ("200", "2.5ms", None),  # 0.5 samples
        ("50", "7", 7),
    ],
)
def test_durations_convert_exactly(rate: str, length: str, samples: int | None):
    text = minimal(sample_rate_hz=rate, windows=f"{{w: {{length: {length}, hop: 1}}}}")
    if samples is None:
        with pytest.raises(SpecError, match="not a whole number"):
            load_spec_text(text)
    else:
        assert load_spec_text(text).window("w").length == samples


def test_hop_as_duration():
    spec = load_spec_text(minimal(windows="{w: {length: 2s, hop: 100ms}}"))
    assert spec.window("w") == WindowDef("w", 100, 5)


def test_window_names_may_be_c_type_words():
    # windows only reach generated code inside longer identifiers (eval_long, phase_long)
    spec = load_spec_text(
        minimal(
            windows="{short: {length: 2, hop: 1}, long: {length: 3, hop: 1}}",
            features="[{compute: mean, of: x, over: [short, long]}]",
        )
    )
    assert spec.feature_names == ("mean__x__short", "mean__x__long")


def test_spec_hash_ignores_comments_whitespace_and_style(spec: Spec):
    restyled = (
        SPEC.replace("# required, exactly this string", "")
        .replace(
            "  acc_mag:  {magnitude: [acc_x, acc_y, acc_z]}",
            "  acc_mag:\n    magnitude:\n      - acc_x\n      - acc_y\n      - acc_z",
        )
        .replace("{length: 100, hop: 5}", "{ length: 100 ,  hop: 5 }")
        .replace("name: twist_and_go", "name: 'twist_and_go'   # quoted")
        + "\n# trailing comment\n"
    )
    assert restyled != SPEC
    assert load_spec_text(restyled).spec_hash == spec.spec_hash
    assert load_spec_text(SPEC).spec_hash == spec.spec_hash
    assert len(spec.spec_hash) == 64 and int(spec.spec_hash, 16) >= 0


@pytest.mark.parametrize(
    "old, new",
    [
        ("alpha: 0.2", "alpha: 0.25"),
        ("bins: 20", "bins: 21"),
        ("hop: 5", "hop: 4"),
        ("label: big_spin", "label: big_spins"),
        ("sample_rate_hz: 50", "sample_rate_hz: 50.0"),  # a different document, by design
        ("{length: 100, hop: 5}", "{hop: 5, length: 100}"),  # key order is part of the form
    ],
)
def test_spec_hash_changes_with_any_value(spec: Spec, old: str, new: str):
    assert load_spec_text(SPEC.replace(old, new)).spec_hash != spec.spec_hash


def test_core_tags_and_quoting_are_plain_values():
    spec = load_spec_text(
        minimal(name="!!str mini", sample_rate_hz="!!float 50", inputs="[\"x\", 'y']")
    )
    assert spec.name == "mini" and spec.sample_rate_hz == 50.0 and spec.inputs == ("x", "y")


def test_optional_signals_section():
    text = minimal().replace("signals: {}\n", "")
    assert [s.kind for s in load_spec_text(text).signals] == ["input", "input"]
    assert load_spec_text(minimal(signals="")).signals == load_spec_text(text).signals


def test_loading_is_deterministic(spec: Spec):
    assert load_spec_text(SPEC) == spec


def test_load_spec_from_file(tmp_path: Path, spec: Spec):
    path = tmp_path / "twist.yaml"
    path.write_text(SPEC)
    loaded = load_spec(path)
    assert loaded.source == str(path)
    assert loaded.feature_names == spec.feature_names
    assert loaded.spec_hash == spec.spec_hash
    assert loaded.features[0].loc.file == str(path)
    assert load_spec(str(path)) == loaded


def test_just_under_the_size_limit_loads():
    text = SPEC + "#" * ((1 << 20) - len(SPEC) - 1) + "\n"
    assert len(text.encode()) == 1 << 20
    assert load_spec_text(text).spec_hash == load_spec_text(SPEC).spec_hash


def test_shipped_example_loads():
    example = load_spec(ROOT / "examples" / "twist_and_go" / "spec.yaml")
    assert example.name == "twist_and_go"
    assert len(set(example.feature_names)) == len(example.feature_names)


@pytest.mark.skipif(not hasattr(yaml, "CSafeLoader"), reason="PyYAML without libyaml")
@pytest.mark.parametrize(
    "text",
    [
        SPEC,
        (ROOT / "examples" / "twist_and_go" / "spec.yaml").read_text(),
        "\ufeffspec: 'x\u00e9\U0001f600'\r\nb: [1, 0x1F, 1:30, .5, ~, yes, \"\\u00e9\", {c: d}]\r\n",
    ],
)
def test_libyaml_and_pure_python_read_the_same(text: str, monkeypatch):
    fast = parse_document(text)
    monkeypatch.delattr(yaml, "CSafeLoader")
    pure = parse_document(text)
    assert fast.data == pure.data
    assert fast.value_marks == pure.value_marks and fast.key_marks == pure.key_marks
    assert fast.value_marks
