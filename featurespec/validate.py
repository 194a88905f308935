"""Check a parsed spec document against the rules and expand it into :mod:`featurespec.schema`.

Validation keeps going after a problem so one run reports everything it reasonably can, but a
broken declaration never cascades: a signal or window with an invalid definition is still a
*known* name, so its uses are not reported again.
"""

from __future__ import annotations

import heapq
import keyword
import math
import os
import re
from collections.abc import Collection, Iterable
from fractions import Fraction
from typing import Any

from featurespec.vocabulary.features import FALLBACK, FEATURES, RATIO, FeatureKind
from featurespec.vocabulary.params import ParamError
from featurespec.vocabulary.signals import SIGNALS, SignalKind

from .errors import char_name, closest, describe, did_you_mean, number_text, show, spec_hash
from .loader import DocPath, Document
from .naming import pascal_case
from .schema import SPEC_VERSION, DecisionDef, FeatureDef, ModelDef, SignalDef, Spec, WindowDef
from .sensors import check_sensors

# ---------------------------------------------------------------- names

MAX_NAME = 48
MAX_WINDOW = 65536  # samples; a window is a buffer on the phone
MAX_FEATURES = 10_000  # columns; a phone model reads hundreds
MAX_RATE_HZ = 100_000
SAFE_NAME = re.compile(r"[a-z][a-z0-9_]*")

# Names become identifiers in generated C, Swift and Python, so none of them may be a word
# those languages reserve. The lists are fixed here (not read from the running interpreter) so
# whether a spec is valid does not depend on the Python version that checks it.
C_RESERVED = frozenset(
    """
    auto break case char const continue default do double else enum extern float for goto if
    inline int long register restrict return short signed sizeof static struct switch typedef
    union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof _Atomic
    _Generic _Noreturn _Static_assert _Thread_local
    NULL bool true false alignas alignof noreturn static_assert thread_local complex imaginary
    I EOF errno assert offsetof main size_t ptrdiff_t int8_t int16_t int32_t int64_t uint8_t
    uint16_t uint32_t uint64_t uintptr_t intptr_t
    sqrt fabs isfinite isnan isinf nan fmin fmax fma floor ceil round trunc exp log pow sin cos
    tan abs memcpy memset malloc free
""".split()
)

SWIFT_RESERVED = frozenset(
    """
    associatedtype borrowing class consuming deinit enum extension fileprivate func import init
    inout internal let nonisolated open operator package private precedencegroup protocol public
    rethrows static struct subscript typealias var
    break case catch continue default defer do else fallthrough for guard if in repeat return
    throw switch where while
    Any as await false is nil self Self super throws true try _
    associativity async actor any consume convenience copy didSet discard dynamic each final get
    indirect infix isolated lazy left macro mutating none nonmutating optional override postfix
    precedence prefix Protocol required right set some Type unowned weak willSet
""".split()
)

PYTHON_RESERVED = (
    frozenset(
        """
    False None True and as assert async await break class continue def del elif else except
    finally for from global if import in is lambda nonlocal not or pass raise return try while
    with yield _ case match type
    abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod
    compile complex delattr dict dir divmod enumerate eval exec filter float format frozenset
    getattr globals hasattr hash help hex id input int isinstance issubclass iter len list
    locals map max memoryview min next object oct open ord pow print property range repr
    reversed round set setattr slice sorted staticmethod str sum super tuple vars zip
    exit quit copyright credits license np numpy math self cls
""".split()
    )
    | frozenset(keyword.kwlist)
    | frozenset(keyword.softkwlist)
)

# The spec name in PascalCase names the generated Kotlin class (twist_and_go -> TwistAndGo); it
# must not hide a type that class's file uses unqualified.
KOTLIN_SHADOWED = frozenset(
    """
    String List Boolean System Closeable DoubleArray FloatArray IntArray IllegalStateException
    OutOfMemoryError JvmField JvmStatic
""".split()
)

RESERVED = (("C", C_RESERVED), ("Swift", SWIFT_RESERVED), ("Python", PYTHON_RESERVED))


def name_problem(value: Any, what: str, reserved: bool = True) -> str | None:
    """Why ``value`` cannot be a name, or None. Names end up in identifiers of three languages
    and as parts of ``stem__signal__window`` feature names. ``reserved=False`` skips the
    reserved-word rule, for names the backends only ever emit inside longer identifiers."""
    if isinstance(value, bool):
        return (
            f"expected {what}, got {describe(value)} "
            "(YAML reads yes/no/on/off as booleans; quote it)"
        )
    if not isinstance(value, str):
        return f"expected {what}, got {describe(value)}"
    if not value:
        return f"{what} cannot be empty"
    if not SAFE_NAME.fullmatch(value):
        return f"{show(value)} is not a valid name: {_bad_character(value)}"
    if len(value) > MAX_NAME:
        return f"{show(value)} is {len(value)} characters long; a name has at most {MAX_NAME}"
    if "__" in value:
        return f"{show(value)} contains '__', which separates the parts of feature names"
    if value.endswith("_"):
        return f"{show(value)} ends with '_', which would run into the '__' of feature names"
    languages = [language for language, words in RESERVED if reserved and value in words]
    if languages:
        return f"{show(value)} is a reserved word in {_and(languages)}; choose another name"
    return None


