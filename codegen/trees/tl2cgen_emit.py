"""TL2cgen's C for the same model: the standard path (``tl2cgen.generate_c_code``), emitted next
to featgen's own C so users can compare. It is *not* bit-identical to XGBoost: it prints leaves
with about 7 significant digits, adds them to a float through double arithmetic and adds the
base score (Treelite's double) after the trees. The parity harness reports how often it agrees.

Its output was checked to be byte-identical across runs and hash seeds (TL2cgen 1.0.0); featgen
only prepends a provenance comment to the C files and strips trailing whitespace.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

FILES = ("header.h", "main.c", "recipe.json")


def generate(raw_model: bytes) -> dict[str, str]:
    """{file name: text} of TL2cgen's C for the XGBoost JSON model ``raw_model``."""
    import tl2cgen
    import treelite
    import xgboost

    with tempfile.TemporaryDirectory() as tmp, quiet():
        booster = xgboost.Booster()
        booster.load_model(bytearray(raw_model))
        model = treelite.frontend.from_xgboost(booster)
        tl2cgen.generate_c_code(model, tmp, params={}, verbose=False)
        out = {}
        for path in sorted(Path(tmp).iterdir()):
            out[path.name] = path.read_text(encoding="utf-8")
    return out


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """TL2cgen and Treelite log notes through Python callbacks to stdout and through C++ to
    stderr; ``featgen build`` output (and JSON piped from it) must stay clean."""
    import sys

    sys.stdout.flush()
    sys.stderr.flush()
    saved = []
    try:
        for fd in (1, 2):
            saved.append((fd, os.dup(fd)))
    except OSError:
        saved = []
    with (
        open(os.devnull, "w") as null,
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
    ):
        for fd, _ in saved:
            os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            for fd, copy in saved:
                os.dup2(copy, fd)
                os.close(copy)
