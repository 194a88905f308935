"""The featgen command line, as a user drives it: exit codes, located messages, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from codegen.build import generate
from featgen.cli import main
from featgen.harness import load_numpy_module
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
SPEC = str(ROOT / "examples" / "twist_and_go" / "spec.yaml")
INPUTS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    return result


def _csv(path: Path, samples: np.ndarray, header=INPUTS, extra=True):
    cols = ["t", *header] if extra else list(header)
    lines = [",".join(cols)]
    for i, row in enumerate(samples):
        values = [repr(float(v)) for v in row]
        lines.append(",".join(([str(i)] if extra else []) + values))
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def module():
    spec = load_spec(SPEC)
    return load_numpy_module(generate(spec), spec.name)


def test_build_then_check_then_stale(tmp_path):
    out = tmp_path / "gen"
    assert run("build", SPEC, "-o", out).exit_code == 0
    first = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert run("build", SPEC, "-o", out).exit_code == 0
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    assert run("check", SPEC, "-o", out).exit_code == 0
    edited = tmp_path / "spec.yaml"
    text = Path(SPEC).read_text().split("\nmodel:")[0] + "\n"  # the model needs the old features
    edited.write_text(text.replace("threshold: 2.5", "threshold: 2.75"))
    result = run("check", edited, "-o", out)
    assert result.exit_code == 1 and "stale" in result.output


def test_check_of_a_tree_built_with_golden_checks_its_golden_vectors(tmp_path):
    """`featgen check` (no flag) on a tree built with --golden, like the committed generated/:
    up to date; an edited golden.bin is stale."""
    out = tmp_path / "gen"
    assert run("build", "--golden", SPEC, "-o", out).exit_code == 0
    result = run("check", SPEC, "-o", out)
    assert result.exit_code == 0, result.output
    golden = next(out.rglob("golden.bin"))
    data = bytearray(golden.read_bytes())
    data[-1] ^= 1
    golden.write_bytes(bytes(data))
    result = run("check", SPEC, "-o", out)
    assert result.exit_code == 1 and "golden.bin" in result.output
    assert "featgen build --golden" in result.output


def test_invalid_spec_is_a_located_error_and_leaves_output_alone(tmp_path):
    out = tmp_path / "gen"
    run("build", SPEC, "-o", out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    bad = tmp_path / "spec.yaml"
    bad.write_text(
        Path(SPEC).read_text().replace("of: [gyro_y, gyro_mag]", "of: [gyro_q, gyro_mag]")
    )
    result = run("build", bad, "-o", out)
    assert result.exit_code == 2
    assert "spec.yaml:" in result.output and "unknown signal 'gyro_q'" in result.output
    assert "did you mean" in result.output
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_featurize_csv_matches_the_generated_module_exactly(tmp_path, module):
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(400, 6))
    _csv(tmp_path / "rec.csv", samples)
    result = run("featurize", SPEC, tmp_path / "rec.csv", "-o", tmp_path / "f.csv")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "f.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert header[:2] == ["recording", "end_sample"] and tuple(header[2:]) == module.FEATURE_NAMES
    expected, ends = module.featurize(samples)
    got = np.array([[float(v) for v in line.split(",")[2:]] for line in lines[1:]])
    assert got.shape == expected.shape
    assert (got.view(np.int64) == expected.view(np.int64)).all()  # repr round-trips
    assert [int(line.split(",")[1]) for line in lines[1:]] == ends.tolist()


def test_featurize_npz_in_and_out(tmp_path, module):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 6)), rng.normal(size=(250, 6))
    np.savez(tmp_path / "recs.npz", first=a, second=b)
    result = run("featurize", SPEC, tmp_path / "recs.npz", "-o", tmp_path / "f.npz")
    assert result.exit_code == 0, result.output
    with np.load(tmp_path / "f.npz") as out:
        assert (
            out["features"].shape[0]
            == module.featurize(a)[0].shape[0] + module.featurize(b)[0].shape[0]
        )
        assert set(out["recording"]) == {"recs:first", "recs:second"}
        assert tuple(out["feature_names"]) == module.FEATURE_NAMES


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda p: _csv(
                p,
                np.zeros((5, 6)),
                header=["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_q"],
            ),
            "missing column(s) 'gyro_z'",
        ),
        (
            lambda p: p.write_text(
                "acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n1,2,3,4,5,6\n1,2,abc,4,5,6\n"
            ),
            "rec.csv:3: column 'acc_z': 'abc' is not a number",
        ),
        (
            lambda p: p.write_text("acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n1,2,3,4,5\n"),
            "rec.csv:2: 5 fields, the header has 6",
        ),
        (lambda p: p.write_text(""), "empty file"),
        (
            lambda p: p.write_text(
                "acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z\n1,2,3,4,5,6\n1,nan,3,4,5,6\n"
            ),
            "rec.csv:3: input 'acc_y': nan is not finite. featgen refuses non-finite samples; pass "
            "--drop-nonfinite",
        ),
    ],
)
def test_featurize_bad_data_gets_a_located_message(tmp_path, mutate, message):
    path = tmp_path / "rec.csv"
    mutate(path)
    result = run("featurize", SPEC, path, "-o", tmp_path / "f.csv")
    assert result.exit_code == 2
    assert message in result.output, result.output
    assert not (tmp_path / "f.csv").exists()


def test_featurize_wrong_npz_shape(tmp_path):
    np.savez(tmp_path / "bad.npz", rec=np.zeros((10, 5)))
    result = run("featurize", SPEC, tmp_path / "bad.npz", "-o", tmp_path / "f.csv")
    assert result.exit_code == 2 and "array 'rec' has shape (10, 5)" in result.output


def test_drop_nonfinite_matches_device_behaviour(tmp_path, module):
    rng = np.random.default_rng(5)
    samples = rng.normal(size=(300, 6))
    samples[150, 2] = np.inf
    _csv(tmp_path / "rec.csv", samples)
    result = run(
        "featurize", SPEC, tmp_path / "rec.csv", "-o", tmp_path / "f.csv", "--drop-nonfinite"
    )
    assert result.exit_code == 0, result.output
    rows = (tmp_path / "f.csv").read_text().splitlines()[1:]
    assert len(rows) == module.featurize(np.delete(samples, 150, axis=0))[0].shape[0]


def test_parity_command_prints_the_report_and_writes_json(tmp_path):
    result = run(
        "parity", SPEC, "--samples", "1500", "--streams", "2", "--json", tmp_path / "r.json"
    )
    assert result.exit_code == 0, result.output
    assert "bit-identical" in result.output and "worst feature" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    c = next(t for t in report["targets"] if t["target"] == "C")
    assert c["identical"] and c["vectors"] > 2000
    assert all(f["max_ulp"] == 0 for f in c["features"].values())


def test_parity_targets_rejects_an_unknown_name_before_running(tmp_path):
    from codegen.targets import parity_targets

    result = run("parity", SPEC, "--targets", "c,Fortran", "--json", tmp_path / "r.json")
    assert result.exit_code == 2, result.output
    valid = ", ".join(t.name for t in parity_targets())
    assert f"--targets: unknown target 'Fortran'; valid targets: {valid}" in result.output
    assert not (tmp_path / "r.json").exists()
    assert run("parity", SPEC, "--targets", "numpy").exit_code == 2  # the reference, not a target
    from featgen.harness import adapters

    chosen = [t.name for t, _ in adapters.select("KOTLIN, swift")]  # keys too; registry order
    assert chosen == ["Swift", "Kotlin/JVM"]
    assert "--targets" in run("parity", "--help").output


def test_parity_targets_runs_only_the_chosen_ones(tmp_path, monkeypatch):
    """``--targets c`` (case-insensitive): only C's features and detector are compared, and the
    JSON says so; the others are neither run nor reported NOT CHECKED."""
    from featgen.harness import adapters

    monkeypatch.setenv("CI", "true")  # a NOT CHECKED target would be an error
    built = []
    for name, a in adapters.ADAPTERS.items():
        if name != "C":  # any other target built would fail the run
            monkeypatch.setattr(a, "featuriser", lambda *args, _n=name: built.append(_n))
            monkeypatch.setattr(a, "detector", lambda *args, _n=name: built.append(_n))
    out = tmp_path / "r.json"
    result = run(
        "parity", SPEC, "--samples", "1500", "--streams", "1", "--targets", "c", "--json", out
    )
    assert result.exit_code == 0, result.output
    assert built == []
    report = json.loads(out.read_text())
    assert [t["target"] for t in report["targets"]] == ["C", "C device"]
    assert report["checked"] == ["C"] and report["not_checked"] == {}
    assert list(report["predictions"]["targets"]) == ["C"]
    assert list(report["predictions"]["boundary_vectors"]["targets_margins_bit_equal"]) == ["C"]
    assert report["predictions"]["identical"]
    assert "Swift" not in result.output and "Kotlin" not in result.output


def test_parity_on_user_data(tmp_path):
    rng = np.random.default_rng(6)
    _csv(tmp_path / "rec.csv", rng.normal(size=(500, 6)))
    result = run("parity", SPEC, "--data", tmp_path / "rec.csv")
    assert result.exit_code == 0, result.output
    assert "1 recording(s), 500 samples" in result.output


def test_help_and_version():
    assert "featurize" in run("--help").output
    assert "0.1.0" in run("--version").output


def test_markup_like_text_in_a_spec_is_printed_not_interpreted(tmp_path):
    bad = tmp_path / "spec.yaml"
    bad.write_text(Path(SPEC).read_text().replace("name: twist_and_go", "name: '[/x]bad'"))
    result = run("check", bad, "-o", tmp_path)
    assert result.exit_code == 2
    assert "'[/x]bad' is not a valid name" in result.output


def test_specs_whose_type_names_collide_cannot_share_an_output_root(tmp_path):
    """``a_b1`` and ``a_b_1`` both give the Swift/Kotlin type name AB1: the second build into the
    same root is a located spec error (exit 2) and writes nothing; rebuilding the first is fine."""
    text = (
        "spec: featgen/v1\nname: {}\nsample_rate_hz: 50\ninputs: [x]\n"
        "windows: {{w: {{length: 4, hop: 2}}}}\nfeatures:\n  - {{compute: [mean], of: x, "
        "over: w}}\n"
    )
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text(text.format("a_b1"))
    second.write_text(text.format("a_b_1"))
    out = tmp_path / "gen"
    assert run("build", first, "-o", out).exit_code == 0
    result = run("build", second, "-o", out)
    assert result.exit_code == 2, result.output
    assert (
        f"{second}:2:7: name: 'a_b_1' and the spec 'a_b1' already built in {out / 'a_b1'}/ "
        "both give the type name AB1" in " ".join(result.output.split())
    )
    assert not (out / "a_b_1").exists()
    assert run("build", first, "-o", out).exit_code == 0
    assert run("build", second, "-o", tmp_path / "elsewhere").exit_code == 0
