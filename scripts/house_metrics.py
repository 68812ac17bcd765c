"""The house, measured (issue 28): the longest functions, the modules over 400 lines, and where
each declared command default is written again as a keyword default in seisfuse's code.

    python scripts/house_metrics.py [ROOT]     # ROOT: a checkout (default: this one)

A default written in a signature as well as in its declaration (seisfuse.config.commands) is a
second place it can drift; the API functions' signatures are checked against the declarations
by tests/unit/test_commands.py, so they are listed apart."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path


def functions(root: Path):
    for path in sorted((root / "seisfuse").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                yield path.relative_to(root), node


def declared_defaults(root: Path) -> dict[str, set]:
    """{parameter name: its declared default values} from the command declarations."""
    tree = ast.parse((root / "seisfuse/config/commands.py").read_text())
    out = defaultdict(set)
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef)):
        for stmt in cls.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                    and isinstance(stmt.value, ast.Call)):
                continue
            first = stmt.value.args[0] if stmt.value.args else None
            if isinstance(first, ast.Constant) and first.value not in (None, False, True):
                out[stmt.target.id].add(first.value)
    return out


def written_again(root: Path, declared: dict[str, set]) -> dict[str, list[str]]:
    """Where a declared default is written again: keyword defaults of functions and class
    attributes of the same name and value, outside the declarations."""
    places = defaultdict(list)
    for path in sorted((root / "seisfuse").rglob("*.py")):
        if path.name == "commands.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            pairs = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                positional = a.posonlyargs + a.args
                pairs += list(zip(positional[len(positional) - len(a.defaults):], a.defaults))
                pairs += [(k, d) for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
                pairs = [(arg.arg, d, node.lineno) for arg, d in pairs]
            elif isinstance(node, ast.ClassDef):
                pairs = [(s.target.id, s.value, s.lineno) for s in node.body if isinstance(s, ast.AnnAssign)
                         and isinstance(s.target, ast.Name) and s.value is not None]
            for name, default, line in pairs:
                if name in declared and isinstance(default, ast.Constant) and default.value in declared[name]:
                    places[name].append(f"{path.relative_to(root)}:{line}")
    return places


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1])
    longest = sorted(((n.end_lineno - n.lineno + 1, f"{p}:{n.lineno} {n.name}") for p, n in functions(root)),
                     reverse=True)
    print("longest functions (lines):")
    for lines, where in longest[:8]:
        print(f"  {lines:4d}  {where}")
    big = [(len(p.read_text().splitlines()), p.relative_to(root)) for p in (root / "seisfuse").rglob("*.py")
           if not p.name.startswith("_declared")]  # generated from the declarations
    print("modules over 400 lines:", ", ".join(f"{p} ({n})" for n, p in sorted(big, reverse=True) if n > 400)
          or "none")
    again = written_again(root, declared_defaults(root))
    in_api = {k: [w for w in v if w.startswith("seisfuse/api")] for k, v in again.items()}
    elsewhere = {k: [w for w in v if not w.startswith("seisfuse/api")] for k, v in again.items()}
    print(f"declared defaults written again in an API signature (checked by a test): "
          f"{sum(len(v) for v in in_api.values())}")
    print(f"declared defaults written again elsewhere: {sum(len(v) for v in elsewhere.values())}")
    for name, where in sorted(elsewhere.items()):
        if where:
            print(f"  {name}: {', '.join(where)}")


if __name__ == "__main__":
    main()
