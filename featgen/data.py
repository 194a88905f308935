"""The data formats: reading recordings (CSV, NPZ, Parquet) and writing feature tables, with
located error messages. featgen/parquet_io.py (fsspec URLs, partitioned feature tables) builds on
this module; this module never imports it."""

from __future__ import annotations

import ast
import codecs
import contextlib
import csv
import io
import operator
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .safe_io import TMP_MARK, atomic_file


class DataError(ValueError):
    """Bad input data; the message names the file and the place in it."""


CHUNK_ROWS = 1 << 15  # samples read (and featurised) at a time: bounds the memory (a chunk
# of the example's 168 features is 44 MB of vectors)
CSV_ROWS = 1 << 11  # vectors formatted at a time (as Python floats and strings: ~20x)

# A number in a data file: plain decimal or scientific notation, or a NaN/infinity spelling
# (which then meets the non-finite policy). Python's float() also takes "1_000", full-width and
# other Unicode digits, which a sensor log never means: those are refused. Spaces or tabs
# around a field are allowed.
_NUMBER = (
    r"[ \t]*[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|(?i:nan|inf|infinity))[ \t]*"
)
NUMBER = re.compile(_NUMBER)
_NUMBERS = re.compile(rf"(?:{_NUMBER}\n)*{_NUMBER}")  # a chunk's fields, one per line


def is_number(text: str) -> bool:
    return NUMBER.fullmatch(text) is not None


@dataclass(frozen=True)
class Source:
    """One recording in a data file (CSV and Parquet: the file; NPZ: one 2-D array)."""

    label: str
    path: Path
    kind: str  # "csv" | "npz" | "parquet"
    key: str | None = None  # the array in an NPZ archive

    def npz_key(self) -> str:
        """The array this NPZ source names (a ValueError for an NPZ source built without one:
        a caller's mistake, which would otherwise look for an array named 'None')."""
        if self.key is None:
            raise ValueError(f"{self.path}: the NPZ source {self.label!r} names no array (key)")
        return self.key


@dataclass
class Chunk:
    """Consecutive samples of a recording: rows ``first`` .. ``first + len - 1``. ``lines``: the
    CSV line of each row (for located errors), None for NPZ and Parquet."""

    samples: np.ndarray  # (n, n_inputs) float64
    first: int
    lines: np.ndarray | None = None

    def where(self, source: Source, row: int) -> str:
        """A located name for row ROW of the recording (file:line for CSV)."""
        return self.located(str(source.path), source.kind, source.key, row)

    def located(self, file: str, kind: str, key: str | None, row: int) -> str:
        """As ``where``, for a recording whose file messages call FILE (the cluster: the URL
        its local copy came from)."""
        if self.lines is not None:
            return f"{file}:{int(self.lines[row - self.first])}"
        if kind == "npz":
            return f"{file}: array {key!r}, row {row}"
        return f"{file}: row {row}"


def sources(paths: list[Path]) -> list[Source]:
    """The recordings in PATHS, named as featgen names them: a CSV or Parquet file by its stem
    (its path when two share a stem), an NPZ array ``<stem>:<array>`` (arrays named
    ``<recording>.<column>`` are per-sample columns such as labels, not recordings)."""
    out: list[Source] = []
    names: set[str] = set()
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if not path.is_file():
            raise DataError(f"{path}: not a regular file")
        suffix = path.suffix.lower()
        if suffix in (".csv", ".parquet"):
            name = path.stem if path.stem not in names else str(path)
            out.append(Source(name, path, suffix[1:]))
        elif suffix == ".npz":
            keys = [k for k in npz_members(path) if "." not in k]
            if not keys:
                raise DataError(f"{path}: the archive holds no arrays")
            out += [Source(f"{path.stem}:{k}", path, "npz", k) for k in keys]
        else:
            raise DataError(f"{path}: unsupported data file (expected .csv, .npz or .parquet)")
        names.update(s.label for s in out)
    return out


def read_chunks(source: Source, inputs: tuple[str, ...], rows: int = CHUNK_ROWS) -> Iterator[Chunk]:
    """The samples of SOURCE, at most ROWS at a time, validated as they are read (a bad row is
    a DataError naming the file and line, raised when its chunk is read)."""
    if source.kind == "csv":
        return _csv_chunks(source.path, inputs, rows)
    if source.kind == "npz":
        return _npz_chunks(source.path, source.npz_key(), inputs, rows)
    return parquet_chunks(source.path, str(source.path), inputs, rows)


