"""Read a spec file into plain Python values, remembering where every value came from.

PyYAML's constructors are bypassed on purpose: the node tree (``compose``) is walked here, so
no tag can build a Python object, aliases cannot expand (billion laughs), duplicate keys are
caught instead of silently overwritten, and every value keeps its line and column.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any, Union

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .errors import Problem, Problems, SpecError, describe, show
from .schema import Location

MAX_SPEC_BYTES = 1 << 20    # a spec is a page of YAML; anything bigger is a mistake or an attack
MAX_DEPTH = 32              # a valid spec nests 5 levels; deep nesting only exhausts the stack

CORE = "tag:yaml.org,2002:"
ALLOWED_TAGS = {CORE + t for t in ("str", "int", "float", "bool", "null", "seq", "map")}

PathPart = Union[str, int]
DocPath = tuple[PathPart, ...]


@dataclass
class Document:
    """Plain values (dict/list/str/int/float/bool/None) plus the mark of every value and key."""

    file: str
    data: Any
    value_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    problems: Problems = field(default_factory=Problems)    # found while reading, not fatal

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


def load_spec_document(path: str | os.PathLike) -> Document:
    """Read and parse a spec file; the size limit applies before anything is parsed."""
    name = os.fspath(path)
    start = Location(name, 1, 1, "")
    try:
        size = os.stat(name).st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError([Problem.at(start, too_big(size))])
        with open(name, "rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)    # the file may grow, or be a device
    except OSError as exc:
        raise SpecError([Problem.at(start, f"cannot read the spec: {exc.strerror or exc}")])
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError([Problem.at(start, too_big(len(raw)))])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = line_col(raw[: exc.start].decode("utf-8"), exc.start)
        bad = raw[exc.start]
        raise SpecError([Problem(name, line, column, "",
                                 f"the spec is not valid UTF-8 (byte 0x{bad:02x})")])
    return parse_document(text, name)


def too_big(size: int) -> str:
    return f"the spec is {size / (1 << 20):.1f} MiB; a spec may be at most 1 MiB"


def line_col(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of ``text[position]``."""
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def parse_document(text: str, filename: str = "<spec>") -> Document:
    """YAML text -> :class:`Document`, or SpecError for anything that is not plain YAML data."""
    size = len(text) if len(text) > MAX_SPEC_BYTES else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_SPEC_BYTES:
        raise SpecError([Problem(filename, 1, 1, "", too_big(size))])
    problems = Problems()
    root = _compose(text, filename, problems)   # raises for anchors, aliases, syntax, depth
    if root is None or (isinstance(root, ScalarNode) and root.tag == CORE + "null"
                        and root.value == ""):
        raise SpecError([Problem(filename, 1, 1, "", "the spec is empty")])
    doc = Document(filename, None, problems=problems)
    builder = _Builder(doc, problems)
    doc.data = builder.build(root, ())
    if builder.fatal:
        problems.raise_if_any()     # a foreign tag: nothing after it is worth checking
    return doc                      # duplicate or non-text keys: validation still runs


class _TooDeep(Exception):
    pass


