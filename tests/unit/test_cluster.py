"""Scheduler strings -> Dask clusters (the SLURM job script is checked without submitting it)."""

import pytest

from seisfuse import cluster
from seisfuse.errors import SeisfuseError


@pytest.mark.parametrize(("gpus", "expected"), [(1, "#SBATCH --gres=gpu:1"), (0, None)])
def test_slurm_job_script_asks_for_gpus_only_when_told(gpus, expected):
    pytest.importorskip("dask_jobqueue")
    slurm = cluster.slurm_cluster(0, gpus_per_worker=gpus, queue="gpu", walltime="01:00:00")
    try:
        script = slurm.job_script()
    finally:
        slurm.close()
    assert "#SBATCH -p gpu" in script and "dask" in script
    assert ("--gres" in script) == (expected is not None)
    if expected:
        assert expected in script


@pytest.mark.parametrize("bad", ["slurm:", "slurm:0", "slurm:many", "locale"])
def test_a_bad_scheduler_is_a_clear_error(bad):
    with pytest.raises(SeisfuseError, match="slurm:N|scheduler address"):
        cluster.client(bad)


@pytest.mark.parametrize("good", [None, "local", "slurm:4", "tcp://node12:8786", "node12:8786"])
def test_good_schedulers_pass_the_check(good):
    cluster.check(good)
