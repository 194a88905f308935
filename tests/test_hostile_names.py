"""Hostile file names never become code (issue #15, item 1).

A spec file (and a data file, and a model directory) can be named anything the file system
allows: quotes of every language, comment terminators, line breaks of every kind, shell and
template syntax. featgen used to put the spec's file name into every generated header, so a spec
named ``s\"\"\";__import__("os").system(...);\"\"\"x.yaml`` ran code on `featgen build`. Now:

A file name cannot hold ``/``, so not ``*/``, ``/*`` or the ``??/`` trigraph either; a path
can, and the spec's ``model: path:`` (a path inside the spec) is tested with them below.

* the generated tree does not depend on the spec's file name at all (byte-identical to the same
  spec built as ``spec.yaml``), so no such name can reach a generated file;
* `featgen build`, `check` and `featurize` work on such files and run nothing (a canary file
  that every payload tries to create never appears);
* the generated files compile: the numpy module with ``compile()``, the C with
  ``gcc -fsyntax-only -std=c99``, the CMakeLists with a CMake configure;
* a hostile ``model: path:`` (spec text that does reach the headers) goes through the comment
  rule of codegen/escape.py: the C still compiles, every Swift/Kotlin header line is one ``//``
  comment, and the raw text appears nowhere;
* the HTML parity report escapes a hostile recording name.

NUL cannot be tested: POSIX file names cannot hold it (``open`` refuses it before the kernel),
and a YAML string holding one is refused by the spec validator like any other non-name.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from click.testing import CliRunner

from codegen import escape
from codegen.build import generate
from codegen.bundle import manifest_of
from featgen.cli import main
from featurespec import load_spec
from parity_tests.conftest import require_tools

ROOT = Path(__file__).resolve().parent.parent
CANARY = "PWNED"  # every payload tries to create this file in the working directory

SPEC = """\
spec: featgen/v1
name: hostile
sample_rate_hz: 50
inputs: [ax, gy]
windows:
  w: {length: 16, hop: 4}
features:
  - {compute: [mean, std], of: ax, over: w}
  - {compute: max, of: gy, over: w}
