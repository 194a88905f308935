"""Bad data and bad training options: each is refused with exit status 2 and a message naming
the file (and the line, for CSV) or the option, never a traceback, and nothing is written."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from featgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPEC = str(ROOT / "examples" / "twist_and_go" / "spec.yaml")
INPUTS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
HEADER = ",".join(INPUTS)
ROW = "0.1,0.2,9.8,0.01,0.02,0.03"


@pytest.fixture(autouse=True, scope="module")
def _generate_once():
    """Generate the example's code once for the module: these tests are about data, and each
    command would otherwise regenerate every target (seconds each)."""
    import codegen.build
    import featgen.model_cli
    import featgen.train
    import featgen.ui

    users = (codegen.build, featgen.ui, featgen.model_cli, featgen.train)  # hold `generate`
    real, cache = codegen.build.generate, {}

    def generate(spec, *args, **kwargs):
        key = (
            spec.spec_hash,
            spec.model is None,
            spec.decision is None,
            args,
            tuple(sorted(kwargs.items())),
        )
        if key not in cache:
            cache[key] = real(spec, *args, **kwargs)
        return dict(cache[key])

    for module in users:
        module.generate = generate
    yield
    for module in users:
        module.generate = real


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), result.exception
    return result


def _text(body: str):
    return lambda p: p.write_text(body, encoding="utf-8")


def _bytes(body: bytes):
    return lambda p: p.write_bytes(body)


def _rows(*rows: str, header: str = HEADER, end: str = "\n"):
    return _text("\n".join([header, *rows]) + end)


# (case id, file name, writer, expected message fragments): every fragment must appear.
CSV_CASES = [
    (
        "duplicate-input",
        "rec.csv",
        _rows(ROW + ",1", header=HEADER + ",acc_x"),
        ["rec.csv:1:", "'acc_x' appears twice"],
    ),
    (
        "duplicate-other",
        "rec.csv",
        _rows("1,2," + ROW, header="t,t," + HEADER),
        ["rec.csv:1:", "'t' appears twice"],
    ),
    (
        "empty-name-index",
        "rec.csv",
        _rows("0," + ROW, header="," + HEADER),
        ["rec.csv:1:", "column 1 of the header has no name"],
    ),
    (
        "empty-name-middle",
        "rec.csv",
        _rows("0.1,0.2,9.8,7,0.01,0.02,0.03", header="acc_x,acc_y,acc_z,,gyro_x,gyro_y,gyro_z"),
        ["rec.csv:1:", "column 4 of the header has no name"],
    ),
    (
        "short-row",
        "rec.csv",
        _rows(ROW, "0.1,0.2,9.8,0.01,0.02", ROW),
        ["rec.csv:3:", "5 fields, the header has 6"],
    ),
    ("long-row", "rec.csv", _rows(ROW, ROW + ",4"), ["rec.csv:3:", "7 fields, the header has 6"]),
    (
        "truncated-last-row",
        "rec.csv",
        _rows(ROW, ROW, "0.1,0.2,9", end=""),
        ["rec.csv:4:", "3 fields, the header has 6", "truncated last row"],
    ),
    (
        "underscore",
        "rec.csv",
        _rows(ROW, "1_000,0.2,9.8,0.01,0.02,0.03"),
        ["rec.csv:3:", "column 'acc_x'", "'1_000' is not a number"],
    ),
    (
        "thousands-comma",
        "rec.csv",
        _rows(ROW, '"1,000",0.2,9.8,0.01,0.02,0.03'),
        ["rec.csv:3:", "'1,000' is not a number"],
    ),
    ("hex", "rec.csv", _rows("0.1,0x10,9.8,0.01,0.02,0.03"), ["rec.csv:2:", "'0x10' is not"]),
    (
        "fullwidth-digits",
        "rec.csv",
        _rows("0.1,0.2,\uff19.8,0.01,0.02,0.03"),
        ["rec.csv:2:", "column 'acc_z'", "is not a number"],
    ),
    (
        "arabic-indic-digits",
        "rec.csv",
        _rows("0.1,0.2,9.8,\u0661\u0662,0.02,0.03"),
        ["rec.csv:2:", "column 'gyro_x'", "is not a number"],
    ),
    (
        "empty-field",
        "rec.csv",
        _rows("0.1,,9.8,0.01,0.02,0.03"),
        ["rec.csv:2:", "column 'acc_y'", "'' is not a number"],
    ),
    ("bare-exponent", "rec.csv", _rows("0.1,0.2,1e,0.01,0.02,0.03"), ["rec.csv:2:", "'1e'"]),
    ("lone-dot", "rec.csv", _rows(ROW, ROW, "0.1,0.2,9.8,.,0.02,0.03"), ["rec.csv:4:", "'.'"]),
    (
        "quoted-newline",
        "rec.csv",
        _rows(ROW, '0.1,"1\n2",9.8,0.01,0.02,0.03', ROW),
        ["rec.csv:", "column 'acc_y'", "'1\\n2' is not a number"],
    ),
    ("words", "rec.csv", _rows("0.1,0.2,9.8,0.01,0.02,abc"), ["rec.csv:2:", "'abc' is not"]),
    (
        "nan",
        "rec.csv",
        _rows(ROW, "0.1,nan,9.8,0.01,0.02,0.03"),
        ["rec.csv:3:", "input 'acc_y': nan is not finite", "--drop-nonfinite"],
    ),
    (
        "infinity-spelling",
        "rec.csv",
        _rows(ROW, ROW, "0.1,0.2,-Infinity,0.01,0.02,0.03"),
        ["rec.csv:4:", "input 'acc_z': -inf is not finite"],
    ),
    (
        "overflow-to-inf",
        "rec.csv",
        _rows("0.1,0.2,9.8,1e999,0.02,0.03"),
        ["rec.csv:2:", "input 'gyro_x': inf is not finite"],
    ),
    (
        "utf16-le",
        "rec.csv",
        _bytes(("\ufeff" + HEADER + "\n" + ROW + "\n").encode("utf-16-le")),
        ["rec.csv", "UTF-16-LE", "byte-order mark FF FE", "UTF-8"],
    ),
    (
        "utf16-be",
        "rec.csv",
        _bytes(("\ufeff" + HEADER + "\n" + ROW + "\n").encode("utf-16-be")),
        ["rec.csv", "UTF-16-BE", "FE FF"],
    ),
    (
        "utf32",
        "rec.csv",
        _bytes(("\ufeff" + HEADER + "\n").encode("utf-32-le")),
        ["rec.csv", "UTF-32-LE"],
    ),
    (
        "latin1-byte",
        "rec.csv",
        _bytes((HEADER + "\n" + ROW + "\n").encode() + b"0.1,0.2,9.8,0.01,0.02,\xe90\n"),
        ["rec.csv:3:", "not UTF-8", "byte 0xE9", f"offset {len(HEADER) + len(ROW) + 2 + 22}"],
    ),
    (
        "invalid-in-header",
        "rec.csv",
        _bytes(b"acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_\xff\n" + ROW.encode()),
        ["rec.csv:1:", "byte 0xFF at offset 37"],
    ),
    (
        "cut-multibyte",
        "rec.csv",
        _bytes((HEADER + ",\u00e9t\n" + ROW + ",1\n").encode() + b"0,0,0,0,0,0,\xc3"),
        ["rec.csv:3:", "not UTF-8"],
    ),
    (
        "nul-byte",
        "rec.csv",
        _bytes((HEADER + "\n" + ROW + "\n0.1,0.2\x00,9.8,0.01,0.02,0.03\n").encode()),
        ["rec.csv:3:", "column 'acc_y'", "is not a number"],
    ),
    ("empty-file", "rec.csv", _text(""), ["rec.csv", "empty file"]),
    (
        "missing-column",
        "rec.csv",
        _rows(ROW, header="acc_x,acc_y,acc_z,gyro_x,gyro_y,gyro_q"),
        ["rec.csv:1:", "missing column(s) 'gyro_z'"],
    ),
]


def _npz(**arrays):
    return lambda p: np.savez(p, **arrays)


def _parquet(**columns):
    def write(p):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table(columns), p)

    return write


def _cut(writer, keep: float):
    def write(p):
        writer(p)
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * keep)])

    return write


GOOD = np.zeros((150, 6))
OTHER_FILE_CASES = [
    (
        "npz-object-array",
        "rec.npz",
        _npz(rec=np.array([[1, "a"]] * 3, dtype=object)),
        ["rec.npz", "array 'rec' holds Python objects"],
    ),
    (
        "npz-strings",
        "rec.npz",
        _npz(rec=np.array([["1"] * 6] * 3)),
        ["rec.npz", "array 'rec' has shape (3, 6) and dtype <U1"],
    ),
    ("npz-one-dim", "rec.npz", _npz(rec=np.zeros(6)), ["rec.npz", "array 'rec' has shape (6,)"]),
    (
        "npz-no-arrays",
        "rec.npz",
        _npz(**{"rec.label": np.zeros(3)}),
        ["rec.npz", "holds no arrays"],
    ),
    ("npz-not-zip", "rec.npz", _bytes(b"PK\x03\x04 garbage"), ["rec.npz", "not a readable .npz"]),
    ("npz-truncated", "rec.npz", _cut(_npz(rec=np.ones((20_000, 6))), 0.5), ["rec.npz"]),
    (
        "npz-nan",
        "rec.npz",
        _npz(rec=np.where(np.arange(900).reshape(150, 6) == 500, np.nan, 1.0)),
        ["rec.npz: array 'rec', row 83", "input 'acc_z': nan is not finite"],
    ),
    (
        "parquet-strings",
        "rec.parquet",
        _parquet(**{n: ["1"] * 3 for n in INPUTS}),
        ["rec.parquet", "column 'acc_x' has type string"],
    ),
    (
        "parquet-null",
        "rec.parquet",
        _parquet(**{n: [1.0, None, 2.0] if n == "gyro_y" else [1.0] * 3 for n in INPUTS}),
        ["rec.parquet", "column 'gyro_y', row 1: null is not a number"],
    ),
    (
        "parquet-missing",
        "rec.parquet",
        _parquet(**{n: [1.0] for n in INPUTS[:5]}),
        ["rec.parquet", "missing column(s) 'gyro_z'"],
    ),
    (
        "parquet-garbage",
        "rec.parquet",
        _bytes(b"not parquet at all"),
        ["rec.parquet", "not a readable Parquet file"],
    ),
    ("unsupported-suffix", "rec.txt", _text(HEADER + "\n"), ["rec.txt", "unsupported data file"]),
]


def _assert_refused(result, fragments, tmp_path, inputs):
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())  # rich wraps long messages
    for fragment in fragments:
        assert " ".join(fragment.split()) in flat, (fragment, result.output)
    left = sorted(p.name for p in tmp_path.iterdir() if p.name not in inputs)
    assert not left, f"written despite the error: {left}"


@pytest.mark.parametrize("output", ["f.csv", "f.npz"])
@pytest.mark.parametrize(
    "name, file, write, fragments",
    CSV_CASES + OTHER_FILE_CASES,
    ids=[c[0] for c in CSV_CASES + OTHER_FILE_CASES],
)
def test_featurize_refuses_bad_data(tmp_path, name, file, write, fragments, output):
    path = tmp_path / file
    write(path)
    result = run("featurize", SPEC, path, "-o", tmp_path / output)
    _assert_refused(result, fragments, tmp_path, {file})


def test_featurize_keeps_an_earlier_output_when_a_later_recording_is_bad(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("\n".join([HEADER] + [ROW] * 150) + "\n")
    bad = tmp_path / "bad.csv"
    CSV_CASES[4][2](bad)  # a short row
    for output in ("f.csv", "f.npz"):
        assert run("featurize", SPEC, good, "-o", tmp_path / output).exit_code == 0
        before = (tmp_path / output).read_bytes()
        result = run("featurize", SPEC, good, bad, "-o", tmp_path / output)
        assert result.exit_code == 2 and "bad.csv:3:" in result.output
        assert (tmp_path / output).read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "f.csv", "f.npz", "good.csv"]


def test_featurize_refuses_a_fifo(tmp_path):
    fifo = tmp_path / "rec.csv"
    os.mkfifo(fifo)
    result = run("featurize", SPEC, fifo, "-o", tmp_path / "f.csv")
    _assert_refused(result, ["rec.csv", "not a regular file"], tmp_path, {"rec.csv"})


def test_plain_numbers_and_spellings_are_read_exactly(tmp_path):
    """What is accepted: signs, exponents, leading/trailing dots, spaces around a field, a UTF-8
    byte-order mark; values exactly as Python's float() reads them."""
    from featgen.data import Source, read_whole

    fields = ["+1.5", "-.5", "5.", "1e-3", " 2.5E+2 ", "\t7", "0.1", "-0"]
    rows = [
        ",".join(fields[i : i + 6] + fields[: max(0, i + 6 - len(fields))])
        for i in range(len(fields))
    ]
    path = tmp_path / "rec.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join([HEADER, *rows]) + "\n").encode())
    got = read_whole(Source("rec", path, "csv"), tuple(INPUTS))
    want = np.array([[float(f) for f in r.split(",")] for r in rows])
    assert got.shape == (len(rows), 6)
    assert np.array_equal(got.view(np.uint64), want.view(np.uint64))


