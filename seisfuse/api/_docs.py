"""The API's argument documentation, read from the command declarations.

Every function of seisfuse.api is also a command, and its keywords are the command's declared
fields: their help lines are written once, in seisfuse/config/commands.py (exported to
seisfuse.config._declared). `documented(command)` adds them to the function's docstring as
its "Args:" section (before its hand-written "Returns:" and "Raises:"), so that `help()`, the
API reference and `seisfuse COMMAND --help` say the same (tests/unit/test_docstrings.py checks
that every parameter of every public function is documented).
"""

from __future__ import annotations

import inspect

from seisfuse.config._declared import COMMANDS


def _help(command: str, parameter: str) -> str | None:
    for field in COMMANDS[command]["fields"]:
        if parameter in (field["name"], field["dest"], *field["aliases"]):
            default = "" if field["required"] or field["default"] in (None, (), []) else \
                f" (default: {field['default']!r})"
            return field["help"] + default
    return None


def documented(command: str, **extra: str):
    """Add the declared help of each parameter (and `extra` {parameter: text}) as "Args:"."""

    def wrap(function):
        doc = inspect.cleandoc(function.__doc__ or "")
        lines = []
        for name in inspect.signature(function).parameters:
            text = extra.get(name) or _help(command, name)
            if text:
                lines.append(f"    {name}: {text}")
        args = "Args:\n" + "\n".join(lines) + "\n\n"
        at = doc.find("Returns:")
        function.__doc__ = doc[:at] + args + doc[at:] if at >= 0 else f"{doc}\n\n{args}".rstrip() + "\n"
        return function

    return wrap
