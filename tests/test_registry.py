"""The target registry and the typed build result (issue #20 items 2 and 3): every target is a
registry entry, the build returns a frozen Bundle whose fields agree with its files, the pass
pipeline runs once per build with no module-level cache, and a target added to the registry
alone is built, named and picked up by the harness's parity list."""

from __future__ import annotations

import dataclasses
import pickle
import re
from pathlib import Path

import pytest

from codegen import build as build_module
from codegen import pipeline, sharing, targets
from codegen.build import build, generate
from codegen.bundle import Bundle, Files, Manifest, manifest_of
from featgen.harness import adapters
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go" / "spec.yaml"
PLAIN = """spec: featgen/v1
name: plain
sample_rate_hz: 50
inputs: [ax, gy]
windows: {w: {length: 25, hop: 2}, v: {length: 8, hop: 1}}
features:
  - {compute: [mean, std, max], of: [ax, gy], over: w}
  - {compute: [median, min], of: [ax], over: v}
"""


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    path = tmp_path_factory.mktemp("plain") / "spec.yaml"
    path.write_text(PLAIN)
    return load_spec(path)


@pytest.fixture(scope="module")
def example():
    return build(load_spec(EXAMPLE))


def test_registry_entries_are_targets_with_unique_names():
    names = [t.name for t in targets.TARGETS]
    keys = [t.key for t in targets.TARGETS]
    assert names[:4] == ["numpy", "C", "Swift", "Android/JNI"]
    assert len(set(names)) == len(names) and len(set(keys)) == len(keys)
    for t in targets.TARGETS:
        assert isinstance(t, targets.Target), t
        assert set(t.passes) <= set(pipeline.PASSES), t.name
        assert targets.get(t.name) is t and targets.get(t.key) is t
    with pytest.raises(KeyError, match="known: numpy, C, Swift"):
        targets.get("cobol")


def test_every_parity_target_has_a_runtime_adapter():
    pairs = adapters.parity_adapters()
    assert [t.name for t, _ in pairs] == [t.name for t in targets.TARGETS if t.parity]
    assert {"C", "Swift"} <= {t.name for t, _ in pairs}
    for target, adapter in pairs:
        assert adapter.target == target.name


def test_bundle_fields_agree_with_its_files(example):
    bundle = example
    assert isinstance(bundle, Bundle)
    manifest = bundle.manifest
    assert manifest == Manifest.parse(bundle["manifest.json"])
    assert manifest.text == bundle["manifest.json"]
    assert manifest.feature_names == bundle.program.feature_names
    # the header's constant says what the manifest field says (nobody needs to scrape it)
    header = bundle.text("C", "header")
    assert f"#define {manifest.spec.upper()}_N_FEATURES {manifest.n_features}\n" in header
    device = manifest.model.device
    assert bundle.device is not bundle.program and device.featuriser == bundle.device.name
    assert device.columns == bundle.device.full_columns
    assert f"#define {device.featuriser.upper()}_N_FEATURES {len(device.names)}\n" in bundle.text(
        "C", "device_header"
    )
    assert bundle.featurisers == (
        (bundle.program.name, None),
        (bundle.device.name, bundle.device.full_columns),
    )
    assert bundle.model is not None and bundle.model.model_sha256 == manifest.model.model_sha256
    # every role names a file of the build; the manifest lists every file
    for target in targets.TARGETS:
        for role, path in bundle.roles[target.name].items():
            assert path in bundle, (target.name, role, path)
    assert set(manifest.files) == set(bundle) - {"manifest.json"}


def test_bundle_is_frozen_and_picklable(plain):
    bundle = build(plain)
    with pytest.raises(dataclasses.FrozenInstanceError):
        bundle.files = {}
    with pytest.raises(TypeError):
        bundle["python/plain_features.py"] = "x"
    with pytest.raises(TypeError):
        bundle.manifest.data["spec"] = "other"
    again = pickle.loads(pickle.dumps(bundle))
    assert dict(again) == dict(bundle) and again.manifest == bundle.manifest
    assert manifest_of(dict(bundle)) == bundle.manifest  # a plain copy: parsed once
    assert bundle.manifest.model is None and bundle.device is bundle.program


