"""Read a spec file into plain Python values, remembering where every value came from.

PyYAML's composer and constructors are bypassed on purpose: plain values are built here
straight from the parser's event stream, so no tag can build a Python object, aliases are never
followed (billion laughs), nesting cannot exhaust the stack, duplicate keys are caught instead
of silently overwritten, and every value keeps its line and column.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentStartEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from .errors import Problem, Problems, SpecError, describe, show
from .schema import Location

MAX_SPEC_BYTES = 1 << 20  # a spec is a page of YAML; anything bigger is a mistake or an attack
MAX_DEPTH = 32  # a valid spec nests 4 levels deep; more is a mistake or an attack

CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = {CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}

PathPart = str | int
DocPath = tuple[PathPart, ...]


@dataclass
class Document:
    """Plain values (dict/list/str/int/float/bool/None) plus the mark of every value and key."""

    file: str
    data: Any
    value_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)  # found while reading, not fatal

    def loc(self, path: DocPath) -> Location:
        """Where the value at ``path`` starts."""
        line, column = self.value_marks.get(path, (1, 1))
        return Location(self.file, line, column, path_text(path))

    def key_loc(self, path: DocPath) -> Location:
        """Where the key of the mapping entry at ``path`` starts (the value if not an entry)."""
        line, column = self.key_marks.get(path) or self.value_marks.get(path, (1, 1))
        return Location(self.file, line, column, path_text(path))


_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def path_text(path: DocPath) -> str:
    """``("features", 3, "of", 1)`` -> ``features[3].of[1]``; odd keys are quoted."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{show(part)}]"
    return text


