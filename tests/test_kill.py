"""Kill featgen at seeded random points (SIGTERM, SIGINT, one SIGKILL) while it writes each kind
of output; the final path must hold the previous complete output, the new complete output, or
nothing: never a partial file or a mixed directory. A later run must succeed.

Each command runs as a subprocess (``python3 -m featgen`` from this tree) on a tiny spec and
data set. Half of the kill points are uniform over the command's measured run time, half are
aimed at the write itself (the moment a temporary sibling of the output appears, or the output
changes, plus a seeded 0-5 ms): the window a non-atomic writer would leave a partial file in.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from featgen.cli import main

ROOT = Path(__file__).resolve().parent.parent
TMP_MARK = ".featgen-tmp-"
OK_CODES = {0, 130, 143, -signal.SIGINT, -signal.SIGTERM}

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


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """The tiny spec, a variant with the same name (a different previous tree), and three
    labelled recordings of three subjects."""
    d = tmp_path_factory.mktemp("kill")
    (d / "tiny.yaml").write_text(SPEC)
    (d / "tiny_prev.yaml").write_text(SPEC.replace("[mean, std]", "[mean, max]"))
    rng = np.random.default_rng(15)
    for s in range(3):
        n = 400
        x = rng.normal(size=(n, 2))
        label = (np.sin(np.arange(n) / 10.0) > 0.5).astype(int)
        x[:, 0] += 2 * label
        rows = [f"{float(x[i, 0])!r},{float(x[i, 1])!r},{label[i]},{s}" for i in range(n)]
        (d / f"rec{s}.csv").write_text("a,b,label,subject\n" + "\n".join(rows) + "\n")
    # featurize's input: long enough that writing its output takes milliseconds, the window a
    # non-atomic writer leaves a partial file in
    x = rng.normal(size=(40_000, 2))
    (d / "long.csv").write_text("a,b\n" + "\n".join(f"{u!r},{v!r}" for u, v in x.tolist()) + "\n")
    return d


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "featgen", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "FEATGEN_DEBUG")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _state(path: Path):
    """What a reader finds at ``path``: None (absent), file contents, or {relpath: contents}
    of a directory (SwiftPM caches aside). An .npz by its arrays (zip timestamps vary); one
    that does not load is a partial file."""
    if not os.path.lexists(path):
        return None
    if path.is_dir():
        return {
            p.relative_to(path).as_posix(): _state(p)
            for p in sorted(path.rglob("*"))
            if p.is_file()
        }
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: (z[k].dtype.str, z[k].shape, z[k].tobytes()) for k in z.files}
        except Exception:
            return ("partial npz", path.stat().st_size)
    return path.read_bytes()


def _snapshot(path: Path, keep: Path) -> None:
    if keep.exists():
        shutil.rmtree(keep) if keep.is_dir() else keep.unlink()
    shutil.copytree(path, keep) if path.is_dir() else shutil.copy2(path, keep)


def _restore(keep: Path, path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()
    shutil.copytree(keep, path) if keep.is_dir() else shutil.copy2(keep, path)


def _siblings(path: Path) -> list[str]:
    return sorted(
        e.name for e in os.scandir(path.parent) if e.name.startswith(f".{path.name}{TMP_MARK}")
    )


def _fingerprint(path: Path):
    """Changes when anything at ``path`` is written (a directory: any file in it)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    mark = (st.st_ino, st.st_size, st.st_mtime_ns)
    if not path.is_dir():
        return mark
    try:
        return mark, sorted((str(p), _fingerprint(p)) for p in path.iterdir())
    except FileNotFoundError:  # renamed away while we looked
        return None


