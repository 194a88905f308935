"""The model side of the CLI: ``featgen train``, ``featgen proximity``, and the prediction part
of ``featgen build`` and ``featgen parity`` (registered on the main group by featgen.cli)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import click
import numpy as np
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from codegen.build import generate
from codegen.bundle import Bundle, manifest_of
from codegen.trees.model_dir import load_bundle
from codegen.trees.objectives import TRAINABLE as OBJECTIVE_NAMES
from codegen.trees.proximity import proximity
from featgen.harness import adapters, load_numpy_module
from featgen.harness import prediction as mh
from featurespec import SpecError, load_spec
from featurespec.errors import OutputError

from . import ui
from .cli_options import Greedy
from .cluster_cli import CLUSTER_HELP, comparison_lines, train_on_cluster
from .data import DataError, read_labeled, read_recordings, sources
from .import_model import import_model
from .parquet_io import local_files
from .policy import (
    min_vectors_option,
    nonfinite_option,
    refuse_nonfinite,
    short_recordings,
    yields_of,
)
from .rawlog import labeled_segments, raw_and_rest
from .safe_io import check_output_file, check_output_folder, same_file_among, write_text_atomic
from .train import Params, TrainError, model_output_problem, parse_params, summary_lines, train


def refuse_shared_files(data: list[Path], test_data: list[Path]) -> None:
    """DataError when a --test-data file is also a DATA file (by path, link or hard link)."""
    for held in test_data:
        trained = same_file_among(held, data)
        if trained is not None:
            raise DataError(
                f"--test-data {held} is also in DATA ({trained}): the held-out metrics "
                "would be measured on recordings the model was trained on"
            )


def register(main: click.Group) -> None:
    main.add_command(train_command)
    main.add_command(proximity_command)
    main.add_command(import_command)


def model_summary(files) -> str:
    m = manifest_of(files).data["model"]
    d = m["decision"]
    if d["kind"] == "binary":
        what = "p" if d.get("transform", "sigmoid") == "sigmoid" else "value"
        rule = f"margin >= {d['margin_threshold']} ({what} >= {d['threshold']})"
    elif d["kind"] == "none":
        rule = "never (no threshold: the value only)"
    else:
        rule = f"class {d['positive_class']}"
    return (
        f"model {m['model_sha256'][:12]}: {m['objective']}, {m['n_trees']} trees, depth "
        f"{m['max_depth']}, base margin {', '.join(m['base_margin'])}; positive when {rule}; "
        f"event after {d['consecutive']} in a row, refractory {d['refractory_samples']} "
        f"samples; {_targets(m)}\n" + device_summary(m["device"])
    )


def _targets(m: dict) -> str:
    """What the build wrote for the model: XGBoost adds TL2cgen's C and Core ML."""
    if m["coreml"].get("file"):
        return f"C model + detector, TL2cgen C, Core ML ({m['coreml']['file']})"
    return (
        f"{m.get('library', 'xgboost')} rule ({m['prediction_rule']}); C model + detector, "
        f"Swift; no Core ML: {m['coreml']['refused']}"
    )


def device_summary(device: dict) -> str:
    if device["n_features"] == device["of"]:
        return f"device: {device['featuriser']} computes all {device['of']} features"
    return (
        f"device: {device['featuriser']} computes the {device['n_features']} of "
        f"{device['of']} features the model reads"
    )


