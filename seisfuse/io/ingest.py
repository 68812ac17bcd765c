"""SEG-Y -> Zarr ingest as a sequence of named steps (after MDIO's converter):

  scan      file-level headers, byte order, format, sample count, trace count
  index     key fields of every trace -> grid placement (seisfuse.geometry)
  create    the store's arrays and coordinates, or pick up an interrupted ingest
  copy      blocks of whole chunks, read by file position, decoded, written, summarised
  finalize  merged statistics, attributes, and the completion marker, last

Memory is bounded by the block size times the number of workers, whatever the file size.
Each finished block is recorded in the store, so the same command after a kill resumes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import uuid
from pathlib import Path

import numpy as np
import zarr

from seisfuse import cluster, resources, stats
from seisfuse.errors import GeometryError, StoreError
from seisfuse.io import blocks as blocks_mod
from seisfuse.io import integrity, schema, skipped
from seisfuse.io import segy_format as sf
from seisfuse.io.chunkio import ChunkIO
from seisfuse.io.ibm import float32_to_ibm
from seisfuse.io.segy_file import SegyLayout, SegyReader, decode_samples, scan
from seisfuse.io.segy_index import SegyIndex, build_index
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")
BLOCK_BYTES = blocks_mod.BLOCK_BYTES  # decoded bytes per block: the memory bound per worker
SAMPLE_BUDGET = 1 << 20  # values kept, over all blocks, for the robust percentiles (standard error
#                          of a percentile's rank below 0.05 percentage points)


def fingerprint(layout: SegyLayout) -> str:
    """Identifies the source file cheaply: size, file headers, first and last trace."""
    digest = hashlib.sha256(str(layout.file_size).encode())
    for raw in (*layout.text_headers, layout.binary_header):
        digest.update(raw)
    with SegyReader(layout) as reader:
        digest.update(reader.read_range(0, 1).tobytes())
        digest.update(reader.read_range(layout.n_traces - 1, layout.n_traces).tobytes())
    return digest.hexdigest()


def _state_names(var: str) -> tuple[str, str, str, str]:
    """The block ledger, and the per-block statistics, value samples and counts of IBM words
    kept (schema.IBM_WORDS) merged at finalize."""
    return (schema.ledger_name("ingest", var), f"_ingest_{var}_stats", f"_ingest_{var}_sample",
            f"_ingest_{var}_ibm")


def _create_state(group: zarr.Group, var: str, n_blocks: int) -> None:
    done, st, sample, ibm = _state_names(var)
    cap = max(1024, SAMPLE_BUDGET // max(n_blocks, 1))
    schema.create_ledger(group, "ingest", var, n_blocks)
    schema.create_array(group, st, (n_blocks, stats.STATS_FIELDS), (1, stats.STATS_FIELDS), "float64",
                        ("_block", "_stat"), overwrite=True)
    schema.create_array(group, sample, (n_blocks, cap), (1, cap), "float32", ("_block", "_value"),
                        fill_value=np.nan, overwrite=True)
    schema.create_array(group, ibm, (n_blocks,), (1,), "int64", ("_block",), overwrite=True)


def _root_attrs(layout: SegyLayout, index: SegyIndex, manifest: dict) -> dict:
    grid = index.grid
    return schema.root_attributes(
        spatial_dims=grid.dims, text_headers=layout.text_headers, binary_header=layout.binary_header,
        text_encoding=layout.text_encoding, sample_format=layout.sample_format.code,
        byteorder="big" if layout.byteorder == ">" else "little", iline_byte=index.key_bytes[0],
        xline_byte=index.key_bytes[1], sample_interval=layout.sample_interval, sample_unit=index.sample_unit,
        domain=index.domain, domain_source=index.domain_source, n_traces=layout.n_traces, n_live=grid.n_live,
        n_missing=grid.n_missing, n_duplicates_dropped=grid.n_duplicates_dropped, source_file=layout.path,
        source_size=layout.file_size, byteorder_source=layout.byteorder_source, revision=list(layout.revision),
        n_samples_source=layout.n_samples_source, line_steps=grid.steps(), ingest_manifest=manifest,
        n_dead=index.n_dead, dead_examples=index.dead_examples(), duplicate_examples=list(grid.duplicate_examples),
        layout=index.layout, layout_source=index.layout_source, coordinate_bytes=index.coordinate_source,
        header_ranges=index.ranges, skipped_traces=index.skipped)


def _create_store(path: Path, layout: SegyLayout, index: SegyIndex, chunks, manifest, n_blocks) -> zarr.Group:
    dims = index.grid.dims
    group = schema.create_store(
        path, attrs=_root_attrs(layout, index, manifest), shape=(*index.grid.shape, layout.n_samples),
        chunks=(*chunks[:len(dims)], chunks[-1]), dtype=layout.sample_format.store_dtype, dims=dims,
        axes=index.grid.axes, sample_axis=index.sample_axis, sample_unit=index.sample_unit, domain=index.domain,
        coords=index.coords, source_format=layout.sample_format.code, ibm_words=layout.sample_format.code == 1)
    skipped.write(group, layout, index.skipped)
    _create_state(group, schema.AMPLITUDE, n_blocks)
    return group


def _trace_arrays(group: zarr.Group) -> list[str]:
    """What an amplitude ingest writes beside the amplitude: the per-trace arrays, and the IBM
    word record of an IBM source."""
    return [*schema.TRACE_ARRAYS, *([schema.IBM_WORDS] if schema.IBM_WORDS in group else [])]


def _start_repair(group: zarr.Group, var: str, blocks: list, index: SegyIndex) -> bool:
    """A complete variable ingested from this same source, damaged since: mark it incomplete
    and record every block as done except those that cover a missing or corrupt chunk, so that
    the copy step redoes only these (a killed repair resumes like any ingest). False when
    nothing is damaged."""
    names = [var, *(_trace_arrays(group) if var == schema.AMPLITUDE else [])]
    found = integrity.missing(group, names) + integrity.corrupt(group, names)
    if not found:
        return False
    ndim = len(index.grid.dims)
    chunks = group[var].chunks[:ndim]
    bad = {d.chunk[:ndim] for d in found}
    redo = blocks_mod.blocks_covering(blocks, bad, chunks)
    log.warning("%s: %d chunk(s) missing or corrupt (e.g. %s): re-copying %d of %d blocks", schema.where(group),
                len(found), found[0], len(redo), len(blocks))
    group[var].attrs.update({schema.REPAIRING: True, schema.COMPLETE: False})
    if var == schema.AMPLITUDE:
        group.attrs[schema.COMPLETE] = False
        schema.write_coordinates(group, index.grid.dims, index.grid.axes, index.sample_axis, index.sample_unit,
                                 index.domain, index.coords)
    _create_state(group, var, len(blocks))
    done = np.ones(len(blocks), np.uint8)
    done[redo] = 0
    group[schema.ledger_name("ingest", var)][:] = done
    return True


def _open_for_label(path: Path, var: str, layout: SegyLayout, index: SegyIndex, manifest,
                    overwrite: bool, blocks: list) -> tuple[zarr.Group, bool]:
    n_blocks = len(blocks)
    group = schema.open_group(path, mode="r+")
    if (var in group and not overwrite and group[var].attrs.get(schema.COMPLETE)
            and group[var].attrs.get("ingest_manifest") == manifest and _start_repair(group, var, blocks, index)):
        return group, True
    schema.check_new_variable(group, var, overwrite)
    dims = schema.spatial_dims(group)
    amp = group[schema.AMPLITUDE]
    want = (*index.grid.shape, layout.n_samples)
    same_axes = dims == index.grid.dims and all(
        np.array_equal(group[d][:], index.grid.axes[d]) for d in dims)
    if tuple(amp.shape) != want or not same_axes:
        axes = ", ".join(f"{d} {index.grid.axes[d][0]}..{index.grid.axes[d][-1]}" for d in index.grid.dims)
        raise GeometryError(
            f"the label geometry {dict(zip((*index.grid.dims, 'sample'), want))} ({axes}) does not match "
            f"the store's {dict(zip((*dims, 'sample'), amp.shape))}", where=layout.path,
            fix="ingest labels cut from the same survey, with the same --iline-byte/--xline-byte")
    if var in group and group[var].attrs.get("ingest_manifest") == manifest and not overwrite:
        return group, True
    schema.create_variable(group, var, layout.sample_format.store_dtype,
                           attrs={"ingest_manifest": manifest, "source_file": os.path.abspath(layout.path)})
    _create_state(group, var, n_blocks)
    return group, False


def _copy_block(reader: SegyReader, io: dict[str, ChunkIO], var: str, cells: np.ndarray, block, b: int) -> None:
    """One block: its traces read by file position (cells: trace position per cell, -1 = missing),
    decoded, written as whole chunks with their headers, summarised, and recorded as done."""
    layout = reader.layout
    live = cells >= 0
    traces = reader.read_positions(cells[live], reuse=True)
    dtype = layout.sample_format.store_dtype
    candidates = [] if schema.IBM_WORDS in io else None
    decoded = decode_samples(traces["samples"], layout.sample_format,
                             out=reader.buffer("decoded", traces["samples"].shape, dtype), candidates=candidates)
    kept = _keep_ibm_words(io, block, cells.shape, live, traces["samples"], decoded, candidates)
    if live.all():  # the common case: no scatter, no copy
        values = decoded.reshape(*cells.shape, layout.n_samples)
    else:
        values = reader.buffer("values", (*cells.shape, layout.n_samples), dtype)
        values[...] = 0
        values[live] = decoded
    io[var].write(block, values)
    # dead and dummy traces (identification code 2/3) are kept as they are, for export, but
    # marked not live: out of training, metrics and the statistics
    codes = traces["header"][:, 28:30].copy().view(np.dtype(f"{layout.byteorder}i2")).reshape(-1)
    alive = ~np.isin(codes, sf.DEAD_TRACE_CODES)
    if schema.TRACE_HEADERS in io:
        if live.all():
            headers = traces["header"].reshape(*cells.shape, sf.TRACE_HEADER_SIZE)
        else:
            headers = np.zeros((*cells.shape, sf.TRACE_HEADER_SIZE), dtype=np.uint8)
            headers[live] = traces["header"]
        io[schema.TRACE_HEADERS].write(block, headers)
        mask = live.copy()
        mask[live] = alive
        io[schema.TRACE_MASK].write(block, mask)
        io[schema.TRACE_INDEX].write(block, cells)
    done, st, sample, ibm = _state_names(var)
    io[ibm].write((slice(b, b + 1),), np.array([kept], np.int64))
    counted = decoded if alive.all() else decoded[alive]
    io[st].write((slice(b, b + 1),), stats.block_stats(counted).to_array()[None])
    cap = io[sample].shape[1]
    picked = stats.subsample(counted, cap)
    row = np.full((1, cap), np.nan, dtype=np.float32)
    row[0, :picked.size] = picked
    io[sample].write((slice(b, b + 1),), row)
    io[done].write((slice(b, b + 1),), np.ones(1, np.uint8))  # last: the block is finished only now


def _keep_ibm_words(io, block, cells_shape, live, words, decoded, candidates) -> int:
    """Record the source words of the samples whose decoded value re-encodes to another word, so
    that export of the unchanged amplitude is byte-exact. Only the decoder's candidates are
    re-encoded; only chunks that hold such a word are written. Returns how many were kept."""
    if not candidates:  # None (not IBM) or no word that could differ: nothing to do, no copy
        return 0
    index = np.concatenate(candidates)
    ns = decoded.shape[-1]
    # by (trace, sample): the sample field of the trace records is strided, a reshape would copy it whole
    source = words[index // ns, index % ns].astype(np.uint32)  # native order, as the encoder returns
    differ = float32_to_ibm(decoded.reshape(-1)[index]) != source
    if not differ.any():
        return 0
    kept = np.zeros((int(live.sum()), ns), np.uint32)
    kept.reshape(-1)[index[differ]] = source[differ]
    out = np.zeros((*cells_shape, ns), np.uint32)
    out[live] = kept
    io[schema.IBM_WORDS].write(block, out, sparse=True)
    return int(differ.sum())


def _run_blocks(layout, group, var, index, blocks, workers, with_headers, desc, scheduler=None) -> None:
    todo = schema.blocks_to_do(group, "ingest", var)
    if len(todo) < len(blocks):
        log.info("%s: resuming, %d of %d blocks already written", desc, len(blocks) - len(todo), len(blocks))
    names = [var, *_state_names(var), *(_trace_arrays(group) if with_headers else [])]
    io = {name: ChunkIO(group[name], atomic=False) for name in names}  # marked complete only at the end
    if len(todo) < len(blocks):
        for chunk_io in io.values():
            chunk_io.remove_temporaries()
    with Progress(len(blocks), desc, unit="block") as bar:
        bar.update(len(blocks) - len(todo))
        if scheduler:
            _copy_on_dask(scheduler, workers, layout, group, var, names, index, blocks, todo, bar)
        else:
            _copy_in_workers(layout, io, var, index, blocks, todo, workers, bar)


def _copy_in_workers(layout, io, var, index, blocks, todo, workers, bar) -> None:
    local, readers = threading.local(), []

    def work(b: int) -> None:
        if not hasattr(local, "reader"):
            local.reader = SegyReader(layout)
            readers.append(local.reader)
        _copy_block(local.reader, io, var, index.grid.trace_at_cell[blocks[b]], blocks[b], b)

    try:
        blocks_mod.run_forked(work, todo, workers, bar)
    finally:
        for reader in readers:
            reader.close()


def _copy_on_dask(scheduler, workers, layout, group, var, names, index, blocks, todo, bar) -> None:
    """The copy step on Dask workers (processes, possibly on other nodes of a shared file system):
    each task gets its block's cells; the store records finished blocks as in the threaded path."""
    from dask.distributed import as_completed as dask_completed  # optional [hpc] extra

    store, token = str(group.store_path.store.root), uuid.uuid4().hex
    with cluster.connect(scheduler, gpus_per_worker=0, local_workers=workers) as client:
        futures = [client.submit(_dask_copy, token, layout, store, var, names, index.grid.trace_at_cell[blocks[b]],
                                 blocks[b], b, pure=False) for b in todo]
        for future in dask_completed(futures):
            future.result()
            bar.update()


