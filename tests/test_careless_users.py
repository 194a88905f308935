"""What careless and hostile users do to the newest commands (raw sensor logs, replay, model
import): the wrong file, a file in another encoding, one huge line, an output path that is an
input, a model whose "tree" is a cycle. Each gets a located message and exit 2, never an
internal error, a crash or a destroyed input. Run as a subprocess: a crash must not take the
test process with it."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from featgen.replay import fnv1a
from featurespec import load_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "twist_and_go" / "spec.yaml"
MODEL = ROOT / "examples" / "twist_and_go" / "model" / "model.json"

RAW = "t_ns,sensor,x,y,z,platform\n" + "".join(
    f"{1_000_000_000 + 5_000_000 * i},{('accelerometer', 'gyroscope')[i % 2]},"
    f"{0.01 * i},{-0.02 * i},9.81,android\n"
    for i in range(400)
)


def featgen(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "featgen", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def refused(result: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2 with a one-line error holding every needle; no traceback, no internal error."""
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, (needle, result.stderr)


# ---------------------------------------------------------------- raw sensor logs


def test_a_png_renamed_csv_is_located_not_an_internal_error(tmp_path):
    png = tmp_path / "photo.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    out = tmp_path / "out.csv"
    refused(
        featgen("resample", EXAMPLE, png, "-o", out, "--platform", "android"),
        f"{png}:1: not UTF-8 text: byte 0x89 at offset 0",
    )
    assert not out.exists()


def test_one_huge_field_is_located_not_an_internal_error(tmp_path):
    log = tmp_path / "huge.csv"
    log.write_text("t_ns,sensor,x,y,z\n1,accelerometer," + "9" * 200_000 + ",1,1\n")
    refused(
        featgen("resample", EXAMPLE, log, "-o", tmp_path / "o.csv", "--platform", "android"),
        f"{log}:2: not valid CSV (field larger than field limit",
    )
    refused(
        featgen("featurize", EXAMPLE, log, "-o", tmp_path / "f.csv", "--platform", "android"),
        f"{log}:2: not valid CSV",
    )


def test_an_excel_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    """Excel's "CSV UTF-8" starts with EF BB BF: the log is still a raw log (featurize used to
    read it as a fixed-rate recording and report missing acc_x..gyro_z)."""
    log = tmp_path / "excel.csv"
    log.write_bytes(b"\xef\xbb\xbf" + RAW.encode())
    out = tmp_path / "o.csv"
    result = featgen("resample", EXAMPLE, log, "-o", out)
    assert result.returncode == 0, result.stderr
    assert out.read_text().startswith("t_ns,segment,acc_x")
    result = featgen("featurize", EXAMPLE, log, "-o", tmp_path / "f.csv")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "f.csv").read_text().startswith("recording,end_sample,")


def test_utf16_and_duplicate_columns_are_refused_by_name(tmp_path):
    utf16 = tmp_path / "utf16.csv"
    utf16.write_bytes(RAW.encode("utf-16"))
    refused(
        featgen("resample", EXAMPLE, utf16, "-o", tmp_path / "o.csv"),
        f"{utf16}: UTF-16-LE text",
    )
    twice = tmp_path / "twice.csv"
    lines = RAW.splitlines()
    twice.write_text("\n".join([lines[0] + ",platform"] + [x + ",ios" for x in lines[1:]]) + "\n")
    refused(
        featgen("resample", EXAMPLE, twice, "-o", tmp_path / "o.csv"),
        f"{twice}:1: column 'platform' appears twice",
    )


# ---------------------------------------------------------------- an output over an input


@pytest.mark.parametrize("raw", [True, False], ids=["raw log", "fixed-rate"])
def test_featurize_never_writes_over_its_input(tmp_path, raw):
    data = tmp_path / "rec.csv"
    if raw:
        data.write_text(RAW)
    else:
        names = load_spec(EXAMPLE).inputs
        data.write_text(
            ",".join(names)
            + "\n"
            + "".join(
                ",".join(f"{0.1 * i + k}" for k in range(len(names))) + "\n" for i in range(300)
            )
        )
    before = data.read_bytes()
    refused(featgen("featurize", EXAMPLE, data, "-o", data), "is an input of this command")
    assert data.read_bytes() == before
    refused(  # the same file reached through its directory
        featgen("featurize", EXAMPLE, tmp_path, "-o", data), "is an input of this command"
    )
    assert data.read_bytes() == before


