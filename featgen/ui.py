"""What every featgen subcommand shares: the two consoles, the one-line error exit, and loading
a spec into its generated files. Subcommand modules (cli, model_cli, cluster_cli, rawlog) import
this module; it imports none of them, so the CLI's modules depend one way."""

from __future__ import annotations

import dataclasses
import sys
from typing import NoReturn

from rich.console import Console
from rich.markup import escape

from codegen.build import generate
from codegen.bundle import Bundle
from featurespec import Spec, SpecError, load_spec

from .harness.golden import swift_golden

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def fail(message: str, status: int = 2) -> NoReturn:
    """Print ``error: MESSAGE`` on stderr and exit with STATUS (2: usage, spec or data)."""
    errors.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    sys.exit(status)


def load(
    spec_path: str, prune: bool = True, features_only: bool = False, golden: bool = False
) -> tuple[Spec, Bundle]:
    """Spec and generated files, or a clean located error and exit status 2. FEATURES_ONLY:
    the feature code alone (no model artifacts: featurising needs none, and is faster).
    GOLDEN: also the Swift package's golden vectors (runs the generated numpy module)."""
    try:
        spec = load_spec(spec_path)
        if features_only:
            return spec, generate(dataclasses.replace(spec, model=None, decision=None))
        return spec, generate(spec, prune=prune, golden=swift_golden if golden else None)
    except SpecError as exc:
        errors.print(f"[bold red]error:[/] invalid spec\n{escape(str(exc))}", soft_wrap=True)
        sys.exit(2)


def warn_no_swift() -> None:
    errors.print(
        "[bold yellow]WARNING: Swift (iOS) target NOT CHECKED[/]: no swiftc on PATH or "
        "in /opt/swift/usr/bin, so this report covers C only (with CI=true this is an "
        "error).",
        markup=True,
        soft_wrap=True,
    )
