"""Options shared by the commands that read recordings (featurize, train, parity): one way to
name data, class names and held-out data, so every command takes the same arguments."""

from __future__ import annotations

from pathlib import Path

import click


class Greedy(click.Option):
    """A repeatable option that also takes every value after it up to the next option:
    ``--test-data a.csv b.csv dir/`` is ``--test-data a.csv --test-data b.csv --test-data dir/``
    (what a shell glob expands to). ``--`` or any option ends the list."""

    def __init__(self, *args, **kwargs):
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser, ctx) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            option = parser._long_opt.get(name) or parser._short_opt.get(name)
            if option is None:
                continue
            original = option.process

            def process(value, state, original=original, dest=option.dest):
                original(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    state.opts[dest].append(state.rargs.pop(0))

            option.process = process


FEATURE_OUTPUTS = (
    ".csv (a table with a header of names), .npz (features, end_sample, recording, "
    "feature_names), or a directory of Parquet partitions (no extension, or "
    ".parquet; also an fsspec URL)"
)


def feature_output_kind(output: str) -> str:
    """ "csv", "npz" or "partitions" for ``featgen featurize -o OUTPUT``, decided from the name
    before any work; an unknown extension (``feats.cvs``) is a usage error listing the known
    ones, never a silently written directory."""
    if "://" in output:
        return "partitions"
    path = Path(output)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".npz"):
        return suffix[1:]
    if suffix in ("", ".parquet") or output.endswith("/") or path.is_dir():
        return "partitions"
    raise click.BadParameter(
        f"{output}: unknown output extension {path.suffix!r}; featurize writes {FEATURE_OUTPUTS}",
        param_hint="'-o' / '--output'",
    )