def _finite(ctx, param, value):
    """click's FloatRange lets NaN through (every comparison with it is false)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a finite number", ctx=ctx, param=param)
    return value


@click.command("train")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Model directory to write (model.json, featgen_model.json, metrics.json).",
)
@click.option(
    "--label-column",
    default="label",
    show_default=True,
    help="Per-sample label column (CSV) / <rec>.<column> array (NPZ).",
)
@click.option(
    "--group-column",
    default="subject",
    show_default=True,
    help="Group to split by (CSV column constant per file / <rec>.<column> in NPZ); "
    "absent: each recording is a group.",
)
@click.option(
    "--objective",
    default="binary:logistic",
    show_default=True,
    type=click.Choice(list(OBJECTIVE_NAMES)),
    help="XGBoost objective; docs/model.md lists each one's transform and decision.",
)
@click.option(
    "--rounds",
    default=60,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Boosting rounds (trees per class), 1 to 100000.",
)
@click.option(
    "--max-depth",
    default=5,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Tree depth, 1 to 64.",
)
@click.option(
    "--eta",
    default=0.2,
    show_default=True,
    callback=_finite,
    type=click.FloatRange(0, 1, min_open=True),
    help="Learning rate, in (0, 1].",
)
@click.option(
    "--test-fraction",
    default=0.25,
    show_default=True,
    callback=_finite,
    type=click.FloatRange(0, 1, max_open=True),
    help="Fraction of groups held out for the metrics, in [0, 1).",
)
@click.option(
    "--test-data",
    "test_data",
    cls=Greedy,
    metavar="PATH...",
    help="Hold out exactly these recordings (files or directories; several may follow "
    "one flag, up to the next option: put it after DATA) and train on DATA: no "
    "seed, no --test-fraction.",
)
@click.option(
    "--test-groups",
    "test_groups",
    cls=Greedy,
    metavar="GROUP...",
    help="Hold out exactly these groups (--group-column values, or recording names "
    "without one) instead of a seeded --test-fraction.",
)
@click.option(
    "--classes",
    "class_names",
    cls=Greedy,
    metavar="NAME...",
    help="The names of classes 0, 1, ... (K names: labels 0 .. K-1, or the class "
    "names the data uses, in this order). They go into the model, the manifest, "
    "the Swift/Kotlin enums and the Core ML class labels.",
)
@click.option("--seed", default=0, show_default=True, type=click.IntRange(0, 2**31 - 1))
@nonfinite_option
@min_vectors_option
@click.option(
    "--param",
    "param_pairs",
    multiple=True,
    metavar="KEY=VALUE",
    help="Any XGBoost parameter (repeatable; wins over --params and the options "
    "above), e.g. --param scale_pos_weight=20 --param subsample=0.8.",
)
@click.option(
    "--params",
    "param_files",
    multiple=True,
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="XGBoost parameters as a YAML or JSON mapping.",
)
@click.option(
    "--early-stopping-rounds",
    type=click.IntRange(min=1),
    default=None,
    help="Stop when the held-out groups' metric has not improved for N rounds; the "
    "model is shipped cut at the best iteration.",
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help=CLUSTER_HELP + " DATA may then also be "
    "directories, globs and fsspec URLs; training uses xgboost.dask.",
)
@click.option(
    "--compare-local",
    is_flag=True,
    help="With --cluster: also train the single-machine model on the same vectors "
    "and report both models' held-out predictions side by side.",
)
@click.option(
    "--platform",
    type=click.Choice(["android", "ios"]),
    help="Raw sensor logs (spec with sensors:): the platform they come from.",
)
@click.pass_context
def train_command(
    ctx,
    spec,
    data,
    output,
    label_column,
    group_column,
    objective,
    rounds,
    max_depth,
    eta,
    test_fraction,
    test_data,
    test_groups,
    class_names,
    seed,
    drop_nonfinite,
    min_vectors,
    param_pairs,
    param_files,
    early_stopping_rounds,
    cluster,
    compare_local,
    platform=None,
) -> None:
    """Featurise labelled recordings in DATA with SPEC's generated numpy code, train XGBoost
    (train/test split by group, never by window), write the model directory and print metrics.

    Held-out data, one of: --test-data PATH... (exactly those recordings), --test-groups
    GROUP... (exactly those groups), --test-fraction F (a seeded fraction of the groups;
    0: train on everything, no evaluation)."""
    explicit = [
        name
        for name, given in (
            ("--test-data", test_data),
            ("--test-groups", test_groups),
            ("--test-fraction", ctx.get_parameter_source("test_fraction").name == "COMMANDLINE"),
        )
        if given
    ]
    if len(explicit) > 1:
        raise click.UsageError(f"{' and '.join(explicit)}: give the held-out data one way")
    if cluster is not None and (test_data or test_groups or class_names or test_fraction == 0):
        raise click.UsageError(
            "--test-data, --test-groups, --classes and --test-fraction 0 are "
            "for the single-machine training; --cluster holds out a seeded "
            "--test-fraction > 0 of the groups"
        )
    problem = model_output_problem(Path(output))  # before featurising and training
    if problem:
        raise OutputError(problem)
    check_output_folder(Path(output).parent, f"-o {output}", create=True)
    try:
        extra = parse_params(param_pairs, param_files)
    except TrainError as exc:
        ui.fail(str(exc))
    try:
        parsed = load_spec(spec)
    except SpecError as exc:
        ui.fail(f"invalid spec\n{exc}")
    if cluster is not None and (extra or early_stopping_rounds is not None):
        ui.fail(
            "--param, --params and --early-stopping-rounds are for the single-machine "
            "training; --cluster takes --rounds, --max-depth and --eta"
        )
    if cluster is not None:
        metrics = train_on_cluster(
            parsed,
            data,
            output,
            cluster,
            Params(
                objective=objective,
                rounds=rounds,
                max_depth=max_depth,
                eta=eta,
                test_fraction=test_fraction,
                seed=seed,
            ),
            label_column,
            group_column or None,
            compare_local,
        )
        for line in summary_lines(metrics) + comparison_lines(metrics):
            ui.console.print(line, soft_wrap=True, markup=False)
        ui.console.print(
            f"wrote {output}/ (model.json, featgen_model.json, metrics.json)",
            soft_wrap=True,
            markup=False,
        )
        return
    if compare_local:
        ui.fail(
            "--compare-local compares a --cluster model with the single-machine one; "
            "give --cluster too"
        )
    try:

        def labelled(paths):
            raw, rest = raw_and_rest(parsed, local_files(paths))  # raw logs: resampled
            out = {
                **(
                    labeled_segments(
                        parsed,
                        _features_only(parsed),
                        raw,
                        platform,
                        label_column,
                        group_column or None,
                    )
                    if raw
                    else {}
                ),
                **(
                    read_labeled(rest, parsed.inputs, label_column, group_column or None)
                    if rest
                    else {}
                ),
            }
            if not drop_nonfinite:  # refused where featurize refuses it: file:line
                refuse_nonfinite(
                    {k: r.samples for k, r in out.items()}, sources(rest), parsed.inputs
                )
            return out

        if test_data:  # held-out metrics measured on training data would be silently wrong
            refuse_shared_files(local_files(data), local_files(test_data))
        recordings = labelled(data)
        held_out = labelled(test_data) if test_data else None
        with round_progress(ui.errors) as progress:
            metrics = train(
                parsed,
                recordings,
                Path(output),
                Params(
                    objective=objective,
                    rounds=rounds,
                    max_depth=max_depth,
                    eta=eta,
                    test_fraction=test_fraction,
                    seed=seed,
                    extra=extra,
                    early_stopping_rounds=early_stopping_rounds,
                    test_groups=tuple(test_groups) or None,
                    class_names=tuple(class_names) or None,
                    drop_nonfinite=drop_nonfinite,
                    min_vectors=min_vectors,
                ),
                label_column,
                group_column or None,
                test_recordings=held_out,
                progress=progress,
            )
    except (DataError, TrainError) as exc:
        ui.fail(str(exc))
    except SpecError as exc:
        ui.fail(f"the spec's decision block does not fit this model:\n{exc}")
    warning = (metrics["data"].get("no_vectors") or {}).get("warning")
    if warning:
        ui.errors.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    for line in summary_lines(metrics):
        ui.console.print(line, soft_wrap=True, markup=False)
    ui.console.print(
        f"wrote {output}/ (model.json, featgen_model.json, metrics.json)",
        soft_wrap=True,
        markup=False,
    )


@contextlib.contextmanager
def round_progress(console, lines: int = 10):
    """A progress reporter for the boosting rounds, on stderr: one updating line on a
    terminal; otherwise (a log, CI) a line about every tenth of the rounds and at the end, so
    a long run shows it is alive without flooding the log."""
    if console.is_terminal:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("boosting", total=None)

            def on_round(done: int, total: int) -> None:
                bar.update(
                    task, total=total, completed=done, description=f"boosting round {done}/{total}"
                )

            yield on_round
        return
    start = [time.monotonic()]

    def report(done: int, total: int) -> None:
        if done == 0:
            start[0] = time.monotonic()
            return
        every = max(1, math.ceil(total / lines))
        if done % every == 0 or done == total or done == 1:
            console.print(
                f"boosting round {done}/{total} ({time.monotonic() - start[0]:.1f} s)",
                soft_wrap=True,
                markup=False,
            )

    yield report


def _features_only(spec) -> Bundle:
    """The generated files without model artifacts (the sensors' resampler is among them)."""
    return generate(dataclasses.replace(spec, model=None, decision=None))


@click.command("import-model")
@click.argument("model", type=click.Path(dir_okay=False))
@click.option(
    "--spec",
    "spec",
    required=True,
    type=click.Path(dir_okay=False),
    help="The feature spec the model was trained on (its features, in its order).",
)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Model directory to write (model.json, featgen_model.json); name it in the "
    "spec's model: block.",
)
@click.option(
    "--feature-names",
    type=click.Path(dir_okay=False),
    help="For a model without feature names: the featurize output it was trained on "
    "(.csv header / .npz feature_names) or a file with one name per line.",
)
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    help="booster.save_config() JSON saved where the model was trained: its "
    "hyperparameters go into the provenance (the model file does not keep them).",
)
def import_command(model, spec, output, feature_names, config) -> None:
    """Import an XGBoost MODEL trained elsewhere (JSON, UBJSON, legacy binary, or a SageMaker
    model.tar.gz holding xgboost-model) or a LightGBM text model (save_model('model.txt'));
    the format is read from the content. Writes the model directory featgen train writes, after
    checking its feature order against SPEC. scikit-learn: featgen.import_model.from_sklearn
    in Python (featgen does not load pickles)."""
    problem = model_output_problem(Path(output))  # before reading anything
    if problem:
        raise OutputError(problem)
    try:
        parsed = load_spec(spec)
    except SpecError as exc:
        ui.fail(f"invalid spec\n{exc}")
    try:
        meta = import_model(model, parsed, Path(output), feature_names, config)
    except DataError as exc:
        ui.fail(str(exc))
    p = meta["provenance"]
    size = (
        f"{p['num_boosted_rounds']} rounds"
        if "num_boosted_rounds" in p
        else f"{p['num_trees']} trees"
    )
    ui.console.print(
        f"imported {model} ({p['source_format']}, sha256 "
        f"{p['source_sha256'][:12]}): {meta['objective']}, "
        f"{size}, {len(meta['feature_names'])} features "
        f"in the spec's order (checked by {p['feature_names_from']}); margins "
        f"verified on {p['verified_probe_rows']} probe rows",
        soft_wrap=True,
        markup=False,
    )
    ui.console.print(
        f"wrote {output}/ (model.json, featgen_model.json); point the spec's "
        f"model: block at it and run featgen build",
        soft_wrap=True,
        markup=False,
    )