def _empty_log(pending: int = 0) -> bytes:
    """A whole version-2 flight log (header, PENDING pushes of status 0, end record)."""
    header = bytearray(212)
    header[0:8] = b"FGFLIGHT"
    struct.pack_into("<HH", header, 8, 2, 212)
    header[124:136] = b"twist_and_go"
    struct.pack_into("<HHH", header, 164, 6, 160, 1)
    header[204] = 1
    struct.pack_into("<I", header, 208, fnv1a(bytes(header[:208])))
    out = bytes(header)
    for i in range(pending):
        payload = bytes([1, 0]) + struct.pack("<6d", 0.1 * i, 0.0, 9.81, 0.0, 0.01 * i, 0.0)
        record = struct.pack("<I", len(payload)) + payload
        out += record + struct.pack("<I", fnv1a(record))
    body = struct.pack("<IBQ", 9, 2, pending)
    return out + body + struct.pack("<I", fnv1a(body))


@pytest.mark.parametrize("option", ["--html", "--json", "--to-jsonl", "--to-binary"])
def test_replay_never_writes_over_the_log(tmp_path, option):
    log = tmp_path / "phone.fglog"
    log.write_bytes(_empty_log())
    refused(featgen("replay", log, "--spec", EXAMPLE, option, log), "is an input of this command")
    assert log.read_bytes() == _empty_log()
    (tmp_path / "logs").mkdir()
    inside = tmp_path / "logs" / "b.fglog"
    inside.write_bytes(_empty_log())
    refused(
        featgen("replay", tmp_path / "logs", "--spec", EXAMPLE, option, inside),
        "is an input of this command",
    )
    assert inside.read_bytes() == _empty_log()


def test_replay_never_writes_over_the_spec_nor_twice_to_one_file(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(EXAMPLE.read_bytes())
    log = tmp_path / "phone.fglog"
    log.write_bytes(_empty_log())
    refused(featgen("replay", log, "--spec", spec, "--json", spec), "is an input of this command")
    assert spec.read_bytes() == EXAMPLE.read_bytes()
    both = tmp_path / "report"
    refused(
        featgen("replay", log, "--spec", spec, "--json", both, "--html", both),
        "name the same file",
    )
    assert not both.exists()


# ---------------------------------------------------------------- model import


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t: t["left_children"].__setitem__(0, 0), "is not a tree: node 0 is reached twice"),
        (
            lambda t: t["right_children"].__setitem__(0, t["left_children"][0]),
            "is not a tree: node 1 is reached twice",
        ),
        (lambda t: t["left_children"].__setitem__(0, 10**6), "node 0 has child 1000000"),
    ],
    ids=["cycle", "shared subtree", "child out of range"],
)
def test_a_model_whose_tree_is_not_a_tree_is_refused(tmp_path, edit, message):
    """A cycle in a tree crashed XGBoost inside import-model (SIGSEGV, exit 139); featgen's
    own walk of it would never end."""
    doc = json.loads(MODEL.read_text())
    edit(doc["learner"]["gradient_booster"]["model"]["trees"][0])
    model = tmp_path / "hostile.json"
    model.write_text(json.dumps(doc))
    names = tmp_path / "names.txt"
    names.write_text("\n".join(load_spec(EXAMPLE).feature_names) + "\n")
    out = tmp_path / "model"
    refused(
        featgen("import-model", model, "--spec", EXAMPLE, "-o", out, "--feature-names", names),
        f"{model}: tree 0 {message}" if "tree" in message else message,
    )
    assert not out.exists()


