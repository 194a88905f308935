"""One escaping rule per emitted language, for every piece of text featgen does not write itself.

Generated files are code: text from outside featgen (a path written in the spec, a file name,
a recording label) that reached them unescaped could close a comment or a string and become
code, run the next time the file is compiled or imported. So such text reaches a generated
file only through one of the functions here, each the whole rule for one language, or it is
refused earlier (names in the spec are validated identifiers: :func:`identifier` checks that
again where they are emitted).

The spec's *file name* is never written at all: the spec hash identifies the source, and the
generated tree stays byte-identical when the same spec is built from another path.

Comments of every language share one rule, :func:`comment`: printable ASCII letters, digits
and ``_-.,:/+=@()[]~`` and space are kept, every other character is percent-encoded (its UTF-8
bytes as ``%XX``, ``%`` itself as ``%25``). Nothing that survives can end or continue a comment
in Python, C, Swift, Kotlin or CMake (no ``*/``, quote, backslash, ``?``, ``#``, ``$``, line
break or Unicode line separator), and the encoding is reversible
(``urllib.parse.unquote``). :func:`comment_line` checks a whole comment line (featgen's own
wording included) against what would break any of those comments, and :func:`python_docstring`,
:func:`c_block_comment` and :func:`line_comments` assemble header comments from checked lines.

String literals get a rule per language (quotes, backslashes, Kotlin's ``$`` templates, CMake's
``${}``, C trigraphs), ASCII-only where the language allows; JSON goes through
:func:`json_text`, HTML through :func:`html` (MarkupSafe, what Jinja's autoescape uses),
Markdown through :func:`markdown`, the report's plot titles through :func:`plot_text`.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Callable, Iterable
from typing import Any

import markupsafe

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


class EscapeError(ValueError):
    """Text that this language cannot hold (a bug upstream: validation should have refused)."""


def identifier(text: str) -> str:
    """``text`` unchanged if it is an ASCII identifier of every target language, else an
    EscapeError. Spec names are validated long before; this is the check at the point of use."""
    if not isinstance(text, str) or not _IDENTIFIER.fullmatch(text):
        raise EscapeError(f"not an identifier: {text!r}")
    return text


# ---------------------------------------------------------------- comments

COMMENT_SAFE = frozenset(string.ascii_letters + string.digits + " _-.,:/+=@()[]~")


def comment(text: str) -> str:
    """User text for inside a comment of any emitted language (see the module docstring)."""
    return "".join(
        c if c in COMMENT_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogatepass"))
        for c in text
    )


_COMMENT_BREAKERS = ('"', "\\", "*/", "/*", "??")


def comment_line(line: str) -> str:
    """``line`` unchanged if it is safe in a comment of every emitted language: printable
    ASCII, no quote (a Python docstring), no backslash (escape sequences, C line splices), no
    ``*/`` or ``/*`` (C; Swift and Kotlin nest block comments), no ``??`` (C trigraphs). The
    assemblers below apply it to featgen's own wording too."""
    if not (isinstance(line, str) and line.isascii() and line.isprintable()):
        raise EscapeError(f"a comment line must be printable ASCII: {line!r}")
    for bad in _COMMENT_BREAKERS:
        if bad in line:
            raise EscapeError(f"a comment line cannot hold {bad!r}: {line!r}")
    return line


def python_docstring(lines: list[str]) -> str:
    """A module docstring of ``lines``."""
    return '"""' + "\n".join(comment_line(line) for line in lines) + '\n"""'


def c_block_comment(lines: list[str]) -> str:
    """``/* ... */`` over several lines, `` * `` before each line after the first."""
    return "/* " + "\n * ".join(comment_line(line) for line in lines) + "\n */"


def line_comments(lines: list[str], prefix: str = "// ") -> str:
    """One line comment per line: ``// `` for Swift and Kotlin, ``# `` for CMake and Python."""
    return "\n".join(prefix + comment_line(line) for line in lines)


# ---------------------------------------------------------------- string literals

_PRINTABLE_ASCII = frozenset(chr(c) for c in range(0x20, 0x7F))


def _no_surrogates(text: str, language: str) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        raise EscapeError(f"a {language} string cannot hold a lone surrogate: {text!r}")