def _kill_once(args, final: Path, sig: int, delay: float | None, jitter: float):
    """Start the command; kill it with ``sig`` after ``delay`` seconds, or (delay None) when
    its write begins plus ``jitter``. Returns (returncode, stderr, seconds to the kill)."""
    before = _fingerprint(final)
    proc = subprocess.Popen(
        [sys.executable, "-m", "featgen", *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        start = time.monotonic()
        while proc.poll() is None:
            if delay is not None:
                if time.monotonic() - start >= delay:
                    break
            elif _siblings(final) or _fingerprint(final) != before:
                time.sleep(jitter)
                break
            time.sleep(0.0005)
        elapsed = time.monotonic() - start
        if proc.poll() is None:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr, elapsed


def _case(work: Path, name: str):
    """(args of the killed run, args that write the previous output, the final path)."""
    spec, prev = str(work / "tiny.yaml"), str(work / "tiny_prev.yaml")
    data = [str(work / f"rec{s}.csv") for s in range(3)]
    if name == "build":
        return (
            ["build", spec, "-o", str(work / "gen")],
            ["build", prev, "-o", str(work / "gen")],
            work / "gen" / "tiny",
        )
    if name == "train":
        out = str(work / "model")
        return (
            ["train", spec, *data, "-o", out, "--rounds", "3", "--max-depth", "2"],
            ["train", spec, *data, "-o", out, "--rounds", "2", "--max-depth", "2"],
            work / "model",
        )
    if name == "parity":
        out = str(work / "parity.json")
        return (
            ["parity", spec, "--samples", "400", "--streams", "1", "--json", out],
            ["parity", spec, "--samples", "300", "--streams", "1", "--json", out],
            work / "parity.json",
        )
    if name == "schema":
        return (["schema", "-o", str(work / "schema.json")], None, work / "schema.json")
    if name.startswith("featurize"):
        out = str(work / f"x.{name.split('-')[1]}")
        return (
            ["featurize", spec, str(work / "long.csv"), "-o", out],
            ["featurize", spec, data[1], "-o", out],
            Path(out),
        )
    raise AssertionError(name)


# (command, SIGTERM/SIGINT kill points; one SIGKILL more): bounded, ~60 s of CPU in all
CASES = [
    ("schema", 5),
    ("build", 5),
    ("train", 5),
    ("parity", 5),
    ("featurize-csv", 5),
    ("featurize-npz", 5),
]


@pytest.mark.parametrize("name,points", CASES, ids=[c[0] for c in CASES])
def test_a_killed_command_leaves_the_previous_output_or_none(work, name, points):
    args, prev_args, final = _case(work, name)
    keep_prev = work / f"prev-{name}"
    if prev_args is None:  # schema has one possible output: the previous is any old file
        final.write_bytes(b'{"previous": "schema"}\n')
    else:  # in-process: no interpreter start-up to pay
        result = CliRunner().invoke(main, prev_args)
        assert result.exit_code == 0, result.output
    prev = _state(final)
    _snapshot(final, keep_prev)
    result = CliRunner().invoke(main, args)  # the new output, recorded in-process
    assert result.exit_code == 0, result.output
    new = _state(final)
    assert new != prev

    rng = random.Random(f"issue-15-{name}")
    # at the write first: its time to the write is the run time the uniform points range over
    trials = [
        (signal.SIGTERM if i % 2 == 0 else signal.SIGINT, i % 4 >= 2, rng.uniform(0.0, 0.005))
        for i in range(points)
    ]
    trials.append((signal.SIGKILL, False, rng.uniform(0.0, 0.005)))
    duration = None
    for sig, uniform, jitter in trials:
        _restore(keep_prev, final)
        delay = rng.uniform(0.1, 1.0) * duration if uniform else None
        code, stderr, elapsed = _kill_once(args, final, sig, delay, jitter)
        duration = duration or elapsed
        what = f"{name}: {signal.Signals(sig).name} " + (
            f"after {delay:.2f} s" if uniform else f"at the write + {jitter * 1e3:.1f} ms"
        )
        got = _state(final)
        assert got is None or got == prev or got == new, f"{what}: partial output at {final}"
        if sig == signal.SIGKILL:
            assert code in (0, -signal.SIGKILL), f"{what}: exit {code}\n{stderr}"
            continue
        assert code in OK_CODES, f"{what}: exit {code}\n{stderr}"
        if code in (130, 143):  # featgen's own handler ran: one line, cleaned up
            assert "Traceback" not in stderr, f"{what}:\n{stderr}"
            assert ("interrupted" if code == 130 else "terminated") in stderr, stderr
            assert not _siblings(final), f"{what}: left {_siblings(final)}"
        if code == 0:
            assert got == new, f"{what}: exit 0 but {final} is not the new output"

    # a later run succeeds, even beside leftovers of a run killed with SIGKILL
    _restore(keep_prev, final)
    (final.parent / f".{final.name}{TMP_MARK}leftover").mkdir(exist_ok=True)
    (final.parent / f".{final.name}{TMP_MARK}leftover" / "junk").write_text("x")
    (final.parent / f".{final.name}{TMP_MARK}old-leftover").write_text("x")
    result = _run(args)
    assert result.returncode == 0, result.stderr
    assert _state(final) == new


def test_build_refuses_a_model_directory_mixed_from_two_runs(work):
    """The SIGINT-after-model.json case of issue #15, made by hand: model.json from one run,
    featgen_model.json from another. featgen build must refuse it, naming both files."""
    data = [str(work / f"rec{s}.csv") for s in range(3)]
    for rounds, out in (("2", "m2"), ("3", "m3")):
        result = CliRunner().invoke(
            main,
            [
                "train",
                str(work / "tiny.yaml"),
                *data,
                "-o",
                str(work / out),
                "--rounds",
                rounds,
                "--max-depth",
                "2",
            ],
        )
        assert result.exit_code == 0, result.output
    with_model = work / "with_model.yaml"
    with_model.write_text(SPEC + "model: {path: m2}\n")
    build = ["build", str(with_model), "-o", str(work / "gen_model")]
    shutil.copy2(work / "m3" / "model.json", work / "m2" / "model.json")
    result = CliRunner().invoke(main, build)
    assert result.exit_code == 2, result.output
    assert "model.json" in result.output and "featgen_model.json" in result.output
    assert "retrain" in result.output and "Traceback" not in result.output
    assert not (work / "gen_model" / "tiny").exists()
    shutil.copytree(work / "m3", work / "m2", dirs_exist_ok=True)  # a consistent directory
    result = CliRunner().invoke(main, build)
    assert result.exit_code == 0, result.output
