"""``featgen train``'s held-out data and class names, driven through the real console entry
(``python3 -m featgen`` in a subprocess): exit codes 0/2, the messages, and what reaches the
model directory and the generated code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
spec: featgen/v1
name: tiny_cls
sample_rate_hz: 50
inputs: [ax, ay]
windows:
  w: {length: 20, hop: 5}
features:
  - compute: [mean, std, min, max]
    of: [ax, ay]
    over: [w]
model: {path: model}
"""
NAMES = ["walk", "run", "sit"]


def featgen(*args, cwd=None) -> subprocess.CompletedProcess:
    """The real command line, from this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="200")
    result = subprocess.run(
        [sys.executable, "-m", "featgen", *map(str, args)],
        cwd=cwd or ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _write(path: Path, x: np.ndarray, labels, subject: str) -> Path:
    lines = ["ax,ay,label,subject"]
    lines += [f"{a!r},{b!r},{lab},{subject}" for (a, b), lab in zip(x.tolist(), labels)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Six subjects x three classes, one recording each (80 samples: 13 vectors); subject 5 in
    test/. Labels as names (named/) and as indices 0..2 (numbered/) and 1..3 (one_based/)."""
    root = tmp_path_factory.mktemp("train_cli")
    (root / "spec.yaml").write_text(SPEC)
    rng = np.random.default_rng(7)
    for s in range(6):
        for c, name in enumerate(NAMES):
            x = rng.normal(size=(80, 2)) + [c, -c]
            for kind, label in (("named", name), ("numbered", c), ("one_based", c + 1)):
                folder = root / kind / ("test" if s == 5 else "train")
                folder.mkdir(parents=True, exist_ok=True)
                _write(folder / f"s{s}_{name}.csv", x, [label] * 80, f"p{s}")
    return root


def _meta(model: Path) -> tuple[dict, dict]:
    return (
        json.loads((model / "featgen_model.json").read_text()),
        json.loads((model / "metrics.json").read_text()),
    )


def test_test_data_and_class_names_reach_the_model_and_the_code(data, tmp_path):
    model = data / "model"
    train = sorted((data / "named" / "train").glob("*.csv"))
    r = featgen(
        "train",
        data / "spec.yaml",
        *train,
        "--test-data",
        data / "named" / "test",
        "--classes",
        "walk",
        "run",
        "sit",
        "--objective",
        "multi:softprob",
        "--rounds",
        "5",
        "-o",
        model,
    )
    assert r.returncode == 0, r.stderr
    assert "split: --test-data: 3 recording(s) held out as given" in r.stdout
    assert "classes: 0 walk, 1 run, 2 sit\n" in r.stdout
    assert "F1 per class: walk " in r.stdout
    first = r.stdout.splitlines()[0]
    assert first == "18 recordings, 234 vectors: train 195 (5 group(s)), test 39 (1 group(s): p5)"
    meta, metrics = _meta(model)
    assert meta["class_names"] == NAMES and meta["split"]["by"] == "test-data"
    assert meta["split"]["test_groups"] == ["p5"]
    assert metrics["class_names"] == NAMES and metrics["vectors"] == 39
    assert "detector" in r.stdout and " s of held-out recordings" in r.stdout
    assert "0.00 h" not in r.stdout

    out = tmp_path / "gen"
    r = featgen("build", data / "spec.yaml", "-o", out)
    assert r.returncode == 0, r.stderr
    tree = out / "tiny_cls"
    manifest = json.loads((tree / "manifest.json").read_text())
    assert manifest["model"]["class_names"] == NAMES
    swift = (tree / "ios/Sources/TinyClsFeatures/TinyClsModel.swift").read_text()
    assert (
        "public enum Class: Int, CaseIterable, Sendable {\n        case walk = 0\n"
        "        case run = 1\n        case sit = 2\n" in swift
    )
    assert 'case .sit: return "sit"' in swift
    kotlin = (tree / "android/src/main/kotlin/featgen/TinyCls.kt").read_text()
    assert 'WALK(0, "walk"),\n        RUN(1, "run"),\n        SIT(2, "sit");' in kotlin
    assert "val predictedLabel: Label" in kotlin
    from coremltools.proto import Model_pb2

    mlmodel = Model_pb2.Model()
    mlmodel.ParseFromString((tree / "coreml/TinyClsModel.mlmodel").read_bytes())
    assert list(mlmodel.treeEnsembleClassifier.stringClassLabels.vector) == NAMES


