#!/usr/bin/env python3
"""Leave-one-subject-out cross-validation of the SPAR model's recipe (a steadier figure than the
one 3-subject split of ``featgen train``).

Features come from the spec's generated numpy code (``featgen.train.featurize``, as in
training); for each of the 10 subjects, XGBoost is trained on the other 9 with the parameters
recorded in ``model/featgen_model.json`` and scored on the held-out subject with the phones'
rule (largest margin, first on ties). Prints and writes (``--json``) the pooled confusion
matrix, accuracy, per-class and macro F1, per-subject accuracy, and per-recording accuracy
(majority vote of a recording's vectors, first class on ties).

    python examples/spar/make_data.py -o out/spar
    python examples/spar/cross_validate.py out/spar/spar.npz --json examples/spar/cross_validation.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from codegen.trees.decision import argmax_first  # noqa: E402
from featgen.data import read_labeled  # noqa: E402
from featgen.train import featurize  # noqa: E402
from featurespec import load_spec  # noqa: E402

CLASSES = ("PEN", "ABD", "FEL", "IR", "ER", "TRAP", "ROW")


def f1_table(matrix: np.ndarray) -> dict:
    out = {}
    for c, name in enumerate(CLASSES):
        tp, row, col = int(matrix[c, c]), int(matrix[c].sum()), int(matrix[:, c].sum())
        out[name] = {
            "precision": tp / col if col else None,
            "recall": tp / row if row else None,
            "f1": 2 * tp / (row + col) if row + col else None,
            "support": row,
        }
    return out


def main(argv=None) -> int:
    import xgboost

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path, help="spar.npz from make_data.py")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    spec = load_spec(HERE / "spec.yaml")
    meta = json.loads((HERE / "model" / "featgen_model.json").read_text())
    params = {k: v for k, v in meta["params"].items() if k != "num_boost_round"}
    rounds = meta["params"]["num_boost_round"]
    recordings = read_labeled([args.data], spec.inputs, meta["label_column"], meta["group_column"])
    X, y, groups, rec_index, _, _ = featurize(spec, recordings)
    k = len(CLASSES)
    matrix = np.zeros((k, k), dtype=np.int64)
    per_subject, rec_correct, rec_total = {}, 0, 0
    for subject in sorted(set(groups.tolist()), key=int):
        test = groups == subject
        booster = xgboost.train(
            params,
            xgboost.DMatrix(X[~test], label=y[~test], missing=np.nan),
            num_boost_round=rounds,
        )
        margins = np.asarray(
            booster.inplace_predict(X[test], predict_type="margin"), dtype=np.float32
        ).reshape(int(test.sum()), k)
        pred = argmax_first(margins)
        np.add.at(matrix, (y[test], pred), 1)
        per_subject[subject] = float((pred == y[test]).mean())
        for r in sorted(set(rec_index[test].tolist())):
            rows = rec_index[test] == r
            vote = int(np.argmax(np.bincount(pred[rows], minlength=k)))
            rec_correct += int(vote == y[test][rows][0])
            rec_total += 1
        print(f"subject {subject:>2}: accuracy {100 * per_subject[subject]:.1f}%", flush=True)
    table = f1_table(matrix)
    result = {
        "method": "leave one subject out; parameters of model/featgen_model.json; vector "
        "decision = largest margin (first on ties); recording = majority vote",
        "params": meta["params"],
        "vectors": int(matrix.sum()),
        "accuracy": float(np.trace(matrix) / matrix.sum()),
        "macro_f1": float(np.mean([v["f1"] or 0.0 for v in table.values()])),
        "recording_accuracy": rec_correct / rec_total,
        "recordings": rec_total,
        "per_subject_accuracy": per_subject,
        "per_class": table,
        "confusion_matrix": {"labels": list(CLASSES), "rows_true_cols_predicted": matrix.tolist()},
    }
    print(
        f"pooled over {result['vectors']} vectors: accuracy {100 * result['accuracy']:.1f}%, "
        f"macro F1 {result['macro_f1']:.3f}; recordings (majority vote) {rec_correct}/"
        f"{rec_total}"
    )
    print("F1: " + ", ".join(f"{c} {v['f1']:.3f}" for c, v in table.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