class _Loader(yaml.SafeLoader):
    """SafeLoader that records anchors and aliases instead of following them."""

    def __init__(self, text: str, problems: Problems, filename: str):
        super().__init__(text)
        self.problems = problems
        self.filename = filename
        self.depth = 0
        self.aliased: set[str] = set()      # report each anchor's aliases once, not 10^9 times

    def mark(self, mark: yaml.Mark, path: str = "") -> Location:
        return Location(self.filename, mark.line + 1, mark.column + 1, path)

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            self.get_event()
            if event.anchor not in self.aliased:
                self.aliased.add(event.anchor)
                self.problems.add(self.mark(event.start_mark), f"aliases (*{event.anchor}) are "
                                                               "not allowed; write the value out")
            return ScalarNode(CORE + "null", "", event.start_mark, event.end_mark)
        if event.anchor is not None:
            self.problems.add(self.mark(event.start_mark),
                              f"anchors (&{event.anchor}) are not allowed; write the value out")
            event.anchor = None     # never registered, so no alias can ever resolve to it
        if self.depth >= MAX_DEPTH:
            raise _TooDeep(event.start_mark)
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _compose(text: str, filename: str, problems: Problems) -> Node | None:
    """Exactly one document's node tree, or None for an empty stream."""
    try:
        loader = _Loader(text, problems, filename)
    except yaml.reader.ReaderError as exc:      # raised up front for any non-printable char
        raise SpecError([_reader_problem(exc, text, filename)]) from None
    root = None
    try:
        loader.get_event()                          # stream start
        if not loader.check_event(yaml.StreamEndEvent):
            root = loader.compose_document()
            if not loader.check_event(yaml.StreamEndEvent):
                extra = loader.get_event()
                problems.add(loader.mark(extra.start_mark), "a spec holds exactly one YAML "
                                                            "document; remove this one")
    except _TooDeep as exc:
        problems.add(loader.mark(exc.args[0]), f"values nest more than {MAX_DEPTH} levels deep")
    except yaml.MarkedYAMLError as exc:
        problems.add(_syntax_loc(exc, loader), _syntax_message(exc))
    finally:
        loader.dispose()
    problems.raise_if_any()
    return root


def _syntax_loc(exc: yaml.MarkedYAMLError, loader: _Loader) -> Location:
    mark = exc.problem_mark or exc.context_mark
    return loader.mark(mark) if mark else Location(loader.filename, 1, 1, "")


def _syntax_message(exc: yaml.MarkedYAMLError) -> str:
    """PyYAML's own words, without its multi-line snippet."""
    message = f"YAML syntax error: {exc.problem or 'invalid YAML'}"
    if exc.context and exc.context_mark and exc.context_mark is not exc.problem_mark:
        message += f" ({exc.context} at line {exc.context_mark.line + 1})"
    return message


def _reader_problem(exc: yaml.reader.ReaderError, text: str, filename: str) -> Problem:
    line, column = line_col(text, exc.position)
    code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1] or "\0")
    return Problem(filename, line, column, "",
                   f"the character U+{code:04X} is not allowed in a YAML file")


class _Builder:
    """Node tree -> plain values, filling the document's mark maps."""

    def __init__(self, doc: Document, problems: Problems):
        self.doc = doc
        self.problems = problems
        self.constructor = yaml.SafeLoader("")  # only ever given core-tagged scalars
        self.fatal = False

    def where(self, node: Node, path: DocPath) -> Location:
        return Location(self.doc.file, node.start_mark.line + 1, node.start_mark.column + 1,
                        path_text(path))

    def build(self, node: Node, path: DocPath) -> Any:
        self.doc.value_marks[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if node.tag not in ALLOWED_TAGS:
            self.problems.add(self.where(node, path), _tag_message(node))
            self.fatal = True
            return None
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node)

    def mapping(self, node: MappingNode, path: DocPath) -> dict:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag not in ALLOWED_TAGS:
                self.problems.add(self.where(key_node, path), _tag_message(key_node))
                self.fatal = True
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.add(self.where(key_node, path),
                                  "a key must be text, got a " + ("list" if isinstance(
                                      key_node, SequenceNode) else "mapping"))
                continue
            key = self.constructor.construct_object(key_node)
            if not isinstance(key, str):
                self.problems.add(self.where(key_node, path),
                                  f"a key must be text, got {describe(key)} (quote it)")
                continue
            entry = path + (key,)
            if key in result:
                first = self.doc.key_marks[entry][0]
                self.problems.add(self.where(key_node, entry),
                                  f"duplicate key {show(key)} (first given on line {first})")
                continue
            self.doc.key_marks[entry] = (key_node.start_mark.line + 1,
                                         key_node.start_mark.column + 1)
            result[key] = self.build(value_node, entry)
        return result


def _tag_message(node: Node) -> str:
    tag = node.tag
    if tag == CORE + "timestamp":
        return f"{show(node.value)} reads as a date; quote it if you mean text"
    if tag == CORE + "merge":
        return "merge keys (<<) are not allowed; write the entries out"
    if tag.startswith(CORE):
        tag = "!!" + tag[len(CORE):]
    return f"the tag {show(tag)} is not allowed; a spec holds only plain YAML values"
