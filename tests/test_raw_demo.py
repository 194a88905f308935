"""The Twist and Go raw-log demonstration (examples/twist_and_go/raw_demo.py), small: the same
motions as Android and iOS logs give the same decisions through featgen's rule, and each
hand-written pipeline feeds the model other numbers, counted."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go"


@pytest.fixture(scope="module")
def result():
    spec = importlib.util.spec_from_file_location("raw_demo", EXAMPLE / "raw_demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.demonstrate(
        EXAMPLE / "spec.yaml", subjects=1, recordings=1, seconds=30, negative_seconds=20, seed=7
    )


def test_android_and_ios_logs_give_the_same_decisions(result):
    rows = result["pipelines"]
    phone, ios = rows["featgen: android log"], rows["featgen: ios log"]
    assert phone["vs_phone"]["values_differ"] == 0 and phone["vs_phone"]["vectors_compared"] > 1000
    v = ios["vs_phone"]
    # the same grid, every vector present; values differ only by Android's float32 readings
    assert (
        v["vectors_missing"] == 0 and v["vectors_compared"] == phone["vs_phone"]["vectors_compared"]
    )
    assert v["decisions_differ"] == 0
    assert ios["gesture_streams"] == phone["gesture_streams"]
    assert ios["negative_streams"] == phone["negative_streams"]
    # no pipeline's comparison is vacuous: the iOS log's doubles do differ from Android's floats
    assert 0 < v["values_differ"] < v["values_compared"]


def test_hand_written_pipelines_feed_the_model_other_numbers(result):
    rows = result["pipelines"]
    for name in ("ios: no sign flip", "pandas resample", "phone: latest value"):
        v = rows[name]["vs_phone"]
        assert v["vectors_with_other_inputs"] == v["vectors_compared"] > 1000, name
        assert v["values_differ"] > 0.2 * v["values_compared"], name
        assert v["worst_relative_difference"] > 0.5, name
    doubles = rows["android decimals as double"]["vs_phone"]
    assert doubles["values_differ"] > 0
