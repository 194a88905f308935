"""Dependencies flow one way: the import graph of the product, read with ``ast``.

Every ``import`` counts, at module level and inside functions (a function-level import is still
a dependency, only a later one). Imports under ``if TYPE_CHECKING:`` are left out: they never
run, so they cannot make a cycle. The rules:

* no product module imports ``parity_tests`` or ``tests`` (the product never needs its tests);
* the layer order below holds: a module imports only its own layer or the layers before it;
* no import cycles between product modules, whatever their layer;
* in featgen/ a function-level import is only the deliberate lazy loading of a heavy library.

A new module must be placed in a layer (the test names it otherwise), so where it sits is a
decision, not an accident. The synthetic cases at the end prove the checks can fail.
"""

from __future__ import annotations

import ast
import fnmatch
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRODUCT = ("featurespec", "codegen", "featgen", "templates")
TEST_PACKAGES = ("parity_tests", "tests")

# vocabulary -> spec -> IR/passes -> targets -> build -> harness runtime -> CLI. Patterns are
# fnmatch patterns over dotted module names; the first layer whose pattern matches wins.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("vocabulary", ("featurespec.vocabulary", "featurespec.vocabulary.*", "templates")),
    ("spec", ("featurespec", "featurespec.*")),
    (
        "IR and passes",
        (
            "codegen",
            "codegen.lowering",
            "codegen.sharing",
            "codegen.streaming",
            "codegen.pipeline",
            "codegen.trees",
            "codegen.trees.ir",
            "codegen.trees.objectives",
            "codegen.trees.fp32",
            "codegen.trees.xgboost_json",
            "codegen.trees.xgboost_legacy",
            "codegen.trees.model_dir",
            "codegen.trees.decision",
            "codegen.trees.proximity",
            "codegen.trees.forest_json",
            "codegen.trees.lightgbm_text",
            "codegen.trees.sklearn_trees",
        ),
    ),
    (
        "targets",
        (
            "codegen.escape",
            "codegen.backends",
            "codegen.backends.*",
            "codegen.android",
            "codegen.sensors",
            "codegen.trees.c_emit",
            "codegen.trees.swift_emit",
            "codegen.trees.coreml",
            "codegen.trees.tl2cgen_emit",
            "codegen.trees.build",
            "codegen.targets",
            "codegen.targets.*",
        ),
    ),
    ("build", ("codegen.build", "codegen.bundle")),
    ("harness runtime", ("featgen.harness", "featgen.harness.*")),
    ("CLI", ("featgen", "featgen.*")),
)
# featgen/ may import these inside a function (each such import carries a comment saying why).
# (lightgbm and sklearn: optional extras, featgen[lightgbm,sklearn], imported where used)
LAZY_HEAVY = (
    "xgboost",
    "dask",
    "distributed",
    "pyarrow",
    "matplotlib",
    "coremltools",
    "lightgbm",
    "sklearn",
)


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported name, resolved to a module of the graph where possible
    where: str  # file:line
    function_level: bool


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return skip


def import_graph(root: Path, packages: tuple[str, ...]) -> tuple[set[str], list[Edge]]:
    """(modules, edges) of the Python packages ``packages`` under ``root``."""
    files = {module_name(p, root): p for pkg in packages for p in (root / pkg).rglob("*.py")}
    edges = []
    for module, path in sorted(files.items()):
        tree = ast.parse(path.read_text(), filename=str(path))
        skip = _type_checking_nodes(tree)
        top = {id(n) for n in tree.body}
        for stmt in tree.body:  # module-level try/if blocks run at import time too
            if isinstance(stmt, (ast.If, ast.Try)):
                top |= {id(n) for n in ast.walk(stmt)}
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in skip:
                continue
            where = f"{path.relative_to(root)}:{node.lineno}"
            for target in _targets(node, module, is_package, files):
                edges.append(Edge(module, target, where, id(node) not in top))
    return set(files), edges


