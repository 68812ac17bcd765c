"""The parts every command declaration is made of: `param` (a pydantic Field with seisfuse's
CLI and scope information), the value types commands share, and the `Command` base model.
seisfuse.config.commands declares the commands themselves with them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field

from seisfuse.config import values

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


def checked(check, *args) -> Any:
    """A plain check of seisfuse.config.values as a pydantic validator, with its name and
    arguments attached for the declarations' export (seisfuse.config.declared)."""
    function = (lambda value: check(value, *args)) if args else check
    function.seisfuse_check = (check.__name__, list(args))
    return function


FilePath = Annotated[str, BeforeValidator(checked(values.fspath))]  # a str or any os.PathLike, kept as str
Ints = Annotated[tuple[Annotated[int, Field(ge=1)], ...], BeforeValidator(checked(values.split))]
Shape = Annotated[tuple[Annotated[int, Field(ge=8)], Annotated[int, Field(ge=8)], Annotated[int, Field(ge=8)]],
                  BeforeValidator(checked(values.split))]
Region = Annotated[tuple[Annotated[int, Field(ge=0)], Annotated[int, Field(ge=0)]],
                   BeforeValidator(checked(values.split)), AfterValidator(checked(values.nonempty))]
HeaderByte = Annotated[int, AfterValidator(checked(values.header_byte))]
TracePositions = Annotated[tuple[Annotated[int, Field(ge=0)], ...], BeforeValidator(checked(values.split))]
Workers = Annotated[int, Field(ge=1)] | None
Probability = Annotated[float, Field(ge=0, le=1)]
Device = Annotated[str, BeforeValidator(checked(values.device))]
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


Stores = Annotated[list[FilePath], BeforeValidator(checked(values.listed)), Field(min_length=1)]


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
Pairs = Annotated[tuple[Pair, ...], BeforeValidator(checked(values.split))]


Names = Annotated[tuple[Name, ...], BeforeValidator(checked(values.split))]


def _suffix(*allowed: str):
    return AfterValidator(checked(values.suffix, *allowed))
