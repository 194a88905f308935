"""The featgen command line: build, check, featurize, parity."""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import tempfile
import threading
from pathlib import Path

import click
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

import codegen
import featurespec
from codegen import __version__
from codegen.build import stale_files, target_problem, write_tree
from codegen.targets import parity_targets
from codegen.targets.swift import GOLDEN_FILE
from featgen import harness
from featgen.harness import adapters, load_numpy_module
from featgen.harness.recordings import parity_recordings
from featurespec import Problem, SpecError
from featurespec.errors import OutputError, show
from featurespec.json_schema import schema_text
from featurespec.loader import load_spec_document
from featurespec.naming import pascal_case
from featurespec.vocabulary.features import FALLBACK, FEATURES, RATIO_DOC
from featurespec.vocabulary.signals import SIGNALS

from .cli_options import Greedy, feature_output_kind
from .cluster_cli import CLUSTER_HELP, featurize_partitioned
from .data import DataError, FeatureWriter, read_chunks, read_recordings, sources
from .model_cli import model_parity, model_summary, register
from .parquet_io import local_files
from .policy import (
    Yield,
    min_vectors_option,
    nonfinite_message,
    nonfinite_option,
    refuse_nonfinite,
    short_recordings,
    yields_of,
)
from .rawlog import raw_and_rest, segment_recordings
from .rawlog import register as register_rawlog
from .replay import compare, reference, summary_lines
from .replay_report import write_html
from .replay_text import read_log, to_text
from .replay_text import to_binary as binary_form
from .report import write_report
from .safe_io import (
    check_not_an_input,
    check_output_file,
    check_output_folder,
    write_bytes_atomic,
    write_text_atomic,
)
from .train import TrainError
from .ui import console, errors, fail, load, warn_no_swift

# The names this module has always used (other modules and tests reach them as cli._fail ...).
_fail, _load, _warn_no_swift = fail, load, warn_no_swift


EXIT_CODES = """Exit codes: 0 success; 1 a real parity mismatch or a stale `featgen check`;
2 a usage, spec, data or output-path error (nothing is written); 3 an internal error (one line;
the traceback with --debug or FEATGEN_DEBUG=1); 130 interrupted (SIGINT, Ctrl-C); 143
terminated (SIGTERM). Outputs are written beside their final path and renamed into place: a
killed run leaves the previous output or none. No command deletes what featgen did not write
(README: Safety)."""


class Terminated(BaseException):
    """SIGTERM, raised in the main thread (like KeyboardInterrupt for SIGINT) so every output's
    cleanup runs: its temporary sibling is removed and the previous output stays."""


def _terminate(signum, frame) -> None:
    raise Terminated()


class Interrupted(BaseException):
    """SIGINT, carried past click's main: click answers a KeyboardInterrupt by echoing a blank
    line to stderr before its Abort, and "interrupted" is to be the one line printed."""


_state = {"debug": False, "standalone": False}