def _quoted(chars: Iterable[str], specials: str, encode: Callable[[str], str]) -> str:
    """A double-quoted literal: SPECIALS backslash-escaped, printable ASCII kept, every other
    character (or byte) written by ENCODE. One shape for the Python, C, Swift, Kotlin rules."""
    return (
        '"'
        + "".join(
            "\\" + c if c in specials else c if c in _PRINTABLE_ASCII else encode(c) for c in chars
        )
        + '"'
    )


def _python_escape(c: str) -> str:
    code = ord(c)
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def python_string(text: str) -> str:
    """A double-quoted Python literal, ASCII only."""
    return _quoted(text, '\\"', _python_escape)


def c_string(text: str) -> str:
    """A C99 string literal of the UTF-8 bytes: three-digit octal escapes (a hex escape would
    swallow following hex digits), ``?`` escaped against trigraphs."""
    _no_surrogates(text, "C")
    return _quoted(map(chr, text.encode("utf-8")), '\\"?', lambda c: f"\\{ord(c):03o}")


def swift_string(text: str) -> str:
    """A Swift string literal, ASCII only (``\\u{...}`` for the rest)."""
    _no_surrogates(text, "Swift")
    return _quoted(text, '\\"', lambda c: f"\\u{{{ord(c):X}}}")


def _kotlin_escape(c: str) -> str:
    units = c.encode("utf-16-be")
    return "".join(
        f"\\u{int.from_bytes(units[i : i + 2], 'big'):04X}" for i in range(0, len(units), 2)
    )


def kotlin_string(text: str) -> str:
    """A Kotlin string literal, ASCII only: ``$`` escaped (string templates), the rest as
    UTF-16 ``\\uXXXX`` units."""
    _no_surrogates(text, "Kotlin")
    return _quoted(text, '\\"$', _kotlin_escape)


_CMAKE_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def cmake_string(text: str) -> str:
    """A CMake quoted argument holding exactly ``text``: ``\\``, ``"`` and ``$`` (variable
    references) escaped. (``;`` stays: inside quotes it separates nothing, and ``\\;`` would
    keep its backslash.) A control character other than a newline, CR or tab cannot be written
    (EscapeError)."""
    out = []
    for c in text:
        if c in '\\"$':
            out.append("\\" + c)
        elif c in _CMAKE_ESCAPES:
            out.append(_CMAKE_ESCAPES[c])
        elif c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF:
            out.append(c)
        else:
            raise EscapeError(f"a CMake string cannot hold U+{ord(c):04X}: {text!r}")
    return '"' + "".join(out) + '"'


# ---------------------------------------------------------------- documents


def json_text(value: Any) -> str:
    """A JSON value, ASCII only (so U+2028/U+2029 are escaped for JavaScript readers too)."""
    return json.dumps(value, ensure_ascii=True)


def html(text: str) -> str:
    """Text for HTML element content or a quoted attribute value."""
    return str(markupsafe.escape(text))


_MARKDOWN_PUNCTUATION = frozenset(string.punctuation)


def markdown(text: str) -> str:
    """Literal text inside a Markdown (CommonMark) paragraph or table cell: ASCII punctuation
    backslash-escaped, anything non-printable (line breaks included) shown as its Python
    escape, whose backslash precedes a letter and so stays literal."""
    out = []
    for c in text:
        if c in _MARKDOWN_PUNCTUATION:
            out.append("\\" + c)
        elif c.isprintable():
            out.append(c)
        else:
            out.append(ascii(c)[1:-1])
    return "".join(out)


def plot_text(text: str) -> str:
    """Literal text for a matplotlib title or label (the HTML report's plots): ``$`` escaped, so
    a ``$...$`` pair is not parsed as mathtext (an unknown command there raises at savefig);
    anything non-printable shown as its Python escape."""
    return "".join("\\$" if c == "$" else c if c.isprintable() else ascii(c)[1:-1] for c in text)


FILTERS = {
    "ident": identifier,
    "comment": comment,
    "py_str": python_string,
    "c_str": c_string,
    "swift_str": swift_string,
    "kotlin_str": kotlin_string,
    "cmake_str": cmake_string,
}