def test_names_in_the_data_are_sorted_without_classes_and_numbers_are_named(data, tmp_path):
    r = featgen(
        "train",
        data / "spec.yaml",
        data / "named" / "train",
        "--test-groups",
        "p1",
        "p3",
        "--objective",
        "multi:softprob",
        "--rounds",
        "3",
        "-o",
        tmp_path / "m",
    )
    assert r.returncode == 0, r.stderr
    assert (
        "classes: 0 run, 1 sit, 2 walk (the data's names, sorted; --classes sets the order)"
        in r.stdout
    )
    assert "split: --test-groups: 2 group(s) held out as given" in r.stdout
    meta, metrics = _meta(tmp_path / "m")
    assert meta["split"]["test_groups"] == ["p1", "p3"] and meta["split"]["by"] == "test-groups"
    assert sorted(metrics["data"]["test_groups"]) == ["p1", "p3"]
    # numeric labels 0..2 with names: the same classes, in --classes order
    r = featgen(
        "train",
        data / "spec.yaml",
        data / "numbered" / "train",
        "--classes",
        *NAMES,
        "--objective",
        "multi:softprob",
        "--rounds",
        "3",
        "--test-fraction",
        "0",
        "-o",
        tmp_path / "m2",
    )
    assert r.returncode == 0, r.stderr
    assert "no evaluation: nothing was held out" in r.stdout
    meta, metrics = _meta(tmp_path / "m2")
    assert meta["class_names"] == NAMES and metrics["evaluated"] is False
    assert meta["split"]["by"] == "none" and metrics["data"]["train_vectors"] == 195


def test_test_fraction_zero_trains_on_every_recording(data, tmp_path):
    r = featgen(
        "train",
        data / "spec.yaml",
        data / "numbered" / "train",
        data / "numbered" / "test",
        "--objective",
        "multi:softprob",
        "--rounds",
        "30",
        "--test-fraction",
        "0",
        "-o",
        tmp_path / "m",
    )
    assert r.returncode == 0, r.stderr
    # progress on stderr (not a terminal here): round 1, every third round, the last one
    rounds = [
        line.split()[2] for line in r.stderr.splitlines() if line.startswith("boosting round ")
    ]
    assert rounds == ["1/30"] + [f"{k}/30" for k in range(3, 31, 3)]
    meta, metrics = _meta(tmp_path / "m")
    assert metrics["data"]["test_vectors"] == 0 and metrics["data"]["train_vectors"] == 234
    assert metrics["data"]["test_groups"] == [] and "class_names" not in meta


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["one_based/train", "--objective", "multi:softprob"],
            [
                "class(es) 0 never occur, so the model would have 4 classes",
                "labels 1 .. K: subtract 1 from every label",
                "or label the rows with class names",
            ],
        ),
        (
            ["numbered/train", "--classes", "a", "b", "--objective", "multi:softprob"],
            ["label 2, but --classes names 2 classes (labels 0 .. 1: a, b)"],
        ),
        (
            ["named/train", "--classes", "walk", "run", "--objective", "multi:softprob"],
            ["class 'sit' is not one of --classes walk run"],
        ),
        (["named/train"], ["binary:logistic with class names", "--classes NEGATIVE POSITIVE"]),
        (
            ["named/train", "--test-groups", "p9", "--objective", "multi:softprob"],
            ["--test-groups: no group 'p9' in the data (groups: p0, p1, p2, p3, p4)"],
        ),
        (
            [
                "named/train",
                "--test-groups",
                "p0",
                "p1",
                "p2",
                "p3",
                "p4",
                "--objective",
                "multi:softprob",
            ],
            ["--test-groups holds out every group"],
        ),
        (
            ["named/train", "--test-groups", "p1", "--test-fraction", "0.5"],
            ["--test-groups and --test-fraction: give the held-out data one way"],
        ),
        (
            ["named/train", "--classes", "Walk", "walk", "sit", "--objective", "multi:softprob"],
            ["give the same enum case 'walk'"],
        ),
        (
            ["named/train", "--classes", "+", "run", "sit", "--objective", "multi:softprob"],
            ["'+' has no ASCII letter or digit"],
        ),
        (
            ["named/train", "--cluster", "local:1", "--test-fraction", "0"],
            ["--test-fraction 0 are for the single-machine training"],
        ),
    ],
    ids=[
        "one-based",
        "label-beyond-classes",
        "name-not-in-classes",
        "binary-names",
        "unknown-group",
        "every-group",
        "two-ways",
        "same-enum-case",
        "no-identifier",
        "cluster-everything",
    ],
)
def test_refused_with_a_message_that_says_the_fix(data, tmp_path, args, message):
    args = [data / args[0], *args[1:]]
    r = featgen("train", data / "spec.yaml", *args, "--rounds", "2", "-o", tmp_path / "m")
    assert r.returncode == 2, (r.stdout, r.stderr)
    text = " ".join(r.stderr.split())
    for fragment in message:
        assert fragment in text, text
    assert not (tmp_path / "m").exists()