"""

NAME_MAX = os.pathconf("/", "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
TOUCH = f'__import__("os").system("touch {CANARY}")'

# Every entry is a whole file name (no "/": a name cannot hold one; no NUL: see above).
HOSTILE = [
    f's""";{TOUCH};"""x.yaml',  # the bug that started this
    f"s''';{TOUCH};'''x.yaml",
    f'x"; {TOUCH}; "y.yaml',
    f"x'; {TOUCH}; 'y.yaml",
    "\\N{no such character}.yaml",  # a malformed escape in a docstring
    "ends with a backslash\\",
    "trailing backslash line splice \\\nint pwned;.yaml",
    f'*\u2215 int pwned = system("touch {CANARY}"); \u2215*.yaml',  # look-alike solidus
    "*\uff0f fullwidth solidus \uff0f*.yaml",
    "**",
    "??= ??( ??) ??' ??< ??! ??> ??- trigraphs ??.yaml",
    "--> <!-- <script>alert(1)<\\script> <img src=x onerror=alert(1)>.yaml",
    f"line\nfatalError(); {TOUCH}\n# .yaml",
    f"cr\rexecute_process(COMMAND touch {CANARY})\r# .yaml",
    f"crlf\r\nexecute_process(COMMAND touch {CANARY})\r\n#.yaml",
    f"ls\u2028{TOUCH}\u2028.yaml",
    f"ps\u2029{TOUCH}\u2029.yaml",
    f"nel\u0085{TOUCH}\u0085.yaml",
    "vt\x0bff\x0cesc\x1b[31mbell\x07.yaml",
    f"$(touch {CANARY}).yaml",
    "${CMAKE_COMMAND} ${HOME} $ENV{HOME} @PROJECT_NAME@.yaml",
    f"`touch {CANARY}`.yaml",
    f"; touch {CANARY}; #.yaml",
    "# [[ bracket comment ]] #[[x]].yaml",
    "% %s %n %(name)s {0} {name}.yaml",
    "{{ 7 * 7 }} {% raw %} {# c #}.yaml",
    "[bold]rich[blink] [link=x]y \\[.yaml",
    "| md | [x](javascript:alert(1)) _*_ `code` <b>.yaml",
    "\u202eevil\u202c bidi \u200b zero width \ufeff bom.yaml",
    "caf\u00e9 \u0430\u0440\u0440l\u0435 \U0001f600 \u00a0nbsp.yaml",
    os.fsdecode(b"invalid utf8 \xff\xfe.yaml"),  # a lone surrogate in Python
    "-o.yaml",  # looks like an option
    " leading and trailing spaces .yaml",
    "x" * (NAME_MAX - 5) + ".yaml",  # as long as the OS allows
    ("\"'\\*#`$\n" * 40)[: NAME_MAX - 5] + ".yaml",
]


def _fits(name: str) -> bool:
    return 0 < len(os.fsencode(name)) <= NAME_MAX and "/" not in name and "\0" not in name


def test_the_corpus_is_large_and_every_name_is_a_real_file_name(tmp_path):
    assert len(HOSTILE) >= 30
    for name in HOSTILE:
        assert _fits(name), name
        (tmp_path / name).write_text("")
    assert len(os.listdir(tmp_path)) == len(set(HOSTILE))
    with pytest.raises(ValueError):  # NUL: refused before the file system sees it
        open(tmp_path / "nul\0.yaml", "w")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> dict:
    """The generated files of SPEC written as spec.yaml, checked to compile once; every
    hostile name must give exactly these bytes."""
    root = tmp_path_factory.mktemp("baseline")
    (root / "spec.yaml").write_text(SPEC)
    files = generate(load_spec(root / "spec.yaml"))
    _compiles(files, root / "compile")
    return files


def _text_files(files: dict) -> dict[str, str]:
    return {p: t for p, t in files.items() if isinstance(t, str)}


def _compiles(files: dict, work: Path) -> None:
    """numpy module: compile(); C: gcc -fsyntax-only -std=c99; CMake: a configure."""
    for path, text in _text_files(files).items():
        if path.endswith(".py"):
            compile(text, path, "exec")
    work.mkdir()
    for path, text in _text_files(files).items():
        target = work / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    c_files = sorted(
        p for p in files if p.startswith("c/") and p.endswith(".c") and "/tl2cgen/" not in p
    )
    assert c_files
    for path in c_files:
        done = subprocess.run(
            ["gcc", "-fsyntax-only", "-std=c99", "-Wall", "-Werror", str(work / path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
    cmake = shutil.which("cmake")
    require_tools([] if cmake else ["cmake"], "the CMake side of the escaping rule")
    build = work / "cmake-build"
    done = subprocess.run(
        [cmake, "-S", str(work / "c"), "-B", str(build)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _variants(name: str) -> list[str]:
    """The name as it could leak: itself, its stem, each line of it that holds a payload."""
    stem = name[:-5] if name.endswith(".yaml") else name
    lines = stem.replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    parts = [name, stem] + [p for p in lines.replace("\u0085", "\n").split("\n") if CANARY in p]
    return [p for p in parts if len(p) > 3]


@pytest.mark.parametrize("name", HOSTILE, ids=range(len(HOSTILE)))
def test_the_spec_file_name_changes_no_generated_byte(name, baseline, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / name).write_text(SPEC)
    files = generate(load_spec(tmp_path / name))
    assert files == baseline
    for text in _text_files(files).values():
        for leak in _variants(name):
            assert leak not in text
    assert not (tmp_path / CANARY).exists()


RNG = random.Random(15)
CLI_NAMES = sorted(
    set(HOSTILE[:4] + [HOSTILE[i] for i in (12, 15, 19, 26, 30, 31)] + RNG.sample(HOSTILE, 4)),
    key=HOSTILE.index,
)


@pytest.mark.parametrize("name", CLI_NAMES, ids=[str(HOSTILE.index(n)) for n in CLI_NAMES])
def test_build_check_featurize_on_a_hostile_spec_name(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = tmp_path / name
    spec.write_text(SPEC)
    data = tmp_path / "rec.csv"
    data.write_text("ax,gy\n" + "".join(f"{i * 0.1},{-i * 0.2}\n" for i in range(40)))
    runner = CliRunner()
    # ./name: a name starting with "-" must not be read as an option
    spec_arg = os.path.join(".", name)
    for args in (
        ["build", spec_arg, "-o", "out"],
        ["check", spec_arg, "-o", "out"],
        ["featurize", spec_arg, str(data), "-o", "features.csv"],
    ):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        assert not (tmp_path / CANARY).exists(), args
    header = (tmp_path / "features.csv").read_text().splitlines()[0]
    assert "mean__ax__w" in header
    generated = {
        p.relative_to(tmp_path / "out" / "hostile").as_posix(): p.read_bytes()
        for p in (tmp_path / "out" / "hostile").rglob("*")
        if p.is_file()
    }
    for leak in _variants(name):
        raw = os.fsencode(leak)
        assert not any(raw in content for content in generated.values()), leak


def test_output_paths_are_printed_as_text_not_markup(tmp_path, monkeypatch):
    """rich markup in a path (``[/]`` closes nothing) used to raise MarkupError after the work
    was done."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    result = CliRunner().invoke(main, ["build", "spec.yaml", "-o", "[/]out"])
    assert result.exit_code == 0, result.output
    assert re.search(r"wrote \d+ files to \[/\]out/hostile/", result.output.replace("\n", ""))


