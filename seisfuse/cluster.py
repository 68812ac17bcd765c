"""Dask clusters for the distributed steps (ingest, prediction): one place that turns a
`scheduler` string into a client.

  "local"      a LocalCluster of worker processes on this machine (one per core by default)
  "slurm:N"    N SLURM jobs through dask-jobqueue (the [hpc] extra)
  an address   an existing scheduler, e.g. tcp://node12:8786
"""

from __future__ import annotations

import importlib.util
import logging
import os
from contextlib import contextmanager

from seisfuse.errors import SeisfuseError


def slurm_cluster(workers: int, gpus_per_worker: int = 1, **options):
    """A dask-jobqueue SLURM cluster, one GPU per worker by default; queue, account, walltime,
    memory and cores come from `options` or the user's ~/.config/dask/jobqueue.yaml."""
    from dask_jobqueue import SLURMCluster  # optional [hpc] extra: imported only when asked for

    extra = [f"--gres=gpu:{gpus_per_worker}"] if gpus_per_worker else []
    cluster = SLURMCluster(processes=1, cores=options.pop("cores", 4), memory=options.pop("memory", "32GB"),
                           job_extra_directives=extra + options.pop("job_extra_directives", []),
                           scheduler_options=options.pop("scheduler_options", {"dashboard_address": ":0"}), **options)
    cluster.scale(workers)
    return cluster


def check(scheduler: str | None) -> None:
    """Refuse a scheduler string that cannot work, before any output is written."""
    if scheduler is None:
        return
    if scheduler.startswith("slurm:"):
        count = scheduler.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise SeisfuseError(f"bad scheduler {scheduler!r}", fix="give slurm:N with N >= 1 jobs, e.g. slurm:8")
    elif scheduler != "local" and "://" not in scheduler and ":" not in scheduler:
        raise SeisfuseError(f"unknown scheduler {scheduler!r}",
                            fix="use 'local', 'slurm:N' or a scheduler address such as tcp://node12:8786")
    if importlib.util.find_spec("distributed") is None:
        raise SeisfuseError("Dask (distributed) is not installed", fix="pip install 'seisfuse[hpc]'")


def client(scheduler: str, *, gpus_per_worker: int = 1, local_workers: int | None = None):
    """A dask.distributed Client for a scheduler string (see the module docstring)."""
    check(scheduler)
    # Dask's own INFO lines (scheduler, nannies, workers) would bury seisfuse's progress; the
    # variable reaches worker processes too. Set DASK_LOGGING__DISTRIBUTED=info to see them.
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from dask.distributed import Client, LocalCluster  # optional [hpc] extra: imported only when asked for

    logging.getLogger("distributed").setLevel(os.environ["DASK_LOGGING__DISTRIBUTED"].upper())

    if scheduler == "local":
        n = local_workers or os.cpu_count() or 1
        return Client(LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"))
    if scheduler.startswith("slurm:"):
        return Client(slurm_cluster(int(scheduler.split(":", 1)[1]), gpus_per_worker=gpus_per_worker))
    return Client(scheduler)


@contextmanager
def connect(scheduler: str, **options):
    """client(scheduler, **options) for a `with` block; a cluster started here is shut down after."""
    dask_client = client(scheduler, **options)
    try:
        yield dask_client
    finally:
        started = dask_client.cluster if scheduler == "local" or scheduler.startswith("slurm:") else None
        dask_client.close()
        if started is not None:
            started.close()