# ---------------------------------------------------------------- training


def _labelled(tmp_path: Path, labels_per_file: list[list[int]], n: int = 130) -> list[Path]:
    """Small labelled CSV recordings, one subject each (labels cycled sample by sample)."""
    rng = np.random.default_rng(3)
    paths = []
    for i, labels in enumerate(labels_per_file):
        x = rng.normal(size=(n, 6))
        y = np.resize(labels, n)  # every label in every stretch of samples
        lines = [HEADER + ",label,subject"]
        lines += [",".join(map(repr, row.tolist())) + f",{int(v)},s{i}" for row, v in zip(x, y)]
        path = tmp_path / f"r{i}.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


BINARY = [[0, 1], [1, 0], [0, 1], [1, 1, 0]]
OPTION_CASES = [
    (["--rounds", "0"], "--rounds"),
    (["--rounds", "-1"], "--rounds"),
    (["--rounds", "1.5"], "--rounds"),
    (["--max-depth", "0"], "--max-depth"),
    (["--eta", "nan"], "--eta"),
    (["--eta", "inf"], "--eta"),
    (["--eta", "0"], "--eta"),
    (["--eta", "-0.1"], "--eta"),
    (["--eta", "1.5"], "--eta"),
    (["--test-fraction", "1"], "--test-fraction"),
    (["--test-fraction", "1.5"], "--test-fraction"),
    (["--test-fraction", "-0.1"], "--test-fraction"),
    (["--test-fraction", "nan"], "--test-fraction"),
    (["--seed", "-1"], "--seed"),
]


