"""The SLURM templates are valid bash and their seisfuse command lines parse with today's CLI."""

import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from seisfuse.cli import build_parser

SLURM = Path(__file__).resolve().parents[2] / "pipelines" / "slurm"
TEMPLATES = sorted(SLURM.glob("*.sbatch"))
VALUES = {"WORKERS": "8", "SLURM_ARRAY_TASK_ID": "0"}


def test_there_are_templates_for_every_distributed_step():
    assert {p.stem for p in TEMPLATES} >= {"ingest_dask", "predict_dask", "run_pipeline", "train_torchrun",
                                           "grid_cell"}


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_template_is_valid_bash_and_its_command_parses(template):
    assert subprocess.run(["bash", "-n", str(template)]).returncode == 0
    text = template.read_text()
    assert text.startswith("#!/bin/bash") and "#SBATCH" in text and "set -euo pipefail" in text
    commands = [m.group(1) for m in re.finditer(r"(?:^(?:forward_term )?seisfuse|-m seisfuse\.cli) (.+)$", text, re.M)]
    assert commands, "no seisfuse command in the template"
    for command in commands:
        filled = re.sub(r"\$\{?(\w+)\}?", lambda m: VALUES.get(m.group(1), "x"), command)
        args = [a for a in shlex.split(filled) if a != "$@"]  # "$@": the user's extra --set overrides
        build_parser().parse_args(args)  # SystemExit (a failed test) on an unknown option


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_template_asks_for_warning_time_and_passes_sigterm_on(template):
    text = template.read_text()
    assert re.search(r"^#SBATCH --signal=(B:)?TERM@\d+$", text, re.M), "no --signal: SIGKILL at the time limit"
    if "--signal=B:" in text:  # the batch shell gets it: the seisfuse command must get it from the shell
        assert "source pipelines/slurm/signals.sh" in text and re.search(r"^forward_term seisfuse ", text, re.M)
    else:
        assert "srun " in text


def test_forward_term_passes_sigterm_to_seisfuse_which_exits_143(tmp_path):
    """A real bash running signals.sh's forward_term around a seisfuse process: SIGTERM to the
    shell reaches seisfuse, which stops cleanly (143), and the shell ends with that code."""
    child = ("import sys, time; from seisfuse import interrupts; from seisfuse.errors import Terminated\n"
             "interrupts.install()\n"
             "try:\n    print('ready', flush=True)\n    time.sleep(60)\nexcept Terminated:\n    sys.exit(143)")
    script = tmp_path / "job.sh"
    script.write_text(f"source {SLURM / 'signals.sh'}\nforward_term {sys.executable} -c \"$CHILD\"\n")
    shell = subprocess.Popen(["bash", str(script)], env={**os.environ, "CHILD": child}, stdout=subprocess.PIPE,
                             text=True)
    assert shell.stdout.readline().strip() == "ready"
    shell.send_signal(signal.SIGTERM)
    assert shell.wait(timeout=30) == 143


def test_grid_submission_script_is_valid_bash_and_its_commands_parse():
    script = SLURM / "submit_grid.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    text = script.read_text()
    options = re.findall(r"seisfuse run ['\"]\$PIPELINE['\"]([^|)\"\n]*)", text)
    assert {o.split()[0] for o in options} == {"--list-cells", "--prepare", "--no-retry"}
    for option in options:
        build_parser().parse_args(["run", "p.yaml", *shlex.split(option)])
    assert "grid_cell.sbatch" in text and "--dependency" in text
