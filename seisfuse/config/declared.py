"""The command declarations exported as plain data, for a command line that starts at once.

`seisfuse --help` and an argument error must not wait for pydantic (a fifth of a second) and
the models it builds: the command line is built from `seisfuse/config/_declared.py`, a
Python literal generated here from the one declaration of every command
(seisfuse.config.commands), and its values get a quick first check from that data
(seisfuse.config.quick). A test fails when the file no longer matches the declarations;
`python -m seisfuse.config.declared` writes it again.
"""

from __future__ import annotations

import pprint
import types
import typing
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from seisfuse.config.commands import COMMANDS, Command
from seisfuse.config.values import CHECKS

OUT = Path(__file__).with_name("_declared.py")
_BOUNDS = {annotated_types.Ge: "ge", annotated_types.Gt: "gt", annotated_types.Le: "le", annotated_types.Lt: "lt"}


def _check_name(validator) -> tuple[str, str, list] | None:
    """(mode, name, args) of a Before/AfterValidator made from a seisfuse.config.values check."""
    mode = type(validator).__name__.removesuffix("Validator").lower()
    if mode not in ("before", "after"):
        return None
    name, args = getattr(validator.func, "seisfuse_check", (None, []))
    if name is None and validator.func in CHECKS.values():
        name = validator.func.__name__
    return (mode, name or "custom", args)


def _kind(annotation, metadata=()) -> dict:
    """What the quick check needs of a type: its kind, bounds, pattern, choices, items, checks."""
    meta = list(metadata)
    while get_origin(annotation) is typing.Annotated:
        annotation, *more = get_args(annotation)
        meta = more + meta
    out: dict[str, Any] = {}
    for m in meta:
        if isinstance(m, FieldInfo):
            meta += m.metadata
            continue
        for cls, key in _BOUNDS.items():
            if isinstance(m, cls):
                out.setdefault("bounds", {})[key] = getattr(m, key)
        if getattr(m, "pattern", None):
            out["pattern"] = m.pattern
        if getattr(m, "min_length", None):
            out["min_length"] = m.min_length
        check = _check_name(m) if hasattr(m, "func") else None
        if check:
            out.setdefault("checks", []).append(list(check))
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        inner = _kind(rest[0]) if len(rest) == 1 else {"kind": "any"}
        return {**inner, **out, "optional": type(None) in args}
    if origin is Literal:
        return {**out, "kind": "literal", "choices": list(args)}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {**out, "kind": "tuple", "items": _kind(args[0])}
        return {**out, "kind": "tuple", "items": [_kind(a) for a in args]}
    if origin is list:
        return {**out, "kind": "list", "items": _kind(args[0])}
    if annotation in (int, float, str, bool):
        return {**out, "kind": annotation.__name__}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {**out, "kind": "model"}
    return {**out, "kind": "any"}


def _field(name: str, field: FieldInfo) -> dict:
    extra = field.json_schema_extra
    aliases = [str(a) for a in getattr(field.validation_alias, "choices", ())]
    flags = list(extra["flags"] or (f"--{name.replace('_', '-')}",))
    return {
        "name": name, "help": field.description, "scopes": list(extra["scopes"]), "positional": extra["positional"],
        "flags": flags, "metavar": extra["metavar"], "path": extra["path"], "aliases": aliases,
        # a flag spelling another of the field's names passes its value under that name (--format -> format)
        "dest": next((a for a in aliases if f"--{a.replace('_', '-')}" in flags), name),
        "required": field.is_required(),
        "default": None if field.is_required() else _plain(field.default),
        "check": _kind(field.annotation, field.metadata),
    }


def _plain(value):
    """A default as plain data (tuples as lists; anything else that is not plain as its repr)."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return repr(value)


def _checks_across(model: type[Command]) -> dict:
    """The model's checks across fields: field validators (they add their errors beside the
    fields' own) and model validators ("after": they run only once every field is valid)."""
    decorators = model.__pydantic_decorators__
    modes = {d.info.mode for d in decorators.model_validators.values()}
    return {"fields": bool(decorators.field_validators), "model": bool(modes),
            "model_first": bool(modes - {"after"})}


def declarations() -> dict:
    return {name: {"help": model.__doc__.strip().splitlines()[0], "across": _checks_across(model),
                   "fields": [_field(n, f) for n, f in model.model_fields.items()]}
            for name, model in COMMANDS.items()}


def render() -> str:
    return ('"""Generated by `python -m seisfuse.config.declared` from seisfuse.config.commands: do not edit."""\n\n'
            f"COMMANDS = {pprint.pformat(declarations(), width=110, sort_dicts=False)}\n")


if __name__ == "__main__":
    OUT.write_text(render())
    print(f"wrote {OUT}")