def read_whole(source: Source, inputs: tuple[str, ...]) -> np.ndarray:
    """All samples of SOURCE as one (n, len(inputs)) float64 array."""
    parts = [c.samples for c in read_chunks(source, inputs)]
    return np.concatenate(parts) if parts else np.empty((0, len(inputs)))


def read_recordings(paths: list[Path], inputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """{label: (n_samples, len(inputs)) float64} from CSV files (one recording each, a header
    row naming the inputs; other columns are ignored), Parquet files (likewise, a column per
    input) or NPZ files (each 2-D array is one recording with columns in input order; arrays
    named ``<recording>.<column>`` are per-sample columns that belong to it, e.g. labels, and
    are not recordings). Whole recordings in memory: ``featgen featurize`` streams them
    through ``sources`` and ``read_chunks`` instead."""
    return {s.label: read_whole(s, inputs) for s in sources(paths)}


# ---------------------------------------------------------------- CSV


def _check_utf8(path: Path, handle) -> None:
    """Refuse a UTF-16/UTF-32 file by its byte-order mark, before the text reader sees it."""
    head = handle.read(4)
    for bom, name in (
        (b"\xff\xfe\x00\x00", "UTF-32-LE"),
        (b"\x00\x00\xfe\xff", "UTF-32-BE"),
        (b"\xff\xfe", "UTF-16-LE"),
        (b"\xfe\xff", "UTF-16-BE"),
    ):
        if head.startswith(bom):
            raise DataError(
                f"{path}: {name} text (byte-order mark {bom.hex(' ').upper()}); "
                "featgen reads UTF-8 (or ASCII) CSV: re-save the file as UTF-8"
            )


def _encoding_error(path: Path) -> DataError:
    """The first byte of PATH that is not UTF-8, located by offset and line."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, newlines = 0, 0
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            pending = len(decoder.getstate()[0])  # bytes of a character begun earlier
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                at = offset - pending + exc.start
                line = newlines + block[: max(0, at - offset)].count(b"\n") + 1
                return DataError(
                    f"{path}:{line}: not UTF-8 text: byte 0x{exc.object[exc.start]:02X} "
                    f"at offset {at} ({exc.reason}); featgen reads UTF-8 (or "
                    "ASCII) CSV: re-save the file as UTF-8"
                )
            offset += len(block)
            newlines += block.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return DataError(
            f"{path}:{newlines + 1}: not UTF-8 text: the file ends inside a "
            f"multi-byte character (offset {offset}); a truncated file?"
        )
    return DataError(f"{path}: not UTF-8 text")


def _csv_header(path: Path, reader) -> list[str]:
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{path}: empty file; expected a header row naming the inputs") from None
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            raise DataError(
                f"{path}:1: column {i + 1} of the header has no name (an index "
                "column written without one? e.g. pandas to_csv(index=False))"
            )
        if name in seen:
            raise DataError(
                f"{path}:1: column {name!r} appears twice (columns {seen[name] + 1} "
                f"and {i + 1}); which one is meant is ambiguous"
            )
        seen[name] = i
    return header


def _open_csv(path: Path):
    with open(path, "rb") as raw:
        _check_utf8(path, raw)
    # utf-8-sig: a UTF-8 byte-order mark (as Excel writes) is not part of the first name
    return open(path, newline="", encoding="utf-8-sig")


def _csv_chunks(path: Path, inputs: tuple[str, ...], rows: int) -> Iterator[Chunk]:
    handle = _open_csv(path)
    reader = csv.reader(handle)
    line_no = 1
    try:
        with handle:
            header = _csv_header(path, reader)
            missing = [name for name in inputs if name not in header]
            if missing:
                raise DataError(
                    f"{path}:1: missing column(s) {', '.join(map(repr, missing))}; "
                    f"the header has {', '.join(map(repr, header))}"
                )
            columns = [header.index(name) for name in inputs]
            get = operator.itemgetter(*columns)
            pick = get if len(columns) > 1 else (lambda row: (get(row),))
            width = len(header)
            first = 0
            while True:
                texts: list[str] = []
                lines: list[int] = []
                for row in reader:
                    line_no = reader.line_num
                    if len(row) != width:
                        if not row:
                            continue  # a blank line
                        raise DataError(
                            f"{path}:{line_no}: {len(row)} field"
                            f"{'s' if len(row) != 1 else ''}, the header has "
                            f"{width}"
                            + (
                                "; a truncated last row?"
                                if len(row) < width and not handle.read(1)
                                else ""
                            )
                        )
                    texts += pick(row)
                    lines.append(line_no)
                    if len(lines) == rows:
                        break
                if not lines:
                    return
                samples = _parse(path, texts, lines, header, columns, len(inputs))
                yield Chunk(samples, first, np.array(lines, dtype=np.int64))
                first += len(lines)
                if len(lines) < rows:
                    return
    except UnicodeDecodeError:
        raise _encoding_error(path) from None
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num or line_no}: not valid CSV ({exc})") from None


def _parse(
    path: Path,
    texts: list[str],
    lines: list[int],
    header: list[str],
    columns: list[int],
    width: int,
) -> np.ndarray:
    """The fields of a chunk as float64 (exactly Python's float()), after one check of them
    all against NUMBER; a bad field is located by file:line and column."""
    joined = "\n".join(texts)  # (a quoted field holding a newline fails the count)
    if texts and (_NUMBERS.fullmatch(joined) is None or joined.count("\n") != len(texts) - 1):
        bad = next(i for i, t in enumerate(texts) if not is_number(t))
        row, col = divmod(bad, width)
        raise DataError(
            f"{path}:{lines[row]}: column {header[columns[col]]!r}: "
            f"{texts[bad]!r} is not a number (plain decimal or scientific "
            "notation, or nan/inf; no thousands separators)"
        )
    return np.array(list(map(float, texts)), dtype=np.float64).reshape(len(lines), width)


# ---------------------------------------------------------------- NPZ


def npz_members(path: Path) -> list[str]:
    """Array names of an NPZ archive (its .npy members), or a located DataError."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [n[:-4] for n in archive.namelist() if n.endswith(".npy")]
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None


def _npy_header(path: Path, key: str, handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
        elif version == (3, 0):
            shape, fortran, dtype = _read_npy_header_3_0(handle)
        else:
            raise ValueError(f"unsupported .npy format version {version[0]}.{version[1]}")
    except (ValueError, OSError, SyntaxError, TypeError) as exc:
        raise DataError(f"{path}: array {key!r} is not a readable .npy member ({exc})") from None
    if dtype.hasobject:
        raise DataError(
            f"{path}: array {key!r} holds Python objects (dtype {dtype}); featgen "
            "reads numeric arrays only (no pickles): save it with a numeric dtype"
        )
    return shape, fortran, dtype


_NPY_MAX_HEADER = 10_000  # numpy's own limit on a header it parses (np.load's max_header_size)


def _read_npy_header_3_0(handle) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The header of a version 3.0 .npy member (as 2.0, but UTF-8 encoded: numpy writes it for
    structured dtypes with non-Latin-1 field names). numpy has no public reader for it (its
    ``_read_array_header`` is private and moved in numpy 2), so it is read here from the
    documented format with public pieces: a little-endian uint32 length, then a Python dict
    literal with the keys descr, fortran_order and shape."""
    length_bytes = handle.read(4)
    if len(length_bytes) != 4:
        raise ValueError("the array header length is truncated")
    (length,) = struct.unpack("<I", length_bytes)
    if length > _NPY_MAX_HEADER:
        raise ValueError(
            f"the array header is {length} bytes, over numpy's limit {_NPY_MAX_HEADER}"
        )
    text = handle.read(length)
    if len(text) != length:
        raise ValueError("the array header is truncated")
    header = ast.literal_eval(text.decode("utf-8"))
    if not isinstance(header, dict) or set(header) != {"descr", "fortran_order", "shape"}:
        raise ValueError(f"the array header is not a valid .npy header: {header!r}")
    shape, fortran = header["shape"], header["fortran_order"]
    if not isinstance(shape, tuple) or not all(isinstance(d, int) for d in shape):
        raise ValueError(f"the array header's shape is not valid: {shape!r}")
    if not isinstance(fortran, bool):
        raise ValueError(f"the array header's fortran_order is not valid: {fortran!r}")
    return shape, fortran, np.lib.format.descr_to_dtype(header["descr"])


def _npz_chunks(path: Path, key: str, inputs: tuple[str, ...], rows: int) -> Iterator[Chunk]:
    """The rows of array KEY, read from the archive's .npy member as a stream (stored or
    deflated alike: nothing is memory-mapped, and a C-order array is never whole in memory;
    a Fortran-order array is read whole)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    with archive:
        try:
            handle = archive.open(f"{key}.npy")
        except KeyError:
            raise DataError(f"{path}: the archive no longer holds array {key!r}") from None
        with handle:
            shape, fortran, dtype = _npy_header(path, key, handle)
            if dtype.kind not in "fiu" or len(shape) != 2 or shape[1] != len(inputs):
                raise DataError(
                    f"{path}: array {key!r} has shape {shape} and dtype {dtype}; "
                    f"expected numbers of shape (n_samples, {len(inputs)}) with "
                    f"columns {', '.join(inputs)}"
                )
            n, width = shape
            try:
                if fortran:
                    data = handle.read(n * width * dtype.itemsize)
                    whole = np.frombuffer(data, dtype=dtype, count=n * width)
                    whole = whole.reshape((width, n)).T.astype(np.float64)
                    for first in range(0, n, rows):
                        yield Chunk(whole[first : first + rows], first)
                    return
                for first in range(0, n, rows):
                    count = min(rows, n - first)
                    data = handle.read(count * width * dtype.itemsize)
                    if len(data) != count * width * dtype.itemsize:
                        got = first + len(data) // (width * dtype.itemsize)
                        raise DataError(f"{path}: array {key!r} is truncated: {got} of {n} rows")
                    block = np.frombuffer(data, dtype=dtype).reshape(count, width)
                    yield Chunk(block.astype(np.float64), first)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                raise DataError(f"{path}: array {key!r} cannot be read ({exc})") from None


# ---------------------------------------------------------------- feature tables


class FeatureWriter:
    """A feature table written as recordings are featurised, chunk by chunk, with flat memory:
    CSV (recording, end_sample, one column per feature; values as exact repr) row block by row
    block; NPZ (features, end_sample, recording, feature_names, as np.savez would hold them)
    through raw temporary files beside the output, copied into the archive's .npy members once
    their shapes are known. The output appears complete at its path on ``close`` (written
    beside it, flushed, renamed: featgen/safe_io.py) when the ``with`` block ends, or not at
    all: an exception (an error, SIGINT) leaves an earlier file at that path untouched."""

    def __init__(self, path: Path, names: tuple[str, ...]):
        self.path, self.names = Path(path), tuple(names)
        self.npz = self.path.suffix.lower() == ".npz"
        self.vectors = 0
        self.counts: list[tuple[str, int]] = []  # (recording, vectors), in order
        self._stack = contextlib.ExitStack()
        try:
            if self.npz:
                self._raw = [
                    self._stack.enter_context(self._scratch(what)) for what in ("features", "ends")
                ]
            else:
                self._out = self._stack.enter_context(
                    atomic_file(self.path, "w", encoding="utf-8", newline="")
                )
                self._csv = csv.writer(self._out, lineterminator="\n")
                self._csv.writerow(["recording", "end_sample", *self.names])
        except BaseException:
            self._stack.close()
            raise

    @contextlib.contextmanager
    def _scratch(self, what: str):
        directory = self.path.parent if str(self.path.parent) else Path(".")
        handle = tempfile.NamedTemporaryFile(
            "w+b", dir=directory, prefix=f".{self.path.name}{TMP_MARK}{what}-", delete=True
        )
        with handle:
            yield handle

    def write(self, recording: str, features: np.ndarray, ends: np.ndarray) -> None:
        n = features.shape[0]
        if not self.counts or self.counts[-1][0] != recording:
            self.counts.append((recording, 0))
        self.counts[-1] = (recording, self.counts[-1][1] + n)
        self.vectors += n
        if not n:
            return
        if self.npz:
            self._raw[0].write(np.ascontiguousarray(features, dtype="<f8").tobytes())
            self._raw[1].write(np.ascontiguousarray(ends, dtype="<i8").tobytes())
            return
        label = io.StringIO()  # the recording's name, quoted by the csv module's rules
        csv.writer(label, lineterminator="").writerow([recording])
        prefix = label.getvalue() + ","
        for start in range(0, n, CSV_ROWS):  # numbers need no quoting: join them directly
            block = slice(start, start + CSV_ROWS)
            self._out.write(
                "".join(
                    f"{prefix}{end},{','.join(map(repr, row))}\n"
                    for end, row in zip(ends[block].tolist(), features[block].tolist())
                )
            )

    def close(self) -> None:
        """Finish the table and put it in place."""
        try:
            if self.npz:
                self._write_npz()
        except BaseException:
            self._stack.close()
            raise
        self._stack.close()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        if kind is None:
            self.close()
        else:
            self._stack.__exit__(kind, value, tb)
        return False

    def _write_npz(self) -> None:
        n, width = self.vectors, len(self.names)
        label_width = max([len(r) for r, c in self.counts if c] or [1])
        with (
            atomic_file(self.path, "wb") as handle,
            zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED, allowZip64=True) as archive,
        ):
            _npy_member(archive, "features", "<f8", (n, width), _copy(self._raw[0]))
            _npy_member(archive, "end_sample", "<i8", (n,), _copy(self._raw[1]))
            _npy_member(
                archive, "recording", f"<U{label_width}", (n,), _labels(self.counts, label_width)
            )
            names = np.array(self.names, dtype=str)
            _npy_member(
                archive, "feature_names", names.dtype.str, names.shape, iter([names.tobytes()])
            )


def _copy(handle, block: int = 1 << 24) -> Iterator[bytes]:
    handle.flush()
    handle.seek(0)
    while data := handle.read(block):
        yield data


def _labels(counts: list[tuple[str, int]], width: int, block: int = 1 << 16) -> Iterator[bytes]:
    for recording, count in counts:
        for start in range(0, count, block):
            yield np.full(min(block, count - start), recording, dtype=f"<U{width}").tobytes()


def _npy_member(
    archive: zipfile.ZipFile, name: str, descr: str, shape: tuple, blocks: Iterator[bytes]
) -> None:
    """One .npy member (the header, then the data in blocks), as np.savez writes it."""
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    with archive.open(f"{name}.npy", "w", force_zip64=True) as member:
        if len(repr(header)) < 65000:
            np.lib.format.write_array_header_1_0(member, header)
        else:
            np.lib.format.write_array_header_2_0(member, header)
        for data in blocks:
            member.write(data)


# ---------------------------------------------------------------- labelled recordings (training)


@dataclass
class Recording:
    """One recording for training: samples, a label per sample, and the group it belongs to
    (a subject, or the recording itself): training and test sets are split by group."""

    name: str
    samples: np.ndarray  # (n, n_inputs) float64
    labels: np.ndarray  # (n,) int64, >= 0; or str: class names (train numbers them)
    group: str


def read_labeled(
    paths: list[Path],
    inputs: tuple[str, ...],
    label_column: str = "label",
    group_column: str | None = "subject",
) -> dict[str, Recording]:
    """Recordings with a label per sample.

    CSV (one recording per file): the header names the inputs, ``label_column`` (a whole number
    >= 0 per sample: 0/1, or the class index; or, in every row of the file, a class name) and
    optionally ``group_column``, which must hold
    one value per file. NPZ: for each recording array ``<rec>`` of shape (n, n_inputs), the
    array ``<rec>.<label_column>`` of shape (n,) and optionally ``<rec>.<group_column>`` (one
    value, or n equal values). Without a group column each recording is its own group."""
    return {
        source.label: read_labeled_source(source, inputs, label_column, group_column)
        for source in sources(paths)
    }


def read_labeled_source(
    source: Source,
    inputs: tuple[str, ...],
    label_column: str = "label",
    group_column: str | None = "subject",
    where: str | None = None,
) -> Recording:
    """One labelled recording (the rules of ``read_labeled``); WHERE names its file in messages
    (default: its path; the cluster passes the URL the local copy came from)."""
    name, path = source.label, source.path
    where = where or str(path)
    if source.kind == "csv":
        samples = read_whole(source, inputs)
        labels, group = _csv_columns(path, label_column, group_column, samples.shape[0])
    elif source.kind == "parquet":
        samples, table = read_parquet(path, where, inputs)
        labels = _parquet_labels(table, where, label_column, samples.shape[0])
        group = _parquet_group(table, where, group_column)
    else:
        samples = read_whole(source, inputs)
        with _npz_archive(path) as archive:
            key = source.npz_key()
            labels = _npz_labels(where, archive, key, label_column, samples.shape[0])
            group = _npz_group(where, archive, key, group_column, samples.shape[0])
    return Recording(name, samples, labels, group if group is not None else name)


def _npz_archive(path: Path):
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for a corrupt archive
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None


def _npz_array(path: str, archive, name: str) -> np.ndarray:
    try:
        return archive[name]
    except ValueError as exc:  # object arrays: numpy refuses to unpickle (allow_pickle=False)
        raise DataError(
            f"{path}: array {name!r} cannot be read without unpickling Python "
            f"objects ({exc}); featgen reads numeric arrays only"
        ) from None
    except Exception as exc:  # a corrupt member
        raise DataError(f"{path}: array {name!r} cannot be read ({exc})") from None


def _label_value(text: str, where: str, column: str) -> int:
    value = float(text) if is_number(text) else float("nan")
    if not (value == value and 0 <= value < 2**31 and value == int(value)):
        raise DataError(
            f"{where}: column {column!r}: {text!r} is not a label (a whole number "
            ">= 0: 0/1, or the class index); a file may instead name its classes, "
            "when every one of its labels is a name"
        )
    return int(value)


def _label_name(text: str, where: str, column: str, first: tuple[int, str]) -> str:
    """A class name in a file whose first label (line, text) FIRST was a name: every label of
    the file is then a name (a number among names is a typo, not a class)."""
    name = text.strip()
    if not name:
        raise DataError(f"{where}: column {column!r} is empty; every row names its class")
    if is_number(name):
        raise DataError(
            f"{where}: column {column!r}: {text!r} is a number, but this file names "
            f"its classes (line {first[0]}: {first[1]!r}); a file's labels are all "
            "class names or all class indices"
        )
    return name


def _csv_columns(
    path: Path, label_column: str, group_column: str | None, n: int
) -> tuple[np.ndarray, str | None]:
    """The labels and the group of a CSV recording whose samples were read (and so whose
    encoding, header and row lengths were checked) already."""
    with _open_csv(path) as handle:
        reader = csv.reader(handle)
        header = _csv_header(path, reader)
        if label_column not in header:
            raise DataError(
                f"{path}:1: no label column {label_column!r}; the header has "
                f"{', '.join(map(repr, header))} (--label-column names it)"
            )
        li = header.index(label_column)
        gi = header.index(group_column) if group_column and group_column in header else None
        labels: list[int | str] = []
        group: str | None = None
        group_line = 0
        named: tuple[int, str] | None = None  # (line, text) of the first label, if a name
        for row in reader:
            if not row:
                continue
            line_no = reader.line_num
            if not labels and row[li].strip() and not is_number(row[li]):
                named = (line_no, row[li].strip())
            labels.append(
                _label_name(row[li], f"{path}:{line_no}", label_column, named)
                if named
                else _label_value(row[li], f"{path}:{line_no}", label_column)
            )
            if gi is not None:
                value = row[gi].strip()
                if not value:
                    raise DataError(
                        f"{path}:{line_no}: column {group_column!r} is empty; "
                        "every row names its group"
                    )
                if group is None:
                    group, group_line = value, line_no
                elif value != group:
                    raise DataError(
                        f"{path}:{line_no}: column {group_column!r} changes from "
                        f"{group!r} (line {group_line}) to {value!r}; a recording "
                        "belongs to one group (split the file)"
                    )
    if len(labels) != n:
        raise DataError(f"{path}: {len(labels)} labels for {n} samples")
    return (np.array(labels, dtype=str) if named else np.array(labels, dtype=np.int64)), group


def _npz_labels(path: str, archive, key: str, column: str, n: int) -> np.ndarray:
    name = f"{key}.{column}"
    if name not in archive.files:
        raise DataError(
            f"{path}: recording {key!r} has no labels: expected an array "
            f"{name!r} of shape ({n},) next to it"
        )
    labels = _npz_array(path, archive, name)
    if labels.shape == (n,) and labels.dtype.kind == "U":  # class names
        empty = np.flatnonzero(np.char.strip(labels) == "")
        if empty.size:
            raise DataError(f"{path}: array {name!r}, sample {int(empty[0])}: an empty class name")
        return np.char.strip(labels)
    if labels.shape != (n,) or labels.dtype.kind not in "fiub":
        raise DataError(
            f"{path}: array {name!r} has shape {labels.shape} and dtype "
            f"{labels.dtype}; expected ({n},) whole numbers >= 0"
        )
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~((labels >= 0) & (labels == np.floor(labels)) & (labels < 2**31)))
    if bad.size:
        value = labels[bad[0]].item()
        raise DataError(
            f"{path}: array {name!r}, sample {int(bad[0])}: {value!r} is not a label "
            "(a whole number >= 0)"
        )
    return labels.astype(np.int64)


