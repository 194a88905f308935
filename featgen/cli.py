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
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from codegen import __version__
from codegen.build import generate, stale_files, target_problem, write_tree
from featurespec import SpecError, load_spec
from featurespec.errors import OutputError

from .cluster_cli import CLUSTER_HELP
from .data import DataError, FeatureWriter, read_chunks, read_recordings, sources
from .safe_io import check_output_file, check_output_folder, write_text_atomic
from .train import TrainError

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def _load(spec_path: str, prune: bool = True, features_only: bool = False):
    """Spec and generated files, or a clean located error and exit status 2. FEATURES_ONLY:
    the feature code alone (no model artifacts: featurising needs none, and is faster)."""
    try:
        spec = load_spec(spec_path)
        if features_only:
            import dataclasses
            return spec, generate(dataclasses.replace(spec, model=None, decision=None))
        return spec, generate(spec, prune=prune)
    except SpecError as exc:
        errors.print(f"[bold red]error:[/] invalid spec\n{escape(str(exc))}", soft_wrap=True)
        sys.exit(2)


def _fail(message: str, status: int = 2) -> None:
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(status)


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


_state = {"debug": False}


class FeatgenGroup(click.Group):
    """The featgen group with one exit-code policy for every command (EXIT_CODES)."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:         # a library caller handles exceptions itself
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        _state["debug"] = os.environ.get("FEATGEN_DEBUG", "") not in ("", "0")
        main_thread = threading.current_thread() is threading.main_thread()
        try:        # a signal landing outside _exit_status's own try still gets its status
            previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
            try:
                status = _exit_status(lambda: super(FeatgenGroup, self).main(
                    args, prog_name, complete_var, standalone_mode=False, **extra))
            finally:
                if main_thread:
                    signal.signal(signal.SIGTERM, previous)
        except Terminated:
            errors.print("terminated (SIGTERM)", soft_wrap=True)
            status = 143
        except KeyboardInterrupt:
            errors.print("interrupted", soft_wrap=True)
            status = 130
        sys.exit(status)


def _exit_status(invoke) -> int:
    """Run ``invoke`` (click's main without its own error handling); map what it raises to
    an exit status and a one-line message (EXIT_CODES)."""
    try:
        result = invoke()
        return result if isinstance(result, int) else 0
    except SystemExit:
        raise                           # a command's own verdict (_fail, parity mismatch)
    except (KeyboardInterrupt, click.exceptions.Abort):     # click turns SIGINT into Abort
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
        if exc.errno == errno.EPIPE:    # `featgen vocabulary | head`: the reader left
            try:                        # (no second error when Python flushes stdout at exit)
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), sys.stdout.fileno())
            except (OSError, ValueError):
                pass
            return 141
        where = " -> ".join(str(f) for f in (exc.filename, exc.filename2) if f is not None)
        errors.print(f"[bold red]error:[/] {escape(where + ': ' if where else '')}"
                     f"{escape(exc.strerror or str(exc))}", soft_wrap=True)
        if _state["debug"]:
            errors.print_exception()
        return 2
    except Exception as exc:
        if _state["debug"]:
            errors.print_exception()
        message = " ".join(str(exc).split())[:300]
        errors.print(f"[bold red]internal error:[/] {escape(type(exc).__name__)}"
                     f"{escape(': ' + message if message else '')} (a featgen bug; "
                     "--debug or FEATGEN_DEBUG=1 shows the traceback)", soft_wrap=True)
        return 3


def _set_debug(ctx, param, value) -> None:
    if value:
        _state["debug"] = True


@click.group(cls=FeatgenGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="featgen")
@click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_set_debug,
              help="On an internal error, print the traceback (also: FEATGEN_DEBUG=1).")
def main() -> None:
    """featgen: one YAML feature spec -> numpy (training), C99 (Android) and Swift (iOS),
    bit-identical by construction and proven by the parity harness."""


def _protected(parsed, spec_path: str) -> tuple:
    """What `featgen build` must never replace (nor write inside, for the last two)."""
    import codegen
    import featurespec
    protect = [("the spec", Path(spec_path), False), ("the current folder", Path.cwd(), False)]
    if parsed.model is not None:
        protect.append(("the model directory", Path(parsed.model.directory), True))
    root = Path(codegen.__file__).resolve().parent.parent
    for package in (Path(codegen.__file__).parent, Path(featurespec.__file__).parent,
                    Path(__file__).parent, root / "templates", root / "parity_tests"):
        if package.is_dir():
            protect.append(("featgen's own sources", package, True))
    return tuple(protect)


def _check_tree_target(target: Path) -> None:
    problem = target_problem(target)
    if problem:
        raise OutputError(problem)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="generated", show_default=True,
              type=click.Path(file_okay=False), help="Root of the generated tree.")
@click.option("--all-features-on-device", "all_features", is_flag=True,
              help="With a model: the detector computes every feature (a debugging or logging "
                   "build) instead of only those the model reads.")
def build(spec: str, output: str, all_features: bool) -> None:
    """Generate code for SPEC into OUTPUT/<spec name>/ (deterministic, written atomically).
    Only OUTPUT/<spec name>/ is written, and it is replaced only when it is absent, empty or a
    tree featgen generated (its manifest.json lists every file in it)."""
    parsed, files = _load(spec, prune=not all_features)
    target = Path(output) / parsed.name
    _check_tree_target(target)
    check_output_folder(target.parent, f"-o {output}", create=True)
    write_tree(files, target, protect=_protected(parsed, spec))
    console.print(f"wrote {len(files)} files to {target}/ ({len(parsed.feature_names)} features, "
                  f"spec {parsed.spec_hash[:12]})", markup=False)
    if parsed.model is not None:
        from .model_cli import model_summary
        console.print(model_summary(files), soft_wrap=True)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--output", default="generated", show_default=True,
              type=click.Path(file_okay=False), help="Root of the generated tree.")
@click.option("--all-features-on-device", "all_features", is_flag=True,
              help="With a model: the detector computes every feature (a debugging or logging "
                   "build) instead of only those the model reads.")
def check(spec: str, output: str, all_features: bool) -> None:
    """Fail (exit 1) when OUTPUT/<spec name>/ is not exactly what SPEC generates."""
    parsed, files = _load(spec, prune=not all_features)
    target = Path(output) / parsed.name
    _check_tree_target(target)
    problems = stale_files(files, target)
    if problems:
        _fail(f"{target}/ is stale; run `featgen build {spec} -o {output}`:\n  "
              + "\n  ".join(problems), status=1)
    console.print(f"{target}/ is up to date ({len(files)} files)", markup=False)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option("-o", "--output", required=True,
              help="Feature table to write: .csv (header of names), .npz, or a directory (or "
                   "fsspec URL) of Parquet partitions, one per recording.")
@click.option("--drop-nonfinite", is_flag=True,
              help="Drop samples with NaN/inf, as the device runtimes do (default: refuse).")
@click.option("--cluster", metavar="ADDRESS", help=CLUSTER_HELP)
@click.option("--platform", type=click.Choice(["android", "ios"]),
              help="Raw sensor logs (spec with sensors:): the platform they come from.")
def featurize(spec: str, data: tuple[str, ...], output: str, drop_nonfinite: bool,
              cluster: str | None, platform: str | None) -> None:
    """Training features of the recordings in DATA (.csv, .npz or .parquet files; for a
    Parquet directory output also directories, globs and fsspec URLs), via the generated numpy
    code. A directory output is resumable: a rerun keeps the finished partitions."""
    from parity_tests.harness import load_numpy_module

    parsed, files = _load(spec, features_only=True)
    if cluster is not None or Path(output).suffix.lower() not in (".csv", ".npz"):
        from .cluster_cli import featurize_partitioned
        featurize_partitioned(parsed, files, data, output, cluster, drop_nonfinite)
        return
    check_output_file(output, "-o")
    module = load_numpy_module(files, parsed.name)
    try:
        from .parquet_io import local_files
        from .rawlog import raw_and_rest, segment_recordings
        raw, rest = raw_and_rest(parsed, local_files(data))     # raw sensor logs: resampled
        segments = segment_recordings(parsed, files, raw, platform) if raw else {}
        recordings = sources(rest) if rest else []
    except DataError as exc:
        _fail(str(exc))
    nonfinite = "drop" if drop_nonfinite else "raise"
    try:    # streamed: a chunk of samples at a time in, its vectors out (bounded memory)
        with FeatureWriter(Path(output), parsed.feature_names) as table, \
                Progress(console=errors, transient=True) as progress:
            task = progress.add_task("featurizing", total=len(segments) + len(recordings))
            for label, samples in segments.items():     # one fresh featuriser per segment
                x, ends = module.Featurizer(nonfinite).push(samples)    # finite by the rule
                table.write(label, x, ends)
                progress.advance(task)
            for source in recordings:
                featurizer = module.Featurizer(nonfinite)
                for chunk in read_chunks(source, parsed.inputs):
                    try:
                        x, ends = featurizer.push(chunk.samples)
                    except module.NonFiniteSampleError as exc:
                        raise DataError(
                            f"{chunk.where(source, exc.row)}: input {exc.input_name!r}: "
                            f"{exc.value!r} is not finite (sample {exc.row} of recording "
                            f"{source.label!r}). featgen refuses non-finite samples; pass "
                            "--drop-nonfinite to drop them as the device runtimes do.") from None
                    table.write(source.label, x, ends)
                    progress.update(task, description=f"featurizing {source.label}: "
                                                      f"{featurizer.rows:,} samples")
                progress.advance(task)
    except DataError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"{output}: cannot write ({exc.strerror or exc})")
    console.print(f"wrote {table.vectors} vectors x {len(parsed.feature_names)} features from "
                  f"{len(segments) + len(recordings)} recording(s) to {output}", markup=False)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--data", "data", multiple=True, type=click.Path(dir_okay=False),
              help="Recordings (.csv/.npz); default: seeded synthetic streams with edge cases.")
@click.option("--samples", default=12_000, show_default=True, type=click.IntRange(min=1),
              help="Samples per synthetic stream.")
@click.option("--streams", default=3, show_default=True, type=click.IntRange(min=1),
              help="Number of synthetic streams.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Write the report as JSON.")
@click.option("--all-features", is_flag=True, help="List every feature, not only the worst ones.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Also write the report as one self-contained HTML file (ULP table, "
                   "predictions, threshold proximity, decision timelines, manifest).")
def parity(spec: str, data: tuple[str, ...], samples: int, streams: int, json_path: str | None,
           all_features: bool, html_path: str | None) -> None:
    """Stream recordings through every target sample by sample; compare with numpy bit for bit."""
    from parity_tests import harness
    from parity_tests.recordings import parity_recordings

    for option, path in (("--json", json_path), ("--html", html_path)):
        if path:                        # before the run, not after minutes of it
            check_output_file(path, option)
    parsed, files = _load(spec)
    try:
        recordings = (read_recordings([Path(d) for d in data], parsed.inputs) if data
                      else parity_recordings(len(parsed.inputs), samples, streams))
    except DataError as exc:
        _fail(str(exc))
    longest = max(w.length for w in parsed.windows)
    if all(r.shape[0] < longest for r in recordings.values()):
        _fail(f"every recording is shorter than the longest window ({longest} samples): no "
              "feature vector to compare (use more --samples or longer --data)")
    module = harness.load_numpy_module(files, parsed.name)
    swiftc = harness.find_swiftc()
    if swiftc is None:
        _warn_no_swift()
    # (prefix, label, reference): the full featuriser against numpy; with a model, also the
    # device featuriser (only the features the model reads) against those numpy columns.
    featurisers = [(parsed.name, "", module)]
    if parsed.model is not None:
        from parity_tests.model_harness import device_featuriser
        device, columns = device_featuriser(files, parsed.name)
        if columns is not None:
            featurisers.append((device, " device", harness.Columns(module, columns)))
    with tempfile.TemporaryDirectory() as work, Progress(console=errors, transient=True) as progress:
        task = progress.add_task("building targets", total=None)
        targets = []
        for prefix, suffix, reference in featurisers:
            target = harness.c_target(files, prefix, Path(work) / f"c{suffix}")
            targets.append((harness.Target(target.name + suffix, target.stream), reference))
            if swiftc is not None:
                progress.update(task, description=f"building the Swift{suffix} target (swiftc -O)")
                try:
                    target = harness.swift_target(files, prefix, Path(work) / f"swift{suffix}")
                except RuntimeError as exc:
                    _fail(f"the Swift target does not build:\n{exc}", status=1)
                targets.append((harness.Target(target.name + suffix, target.stream), reference))
        progress.update(task, description="streaming", total=len(targets) * len(recordings))
        comparisons = []
        for target, reference in targets:
            comparison = harness.Comparison(target.name, tuple(reference.FEATURE_NAMES))
            for label, rec in recordings.items():
                harness.compare_recording(reference, target, label, rec, comparison)
                progress.advance(task)
            comparisons.append(comparison)
    _print_report(parsed, recordings, comparisons, all_features)
    predictions = None
    if parsed.model is not None:    # prediction parity: featgen/model_cli.py
        from .model_cli import model_parity
        predictions = model_parity(parsed, files, module, recordings)
    if json_path:
        report = {"spec": parsed.name, "spec_hash": parsed.spec_hash,
                  "recordings": {k: int(v.shape[0]) for k, v in recordings.items()},
                  "targets": [c.to_json() for c in comparisons]}
        if predictions is not None:
            report["predictions"] = predictions
        write_text_atomic(json_path, json.dumps(report, indent=2) + "\n")
    if html_path:
        from .report import write_report
        source = (", ".join(Path(d).name for d in data) if data else
                  f"{streams} seeded synthetic edge-case stream(s) of {samples:,} samples")
        with Progress(console=errors, transient=True) as progress:
            progress.add_task("writing the HTML report", total=None)
            write_report(Path(html_path), parsed, files, module, recordings, comparisons,
                         predictions, None if swiftc is not None else
                         "no swiftc on PATH or in /opt/swift/usr/bin", source,
                         synthetic=not data)
        console.print(f"wrote the HTML report to {html_path}", soft_wrap=True, markup=False)
    if not all(c.identical for c in comparisons) or (predictions and not predictions["identical"]):
        sys.exit(1)
    if swiftc is None:
        _warn_no_swift()
        if os.environ.get("CI") == "true":
            _fail("CI=true and the Swift target was not checked", status=1)


@main.command()
@click.argument("log", type=click.Path(exists=True))
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="The spec this checkout builds (default: examples/<name in the log>/spec.yaml).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Write the report as JSON (one entry per log).")
@click.option("--html", "html_path", type=click.Path(dir_okay=False),
              help="Write a self-contained HTML report: margins on the device vs the reference, "
                   "the first divergence, the per-feature ULP table.")
@click.option("--to-jsonl", "to_jsonl", type=click.Path(dir_okay=False),
              help="Convert LOG to the JSON-lines text form (exact bits as hex) and stop.")
@click.option("--to-binary", "to_binary", type=click.Path(dir_okay=False),
              help="Convert LOG (binary or text form) to the binary form and stop.")
def replay(log: str, spec_path: str | None, json_path: str | None, html_path: str | None,
           to_jsonl: str | None, to_binary: str | None) -> None:
    """Re-run a flight-recorder LOG (or a directory of logs) through numpy and XGBoost.

    Reports identity (hashes), the first diverging push and feature(s), the ULP distance, the
    suspected cause, the events that would differ, and a summary. LOG may be the binary form or
    the JSON-lines text form (docs/replay.md). Exit 0 identical, 1 diverged, 2 malformed log
    (the error names the byte offset)."""
    from .replay import compare, read_log, reference, summary_lines

    for option, value in (("--json", json_path), ("--html", html_path),
                          ("--to-jsonl", to_jsonl), ("--to-binary", to_binary)):
        if value:
            check_output_file(value, option)
    path = Path(log)
    if to_jsonl or to_binary:
        if path.is_dir():
            raise click.BadParameter("converts one log file, not a directory", param_hint="LOG")
        from .replay_text import to_binary as binary_form
        from .replay_text import to_text
        parsed = read_log(path)
        if to_jsonl:
            write_text_atomic(to_jsonl, to_text(parsed))
            console.print(f"wrote the text form of {log} to {to_jsonl}", soft_wrap=True,
                          markup=False)
        if to_binary:
            from .safe_io import write_bytes_atomic
            write_bytes_atomic(to_binary, binary_form(parsed))
            console.print(f"wrote the binary form of {log} to {to_binary}", soft_wrap=True,
                          markup=False)
        return
    paths = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    if not paths:
        raise click.BadParameter(f"{log}: no log files in the directory", param_hint="LOG")
    logs = [(p, read_log(p)) for p in paths]          # every log whole before any replay
    refs: dict = {}
    reports = {}
    for p, parsed in logs:
        name = parsed.header.spec_name
        if spec_path is None and not name.isidentifier():
            raise click.UsageError(f"{p}: the log names no usable spec ({name!r}); give --spec")
        sp = spec_path or f"examples/{name}/spec.yaml"
        if not Path(sp).is_file():
            raise click.UsageError(f"{p}: no --spec given and {sp} does not exist")
        if sp not in refs:
            refs[sp] = reference(sp)
        report = compare(parsed, refs[sp], want_timeline=bool(html_path))
        reports[str(p)] = report
        for line in summary_lines(str(p), report):
            console.print(line, soft_wrap=True, markup=False)
    if len(reports) > 1:
        bad = [k for k, r in reports.items() if not r["identical"]]
        console.print(f"{len(reports)} logs: {len(reports) - len(bad)} identical, {len(bad)} "
                      "diverged", soft_wrap=True, markup=False)
    if html_path:
        from .replay_report import write_html
        write_html(html_path, reports)
        console.print(f"wrote the HTML report to {html_path}", soft_wrap=True, markup=False)
    if json_path:
        write_text_atomic(json_path, json.dumps(
            {k: {f: v for f, v in r.items() if f != "timeline"} for k, r in reports.items()},
            indent=2) + "\n")
    if not all(r["identical"] for r in reports.values()):
        sys.exit(1)


def _warn_no_swift() -> None:
    errors.print("[bold yellow]WARNING: Swift (iOS) target NOT CHECKED[/]: no swiftc on PATH or "
                 "in /opt/swift/usr/bin, so this report covers C only (with CI=true this is an "
                 "error).", markup=True, soft_wrap=True)


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write the schema to this file instead of printing it.")
def schema(output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of the spec, for editors (docs/featgen-spec.schema.json
    is this); `featgen build` remains the full check."""
    from featurespec.json_schema import schema_text

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
    import json
    return json.dumps(list(value) if isinstance(value, tuple) else value)


def vocabulary_markdown() -> str:
    """The vocabulary reference, generated from the registries (docs/vocabulary.md is this)."""
    from codegen.features import FEATURES
    from codegen.signals import SIGNALS

    def params(declared) -> str:
        if not declared:
            return ""
        parts = []
        for key, p in declared.items():
            default = "required" if p.required else f"default {_yaml_value(p.default)}"
            parts.append(f"`{key}` ({p.kind}, {default}): {p.doc}")
        return "<br>".join(parts)

    lines = ["# featgen vocabulary", "",
             "Generated by `featgen vocabulary` from the registries in codegen/features.py and "
             "codegen/signals.py; every target computes exactly these definitions.", "",
             "## Signals (per sample)", "", "| signal | sources | definition | parameters |",
             "|---|---|---|---|"]
    for s in SIGNALS.values():
        count = str(s.min_sources) if s.min_sources == s.max_sources else \
            f"{s.min_sources}-{s.max_sources}"
        lines.append(f"| `{s.name}` | {count} | {s.doc} | {params(s.params)} |")
    lines += ["", "## Features (per window of L samples, index 0 = oldest)", "",
              "| feature | definition | parameters | min L |", "|---|---|---|---|"]
    for f in FEATURES.values():
        lines.append(f"| `{f.name}` | {f.doc} | {params(f.params)} | {f.min_length} |")
    return "\n".join(lines) + "\n"


def _print_report(spec, recordings, comparisons, all_features: bool) -> None:
    total = sum(r.shape[0] for r in recordings.values())
    console.print(f"parity for {spec.name}: {len(recordings)} recording(s), {total} samples, "
                  f"{len(spec.feature_names)} features")
    table = Table(title="max ULP against numpy (0 = bit-identical)", title_justify="left")
    table.add_column("feature")
    for c in comparisons:
        table.add_column(c.target, justify="right")
    names = spec.feature_names
    stats = [{s.name: s for s in c.stats} for c in comparisons]   # a device target: a subset
    worst = sorted(range(len(names)), key=lambda j: -max(
        by[names[j]].max_ulp for by in stats if names[j] in by))
    shown = range(len(names)) if all_features else worst[:10]
    for j in shown:
        table.add_row(names[j], *(_ulp_cell(by[names[j]]) if names[j] in by else "·"
                                  for by in stats))
    if not all_features and len(names) > 10:
        table.caption = f"10 worst of {len(names)} features (--all-features: all)"
        table.caption_justify = "left"
    if len(stats) > 1 and any(len(by) < len(names) for by in stats):
        table.caption = ((table.caption + "; ") if table.caption else "") + \
            "· = not computed by that featuriser (the device one computes what the model reads)"
        table.caption_justify = "left"
    console.print(table)
    for c in comparisons:
        w = c.worst
        verdict = "[green]bit-identical[/]" if c.identical else "[bold red]MISMATCH[/]"
        exact = sum(1 for s in c.stats if not s.mismatches)
        console.print(f"{c.target}: {c.vectors} vectors; {exact}/{len(c.stats)} features "
                      f"bit-identical; worst feature {w.name} ({w.max_ulp} ULP): {verdict}",
                      markup=True)
        for p in c.problems:        # they name recordings: user text, never markup
            console.print(f"  {p}", markup=False)
        for s in c.stats:
            if s.mismatches:
                console.print(f"  {s.name}: {s.mismatches} mismatches; first: {s.first}",
                              markup=False)


def _ulp_cell(stat) -> str:
    return str(stat.max_ulp) if not stat.mismatches else f"[red]{stat.max_ulp} ({stat.mismatches})[/]"


from .model_cli import register  # noqa: E402  (train, proximity)
from .rawlog import register as register_rawlog  # noqa: E402  (resample)

register(main)
register_rawlog(main)

if __name__ == "__main__":
    main()