def test_passes_run_once_per_program_and_nothing_is_cached(plain, monkeypatch):
    assert not hasattr(sharing, "_LAST")
    calls = []

    def counted(program):
        calls.append(program.name)
        return sharing.share_program(program)

    monkeypatch.setitem(pipeline.PASSES, "share", counted)
    first = build(plain)
    assert calls == ["plain"]
    assert build(plain) == first and calls == ["plain", "plain"]
    assert generate(plain, share=False) != first and calls == ["plain", "plain"]


class EchoTarget:
    """A registry entry written the way a new target is: it emits one file per featuriser
    from the plan and names it by role."""

    name = "Echo"
    key = "echo"
    title = "Echo (test)"
    passes = ("share",)
    parity = False

    def roles(self, plan):
        return {"names": f"echo/{plan.program.name}.txt"}

    def emit(self, plan, ctx):
        shared = plan.shared(plan.program)
        text = "\n".join(
            [*ctx.lines, *plan.program.feature_names, f"windows sharing work: {sorted(shared)}"]
        )
        return {self.roles(plan)["names"]: text + "\n"}


def test_a_target_added_to_the_registry_alone_is_built(plain, monkeypatch):
    monkeypatch.setattr(targets, "TARGETS", (*targets.TARGETS, EchoTarget()))
    bundle = build(plain)
    text = bundle.text("Echo", "names")
    assert text.splitlines()[3:] == [*plain.feature_names, "windows sharing work: ['v', 'w']"]
    assert "echo/plain.txt" in bundle.manifest.files
    # the others are untouched by it
    monkeypatch.undo()
    base = build(plain)
    assert {p: t for p, t in bundle.items() if p not in ("echo/plain.txt", "manifest.json")} == {
        p: t for p, t in base.items() if p != "manifest.json"
    }


def test_a_parity_target_without_an_adapter_is_refused(monkeypatch):
    echo = EchoTarget()
    echo.parity = True
    monkeypatch.setattr(adapters, "TARGETS", (*targets.TARGETS, echo))
    with pytest.raises(KeyError, match="'Echo' is registered for parity but has no runtime"):
        adapters.parity_adapters()


def test_build_module_keeps_no_emission_code_of_its_own():
    """build.py orchestrates; what each language looks like lives in its target."""
    source = Path(build_module.__file__).read_text()
    assert not re.search(r"get_template\(\"(c|swift|numpy|android)/", source)


class CopyOfC:
    """A stand-in for a new target's runtime: the C runtime under another name (an adapter may
    run anything; this one needs only gcc)."""

    target = "C copy"

    def __init__(self, skew: bool = False):
        self.skew = skew  # a negative control: one margin bit off on every vector

    def missing(self):
        return None

    def featuriser(self, files, prefix, workdir):
        from featgen import harness

        built = harness.c_target(files, prefix, workdir)
        return harness.Target(self.target, built.stream)

    def detector(self, files, workdir):
        from featgen.harness.prediction import Detector

        detector = Detector(files, manifest_of(files).spec, workdir)
        if not self.skew:
            return detector

        class Skewed:
            columns = detector.columns

            def stream(self, samples):
                out = detector.stream(samples)
                out["margins"] = (out["margins"].view("<i4") ^ 1).view("<f4")
                return out

            def margins(self, X):
                return detector.margins(X)

        return Skewed()


def _without_kotlin():
    """The registry minus the pure Kotlin target, whose own tests run it (parity_tests/
    test_kotlin_jvm.py): kotlinc takes about a minute per new build."""
    return tuple(t for t in targets.TARGETS if t.key != "kotlin")