def test_a_gigabyte_of_zeros_is_refused_by_its_first_bytes(tmp_path):
    """Replay read the whole file before looking at its magic: 1 GB of RSS to say "not a
    flight log". A sparse file costs no disk; the peak RSS of the one featgen child is read
    by a fresh wrapper process, so no other test's child counts."""
    zeros = tmp_path / "zeros.fglog"
    with open(zeros, "wb") as handle:
        handle.truncate(1 << 30)
    probe = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run([sys.executable, '-m', 'featgen', 'replay', sys.argv[1], "
        "'--spec', sys.argv[2]], capture_output=True, text=True)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stderr.write(r.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(zeros), str(EXAMPLE)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    status, peak_kib = map(int, result.stdout.split())
    assert status == 2 and "not a featgen flight log" in result.stderr, result.stderr
    assert "at byte offset 0" in result.stderr
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib} KiB for a log refused by its magic"


def test_a_raw_log_too_big_for_memory_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """A raw log is resampled whole (~230 bytes an event at peak); one that cannot fit gets a
    message naming its events and the memory, not the OOM killer half an hour later."""
    from featgen import rawlog
    from featgen.data import DataError

    log = tmp_path / "long.csv"
    log.write_text(RAW * 10)  # 4,010 lines, ~0.9 MB at 230 bytes an event
    spec = load_spec(EXAMPLE)
    monkeypatch.setattr(rawlog, "available_memory", lambda: 500_000)
    with pytest.raises(DataError, match=r"long\.csv: 4,010 events .* need about 0\.0 GB"):
        rawlog.read_raw_log(log, spec)
    monkeypatch.setattr(rawlog, "available_memory", lambda: 2_000_000)
    with pytest.raises(DataError, match="t_ns 't_ns' is not a whole number"):  # read: it fits
        rawlog.read_raw_log(log, spec)


# ---------------------------------------------------------------- train, replay's options


def _fixed_rate(path: Path, subject: int) -> Path:
    names = load_spec(EXAMPLE).inputs
    path.write_text(
        ",".join([*names, "label", "subject"])
        + "\n"
        + "".join(
            ",".join(f"{((i * (k + 3)) % 17) * 0.1:.3f}" for k in range(len(names)))
            + f",{int(i % 40 < 10)},{subject}\n"
            for i in range(400)
        )
    )
    return path


def test_train_refuses_a_test_file_that_is_also_training_data(tmp_path):
    """--test-data naming a DATA file (directly or inside a DATA directory) trained on the
    held-out recording and reported its metrics as held-out ones, exit 0."""
    (tmp_path / "data").mkdir()
    a = _fixed_rate(tmp_path / "data" / "a.csv", 0)
    _fixed_rate(tmp_path / "data" / "b.csv", 1)
    for data in (a, tmp_path / "data"):
        refused(
            featgen(
                "train", EXAMPLE, data, "--test-data", a, "-o", tmp_path / "m", "--rounds", "2"
            ),
            f"--test-data {a} is also in DATA",
        )
        assert not (tmp_path / "m").exists()


def test_train_params_file_that_is_binary_is_located(tmp_path):
    png = tmp_path / "params.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    data = _fixed_rate(tmp_path / "a.csv", 0)
    refused(
        featgen("train", EXAMPLE, data, "-o", tmp_path / "m", "--params", png),
        f"--params {png}: not a YAML/JSON text file (byte 0x89 at offset 0",
    )


def test_replay_names_a_missing_spec_it_was_given(tmp_path):
    log = tmp_path / "phone.fglog"
    log.write_bytes(_empty_log())
    result = featgen("replay", log, "--spec", tmp_path / "nope.yaml")
    assert result.returncode == 2 and f"--spec {tmp_path / 'nope.yaml'} does not exist" in (
        result.stderr
    )
    assert "no --spec given" not in result.stderr


# ---------------------------------------------------------------- raw logs that give nothing


def test_resample_of_a_log_without_events_writes_nothing(tmp_path):
    """A header-only log was 'resampled' into a header-only CSV, exit 0."""
    log = tmp_path / "header_only.csv"
    log.write_text(RAW.splitlines()[0] + "\n")
    out = tmp_path / "o.csv"
    refused(
        featgen("resample", EXAMPLE, log, "-o", out, "--platform", "android"),
        f"{log}: no fixed-rate samples (0 events;",
        "nothing was written",
    )
    assert not out.exists()


def test_a_log_not_in_arrival_order_is_warned_about(tmp_path):
    """Shuffled (here: every 7th event first, then all again): the rule (the phone's) drops most events; offline that is
    a mistake in the log, and the user is told instead of training on a tenth of the data."""
    lines = RAW.splitlines()
    log = tmp_path / "shuffled.csv"
    log.write_text("\n".join([lines[0], *lines[1:][::7], *lines[1:]]) + "\n")
    for command in ("resample", "featurize"):
        result = featgen(command, EXAMPLE, log, "-o", tmp_path / f"{command}.csv")
        assert f"warning: {log}: " in result.stderr and "events were not used" in result.stderr
    good = tmp_path / "arrival.csv"
    good.write_text(RAW)
    result = featgen("resample", EXAMPLE, good, "-o", tmp_path / "o.csv")
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "child, message",
    [("0", "is not a tree: node 0 is reached twice"), ("99", "node 0 has child 99")],
    ids=["cycle", "child out of range"],
)
def test_a_lightgbm_model_whose_tree_is_not_a_tree_is_refused(tmp_path, child, message):
    """Before: LightGBM aborted the process on a cycle (exit 134), Treelite raised an internal
    error on a child out of range (exit 3)."""
    import re

    lgb = pytest.importorskip("lightgbm")
    np = pytest.importorskip("numpy")
    names = list(load_spec(EXAMPLE).feature_names)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(names)))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 8},
        lgb.Dataset(x, (x[:, 0] > 0).astype(int), feature_name=names),
        3,
    )
    text = booster.model_to_string()
    hostile = re.sub(r"(Tree=0\n(?:.*\n)*?left_child=)(-?\d+)", rf"\g<1>{child}", text, count=1)
    assert hostile != text
    model = tmp_path / "model.txt"
    model.write_text(hostile)
    out = tmp_path / "imported"
    refused(
        featgen("import-model", model, "--spec", EXAMPLE, "-o", out), f"{model}: tree 0 {message}"
    )
    assert not out.exists()