_WORKER_RUN: dict = {}  # per Dask worker process: the current run's reader and chunk writers


def _dask_copy(token: str, layout: SegyLayout, store: str, var: str, names: list[str], cells: np.ndarray,
               block, b: int) -> int:
    if _WORKER_RUN.get("token") != token:  # a new ingest: drop the previous run's handles
        if "reader" in _WORKER_RUN:
            _WORKER_RUN["reader"].close()
        group = zarr.open_group(store, mode="r+", zarr_format=3)
        io = {name: ChunkIO(group[name], atomic=False) for name in names}  # complete only when finalized
        _WORKER_RUN.update(token=token, reader=SegyReader(layout), io=io)
    _copy_block(_WORKER_RUN["reader"], _WORKER_RUN["io"], var, cells, block, b)
    return b


def _finalize(group: zarr.Group, var: str) -> dict:
    done, st, sample, ibm = _state_names(var)
    total = stats.BlockStats()
    for row in group[st][:]:
        total = total.merge(stats.BlockStats.from_array(row))
    values = group[sample][:]
    summary = stats.summarize(total, values[np.isfinite(values)])
    if group[var].attrs.get(schema.REPAIRING):  # the same source re-copied in part: its statistics stand
        summary = group[var].attrs.get("statistics") or group.attrs["statistics"]
    n_ibm = int(group[ibm][:].sum())
    if schema.IBM_WORDS in group and var == schema.AMPLITUDE and not group[var].attrs.get(schema.REPAIRING):
        group.attrs["n_ibm_words_kept"] = n_ibm
    schema.mark_complete(group, var, summary)  # for the amplitude, the store's marker last of all
    # the state only once the marker is written: a finalize cut short (a full disk) is finished by a rerun
    for name in (done, st, sample, ibm):
        del group[name]
    return summary