def _bad_character(value: str) -> str:
    rule = "names use only a-z, 0-9 and _, starting with a letter"
    for i, c in enumerate(value):
        if "a" <= c <= "z" or (i > 0 and (c.isdigit() and c.isascii() or c == "_")):
            continue
        if "A" <= c <= "Z":
            return f"it contains the capital {c!r}; {rule}"
        if i == 0 and (c == "_" or "0" <= c <= "9"):
            return f"it starts with {c!r}; {rule}"
        if not c.isascii():
            return f"it contains {char_name(c)}, which is not ASCII; {rule}"
        return f"it contains {c!r}; {rule}"
    return rule  # unreachable: SAFE_NAME rejected something


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ---------------------------------------------------------------- numbers and durations

DURATION = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|s)")  # ASCII digits only
SAMPLES_WANTED = "expected a whole number of samples or a duration like '0.5s' or '250ms'"


# ---------------------------------------------------------------- the validator

TOP_KEYS = (
    "spec",
    "name",
    "sample_rate_hz",
    "inputs",
    "signals",
    "windows",
    "features",
    "model",
    "decision",
    "sensors",
)
MODEL_KEYS = ("path",)
DECISION_KEYS = ("threshold", "consecutive", "refractory", "class")
MODEL_BLOCKS = ("model", "decision")  # not part of features_hash
UNHASHED = ("sensors",)  # changes no feature code: not part of spec_hash (has sensors_hash)
MAX_CONSECUTIVE = 100_000
TOP_REQUIRED = ("spec", "name", "sample_rate_hz", "inputs", "windows", "features")
WINDOW_KEYS = ("length", "hop")
FEATURE_KEYS = ("compute", "of", "over")
FEATURE_PARAMS = sorted({p for kind in FEATURES.values() for p in kind.params})
# a feature entry {ratio: [num, den], label: ..., fallback: ...} (RATIO is its key)
RATIO_KEYS = (RATIO, "label", "fallback")


def validate(doc: Document) -> Spec:
    """A checked, expanded :class:`Spec`, or SpecError listing every problem found."""
    return _Validator(doc).run()