@click.command("proximity")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("data", nargs=-1, required=True)
@click.option("-k", "ulps", default=4, show_default=True, help="Distance in float32 ULPs.")
@click.option(
    "--json", "json_path", type=click.Path(dir_okay=False), help="Write the report as JSON."
)
@click.option("--top", default=15, show_default=True, help="Features listed.")
@nonfinite_option
@min_vectors_option
def proximity_command(
    spec, data, ulps, json_path, top, drop_nonfinite=False, min_vectors=0
) -> None:
    """How many feature values of DATA fall within k float32 ULPs of one of the model's split
    thresholds, per feature (SPEC must have a model: block)."""
    if json_path:
        check_output_file(json_path, "--json")
    parsed, files = ui.load(spec)
    if parsed.model is None:
        ui.fail(f"{spec} has no model: block; proximity needs a model's thresholds")
    try:
        forest = load_bundle(parsed).forest
        paths = local_files(data)
        recordings = read_recordings(paths, parsed.inputs)
        if not drop_nonfinite:  # the policy of every command (docs/semantics.md)
            refuse_nonfinite(recordings, sources(paths), parsed.inputs)
        warning = short_recordings(parsed, yields_of(parsed, recordings), min_vectors)
    except (DataError, SpecError) as exc:
        ui.fail(str(exc))
    if warning:
        ui.errors.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    module = load_numpy_module(files, parsed.name)
    X = np.concatenate([module.featurize(r, nonfinite="drop")[0] for r in recordings.values()])
    if X.shape[0] == 0:
        ui.fail(
            f"no feature vectors at all from {len(recordings)} recording(s): each needs "
            f"at least {parsed.max_length} finite samples (the longest window)"
        )
    rows = proximity(forest, X, parsed.feature_names, ulps)
    table = Table(
        title=f"feature values within {ulps} float32 ULPs of a split threshold "
        f"({X.shape[0]} vectors)",
        title_justify="left",
    )
    for col in ("feature", "thresholds", f"1-{ulps} ULPs away", "exactly on", "min ULPs"):
        table.add_column(col, justify="left" if col == "feature" else "right")
    for r in rows[:top]:
        table.add_row(
            r["feature"],
            str(r["thresholds"]),
            str(r["near_not_on"]),
            str(r["exactly_on"]),
            str(r["min_ulps"]),
        )
    ui.console.print(table)
    near = sum(r["near_not_on"] for r in rows)
    on = sum(r["exactly_on"] for r in rows)
    ui.console.print(
        f"{near} values 1-{ulps} float32 ULPs from a threshold and {on} exactly on "
        f"one, over {len(rows)} split features x {X.shape[0]} vectors",
        soft_wrap=True,
    )
    if json_path:
        write_text_atomic(
            json_path,
            json.dumps({"k": ulps, "vectors": int(X.shape[0]), "features": rows}, indent=2) + "\n",
        )


