"""The one rule that turns spec names into generated type and member names.

Spec names are ``[a-z][a-z0-9_]*``; Swift and Kotlin types are PascalCase (``twist_and_go`` ->
``TwistAndGo``: the Swift package ``TwistAndGoFeatures``, the Kotlin class, the Core ML model)
and Swift members lowerCamelCase (``user_acceleration`` -> ``userAcceleration``). Both drop the
underscores, so different names can meet (``a_b1`` and ``a_b_1`` both give ``AB1``):
:func:`collisions` finds them, and the validator reports each as a located spec error instead of
letting it become a duplicate declaration in the generated code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


def pascal_case(name: str) -> str:
    """``twist_and_go`` -> ``TwistAndGo``."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def lower_camel(name: str) -> str:
    """``user_acceleration`` -> ``userAcceleration`` (the first part stays as written)."""
    first, _, rest = name.partition("_")
    return first + pascal_case(rest)


def collisions(names: Iterable[str], rule: Callable[[str], str]) -> list[tuple[str, str, str]]:
    """(earlier name, later name, what both become) for every later name that ``rule`` maps onto
    an earlier one's result; names in document order, each distinct name once."""
    seen: dict[str, str] = {}
    out = []
    for name in dict.fromkeys(names):
        converted = rule(name)
        if converted in seen:
            out.append((seen[converted], name, converted))
        else:
            seen[converted] = name
    return out