def _targets(node, module: str, is_package: bool, modules) -> list[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = node.module or ""
        if node.level:
            parts = module.split(".")[: None if is_package else -1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([base] if base else []))
        # `from pkg import sub` imports the submodule when there is one
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
    out = []
    for name in names:
        known = name
        while known and known not in modules:
            known = known.rpartition(".")[0]
        out.append(known or name)
    return out


def layer_of(module: str) -> int | None:
    for i, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatchcase(module, p) for p in patterns):
            return i
    return None


def cycles(modules: set[str], edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for e in edges:
        if e.target in modules and e.target != e.source:
            graph[e.source].add(e.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def problems(
    modules: set[str], edges: list[Edge], lazy_checked: tuple[str, ...] = ("featgen",)
) -> list[str]:
    """Every rule broken, one line each, with file:line."""
    out = []
    for m in sorted(modules):
        if layer_of(m) is None:
            out.append(f"{m}: in no layer (add it to LAYERS in tests/test_import_graph.py)")
    for e in edges:
        root = e.target.split(".")[0]
        if root in TEST_PACKAGES:
            out.append(f"{e.where}: {e.source} imports the test package {e.target}")
            continue
        if e.target in modules:
            src, dst = layer_of(e.source), layer_of(e.target)
            if src is not None and dst is not None and dst > src:
                out.append(
                    f"{e.where}: {e.source} ({LAYERS[src][0]}) imports {e.target} "
                    f"({LAYERS[dst][0]}), a later layer"
                )
        elif e.function_level and e.source.split(".")[0] in lazy_checked and root not in LAZY_HEAVY:
            out.append(
                f"{e.where}: function-level import of {e.target} (only heavy libraries "
                f"{', '.join(LAZY_HEAVY)} are imported lazily)"
            )
        if e.function_level and e.target in modules and e.source.split(".")[0] in lazy_checked:
            out.append(
                f"{e.where}: function-level import of {e.target} (a product module: "
                "import it at the top; a cycle is not a reason)"
            )
    for component in cycles(modules, edges):
        out.append("import cycle: " + " <-> ".join(component))
    for component in package_cycles(modules, edges):
        out.append("package cycle: " + " <-> ".join(component))
    return out


def package_cycles(modules: set[str], edges: list[Edge]) -> list[list[str]]:
    """Cycles between top-level packages (featurespec -> codegen -> featurespec is one even when
    no two modules import each other): the packages themselves must be layered too."""
    packages = {m.split(".")[0] for m in modules}
    lifted = [
        Edge(e.source.split(".")[0], e.target.split(".")[0], e.where, e.function_level)
        for e in edges
        if e.target in modules
    ]
    return cycles(packages, lifted)


# ---------------------------------------------------------------- the product


def test_the_product_imports_one_way_without_cycles_or_tests():
    modules, edges = import_graph(ROOT, PRODUCT)
    assert len(modules) > 60 and len(edges) > 300  # the graph was really read
    found = problems(modules, edges)
    assert not found, "\n".join(found)


def test_parity_tests_is_not_an_installed_package():
    """The product does not need its tests: pyproject installs the product packages only."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = config["tool"]["setuptools"]["packages"]
    assert not [p for p in packages if p.split(".")[0] in TEST_PACKAGES]
    assert "featgen.harness" in packages


# ---------------------------------------------------------------- the checks can fail


def _package(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_each_injected_violation_is_reported_where_it_is(tmp_path):
    """A copy of real layer names with one violation of each kind injected."""
    _package(
        tmp_path,
        {
            "codegen/__init__.py": "",
            "featurespec/vocabulary/features.py": "import math\n",
            # vocabulary importing the CLI (later layer), inside a function
            "featurespec/vocabulary/ir.py": "def f():\n    from featgen import cli\n    return cli\n",
            "featurespec/__init__.py": "from featurespec.vocabulary import features\n",
            # spec <-> spec cycle, one side typing-only (not a cycle), the other real
            "featurespec/a.py": "from . import b\n",
            "featurespec/b.py": "from featurespec import a\n",
            "featurespec/c.py": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                "    from featurespec import d\n"
            ),
            "featurespec/d.py": "from . import c\n",
            "featgen/__init__.py": "",
            "featgen/cli.py": (
                "import json\nfrom featgen.harness import runtime\n"
                "def run():\n    import xgboost  # lazily\n    import numpy\n"
                "    from . import report\n"
            ),
            "featgen/report.py": "",
            "featgen/harness/__init__.py": "",
            "featgen/harness/runtime.py": "from parity_tests.harness import load_numpy_module\n",
            "featgen/harness/orphan_helper.py": "",
        },
    )
    modules, edges = import_graph(tmp_path, ("codegen", "featurespec", "featgen"))
    found = problems(modules, edges)
    assert sorted(found) == sorted(
        [
            "featurespec/vocabulary/ir.py:2: featurespec.vocabulary.ir (vocabulary) imports featgen.cli (CLI), a later layer",
            "featgen/harness/runtime.py:1: featgen.harness.runtime imports the test package "
            "parity_tests.harness",
            "featgen/cli.py:5: function-level import of numpy (only heavy libraries "
            f"{', '.join(LAZY_HEAVY)} are imported lazily)",
            "featgen/cli.py:6: function-level import of featgen.report (a product module: import "
            "it at the top; a cycle is not a reason)",
            "import cycle: featurespec.a <-> featurespec.b",
        ]
    ), "\n".join(found)


def test_a_cycle_through_three_layers_and_an_unplaced_module(tmp_path):
    """A longer cycle (each edge allowed by itself except the last) and a module in no layer."""
    _package(
        tmp_path,
        {
            "codegen/__init__.py": "",
            "codegen/lowering.py": "from codegen import build\n",  # IR -> build: later
            "codegen/build.py": "import featgen.harness.golden\n",  # build -> harness: later
            "featgen/__init__.py": "",
            "featgen/harness/__init__.py": "",
            "featgen/harness/golden.py": "from codegen.lowering import x\n",
            "elsewhere/__init__.py": "",
        },
    )
    modules, edges = import_graph(tmp_path, ("codegen", "featgen", "elsewhere"))
    found = problems(modules, edges)
    assert "import cycle: codegen.build <-> codegen.lowering <-> featgen.harness.golden" in found
    assert "elsewhere: in no layer (add it to LAYERS in tests/test_import_graph.py)" in found
    assert any(
        f.startswith(
            "codegen/lowering.py:1: codegen.lowering (IR and passes) imports codegen.build (build)"
        )
        for f in found
    )


def test_a_package_cycle_without_a_module_cycle(tmp_path):
    """Two packages that import each other through different modules: every edge is allowed by
    the layers and no two modules form a cycle, yet the packages do (as featurespec and codegen
    did while the vocabulary lived in codegen)."""
    _package(
        tmp_path,
        {
            "templates/__init__.py": "from featurespec.vocabulary import ir\n",
            "featurespec/__init__.py": "",
            "featurespec/vocabulary/__init__.py": "",
            "featurespec/vocabulary/ir.py": "",
            "featurespec/vocabulary/features.py": "import templates\n",
        },
    )
    modules, edges = import_graph(tmp_path, ("templates", "featurespec"))
    assert not cycles(modules, edges)
    assert problems(modules, edges) == ["package cycle: featurespec <-> templates"]


# ---------------------------------------------------------------- hygiene of the product code


def _product_files():
    return sorted(p for pkg in PRODUCT for p in (ROOT / pkg).rglob("*.py"))


def test_no_assert_guards_a_runtime_check_in_library_code():
    """``assert`` vanishes under ``python -O``: library checks raise real errors instead."""
    found = [
        f"{p.relative_to(ROOT)}:{n.lineno}"
        for p in _product_files()
        for n in ast.walk(ast.parse(p.read_text()))
        if isinstance(n, ast.Assert)
    ]
    assert not found, found


def test_every_docs_file_the_code_points_to_exists():
    import re

    missing = sorted(
        {
            f"{p.relative_to(ROOT)}: {ref}"
            for p in _product_files()
            for ref in re.findall(r"\bdocs/[\w./-]*\w", p.read_text())
            if not (ROOT / ref).exists()
        }
    )
    assert not missing, missing
