"""The parts every command declaration is made of: `param` (a pydantic Field with seisfuse's
CLI and scope information), the value types commands share, and the `Command` base model.
seisfuse.config.commands declares the commands themselves with them."""

from __future__ import annotations

import os
import re
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

ALL = ("cli", "step", "api")
NOT_STEP = ("cli", "api")  # `overwrite` of a step comes from the pipeline's own `overwrite`


def param(default: Any = ..., help: str = "", *, flags: tuple[str, ...] | None = None, positional: bool = False,
          scopes: tuple[str, ...] = ALL, path: bool = False, alias: str | None = None, metavar: str | None = None,
          **bounds) -> Any:
    """A declared parameter: pydantic's Field with seisfuse's CLI and scope information."""
    extra = {"flags": flags, "positional": positional, "scopes": scopes, "path": path, "metavar": metavar}
    if alias:
        bounds["validation_alias"] = AliasChoices(alias, *bounds.pop("names", ()))
    return Field(default, description=help, json_schema_extra=extra, **bounds)


def _split(value):
    """'64,64,64' (the CLI) -> ['64', '64', '64']; lists and tuples (YAML, Python) pass."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return value


def _device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
        raise ValueError("expected auto, cpu, cuda, cuda:N or mps")
    return value


def _fspath(value):
    return os.fspath(value) if isinstance(value, os.PathLike) else value


FilePath = Annotated[str, BeforeValidator(_fspath)]  # a str or any os.PathLike, kept as str
Ints = Annotated[tuple[Annotated[int, Field(ge=1)], ...], BeforeValidator(_split)]
Shape = Annotated[tuple[Annotated[int, Field(ge=8)], Annotated[int, Field(ge=8)], Annotated[int, Field(ge=8)]],
                  BeforeValidator(_split)]
def _nonempty(region: tuple[int, int]) -> tuple[int, int]:
    if region[0] >= region[1]:
        raise ValueError(f"{region[0]},{region[1]} is empty: START must be below STOP")
    return region


Region = Annotated[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]], BeforeValidator(_split),
                   AfterValidator(_nonempty)]
def _header_byte(value: int) -> int:
    if not 1 <= value <= 237:
        raise ValueError(f"byte {value} is outside the 240-byte trace header: a 4-byte key starts at 1..237 "
                         "(1-based, as in the SEG-Y standard: inline 189, crossline 193)")
    return value


HeaderByte = Annotated[int, AfterValidator(_header_byte)]
TracePositions = Annotated[tuple[Annotated[int, Field(ge=0)], ...], BeforeValidator(_split)]
Workers = Annotated[int, Field(ge=1)] | None
Probability = Annotated[float, Field(ge=0, le=1)]
Device = Annotated[str, BeforeValidator(lambda v: _device(str(v)))]
Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")]


class Command(BaseModel):
    """Base of the command models: unknown keys are errors; values are frozen once checked."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, arbitrary_types_allowed=True)

    @classmethod
    def fields_in(cls, scope: str) -> dict[str, Any]:
        return {name: f for name, f in cls.model_fields.items() if scope in f.json_schema_extra["scopes"]}

    def kwargs(self, scope: str = "api", without: tuple[str, ...] = ()) -> dict[str, Any]:
        """The values of the fields of one scope, by field name (the API's keywords), less `without`."""
        return {name: getattr(self, name) for name in self.fields_in(scope) if name not in without}


def _listed(value):
    return [value] if isinstance(value, str | os.PathLike) else value


Stores = Annotated[list[FilePath], BeforeValidator(_listed), Field(min_length=1)]


class PanelSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    store: str
    label: str = "fault"
    predictions: list[str] = []


def _panel(value):
    """(store, label, [predictions]) from Python -> the mapping a pipeline file writes."""
    if isinstance(value, tuple | list) and len(value) == 3:
        return {"store": value[0], "label": value[1], "predictions": list(value[2])}
    return value


Pair = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*-[A-Za-z][A-Za-z0-9_]*$")]  # variant-variant
Pairs = Annotated[tuple[Pair, ...], BeforeValidator(_split)]


Names = Annotated[tuple[Name, ...], BeforeValidator(_split)]


def _suffix(*allowed: str):
    def check(value: str) -> str:
        if not value.lower().endswith(allowed):
            raise ValueError(f"{value!r} must end in {', '.join(allowed)}")
        return value
    return AfterValidator(check)
