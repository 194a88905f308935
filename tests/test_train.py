"""featgen train: labelled data (CSV, NPZ) with located errors, group split, metrics, the model
directory; the example data generator; featgen proximity."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from featgen.cli import main
from featgen.data import DataError, read_labeled
from parity_tests.model_fixtures import make_data_module

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "examples" / "twist_and_go" / "spec.yaml"
INPUTS = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")


@pytest.fixture(scope="module")
def csv_data(tmp_path_factory):
    out = tmp_path_factory.mktemp("data")
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "twist_and_go" / "make_data.py"),
            "-o",
            str(out),
            "--subjects",
            "3",
            "--recordings",
            "1",
            "--seconds",
            "25",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "naive rule" in run.stdout
    return sorted(out.glob("*.csv"))


def test_generator_is_seeded_and_physical():
    make_data = make_data_module()
    a = make_data.generate(1, 1, 20.0, seed=5)
    b = make_data.generate(1, 1, 20.0, seed=5)
    c = make_data.generate(1, 1, 20.0, seed=6)
    (sa, la, _), (sb, lb, _) = a["s00_r00"], b["s00_r00"]
    assert np.array_equal(sa, sb) and np.array_equal(la, lb)
    assert not np.array_equal(sa, c["s00_r00"][0])
    still = sa[:40]  # lying on the table first
    assert abs(np.linalg.norm(still[:, :3], axis=1).mean() - 9.81) < 0.2
    assert np.abs(still[:, 3:]).max() < 0.1
    assert 0 < la.mean() < 0.2  # some twist, mostly not
    twist = np.abs(sa[la == 1, 4]).max()
    assert twist > 3.0  # fast spin about the long axis


def test_train_writes_a_model_directory_and_splits_by_group(csv_data, tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "train",
            str(SPEC),
            *map(str, csv_data),
            "-o",
            str(tmp_path / "model"),
            "--rounds",
            "10",
            "--max-depth",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.output and "confusion" in result.output
    meta = json.loads((tmp_path / "model" / "featgen_model.json").read_text())
    metrics = json.loads((tmp_path / "model" / "metrics.json").read_text())
    from featurespec import load_spec

    spec = load_spec(SPEC)
    assert meta["feature_names"] == list(spec.feature_names)
    assert meta["features_hash"] == spec.features_hash
    data = metrics["data"]
    assert set(data["train_groups"]).isdisjoint(data["test_groups"])
    assert len(data["train_groups"]) + len(data["test_groups"]) == 3
    assert metrics["roc_auc"] is not None and 0.5 < metrics["roc_auc"] <= 1.0
    (tn, fp), (fn, tp) = metrics["confusion_matrix"]["rows_true_cols_predicted"]
    assert tn + fp + fn + tp == data["test_vectors"]
    assert metrics["threshold"] == 0.8  # the spec's decision block


def test_npz_convention_reads_labels_and_groups(tmp_path):
    make_data = make_data_module()
    data = make_data.generate(2, 1, 5.0, seed=1)
    (path,) = make_data.write(data, tmp_path, "npz")
    recordings = read_labeled([path], INPUTS)
    assert set(recordings) == {"twist_and_go:s00_r00", "twist_and_go:s01_r00"}
    rec = recordings["twist_and_go:s01_r00"]
    assert rec.group == "1" and rec.labels.shape == (rec.samples.shape[0],)
    from featgen.data import read_recordings

    assert set(read_recordings([path], INPUTS)) == set(recordings)  # companions are not recordings


def _csv(tmp_path: Path, rows: list[str], name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(
        "acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_z,label,subject\n" + "\n".join(rows) + "\n"
    )
    return path


@pytest.mark.parametrize(
    "rows,column,message",
    [
        (
            ["0,0,9.8,0,0,0,1,a", "0,0,9.8,0,0,0,x,a"],
            "label",
            "rec.csv:3: column 'label': 'x' is not a label (a whole number >= 0: 0/1, or the class index)",
        ),
        (["0,0,9.8,0,0,0,-1,a"], "label", "rec.csv:2: column 'label': '-1' is not a label"),
        (["0,0,9.8,0,0,0,0.5,a"], "label", "rec.csv:2: column 'label': '0.5' is not a label"),
        (
            ["0,0,9.8,0,0,0,1,a", "0,0,9.8,0,0,0,1,b"],
            "label",
            "rec.csv:3: column 'subject' changes from 'a' (line 2) to 'b'; a recording belongs to one "
            "group (split the file)",
        ),
        (["0,0,9.8,0,0,0,1,a"], "y", "rec.csv:1: no label column 'y'; the header has"),
    ],
)
def test_label_errors_are_located(tmp_path, rows, column, message):
    path = _csv(tmp_path, rows)
    with pytest.raises(DataError) as info:
        read_labeled([path], INPUTS, label_column=column)
    assert (
        str(info.value).startswith(f"{tmp_path}/{message}")
        or str(info.value).startswith(f"{path}:")
        and message.split(": ", 1)[1] in str(info.value)
    )


def test_npz_label_errors_are_located(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, rec=np.zeros((5, 6)))
    with pytest.raises(
        DataError,
        match=r"d\.npz: recording 'rec' has no labels: expected an "
        r"array 'rec\.label' of shape \(5,\)",
    ):
        read_labeled([path], INPUTS)
    np.savez(path, rec=np.zeros((5, 6)), **{"rec.label": np.array([0, 1, 0, 2.5, 0])})
    with pytest.raises(DataError, match=r"array 'rec\.label', sample 3: 2\.5 is not a label"):
        read_labeled([path], INPUTS)


def test_train_refuses_one_group_and_non_binary_labels(tmp_path):
    one = _csv(tmp_path, ["0,0,9.8,0,0,0,0,a", "0,0,9.8,0,0,0,1,a"] * 75)  # both classes
    result = CliRunner().invoke(main, ["train", str(SPEC), str(one), "-o", str(tmp_path / "m")])
    assert result.exit_code == 2 and "need at least 2 groups" in result.output
    three = [
        _csv(tmp_path, [f"0,0,9.8,0,0,0,{k % 3},{g}"] * 150, f"r{g}.csv")
        for g, k in ((0, 0), (1, 1), (2, 2))
    ]
    result = CliRunner().invoke(
        main, ["train", str(SPEC), *map(str, three), "-o", str(tmp_path / "m")]
    )
    assert result.exit_code == 2 and "binary:logistic needs labels 0 and 1" in result.output


def test_proximity_command(csv_data, tmp_path):
    out = tmp_path / "p.json"
    result = CliRunner().invoke(
        main, ["proximity", str(SPEC), *map(str, csv_data[:1]), "-k", "8", "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["k"] == 8 and report["vectors"] > 1000 and report["features"]
    assert "1-8 ULPs away" in result.output


def test_multiclass_metrics_by_hand():
    """Per-class precision, recall, F1 and macro F1 from a confusion matrix worked out by hand:
    true [0, 0, 1, 1, 2], predicted [0, 1, 1, 1, 0]."""
    from codegen.trees.decision import Decision
    from featgen.train import evaluate

    y = np.array([0, 0, 1, 1, 2])
    margins = np.full((5, 3), -1.0, dtype=np.float32)
    margins[np.arange(5), [0, 1, 1, 1, 0]] = 1.0
    m = evaluate(Decision("multiclass", 0.0, 0.0, 1, 1, 0), y, margins, 3)
    assert m["confusion_matrix"]["rows_true_cols_predicted"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert m["accuracy"] == 3 / 5
    c = m["per_class"]
    assert (c["0"]["precision"], c["0"]["recall"], c["0"]["f1"]) == (1 / 2, 1 / 2, 1 / 2)
    assert (c["1"]["precision"], c["1"]["recall"], c["1"]["f1"]) == (2 / 3, 1.0, 4 / 5)
    assert (c["2"]["precision"], c["2"]["recall"], c["2"]["f1"]) == (None, 0.0, 0.0)
    assert [c[k]["support"] for k in "012"] == [2, 2, 1]
    assert m["macro_f1"] == pytest.approx((1 / 2 + 4 / 5 + 0.0) / 3, rel=1e-15)


# ---------------------------------------------------------------- the example's evaluation

EVALUATE = ROOT / "examples" / "twist_and_go" / "evaluate.py"


def test_negative_streams_hold_no_twist():
    make_data = make_data_module()
    data = make_data.generate(2, 1, 40.0, seed=3, twists=False)
    for samples, labels, _ in data.values():
        assert samples.shape[0] > 1500 and not labels.any()
    with_twists = make_data.generate(2, 1, 40.0, seed=3)
    assert any(labels.any() for _, labels, _ in with_twists.values())


def test_evaluation_runs_and_counts_consistently(tmp_path):
    out = tmp_path / "evaluation.json"
    run = subprocess.run(
        [
            sys.executable,
            str(EVALUATE),
            "-o",
            str(out),
            "--negative-subjects",
            "1",
            "--negative-seconds",
            "30",
            "--gesture-subjects",
            "1",
            "--gesture-recordings",
            "1",
            "--gesture-seconds",
            "40",
        ],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
    )
    assert run.returncode == 0, run.stderr
    report = json.loads(out.read_text())
    assert "model:" in run.stdout and "naive |gyro| > 2.5 rad/s" in run.stdout
    for d in (report["model"], report["naive_rule"], *report["naive_rule"]["sweep"].values()):
        assert d["gestures"] > 0 and d["detected"] + d["missed"] == d["gestures"]
        assert d["false_openings_per_hour"] == pytest.approx(
            d["false_openings_negative_streams"] / d["negative_hours"], rel=1e-3
        )
    equal = report["naive_rule"]["at_model_recall"]  # the highest threshold as good as the model
    if equal is not None:
        assert equal["detected"] >= report["model"]["detected"]
        higher = [
            v for k, v in report["naive_rule"]["sweep"].items() if float(k) > equal["threshold"]
        ]
        assert all(v["detected"] < report["model"]["detected"] for v in higher)


def test_committed_evaluation_is_for_the_committed_model():
    """examples/twist_and_go/model/evaluation.json must be re-made after every retraining."""
    from featurespec import load_spec

    spec = load_spec(SPEC)
    meta = json.loads((SPEC.parent / "model" / "featgen_model.json").read_text())
    report = json.loads((SPEC.parent / "model" / "evaluation.json").read_text())
    assert report["model_sha256"] == meta["model_sha256"]
    assert report["features_hash"] == spec.features_hash
    assert report["features"] == len(spec.feature_names)
    assert report["model"]["negative_hours"] >= 1.0  # false openings per hour mean something
