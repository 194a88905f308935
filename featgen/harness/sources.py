"""Which generated files a runtime compiles, read from the build's roles.

Each target names its files by role (``Target.roles``, codegen/targets), and a ``Bundle`` carries
those names, so the harness asks for "the C target's sources" instead of matching ``c/*``. A
plain {path: text} copy of a build has no roles: tests that edit a tree pass one (a changed file,
a hostile name), and for it the caller's path rule is the documented fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path


def role_paths(
    files: Mapping[str, str | bytes],
    target: str,
    keep: Callable[[str, str], bool],
    fallback: Callable[[str], bool],
) -> list[str]:
    """Sorted paths of ``target``'s files: from a ``Bundle``, the paths of the roles that
    ``keep(role, path)`` accepts; from a plain copy of a build, the paths ``fallback(path)``
    accepts."""
    roles = getattr(files, "roles", None)
    if roles and target in roles:
        return sorted(p for r, p in roles[target].items() if keep(r, p))
    return sorted(p for p in files if fallback(p))


def text(files: Mapping[str, str | bytes], path: str) -> str:
    content = files[path]
    return content if isinstance(content, str) else content.decode("utf-8")


def by_name(files: Mapping[str, str | bytes], paths: list[str]) -> dict[str, str]:
    """{file name: text} of ``paths`` (the sources land in one folder to compile)."""
    return {Path(p).name: text(files, p) for p in paths}


def c_sources(files: Mapping[str, str | bytes]) -> dict[str, str]:
    """{file name: text} of the generated C runtime: every .c/.h of the C target (featurisers,
    model, detector, recorder, sensor adapter); not TL2cgen's c/tl2cgen/ nor the CMake file.
    Fallback for a plain copy: the files directly in c/."""
    return by_name(
        files,
        role_paths(
            files,
            "C",
            lambda role, path: path.endswith((".c", ".h")),
            lambda path: (
                path.startswith("c/") and path.count("/") == 1 and path.endswith((".c", ".h"))
            ),
        ),
    )