class _Validator:
    def __init__(self, doc: Document):
        self.doc = doc
        self.problems = doc.problems  # the loader's (duplicate keys...) come first
        self.rate: Fraction | None = None
        self.inputs: list[SignalDef] = []
        self.known_signals: dict[str, DocPath] = {}  # every declared name, valid or not
        self.signals_complete = True  # False: a section was unusable, names may be missing
        self.derived: dict[str, SignalDef] = {}  # valid derived signals, document order
        self.known_windows: set[str] = set()
        self.windows_complete = True
        self.windows: dict[str, WindowDef] = {}  # valid windows
        self.features: list[FeatureDef] = []
        self.outputs: dict[str, int] = {}  # column name -> features index
        self.ratio_labels: dict[str, int] = {}  # label of each ratio entry -> its index
        self.features_complete = True  # False: a feature entry was invalid, columns missing
        # ratio operands not (yet) known: (column, path, entry index), judged at the end
        self.forward_operands: list[tuple[str, DocPath, int]] = []

    # -- reporting

    def error(self, path: DocPath, message: str) -> None:
        self.problems.add(self.doc.loc(path), message)

    def key_error(self, path: DocPath, message: str) -> None:
        self.problems.add(self.doc.key_loc(path), message)

    def line(self, path: DocPath) -> int:
        return self.doc.loc(path).line

    def unknown(self, path: DocPath, what: str, name: str, known: Collection[str]) -> None:
        """'unknown signal 'acc_q' (did you mean 'acc_x'?)'."""
        # suggestions cost time, and a hostile spec can hold thousands of unknown names
        guess = None if self.problems.full else closest(name, known)
        self.error(path, f"unknown {what} {show(name)}{did_you_mean(guess)}")

    def unknown_keys(
        self,
        mapping: dict[str, Any],
        path: DocPath,
        allowed: Collection[str],
        nearby: Collection[str] | None = None,
    ) -> set[str]:
        """Report keys not in ``allowed``; return the names suggested instead, so that a
        misspelled key is not reported a second time as a missing one."""
        guessed: set[str] = set()
        for key in mapping:
            if key not in allowed:
                guess = closest(key, allowed if nearby is None else nearby)
                self.key_error(path + (key,), f"unknown key {show(key)}{did_you_mean(guess)}")
                if guess is not None:
                    guessed.add(guess)
        return guessed

    def missing_keys(
        self, mapping: dict[str, Any], path: DocPath, required: Iterable[str], guessed: set[str]
    ) -> None:
        for key in required:
            if key not in mapping and key not in guessed:
                self.error(path, f"missing required key {show(key)}")

    def check_keys(
        self,
        mapping: dict[str, Any],
        path: DocPath,
        allowed: tuple[str, ...],
        required: tuple[str, ...],
    ) -> None:
        self.missing_keys(mapping, path, required, self.unknown_keys(mapping, path, allowed))

    def check_name(
        self, value: Any, path: DocPath, what: str, at_key: bool = False, reserved: bool = True
    ) -> bool:
        problem = name_problem(value, what, reserved)
        if problem:
            (self.key_error if at_key else self.error)(path, problem)
        return problem is None

    # -- the document

    def run(self) -> Spec:
        data = self.doc.data
        if not isinstance(data, dict):
            self.error(
                (),
                "the spec must be a mapping with the keys spec, name, sample_rate_hz, "
                f"inputs, windows and features; got {describe(data)}",
            )
            self.problems.raise_if_any()
        self.check_keys(data, (), TOP_KEYS, TOP_REQUIRED)
        self.signals_complete = "inputs" in data
        self.windows_complete = "windows" in data
        if "spec" in data:
            self.check_version(data["spec"])
        if "name" in data and self.check_name(data["name"], ("name",), "a name for the spec"):
            pascal = pascal_case(data["name"])
            if pascal in KOTLIN_SHADOWED:
                self.error(
                    ("name",),
                    f"{show(data['name'])} would name the Android class "
                    f"{pascal}, which hides Kotlin's {pascal}; choose another name",
                )
        if "sample_rate_hz" in data:
            self.check_rate(data["sample_rate_hz"])
        if "inputs" in data:
            self.check_inputs(data["inputs"])
        if data.get("signals") is not None:
            self.check_signals(data["signals"])
        if "windows" in data:
            self.check_windows(data["windows"])
        if "features" in data:
            self.check_features(data["features"])
            self.check_unused_windows()
        model = self.check_model(data["model"]) if "model" in data else None
        decision = self.check_decision(data["decision"], model) if "decision" in data else None
        if model is not None and decision is None:
            decision = DecisionDef(loc=model.loc)
        sensors = None
        if "sensors" in data:
            sensors = check_sensors(self, data["sensors"])
        self.problems.raise_if_any()
        hashed = {k: v for k, v in data.items() if k not in UNHASHED}
        return Spec(
            name=data["name"],
            sample_rate_hz=float(data["sample_rate_hz"]),
            inputs=tuple(s.name for s in self.inputs),
            signals=tuple(self.inputs) + tuple(self.derived.values()),
            windows=tuple(self.windows.values()),
            features=tuple(self.features),
            spec_hash=spec_hash(hashed),
            source=self.doc.file,
            model=model,
            decision=decision,
            features_hash=spec_hash({k: v for k, v in hashed.items() if k not in MODEL_BLOCKS}),
            sensors=sensors,
        )

    # -- model and decision blocks

    def check_model(self, value: Any) -> ModelDef | None:
        path = ("model",)
        if not isinstance(value, dict):
            self.error(path, f"expected a mapping like {{path: model}}, got {describe(value)}")
            return None
        self.check_keys(value, path, MODEL_KEYS, MODEL_KEYS)
        if "path" not in value:
            return None
        where, text = path + ("path",), value["path"]
        if not isinstance(text, str):
            self.error(
                where,
                f"expected the model directory (a path relative to the spec), got {describe(text)}",
            )
            return None
        if not text.strip():
            self.error(where, "the model directory cannot be empty")
            return None
        if os.path.isabs(text) or text.startswith("~"):
            self.error(
                where,
                f"{show(text)} is not relative; write the model directory "
                "relative to the spec so the repository can move",
            )
            return None
        base = os.path.dirname(self.doc.file) if self.doc.file != "<spec>" else ""
        return ModelDef(text, os.path.normpath(os.path.join(base, text)), self.doc.loc(where))

    def check_decision(self, value: Any, model: ModelDef | None) -> DecisionDef | None:
        path = ("decision",)
        if not isinstance(value, dict):
            self.error(
                path,
                "expected a mapping like {threshold: 0.8, consecutive: 3, "
                f"refractory: 1s}}, got {describe(value)}",
            )
            return None
        if "model" not in self.doc.data:
            self.key_error(
                path,
                "a decision needs a model; add a model: block "
                "(e.g. model: {path: model}) or remove decision:",
            )
        self.check_keys(value, path, DECISION_KEYS, ())
        before = len(self.problems)
        fields: dict[str, Any] = {}
        locs = tuple((key, self.doc.loc(path + (key,))) for key in value if key in DECISION_KEYS)
        if "threshold" in value:
            t, where = value["threshold"], path + ("threshold",)
            # Its range depends on the model's objective (a probability for binary:logistic,
            # any value for a regression): checked with the model (codegen/trees/decision.py).
            if isinstance(t, bool) or not isinstance(t, (int, float)):
                self.error(
                    where,
                    f"expected a number (a probability between 0 and 1 for a "
                    f"classifier), got {describe(t)}",
                )
            elif not math.isfinite(t):
                self.error(where, f"the threshold must be a finite number, got {t}")
            else:
                fields["threshold"] = float(t)
        if "consecutive" in value:
            n, where = value["consecutive"], path + ("consecutive",)
            if isinstance(n, bool) or not isinstance(n, int):
                self.error(
                    where,
                    f"expected a whole number of positive vectors in a row "
                    f"(1 or more), got {describe(n)}",
                )
            elif not 1 <= n <= MAX_CONSECUTIVE:
                self.error(
                    where,
                    f"consecutive must be between 1 and {MAX_CONSECUTIVE}, got {number_text(n)}",
                )
            else:
                fields["consecutive"] = n
        if "refractory" in value:
            count = self.duration(value["refractory"], path + ("refractory",), minimum=0)
            if count is not None:
                fields["refractory"] = count
        if "class" in value:
            c, where = value["class"], path + ("class",)
            if isinstance(c, bool) or not isinstance(c, int) or c < 0:
                self.error(
                    where,
                    f"expected the index of the positive class (0 or more), got {describe(c)}",
                )
            else:
                fields["positive_class"] = c
        if len(self.problems) != before or model is None:
            return None
        return DecisionDef(**fields, loc=self.doc.loc(path), locs=locs)

    def duration(self, value: Any, path: DocPath, minimum: int) -> int | None:
        """Samples (a whole number) or an exact duration ('1s', '250ms') at the sample rate."""
        match = DURATION.fullmatch(value) if isinstance(value, str) else None
        if match:
            if self.rate is None:
                return None  # the sample rate is wrong and already reported
            number, unit = match.groups()
            exact = Fraction(number) * self.rate / (1000 if unit == "ms" else 1)
            if exact.denominator != 1:
                self.error(
                    path,
                    f"{value} at {number_text(self.rate)} Hz is "
                    f"{number_text(exact)} samples, not a whole number",
                )
                return None
            count = exact.numerator
        elif isinstance(value, int) and not isinstance(value, bool):
            count = value
        else:
            self.error(path, f"{SAMPLES_WANTED}, got {describe(value)}")
            return None
        if count < minimum:
            self.error(path, f"must be at least {minimum} samples, got {number_text(count)}")
            return None
        if count > MAX_WINDOW * 16:
            self.error(
                path, f"{number_text(count)} samples is too long; the limit is {MAX_WINDOW * 16}"
            )
            return None
        return count

    def check_version(self, value: Any) -> None:
        if not isinstance(value, str):
            self.error(("spec",), f"expected {show(SPEC_VERSION)}, got {describe(value)}")
        elif value != SPEC_VERSION:
            self.error(
                ("spec",),
                f"unsupported spec version {show(value)}; this featgen reads {show(SPEC_VERSION)}",
            )

    def check_rate(self, value: Any) -> None:
        path = ("sample_rate_hz",)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(path, f"expected a number of samples per second, got {describe(value)}")
        elif isinstance(value, float) and not math.isfinite(value):
            self.error(path, f"expected a finite number, got {value}")
        elif value <= 0:
            self.error(path, f"must be greater than 0, got {number_text(value)}")
        elif value > MAX_RATE_HZ:
            self.error(path, f"must be at most {MAX_RATE_HZ} Hz, got {number_text(value)}")
        else:
            self.rate = Fraction(repr(float(value)))

    # -- inputs and signals

    def check_inputs(self, value: Any) -> None:
        path = ("inputs",)
        if not isinstance(value, list):
            self.error(path, f"expected a list of input names, got {describe(value)}")
            self.signals_complete = False
            return
        if not value:
            self.error(path, "needs at least one input")
            self.signals_complete = False
        for i, name in enumerate(value):
            item = path + (i,)
            valid = self.check_name(name, item, "an input name")
            if not isinstance(name, str):
                continue
            if name in self.known_signals:
                self.error(
                    item,
                    f"duplicate input {show(name)} "
                    f"(first listed on line {self.line(self.known_signals[name])})",
                )
                continue
            self.known_signals[name] = item
            if valid:
                self.inputs.append(SignalDef(name, "input", (), (), self.doc.loc(item)))

    def check_signals(self, value: Any) -> None:
        path = ("signals",)
        if not isinstance(value, dict):
            self.error(
                path, f"expected a mapping of signal name to definition, got {describe(value)}"
            )
            self.signals_complete = False
            return
        parsed: dict[str, tuple[SignalKind, list[tuple[str, DocPath]], dict[str, Any]]] = {}
        for name, entry in value.items():
            item = path + (name,)
            valid = self.check_name(name, item, "a signal name", at_key=True)
            if name in self.known_signals:
                self.key_error(
                    item,
                    f"signal {show(name)} has the same name as an input "
                    f"(line {self.line(self.known_signals[name])})",
                )
                continue
            self.known_signals[name] = item
            definition = self.parse_signal(entry, item)
            if valid and definition:
                parsed[name] = definition
        for _name, (_kind, sources, _) in parsed.items():
            for source, source_path in sources:
                if self.signals_complete and source not in self.known_signals:
                    self.unknown(source_path, "signal", source, self.known_signals)
        self.order_signals(parsed)

    def parse_signal(
        self, entry: Any, path: DocPath
    ) -> tuple[SignalKind, list[tuple[str, DocPath]], dict[str, Any]] | None:
        """(kind, [(source, path)], params) for one signal entry, or None after reporting."""
        if not isinstance(entry, dict):
            self.error(
                path,
                f"expected a mapping like {{diff: gyro_y}} or "
                f"{{ema: acc_x, alpha: 0.2}}, got {describe(entry)}",
            )
            return None
        kinds = [key for key in entry if key in SIGNALS]
        if len(kinds) > 1:
            self.key_error(
                path + (kinds[1],),
                f"a signal has one kind, but both {show(kinds[0])} and {show(kinds[1])} are given",
            )
            return None
        if not kinds:
            guesses = {key: closest(key, SIGNALS) for key in entry}
            for key, guess in guesses.items():
                if guess:
                    self.key_error(
                        path + (key,), f"unknown signal kind {show(key)}{did_you_mean(guess)}"
                    )
            if not any(guesses.values()):
                self.error(path, "missing the signal kind: one of " + ", ".join(sorted(SIGNALS)))
            return None
        kind = SIGNALS[kinds[0]]
        params = self.signal_params(entry, path, kind)
        sources = self.parse_sources(entry[kind.name], path + (kind.name,), kind)
        if params is None or sources is None:
            return None
        return kind, sources, params

    def signal_params(
        self, entry: dict[str, Any], path: DocPath, kind: SignalKind
    ) -> dict[str, Any] | None:
        """Coerce the entry's other keys as the kind's parameters and fill in defaults."""
        owner, declared = kind.name, kind.params
        params: dict[str, Any] = {}
        ok, guessed = True, set()
        for key, value in entry.items():
            if key == kind.name:
                continue
            if key not in declared:
                if declared:
                    guess = closest(key, declared)
                    guessed.add(guess)
                    message = f"{show(owner)} has no parameter {show(key)}{did_you_mean(guess)}"
                else:
                    message = f"{show(owner)} takes no parameters, got {show(key)}"
                self.key_error(path + (key,), message)
                ok = False
                continue
            try:
                params[key] = declared[key].coerce(value)
            except ParamError as exc:
                self.error(path + (key,), str(exc))
                ok = False
                continue
            if not self.rate_ok(declared[key], params[key], path + (key,)):
                ok = False
        for key, param in declared.items():
            if key not in entry:
                if param.required and key not in guessed:
                    self.error(path, f"{show(owner)} needs the parameter {show(key)}")
                    ok = False
                else:
                    params[key] = param.default
        if ok and kind.constants is not None and self.rate is not None:
            ok = self.constants_ok(kind.constants(params, float(self.rate)), entry, path)
        return params if ok else None

    def constants_ok(
        self, problem: tuple[str, str] | None, entry: dict[str, Any], path: DocPath
    ) -> bool:
        """Report a kind's ``constants`` problem (parameter, message) at that parameter (at the
        entry when the parameter was left at its default)."""
        if problem is None:
            return True
        key, message = problem
        self.error(path + (key,) if key in entry else path, message)
        return False

    def rate_ok(self, param: Any, value: Any, path: DocPath) -> bool:
        """A parameter rule that needs the sample rate (e.g. a cutoff below Nyquist); skipped
        when the rate itself is invalid (already reported)."""
        if param.rate_check is None or self.rate is None:
            return True
        problem = param.rate_check(value, float(self.rate))
        if problem:
            self.error(path, problem)
            return False
        return True

    def parse_sources(
        self, value: Any, path: DocPath, kind: SignalKind
    ) -> list[tuple[str, DocPath]] | None:
        if isinstance(value, str):
            items = [(value, path)]
        elif isinstance(value, list):
            items = [(v, path + (i,)) for i, v in enumerate(value)]
        else:
            self.error(path, f"expected a signal name or a list of them, got {describe(value)}")
            return None
        ok = True
        for source, source_path in items:
            if not isinstance(source, str):
                self.error(source_path, f"expected a signal name, got {describe(source)}")
                ok = False
        lo, hi = kind.min_sources, kind.max_sources
        if not lo <= len(items) <= hi:
            wanted = f"{lo}" if lo == hi else f"{lo} to {hi}"
            self.error(
                path,
                f"{show(kind.name)} reads {wanted} source"
                f"{'' if wanted == '1' else 's'}, got {len(items)}",
            )
            ok = False
        if ok and kind.distinct and len({source for source, _ in items}) < len(items):
            twice = next(a for i, (a, _) in enumerate(items) if a in [b for b, _ in items[:i]])
            self.error(
                path,
                f"{show(kind.name)} needs different signals, but {show(twice)} is "
                "given twice (its ratio to itself is always 1 or the fallback)",
            )
            ok = False
        return items if ok else None

    def order_signals(self, parsed: dict[str, Any]) -> None:
        """Topological order (sources before readers), ties in document order; report cycles."""
        position = {name: i for i, name in enumerate(parsed)}
        deps = {name: {s for s, _ in parsed[name][1] if s in parsed} for name in parsed}
        readers: dict[str, list[str]] = {name: [] for name in parsed}
        for name, sources in deps.items():
            for source in sources:
                readers[source].append(name)
        waiting = {name: len(sources) for name, sources in deps.items()}
        ready = [(position[name], name) for name, count in waiting.items() if count == 0]
        heapq.heapify(ready)
        while ready:
            _, name = heapq.heappop(ready)
            kind, sources, params = parsed[name]
            path = ("signals", name)
            self.derived[name] = SignalDef(
                name,
                kind.name,
                tuple(s for s, _ in sources),
                tuple(sorted(params.items())),
                self.doc.key_loc(path),
            )
            for reader in readers[name]:
                waiting[reader] -= 1
                if waiting[reader] == 0:
                    heapq.heappush(ready, (position[reader], reader))
        stuck = [name for name in parsed if name not in self.derived]
        self.report_cycles(stuck, parsed)

    def report_cycles(self, stuck: list[str], parsed: dict[str, Any]) -> None:
        """Each cycle once, starting at its first signal; signals that merely read a cycle are
        left alone (they are fine once the cycle is broken)."""
        position = {name: i for i, name in enumerate(parsed)}
        remaining = set(stuck)
        done: set[str] = set()
        for start in stuck:
            walk: dict[str, None] = {}  # ordered set
            name = start
            while name not in done and name not in walk:
                walk[name] = None
                name = next(s for s, _ in parsed[name][1] if s in remaining)
            done.update(walk)
            if name in walk:
                cycle = list(walk)
                cycle = cycle[cycle.index(name) :]
                first = min(cycle, key=position.__getitem__)
                cycle = cycle[cycle.index(first) :] + cycle[: cycle.index(first)]
                self.key_error(
                    ("signals", first), "signals form a cycle: " + " -> ".join(cycle + [first])
                )

    # -- windows

    def check_windows(self, value: Any) -> None:
        path = ("windows",)
        if not isinstance(value, dict):
            self.error(
                path,
                f"expected a mapping of window name to {{length: ..., hop: ...}}, "
                f"got {describe(value)}",
            )
            self.windows_complete = False
            return
        if not value:
            self.error(path, "needs at least one window")
            self.windows_complete = False
        for name, entry in value.items():
            item = path + (name,)
            # Window names only reach code inside longer identifiers (eval_long, phase_long,
            # _window_long), and the shipped example names its windows short and long.
            valid = self.check_name(name, item, "a window name", at_key=True, reserved=False)
            self.known_windows.add(name)
            if not isinstance(entry, dict):
                self.error(item, f"expected {{length: ..., hop: ...}}, got {describe(entry)}")
                continue
            self.check_keys(entry, item, WINDOW_KEYS, WINDOW_KEYS)
            length = self.samples(entry, item, "length")
            hop = self.samples(entry, item, "hop")
            if valid and length is not None and hop is not None:
                self.windows[name] = WindowDef(name, length, hop, self.doc.key_loc(item))

    def samples(self, entry: dict[str, Any], path: DocPath, key: str) -> int | None:
        """A length or hop in samples: an int, or '<number>s' / '<number>ms' converted exactly."""
        if key not in entry:
            return None
        value, path = entry[key], path + (key,)
        duration = DURATION.fullmatch(value) if isinstance(value, str) else None
        if duration:
            if self.rate is None:
                return None  # the sample rate is wrong and already reported
            number, unit = duration.groups()
            exact = Fraction(number) * self.rate / (1000 if unit == "ms" else 1)
            spoken = f"{value} at {number_text(self.rate)} Hz is {number_text(exact)} samples"
            if exact.denominator != 1:
                self.error(path, f"{spoken}, not a whole number")
                return None
            count = exact.numerator
            if count < 1:
                self.error(path, f"{spoken}; the {key} must be at least 1 sample")
                return None
        elif isinstance(value, int) and not isinstance(value, bool):
            count = value
            if count < 1:
                self.error(path, f"the {key} must be at least 1 sample, got {number_text(count)}")
                return None
        else:
            self.error(path, f"{SAMPLES_WANTED}, got {describe(value)}")
            return None
        if key == "hop" and count > MAX_WINDOW:
            self.error(
                path,
                f"a hop of {number_text(count)} samples is too long; the limit is {MAX_WINDOW}",
            )
            return None
        if key == "length" and count > MAX_WINDOW:
            self.error(
                path,
                f"a window of {number_text(count)} samples is too long for a phone; "
                f"the limit is {MAX_WINDOW}",
            )
            return None
        return count

    def check_unused_windows(self) -> None:
        """An unused window would still delay the first vector (it counts towards the longest
        window), which is surprising and invisible in the output: refuse it."""
        used = {f.window for f in self.features}
        if not self.features or self.problems.items:
            return
        for name in self.windows:
            if name not in used:
                self.key_error(
                    ("windows", name),
                    f"window {show(name)} is not used by any "
                    "feature; remove it (it would still delay the first vector)",
                )
        if len(self.outputs) > MAX_FEATURES:
            self.error(
                ("features",),
                f"the spec expands to {len(self.outputs)} feature columns; "
                f"the limit is {MAX_FEATURES}",
            )

    # -- features

    def check_features(self, value: Any) -> None:
        path = ("features",)
        if not isinstance(value, list):
            self.error(path, f"expected a list of features, got {describe(value)}")
            return
        if not value:
            self.error(path, "needs at least one feature")
        for i, entry in enumerate(value):
            if isinstance(entry, dict) and RATIO in entry:
                self.check_ratio(entry, path + (i,), i)
            else:
                before = len(self.problems)
                self.check_feature(entry, path + (i,), i)
                # its columns are unknown now: do not report them again as a ratio's operands
                self.features_complete &= len(self.problems) == before
        self.report_forward_operands()

    # -- ratios of two columns

    def check_ratio(self, entry: dict[str, Any], path: DocPath, index: int) -> None:
        """``{ratio: [num, den], label: name, fallback: 0.0}``: one column ``label__window``
        = num / den (featurespec/vocabulary/features.py, RATIO_DOC). The operands are columns declared above
        this entry, over one window; so a ratio can read another ratio but never itself or a
        later column, and ratios cannot form a cycle."""
        before = len(self.problems)
        self.check_keys(entry, path, RATIO_KEYS, (RATIO, "label"))
        label = entry.get("label")
        named = "label" in entry and self.check_name(label, path + ("label",), "a label")
        if named and isinstance(label, str):
            self.ratio_labels.setdefault(label, index)
        fallback = 0.0
        if "fallback" in entry:
            try:
                fallback = FALLBACK.coerce(entry["fallback"])
            except ParamError as exc:
                self.error(path + ("fallback",), str(exc))
        where, value = path + (RATIO,), entry[RATIO]
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, str) for v in value)
        ):
            self.error(
                where,
                "expected [numerator, denominator]: two feature column names "
                "declared above, e.g. [bp_twist__gyro_y__long, "
                f"energy__gyro_y__long]; got {describe(value)}",
            )
            return
        operands = []
        for i, column in enumerate(value):
            item = where + (i,)
            if named and isinstance(label, str) and column in self.ratio_columns(label):
                self.error(item, f"a ratio cannot read its own column {show(column)}")
            elif column in self.outputs:
                operands.append(self.column_of(column))
            elif any(column in self.ratio_columns(other) for other in self.ratio_labels):
                pass  # a ratio reported broken above: not reported again
            else:
                self.forward_operands.append((column, item, index))
        if len(operands) < 2 or len(self.problems) != before:
            return
        (num, num_def), (den, den_def) = operands
        if value[0] == value[1]:
            self.error(
                where,
                f"the numerator and the denominator are the same column "
                f"{show(value[0])}; its ratio to itself is always 1 or the fallback",
            )
            return
        if num_def.window != den_def.window:
            self.error(
                where,
                f"a ratio reads two columns of one window, but {show(value[0])} is "
                f"over {show(num_def.window)} and {show(value[1])} over "
                f"{show(den_def.window)}",
            )
            return
        output = f"{label}__{num_def.window}"
        if output in self.outputs:
            first = self.outputs[output]
            self.error(
                path + ("label",),
                f"feature {show(output)} is already computed by "
                f"features[{first}] on line "
                f"{self.line(('features', first))}; choose another label",
            )
            return
        self.outputs[output] = index
        signals = tuple(dict.fromkeys(num_def.signals + den_def.signals))
        params = (("den", value[1]), ("fallback", fallback), ("num", value[0]))
        self.features.append(
            FeatureDef(RATIO, signals, num_def.window, params, (output,), self.doc.key_loc(where))
        )

    def ratio_columns(self, label: str) -> set[str]:
        """The names the ratio labelled ``label`` could have (its window is its operands')."""
        return {f"{label}__{window}" for window in self.known_windows}

    def column_of(self, column: str) -> tuple[str, FeatureDef]:
        return column, next(f for f in self.features if column in f.outputs)

    def report_forward_operands(self) -> None:
        """Operands that were not a column above their ratio: declared below (the rule that
        keeps ratios free of cycles), or unknown."""
        for column, item, index in self.forward_operands:
            later = self.outputs.get(
                column,
                next(
                    (
                        i
                        for other, i in self.ratio_labels.items()
                        if i > index and column in self.ratio_columns(other)
                    ),
                    None,
                ),
            )
            if later is not None:
                self.error(
                    item,
                    f"{show(column)} is declared below, in features[{later}] on "
                    f"line {self.line(('features', later))}; a ratio reads only "
                    "columns declared above it (so ratios cannot form a cycle)",
                )
            elif self.features_complete:
                self.unknown(item, "feature column", column, self.outputs)

    def name_list(
        self,
        entry: dict[str, Any],
        path: DocPath,
        key: str,
        what: str,
        known: Collection[str] | None,
        noun: str,
    ) -> list[tuple[str, DocPath]] | None:
        """``compute``/``of``/``over``: one name or a list, each known, none repeated.
        ``known=None``: the declarations were unusable (already reported), so do not judge."""
        if key not in entry:
            return None
        value, path = entry[key], path + (key,)
        if isinstance(value, list):
            items = [(v, path + (i,)) for i, v in enumerate(value)]
            if not items:
                self.error(path, f"needs at least one {noun}")
                return None
        elif isinstance(value, str):
            items = [(value, path)]
        else:
            self.error(path, f"expected {what} or a list of them, got {describe(value)}")
            return None
        ok, seen = True, set()
        for name, item in items:
            if not isinstance(name, str):
                self.error(item, f"expected {what}, got {describe(name)}")
                ok = False
            elif known is not None and name not in known:
                self.unknown(item, noun, name, known)
                ok = False
            elif name in seen:
                self.error(item, f"{show(name)} is listed twice in {key}")
                ok = False
            else:
                seen.add(name)
        return items if ok else None

    def check_feature(self, entry: Any, path: DocPath, index: int) -> None:
        if not isinstance(entry, dict):
            self.error(path, f"expected a mapping with compute, of and over, got {describe(entry)}")
            return
        before = len(self.problems)
        kinds = self.name_list(entry, path, "compute", "a feature kind", FEATURES, "feature kind")
        kind_defs = [FEATURES[k] for k, _ in kinds or []]
        # suggest among the keys this entry could take; any parameter if compute is broken
        nearby = [*FEATURE_KEYS, "label", *(p for k in kind_defs for p in k.params)]
        guessed = self.unknown_keys(
            entry, path, (*FEATURE_KEYS, "label", *FEATURE_PARAMS), nearby if kind_defs else None
        )
        self.missing_keys(entry, path, FEATURE_KEYS, guessed)
        signals = self.feature_signals(entry, path, kinds)
        windows = self.name_list(
            entry,
            path,
            "over",
            "a window name",
            self.known_windows if self.windows_complete else None,
            "window",
        )
        label = entry.get("label")
        if "label" in entry and self.check_name(label, path + ("label",), "a label"):
            if kinds and len(kinds) > 1:
                self.error(
                    path + ("label",),
                    f"a label names one feature kind, but compute "
                    f"lists {len(kinds)}; split the entry",
                )
        params = self.feature_params(entry, path, kind_defs, guessed)
        if kinds is None or params is None:
            return
        for window, window_path in windows or []:
            if window in self.windows:
                for kind, _ in kinds:
                    self.check_length(
                        FEATURES[kind], params[kind], self.windows[window], window_path
                    )
        if len(self.problems) == before and signals and windows:
            self.expand(index, path, kinds, signals, windows, params, label)

    def feature_signals(self, entry: dict[str, Any], path: DocPath, kinds: Any) -> list[Any] | None:
        """``of`` as groups [((signal, ...), path)]: one name per group for single-signal kinds
        (``of: acc_x`` or ``of: [acc_x, acc_y]``), a list of n names per group for kinds that
        read n signals (``of: [[acc_x, acc_y], [acc_x, acc_z]]``). Kinds of different arity
        cannot share an entry."""
        known = self.known_signals if self.signals_complete else None
        arities = {FEATURES[k].n_signals for k, _ in kinds or []}
        if len(arities) > 1:
            (one, one_path), (other, _) = next(
                (a, b)
                for a in kinds
                for b in kinds
                if FEATURES[a[0]].n_signals > FEATURES[b[0]].n_signals
            )
            self.error(
                one_path,
                f"{show(one)} reads {FEATURES[one].n_signals} signals but "
                f"{show(other)} reads {FEATURES[other].n_signals}; give them "
                "separate entries",
            )
            return None
        arity = arities.pop() if arities else None
        value = entry.get("of")
        grouped = isinstance(value, list) and any(isinstance(v, list) for v in value)
        if arity == 1 or (arity is None and not grouped):
            names = self.name_list(entry, path, "of", "a signal name", known, "signal")
            return None if names is None else [((name,), where) for name, where in names]
        if "of" not in entry:
            return None
        where = path + ("of",)
        if not isinstance(value, list) or not value or not all(isinstance(v, list) for v in value):
            if arity is not None:
                kind = next(k for k, _ in kinds)
                given = value if isinstance(value, list) else [value]
                if len(given) == arity and all(
                    isinstance(n, str) and SAFE_NAME.fullmatch(n) and len(n) <= MAX_NAME
                    for n in given
                ):
                    hint = f"of: [[{', '.join(map(str, given))}]]"
                else:
                    hint = "of: [[acc_x, acc_y], [acc_x, acc_z]]"
                self.error(
                    where,
                    f"{show(kind)} reads {arity} signals: write each group of "
                    f"{arity} as a list, e.g. {hint}; got {describe(value)}",
                )
            return None
        ok, seen, groups = True, set(), []
        for i, group in enumerate(value):
            group_path = where + (i,)
            if arity is not None and len(group) != arity:
                self.error(
                    group_path, f"expected a group of {arity} signal names, got {len(group)}"
                )
                ok = False
                continue
            names = []
            for j, name in enumerate(group):
                if not isinstance(name, str):
                    self.error(group_path + (j,), f"expected a signal name, got {describe(name)}")
                    ok = False
                elif known is not None and name not in known:
                    self.unknown(group_path + (j,), "signal", name, known)
                    ok = False
                names.append(name)
            if ok and tuple(names) in seen:
                self.error(group_path, f"{list(names)} is listed twice in of")
                ok = False
            seen.add(tuple(names))
            groups.append((tuple(names), group_path))
        return groups if ok and arity is not None else None

    def feature_params(
        self, entry: dict[str, Any], path: DocPath, kinds: list[FeatureKind], guessed: set[str]
    ) -> dict[str, dict[str, Any]] | None:
        """Full parameters per kind (defaults filled); each given key must suit every kind.
        Unknown keys were reported already; ``guessed`` are the names suggested for them."""
        ok = True
        for key in entry:
            if key in FEATURE_KEYS or key == "label":
                continue
            if key not in FEATURE_PARAMS:
                ok = False
                continue
            refusing = [show(k.name) for k in kinds if key not in k.params]
            if refusing:
                verb = "does" if len(refusing) == 1 else "do"
                hint = "; give it its own entry" if len(refusing) < len(kinds) else ""
                self.key_error(
                    path + (key,),
                    f"{_and(refusing)} {verb} not take the parameter {show(key)}{hint}",
                )
                ok = False
        if not ok:
            return None
        given = {k: v for k, v in entry.items() if k in FEATURE_PARAMS}
        params: dict[str, dict[str, Any]] = {kind.name: {} for kind in kinds}
        for key, value in given.items():
            messages: list[str] = []  # kinds share declarations: say each problem once
            for kind in kinds:
                try:
                    params[kind.name][key] = kind.params[key].coerce(value)
                except ParamError as exc:
                    if str(exc) not in messages:
                        messages.append(str(exc))
            for message in messages:
                self.error(path + (key,), message)
                ok = False
            if (
                not messages
                and kinds
                and not self.rate_ok(
                    kinds[0].params[key], params[kinds[0].name][key], path + (key,)
                )
            ):
                ok = False
        for kind in kinds:
            for key, param in kind.params.items():
                if key in given:
                    continue
                if param.required and key not in guessed:
                    self.error(path, f"{show(kind.name)} needs the parameter {show(key)}")
                    ok = False
                else:
                    params[kind.name][key] = param.default
        if ok:
            for kind in kinds:
                if kind.constants is not None and self.rate is not None:
                    ok = (
                        self.constants_ok(
                            kind.constants(params[kind.name], float(self.rate)), entry, path
                        )
                        and ok
                    )
        return params if ok else None

    def check_length(
        self, kind: FeatureKind, params: dict[str, Any], window: WindowDef, path: DocPath
    ) -> None:
        """The window must be long enough for the kind (and for its ddof, where it has one)."""
        has = f"{show(window.name)} has {window.length}"
        if window.length < kind.min_length:
            self.error(
                path, f"{kind.name} needs a window of at least {kind.min_length} samples; {has}"
            )
        elif "ddof" in params and window.length <= params["ddof"]:
            self.error(
                path,
                f"{kind.name} with ddof {params['ddof']} needs a window of at least "
                f"{params['ddof'] + 1} samples; {has}",
            )
        elif kind.check is not None and self.rate is not None:
            problem = kind.check(params, window.length, float(self.rate))
            if problem:
                self.error(path, f"{problem}; {has}")

    def expand(
        self,
        index: int,
        path: DocPath,
        kinds: Any,
        signals: Any,
        windows: Any,
        params: Any,
        label: Any,
    ) -> None:
        """Entries in order; within one: each signal, each window, each kind."""
        clashes: list[tuple[str, int]] = []
        for group, _ in signals:
            for window, _ in windows:
                for kind_name, kind_path in kinds:
                    kind = FEATURES[kind_name]
                    full = params[kind_name]
                    stem = label if label is not None else kind_name + kind.name_tag(full)
                    signal = "__".join(group)  # two-signal kinds: stem__x__y__window
                    outputs = tuple(
                        f"{stem}{suffix}__{signal}__{window}"
                        for suffix in kind.output_suffixes(full)
                    )
                    for output in outputs:
                        if output in self.outputs:
                            clashes.append((output, self.outputs[output]))
                        self.outputs.setdefault(output, index)
                    self.features.append(
                        FeatureDef(
                            kind_name,
                            group,
                            window,
                            tuple(sorted(full.items())),
                            outputs,
                            self.doc.loc(kind_path),
                        )
                    )
        if clashes:
            output, first = clashes[0]
            more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
            self.error(
                path,
                f"feature {show(output)}{more} is already computed by "
                f"features[{first}] on line {self.line(('features', first))}; "
                f"remove the repeat or set label: to name it differently",
            )