class FeatgenGroup(click.Group):
    """The featgen group with one exit-code policy for every command (EXIT_CODES)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:  # a library caller handles exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        _state["debug"] = os.environ.get("FEATGEN_DEBUG", "") not in ("", "0")
        _state["standalone"] = True
        main_thread = threading.current_thread() is threading.main_thread()
        try:  # a signal landing outside _exit_status's own try still gets its status
            previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
            try:
                status = _exit_status(
                    lambda: super(FeatgenGroup, self).main(
                        args, prog_name, complete_var, standalone_mode=False, **extra
                    )
                )
            finally:
                if main_thread:
                    signal.signal(signal.SIGTERM, previous)
        except Terminated:
            errors.print("terminated (SIGTERM)", soft_wrap=True)
            status = 143
        except (KeyboardInterrupt, Interrupted):
            errors.print("interrupted", soft_wrap=True)
            status = 130
        finally:
            _state["standalone"] = False
        sys.exit(status)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            if not _state["standalone"]:  # a library caller: click's own handling
                raise
            raise Interrupted() from None


def _exit_status(invoke) -> int:
    """Run ``invoke`` (click's main without its own error handling); map what it raises to
    an exit status and a one-line message (EXIT_CODES)."""
    try:
        result = invoke()
        return result if isinstance(result, int) else 0
    except SystemExit:
        raise  # a command's own verdict (_fail, parity mismatch)
    except (KeyboardInterrupt, Interrupted, click.exceptions.Abort):  # SIGINT (Abort: click's)
        errors.print("interrupted", soft_wrap=True)
        return 130
    except Terminated:
        errors.print("terminated (SIGTERM)", soft_wrap=True)
        return 143
    except click.ClickException as exc:
        exc.show()
        return 2
    except SpecError as exc:
        errors.print(f"[bold red]error:[/] invalid spec\n{escape(str(exc))}", soft_wrap=True)
        return 2
    except (DataError, TrainError, OutputError) as exc:
        errors.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return 2
    except OSError as exc:
        if exc.errno == errno.EPIPE:  # `featgen vocabulary | head`: the reader left
            try:  # (no second error when Python flushes stdout at exit)
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 141
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        errors.print(
            f"[bold red]error:[/] {escape(where + ': ' if where else '')}"
            f"{escape(exc.strerror or str(exc))}",
            soft_wrap=True,
        )
        if _state["debug"]:
            errors.print_exception()
        return 2
    except Exception as exc:
        if _state["debug"]:
            errors.print_exception()
        message = " ".join(str(exc).split())[:300]
        errors.print(
            f"[bold red]internal error:[/] {escape(type(exc).__name__)}"
            f"{escape(': ' + message if message else '')} (a featgen bug; "
            "--debug or FEATGEN_DEBUG=1 shows the traceback)",
            soft_wrap=True,
        )
        return 3


def _set_debug(ctx, param, value) -> None:
    if value:
        _state["debug"] = True


@click.group(
    cls=FeatgenGroup, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES
)
@click.version_option(__version__, prog_name="featgen")
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_debug,
    help="On an internal error, print the traceback (also: FEATGEN_DEBUG=1).",
)
def main() -> None:
    """featgen: one YAML feature spec -> numpy (training), C99 (Android) and Swift (iOS),
    bit-identical by construction and proven by the parity harness."""


def _protected(parsed, spec_path: str) -> tuple:
    """What `featgen build` must never replace (nor write inside, for the last two)."""
    protect = [("the spec", Path(spec_path), False), ("the current folder", Path.cwd(), False)]
    if parsed.model is not None:
        protect.append(("the model directory", Path(parsed.model.directory), True))
    root = Path(codegen.__file__).resolve().parent.parent
    for package in (
        Path(codegen.__file__).parent,
        Path(featurespec.__file__).parent,
        Path(__file__).parent,
        root / "templates",
        root / "parity_tests",
    ):
        if package.is_dir():
            protect.append(("featgen's own sources", package, True))
    return tuple(protect)


def _check_type_names(parsed, spec_path: str, root: Path) -> None:
    """Trees built into one output root end up in one app, and their Swift packages, Kotlin
    classes (all in package ``featgen``) and Core ML models are named by ``pascal_case`` of the
    spec name: two names that give the same one (``a_b1`` and ``a_b_1`` both give ``AB1``)
    would collide there. A located spec error, before anything is written."""
    mine = pascal_case(parsed.name)
    for manifest in sorted(root.glob("*/manifest.json")) if root.is_dir() else ():
        try:
            other = json.loads(manifest.read_text()).get("spec")
        except (OSError, ValueError, AttributeError):
            continue  # not a featgen tree: nothing generated to collide with
        if isinstance(other, str) and other != parsed.name and pascal_case(other) == mine:
            where = load_spec_document(spec_path).loc(("name",))
            raise SpecError(
                [
                    Problem.at(
                        where,
                        (
                            f"{show(parsed.name)} and the spec {show(other)} already built in "
                            f"{manifest.parent}/ both give the type name {mine} (Swift package "
                            f"{mine}Features, Kotlin class featgen.{mine}): one app cannot hold both; "
                            "rename one"
                        ),
                    )
                ]
            )


def _check_tree_target(target: Path) -> None:
    problem = target_problem(target)
    if problem:
        raise OutputError(problem)


def _tree_options(command):
    """SPEC, -o and --all-features-on-device: what build and check both take (check must
    regenerate exactly what build wrote)."""
    command = click.option(
        "--all-features-on-device",
        "all_features",
        is_flag=True,
        help="With a model: the detector computes every feature (a debugging or logging "
        "build) instead of only those the model reads.",
    )(command)
    command = click.option(
        "-o",
        "--output",
        default="generated",
        show_default=True,
        type=click.Path(file_okay=False),
        help="Root of the generated tree.",
    )(command)
    return click.argument("spec", type=click.Path(dir_okay=False))(command)


@main.command()
@_tree_options
@click.option(
    "--golden",
    is_flag=True,
    help="Also compute the Swift package's golden vectors (ios/Tests/.../golden.bin, "
    "which its XCTests compare with). This RUNS the generated numpy module; "
    "without it the build executes nothing and those XCTests skip.",
)
def build(spec: str, output: str, all_features: bool, golden: bool) -> None:
    """Generate code for SPEC into OUTPUT/<spec name>/ (deterministic, written atomically).
    Only OUTPUT/<spec name>/ is written, and it is replaced only when it is absent, empty or a
    tree featgen generated (its manifest.json lists every file in it). Writes files and runs
    nothing, unless --golden asks for the golden vectors (featgen/harness/golden.py)."""
    parsed, files = _load(spec, prune=not all_features, golden=golden)
    target = Path(output) / parsed.name
    _check_tree_target(target)
    _check_type_names(parsed, spec, Path(output))
    check_output_folder(target.parent, f"-o {output}", create=True)
    write_tree(files, target, protect=_protected(parsed, spec))
    console.print(
        f"wrote {len(files)} files to {target}/ ({len(parsed.feature_names)} features, "
        f"spec {parsed.spec_hash[:12]})",
        markup=False,
    )
    if parsed.model is not None:
        console.print(model_summary(files), soft_wrap=True)


@main.command()
@_tree_options
@click.option(
    "--golden",
    is_flag=True,
    help="Expect the Swift golden vectors (runs the generated numpy module). Implied when "
    "the tree's manifest lists them, i.e. it was built with --golden.",
)
def check(spec: str, output: str, all_features: bool, golden: bool) -> None:
    """Fail (exit 1) when OUTPUT/<spec name>/ is not exactly what SPEC generates. A tree built
    with --golden is checked with its golden vectors: its manifest says so."""
    parsed, files = _load(spec, prune=not all_features, golden=golden)
    target = Path(output) / parsed.name
    _check_tree_target(target)
    if not golden and _has_golden(target):
        golden = True
        parsed, files = _load(spec, prune=not all_features, golden=True)
    problems = stale_files(files, target)
    if problems:
        rebuild = f"featgen build{' --golden' if golden else ''} {spec} -o {output}"
        _fail(f"{target}/ is stale; run `{rebuild}`:\n  " + "\n  ".join(problems), status=1)
    console.print(f"{target}/ is up to date ({len(files)} files)", markup=False)


def _has_golden(target: Path) -> bool:
    """Whether the generated tree at TARGET carries the Swift golden vectors: its manifest
    lists the golden file (an unreadable manifest is the staleness check's to report)."""
    try:
        listed = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return isinstance(listed, dict) and any(
        path.endswith("/" + GOLDEN_FILE) for path in listed if isinstance(path, str)
    )


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    help="Feature table to write: .csv (header of names), .npz, or a directory (no "
    "extension, or .parquet; or an fsspec URL) of Parquet partitions, one per "
    "recording; another extension is refused. A .csv/.npz file's folder must "
    "exist; a directory output's missing parents are created.",
)
@nonfinite_option
@min_vectors_option
@click.option("--cluster", metavar="ADDRESS", help=CLUSTER_HELP)
@click.option(
    "--platform",
    type=click.Choice(["android", "ios"]),
    help="Raw sensor logs (spec with sensors:): the platform they come from.",
)
def featurize(
    spec: str,
    data: tuple[str, ...],
    output: str,
    drop_nonfinite: bool,
    min_vectors: int,
    cluster: str | None,
    platform: str | None,
) -> None:
    """Training features of the recordings in DATA (.csv, .npz or .parquet files; for a
    Parquet directory output also directories, globs and fsspec URLs), via the generated numpy
    code. A directory output is resumable: a rerun keeps the finished partitions. Recordings
    too short for a vector are counted and named (--min-vectors refuses them); when no
    recording gives a vector nothing is written (exit 2)."""
    kind = feature_output_kind(output)  # before any work
    if kind != "partitions":
        check_output_file(output, "-o")
    parsed, files = _load(spec, features_only=True)
    if cluster is not None or kind == "partitions":
        if min_vectors:
            raise click.UsageError(
                "--min-vectors applies to a .csv or .npz output; a Parquet "
                "directory is written one recording at a time"
            )
        featurize_partitioned(parsed, files, data, output, cluster, drop_nonfinite)
        return
    check_output_file(output, "-o")
    module = load_numpy_module(files, parsed.name)
    try:
        inputs = local_files(data)
        check_not_an_input(output, [spec, *inputs], "-o")
        raw, rest = raw_and_rest(parsed, inputs)  # raw sensor logs: resampled
        segments = segment_recordings(parsed, files, raw, platform) if raw else {}
        recordings = sources(rest) if rest else []
    except DataError as exc:
        _fail(str(exc))
    nonfinite = "drop" if drop_nonfinite else "raise"
    yields: list[Yield] = []
    try:  # streamed: a chunk of samples at a time in, its vectors out (bounded memory)
        with (
            FeatureWriter(Path(output), parsed.feature_names) as table,
            Progress(console=errors, transient=True) as progress,
        ):
            task = progress.add_task("featurizing", total=len(segments) + len(recordings))
            for label, samples in segments.items():  # one fresh featuriser per segment
                x, ends = module.Featurizer(nonfinite).push(samples)  # finite by the rule
                table.write(label, x, ends)
                yields.append(Yield(label, len(samples), len(samples), len(ends)))
                progress.advance(task)
            for source in recordings:
                featurizer = module.Featurizer(nonfinite)
                vectors = 0
                for chunk in read_chunks(source, parsed.inputs):
                    try:
                        x, ends = featurizer.push(chunk.samples)
                    except module.NonFiniteSampleError as exc:
                        raise DataError(
                            nonfinite_message(
                                chunk.where(source, exc.row), exc.input_name, exc.value
                            )
                        ) from None
                    table.write(source.label, x, ends)
                    vectors += len(ends)
                    progress.update(
                        task, description=f"featurizing {source.label}: {featurizer.rows:,} samples"
                    )
                yields.append(Yield(source.label, featurizer.rows, featurizer.accepted, vectors))
                progress.advance(task)
            warning = short_recordings(parsed, yields, min_vectors)  # before it is written
            if table.vectors == 0:
                raise DataError(
                    f"no feature vectors at all from {len(yields)} recording(s), so "
                    f"nothing was written to {output}: each recording needs at "
                    f"least {parsed.max_length} finite samples (the longest "
                    "window) for its first vector"
                )
    except DataError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{output}: cannot write ({exc.strerror or exc})")
    if warning:
        errors.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    console.print(
        f"wrote {table.vectors} vectors x {len(parsed.feature_names)} features from "
        f"{len(yields)} recording(s) to {output}"
        + (
            f" ({len(yields) - sum(1 for y in yields if y.vectors)} gave none)"
            if any(not y.vectors for y in yields)
            else ""
        ),
        markup=False,
    )


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option(
    "--data",
    "data",
    cls=Greedy,
    metavar="PATH...",
    help="Recordings: files (.csv/.npz/.parquet), directories or globs, several after "
    "one flag; default: seeded synthetic streams with edge cases (non-finite "
    "samples included on purpose).",
)
@nonfinite_option
@min_vectors_option
@click.option(
    "--samples",
    default=12_000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Samples per synthetic stream.",
)
@click.option(
    "--streams",
    default=3,
    show_default=True,
    type=click.IntRange(min=1),
    help="Number of synthetic streams.",
)
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the report as JSON."
)
@click.option("--all-features", is_flag=True, help="List every feature, not only the worst ones.")
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write the report as one self-contained HTML file (ULP table, "
    "predictions, threshold proximity, decision timelines, manifest).",
)
@click.option(
    "--targets",
    "target_names",
    metavar="NAMES",
    help="Only these targets, comma-separated registry names or keys, case-insensitive ("
    + ", ".join(f"{t.name} or {t.key}" for t in parity_targets())
    + "); default: every one. The others are left out of the report, not NOT CHECKED "
    "(e.g. --targets C,Swift skips the Kotlin/JVM compile, minutes for a new spec).",
)
def parity(
    spec: str,
    data: tuple[str, ...],
    drop_nonfinite: bool,
    min_vectors: int,
    samples: int,
    streams: int,
    json_path: str | None,
    all_features: bool,
    html_path: str | None,
    target_names: str | None,
) -> None:
    """Stream recordings through every target sample by sample; compare with numpy bit for bit.
    With --drop-nonfinite, non-finite samples of --data are streamed too: the targets reject
    them and numpy drops them, which the comparison checks. --targets picks some of them."""
    try:
        selected = adapters.select(target_names)
    except ValueError as exc:
        _fail(f"--targets: {exc}")
    for option, path in (("--json", json_path), ("--html", html_path)):
        if path:  # before the run, not after minutes of it
            check_output_file(path, option)
    parsed, files = _load(spec)
    try:
        if data:
            paths = local_files(data)
            recordings = read_recordings(paths, parsed.inputs)
            if not drop_nonfinite:
                refuse_nonfinite(recordings, sources(paths), parsed.inputs)
            warning = short_recordings(parsed, yields_of(parsed, recordings), min_vectors)
            if warning:
                errors.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        else:
            recordings = parity_recordings(len(parsed.inputs), samples, streams)
    except DataError as exc:
        _fail(str(exc))
    longest = max(w.length for w in parsed.windows)
    if all(r.shape[0] < longest for r in recordings.values()):
        _fail(
            f"every recording is shorter than the longest window ({longest} samples): no "
            "feature vector to compare (use more --samples or longer --data)"
        )
    module = harness.load_numpy_module(files, parsed.name)
    # Every selected parity target (codegen/targets; all of them without --targets) whose
    # toolchain is here; the others are reported NOT CHECKED (an error under CI=true).
    runnable, missing = [], {}
    for target, adapter in selected:
        reason = adapter.missing()
        if reason is None:
            runnable.append((target, adapter))
        else:
            missing[target.name] = reason
            _warn_not_checked(target, reason)
    # (prefix, label, reference): the full featuriser against numpy; with a model, also the
    # device featuriser (only the features the model reads) against those numpy columns.
    featurisers = [
        (
            prefix,
            "" if columns is None else " device",
            module if columns is None else harness.Columns(module, columns),
        )
        for prefix, columns in files.featurisers
    ]
    with (
        tempfile.TemporaryDirectory() as work,
        Progress(console=errors, transient=True) as progress,
    ):
        task = progress.add_task("building targets", total=None)
        targets = []
        for prefix, suffix, reference in featurisers:
            for target, adapter in runnable:
                progress.update(task, description=f"building the {target.name}{suffix} target")
                try:
                    built = adapter.featuriser(
                        files, prefix, Path(work) / f"{target.key}{suffix.strip()}"
                    )
                except RuntimeError as exc:
                    _fail(f"the {target.name} target does not build:\n{exc}", status=1)
                targets.append((harness.Target(target.name + suffix, built.stream), reference))
        progress.update(task, description="streaming", total=len(targets) * len(recordings))
        comparisons = []
        for streamed, reference in targets:
            comparison = harness.Comparison(streamed.name, tuple(reference.FEATURE_NAMES))
            for label, rec in recordings.items():
                harness.compare_recording(reference, streamed, label, rec, comparison)
                progress.advance(task)
            comparisons.append(comparison)
    _print_report(parsed, recordings, comparisons, all_features)
    predictions = None
    if parsed.model is not None:  # prediction parity: featgen/model_cli.py
        predictions = model_parity(parsed, files, module, recordings, [t.name for t, _ in runnable])
    if json_path:
        report = {
            "spec": parsed.name,
            "spec_hash": parsed.spec_hash,
            "recordings": {k: int(v.shape[0]) for k, v in recordings.items()},
            "checked": [t.name for t, _ in runnable],
            "not_checked": missing,
            "targets": [c.to_json() for c in comparisons],
        }
        if predictions is not None:
            report["predictions"] = predictions
        write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    if html_path:
        names = list(recordings)
        source = (
            f"your --data, {len(names)} recording(s): {', '.join(names[:3])}"
            + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            if data
            else f"{streams} seeded synthetic edge-case stream(s) of {samples:,} samples"
        )
        with Progress(console=errors, transient=True) as progress:
            progress.add_task("writing the HTML report", total=None)
            write_report(
                Path(html_path),
                parsed,
                files,
                module,
                recordings,
                comparisons,
                predictions,
                missing,
                source,
                synthetic=not data,
                checked=[t.name for t, _ in runnable],
            )
        console.print(f"wrote the HTML report to {html_path}", soft_wrap=True, markup=False)
    if not all(c.identical for c in comparisons) or (predictions and not predictions["identical"]):
        sys.exit(1)
    for name, reason in missing.items():
        _warn_not_checked(adapters.TARGETS_BY_NAME[name], reason)
    if missing and os.environ.get("CI") == "true":
        _fail(
            f"CI=true and the {' and '.join(missing)} target"
            f"{'s were' if len(missing) > 1 else ' was'} not checked",
            status=1,
        )