def load_spec_document(path: str | os.PathLike[str]) -> Document:
    """Read and parse a spec file; the file type and size limit apply before anything is read.

    Only a regular file (or a symlink to one) is a spec: a FIFO would block the read forever, a
    device could stream without end, a directory is a mistake. The type is checked on the path
    and again on the opened descriptor (opened non-blocking, so a FIFO swapped in between does
    not hang either)."""
    name = os.fspath(path)
    start = Location(name, 1, 1, "")
    try:
        _check_regular(os.stat(name), start)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with open(fd, "rb") as f:
            _check_regular(os.fstat(fd), start)
            raw = f.read(MAX_SPEC_BYTES + 1)  # the file may grow while it is read
    except OSError as exc:
        raise SpecError(
            [Problem.at(start, f"cannot read the spec: {exc.strerror or exc}")]
        ) from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([Problem.at(start, too_big(len(raw)))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = line_col(raw[: exc.start].decode("utf-8"), exc.start)
        bad = raw[exc.start]
        raise SpecError(
            [Problem(name, line, column, "", f"the spec is not valid UTF-8 (byte 0x{bad:02x})")]
        ) from None
    return parse_document(text, name)


_FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _check_regular(info: os.stat_result, start: Location) -> None:
    """SpecError unless ``info`` is a regular file of at most MAX_SPEC_BYTES."""
    if not stat.S_ISREG(info.st_mode):
        what = next(
            (text for test, text in _FILE_TYPES if test(info.st_mode)), "not a regular file"
        )
        raise SpecError(
            [
                Problem.at(
                    start, f"the spec is {what}, not a regular file; give the path of a YAML file"
                )
            ]
        )
    if info.st_size > MAX_SPEC_BYTES:
        raise SpecError([Problem.at(start, too_big(info.st_size))])


def too_big(size: int) -> str:
    return f"the spec is {size / (1 << 20):.1f} MiB; a spec may be at most 1 MiB"


def line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of ``text[position]``."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def parse_document(text: str, filename: str = "<spec>") -> Document:
    """YAML text -> :class:`Document`, or SpecError for anything that is not plain YAML data.

    libyaml parses when PyYAML has it (a hostile 1 MiB spec: ~1 s instead of ~10 s); any YAML
    error is then reported by re-reading with the pure-Python parser, so messages are the same
    on every machine."""
    size = len(text) if len(text) > MAX_SPEC_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SPEC_BYTES:
        raise SpecError([Problem(filename, 1, 1, "", too_big(size))])
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _Reader(filename).read(_events(fast, text))
        except yaml.YAMLError:
            pass
    try:
        return _Reader(filename).read(_events(yaml.SafeLoader, text))
    except yaml.reader.ReaderError as exc:
        raise SpecError([_reader_problem(exc, text, filename)]) from None
    except yaml.MarkedYAMLError as exc:
        raise SpecError([_syntax_problem(exc, filename)]) from None


def _events(loader_class: type, text: str) -> Iterator[Any]:
    """The parser's events, one at a time: nothing is composed or constructed."""
    loader = loader_class(text)
    try:
        while loader.check_event():
            yield loader.get_event()
    finally:
        loader.dispose()


def _syntax_problem(exc: yaml.MarkedYAMLError, filename: str) -> Problem:
    """PyYAML's own words, without its multi-line snippet."""
    message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
    if exc.context and exc.context_mark and exc.context_mark is not exc.problem_mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    return Problem(filename, line, column, "", message)


def _reader_problem(exc: yaml.reader.ReaderError, text: str, filename: str) -> Problem:
    line, column = line_col(text, exc.position)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
    return Problem(
        filename, line, column, "", f"the character U+{code:04X} is not allowed in a YAML file"
    )


class _Stop(Exception):
    """Reading cannot usefully go on (too deep, a second document); problems say why."""


_SKIP = object()  # the key of a mapping entry that is dropped (bad or duplicate key)
_BAD = object()  # an alias or a value with a foreign tag: reported, never used
_EMPTY = object()  # an empty document: a lone empty null scalar


@dataclass
class _Open:
    """A sequence or mapping whose end event has not come yet."""

    value: Any  # the list or dict being filled
    path: DocPath
    mark: tuple[int, int]
    record: bool  # False inside dropped entries and keys: keep no marks
    allowed: bool  # False for a foreign tag: deliver None when it ends
    key: Any = None  # mappings: the current entry's key, or _SKIP
    want_key: bool = True  # mappings: the next node is a key
    key_lines: dict[str, int] = field(default_factory=dict)  # mappings: for duplicates


class _Reader:
    """Parser events -> plain values and the marks of every value and key."""

    def __init__(self, filename: str):
        self.doc = Document(filename, None)
        self.problems = self.doc.problems
        self.resolver = Resolver()
        self.open: list[_Open] = []
        self.aliased: set[str] = set()
        self.fatal = False  # anchors, aliases, foreign tags: stop before validating

    def read(self, events: Iterator[Any]) -> Document:
        documents = 0
        root: list[Any] = []
        try:
            for event in events:
                if isinstance(event, DocumentStartEvent):
                    documents += 1
                    if documents > 1:
                        self.add(
                            event.start_mark,
                            "a spec holds exactly one YAML document; remove this one",
                        )
                        raise _Stop
                elif isinstance(event, NodeEvent):
                    self.node(event, root)
                elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                    done = self.open.pop()
                    self.deliver(done.value if done.allowed else _BAD, done.mark, root)
        except _Stop:
            self.problems.raise_if_any()
        if not root or root[0] is _EMPTY:
            raise SpecError([Problem(self.doc.file, 1, 1, "", "the spec is empty")])
        if self.fatal:
            self.problems.raise_if_any()
        self.doc.data = root[0]
        return self.doc  # duplicate or non-text keys: validation still runs and adds more

    # -- helpers

    def add(self, mark: yaml.Mark, message: str, path: DocPath = ()) -> None:
        self.problems.add(
            Location(self.doc.file, mark.line + 1, mark.column + 1, path_text(path)), message
        )

    def where(self) -> tuple[DocPath, bool, bool]:
        """(path, record marks?, is a key?) of the node that starts now."""
        if not self.open:
            return (), True, False
        parent = self.open[-1]
        if isinstance(parent.value, list):
            return parent.path + (len(parent.value),), parent.record, False
        if parent.want_key:
            return parent.path, False, True
        if parent.key is _SKIP:
            return parent.path, False, False
        return parent.path + (parent.key,), parent.record, False

    # -- events

    def node(self, event: NodeEvent, root: list[Any]) -> None:
        path, record, is_key = self.where()
        mark = (event.start_mark.line + 1, event.start_mark.column + 1)
        if record:
            self.doc.value_marks[path] = mark
        if isinstance(event, AliasEvent):
            if event.anchor not in self.aliased:  # once per anchor, not once per use
                self.aliased.add(event.anchor)
                self.add(
                    event.start_mark,
                    f"aliases (*{event.anchor}) are not allowed; write the value out",
                )
            self.fatal = True
            return self.deliver(_BAD, mark, root)
        if event.anchor is not None:
            self.add(
                event.start_mark, f"anchors (&{event.anchor}) are not allowed; write the value out"
            )
            self.fatal = True
        tag = self.tag(event)
        allowed = tag in ALLOWED_TAGS
        if not allowed:
            self.add(event.start_mark, _tag_message(tag, getattr(event, "value", None)), path)
            self.fatal = True
        if isinstance(event, CollectionStartEvent):
            if len(self.open) >= MAX_DEPTH:
                self.add(event.start_mark, f"values nest more than {MAX_DEPTH} levels deep")
                raise _Stop
            container: Any = {} if isinstance(event, MappingStartEvent) else []
            self.open.append(_Open(container, path, mark, record and not is_key, allowed))
            return None
        if not allowed:
            return self.deliver(_BAD, mark, root)
        if tag == CORE + "null" and event.value == "" and not self.open:
            return self.deliver(_EMPTY, mark, root)
        node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
        try:
            value = CONSTRUCT[tag](_CONSTRUCTOR, node)
        except ValueError:  # Python refuses int() of more than 4300 digits
            self.add(event.start_mark, f"{show(event.value)} has too many digits", path)
            self.fatal = True
            value = _BAD
        return self.deliver(value, mark, root)

    def tag(self, event: NodeEvent) -> str:
        """The explicit tag, or the one YAML's rules give a plain value (int, bool, date...)."""
        tag = getattr(event, "tag", None)
        if tag is not None and tag != "!":
            return str(tag)
        if isinstance(event, ScalarEvent):
            return str(self.resolver.resolve(ScalarNode, event.value, event.implicit))
        kind = MappingNode if isinstance(event, MappingStartEvent) else SequenceNode
        return str(self.resolver.resolve(kind, None, True))

    def deliver(self, value: Any, mark: tuple[int, int], root: list[Any]) -> None:
        """Put a finished value where it belongs: root, list item, mapping key or value."""
        if value is _BAD and not (self.open and self.open[-1].want_key):
            value = None  # already reported; the document will not be validated
        if not self.open:
            root.append(value)
            return
        parent = self.open[-1]
        if isinstance(parent.value, list):
            parent.value.append(value)
        elif parent.want_key:
            parent.want_key = False
            parent.key = self.key(value, mark, parent)
        else:
            parent.want_key = True
            if parent.key is not _SKIP:
                parent.value[parent.key] = value

    def key(self, key: Any, mark: tuple[int, int], parent: _Open) -> Any:
        """A usable key, or _SKIP after reporting why not."""
        if key is _BAD:
            return _SKIP  # already reported
        if not isinstance(key, str):
            hint = "" if isinstance(key, (list, dict)) else " (quote it)"
            self.problems.add(
                Location(self.doc.file, *mark, path_text(parent.path)),
                f"a key must be text, got {describe(key)}{hint}",
            )
            return _SKIP
        entry = parent.path + (key,)
        if key in parent.key_lines:
            self.problems.add(
                Location(self.doc.file, *mark, path_text(entry)),
                f"duplicate key {show(key)} (first given on line {parent.key_lines[key]})",
            )
            return _SKIP
        parent.key_lines[key] = mark[0]
        if parent.record:
            self.doc.key_marks[entry] = mark
        return key


_CONSTRUCTOR = SafeConstructor()
CONSTRUCT = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in ALLOWED_TAGS
    if not tag.endswith(("seq", "map"))
}


def _tag_message(tag: str, value: str | None) -> str:
    if tag == CORE + "timestamp":
        return f"{show(value or '')} reads as a date; quote it if you mean text"
    if tag == CORE + "merge":
        return "merge keys (<<) are not allowed; write the entries out"
    if tag.startswith(CORE):
        tag = "!!" + tag[len(CORE) :]
    return f"the tag {show(tag)} is not allowed; a spec holds only plain YAML values"
