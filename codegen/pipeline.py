"""The build pipeline's middle: lower -> passes, run once per build (no module-level caches).

    spec --lower--> Program (full) --prune (model)--> Program (device)
                       |                                  |
                       +------ passes (PASSES) -----------+--> Plan --> targets' emit

A ``Plan`` is what every target's ``emit`` reads: both programs, the passes' results for each
(keyed by the program's name), and the loaded model. Passes are pure functions of a program;
a target lists the ones it reads in ``Target.passes`` and the build runs each one once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from featurespec.schema import Spec

from .lowering import Program, lower
from .sharing import share_program

# name -> pass: Program -> result. "share": one merged kernel per window (codegen/sharing.py).
PASSES: dict[str, Callable[[Program], Any]] = {
    "share": share_program,
}


@dataclass(frozen=True)
class Plan:
    """Everything the targets emit from. ``device is program`` when nothing is pruned.
    ``share``: whether the sharing pass ran (off: each feature's kernel emitted on its own,
    the oracle of the sharing pass)."""

    spec: Spec
    program: Program
    device: Program
    model: Any = None  # codegen.trees.model_dir.Bundle or None
    share: bool = True
    results: Mapping[tuple[str, str], Any] = field(default_factory=dict)  # (pass, program name)

    @property
    def programs(self) -> tuple[Program, ...]:
        """The full program, then the device one when it differs."""
        return (self.program,) if self.device is self.program else (self.program, self.device)

    def shared(self, program: Program) -> dict[str, Any]:
        """The sharing pass's {window: SharedWindow} for ``program`` ({} with share off)."""
        if not self.share:
            return {}
        shared: dict[str, Any] = self.results[("share", program.name)]
        return shared


def device_program(spec: Spec, program: Program, prune: bool = True, model: Any = None) -> Program:
    """What the phone runs with the model: only the features the model splits on (and the
    signals they need), or the full program when ``prune`` is off or nothing can be dropped.
    ``model``: the loaded model directory (loaded here when not given)."""
    if spec.model is None or not prune:
        return program
    if model is None:
        from .trees.model_dir import load_bundle

        model = load_bundle(spec)
    used = model.forest.features_used()
    if not used or len(used) == program.n_features:
        return program
    return lower(spec, keep=used, name=f"{spec.name}_device")


def plan(
    spec: Spec, prune: bool = True, share: bool = True, passes: tuple[str, ...] = ("share",)
) -> Plan:
    """Lower ``spec``, load its model once, prune for the device, run ``passes`` once on each
    program."""
    program = lower(spec)
    model = None
    if spec.model is not None:
        from .trees.model_dir import load_bundle

        model = load_bundle(spec)
    device = device_program(spec, program, prune, model)
    programs = (program,) if device is program else (program, device)
    results: dict[tuple[str, str], Any] = {}
    for name in passes:
        if name == "share" and not share:
            continue
        for p in programs:
            results[(name, p.name)] = PASSES[name](p)
    return Plan(spec, program, device, model, share, results)
