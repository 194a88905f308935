"""The pure Kotlin target (kotlin/: no JNI, no NDK) on this machine's JVM: features of the full
and device featurisers against numpy, 0 ULP; margins against XGBoost (output_margin), bit for
bit, on recordings and on boundary rows; decisions and events equal to the C detector's. The
generated sources and a small driver are compiled once per session with kotlinc (slow: about a
minute; cached by content), negative-control copies with one perturbed constant alongside, so a
comparison that cannot fail would be caught.

Without kotlinc or java these tests skip loudly; with CI=true they fail (.ci/run installs them).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from codegen.backends.kotlin_jvm import KotlinEmitter, kotlin_double, kotlin_float, source_dir
from codegen.backends.swift import upper_camel
from codegen.bundle import manifest_of
from codegen.trees import decision as decisions
from codegen.trees import fp32
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.harness import prediction as mh
from featgen.harness.kotlin_jvm_runtime import KotlinRuntime, missing_tools
from featgen.harness.recordings import parity_recordings
from featurespec.vocabulary import ir
from parity_tests.conftest import require_tools

N_SAMPLES = 6_000  # per recording, 3 recordings (NaN/inf rows, constant stretches, 1e12...)


def _nudge_table_entry(text: str) -> tuple[str, str]:
    """The featuriser text with one table constant moved by one double ULP (the negative control
    of the features), and the table's name."""
    m = re.search(
        r"@JvmField val (featgen_\w+): DoubleArray = doubleArrayOf\(\n\s+([^,\n]+), ([^,\n]+)", text
    )
    assert m, "the device featuriser has no constant table to perturb"
    old = m.group(3)
    new = kotlin_double(float(np.nextafter(float(old), np.inf)))
    start = m.start(3)
    return text[:start] + new + text[start + len(old) :], m.group(1)


def _nudge_threshold(text: str) -> str:
    """The model text with tree 0's root threshold moved up by one float ULP."""
    m = re.search(
        r"private fun tree_0\(f: DoubleArray\): Float \{\n\s+if \(.*?([-0-9.e+]+f)\)", text
    )
    assert m, "tree 0 has no split to perturb"
    old = m.group(1)
    new = kotlin_float(fp32.next_f32(float(old[:-1]), 1))
    return text[: m.start(1)] + new + text[m.end(1) :]


BIG_TABLE = tuple(np.random.default_rng(5).standard_normal(2_500).tolist())


def _big_table_source() -> str:
    """A table longer than one initialiser function may hold (filled by several: the JVM's
    64 KB method cap), and a main printing its bits."""
    lines = KotlinEmitter(tables="BigTable").table(ir.Table("big", BIG_TABLE))
    body = "\n".join("    " + line if line else "" for line in lines)
    return (
        "package featgen.jvm.check\n\nobject BigTable {\n" + body + "\n}\n\n"
        "object BigTableMain {\n    @JvmStatic\n    fun main(args: Array<String>) {\n"
        "        val b = StringBuilder()\n        for (v in BigTable.featgen_big) {\n"
        "            b.append(java.lang.Long.toHexString(java.lang.Double.doubleToRawLongBits(v)))"
        ".append('\\n')\n        }\n        print(b)\n    }\n}\n"
    )


@pytest.fixture(scope="session")
def kotlin(example, tmp_path_factory):
    require_tools(missing_tools(), "the pure Kotlin (JVM) target's parity")
    spec, files, module = example
    device, columns = mh.device_featuriser(files, spec.name)
    root = source_dir()
    dev_path = f"{root}/{upper_camel(device)}Features.kt"
    model_path = f"{root}/{upper_camel(spec.name)}Model.kt"
    perturbed_features, table = _nudge_table_entry(files[dev_path])
    controls = {dev_path: perturbed_features, model_path: _nudge_threshold(files[model_path])}
    runtime = KotlinRuntime(
        files,
        spec.name,
        tmp_path_factory.mktemp("kotlin"),
        controls,
        extra={"harness/BigTable.kt": _big_table_source()},
    )
    return spec, files, module, runtime, device, columns, table