def test_python_m_featgen_runs_nothing(tmp_path):
    """The original report, end to end through the real entry point."""
    name = HOSTILE[0]
    (tmp_path / name).write_text(SPEC)
    (tmp_path / "rec.csv").write_text("ax,gy\n" + "0.5,1\n" * 30)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for args in (["build", name, "-o", "out"], ["featurize", name, "rec.csv", "-o", "f.npz"]):
        done = subprocess.run(
            [sys.executable, "-m", "featgen", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, (args, done.stdout + done.stderr)
    assert not (tmp_path / CANARY).exists()
    assert (tmp_path / "f.npz").is_file()


# ---------------------------------------------------------------- a hostile model path


MODEL_DIR = 'm */ "\\ \n\u2028$(touch PWNED) #?? % {{x}}'  # a directory inside "m *"


def test_a_hostile_model_path_is_escaped_in_every_header(tmp_path, monkeypatch):
    """``model: path:`` is spec text that does reach generated headers: through the comment rule
    (percent-encoding), so the C compiles, Swift/Kotlin headers stay comments, and the manifest
    (JSON) keeps the exact text."""
    monkeypatch.chdir(tmp_path)
    example = ROOT / "examples" / "twist_and_go"
    shutil.copytree(example / "model", tmp_path / MODEL_DIR)
    text = (example / "spec.yaml").read_text()
    assert text.count("model: {path: model}") == 1
    (tmp_path / "spec.yaml").write_text(
        text.replace("model: {path: model}", f"model: {{path: {json.dumps(MODEL_DIR)}}}")
    )
    files = generate(load_spec(tmp_path / "spec.yaml"), prune=False)
    texts = _text_files(files)
    encoded = escape.comment(MODEL_DIR)
    assert encoded == ("m %2A/ %22%5C %0A%E2%80%A8%24(touch PWNED) %23%3F%3F %25 %7B%7Bx%7D%7D")
    headers = [p for p, t in texts.items() if f"({encoded}/model.json)" in t]
    assert {
        "c/twist_and_go_model.c",
        "ios/Sources/TwistAndGoFeatures/TwistAndGoModel.swift",
        "android/src/main/kotlin/featgen/TwistAndGo.kt",
    } <= set(headers)
    for path, content in texts.items():
        assert MODEL_DIR not in content and '*/ "' not in content, path
    assert manifest_of(texts).model.path == MODEL_DIR
    model_sha = manifest_of(texts).model.model_sha256
    for path in headers:
        if path.endswith((".swift", ".kt")):  # the header: 4 whole // lines, the model last
            head = texts[path].splitlines()[:4]
            assert all(line.startswith("// ") for line in head), head
            assert head[3] == f"// Model sha256: {model_sha} ({encoded}/model.json)"
    (tmp_path / "c").mkdir()
    for name, content in texts.items():
        if name.startswith("c/") and name.count("/") == 1:
            (tmp_path / name).write_text(content)
    for path in ("c/twist_and_go_model.c", "c/twist_and_go_detector.c"):  # the model line
        done = subprocess.run(
            ["gcc", "-fsyntax-only", "-std=c99", str(tmp_path / path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    assert not (tmp_path / CANARY).exists()


# ---------------------------------------------------------------- the HTML report


def test_the_html_report_escapes_a_hostile_recording_name(tmp_path, monkeypatch):
    from featgen import harness

    monkeypatch.setattr(harness, "find_swiftc", lambda: None)  # C only: fast
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "spec.yaml").write_text(SPEC)
    name = "<script>alert('x')<script> & \"q\" -->.csv"
    (tmp_path / name).write_text("ax,gy\n" + "".join(f"{i % 7},{i % 3}\n" for i in range(80)))
    result = CliRunner().invoke(main, ["parity", "spec.yaml", "--data", name, "--html", "r.html"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html and name[:-4] not in html
    assert escape.html(name[:-4]) in html
    data_line = html[html.index('id="features-data"') :]
    assert (
        data_line.startswith('id="features-data"><b>Data shown:</b>')
        and f"your --data, 1 recording(s): {escape.html(name[:-4])}" in data_line[:400]
    )


# ---------------------------------------------------------------- the rules themselves

_SAMPLES = HOSTILE + ["", "plain", "a\x00b", "\ud800 lone", "\U0010ffff"]


@pytest.mark.parametrize("text", _SAMPLES, ids=range(len(_SAMPLES)))
def test_the_comment_rule_is_total_and_reversible(text):
    from urllib.parse import unquote

    out = escape.comment(text)
    escape.comment_line(out)  # safe in every language's comments
    assert unquote(out, errors="surrogatepass") == text


def test_literal_rules_round_trip_through_python_and_json():
    import ast

    for text in _SAMPLES:
        assert ast.literal_eval(escape.python_string(text)) == text
        assert json.loads(escape.json_text(text)) == text
        assert escape.json_text(text).isascii()
        if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
            for rule in (escape.c_string, escape.swift_string, escape.kotlin_string):
                assert rule(text).isascii() and "\n" not in rule(text)


def test_c_string_literals_compile_to_the_same_bytes(tmp_path):
    """Every hostile text as a C string literal: gcc reads back exactly its UTF-8 bytes."""
    texts = [t for t in _SAMPLES if not any(0xD800 <= ord(c) <= 0xDFFF for c in t)]
    source = ["#include <stdio.h>", "#include <string.h>", "static const char *const T[] = {"]
    source += [f"    {escape.c_string(t)}," for t in texts]
    sizes = ", ".join(str(len(t.encode("utf-8"))) for t in texts)
    source += [
        "};",
        f"static const size_t N[] = {{{sizes}}};",
        "int main(void) { for (size_t i = 0; i < sizeof N / sizeof N[0]; i++) {",
        "  fwrite(T[i], 1, N[i], stdout); putchar(0xff); } return 0; }",
    ]
    (tmp_path / "t.c").write_text("\n".join(source) + "\n")
    done = subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Werror", "-o", str(tmp_path / "t"), str(tmp_path / "t.c")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    out = subprocess.run([str(tmp_path / "t")], capture_output=True, timeout=30).stdout
    assert out.split(b"\xff")[:-1] == [t.encode("utf-8") for t in texts]  # 0xff: never UTF-8


def test_cmake_string_rule(tmp_path):
    """Quoted CMake arguments: a configure reads back exactly the text (no ${}, no list split,
    no command) for every hostile text CMake can hold."""
    cmake = shutil.which("cmake")
    require_tools([] if cmake else ["cmake"], "the CMake side of the escaping rule")
    texts = [
        t
        for t in _SAMPLES
        if all(c in "\n\r\t" or (c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF) for c in t)
    ]
    lines = ["cmake_minimum_required(VERSION 3.10)", "project(x NONE)"]
    for i, t in enumerate(texts):
        lines.append(f"set(T{i} {escape.cmake_string(t)})")
        lines.append(f'file(WRITE "${{CMAKE_BINARY_DIR}}/t{i}.txt" "${{T{i}}}")')
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "CMakeLists.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = subprocess.run(
        [cmake, "-S", str(tmp_path / "src"), "-B", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for i, t in enumerate(texts):
        assert (tmp_path / "b" / f"t{i}.txt").read_bytes() == t.encode("utf-8"), t
    assert not (tmp_path / CANARY).exists()
    with pytest.raises(escape.EscapeError):
        escape.cmake_string("a\x00b")


def test_markdown_rule_leaves_no_live_syntax():
    for text in _SAMPLES:
        out = escape.markdown(text)
        assert "\n" not in out and "\r" not in out
        assert all(unicodedata.category(c)[0] != "C" for c in out if not c.isascii())
        for i, c in enumerate(out):
            if c in "<>[]()`*_|#":
                assert out[i - 1] == "\\", (text, out)


def test_plot_text_is_never_mathtext():
    """A recording named ``a $\\undefined$ b`` made matplotlib raise at savefig in the report's
    timeline title; through escape.plot_text it renders as the literal text."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1), dpi=20)
    try:
        ax.set_title("rec $\\undefinedcommand$ x")
        with pytest.raises(ValueError):  # the raw text: mathtext, and it fails
            fig.savefig(io.BytesIO(), format="png")
        for text in ["rec $\\undefinedcommand$ x", "$x$ $$ $\\", HOSTILE[0], HOSTILE[12]]:
            ax.set_title(escape.plot_text(text))
            fig.savefig(io.BytesIO(), format="png")
    finally:
        plt.close(fig)
