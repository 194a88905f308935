"""Spec errors: every problem carries file, line, column and document path.

A spec author fixes a spec from these messages alone, so they must point at the exact spot and
must stay one line each: user text is always shown through :func:`show`, and anything that
slips through is escaped again by :func:`one_line` when a problem is rendered.
"""
from __future__ import annotations

import unicodedata
from typing import Any, NamedTuple

from codegen.params import describe, show  # one wording for every "got ..." message

from .schema import Location

MAX_MESSAGE = 400   # a hostile 1 MiB string must not become a 1 MiB error message
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
        super().__init__(self.problems)     # args round-trip through pickle

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
            problems.append(Problem.at(self.first_dropped,
                                       f"{more} more problem{'s' * (more > 1)} not shown"))
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