@pytest.fixture(scope="session")
def recordings(example):
    spec, _, _ = example
    return parity_recordings(len(spec.inputs), n=N_SAMPLES, count=3)


def _report(capsys, line: str) -> None:
    with capsys.disabled():
        print(f"\n    {line}")


def test_kotlinc_compiles_the_target_without_warnings(kotlin):
    runtime = kotlin[3]
    assert runtime.warnings == []


def test_full_and_device_features_are_bit_identical(kotlin, recordings, capsys):
    spec, files, module, runtime, device, columns, _ = kotlin
    assert any(not np.isfinite(r).all() for r in recordings.values())
    full = harness.compare_target(
        module, harness.Target("Kotlin", runtime.stream(spec.name)), recordings
    )
    assert full.identical, full.failure_message()
    assert full.vectors > 3 * (N_SAMPLES - 200) and full.worst.max_ulp == 0
    assert columns is not None  # the example's model reads fewer features
    reference = harness.Columns(module, columns)
    dev = harness.compare_target(
        reference, harness.Target("Kotlin device", runtime.stream(device)), recordings
    )
    assert dev.identical, dev.failure_message()
    assert dev.vectors == full.vectors and dev.worst.max_ulp == 0
    _report(
        capsys,
        f"Kotlin/JVM: 0 ULP on all {len(full.names)} features ({full.vectors} "
        f"vectors) and all {len(dev.names)} device features",
    )


def test_negative_control_one_table_constant_off_by_one_ulp_is_caught(kotlin, recordings):
    spec, files, module, runtime, device, columns, table = kotlin
    reference = harness.Columns(module, columns)
    bad = harness.compare_target(
        reference,
        harness.Target("Kotlin (perturbed)", runtime.stream(device, control=True)),
        recordings,
    )
    assert not bad.identical, f"{table} moved by one ULP and no feature changed"
    assert "ULP" in bad.failure_message()


def test_margins_decisions_and_events(kotlin, example, recordings, tmp_path, capsys):
    spec, files, module, runtime, device, columns, _ = kotlin
    bundle = load_bundle(spec)
    booster = mh.load_booster(bundle.raw)
    c = mh.Detector(files, spec.name, tmp_path)
    d = c.stream(next(iter(recordings.values())))  # warm the C build before the loop
    assert d["status"].size
    vectors = events = 0
    for label, samples in recordings.items():
        features, ends = module.featurize(samples, nonfinite="drop")
        got = runtime.detector(samples)
        ref_c = c.stream(samples)
        assert np.array_equal(got["status"], ref_c["status"]), label
        assert np.array_equal(got["ends"], ends), label
        ref = mh.xgboost_margins(booster, features)
        assert mh.bits_equal(ref, got["margins"]).all(), label
        for key in ("positive", "run", "event", "predicted_class"):
            assert np.array_equal(got[key], ref_c[key]), (label, key)
        decision = runtime_decision(files)
        finite = np.isfinite(samples).all(axis=1)
        positive = decisions.positive(decision, ref)
        _, fired = decisions.events(decision, positive, np.cumsum(finite)[ends] - 1)
        assert np.array_equal(fired, got["event"]), label
        vectors += len(ref)
        events += int(fired.sum())
    assert vectors > 3 * (N_SAMPLES - 200)
    _report(
        capsys,
        f"Kotlin/JVM detector: {vectors} vectors, 100% bit-equal margins, decisions "
        f"and {events} events equal to C and to XGBoost",
    )


def runtime_decision(files: dict) -> decisions.Decision:
    d = manifest_of(files).model.decision
    return decisions.Decision(
        d["kind"],
        d.get("threshold", 0.0),
        float.fromhex(d["margin_threshold"]) if d["kind"] == "binary" else 0.0,
        d.get("positive_class", 1),
        d["consecutive"],
        d["refractory_samples"],
        d.get("transform", "sigmoid" if d["kind"] == "binary" else "softmax"),
    )