@main.command()
@click.argument("log", type=click.Path(exists=True))
@click.option(
    "--spec",
    "spec_path",
    type=click.Path(dir_okay=False),
    help="The spec this checkout builds (default: examples/<name in the log>/spec.yaml).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False),
    help="Write the report as JSON (one entry per log).",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Write a self-contained HTML report: margins on the device vs the reference, "
    "the first divergence, the per-feature ULP table.",
)
@click.option(
    "--to-jsonl",
    "to_jsonl",
    type=click.Path(dir_okay=False),
    help="Convert LOG to the JSON-lines text form (exact bits as hex) and stop.",
)
@click.option(
    "--to-binary",
    "to_binary",
    type=click.Path(dir_okay=False),
    help="Convert LOG (binary or text form) to the binary form and stop.",
)
def replay(
    log: str,
    spec_path: str | None,
    json_path: str | None,
    html_path: str | None,
    to_jsonl: str | None,
    to_binary: str | None,
) -> None:
    """Re-run a flight-recorder LOG (or a directory of logs) through numpy and XGBoost.

    Reports identity (hashes), the first diverging push and feature(s), the ULP distance, the
    suspected cause, the events that would differ, and a summary. LOG may be the binary form or
    the JSON-lines text form (docs/replay.md). Exit 0 identical, 1 diverged, 2 malformed log
    (the error names the byte offset)."""
    for option, value in (
        ("--json", json_path),
        ("--html", html_path),
        ("--to-jsonl", to_jsonl),
        ("--to-binary", to_binary),
    ):
        if value:
            check_output_file(value, option)
    path = Path(log)
    inputs = [p for p in path.iterdir() if p.is_file()] if path.is_dir() else [path]
    outputs = [
        (o, v)
        for o, v in (
            ("--json", json_path),
            ("--html", html_path),
            ("--to-jsonl", to_jsonl),
            ("--to-binary", to_binary),
        )
        if v
    ]
    for k, (option, value) in enumerate(outputs):  # no output over a log, the spec or another
        check_not_an_input(value, inputs + ([spec_path] if spec_path else []), option)
        for other, earlier in outputs[:k]:
            if Path(value).resolve() == Path(earlier).resolve():
                raise click.UsageError(f"{option} and {other} name the same file {value}")
    if to_jsonl or to_binary:
        if path.is_dir():
            raise click.BadParameter("converts one log file, not a directory", param_hint="LOG")
        parsed = read_log(path)
        if to_jsonl:
            write_text_atomic(to_jsonl, to_text(parsed))
            console.print(
                f"wrote the text form of {log} to {to_jsonl}", soft_wrap=True, markup=False
            )
        if to_binary:
            write_bytes_atomic(to_binary, binary_form(parsed))
            console.print(
                f"wrote the binary form of {log} to {to_binary}", soft_wrap=True, markup=False
            )
        return
    paths = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    if not paths:
        raise click.BadParameter(f"{log}: no log files in the directory", param_hint="LOG")
    logs = [(p, read_log(p)) for p in paths]  # every log whole before any replay
    refs: dict = {}
    reports = {}
    for p, parsed in logs:
        name = parsed.header.spec_name
        if spec_path is None and not name.isidentifier():
            raise click.UsageError(f"{p}: the log names no usable spec ({name!r}); give --spec")
        sp = spec_path or f"examples/{name}/spec.yaml"
        if not Path(sp).is_file():
            raise click.UsageError(
                f"--spec {sp} does not exist"
                if spec_path
                else f"{p}: no --spec given and {sp} does not exist"
            )
        if sp not in refs:
            refs[sp] = reference(sp)
        report = compare(parsed, refs[sp], want_timeline=bool(html_path))
        reports[str(p)] = report
        for line in summary_lines(str(p), report):
            console.print(line, soft_wrap=True, markup=False)
    if len(reports) > 1:
        bad = [k for k, r in reports.items() if not r["identical"]]
        console.print(
            f"{len(reports)} logs: {len(reports) - len(bad)} identical, {len(bad)} diverged",
            soft_wrap=True,
            markup=False,
        )
    if html_path:
        write_html(html_path, reports)
        console.print(f"wrote the HTML report to {html_path}", soft_wrap=True, markup=False)
    if json_path:
        write_text_atomic(
            json_path,
            json.dumps(
                {k: {f: v for f, v in r.items() if f != "timeline"} for k, r in reports.items()},
                indent=2,
            )
            + "\n",
        )
    if not all(r["identical"] for r in reports.values()):
        sys.exit(1)


