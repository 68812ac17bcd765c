"""Blocks of whole chunks, and running them in parallel: the unit of work of ingest, export
and store_from_array (bounded memory, one write per chunk, resumable by block)."""

from __future__ import annotations

import itertools
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed

from seisfuse.progress import Progress

BLOCK_BYTES = 64 << 20  # decoded bytes per block: the memory bound per worker


def chunk_blocks(shape: tuple[int, ...], chunks: tuple[int, ...], trace_bytes: int,
                 block_bytes: int = BLOCK_BYTES) -> list[tuple[slice, ...]]:
    """Blocks of whole chunks over the spatial dims: one chunk row along the first, as many
    chunks along the second as fit block_bytes (a sorted file reads each row of a block in one run)."""
    if len(shape) == 1:
        per = max(chunks[0], (block_bytes // max(trace_bytes, 1)) // chunks[0] * chunks[0])
        return [(slice(i, min(i + per, shape[0])),) for i in range(0, shape[0], per)]
    ci, cx = chunks[0], chunks[1]
    k = max(1, block_bytes // max(ci * cx * trace_bytes, 1))
    return [(slice(i, min(i + ci, shape[0])), slice(j, min(j + k * cx, shape[1])))
            for i in range(0, shape[0], ci) for j in range(0, shape[1], k * cx)]


def chunks_in(block: tuple[slice, ...], chunks: tuple[int, ...]) -> itertools.product:
    """The chunk indices (over the block's dims) that a block of whole chunks covers."""
    return itertools.product(*(range(sl.start // c, -(-sl.stop // c)) for sl, c in zip(block, chunks)))


def blocks_covering(blocks: list[tuple[slice, ...]], chunk_set: set[tuple[int, ...]],
                    chunks: tuple[int, ...]) -> list[int]:
    """The numbers of the blocks that hold any chunk of chunk_set (spatial indices)."""
    return [b for b, block in enumerate(blocks) if any(c in chunk_set for c in chunks_in(block, chunks))]


def run_parallel(work, items, workers: int, bar: Progress) -> None:
    """Run work(item) on a thread pool; on the first failure, cancel what has not started and
    re-raise, so a failed run stops promptly (finished blocks stay recorded for a resume)."""
    pool = ThreadPoolExecutor(workers)
    futures = [pool.submit(work, item) for item in items]
    try:
        for future in as_completed(futures):
            future.result()
            bar.update()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


# The work of the forked processes of run_forked: set by the parent just before it forks them,
# so every child has it (closures and open arrays need no pickling).
_FORKED: dict = {}


def _forked_start() -> None:
    """In each forked worker: Ctrl-C is the parent's to handle (it reaches the whole process
    group), and Blosc compresses in this process alone (its global thread pool, if the parent
    started one, is not usable after a fork)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from numcodecs import blosc  # the codec ChunkIO uses; imported by the parent already

    blosc.use_threads = False


def _forked_call(item):
    return _FORKED["work"](item)


def run_forked(work, items, workers: int, bar: Progress) -> None:
    """Run work(item) on `workers` forked processes (each its own interpreter: numpy code that
    hands the GIL back and forth on cache-sized pieces runs there truly in parallel, which
    threads do not: BENCHMARKS.md). On the first failure, what has not started is cancelled and
    the error re-raised in the parent (finished blocks stay recorded for a resume). With one
    worker, or where processes cannot be forked, the work runs on threads."""
    items = list(items)
    if workers <= 1 or len(items) <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        run_parallel(work, items, max(1, workers), bar)
        return
    _FORKED["work"] = work
    pool = ProcessPoolExecutor(min(workers, len(items)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_forked_start)
    try:
        futures = [pool.submit(_forked_call, item) for item in items]
        for future in as_completed(futures):
            future.result()
            bar.update()
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        _FORKED.clear()
    pool.shutdown(wait=True)
