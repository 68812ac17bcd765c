"""Every `seisfuse` command line that the README and the documentation pages show parses and
passes its declaration, each optional part included once; the README's command list names every
command; and the training guide's first example runs as written in a fresh folder."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest

from seisfuse import cli
from seisfuse.config.commands import COMMANDS, check

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def documented_lines(pages=PAGES) -> list[str]:
    lines, fence = [], None
    for line in (text for page in pages for text in page.read_text().splitlines()):
        if line.startswith("```"):
            fence = None if fence is not None else line[3:].strip()
        elif fence in ("", "bash", "sh") and line.startswith("seisfuse "):
            lines.append(line.split("  #")[0].strip())
    return lines


def variants(line: str) -> list[str]:
    """The line without its [optional] parts, then with each part in turn (first alternative
    of a | b | c, placeholders N and K as numbers)."""
    parts = re.findall(r"\[([^\]]*)\]", line)
    bare = re.sub(r"\s*\[[^\]]*\]", "", line)
    out = [bare]
    for part in parts:
        first = part.split(" | ")[0].strip()
        first = re.sub(r"(--\S+) (\S+?)\|\S+", r"\1 \2", first)  # --format source|ibm|ieee -> source
        out.append(f"{bare} {first}")
    return [re.sub(r"(--\S+) [NK]\b", r"\1 2", v).replace("slurm:N", "slurm:2") for v in out]


LINES = [v for line in documented_lines() for v in variants(line)]


def test_the_readme_documents_every_command():
    listed = [v for line in documented_lines([ROOT / "README.md"]) for v in variants(line)]
    assert {shlex.split(v)[1] for v in listed} >= set(COMMANDS) - {"report"}


@pytest.mark.parametrize("line", LINES)
def test_documented_command_lines_are_valid(line):
    argv = shlex.split(line)[1:]
    ns = cli.build_parser().parse_args(argv)  # an unknown option exits here (pytest shows SystemExit)
    model = COMMANDS[ns.command]
    check(model, {k: v for k, v in vars(ns).items() if k in model.model_fields})


@pytest.mark.slow
def test_the_training_section_runs_in_a_fresh_folder(tmp_path, monkeypatch, run_cli):
    section = (ROOT / "docs" / "guide" / "training.md").read_text().split("```", 2)[1]
    commands = [line.split("  #")[0].strip() for line in section.splitlines() if line.startswith("seisfuse ")]
    assert commands[0].startswith("seisfuse synth data/faults.zarr")
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    monkeypatch.chdir(tmp_path)
    shorter = ["--set", "train.steps=2", "--set", "train.val_every=2", "--set", "train.batch_size=2"]
    for command in commands:
        argv = shlex.split(command)[1:] + (shorter if argv_is_train(command) else [])
        code, _, err = run_cli(*argv)
        assert code == 0, f"{command}: {err}"
    assert (tmp_path / "runs" / "faults2d" / "best.pt").is_file()


def argv_is_train(command: str) -> bool:
    return command.split()[1] == "train"
