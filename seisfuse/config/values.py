"""The value checks of the command declarations, as plain functions (no pydantic): the
declarations (seisfuse.config.params) wrap them in pydantic validators, and the command
line's quick check (seisfuse.config.quick) calls the same functions by name, so that a bad
value gets the same message without loading pydantic."""

from __future__ import annotations

import os
import re


def split(value):
    """'64,64,64' (the CLI) -> ['64', '64', '64']; lists and tuples (YAML, Python) pass."""
    if isinstance(value, str):
        return [v.strip() for v in value.split(",")]
    return value


def fspath(value):
    """A str or any os.PathLike, kept as str."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def listed(value):
    """One path -> a list of one."""
    return [value] if isinstance(value, str | os.PathLike) else value


def device(value) -> str:
    value = str(value)
    if not re.fullmatch(r"auto|cpu|mps|cuda(:\d+)?", value):
        raise ValueError("expected auto, cpu, cuda, cuda:N or mps")
    return value


def nonempty(region: tuple[int, int]) -> tuple[int, int]:
    if region[0] >= region[1]:
        raise ValueError(f"{region[0]},{region[1]} is empty: START must be below STOP")
    return region


def header_byte(value: int) -> int:
    if not 1 <= value <= 237:
        raise ValueError(f"byte {value} is outside the 240-byte trace header: a 4-byte key starts at 1..237 "
                         "(1-based, as in the SEG-Y standard: inline 189, crossline 193)")
    return value


def suffix(value: str, *allowed: str) -> str:
    if not value.lower().endswith(allowed):
        raise ValueError(f"{value!r} must end in {', '.join(allowed)}")
    return value


def known_keys(settings: dict | None, *allowed: str) -> dict | None:
    unknown = sorted(set(settings or {}) - set(allowed))
    if unknown:
        raise ValueError(f"unknown generator setting(s) {', '.join(unknown)}: choose from {', '.join(allowed)}")
    return settings


def export_format(fmt: str | None, var: str) -> str:
    """Export's sample format when none is given: the source's for the amplitude, IEEE float for
    other variables (a probability cannot be written in the source's integer format)."""
    return fmt or ("source" if var == "amplitude" else "ieee")


# name -> function: the declarations record the names of their checks (seisfuse.config.declared)
CHECKS = {f.__name__: f for f in (split, fspath, listed, device, nonempty, header_byte, suffix, known_keys)}


# how `seisfuse labels import` finds a mask's line (seisfuse.io.sparse.LINE_NAME parses it)
LINE_NAME_RULE = ("a mask per line, named by the line: inline_130.png, inline_130_mask.png, crossline_575.tif, "
                  "il130.npy, xl575.npy (inline|iline|il or crossline|xline|xl, then the line number in the "
                  "survey's numbering; PNG, TIFF or NPY); rows = samples (the first on top), columns = the traces "
                  "along the line; value = class number, 255 = not labelled here")
