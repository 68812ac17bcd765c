"""Batches for the training loop, in step order, from the main process or from DataLoader
workers (each worker makes every n-th batch; the loader hands them back in order). Each
worker of each rank is a partition of the streamed surveys' slabs: it reads only its own."""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from seisfuse.data.slabs import Partition
from seisfuse.data.tiles import training_batch


class BatchStream(IterableDataset):
    def __init__(self, surveys, sampling: dict, seed: int, first: int, last: int, batch: int, offset: int,
                 ranks: tuple[int, int] = (0, 1)):
        self.args = (surveys, sampling, seed)
        self.first, self.last, self.batch, self.offset, self.ranks = first, last, batch, offset, ranks

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        surveys, sampling, seed = self.args
        rank, world = self.ranks
        partition = Partition(rank * workers + worker, world * workers, workers)
        for micro in range(self.first + worker, self.last, workers):
            yield micro, training_batch(surveys, seed, micro, self.batch, offset=self.offset, partition=partition,
                                        **sampling)


def batches(surveys, sampling: dict, seed: int, first: int, last: int, batch: int, offset: int = 0,
            workers: int = 0, ranks: tuple[int, int] = (0, 1)) -> Iterator[tuple[int, tuple]]:
    """(micro-step, (images, labels, valid)) for micro-steps first..last-1 of rank `ranks[0]`
    of `ranks[1]`; `sampling`: training_batch's tile, augmentation and sampling keywords."""
    stream = BatchStream(surveys, sampling, seed, first, last, batch, offset, ranks)
    if workers == 0:
        return iter(stream)
    loader = DataLoader(stream, batch_size=None, num_workers=workers, prefetch_factor=4,
                        collate_fn=lambda item: (item[0], tuple(torch.as_tensor(a) for a in item[1])))
    return ((micro, tuple(a.numpy() for a in arrays)) for micro, arrays in loader)