def test_a_parquet_raw_log_names_the_row_not_a_line(tmp_path):
    """Parquet has rows counted from 0, not lines: 'log.parquet:0:' read as line 0 of a file."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    log = tmp_path / "log.parquet"
    columns = {"t_ns": [1, 2.5], "sensor": ["accelerometer", "gyroscope"]}
    pq.write_table(pa.table({**columns, "x": [1.0, 2.0], "y": [1.0, 2.0], "z": [1.0, 2.0]}), log)
    refused(  # a float64 column: 1.0 is refused too, saying why
        featgen("resample", EXAMPLE, log, "-o", tmp_path / "o.csv", "--platform", "android"),
        f"{log}: row 0: t_ns '1.0' is written as a decimal, not an integer: write t_ns as int64",
    )
    columns["t_ns"] = [1, 2]
    columns["sensor"] = ["accelerometer", "magnetometer"]
    pq.write_table(pa.table({**columns, "x": [1.0, 2.0], "y": [1.0, 2.0], "z": [1.0, 2.0]}), log)
    refused(
        featgen("resample", EXAMPLE, log, "-o", tmp_path / "o.csv", "--platform", "android"),
        f"{log}: row 1: unknown sensor 'magnetometer'",
    )


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", "", "lists no feature names (an empty file?)"),
        ("empty.csv", "", "lists no feature names (an empty file?)"),
        ("huge.csv", "a," + "b" * 200_000 + "\n", ":1: not a CSV header (field larger than"),
    ],
    ids=["empty text", "empty csv", "huge csv header"],
)
def test_import_model_feature_names_file_that_holds_none(tmp_path, name, content, message):
    """An empty --feature-names file was answered 'the booster has no feature names ... give
    --feature-names FILE' (it was given); a huge CSV header was an internal csv.Error."""
    names = tmp_path / name
    names.write_text(content)
    refused(
        featgen(
            "import-model", MODEL, "--spec", EXAMPLE, "-o", tmp_path / "m", "--feature-names", names
        ),
        message,
    )


def test_replay_html_of_a_log_the_device_never_scored(tmp_path):
    """The reference scores push 99, the device never did: the first divergence has reasons
    but no feature table, and the HTML report was an internal error (jinja2 UndefinedError)."""
    log = tmp_path / "never_scored.fglog"
    log.write_bytes(_empty_log(pending=150))
    html = tmp_path / "r.html"
    result = featgen("replay", log, "--spec", EXAMPLE, "--html", html)
    assert result.returncode == 1, result.stderr
    assert "internal error" not in result.stderr
    assert "First divergence: push 99" in html.read_text()


def test_a_platform_mismatch_names_the_file_not_its_stem(tmp_path):
    """'s00_r00.android: --platform ios but ...' named neither the folder nor the file."""
    (tmp_path / "logs").mkdir()
    log = tmp_path / "logs" / "walk.android.csv"
    log.write_text(RAW)
    for command in ("resample", "featurize"):
        refused(
            featgen(command, EXAMPLE, log, "-o", tmp_path / "o.csv", "--platform", "ios"),
            f"error: {log}: --platform ios but the log's platform column says android",
        )


# ---------------------------------------------------------------- papercuts (session 6 sweep)


def _fixed_rate_folder(folder: Path) -> Path:
    folder.mkdir()
    names = load_spec(EXAMPLE).inputs
    (folder / "rec.csv").write_text(
        ",".join(names)
        + "\n"
        + "".join(",".join(f"{0.1 * i + k}" for k in range(len(names))) + "\n" for i in range(300))
    )
    return folder