def _npz_group(path: str, archive, key: str, column: str | None, n: int) -> str | None:
    if not column or f"{key}.{column}" not in archive.files:
        return None
    name = f"{key}.{column}"
    values = np.atleast_1d(_npz_array(path, archive, name))
    if values.size not in (1, n) or (values != values[0]).any():
        raise DataError(
            f"{path}: array {name!r} must hold one group value (or {n} equal "
            f"ones) for recording {key!r}"
        )
    return str(values[0])


# ---------------------------------------------------------------- Parquet recordings


def _parquet_file(local: Path, url: str, inputs: tuple[str, ...]):
    """An open pyarrow ParquetFile whose input columns exist, once each, and hold numbers."""
    import pyarrow as pa  # lazily: pyarrow is heavy and only Parquet recordings need it
    import pyarrow.parquet as pq  # lazily: pyarrow is heavy, only this path needs it

    try:
        handle = pq.ParquetFile(local)
        schema = handle.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{url}: not a readable Parquet file ({exc})") from None
    names = schema.names
    missing = [name for name in inputs if name not in names]
    if missing:
        raise DataError(
            f"{url}: missing column(s) {', '.join(map(repr, missing))}; the file "
            f"has {', '.join(map(repr, names))}"
        )
    for name in sorted(set(names)):
        if not name or names.count(name) > 1:
            raise DataError(
                f"{url}: column {name!r} " + ("appears twice" if name else "has no name")
            )
    for name in inputs:
        kind = schema.field(name).type
        if not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            raise DataError(f"{url}: column {name!r} has type {kind}; expected numbers")
    return handle


