"""A real kill (SIGKILL) in the middle of an ingest, then the same command again."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import zarr

import seisfuse
from seisfuse.io import schema
from tests.helpers import coordinate_values, grid_traces, write_segy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_sigkill_mid_ingest_then_rerun_gives_the_uninterrupted_store(tmp_path):
    il, xl = grid_traces(96, 80)
    src = write_segy(tmp_path / "s.sgy", il, xl, coordinate_values(il, xl, 64), fmt=1)
    command = [sys.executable, "-m", "seisfuse.cli", "ingest", str(src), str(tmp_path / "k.zarr"),
               "--chunks", "4,4,64", "--workers", "1", "-q"]
    reference = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "ref.zarr", chunks=(4, 4, 64), workers=1))
    proc = subprocess.Popen(command)
    done_name = "_ingest_amplitude_done"
    deadline = time.time() + 60
    killed = False
    while time.time() < deadline and proc.poll() is None:
        try:
            done = zarr.open_group(str(tmp_path / "k.zarr"), mode="r")[done_name][:]
        except (KeyError, FileNotFoundError, ValueError, OSError):
            time.sleep(0.01)
            continue
        if 0 < done.sum() < done.size // 2:
            os.kill(proc.pid, signal.SIGKILL)
            killed = True
            break
        time.sleep(0.005)
    proc.wait()
    if not killed:
        pytest.skip("the ingest finished before it could be killed on this machine")
    assert not schema.is_complete(tmp_path / "k.zarr")
    assert subprocess.run(command).returncode == 0
    resumed = seisfuse.open_store(tmp_path / "k.zarr")
    for name in ("amplitude", "trace_headers", "trace_mask", "trace_index"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
    assert resumed.attrs["statistics"] == reference.attrs["statistics"]