@pytest.mark.parametrize(
    "inside", ["", "features", "deep/er.parquet"], ids=["itself", "in", "deep"]
)
def test_a_parquet_output_inside_its_input_folder_is_refused(tmp_path, inside):
    """`featurize data -o data/features` wrote the partitions into the data folder; the next run
    read them back as recordings and failed on their columns."""
    data = _fixed_rate_folder(tmp_path / "data")
    out = data / inside if inside else data
    refused(
        featgen("featurize", EXAMPLE, data, "-o", out),
        f"-o {out} is an input of this command (inside {data},",
    )
    assert sorted(p.name for p in data.rglob("*")) == ["rec.csv"]  # nothing written
    good = featgen("featurize", EXAMPLE, data, "-o", tmp_path / "features")
    assert good.returncode == 0, good.stderr


def test_a_raw_log_with_both_time_columns_is_refused_as_ambiguous(tmp_path):
    """t_ns and t_s both present: t_ns was used silently, whichever clock the user meant."""
    log = tmp_path / "both.csv"
    lines = RAW.splitlines()
    log.write_text(
        "\n".join([lines[0] + ",t_s"] + [f"{x},{int(x.split(',')[0]) / 1e9}" for x in lines[1:]])
        + "\n"
    )
    out = tmp_path / "o.csv"
    refused(
        featgen("resample", EXAMPLE, log, "-o", out),
        f"{log}:1: both columns 't_ns' and 't_s' are present",
    )
    assert not out.exists()


def _lightgbm_text() -> str:
    lgb = pytest.importorskip("lightgbm")
    np = pytest.importorskip("numpy")
    names = list(load_spec(EXAMPLE).feature_names)
    x = np.random.default_rng(0).normal(size=(300, len(names)))
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 8},
        lgb.Dataset(x, (x[:, 0] > 0).astype(int), feature_name=names),
        3,
    )
    return booster.model_to_string()


@pytest.mark.parametrize(
    "cut, message",
    [
        ("Tree=0", "truncated: the header declares 3 trees, 0 found"),
        ("Tree=2", "truncated: the header declares 3 trees, 2 found"),
        ("end of trees", "truncated: the text ends inside tree 2, the last of 3 declared"),
    ],
    ids=["before the trees", "between trees", "inside the last tree"],
)
def test_a_truncated_lightgbm_model_says_truncated(tmp_path, cut, message):
    """A partial copy of model.txt was 'the model has no trees' (or a short leaf_value line)."""
    text = _lightgbm_text()
    model = tmp_path / "model.txt"
    model.write_text(text[: text.index(cut) - (1 if cut == "end of trees" else 0)])
    out = tmp_path / "imported"
    refused(featgen("import-model", model, "--spec", EXAMPLE, "-o", out), f"{model}: {message}")
    assert not out.exists()


def test_a_new_model_leaves_no_file_of_the_old_one(tmp_path):
    """An XGBoost import (or train) into a folder holding a LightGBM import left its
    lightgbm_model.txt beside the new model.json, describing another model. A file the user put
    there stays."""
    model = tmp_path / "model.txt"
    model.write_text(_lightgbm_text())
    out = tmp_path / "m"
    result = featgen("import-model", model, "--spec", EXAMPLE, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (out / "lightgbm_model.txt").read_bytes() == model.read_bytes()
    (out / "notes.txt").write_text("mine")
    names = tmp_path / "names.txt"
    names.write_text("".join(f"{n}\n" for n in load_spec(EXAMPLE).feature_names))
    xgb = ("import-model", MODEL, "--spec", EXAMPLE, "-o", out, "--feature-names", names)
    result = featgen(*xgb)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "featgen_model.json",
        "metrics.json",
        "model.json",
        "notes.txt",
    ]
    assert f"removed {out / 'lightgbm_model.txt'}" in result.stderr
    # the user's own lightgbm_model.txt (bytes featgen did not write) is never removed
    (out / "lightgbm_model.txt").write_text("my notes on the old model")
    result = featgen(*xgb)
    assert result.returncode == 0, result.stderr
    assert (out / "lightgbm_model.txt").read_text() == "my notes on the old model"


def test_ctrl_c_prints_one_line(tmp_path):
    """click echoed a blank line to stderr before featgen's 'interrupted'."""
    import signal

    script = (
        "import time\n"
        "from featgen.cli import main\n"
        "@main.command('nap')\n"
        "def nap():\n"
        "    print('ready', flush=True)\n"
        "    time.sleep(60)\n"
        "main(['nap'], prog_name='featgen')\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert process.stdout.readline() == "ready\n"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130
    assert stderr == "interrupted\n"
