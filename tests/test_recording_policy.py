"""The short-recording and non-finite policies (featgen/policy.py, docs/semantics.md), the same
in featurize, train and parity, driven through the real console entry (``python3 -m featgen``):
counted and named, refused with --min-vectors, non-finite samples refused at file:line unless
--drop-nonfinite."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
spec: featgen/v1
name: tiny_policy
sample_rate_hz: 50
inputs: [ax, ay]
windows:
  w: {length: 20, hop: 5}
  s: {length: 8, hop: 3}
features:
  - compute: [mean, max]
    of: [ax, ay]
    over: [w, s]
"""
LENGTHS = {"a": 5, "b": 19, "c": 20, "d": 60, "e": 3}  # a, b, e: too short for a vector


def featgen(*args) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), COLUMNS="300")
    result = subprocess.run(
        [sys.executable, "-m", "featgen", *map(str, args)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def _csv(path: Path, x: np.ndarray, labels=None) -> Path:
    head = "ax,ay" + (",label" if labels is not None else "")
    rows = [
        f"{a!r},{b!r}" + (f",{labels[i]}" if labels is not None else "")
        for i, (a, b) in enumerate(x.tolist())
    ]
    path.write_text("\n".join([head, *rows]) + "\n")
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy")
    (root / "spec.yaml").write_text(SPEC)
    rng = np.random.default_rng(11)
    (root / "recs").mkdir()
    for name, n in LENGTHS.items():
        _csv(root / "recs" / f"{name}.csv", rng.normal(size=(n, 2)))
    x = rng.normal(size=(40, 2))
    x[24, 1] = np.nan  # sample 24: line 26 of the file
    _csv(root / "holey.csv", x)
    return root


def _one_line(text: str) -> str:
    return " ".join(text.split())


def test_vector_counts_follow_the_schedule():
    """policy.expected_vectors against the generated numpy code itself."""
    sys.path.insert(0, str(ROOT))
    from codegen.build import generate
    from featgen.harness import load_numpy_module
    from featgen.policy import expected_vectors
    from featurespec import load_spec_text

    spec = load_spec_text(SPEC)
    module = load_numpy_module(generate(spec), spec.name)
    for n in (0, 1, 19, 20, 21, 22, 23, 24, 25, 26, 47, 100):
        assert expected_vectors(spec, n) == len(module.featurize(np.ones((n, 2)))[1]), n


def test_featurize_counts_and_names_recordings_without_vectors(root, tmp_path):
    r = featgen("featurize", root / "spec.yaml", root / "recs", "-o", tmp_path / "f.csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith(
        "from 5 recording(s) to " + str(tmp_path / "f.csv") + " (3 gave none)"
    )
    err = _one_line(r.stderr)
    assert (
        "warning: 3 of 5 recording(s) gave no feature vectors: a (5 samples), b (19 "
        "samples), e (3 samples); each needs at least 20 finite samples (the longest "
        "window)"
    ) in err
    assert "--min-vectors N refuses them instead" in err
    rows = (tmp_path / "f.csv").read_text().splitlines()[1:]
    assert {row.split(",")[0] for row in rows} == {"c", "d"}


def test_featurize_refuses_when_nothing_or_too_little_is_produced(root, tmp_path):
    out = tmp_path / "f.csv"
    r = featgen(
        "featurize", root / "spec.yaml", root / "recs" / "a.csv", root / "recs" / "e.csv", "-o", out
    )
    assert r.returncode == 2 and not out.exists()
    assert (
        f"no feature vectors at all from 2 recording(s), so nothing was written to {out}"
        in _one_line(r.stderr)
    )
    r = featgen("featurize", root / "spec.yaml", root / "recs", "-o", out, "--min-vectors", "2")
    assert r.returncode == 2 and not out.exists()
    assert (
        "--min-vectors 2: 4 of 5 recording(s) gave fewer vectors: a (5 samples), b (19 "
        "samples), c (20 samples, 1 vector), e (3 samples)"
    ) in _one_line(r.stderr)


@pytest.mark.parametrize("command", ["featurize", "train", "parity"])
def test_nonfinite_is_refused_at_file_line_by_every_command(root, tmp_path, command):
    """One flag, one default, one message: the file and line, not a sample index."""
    holey = root / "holey.csv"
    if command == "train":
        labelled = tmp_path / "holey.csv"
        lines = holey.read_text().splitlines()
        labelled.write_text(
            "\n".join(
                [lines[0] + ",label"] + [f"{line},{i % 2}" for i, line in enumerate(lines[1:])]
            )
            + "\n"
        )
        args = ["train", root / "spec.yaml", labelled, "-o", tmp_path / "m"]
    elif command == "featurize":
        args = ["featurize", root / "spec.yaml", holey, "-o", tmp_path / "f.csv"]
    else:
        args = ["parity", root / "spec.yaml", "--data", holey, root / "recs"]
    r = featgen(*args)
    assert r.returncode == 2, r.stderr
    assert (
        f"error: {holey.parent / 'holey.csv' if command != 'train' else tmp_path / 'holey.csv'}"
        ":26: input 'ay': nan is not finite. featgen refuses non-finite samples; pass "
        "--drop-nonfinite to drop them, as the device runtimes do"
    ) in _one_line(r.stderr)
    assert "sample 24" not in r.stderr


def test_train_counts_short_recordings_and_drops_nonfinite_when_told(root, tmp_path):
    rng = np.random.default_rng(5)
    data = tmp_path / "data"
    data.mkdir()
    for i in range(4):
        n = 6 if i == 3 else 80
        x = rng.normal(size=(n, 2))
        if i == 0:
            x[10, 0] = np.inf
        _csv(data / f"r{i}.csv", x, [k % 2 for k in range(n)])
    r = featgen(
        "train",
        root / "spec.yaml",
        data,
        "-o",
        tmp_path / "m",
        "--drop-nonfinite",
        "--rounds",
        "2",
        "--test-groups",
        "r1",
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("4 recordings (1 gave no vectors), ")
    assert "warning: 1 of 4 recording(s) gave no feature vectors: r3 (6 samples)" in _one_line(
        r.stderr
    )
    r = featgen(
        "train",
        root / "spec.yaml",
        data,
        "-o",
        tmp_path / "m2",
        "--drop-nonfinite",
        "--rounds",
        "2",
        "--min-vectors",
        "1",
    )
    assert r.returncode == 2 and not (tmp_path / "m2").exists()
    assert "--min-vectors 1: 1 of 4 recording(s) gave fewer vectors: r3 (6 samples)" in _one_line(
        r.stderr
    )


def test_parity_takes_directories_and_applies_min_vectors(root):
    r = featgen(
        "parity",
        root / "spec.yaml",
        "--data",
        root / "recs" / "d.csv",
        root / "recs",
        "--min-vectors",
        "1",
    )
    assert r.returncode == 2
    assert (
        "--min-vectors 1: 3 of 5 recording(s) gave fewer vectors: a (5 samples), b (19 "
        "samples), e (3 samples)" in _one_line(r.stderr)
    )


@pytest.mark.parametrize(
    "output, message",
    [
        (
            "feats.cvs",
            (
                "unknown output extension '.cvs'; featurize writes .csv (a table with a "
                "header of names), .npz"
            ),
        ),
        ("nodir/feats.csv", "the folder {tmp}/nodir does not exist"),
    ],
)
def test_featurize_output_is_checked_before_any_work(root, tmp_path, output, message):
    r = featgen("featurize", root / "spec.yaml", root / "recs", "-o", tmp_path / output)
    assert r.returncode == 2
    assert message.format(tmp=tmp_path) in _one_line(r.stderr)
    assert list(tmp_path.iterdir()) == []


def test_featurize_directory_output_creates_missing_parents(root, tmp_path):
    out = tmp_path / "new" / "parts.parquet"
    r = featgen("featurize", root / "spec.yaml", root / "recs" / "d.csv", "-o", out)
    assert r.returncode == 0, r.stderr
    assert [p.name for p in out.glob("*.parquet")] == ["part-d.parquet"]


def test_parquet_directory_output_counts_short_recordings_too(root, tmp_path):
    r = featgen("featurize", root / "spec.yaml", root / "recs", "-o", tmp_path / "parts")
    assert r.returncode == 0, r.stderr
    assert (
        "warning: 3 of 5 recording(s) gave no feature vectors: a (5 samples), b (19 "
        "samples), e (3 samples)" in _one_line(r.stderr)
    )
    r = featgen("featurize", root / "spec.yaml", root / "recs" / "a.csv", "-o", tmp_path / "p2")
    assert r.returncode == 2
    assert "no feature vectors at all from 1 recording(s)" in _one_line(r.stderr)
