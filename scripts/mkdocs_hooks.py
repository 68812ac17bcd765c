"""mkdocs hooks: the reference pages generated from the code at every build, so that they
cannot go stale (one source: the declarations and the error classes).

- reference/cli.md: `seisfuse COMMAND --help` of every command, from the CLI's own parser;
- reference/config.md: every key of a training config and of a pipeline, with its type,
  default, bounds and the comment that documents it in seisfuse/config/*.py;
- troubleshooting.md: every SeisfuseError class with its docstring (what causes it);
- index.md, results.md and benchmarks.md: README.md, RESULTS.md and BENCHMARKS.md of the
  repository, as they are (their links made the site's).
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import typing
from contextlib import redirect_stdout
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]


def _cli() -> str:
    from seisfuse.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    out = ["# CLI reference\n", "Generated at every docs build from the parser that `seisfuse` itself runs: "
           "each command's `--help`, word for word. The same declarations check the Python API's "
           "keywords and the pipeline steps (seisfuse/config/commands.py).\n"]
    for name, sub in commands.choices.items():
        text = io.StringIO()
        with redirect_stdout(text):
            sub.print_help()
        out.append(f"## seisfuse {name}\n\n```text\n{text.getvalue().rstrip()}\n```\n")
    return "\n".join(out)


def _comments(cls) -> dict[str, str]:
    """The comment lines above each field of a pydantic class, and a comment at its end."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    found = {}
    for node in ast.parse(source).body[0].body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above, k = [], node.lineno - 2
            while k >= 0 and lines[k].strip().startswith("#"):
                above.insert(0, lines[k].strip().lstrip("# "))
                k -= 1
            tail = lines[node.end_lineno - 1].split("  # ", 1)
            found[node.target.id] = " ".join(above + ([tail[1].strip()] if len(tail) > 1 else []))
    return found


def _type(annotation) -> str:
    text = re.sub(r"typing\.|pydantic\.types\.|annotated_types\.|<class '([^']*)'>", r"\1", str(annotation))
    text = re.sub(r"Annotated\[([^,\[\]]+(?:\[[^\]]*\])?), [^\]]*\]", r"\1", text)
    return text.replace("NoneType", "None").replace("|", "\\|")


def _bounds(info) -> str:
    parts = []
    for meta in info.metadata:
        for key, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "length >="),
                          ("max_length", "length <=")):
            value = getattr(meta, key, None)
            if value is not None:
                parts.append(f"{sign} {value}")
    return ", ".join(parts)


def _model_rows(cls, prefix: str, seen: list) -> list[str]:
    from pydantic import BaseModel

    rows, notes = [], _comments(cls)
    nested = []
    for name, info in cls.model_fields.items():
        annotation = info.annotation
        inner = [a for a in (typing.get_args(annotation) or (annotation,))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        key = f"{prefix}{name}"
        if inner:
            nested.append((inner[0], f"{key}."))
            rows.append(f"| `{key}` | section | | | see below |")
            continue
        default = "required" if info.is_required() else f"`{info.default!r}`" if info.default_factory is None \
            else f"`{info.default_factory()!r}`"
        rows.append(f"| `{key}` | {_type(annotation)} | {default} | {_bounds(info)} | "
                    f"{notes.get(name, '').replace('|', '/')} |")
    own = inspect.cleandoc(cls.__dict__.get("__doc__") or "")  # not pydantic's BaseModel docstring
    out = [f"\n### `{prefix.rstrip('.') or cls.__name__}`\n", own.split("\n\n")[0] + "\n",
           "| key | type | default | bounds | what it is |", "|---|---|---|---|---|", *rows]
    seen.append(cls)
    for inner, sub in nested:
        out += _model_rows(inner, sub, seen)
    return out


def _config() -> str:
    from seisfuse.config.pipeline import CompareStep, ExperimentStep, Pipeline
    from seisfuse.config.train import TrainConfig

    out = ["# Configuration reference\n",
           "Generated at every docs build from the pydantic declarations in seisfuse/config/ (type, "
           "default and bounds from the field, the description from its comment): a key added "
           "there appears here. Unknown keys are refused (each section is strict).\n",
           "## Training config (`seisfuse train -c CONFIG.yaml`, `--set a.b=v`)\n"]
    out += _model_rows(TrainConfig, "", [])
    out += ["\n## Pipeline (`seisfuse run PIPELINE.yaml`)\n",
            "Each step is `- COMMAND: {options}` with the options of that command (the "
            "[CLI reference](cli.md)), or one of the two steps below.\n"]
    for cls, prefix in ((Pipeline, ""), (ExperimentStep, "experiment."), (CompareStep, "compare.")):
        out += _model_rows(cls, prefix, [])
    return "\n".join(out) + "\n"


def _troubleshooting() -> str:
    from seisfuse import errors

    out = ["# Troubleshooting\n",
           "Every failure seisfuse expects is a `SeisfuseError`: one line on the command line, "
           "exit code 2, `what went wrong`, `where`, and `Fix: what to do`. In Python, catch the class "
           "(`seisfuse.errors`). A traceback is a bug: please report it with the command that made it.\n",
           "| exit code | meaning |", "|---|---|", "| 0 | done |", "| 1 | experiment runs failed "
           "(`seisfuse run`: listed, the rest of the pipeline done) |", "| 2 | a SeisfuseError (below) |",
           "| 130 / 143 | interrupted by Ctrl-C / SIGTERM: outputs cleaned up or resumable, said how |\n"]
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, errors.SeisfuseError) and c.__module__ == errors.__name__]
    for cls in sorted(classes, key=lambda c: (c is not errors.SeisfuseError, c.__name__)):
        out.append(f"## `{cls.__name__}`\n\n{inspect.getdoc(cls)}\n")
    out.append(TYPICAL)
    return "\n".join(out)


TYPICAL = """## Typical causes and fixes

- *the inline key of trace N is far outside the others*: a damaged trace header. Ingest with
  `--skip-traces N` (the trace is kept and exported back as it was).
- *not enough free space*, *read-only file system*, *quota*: a `DiskError`; nothing partial is
  left marked complete. Free space (the message says how much is needed) and run the same
  command again: it resumes.
- *another writer holds the lock*: a `LockError`; wait for it, or, if that process is gone
  (the message shows its host and pid and the age of its heartbeat), pass `--force-unlock`.
- *the store is incomplete / damaged*: `seisfuse verify STORE` names the chunks; running the
  same ingest again repairs it.
- *label holds values outside 0..N*: set `data.classes` and `data.task: multiclass`.
- *an MDIO store without file headers*: re-import it with
  `MDIO__IMPORT__SAVE_SEGY_FILE_HEADER=true` (and `MDIO__IMPORT__RAW_HEADERS=true` for
  byte-exact trace headers).
"""


def _repository_page(name: str) -> str:
    text = (ROOT / name).read_text()
    return text.replace("](docs/images/", "](images/")


def _front_page() -> str:
    """README.md as the site's home page, its links made the site's."""
    text = (ROOT / "README.md").read_text().replace("](docs/", "](")
    return text.replace("](RESULTS.md)", "](results.md)").replace("](BENCHMARKS.md)", "](benchmarks.md)")


def on_files(files, config):
    pages = {"index.md": _front_page, "reference/cli.md": _cli, "reference/config.md": _config,
             "troubleshooting.md": _troubleshooting,
             "results.md": lambda: _repository_page("RESULTS.md"),
             "benchmarks.md": lambda: _repository_page("BENCHMARKS.md")}
    for uri, make in pages.items():
        files.append(File.generated(config, uri, content=make()))
    return files
