"""Damaged real files (property-based, hypothesis): refused in one line or round-tripped byte
for byte, within a memory limit and a time limit (tests/unit/io/damage_property.py)."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.io.damage_property import CORPUS

ROOT = Path(__file__).resolve().parents[3]
MEMORY_LIMIT = 2 << 30  # address space of the child: numpy, zarr and their threads fit in well under this


@pytest.mark.slow
def test_damaged_real_files_are_refused_in_one_line_or_round_trip_exactly():
    if not CORPUS.is_dir():
        pytest.fail(f"the shared SEG-Y corpus is not at {CORPUS}: this test needs ../shared/data/segy")
    done = subprocess.run([sys.executable, "-m", "tests.unit.io.damage_property", str(MEMORY_LIMIT), "250"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "property held" in done.stdout, done.stdout[-4000:] + done.stderr[-4000:]
