"""Reading recordings (CSV, NPZ) and writing feature tables, with located error messages."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Bad input data; the message names the file and the place in it."""


def read_recordings(paths: list[Path], inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{label: (n_samples, len(inputs)) float64} from CSV files (one recording each, a header
    row naming the inputs; other columns are ignored), Parquet files (likewise, a column per
    input) or NPZ files (each 2-D array is one recording with columns in input order; arrays
    named ``<recording>.<column>`` are per-sample columns that belong to it, e.g. labels, and
    are not recordings)."""
    recordings: dict[str, np.ndarray] = {}
    for path in map(Path, paths):
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            recordings[path.stem if path.stem not in recordings else str(path)] = \
                _read_csv(path, inputs)
        elif suffix == ".npz":
            for key, array in _read_npz(path, inputs).items():
                recordings[f"{path.stem}:{key}"] = array
        elif suffix == ".parquet":      # one recording per file (featgen/parquet_io.py)
            from .parquet_io import _read_parquet
            recordings[path.stem if path.stem not in recordings else str(path)] = \
                _read_parquet(path, str(path), inputs)[0]
        else:
            raise DataError(f"{path}: unsupported data file (expected .csv, .npz or .parquet)")
    return recordings


def _read_csv(path: Path, inputs: tuple[str, ...]) -> np.ndarray:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise DataError(f"{path}: empty file; expected a header row naming {', '.join(inputs)}")
        missing = [name for name in inputs if name not in header]
        if missing:
            raise DataError(f"{path}:1: missing column(s) {', '.join(map(repr, missing))}; "
                            f"the header has {', '.join(map(repr, header))}")
        columns = [header.index(name) for name in inputs]
        rows = []
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                rows.append([float(row[c]) for c in columns])
            except IndexError:
                raise DataError(f"{path}:{line_no}: {len(row)} fields, the header has {len(header)}")
            except ValueError:
                bad = next(c for c in columns if not _is_number(row[c]))
                raise DataError(f"{path}:{line_no}: column {header[bad]!r}: "
                                f"{row[bad]!r} is not a number")
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(inputs))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _read_npz(path: Path, inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for a corrupt archive
        raise DataError(f"{path}: not a readable .npz archive ({exc})")
    out = {}
    with archive:
        for key in archive.files:
            if "." in key:
                continue    # <recording>.<column>: labels, groups (see read_labeled)
            array = archive[key]
            if array.dtype.kind not in "fiu" or array.ndim != 2 or array.shape[1] != len(inputs):
                raise DataError(f"{path}: array {key!r} has shape {array.shape} and dtype "
                                f"{array.dtype}; expected numbers of shape (n_samples, "
                                f"{len(inputs)}) with columns {', '.join(inputs)}")
            out[key] = array.astype(np.float64)
    if not out:
        raise DataError(f"{path}: the archive holds no arrays")
    return out


def write_features(path: Path, names: tuple[str, ...],
                   tables: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """CSV (recording, end_sample, one column per feature; values as exact repr) or NPZ."""
    path = Path(path)
    labels = [label for label, (x, _) in tables.items() for _ in range(x.shape[0])]
    features = np.concatenate([x for x, _ in tables.values()]) if tables else \
        np.empty((0, len(names)))
    ends = np.concatenate([e for _, e in tables.values()]) if tables else np.empty(0, np.int64)
    if path.suffix.lower() == ".npz":
        np.savez(path, features=features, end_sample=ends, recording=np.array(labels, dtype=str),
                 feature_names=np.array(names, dtype=str))
        return
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["recording", "end_sample", *names])
    for label, end, row in zip(labels, ends, features):
        writer.writerow([label, int(end), *map(repr, row.tolist())])
    path.write_text(buffer.getvalue(), encoding="utf-8")


# ---------------------------------------------------------------- labelled recordings (training)


@dataclass
class Recording:
    """One recording for training: samples, a label per sample, and the group it belongs to
    (a subject, or the recording itself): training and test sets are split by group."""

    name: str
    samples: np.ndarray         # (n, n_inputs) float64
    labels: np.ndarray          # (n,) int64, >= 0
    group: str


def read_labeled(paths: list[Path], inputs: tuple[str, ...], label_column: str = "label",
                 group_column: str | None = "subject") -> dict[str, Recording]:
    """Recordings with a label per sample.

    CSV (one recording per file): the header names the inputs, ``label_column`` (a whole number
    >= 0 per sample: 0/1, or the class index) and optionally ``group_column``, which must hold
    one value per file. NPZ: for each recording array ``<rec>`` of shape (n, n_inputs), the
    array ``<rec>.<label_column>`` of shape (n,) and optionally ``<rec>.<group_column>`` (one
    value, or n equal values). Without a group column each recording is its own group."""
    recordings = read_recordings(paths, inputs)
    out: dict[str, Recording] = {}
    for path in map(Path, paths):
        if path.suffix.lower() == ".csv":
            name = path.stem if path.stem in recordings and path.stem not in out else str(path)
            samples = recordings[name]
            labels, group = _csv_columns(path, label_column, group_column, samples.shape[0])
            out[name] = Recording(name, samples, labels, group if group is not None else name)
        elif path.suffix.lower() == ".parquet":
            from .parquet_io import RecordingRef, read_labeled_one
            name = path.stem if path.stem in recordings and path.stem not in out else str(path)
            rec = read_labeled_one(RecordingRef(name, str(path), "parquet"), inputs,
                                   label_column, group_column)
            out[name] = rec
        else:
            with np.load(path, allow_pickle=False) as archive:
                for key in archive.files:
                    if "." in key:
                        continue
                    name = f"{path.stem}:{key}"
                    samples = recordings[name]
                    labels = _npz_labels(path, archive, key, label_column, samples.shape[0])
                    group = _npz_group(path, archive, key, group_column, samples.shape[0])
                    out[name] = Recording(name, samples, labels,
                                          group if group is not None else name)
    return out


def _label_value(text: str, where: str, column: str) -> int:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value == value and 0 <= value < 2**31 and value == int(value)):
        raise DataError(f"{where}: column {column!r}: {text!r} is not a label (a whole number "
                        ">= 0: 0/1, or the class index)")
    return int(value)


def _csv_columns(path: Path, label_column: str, group_column: str | None,
                 n: int) -> tuple[np.ndarray, str | None]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [h.strip() for h in next(reader)]
        if label_column not in header:
            raise DataError(f"{path}:1: no label column {label_column!r}; the header has "
                            f"{', '.join(map(repr, header))} (--label-column names it)")
        li = header.index(label_column)
        gi = header.index(group_column) if group_column and group_column in header else None
        labels, group, group_line = [], None, 0
        for line_no, row in enumerate(reader, start=2):
            if not row:
                continue
            labels.append(_label_value(row[li], f"{path}:{line_no}", label_column))
            if gi is not None:
                value = row[gi].strip()
                if group is None:
                    group, group_line = value, line_no
                elif value != group:
                    raise DataError(f"{path}:{line_no}: column {group_column!r} changes from "
                                    f"{group!r} (line {group_line}) to {value!r}; a recording "
                                    "belongs to one group (split the file)")
    if len(labels) != n:
        raise DataError(f"{path}: {len(labels)} labels for {n} samples")
    return np.array(labels, dtype=np.int64), group


def _npz_labels(path: Path, archive, key: str, column: str, n: int) -> np.ndarray:
    name = f"{key}.{column}"
    if name not in archive.files:
        raise DataError(f"{path}: recording {key!r} has no labels: expected an array "
                        f"{name!r} of shape ({n},) next to it")
    labels = archive[name]
    if labels.shape != (n,) or labels.dtype.kind not in "fiub":
        raise DataError(f"{path}: array {name!r} has shape {labels.shape} and dtype "
                        f"{labels.dtype}; expected ({n},) whole numbers >= 0")
    bad = np.flatnonzero(~((labels >= 0) & (labels == np.floor(labels))))
    if bad.size:
        value = labels[bad[0]].item()
        raise DataError(f"{path}: array {name!r}, sample {int(bad[0])}: {value!r} is not a label "
                        "(a whole number >= 0)")
    return labels.astype(np.int64)


def _npz_group(path: Path, archive, key: str, column: str | None, n: int) -> str | None:
    if not column or f"{key}.{column}" not in archive.files:
        return None
    name = f"{key}.{column}"
    values = np.atleast_1d(archive[name])
    if values.size not in (1, n) or (values != values[0]).any():
        raise DataError(f"{path}: array {name!r} must hold one group value (or {n} equal "
                        f"ones) for recording {key!r}")
    return str(values[0])