@pytest.mark.parametrize("skew", [False, True])
def test_a_registered_target_gets_feature_and_prediction_parity(
    example, skew, tmp_path, monkeypatch
):
    import numpy as np

    from featgen import harness
    from featgen.harness import prediction as mh
    from featgen.harness.recordings import parity_recordings

    copy = EchoTarget()
    copy.name, copy.key, copy.parity = "C copy", "ccopy", True
    monkeypatch.setattr(adapters, "TARGETS", (*_without_kotlin(), copy))
    monkeypatch.setitem(adapters.ADAPTERS, "C copy", CopyOfC(skew))
    monkeypatch.setattr(harness, "find_swiftc", lambda: None)  # Swift: its own tests
    assert [t.name for t, _ in adapters.parity_adapters()][-1] == "C copy"
    module = harness.load_numpy_module(example, example.manifest.spec)
    recording = parity_recordings(len(example.manifest.inputs), 1500, 1)
    # features: the adapter's featuriser, device prefix included
    prefix, columns = example.featurisers[1]
    built = CopyOfC().featuriser(example, prefix, tmp_path / "f")
    comparison = harness.compare_target(harness.Columns(module, columns), built, recording)
    assert comparison.identical and comparison.vectors > 0
    # predictions: picked up from the adapters, reported under "targets" by registered name
    found = adapters.detectors(example, tmp_path)
    assert list(found) == ["C", "C copy"]
    parity = mh.ModelParity(
        example, example.manifest.spec, tmp_path, module, with_tl2cgen=False, detectors=found
    )
    result = mh.ModelComparison()
    booster = mh.load_booster(example.model.raw)
    for label, samples in recording.items():
        parity.compare_recording(booster, label, samples, result)
    report = result.to_json()["targets"]["C copy"]
    assert result.vectors > 0 and report["events_equal_pct"] == 100.0
    assert report["margins_bit_equal_pct"] == (0.0 if skew else 100.0)
    assert result.identical is (not skew)
    np.testing.assert_equal(result.targets["C"]["margins"], result.vectors)


def test_featgen_parity_has_a_column_per_registered_target(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner

    from featgen import harness
    from featgen.cli import main

    copy = EchoTarget()
    copy.name, copy.key, copy.parity = "C copy", "ccopy", True
    monkeypatch.setattr(adapters, "TARGETS", (*_without_kotlin(), copy))
    monkeypatch.setitem(adapters.ADAPTERS, "C copy", CopyOfC())
    monkeypatch.setattr(harness, "find_swiftc", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    spec = tmp_path / "spec.yaml"
    spec.write_text(PLAIN)
    result = CliRunner().invoke(
        main,
        [
            "parity",
            str(spec),
            "--samples",
            "400",
            "--streams",
            "1",
            "--json",
            str(tmp_path / "r.json"),
            "--html",
            str(tmp_path / "r.html"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Swift (iOS) target NOT CHECKED" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert [t["target"] for t in report["targets"]] == ["C", "C copy"]
    assert all(t["identical"] for t in report["targets"])
    html = (tmp_path / "r.html").read_text()
    assert "C copy<br>max ULP" in html and 'id="swift-missing"' in html
    monkeypatch.setenv("CI", "true")  # a target not checked fails CI
    result = CliRunner().invoke(main, ["parity", str(spec), "--samples", "400", "--streams", "1"])
    assert result.exit_code == 1 and "the Swift target was not checked" in result.output


def test_targets_import_nothing_of_the_harness_or_the_cli():
    """Targets emit; running their output is the harness's (adapters keyed by name)."""
    import ast

    codegen = Path(build_module.__file__).parent
    for path in [
        *sorted((codegen / "targets").glob("*.py")),
        codegen / "bundle.py",
        codegen / "pipeline.py",
        codegen / "backends" / "cfamily.py",
    ]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("parity_tests", "featgen")), (path.name, name)


def test_the_harness_compiles_the_files_the_roles_name(example, plain):
    """The runtimes take their sources from the Bundle's roles; a plain {path: text} copy (a
    test's edited tree) falls back to path rules, which must pick the same files."""
    from featgen.harness.kotlin_jvm_runtime import kotlin_sources
    from featgen.harness.sources import c_sources
    from featgen.harness.swift_runtime import swift_sources

    for bundle in (example, build(plain)):
        name, copy = bundle.manifest.spec, dict(bundle)
        assert c_sources(bundle) == c_sources(copy)
        assert swift_sources(bundle, name) == swift_sources(copy, name)
        assert kotlin_sources(bundle) == kotlin_sources(copy)
    # a Bundle's sources are its roles: a stray file in c/ is not compiled, nor a role-less one
    stray = dataclasses.replace(example, files=Files({**example.files, "c/stray.c": "#error\n"}))
    assert "stray.c" not in c_sources(stray) and "stray.c" in c_sources(dict(stray))
    roles = {**example.roles, "C": {**example.roles["C"], "extra": "c/stray.c"}}
    assert "stray.c" in c_sources(dataclasses.replace(stray, roles=roles))
    header = Path(example.role("C", "detector_header")).name
    assert c_sources(example)[header] == example.text("C", "detector_header")