def model_parity(
    spec,
    files: Mapping[str, str | bytes],
    module,
    recordings: dict,
    targets: list[str] | None = None,
) -> dict | None:
    """Prediction parity on the recordings; prints the report, returns it as JSON (None, with a
    note, for a LightGBM or scikit-learn model: this replay is XGBoost's). ``targets``: the
    registered target names whose detectors run (default: every runnable parity target)."""
    bundle = getattr(files, "model", None) or load_bundle(spec)  # a Bundle carries it
    library = bundle.forest.rule.library
    if library != "xgboost":
        ui.console.print(
            f"prediction parity: NOT RUN for this {library} model (featgen parity "
            "replays XGBoost); its margins were verified bit for bit against "
            f"{library} at import (featgen_model.json provenance) and the rule is "
            "proven by parity_tests/test_model_zoo.py",
            soft_wrap=True,
            markup=False,
        )
        return None
    booster = mh.load_booster(bundle.raw)
    result = mh.ModelComparison()
    with tempfile.TemporaryDirectory() as work:
        parity = mh.ModelParity(
            files,
            spec.name,
            Path(work),
            module,
            detectors=adapters.detectors(files, Path(work), targets),
        )
        for label, samples in recordings.items():
            parity.compare_recording(booster, label, samples, result)
        boundary = mh.boundary_check(
            parity,
            booster,
            bundle.forest,
            np_rows=module.featurize(next(iter(recordings.values())), nonfinite="drop")[0],
        )
    report = result.to_json()
    report["boundary_vectors"] = boundary
    report["identical"] = result.identical and all(
        v == boundary["vectors"] for v in boundary["targets_margins_bit_equal"].values()
    )
    for line in parity_lines(report, bundle.model_sha256):
        ui.console.print(line, markup=True, soft_wrap=True)
    return report


