"""A command's values checked from the exported declarations, without pydantic.

The command line must start at once (`seisfuse --help`, an argument error: under a quarter of
a second) and pydantic alone takes most of that to import. The declarations are exported as
data (seisfuse.config._declared, generated from seisfuse.config.commands) and this module
checks a call against them: the types, bounds, choices, patterns and the checks of
seisfuse.config.values, with pydantic's own wording. Where it cannot tell (an unusual value
such as '5.0' for an integer, a check across fields), it says so and pydantic decides; tests
check that wherever it does decide, it decides as pydantic does, with the same message.
"""

from __future__ import annotations

import re
from typing import Any

from seisfuse.config._declared import COMMANDS
from seisfuse.config.values import CHECKS
from seisfuse.errors import ConfigError


class Undecided(Exception):
    """The quick check cannot tell: the declaration's pydantic model decides."""


_INT = re.compile(r"-?(0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_ ]*")  # no digit, no sign, no dot: no number in any spelling pydantic reads
_NUMBER_WORDS = {"inf", "infinity", "nan", "true", "false", "yes", "no", "on", "off"}
_BOUND_WORDS = {"ge": "greater than or equal to", "gt": "greater than", "le": "less than or equal to",
                "lt": "less than"}


class Problem(Exception):
    def __init__(self, message: str, loc: tuple = (), value=None):
        super().__init__(message)
        self.message, self.loc, self.value = message, loc, value


def _number(value, kind: str):
    if kind == "int":
        if type(value) is int:
            return value
        if isinstance(value, str) and _INT.fullmatch(value):
            return int(value)
        if isinstance(value, str) and _WORD.fullmatch(value):
            raise Problem("Input should be a valid integer, unable to parse string as an integer")
        raise Undecided
    if type(value) in (int, float) and value == value and abs(value) != float("inf"):
        return float(value)
    if isinstance(value, str) and _FLOAT.fullmatch(value):
        return float(value)
    if isinstance(value, str) and _WORD.fullmatch(value) and value.strip().lower() not in _NUMBER_WORDS:
        raise Problem("Input should be a valid number, unable to parse string as a number")
    raise Undecided


def _bounds(value, bounds: dict):
    for key, limit in bounds.items():
        ok = {"ge": value >= limit, "gt": value > limit, "le": value <= limit, "lt": value < limit}[key]
        if not ok:
            raise Problem(f"Input should be {_BOUND_WORDS[key]} {limit}")
    return value


def _choices(choices: list) -> str:
    shown = [repr(c) for c in choices]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _run_checks(value, checks: list, mode: str):
    for when, name, args in checks:
        if when != mode:
            continue
        if name not in CHECKS:
            raise Undecided
        try:
            value = CHECKS[name](value, *args)
        except ValueError as exc:
            raise Problem(str(exc)) from None
    return value


def value_of(value, check: dict, loc: tuple = ()):
    """The checked value of one field (or item), or Problem (with its loc) / Undecided."""
    if value is None and check.get("optional"):
        return None
    given = value
    kind = check["kind"]
    try:
        value = _run_checks(value, check.get("checks", []), "before")
        if kind in ("int", "float"):
            value = _bounds(_number(value, kind), check.get("bounds", {}))
        elif kind == "str":
            if not isinstance(value, str):
                raise Undecided
            if check.get("pattern") and not re.search(check["pattern"], value):
                raise Problem(f"String should match pattern '{check['pattern']}'")
        elif kind == "bool":
            if type(value) is not bool:
                raise Undecided
        elif kind == "literal":
            if not isinstance(value, str) or not all(isinstance(c, str) for c in check["choices"]):
                raise Undecided
            if value not in check["choices"]:
                raise Problem(f"Input should be {_choices(check['choices'])}")
        elif kind in ("tuple", "list"):
            value = _items(value, check, loc)
        elif kind != "any" or check.get("checks"):
            raise Undecided  # a nested model, or a typed value beyond the quick check
        return _run_checks(value, check.get("checks", []), "after")
    except Group:
        raise
    except Problem as p:  # pydantic names the item, or the field with its value as given
        raise Problem(p.message, p.loc or loc, p.value if p.loc else given) from None