@pytest.mark.parametrize("options, name", OPTION_CASES, ids=[" ".join(c[0]) for c in OPTION_CASES])
def test_train_refuses_bad_options(tmp_path, options, name):
    data = _labelled(tmp_path, BINARY[:2], n=10)
    result = run("train", SPEC, *data, "-o", tmp_path / "model", *options)
    _assert_refused(result, [name, options[1]], tmp_path, {p.name for p in data})


LABEL_CASES = [
    (
        "one-class-0",
        "binary:logistic",
        [[0]] * 4,
        ["every feature vector has label 0", "never fire"],
    ),
    (
        "one-class-1",
        "binary:logistic",
        [[1]] * 4,
        ["every feature vector has label 1", "always fire"],
    ),
    ("not-binary", "binary:logistic", [[0, 2]] * 4, ["needs labels 0 and 1"]),
    (
        "missing-class-0",
        "multi:softprob",
        [[1, 2, 3, 4]] * 4,
        ["class(es) 0 never occur", "0 .. 4"],
    ),
    ("missing-middle", "multi:softprob", [[0, 1, 3]] * 4, ["class(es) 2 never occur"]),
    ("multi-one-class", "multi:softprob", [[2]] * 4, ["every feature vector has label 2"]),
]


@pytest.mark.parametrize(
    "name, objective, labels, fragments", LABEL_CASES, ids=[c[0] for c in LABEL_CASES]
)
def test_train_refuses_bad_label_sets(tmp_path, name, objective, labels, fragments):
    data = _labelled(tmp_path, labels)
    result = run(
        "train", SPEC, *data, "-o", tmp_path / "model", "--objective", objective, "--rounds", "2"
    )
    _assert_refused(result, fragments, tmp_path, {p.name for p in data})


