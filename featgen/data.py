"""Reading recordings (CSV, NPZ) and writing feature tables, with located error messages."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np


class DataError(ValueError):
    """Bad input data; the message names the file and the place in it."""


def read_recordings(paths: list[Path], inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{label: (n_samples, len(inputs)) float64} from CSV files (one recording each, a header
    row naming the inputs; other columns are ignored) or NPZ files (each 2-D array is one
    recording with columns in input order)."""
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
        else:
            raise DataError(f"{path}: unsupported data file (expected .csv or .npz)")
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