def _items(value, check: dict, loc: tuple):
    if not isinstance(value, list | tuple):
        raise Undecided
    items = check["items"]
    fixed = isinstance(items, list)
    if (fixed and len(value) != len(items)) or len(value) < check.get("min_length", 0):
        raise Undecided  # pydantic's length messages: its own
    problems, out = [], []
    for k, item in enumerate(value):
        try:
            out.append(value_of(item, items[k] if fixed else items, (*loc, k)))
        except Problem as p:
            problems.append(p)
    if problems:
        raise Group(problems)
    return tuple(out) if check["kind"] == "tuple" else out


class Group(Problem):
    def __init__(self, problems: list[Problem]):
        super().__init__(problems[0].message, problems[0].loc, problems[0].value)
        self.problems = problems


class Checked:
    """A call's checked values, read as a declared command's model is: attributes, and kwargs()."""

    def __init__(self, name: str, values: dict, scopes: dict):
        self._name, self._values, self._scopes = name, values, scopes
        for key, value in values.items():
            setattr(self, key, value)

    def fields_in(self, scope: str) -> list[str]:
        return [n for n, s in self._scopes.items() if scope in s]

    def kwargs(self, scope: str = "api", without: tuple[str, ...] = ()) -> dict[str, Any]:
        return {n: self._values[n] for n in self.fields_in(scope) if n not in without}


def _given(field: dict, values: dict):
    names = [n for n in dict.fromkeys((*field["aliases"], field["name"])) if n in values]
    if len(names) > 1:
        raise Undecided
    return (names[0], values[names[0]]) if names else (None, None)


def check(name: str, values: dict, where: str | None = None) -> Checked:
    """The values of a call of command `name`, checked: a ConfigError naming every bad value (as
    pydantic would word it), a Checked, or Undecided (pydantic must decide)."""
    declaration = COMMANDS[name]
    across = declaration["across"]
    if across["model_first"]:
        raise Undecided
    problems, out = [], {}
    for field in declaration["fields"]:
        key, value = _given(field, values)
        if key is None:
            if field["required"]:
                raise Undecided
            default = field["default"]
            if isinstance(default, str) and default.startswith(("<", "ByteSize(")):
                raise Undecided
            out[field["name"]] = tuple(default) if field["check"]["kind"] == "tuple" and default is not None \
                else default
            continue
        try:
            out[field["name"]] = value_of(value, field["check"], (key,))
        except Group as g:
            problems += g.problems
        except Problem as p:
            problems.append(p)
    if problems and across["fields"]:
        raise Undecided  # field validators would add their own errors beside these
    if problems:
        raise ConfigError("; ".join(_describe(p) for p in problems), where=where or name,
                          fix=f"see `seisfuse {name} --help`")
    if across["fields"] or across["model"]:
        raise Undecided  # every field fine on its own: their combination is the model's to check
    return Checked(name, out, {f["name"]: f["scopes"] for f in declaration["fields"]})


def _describe(p: Problem) -> str:
    """As seisfuse.config.base.describe words a pydantic error."""
    key = ".".join(str(part) for part in p.loc)
    shown = "" if isinstance(p.value, dict) else f" (got {p.value!r})"
    return f"{key}: {p.message}{shown}" if key else p.message


def checked(name: str, values: dict, where: str | None = None):
    """A call of command `name` checked: quickly from the exported declarations where they decide,
    else by its pydantic model (seisfuse.config.commands.check), loaded only then."""
    try:
        return check(name, values, where)
    except Undecided:
        # loaded only here: pydantic takes most of a quick command's start
        from seisfuse.config import commands

        return commands.check(commands.COMMANDS[name], values, where)