def test_class_names_become_identifiers_and_escaped_literals(data, tmp_path):
    """Enum cases are made of the names' ASCII letters and digits; the names themselves reach
    the code only as escaped string literals (a hand-edited featgen_model.json included)."""
    from codegen.trees.build import ClassNameError, class_identifiers

    got = class_identifiers(["Walking Upstairs", "3 taps", "default", 'say "hi" $x'])
    assert [(c["swift"], c["kotlin"]) for c in got] == [
        ("walkingUpstairs", "WALKING_UPSTAIRS"),
        ("class3Taps", "CLASS_3_TAPS"),
        ("`default`", "DEFAULT"),
        ("sayHiX", "SAY_HI_X"),
    ]
    with pytest.raises(ClassNameError, match="give the same enum case 'aB'"):
        class_identifiers(["a b", "A-B"])
    # a model directory whose class names were edited by hand: escaped where they land
    import shutil

    model = tmp_path / "model"
    train = sorted((data / "numbered" / "train").glob("*.csv"))
    r = featgen(
        "train",
        data / "spec.yaml",
        *train,
        "--objective",
        "multi:softprob",
        "--rounds",
        "2",
        "--test-fraction",
        "0",
        "-o",
        model,
    )
    assert r.returncode == 0, r.stderr
    shutil.copy(data / "spec.yaml", tmp_path / "spec.yaml")
    meta = json.loads((model / "featgen_model.json").read_text())
    meta["class_names"] = ["Walking Upstairs", 'say "hi" $x', "*/ evil"]
    (model / "featgen_model.json").write_text(json.dumps(meta))
    r = featgen("build", tmp_path / "spec.yaml", "-o", tmp_path / "gen")
    assert r.returncode == 0, r.stderr
    tree = tmp_path / "gen" / "tiny_cls"
    swift = (tree / "ios/Sources/TinyClsFeatures/TinyClsModel.swift").read_text()
    assert 'case .sayHiX: return "say \\"hi\\" $x"' in swift
    assert 'case .evil: return "*/ evil"' in swift
    kotlin = (tree / "android/src/main/kotlin/featgen/TinyCls.kt").read_text()
    assert 'SAY_HI_X(1, "say \\"hi\\" \\$x"),' in kotlin
    meta["class_names"] = ["a", "b"]  # not one per class: refused, located
    (model / "featgen_model.json").write_text(json.dumps(meta))
    r = featgen("build", tmp_path / "spec.yaml", "-o", tmp_path / "gen")
    assert r.returncode == 2
    assert "class_names in" in r.stderr and "must list 3 names" in " ".join(r.stderr.split())


def test_proximity_reads_directories_and_applies_the_policies(data, tmp_path):
    """proximity reads DATA like the other commands: directories, the non-finite refusal at
    file:line, recordings without vectors counted (docs/semantics.md)."""
    import shutil

    shutil.copy(data / "spec.yaml", tmp_path / "spec.yaml")
    r = featgen(
        "train",
        tmp_path / "spec.yaml",
        data / "numbered" / "train",
        "--objective",
        "multi:softprob",
        "--rounds",
        "2",
        "--test-fraction",
        "0",
        "-o",
        tmp_path / "model",
    )
    assert r.returncode == 0, r.stderr
    short = _write(tmp_path / "short.csv", np.zeros((7, 2)), [0] * 7, "p9")
    r = featgen("proximity", tmp_path / "spec.yaml", data / "numbered" / "test", short)
    assert r.returncode == 0, r.stderr
    assert " split features x 39 vectors" in " ".join(r.stdout.split())  # test/: 3 x 13
    assert "warning: 1 of 4 recording(s) gave no feature vectors: short (7 samples)" in " ".join(
        r.stderr.split()
    )
    holey = tmp_path / "holey.csv"
    lines = short.read_text().splitlines()
    lines[3] = "nan," + lines[3].split(",", 1)[1]
    holey.write_text("\n".join(lines) + "\n")
    r = featgen("proximity", tmp_path / "spec.yaml", holey)
    assert r.returncode == 2
    assert f"{holey}:4: input 'ax': nan is not finite" in " ".join(r.stderr.split())
