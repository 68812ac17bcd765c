"""A real kill (SIGKILL) in the middle of an ingest, then the same command again."""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import zarr

import seisfuse
from seisfuse.errors import StoreError
from seisfuse.io import schema
from tests.helpers import coordinate_values, grid_traces, write_segy

pytestmark = [pytest.mark.integration, pytest.mark.slow]


# The ingest CLI in a child process that SIGKILLs itself in the middle of its KILL_AT-th chunk
# write, with half of that chunk on disk (ingest writes the chunks of an incomplete store in
# place): a real kill at a known point, on any machine speed (no cleanup handler runs).
KILLED_CLI = """
import os, signal, sys
from seisfuse import cli
from seisfuse.io import chunkio
real, calls = chunkio.ChunkIO._put, []
def put(self, path, raw, *tail):
    calls.append(1)
    if len(calls) == int(os.environ["KILL_AT"]):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(raw)[: len(raw) // 2])  # a torn chunk
        os.kill(os.getpid(), signal.SIGKILL)
    real(self, path, raw, *tail)
chunkio.ChunkIO._put = put
sys.exit(cli.main(sys.argv[1:]))
"""


def test_sigkill_mid_ingest_then_rerun_gives_the_uninterrupted_store(tmp_path):
    il, xl = grid_traces(96, 80)
    src = write_segy(tmp_path / "s.sgy", il, xl, coordinate_values(il, xl, 64), fmt=1)
    args = ["ingest", str(src), str(tmp_path / "k.zarr"), "--chunks", "4,4,64", "--workers", "1", "-q"]
    reference = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "ref.zarr", chunks=(4, 4, 64), workers=1))
    killed = subprocess.run([sys.executable, "-c", KILLED_CLI, *args], env={**os.environ, "KILL_AT": "300"})
    assert killed.returncode == -signal.SIGKILL
    assert not schema.is_complete(tmp_path / "k.zarr")
    done = zarr.open_group(str(tmp_path / "k.zarr"), mode="r")["_ingest_amplitude_done"][:]
    assert 0 < done.sum() < done.size  # some blocks recorded, not all
    assert seisfuse.verify(tmp_path / "k.zarr", deep=True)["damaged"]  # the chunk cut by the kill
    with pytest.raises(StoreError, match="incomplete"):
        seisfuse.open_store(tmp_path / "k.zarr")
    assert subprocess.run([sys.executable, "-m", "seisfuse.cli", *args]).returncode == 0
    resumed = seisfuse.open_store(tmp_path / "k.zarr")
    for name in ("amplitude", "trace_headers", "trace_mask", "trace_index"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)
    assert resumed.attrs["statistics"] == reference.attrs["statistics"]
    assert not seisfuse.verify(tmp_path / "k.zarr", deep=True)["damaged"]
