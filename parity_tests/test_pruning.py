"""Model-driven pruning (#9): the phone computes only the features the model splits on.

The device featuriser (``<name>_device``, C and Swift) must give, on every emitted row, exactly
the bits of the corresponding columns of the full numpy output, on the same rows; and the
detector built on it must give XGBoost's margins on the full vectors, bit for bit.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from codegen.build import device_program, generate
from codegen.bundle import manifest_of
from codegen.lowering import lower
from codegen.trees.model_dir import load_bundle
from featgen import harness
from featgen.harness import prediction as mh
from featgen.harness.recordings import parity_recordings
from featurespec import load_spec_text

QEMU = shutil.which("qemu-aarch64-static") or shutil.which("qemu-aarch64")
GCC_A64 = shutil.which("aarch64-linux-gnu-gcc")


@pytest.fixture(scope="module")
def device(example):
    spec, files, module = example
    name, columns = mh.device_featuriser(files, spec.name)
    return name, columns, harness.Columns(module, columns)


@pytest.fixture(scope="module")
def recordings(example):
    spec, _, _ = example
    return parity_recordings(len(spec.inputs), n=6_000, count=2)


def test_manifest_maps_every_device_feature_to_its_full_column(example, device):
    spec, files, _ = example
    name, columns, _ = device
    meta = json.loads(files["manifest.json"])
    entry = meta["model"]["device"]
    used = load_bundle(spec).forest.features_used()
    assert name == f"{spec.name}_device"
    assert tuple(columns) == used  # exactly what the trees split on
    assert entry["n_features"] == len(used) < entry["of"] == len(spec.feature_names)
    for j, f in enumerate(entry["features"]):
        assert f["device_index"] == j
        assert f["name"] == spec.feature_names[f["index"]] == meta["features"][f["index"]]["name"]
    header = files[f"c/{name}_features.h"]
    assert f"#define {name.upper()}_N_FEATURES {len(used)}" in header
    assert (
        f"#define {spec.name.upper()}_MODEL_N_FEATURES {len(used)}"
        in files[f"c/{spec.name}_model.h"]
    )


def test_device_c_is_bit_identical_to_the_full_numpy_columns(example, device, recordings, tmp_path):
    spec, files, _ = example
    name, _, reference = device
    target = harness.c_target(files, name, tmp_path)
    comparison = harness.compare_target(reference, target, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 10_000 and comparison.worst.max_ulp == 0


def test_device_swift_is_bit_identical_to_the_full_numpy_columns(
    example, device, recordings, swiftc, tmp_path
):
    spec, files, _ = example
    name, _, reference = device
    target = harness.swift_target(files, name, tmp_path)
    comparison = harness.compare_target(reference, target, recordings)
    assert comparison.identical, comparison.failure_message()
    assert comparison.worst.max_ulp == 0


@pytest.mark.skipif(
    QEMU is None or GCC_A64 is None,
    reason="needs qemu-user and aarch64 gcc (.ci/run installs both)",
)
def test_device_c_is_bit_identical_on_aarch64(example, device, recordings, tmp_path):
    spec, files, _ = example
    name, _, reference = device
    target = harness.driver_target(
        files,
        name,
        tmp_path,
        [GCC_A64, "-std=c99", "-O2", "-static"],
        [QEMU],
        label="aarch64 device",
    )
    first = dict(list(recordings.items())[:1])
    comparison = harness.compare_target(reference, target, first)
    assert comparison.identical, comparison.failure_message()


def test_pruned_detector_gives_xgboosts_margins_on_full_vectors(example, tmp_path):
    spec, files, module = example
    bundle = load_bundle(spec)
    booster = mh.load_booster(bundle.raw)
    parity = mh.ModelParity(files, spec.name, tmp_path, module, with_tl2cgen=False)
    assert parity.columns is not None  # the detector runs the device featuriser
    result = mh.ModelComparison()
    for label, samples in parity_recordings(len(spec.inputs), n=6_000, count=2).items():
        parity.compare_recording(booster, label, samples, result)
    assert not result.problems, result.problems
    assert result.vectors > 10_000
    c = result.targets["C"]
    assert c["margins"] == c["decisions"] == c["events"] == result.vectors


def test_device_program_keeps_the_full_schedule_and_drops_unread_state():
    """Dropping every feature of the long window keeps its schedule (the same emission rows)
    but not its ring: rings shrink to the longest window still read."""
    spec = load_spec_text(PRUNE_SPEC)
    full = lower(spec)
    names = spec.feature_names
    keep = [names.index("mean__a__short"), names.index("histogram_b1__b__short")]
    device = lower(spec, keep=keep, name="p_device")
    assert device.feature_names == ("mean__a__short", "histogram_b1__b__short")
    assert device.warmup == full.warmup == 40 and device.ring_length == 5 < full.ring_length
    assert [w.name for w in device.windows] == ["short", "long"]
    assert device.windows[1].features == () and device.windows[1].signals == ()
    assert set(device.ring_signals) == {"a", "b"}
    assert "e" not in {s.name for s in device.signals}  # its only reader was dropped
    # one histogram bin kept: the kernel stores one output and keeps the work it needs
    (hist,) = [f for f in device.windows[0].features if f.feature.kind == "histogram"]
    assert hist.kernel.n_outputs == 1 and hist.outputs == ("histogram_b1__b__short",)


def test_device_program_matches_numpy_columns_on_a_small_spec(tmp_path):
    spec = load_spec_text(PRUNE_SPEC)
    names = spec.feature_names
    keep = [names.index(n) for n in ("histogram_b1__b__short", "std__e__long", "mean__a__short")]
    files = generate(spec)
    module = harness.load_numpy_module(files, spec.name)
    from codegen.backends import c as c_backend
    from codegen.build import _common, _environment, _normalise

    device = lower(spec, keep=keep, name="p_device")
    env = _environment()
    ctx = dict(_common(device), **c_backend.render_context(device), header="/* test */")
    dev_files = {
        f"c/p_device_features.{ext}": _normalise(env.get_template(t).render(**ctx))
        for ext, t in (("h", "c/header.h.j2"), ("c", "c/source.c.j2"))
    }
    target = harness.c_target(dev_files, "p_device", tmp_path)
    reference = harness.Columns(module, sorted(keep))
    comparison = harness.compare_target(reference, target, parity_recordings(2, n=3_000, count=2))
    assert comparison.identical, comparison.failure_message()
    assert comparison.vectors > 5_000


def test_full_build_option_keeps_every_feature_on_the_device(example):
    spec, _, _ = example
    program = lower(spec)
    assert device_program(spec, program, prune=False) is program
    full = generate(spec, prune=False)
    assert not any("_device" in path for path in full)
    device = manifest_of(full).model.device
    assert device.featuriser == spec.name and device.full
    assert device.names == tuple(spec.feature_names)


def test_pruned_sources_compile_warning_free(example, tmp_path):
    spec, files, _ = example
    name, _ = mh.device_featuriser(files, spec.name)
    c_dir = tmp_path / "c"
    c_dir.mkdir()
    for rel, text in files.items():
        if rel.startswith("c/") and rel.count("/") == 1:
            (tmp_path / rel).write_text(text)
    for source in (f"{name}_features.c", f"{spec.name}_detector.c"):
        subprocess.run(
            [
                "gcc",
                "-std=c99",
                "-Wall",
                "-Wextra",
                "-pedantic",
                "-Werror",
                "-O2",
                "-c",
                str(c_dir / source),
                "-o",
                str(tmp_path / "x.o"),
            ],
            check=True,
        )


PRUNE_SPEC = """
spec: featgen/v1
name: p
sample_rate_hz: 50
inputs: [a, b]
signals:
  e: {ema: a, alpha: 0.25}
windows:
  short: {length: 5, hop: 1}
  long: {length: 40, hop: 4}
features:
  - {compute: [mean, std, max], of: [a], over: short}
  - {compute: histogram, of: b, over: short, bins: 3, range: [-1, 1]}
  - {compute: [mean, std], of: [e, b], over: long}
"""
