"""Exit codes and output ownership, as a careless or hostile user meets them: 0 success, 1 a real
mismatch, 2 a usage/spec/data/output-path error (refused before any work, nothing written),
3 an internal error (one line; the traceback only with --debug or FEATGEN_DEBUG=1), 130
interrupted, 143 terminated. Tiny specs in tmp_path, in-process: fast."""

from __future__ import annotations

import errno
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import codegen
import featgen.cli as cli
import featgen.ui as ui
from featgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
TWIST = ROOT / "examples" / "twist_and_go" / "spec.yaml"
SPEC = """spec: featgen/v1
name: tiny
sample_rate_hz: 50
inputs: [a, b]
windows:
  w: {length: 8, hop: 2}
features:
  - compute: [mean, std]
    of: [a, b]
    over: w
"""


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env)
    return result


def tree(path: Path) -> dict:
    return {
        p.relative_to(path).as_posix(): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def labelled(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("labelled")
    rng = np.random.default_rng(7)
    paths = []
    for s in range(3):
        x = rng.normal(size=(300, 2))
        label = (np.sin(np.arange(300) / 9.0) > 0.5).astype(int)
        x[:, 0] += 2 * label
        rows = [f"{float(x[i, 0])!r},{float(x[i, 1])!r},{label[i]},{s}" for i in range(300)]
        path = d / f"rec{s}.csv"
        path.write_text("a,b,label,subject\n" + "\n".join(rows) + "\n")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, labelled) -> Path:
    d = tmp_path_factory.mktemp("model")
    (d / "tiny.yaml").write_text(SPEC)
    result = run(
        "train", d / "tiny.yaml", *labelled, "-o", d / "model", "--rounds", "2", "--max-depth", "2"
    )
    assert result.exit_code == 0, result.output
    return d / "model"


# ------------------------------------------------------------------ usage errors: exit 2


@pytest.mark.parametrize(
    "args,needle",
    [
        (["parity", "SPEC", "--samples", "-5"], "--samples"),
        (["parity", "SPEC", "--samples", "0"], "--samples"),
        (["parity", "SPEC", "--streams", "0"], "--streams"),
        (["parity", "SPEC", "--samples", "many"], "--samples"),
        (["no-such-command"], "No such command"),
        (["build", "SPEC", "--no-such-option"], "No such option"),
        (["build"], "Missing argument"),
        (["train", "SPEC", "-o", "m"], "Missing argument"),
    ],
)
def test_usage_errors_exit_2_without_a_traceback(spec, args, needle):
    result = run(*[spec if a == "SPEC" else a for a in args])
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output


def test_a_missing_or_invalid_spec_exits_2(tmp_path, spec):
    result = run("build", tmp_path / "absent.yaml", "-o", tmp_path / "gen")
    assert result.exit_code == 2 and "Traceback" not in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(SPEC.replace("of: [a, b]", "of: [a, q]"))
    result = run("build", bad, "-o", tmp_path / "gen")
    assert result.exit_code == 2 and "bad.yaml:" in result.output
    assert not (tmp_path / "gen").exists()


def test_a_data_error_exits_2(tmp_path, spec):
    (tmp_path / "rec.csv").write_text("a,b\n1,2\n3,x\n")
    result = run("featurize", spec, tmp_path / "rec.csv", "-o", tmp_path / "f.csv")
    assert result.exit_code == 2 and "rec.csv" in result.output
    assert not (tmp_path / "f.csv").exists()


# -------------------------------------------- file outputs: validated before the run, atomic


def _fifo(tmp_path) -> Path:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return fifo


@pytest.mark.parametrize(
    "kind,needle",
    [
        ("missing-folder", "does not exist"),
        ("device", "is a device"),
        ("folder", "is a folder|is a directory"),  # click's check, or ours
        ("symlink", "symbolic link"),
        ("fifo", "is a FIFO"),
        ("unwritable", "cannot write in /proc"),
        ("parent-is-file", "is not a folder"),
    ],
)
@pytest.mark.parametrize("command", ["parity-json", "parity-html", "schema", "proximity"])
def test_bad_file_outputs_are_refused_before_any_work(tmp_path, spec, kind, needle, command):
    target = {
        "missing-folder": tmp_path / "no" / "such" / "report.json",
        "device": Path("/dev/full"),
        "folder": tmp_path,
        "symlink": tmp_path / "link.json",
        "fifo": None,
        "unwritable": Path("/proc/featgen-report.json"),
        "parent-is-file": tmp_path / "plain" / "report.json",
    }[kind]
    if kind == "symlink":
        (tmp_path / "real.json").write_text("mine\n")
        target.symlink_to(tmp_path / "real.json")
    if kind == "fifo":
        target = _fifo(tmp_path)
    if kind == "parent-is-file":
        (tmp_path / "plain").write_text("a file\n")
    args = {
        "parity-json": ["parity", spec, "--samples", "300", "--json", target],
        "parity-html": ["parity", spec, "--samples", "300", "--html", target],
        "schema": ["schema", "-o", target],
        "proximity": ["proximity", TWIST, tmp_path / "rec.csv", "--json", target],
    }[command]
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert any(n in result.output for n in needle.split("|")), result.output
    assert str(target) in result.output and "Traceback" not in result.output
    assert "parity for" not in result.output  # refused before streaming anything
    if kind == "symlink":
        assert target.is_symlink() and (tmp_path / "real.json").read_text() == "mine\n"
    assert not [p for p in tmp_path.rglob("*") if ".featgen-tmp-" in p.name]


def test_a_full_disk_is_a_clean_error_naming_the_file(tmp_path, monkeypatch):
    import featgen.safe_io as safe_io

    out = tmp_path / "schema.json"
    out.write_text("previous\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(safe_io.os, "fsync", full)
    result = run("schema", "-o", out)
    assert result.exit_code == 2, result.output
    assert str(out) in result.output and "No space left on device" in result.output
    assert "Traceback" not in result.output
    assert out.read_text() == "previous\n"  # the previous output is intact
    assert [p.name for p in tmp_path.iterdir()] == ["schema.json"]  # no temp file left


def test_schema_output_is_written_with_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        assert run("schema", "-o", tmp_path / "s.json").exit_code == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.json").stat().st_mode) == 0o640
    assert json.loads((tmp_path / "s.json").read_text())["$schema"]


# ------------------------------------------------------------ build -o: output ownership


@pytest.mark.parametrize("umask,dirs,files", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_build_creates_folders_and_files_with_the_usual_modes(tmp_path, spec, umask, dirs, files):
    old = os.umask(umask)
    try:
        result = run("build", spec, "-o", tmp_path / "a" / "b")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    target = tmp_path / "a" / "b" / "tiny"
    for path in [target, *target.rglob("*")]:
        want = dirs if path.is_dir() else files
        assert stat.S_IMODE(path.stat().st_mode) == want, path
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == dirs


def test_build_replaces_its_own_tree_an_empty_folder_and_swiftpm_output(tmp_path, spec):
    out = tmp_path / "gen"
    (out / "tiny").mkdir(parents=True)  # empty: fine
    assert run("build", spec, "-o", out).exit_code == 0
    first = tree(out / "tiny")
    (out / "tiny" / "c" / "tiny_features.c").write_text("/* edited by hand */\n")
    cache = out / "tiny" / "ios" / ".build" / "debug"
    cache.mkdir(parents=True)
    (cache / "x.o").write_bytes(b"\0")  # SwiftPM's output: regenerable
    result = run("build", spec, "-o", out)
    assert result.exit_code == 0, result.output
    assert tree(out / "tiny") == first  # generated files say "Do not edit"
    assert run("check", spec, "-o", out).exit_code == 0
    assert [p.name for p in out.iterdir()] == ["tiny"]  # no temp siblings


@pytest.mark.parametrize("where", ["c/notes.txt", "NOTES.md", "ios/Sources/extra.swift"])
def test_build_refuses_a_generated_tree_with_a_hand_added_file(tmp_path, spec, where):
    out = tmp_path / "gen"
    assert run("build", spec, "-o", out).exit_code == 0
    added = out / "tiny" / where
    added.parent.mkdir(parents=True, exist_ok=True)
    added.write_text("mine\n")
    before = tree(out / "tiny")
    result = run("build", spec, "-o", out)
    assert result.exit_code == 2, result.output
    assert str(added) in result.output and "not written by featgen" in result.output
    assert tree(out / "tiny") == before


@pytest.mark.parametrize(
    "manifest",
    [
        None,
        "not json",
        '{"generator": "other", "files": {}}',
        '["a list"]',
        '{"generator": "featgen"}',
    ],
)
def test_build_refuses_a_folder_featgen_did_not_generate(tmp_path, spec, manifest):
    target = tmp_path / "gen" / "tiny"
    target.mkdir(parents=True)
    (target / "main.c").write_text("int main(void) { return 0; }\n")
    if manifest is not None:
        (target / "manifest.json").write_text(manifest)
    before = tree(target)
    result = run("build", spec, "-o", tmp_path / "gen")
    assert result.exit_code == 2, result.output
    assert "refusing to replace" in result.output and str(target) in result.output
    assert tree(target) == before


def test_build_into_the_examples_folder_is_refused(tmp_path):
    """The issue's case: `featgen build examples/twist_and_go/spec.yaml -o examples`."""
    examples = tmp_path / "examples"
    (examples / "twist_and_go").mkdir(parents=True)
    spec = examples / "twist_and_go" / "spec.yaml"
    spec.write_text(SPEC.replace("name: tiny", "name: twist_and_go"))
    (examples / "twist_and_go" / "make_data.py").write_text("print('mine')\n")
    before = tree(examples)
    result = run("build", spec, "-o", examples)
    assert result.exit_code == 2, result.output
    assert "holds the spec" in result.output
    assert tree(examples) == before


@pytest.mark.parametrize(
    "kind", ["symlink", "broken-symlink", "file", "parent-file", "parent-device"]
)
def test_things_in_the_way_are_refused_before_anything_is_written(tmp_path, spec, kind):
    out = tmp_path / "gen"
    out.mkdir()
    target = out / "tiny"
    if kind == "symlink":
        (tmp_path / "elsewhere").mkdir()
        (tmp_path / "elsewhere" / "keep.txt").write_text("mine\n")
        target.symlink_to(tmp_path / "elsewhere")
    elif kind == "broken-symlink":
        target.symlink_to(tmp_path / "nowhere")
    elif kind == "file":
        target.write_text("mine\n")
    elif kind == "parent-file":
        (tmp_path / "plain").write_text("mine\n")
        out = tmp_path / "plain" / "sub"
    else:
        out = Path("/dev/full")
    listing = sorted(p.name for p in tmp_path.rglob("*"))
    for command in ("build", "check"):
        result = run(command, spec, "-o", out)
        assert result.exit_code == 2, (command, result.output)
        assert "Traceback" not in result.output
        assert sorted(p.name for p in tmp_path.rglob("*")) == listing
    if kind == "symlink":
        assert "symbolic link" in result.output
        assert (tmp_path / "elsewhere" / "keep.txt").read_text() == "mine\n"
    # once the obstacle is gone, the same build works (nothing was left behind)
    if kind in ("symlink", "broken-symlink", "file"):
        target.unlink()
        assert run("build", spec, "-o", out).exit_code == 0


def test_build_refuses_to_replace_the_current_folder(tmp_path, spec, monkeypatch):
    out = tmp_path / "gen"
    assert run("build", spec, "-o", out).exit_code == 0
    monkeypatch.chdir(out / "tiny")
    result = run("build", spec, "-o", "..")
    assert result.exit_code == 2 and "current folder" in result.output


@pytest.mark.parametrize("package", ["codegen", "featgen", "templates"])
def test_build_refuses_featgen_s_own_sources(tmp_path, spec, package):
    source = Path(codegen.__file__).resolve().parent.parent / package
    result = run("build", spec, "-o", source)
    assert result.exit_code == 2 and "featgen's own sources" in result.output
    assert not (source / "tiny").exists()


def test_build_refuses_to_destroy_or_write_inside_the_model_directory(tmp_path, model_dir):
    import shutil

    # the model inside the target: gen/tiny/model
    inside = tmp_path / "gen" / "tiny" / "model"
    shutil.copytree(model_dir, inside)
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC + "model: {path: gen/tiny/model}\n")
    result = run("build", spec, "-o", tmp_path / "gen")
    assert result.exit_code == 2 and "holds the model directory" in result.output
    assert (inside / "model.json").is_file()
    # the target inside the model: -o gen/tiny/model
    result = run("build", spec, "-o", inside)
    assert result.exit_code == 2 and "inside the model directory" in result.output
    assert sorted(p.name for p in inside.iterdir()) == [
        "featgen_model.json",
        "metrics.json",
        "model.json",
    ]


def test_check_exit_codes(tmp_path, spec):
    out = tmp_path / "gen"
    assert run("check", spec, "-o", out).exit_code == 1  # missing: stale
    assert run("build", spec, "-o", out).exit_code == 0
    assert run("check", spec, "-o", out).exit_code == 0
    (out / "tiny" / "extra.txt").write_text("x")
    result = run("check", spec, "-o", out)
    assert result.exit_code == 1 and "extra.txt: not generated by this spec" in result.output


# ------------------------------------------------------------ train -o: the model directory


@pytest.mark.parametrize("kind", ["not-a-model", "file", "symlink", "generated-tree"])
def test_train_refuses_an_output_it_would_destroy_before_training(tmp_path, spec, labelled, kind):
    out = tmp_path / "out"
    if kind == "not-a-model":
        out.mkdir()
        (out / "data.csv").write_text("a,b\n")
    elif kind == "file":
        out.write_text("mine\n")
    elif kind == "symlink":
        (tmp_path / "real").mkdir()
        out.symlink_to(tmp_path / "real")
    else:
        assert run("build", spec, "-o", tmp_path).exit_code == 0
        out = tmp_path / "tiny"
    listing = sorted(str(p) for p in tmp_path.rglob("*"))
    result = run("train", spec, *labelled, "-o", out, "--rounds", "2")
    assert result.exit_code == 2, result.output
    assert str(out) in result.output and "ROC AUC" not in result.output  # before training
    assert sorted(str(p) for p in tmp_path.rglob("*")) == listing


def test_train_replaces_a_model_directory_whole_and_keeps_other_files(
    tmp_path, model_dir, labelled
):
    import shutil

    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    (out / "evaluation.json").write_text('{"mine": 1}\n')
    (out / "notes").mkdir()
    (out / "notes" / "a.txt").write_text("mine\n")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    old_model = (out / "model.json").read_bytes()
    result = run("train", spec, *labelled, "-o", out, "--rounds", "3", "--max-depth", "2")
    assert result.exit_code == 0, result.output
    assert (out / "model.json").read_bytes() != old_model
    meta = json.loads((out / "featgen_model.json").read_text())
    import hashlib

    assert meta["model_sha256"] == hashlib.sha256((out / "model.json").read_bytes()).hexdigest()
    assert (out / "evaluation.json").read_text() == '{"mine": 1}\n'
    assert (out / "notes" / "a.txt").read_text() == "mine\n"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~_umask()
    assert [p.name for p in tmp_path.iterdir() if ".featgen-tmp-" in p.name] == []


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_an_edited_model_json_is_refused_by_build(tmp_path, model_dir):
    import shutil

    shutil.copytree(model_dir, tmp_path / "model")
    raw = (tmp_path / "model" / "model.json").read_text()
    (tmp_path / "model" / "model.json").write_text(
        raw.replace('"num_trees":"2"', '"num_trees": "2"')
    )
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC + "model: {path: model}\n")
    result = run("build", spec, "-o", tmp_path / "gen")
    assert result.exit_code == 2, result.output
    assert "is not the model" in result.output and "tiny.yaml:" in result.output
    assert not (tmp_path / "gen").exists()


# ------------------------------------------------------------------ internal errors, signals


def _boom(*args, **kwargs):
    raise ZeroDivisionError("a bug")


def test_an_internal_error_is_one_line_exit_3(spec, tmp_path, monkeypatch):
    monkeypatch.setattr(ui, "generate", _boom)  # featgen/ui.py loads every spec
    monkeypatch.delenv("FEATGEN_DEBUG", raising=False)
    result = run("build", spec, "-o", tmp_path / "gen")
    assert result.exit_code == 3, result.output
    assert "internal error" in result.output and "ZeroDivisionError: a bug" in result.output
    assert "Traceback" not in result.output and "--debug" in result.output
    assert not (tmp_path / "gen").exists()


@pytest.mark.parametrize("how", ["--debug", "FEATGEN_DEBUG=1"])
def test_the_traceback_only_with_debug(spec, tmp_path, monkeypatch, how):
    monkeypatch.setattr(ui, "generate", _boom)  # featgen/ui.py loads every spec
    if how == "--debug":
        result = run("--debug", "build", spec, "-o", tmp_path / "gen")
    else:
        result = run("build", spec, "-o", tmp_path / "gen", env={"FEATGEN_DEBUG": "1"})
    assert result.exit_code == 3
    assert "Traceback" in result.output and "ZeroDivisionError" in result.output


@pytest.mark.parametrize(
    "exc,code,message",
    [(KeyboardInterrupt, 130, "interrupted"), (cli.Terminated, 143, "terminated")],
)
def test_interrupts_exit_130_and_143_with_one_line(spec, tmp_path, monkeypatch, exc, code, message):
    def interrupt(*args, **kwargs):
        raise exc()

    monkeypatch.setattr(cli, "write_tree", interrupt)
    result = run("build", spec, "-o", tmp_path / "gen")
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output


def test_help_documents_the_exit_codes():
    result = run("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in (
        "0 success",
        "1 a real parity mismatch",
        "2 a usage, spec, data or output-path error",
        "3 an internal error",
        "130 interrupted",
        "143 terminated",
        "--debug",
    ):
        assert phrase in text, phrase


def test_version_exits_0():
    result = run("--version")
    assert result.exit_code == 0 and codegen.__version__ in result.output


def test_a_model_directory_that_cannot_be_renamed_is_written_file_by_file(
    tmp_path, model_dir, monkeypatch
):
    """SageMaker's /opt/ml/model may be a mount point (rename: EBUSY): each file is replaced
    atomically instead, model.json last, so a kill in between leaves a directory the build
    refuses (the hash check), not a silent mix."""
    import contextlib
    import shutil

    import featgen.safe_io as safe_io
    from featgen.train import write_model_directory

    out = tmp_path / "model"
    shutil.copytree(model_dir, out)
    (out / "evaluation.json").write_text("mine\n")

    @contextlib.contextmanager
    def mount_point(path):
        yield tmp_path / "staging-never-renamed"
        raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(path))

    monkeypatch.setattr(safe_io, "atomic_directory", mount_point)
    (tmp_path / "staging-never-renamed").mkdir()
    files = {
        "model.json": b"{}\n",
        "featgen_model.json": b'{"format": "featgen-model/1"}\n',
        "metrics.json": b"{}\n",
    }
    order = []
    real = safe_io.write_bytes_atomic
    monkeypatch.setattr(
        safe_io,
        "write_bytes_atomic",
        lambda path, data: (order.append(Path(path).name), real(path, data)),
    )
    assert write_model_directory(out, files) == ["evaluation.json"]
    assert order[-1] == "model.json"
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name in files} == files
    assert (out / "evaluation.json").read_text() == "mine\n"


@pytest.mark.parametrize("command", ["build", "train"])
def test_an_unwritable_output_folder_is_refused_up_front(spec, labelled, command):
    """/proc refuses new files even to root: probed before any work."""
    args = (
        ["build", spec, "-o", "/proc/featgen-out"]
        if command == "build"
        else ["train", spec, *labelled, "-o", "/proc/featgen-model", "--rounds", "2"]
    )
    result = run(*args)
    assert result.exit_code == 2, result.output
    assert "cannot write in /proc" in result.output and "Traceback" not in result.output
    assert "ROC AUC" not in result.output