def parity_lines(j: dict, model_sha256: str) -> list[str]:
    """The prediction part of the parity report, as rich-markup lines: one per target that ran
    (codegen/targets registry order), then TL2cgen and Core ML (measured, not promised)."""
    b, n = j["boundary_vectors"], j["boundary_vectors"]["vectors"]
    t, m = j["tl2cgen"], j["coreml_spec_evaluator"]
    verdict = "[green]bit-identical[/]" if j["identical"] else "[bold red]MISMATCH[/]"
    lines = [
        f"predictions ({j['vectors']} vectors, {j['events']} events, model "
        f"{model_sha256[:12]}; reference: XGBoost inplace_predict on the numpy features): "
        f"{verdict}",
    ]
    for target, r in j["targets"].items():
        lines.append(
            f"  {target}: margins bit-equal {r['margins_bit_equal_pct']:.2f}%, "
            f"decisions {r['decisions_equal_pct']:.2f}%, events "
            f"{r['events_equal_pct']:.2f}%; boundary vectors "
            f"{b['targets_margins_bit_equal'][target]}/{n}"
        )
    if not j["targets"]:
        lines.append("  [bold yellow]no target's detector ran[/] (see NOT CHECKED)")
    lines.append(
        f"  TL2cgen C (reported): margins bit-equal {t['margins_bit_equal_pct']:.2f}%, "
        f"max |diff| {t['max_abs_margin_diff']:.3g}, decisions "
        f"{t['decisions_equal_pct']:.2f}%; boundary vectors "
        f"{b['tl2cgen_margins_bit_equal']}/{n}"
    )
    lines.append(
        f"  Core ML (spec evaluator, Float-rounded inputs; reported): margins equal after "
        f"rounding to float {m['margins_equal_after_float32_rounding_pct']:.2f}%, max "
        f"|diff| {m['max_abs_margin_diff']:.3g}, decisions {m['decisions_equal_pct']:.2f}%"
        f" ({m['vectors_within_max_diff_of_threshold']} vectors within max |diff| of the "
        f"threshold); same leaves on boundary vectors {b['coreml_same_leaves']}/{n} "
        f"({b['coreml_unrounded_inputs_same_leaves']} without the rounding)"
    )
    lines += [f"  {p}" for p in j["problems"]]
    return lines
