"""Shared fixtures: the real SEG-Y corpus, tiny SEG-Y files whose values encode their
coordinates, and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from seisfuse import cli  # noqa: E402

SEGY_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "segy"


@pytest.fixture(scope="session")
def segy_dir() -> Path:
    if not SEGY_DIR.is_dir():
        pytest.skip(f"the shared SEG-Y corpus is not at {SEGY_DIR}")
    return SEGY_DIR.resolve()


@pytest.fixture
def run_cli(capsys):
    """Run `seisfuse ARGS`; returns (exit code, stdout, stderr)."""

    def run(*args):
        code = cli.main([str(a) for a in args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def pytest_collection_modifyitems(config, items):
    """Tests marked gpu are skipped where CUDA is not available."""
    if not any("gpu" in item.keywords for item in items):
        return
    import torch  # only when a gpu test was collected: torch is slow to import

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