def _warn_not_checked(target, reason: str) -> None:
    errors.print(
        f"[bold yellow]WARNING: {escape(target.title)} target NOT CHECKED[/]: "
        f"{escape(reason)}, so this report does not cover it (with CI=true this is an "
        "error).",
        markup=True,
        soft_wrap=True,
    )


@main.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the schema to this file instead of printing it.",
)
def schema(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of the spec, for editors (docs/featgen-spec.schema.json
    is this); `featgen build` remains the full check."""
    if output:
        check_output_file(output, "-o")
        write_text_atomic(output, schema_text())
        console.print(f"wrote the spec's JSON Schema to {output}", markup=False)
    else:
        click.echo(schema_text(), nl=False)


@main.command()
def vocabulary() -> None:
    """Print every signal and feature kind with its exact definition and parameters (Markdown)."""
    click.echo(vocabulary_markdown(), nl=False)


def _yaml_value(value) -> str:
    """A default as the user would write it in the spec (true, null, [1, 2]), not Python's repr."""
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def vocabulary_markdown() -> str:
    """The vocabulary reference, generated from the registries (docs/vocabulary.md is this)."""

    def params(declared) -> str:
        if not declared:
            return ""
        parts = []
        for key, p in declared.items():
            default = "required" if p.required else f"default {_yaml_value(p.default)}"
            parts.append(f"`{key}` ({p.kind}, {default}): {p.doc}")
        return "<br>".join(parts)

    lines = [
        "# featgen vocabulary",
        "",
        "Generated by `featgen vocabulary` from the registries in featurespec/vocabulary/features.py and "
        "featurespec/vocabulary/signals.py; every target computes exactly these definitions.",
        "",
        "## Signals (per sample)",
        "",
        "| signal | sources | definition | parameters |",
        "|---|---|---|---|",
    ]
    for s in SIGNALS.values():
        count = (
            str(s.min_sources)
            if s.min_sources == s.max_sources
            else f"{s.min_sources}-{s.max_sources}"
        )
        lines.append(f"| `{s.name}` | {count} | {s.doc} | {params(s.params)} |")
    lines += [
        "",
        "## Features (per window of L samples, index 0 = oldest)",
        "",
        "| feature | definition | parameters | min L |",
        "|---|---|---|---|",
    ]
    for f in FEATURES.values():
        lines.append(f"| `{f.name}` | {f.doc} | {params(f.params)} | {f.min_length} |")
    lines += [
        "",
        "## Ratio of two columns",
        "",
        "An entry `{ratio: [numerator, denominator], label: name, fallback: 0.0}` adds "
        "one column, `name__window`: the ratio of two feature columns declared above it "
        "(a ratio of a ratio is fine), over one window. Its kernel runs both operands' "
        "own code, so it needs nothing the operands do not, and shares their work in the "
        "window.",
        "",
        f"- {RATIO_DOC}",
        f"- `fallback` (number, default 0.0): {FALLBACK.doc}",
        "- Refused, each with its file:line: an operand that is not a "
        "column declared above (unknown, or declared below: ratios cannot form a cycle), "
        "the ratio's own column, the same column twice, columns of two windows, a label "
        "whose column already exists.",
    ]
    return "\n".join(lines) + "\n"


def _print_report(spec, recordings, comparisons, all_features: bool) -> None:
    total = sum(r.shape[0] for r in recordings.values())
    console.print(
        f"parity for {spec.name}: {len(recordings)} recording(s), {total} samples, "
        f"{len(spec.feature_names)} features"
    )
    table = Table(title="max ULP against numpy (0 = bit-identical)", title_justify="left")
    table.add_column("feature")
    for c in comparisons:
        table.add_column(c.target, justify="right")
    names = spec.feature_names
    stats = [{s.name: s for s in c.stats} for c in comparisons]  # a device target: a subset
    worst = sorted(
        range(len(names)),
        key=lambda j: -max(by[names[j]].max_ulp for by in stats if names[j] in by),
    )
    shown = range(len(names)) if all_features else worst[:10]
    for j in shown:
        table.add_row(
            names[j], *(_ulp_cell(by[names[j]]) if names[j] in by else "·" for by in stats)
        )
    if not all_features and len(names) > 10:
        table.caption = f"10 worst of {len(names)} features (--all-features: all)"
        table.caption_justify = "left"
    if len(stats) > 1 and any(len(by) < len(names) for by in stats):
        table.caption = (
            (table.caption + "; ") if table.caption else ""
        ) + "· = not computed by that featuriser (the device one computes what the model reads)"
        table.caption_justify = "left"
    console.print(table)
    for c in comparisons:
        w = c.worst
        verdict = "[green]bit-identical[/]" if c.identical else "[bold red]MISMATCH[/]"
        exact = sum(1 for s in c.stats if not s.mismatches)
        console.print(
            f"{c.target}: {c.vectors} vectors; {exact}/{len(c.stats)} features "
            f"bit-identical; worst feature {w.name} ({w.max_ulp} ULP): {verdict}",
            markup=True,
        )
        for p in c.problems:  # they name recordings: user text, never markup
            console.print(f"  {p}", markup=False)
        for s in c.stats:
            if s.mismatches:
                console.print(
                    f"  {s.name}: {s.mismatches} mismatches; first: {s.first}", markup=False
                )


def _ulp_cell(stat) -> str:
    return (
        str(stat.max_ulp) if not stat.mismatches else f"[red]{stat.max_ulp} ({stat.mismatches})[/]"
    )


register(main)
register_rawlog(main)

if __name__ == "__main__":
    main()
