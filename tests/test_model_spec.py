"""The spec's model: and decision: blocks: located errors (test_spec_errors.py style), hashes,
and the build-time checks that tie a model directory to the spec."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from featurespec import SpecError, load_spec, load_spec_text

BASE = """\
spec: featgen/v1
name: twist_and_go
sample_rate_hz: 50
inputs: [acc_x, acc_y, acc_z, gyro_y]
signals:
  acc_mag: {magnitude: [acc_x, acc_y, acc_z]}
  gyro_y_d: {diff: gyro_y}
windows:
  short: {length: 0.5s, hop: 1}
  long: {length: 100, hop: 5}
features:
  - compute: [mean, std]
    of: [acc_x, acc_mag]
    over: [short, long]
  - {compute: histogram, of: gyro_y, over: long, bins: 20, range: [-8, 8]}
"""  # tests/test_spec_errors.py's BASE; the blocks below start on line 16

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go"
MODEL = "model: {path: model}\n"  # line 16
DECISION = "decision: {threshold: 0.8, consecutive: 2, refractory: 1s}\n"  # line 17


def case(name: str, extra: str, expected: str):
    return pytest.param(BASE + extra, expected, id=name)


CASES = [
    case(
        "model_not_mapping",
        "model: model\n",
        "<spec>:16:8: model: expected a mapping like {path: model}, got the text 'model'",
    ),
    case("model_missing_path", "model: {}\n", "<spec>:16:8: model: missing required key 'path'"),
    case(
        "model_unknown_key",
        "model: {path: m, paht: n}\n",
        "<spec>:16:18: model.paht: unknown key 'paht' (did you mean 'path'?)",
    ),
    case(
        "model_path_number",
        "model: {path: 3}\n",
        "<spec>:16:15: model.path: expected the model directory (a path relative to the spec),"
        " got the number 3",
    ),
    case(
        "model_path_absolute",
        "model: {path: /srv/model}\n",
        "<spec>:16:15: model.path: '/srv/model' is not relative; write the model directory "
        "relative to the spec so the repository can move",
    ),
    case(
        "model_path_empty",
        "model: {path: ''}\n",
        "<spec>:16:15: model.path: the model directory cannot be empty",
    ),
    case(
        "decision_without_model",
        DECISION,
        "<spec>:16:1: decision: a decision needs a model; add a model: block (e.g. model: "
        "{path: model}) or remove decision:",
    ),
    case(
        "decision_not_mapping",
        MODEL + "decision: 0.8\n",
        "<spec>:17:11: decision: expected a mapping like {threshold: 0.8, consecutive: 3, "
        "refractory: 1s}, got the number 0.8",
    ),
    case(
        "threshold_nan",
        MODEL + "decision: {threshold: .nan}\n",
        "<spec>:17:23: decision.threshold: the threshold must be a finite number, got nan",
    ),
    case(
        "threshold_text",
        MODEL + "decision: {threshold: high}\n",
        "<spec>:17:23: decision.threshold: expected a number (a probability between 0 and 1 "
        "for a classifier), got the text 'high'",
    ),
    case(
        "threshold_bool",
        MODEL + "decision: {threshold: yes}\n",
        "<spec>:17:23: decision.threshold: expected a number (a probability between 0 and 1 "
        "for a classifier), got the boolean true",
    ),
    case(
        "consecutive_zero",
        MODEL + "decision: {consecutive: 0}\n",
        "<spec>:17:25: decision.consecutive: consecutive must be between 1 and 100000, got 0",
    ),
    case(
        "consecutive_float",
        MODEL + "decision: {consecutive: 2.5}\n",
        "<spec>:17:25: decision.consecutive: expected a whole number of positive vectors in a "
        "row (1 or more), got the number 2.5",
    ),
    case(
        "refractory_negative",
        MODEL + "decision: {refractory: -3}\n",
        "<spec>:17:24: decision.refractory: must be at least 0 samples, got -3",
    ),
    case(
        "refractory_not_whole",
        MODEL + "decision: {refractory: 0.01s}\n",
        "<spec>:17:24: decision.refractory: 0.01s at 50 Hz is 0.5 samples, not a whole number",
    ),
    case(
        "refractory_text",
        MODEL + "decision: {refractory: soon}\n",
        "<spec>:17:24: decision.refractory: expected a whole number of samples or a duration "
        "like '0.5s' or '250ms', got the text 'soon'",
    ),
    case(
        "class_negative",
        MODEL + "decision: {class: -1}\n",
        "<spec>:17:19: decision.class: expected the index of the positive class (0 or more), "
        "got the number -1",
    ),
    case(
        "decision_unknown_key",
        MODEL + "decision: {treshold: 0.8}\n",
        "<spec>:17:12: decision.treshold: unknown key 'treshold' (did you mean 'threshold'?)",
    ),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_model_and_decision_errors_are_located(text: str, expected: str):
    with pytest.raises(SpecError) as info:
        load_spec_text(text)
    assert str(info.value) == expected


def test_blocks_parse_with_defaults_and_exact_durations():
    spec = load_spec_text(BASE + MODEL + DECISION, "dir/spec.yaml")
    assert spec.model.path == "model" and spec.model.directory == str(Path("dir/model"))
    assert (spec.decision.threshold, spec.decision.consecutive, spec.decision.refractory) == (
        0.8,
        2,
        50,
    )
    assert spec.decision.positive_class is None
    bare = load_spec_text(BASE + MODEL)
    assert (bare.decision.threshold, bare.decision.consecutive, bare.decision.refractory) == (
        0.5,
        1,
        0,
    )
    plain = load_spec_text(BASE)
    assert plain.model is None and plain.decision is None


def test_spec_hash_covers_the_blocks_and_features_hash_does_not():
    plain = load_spec_text(BASE)
    with_model = load_spec_text(BASE + MODEL + DECISION)
    assert plain.features_hash == plain.spec_hash  # no blocks: the same document
    assert with_model.spec_hash != plain.spec_hash  # the document changed
    assert with_model.features_hash == plain.features_hash  # the features did not
    other = load_spec_text(BASE.replace("bins: 20", "bins: 10") + MODEL)
    assert other.features_hash != plain.features_hash


# ---------------------------------------------------------------- checks at build time


def _copy_example(tmp_path: Path, spec_edit=None, meta_edit=None) -> Path:
    shutil.copytree(EXAMPLE / "model", tmp_path / "model")
    text = (EXAMPLE / "spec.yaml").read_text()
    if spec_edit:
        text = spec_edit(text)
    (tmp_path / "spec.yaml").write_text(text)
    if meta_edit:
        path = tmp_path / "model" / "featgen_model.json"
        meta = json.loads(path.read_text())
        meta_edit(meta)
        path.write_text(json.dumps(meta))
    return tmp_path / "spec.yaml"


def _build_error(spec_path: Path) -> str:
    from codegen.build import generate

    with pytest.raises(SpecError) as info:
        generate(load_spec(spec_path))
    return str(info.value)


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_missing_model_directory_is_located(tmp_path):
    spec = _copy_example(tmp_path, lambda t: t.replace("{path: model}", "{path: models/v2}"))
    message = _build_error(spec)
    line = _line_of(spec, "models/v2")
    assert message.startswith(f"{spec}:{line}:15: model.path: no model directory ")
    assert "featgen train" in message


def test_a_model_trained_on_other_features_is_refused(tmp_path):
    spec = _copy_example(tmp_path, lambda t: t.replace("bins: 8,", "bins: 16,"))
    message = _build_error(spec)
    assert f"{spec}:{_line_of(spec, '{path: model}')}:15: model.path:" in message
    assert "different feature vector" in message and "histogram_b00__gyro_y__long" in message


def test_a_model_from_a_changed_definition_is_refused(tmp_path):
    spec = _copy_example(tmp_path, lambda t: t.replace("alpha: 0.2", "alpha: 0.25"))
    assert "features defined differently" in _build_error(spec)


def test_a_class_for_a_binary_model_is_located(tmp_path):
    spec = _copy_example(
        tmp_path, lambda t: t.replace("  refractory: 1s", "  refractory: 1s\n  class: 2")
    )
    message = _build_error(spec)
    assert message.startswith(f"{spec}:{_line_of(spec, 'class: 2')}:10: decision.class: ")
    assert "this model is binary" in message


def test_comment_edits_keep_the_model_valid(tmp_path):
    from codegen.build import generate

    spec = _copy_example(tmp_path, lambda t: t.replace("# Twist and Go", "# Twist & Go!"))
    assert "coreml/TwistAndGoModel.mlmodel" in generate(load_spec(spec))


def test_a_threshold_no_float32_margin_separates_is_located(tmp_path):
    """p = 1e-300 is below every probability the float32 sigmoid gives: the margin threshold
    would be -inf (every vector positive). A located error, not an assertion deep in fp32."""
    spec = _copy_example(tmp_path, lambda t: t.replace("threshold: 0.8 ", "threshold: 1.0e-300"))
    message = _build_error(spec)
    assert message.startswith(
        f"{spec}:{_line_of(spec, 'threshold: 1.0e-300')}:14: "
        "decision.threshold: the threshold 1e-300 is below every "
        "probability the model's float32 sigmoid can give"
    )