def ingest_segy(src, store, *, var: str = schema.AMPLITUDE, iline_byte: int = 189, xline_byte: int = 193,
                layout: str = "auto", x_byte: int = 181, y_byte: int = 185, chunks=None, workers: int | None = None,
                scheduler: str | None = None, byteorder: str | None = None,
                duplicates: str = "error", domain: str = "auto", allow_short_tail: bool = False,
                skip_traces=(), overwrite: bool = False) -> Path:
    """Ingest a SEG-Y file as the store's amplitude, or as a label variable of an existing store."""
    path = Path(store)
    cluster.check(scheduler)
    seg = scan(src, byteorder)  # step: scan
    with SegyReader(seg) as reader:  # step: index
        index = build_index(seg, reader, iline_byte=iline_byte, xline_byte=xline_byte, mode=layout, x_byte=x_byte,
                            y_byte=y_byte,
                            duplicates=duplicates, domain=domain, allow_short_tail=allow_short_tail,
                            skip_traces=skip_traces)
    if index.layout_source.startswith("auto:") and index.layout == "2d":
        log.info("%s: %s", src, index.layout_source.removeprefix("auto: "))
    if "73/77" in index.coordinate_source:
        log.info("%s: coordinates from %s", src, index.coordinate_source)
    if index.grid.n_duplicates_dropped:
        log.warning("%s: %d duplicate traces dropped (--duplicates %s), e.g. %s", src, index.grid.n_duplicates_dropped,
                    duplicates, index.grid.duplicate_examples[0])
    ndim = len(index.grid.dims)
    chunks = tuple(chunks or (schema.DEFAULT_CHUNKS if ndim == 2 else (4096, 256)))
    if len(chunks) != ndim + 1:
        raise StoreError(f"--chunks needs {ndim + 1} sizes for this {ndim + 1}D store, got {len(chunks)}",
                         fix="e.g. --chunks 64,64,64 for a 3D survey or 4096,256 for a 2D line")
    trace_bytes = seg.n_samples * np.dtype(seg.sample_format.store_dtype).itemsize
    blocks = blocks_mod.chunk_blocks(index.grid.shape, chunks[:ndim], trace_bytes, BLOCK_BYTES)
    manifest = json.loads(json.dumps({
        "fingerprint": fingerprint(seg), "var": var, "iline_byte": iline_byte, "xline_byte": xline_byte,
        "x_byte": x_byte, "y_byte": y_byte,
        "layout": layout, "chunks": chunks, "duplicates": duplicates, "byteorder": seg.byteorder,
        **({"skip_traces": [s["trace"] for s in index.skipped]} if index.skipped else {})}))
    workers = workers or min(4, os.cpu_count() or 1)
    if var == schema.AMPLITUDE:  # step: create (or resume, or repair)
        same = not overwrite and schema.attribute(path, "ingest_manifest") == manifest
        resume = same and not schema.is_complete(path)
        repair = same and not resume and _start_repair(schema.open_group(path, mode="r+"), var, blocks, index)
        if resume or repair:
            group = zarr.open_group(str(path), mode="r+", zarr_format=3)
        else:
            schema.prepare_path(path, overwrite)
            resources.check_disk(path, seg.file_size, f"the store of {Path(src).name}")
            with schema.removed_on_failure(path):  # half a created store could not resume: start clean
                group = _create_store(path, seg, index, chunks, manifest, len(blocks))
    else:
        group, resume = _open_for_label(path, var, seg, index, manifest, overwrite, blocks)
    _run_blocks(seg, group, var, index, blocks, workers, var == schema.AMPLITUDE,  # step: copy
                desc=f"ingest {Path(src).name} -> {var}", scheduler=scheduler)
    summary = _finalize(group, var)  # step: finalize
    if summary["n_nonfinite"]:
        log.warning("%s: %d NaN/Inf samples ingested as they are (see `seisfuse info`)", src,
                    summary["n_nonfinite"])
    return path