def test_boundary_rows_and_the_negative_control(kotlin, recordings, capsys):
    """Every threshold t of the model, its float32 neighbours, the doubles that round onto or off
    t, t +- 1 double ULP, NaN, +-inf, +-0, subnormals, FLT_MAX and beyond, on real rows: all
    bit-equal; the copy with tree 0's root threshold one float ULP up is caught."""
    spec, files, module, runtime, device, columns, _ = kotlin
    bundle = load_bundle(spec)
    booster = mh.load_booster(bundle.raw)
    rows = module.featurize(next(iter(recordings.values())), nonfinite="drop")[0]
    X = mh.boundary_vectors(bundle.forest, rows[[0, len(rows) // 2, len(rows) - 1]])
    ref = mh.xgboost_margins(booster, X)
    got = runtime.margins(mh.model_input(X, columns))
    equal = mh.bits_equal(ref, got)
    assert equal.all(), f"{int((~equal).sum())} of {len(X)} boundary rows differ"
    bad = mh.bits_equal(ref, runtime.margins(mh.model_input(X, columns), control=True))
    assert not bad.all(), "a threshold moved by one float ULP changed no margin"
    _report(
        capsys,
        f"Kotlin/JVM model: {len(X)} boundary rows 100% bit-equal to XGBoost; the "
        f"perturbed threshold differs on {int((~bad).sum())}",
    )


def test_literals_read_back_exactly():
    """The printed constants are exact in Python's (correctly rounded) reading, the JVM's rule:
    shortest round-trip doubles; floats as their double's repr, never off through double."""
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.standard_normal(2000) * 10.0 ** rng.integers(-300, 300, 2000),
            [5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, -0.0, 0.1, 1e16, 2.0**53 + 2],
        ]
    )
    for v in values.tolist():
        text = kotlin_double(v)
        assert float(text) == v and np.signbit(float(text)) == np.signbit(v), (v, text)
    for v in rng.standard_normal(2000).astype(np.float32).tolist() + [
        fp32.FLT_TRUE_MIN,
        fp32.FLT_MAX,
    ]:
        text = kotlin_float(v)
        assert text.endswith("f") and fp32.f32_from_decimal(text[:-1]) == v, (v, text)
        assert float(np.float32(float(text[:-1]))) == v  # through double, too


def test_runtime_contract_misuse_throws_clear_exceptions(kotlin, recordings):
    """The Swift target's contract, as exceptions: a wrong-size sample, out or margins array
    throws IllegalArgumentException naming the sizes (never an index error or a crash); a NaN
    sample is REJECTED; a model of another feature order is refused (VersionMismatch, an
    IllegalStateException); float samples are widened exactly."""
    spec, files, module, runtime, device, columns, _ = kotlin
    samples = next(iter(recordings.values()))
    lines = runtime.contract(samples[np.isfinite(samples).all(axis=1)])
    by = dict(line.split(": ", 1) for line in lines)
    n_in = len(spec.inputs)
    for prefix in (spec.name, device):
        assert by[f"{prefix} short sample"] == (
            f"IllegalArgumentException: a {prefix} sample has {n_in} values, got {n_in - 1}"
        )
        assert by[f"{prefix} long sample"].endswith(f"got {n_in + 1}")
        assert by[f"{prefix} short out"].startswith("IllegalArgumentException: out must hold")
        assert by[f"{prefix} float sample"].startswith("IllegalArgumentException: a ")
        assert by[f"{prefix} NaN sample"] == "returned REJECTED"
    for call in (
        "detector short sample",
        "detector short float sample",
        "detector short margins",
        "model short features",
        "model short margins",
    ):
        assert by[call].startswith("IllegalArgumentException: "), (call, by[call])
    assert by["detector other model"].startswith(
        f"IllegalStateException: {spec.name}: the test model reads features in another order"
    )
    assert by["float and widened double pushes agree"] == "true"


def test_a_table_longer_than_one_initialiser_holds_is_exact(kotlin):
    runtime = kotlin[3]
    got = runtime.run_main("featgen.jvm.check.BigTableMain").split()
    expected = [format(int(np.float64(v).view(np.uint64)), "x") for v in BIG_TABLE]
    assert got == expected