def _parquet_samples(batch, url: str, inputs: tuple[str, ...], first: int) -> np.ndarray:
    columns = []
    for name in inputs:
        column = batch.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise DataError(f"{url}: column {name!r}, row {first + row}: null is not a number")
        columns.append(column.to_numpy(zero_copy_only=False).astype(np.float64))
    return (np.stack(columns, axis=1) if columns else np.empty((batch.num_rows, 0))).reshape(
        batch.num_rows, len(inputs)
    )


def parquet_chunks(local: Path, url: str, inputs: tuple[str, ...], rows: int):
    """The samples of a Parquet recording, ROWS at a time (pyarrow iter_batches)."""
    import pyarrow as pa  # lazily, like every pyarrow import here: only Parquet needs it

    handle = _parquet_file(local, url, inputs)
    first = 0
    try:
        for batch in handle.iter_batches(batch_size=rows, columns=list(inputs)):
            yield Chunk(_parquet_samples(batch, url, inputs, first), first)
            first += batch.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{url}: not a readable Parquet file ({exc})") from None
    finally:
        handle.close()


def read_parquet(local: Path, url: str, inputs: tuple[str, ...]):
    """(samples, the whole table) of a Parquet recording: training reads its labels too."""
    import pyarrow as pa  # lazily: pyarrow is heavy, only this path needs it

    handle = _parquet_file(local, url, inputs)
    try:
        table = handle.read()
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{url}: not a readable Parquet file ({exc})") from None
    finally:
        handle.close()
    return _parquet_samples(table, url, inputs, 0), table


def _parquet_labels(table, url: str, column: str, n: int) -> np.ndarray:
    if column not in table.column_names:
        raise DataError(
            f"{url}: no label column {column!r}; the file has "
            f"{', '.join(map(repr, table.column_names))} (--label-column names it)"
        )
    values = table.column(column).to_pylist()
    return np.array(
        [_label_value(str(v), f"{url}: row {i}", column) for i, v in enumerate(values)],
        dtype=np.int64,
    ).reshape(n)


def _parquet_group(table, url: str, column: str | None) -> str | None:
    if not column or column not in table.column_names:
        return None
    values = table.column(column).unique().to_pylist()
    if len(values) > 1:
        raise DataError(
            f"{url}: column {column!r} holds {len(values)} values ({values[:3]}); a "
            "recording belongs to one group (split the file)"
        )
    return str(values[0]) if values else None