def _edit(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().split("\n")
    assert old in lines[line - 1]
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("\n".join(lines))


LABEL_FILE_CASES = [
    (
        "underscore-label",
        lambda p: _replace_label(p, 5, "1_0"),
        ["r0.csv:5:", "column 'label'", "'1_0' is not a label"],
    ),
    ("negative-label", lambda p: _replace_label(p, 7, "-1"), ["r0.csv:7:", "'-1' is not a label"]),
    (
        "fractional-label",
        lambda p: _replace_label(p, 9, "0.5"),
        ["r0.csv:9:", "'0.5' is not a label"],
    ),
    ("short-row", lambda p: _edit(p, 4, ",s0", ""), ["r0.csv:4:", "fields, the header has 8"]),
    (
        "duplicate-label-column",
        lambda p: _edit(p, 1, "label,subject", "label,label"),
        ["r0.csv:1:", "'label' appears twice"],
    ),
    ("group-changes", lambda p: _edit(p, 20, ",s0", ",s9"), ["r0.csv:20:", "changes from 's0'"]),
    (
        "no-label-column",
        lambda p: _edit(p, 1, "label", "lbl"),
        ["r0.csv:1:", "no label column 'label'"],
    ),
]


def _replace_label(path: Path, line: int, value: str) -> None:
    lines = path.read_text().split("\n")
    fields = lines[line - 1].split(",")
    fields[-2] = value
    lines[line - 1] = ",".join(fields)
    path.write_text("\n".join(lines))


@pytest.mark.parametrize(
    "name, edit, fragments", LABEL_FILE_CASES, ids=[c[0] for c in LABEL_FILE_CASES]
)
def test_train_refuses_bad_label_files(tmp_path, name, edit, fragments):
    data = _labelled(tmp_path, BINARY)
    edit(data[0])
    result = run("train", SPEC, *data, "-o", tmp_path / "model", "--rounds", "2")
    _assert_refused(result, fragments, tmp_path, {p.name for p in data})


def test_train_refuses_object_label_arrays(tmp_path):
    path = tmp_path / "recs.npz"
    np.savez(
        path,
        a=np.zeros((130, 6)),
        **{"a.label": np.array([0, "x"] * 65, dtype=object)},
        b=np.zeros((130, 6)),
        **{"b.label": np.zeros(130)},
    )
    result = run("train", SPEC, path, "-o", tmp_path / "model")
    _assert_refused(result, ["recs.npz", "array 'a.label'", "unpickling"], tmp_path, {"recs.npz"})


def _npz_v3(path: Path, **arrays) -> None:
    """An NPZ archive whose members use the .npy format version 3.0 (a UTF-8 header), which
    numpy writes for structured dtypes with non-Latin-1 field names."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, array, version=(3, 0))
            archive.writestr(f"{name}.npy", buffer.getvalue())


def test_npz_members_in_npy_format_3_are_read(tmp_path):
    from featgen.data import Source, read_whole

    want = np.arange(18, dtype=np.float64).reshape(3, 6)
    _npz_v3(tmp_path / "rec.npz", rec=want)
    got = read_whole(Source("rec:rec", tmp_path / "rec.npz", "npz", "rec"), tuple(INPUTS))
    assert np.array_equal(got, want)


def test_npz_format_3_structured_member_is_refused_with_its_dtype(tmp_path):
    from featgen.data import DataError, Source, read_whole

    rec = np.zeros(3, dtype=[("accélération", "<f8")])
    _npz_v3(tmp_path / "rec.npz", rec=rec)
    with pytest.raises(
        DataError, match=r"rec\.npz: array 'rec' has shape \(3,\) and dtype .*accélération"
    ):
        read_whole(Source("rec:rec", tmp_path / "rec.npz", "npz", "rec"), tuple(INPUTS))


def test_npz_source_without_a_key_is_refused_clearly(tmp_path):
    from featgen.data import Source, read_whole

    np.savez(tmp_path / "rec.npz", rec=GOOD)
    with pytest.raises(ValueError, match="names no array"):
        read_whole(Source("rec", tmp_path / "rec.npz", "npz"), tuple(INPUTS))


def test_npz_label_errors_name_the_url_the_copy_came_from(tmp_path):
    """The cluster reads a local copy and passes the URL as WHERE: messages name the URL as
    given (not collapsed by pathlib: s3://bucket, not s3:/bucket)."""
    from featgen.data import DataError, Source, read_labeled_source

    np.savez(tmp_path / "rec.npz", rec=GOOD)
    source = Source("rec:rec", tmp_path / "rec.npz", "npz", "rec")
    with pytest.raises(DataError) as info:
        read_labeled_source(source, tuple(INPUTS), where="s3://bucket/fleet/rec.npz")
    assert str(info.value).startswith("s3://bucket/fleet/rec.npz: recording 'rec' has no labels")


def test_npz_format_3_header_over_numpys_limit_is_refused(tmp_path):
    """A version 3.0 header claiming more than numpy's 10 000 bytes is refused before it is
    read or parsed (as numpy refuses one), located by file and array."""
    import struct
    import zipfile

    from featgen.data import DataError, Source, read_whole

    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 6), }".ljust(50_000)
    member = b"\x93NUMPY\x03\x00" + struct.pack("<I", len(header)) + header
    member += np.zeros((3, 6)).tobytes()  # a well-formed member but for the header's size
    with zipfile.ZipFile(tmp_path / "rec.npz", "w") as archive:
        archive.writestr("rec.npy", member)
    with pytest.raises(
        DataError, match=r"rec\.npz: array 'rec' is not a readable .*over numpy's limit"
    ):
        read_whole(Source("rec:rec", tmp_path / "rec.npz", "npz", "rec"), tuple(INPUTS))
