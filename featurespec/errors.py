"""Spec errors: every problem carries file, line, column and document path.

A spec author fixes a spec from these messages alone, so they must point at the exact spot and
must stay one line each: user text is always shown through :func:`show`, and anything that
slips through is escaped again by :func:`one_line` when a problem is rendered.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import unicodedata
from collections.abc import Collection
from fractions import Fraction
from typing import Any, NamedTuple

from featurespec.vocabulary.params import (
    describe as describe,  # re-exported: one wording for every "got ..."
)
from featurespec.vocabulary.params import show as show

from .schema import Location

MAX_MESSAGE = 400  # a hostile 1 MiB string must not become a 1 MiB error message
MAX_PROBLEMS = 100  # past this, more messages help nobody and cost time on hostile input


class Problem(NamedTuple):
    """One located problem; ``str()`` gives ``file:line:col: path: message``."""

    file: str
    line: int
    column: int
    path: str
    message: str

    @classmethod
    def at(cls, loc: Location, message: str) -> "Problem":
        return cls(loc.file, loc.line, loc.column, loc.path, message)

    def __str__(self) -> str:
        where = f"{one_line(self.file)}:{self.line}:{self.column}"
        if self.path:
            where += f": {one_line(self.path)}"
        return f"{where}: {one_line(self.message, MAX_MESSAGE)}"


class SpecError(Exception):
    """A spec that cannot be used, with every problem found (not just the first)."""

    def __init__(self, problems: list[Problem]):
        self.problems = [Problem(*p) for p in problems]
        super().__init__(self.problems)  # args round-trip through pickle

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class Problems:
    """Collects problems while validation carries on, so one run reports them all; raises
    them in document order."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self.count = 0
        self.first_dropped: Location | None = None

    def add(self, loc: Location, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(Problem.at(loc, message))
        elif self.first_dropped is None:
            self.first_dropped = loc

    @property
    def full(self) -> bool:
        """No further message will be shown: skip work that only improves messages."""
        return len(self.items) >= MAX_PROBLEMS

    def raise_if_any(self) -> None:
        if not self.items:
            return
        problems = sorted(self.items, key=lambda p: (p.line, p.column))
        if self.first_dropped is not None:
            more = self.count - len(self.items)
            problems.append(
                Problem.at(self.first_dropped, f"{more} more problem{'s' * (more > 1)} not shown")
            )
        raise SpecError(problems)

    def __len__(self) -> int:
        return self.count


def one_line(text: str, limit: int | None = None) -> str:
    """Escape anything non-printable (newlines, bidi overrides...) and cap the length."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def char_name(c: str) -> str:
    """``'а' (U+0430 CYRILLIC SMALL LETTER A)``: makes look-alike characters visible."""
    name = unicodedata.name(c, "")
    return f"{c!r} (U+{ord(c):04X}{' ' + name if name else ''})"


class OutputError(ValueError):
    """An output path featgen will not write (something in the way, a folder that does not
    exist, or a folder whose replacement would destroy what featgen did not write). Raised
    before anything is written; the CLI exits 2 with the message."""


# ---------------------------------------------------------------- wording shared by the checks
# (featurespec/validate.py and featurespec/sensors.py both word their messages with these)

MAX_SUGGEST_FROM = 1000  # comparing with more names costs seconds and helps no one


def closest(word: str, options: Collection[str]) -> str | None:
    """The valid name closest to ``word``, if one is close. Same scoring as
    difflib.get_close_matches, but ties go to the option listed first (acc_q -> acc_x, not
    acc_z), so the suggestion follows the document."""
    best, best_score = None, 0.0
    if len(options) > MAX_SUGGEST_FROM:
        return None
    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    for option in options:
        matcher.set_seq1(option)
        if (
            matcher.real_quick_ratio() >= 0.6
            and matcher.quick_ratio() >= 0.6
            and matcher.ratio() >= 0.6
            and matcher.ratio() > best_score
        ):
            best, best_score = option, matcher.ratio()
    return best


def did_you_mean(guess: str | None) -> str:
    return f" (did you mean {show(guess)}?)" if guess is not None else ""


def number_text(value: int | float | Fraction) -> str:
    """For messages: 50.0 -> '50', 16.5 -> '16.5', 1/3 -> '0.3333333333', 10**40 -> '1e+40'."""
    if isinstance(value, Fraction) and value.denominator != 1:
        return f"{float(value):.10g}"
    if abs(float(value)) >= 1e15:
        return f"{float(value):.6g}"
    return str(int(value)) if value == int(value) else repr(value)


def spec_hash(data: Any) -> str:
    """sha256 of the document in an order-preserving canonical JSON form: comments and
    formatting do not change it, any value or key order does."""
    canonical = json.dumps(data, sort_keys=False, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()
