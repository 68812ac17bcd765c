"""Zarr -> SEG-Y export: the source's headers, byte for byte, around any stored variable.

Traces go back to their source file positions (trace_index), so ingest then export of the
unchanged amplitudes gives the identical file. The output is written to `OUT.partial` by
position (blocks in parallel, each a few large writes) and renamed when complete, so a
failed or killed export never leaves a complete-looking file. Like cp (and MDIO), the file is
not fsynced: that would add 0.2-0.3 s per 500 MB here; run `sync` when power-loss
durability matters.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from seisfuse import resources
from seisfuse.errors import StoreError
from seisfuse.io import integrity, mdio, schema, skipped
from seisfuse.io import segy_format as sf
from seisfuse.io.blocks import blocks_covering, chunk_blocks, run_forked
from seisfuse.io.chunkio import ChunkIO
from seisfuse.io.ibm import NaNError
from seisfuse.io.mdio_segy import export_mdio
from seisfuse.io.segy_file import decode_samples
from seisfuse.io.segy_write import encode_samples, output_format, put_field
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")


def _file_positions(trace_index: np.ndarray, skipped: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Source positions -> output positions of the grid's traces and of the skipped ones (dense
    ranks: duplicates dropped at ingest leave gaps in the source positions, which the output
    closes; traces skipped by --skip-traces go back where they were)."""
    live = trace_index >= 0
    out = np.full(trace_index.shape, -1, dtype=np.int64)
    order = np.sort(np.concatenate([trace_index[live], skipped]))
    if len(order) and order[-1] != len(order) - 1:
        out[live] = np.searchsorted(order, trace_index[live])
        return out, np.searchsorted(order, skipped)
    out[live] = trace_index[live]
    return out, skipped


def _write_skipped(fd: int, raw: np.ndarray, positions: np.ndarray, fmt: int, source_fmt: int, byteorder: str,
                   is_source: bool, data_offset: int, trace_size: int) -> None:
    """The traces left out by --skip-traces, at their positions: as they were (the amplitude in
    its own format), re-encoded (the amplitude in another format), or their headers with zero
    samples (another variable: nothing was predicted there)."""
    for row, pos in zip(raw, positions):
        header, words = row[:sf.TRACE_HEADER_SIZE], row[sf.TRACE_HEADER_SIZE:]
        if is_source and fmt == source_fmt:
            samples = words
        else:
            source = sf.SAMPLE_FORMATS[source_fmt]
            ns = len(words) // source.itemsize
            values = decode_samples(words.view(byteorder + source.file_dtype)[None], source) if is_source \
                else np.zeros((1, ns), np.float32)
            samples = encode_samples(np.asarray(values, np.float64 if fmt == 6 else np.float32), fmt, byteorder)[0]
        os.pwrite(fd, np.concatenate([header, samples]).tobytes(), data_offset + int(pos) * trace_size)


def _kept_word_chunks(array) -> set[tuple[int, ...]]:
    """The spatial chunk indices of the sparse IBM word record (its chunk list, recorded at completion)."""
    return {tuple(c[:-1]) for c in array.attrs.get(schema.SPARSE_CHUNKS) or []}


def _write_block(fd: int, io: dict[str, ChunkIO], var: str, block, positions: np.ndarray, fmt: int,
                 byteorder: str, data_offset: int, trace_size: int) -> None:
    pos = positions[block]
    live = pos >= 0
    if not live.any():
        return
    values = io[var].read(block)
    ns = values.shape[-1]
    traces = np.empty(int(live.sum()), dtype=[("header", "u1", sf.TRACE_HEADER_SIZE),
                                              ("samples", "u1", ns * sf.SAMPLE_FORMATS[fmt].itemsize)])
    all_live = bool(live.all())
    headers = io[schema.TRACE_HEADERS].read(block)
    traces["header"] = headers.reshape(-1, sf.TRACE_HEADER_SIZE) if all_live else headers[live]
    samples = values.reshape(-1, ns) if all_live else values[live]
    try:
        encode_samples(samples, fmt, byteorder, out=traces["samples"])
    except NaNError:
        raise StoreError(f"variable {var!r} holds NaN values, which IBM float cannot represent",
                         where=str(io[var].array.store), fix="export with --format ieee") from None
    # the source's own IBM words, where it kept some: most blocks of most files have none, and read nothing
    if schema.IBM_WORDS in io and io["kept_chunks"] and blocks_covering([block], io["kept_chunks"], io[var].chunks):
        kept = io[schema.IBM_WORDS].read(block, sparse=True)
        kept = kept.reshape(-1, ns) if all_live else kept[live]
        where = kept != 0
        if where.any():
            traces["samples"].view(byteorder + "u4")[where] = kept[where]
    pos = pos[live]
    gaps = np.diff(pos)
    if not bool(np.all(gaps > 0)):  # not in file order within the block: sort the traces
        order = np.argsort(pos, kind="stable")
        pos, traces = pos[order], traces[order]
        gaps = np.diff(pos)
    for run in np.split(np.arange(len(pos)), np.flatnonzero(gaps != 1) + 1):
        os.pwrite(fd, traces[run[0]:run[-1] + 1].data, data_offset + int(pos[run[0]]) * trace_size)


def export_segy(store, out, *, var: str = schema.AMPLITUDE, fmt: str = "source", overwrite: bool = False,
                workers: int | None = None) -> Path:
    group = schema.open_group(store)
    if isinstance(group, mdio.MdioStore):  # its own file and trace headers, as MDIO kept them
        if var != schema.AMPLITUDE and var not in schema.complete_variables(group):
            raise StoreError(f"no complete variable {var!r} in the MDIO store", where=str(store),
                             fix=f"choose one of: {', '.join([schema.AMPLITUDE, *schema.complete_variables(group)])}")
        return export_mdio(group, out, var=var, fmt=fmt, overwrite=overwrite)
    integrity.require_intact(group, [n for n in (var, *schema.TRACE_ARRAYS) if n in group])
    where = str(store)
    if var not in group or (var != schema.AMPLITUDE and var not in schema.complete_variables(group)):
        valid = [schema.AMPLITUDE, *schema.complete_variables(group)]
        raise StoreError(f"no complete variable {var!r} in the store", where=where,
                         fix=f"choose one of: {', '.join(valid)}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise StoreError("the output file already exists", where=str(out),
                         fix="pass --overwrite or choose another name")
    attrs = group.attrs
    order = ">" if attrs["byteorder"] == "big" else "<"
    code = output_format(fmt, attrs["sample_format"], var == schema.AMPLITUDE, where)
    binary = np.frombuffer(schema.unb64(attrs["binary_header_b64"]), dtype=np.uint8).copy()
    if code != attrs["sample_format"]:
        put_field(binary, sf.BIN["format"], code, order, base=3201)
    head = b"".join(schema.unb64(t) for t in attrs["text_headers_b64"][:1]) + binary.tobytes() + \
        b"".join(schema.unb64(t) for t in attrs["text_headers_b64"][1:])
    skipped_at, skipped_raw = skipped.read(group)
    positions, skipped_out = _file_positions(group[schema.TRACE_INDEX][:], skipped_at)
    n_out = int((positions >= 0).sum()) + len(skipped_at)
    ns = group[var].shape[-1]
    trace_size = sf.TRACE_HEADER_SIZE + ns * sf.SAMPLE_FORMATS[code].itemsize
    dims = schema.spatial_dims(group)
    blocks = chunk_blocks(positions.shape, group[var].chunks[:len(dims)], ns * 8)
    size = len(head) + n_out * trace_size
    with resources.partial_file(out, size, f"the SEG-Y file {out.name}") as fd:
        os.pwrite(fd, head, 0)
        io = {name: ChunkIO(group[name]) for name in (var, schema.TRACE_HEADERS)}
        if var == schema.AMPLITUDE and code == 1 == attrs["sample_format"] and schema.IBM_WORDS in group:
            io[schema.IBM_WORDS] = ChunkIO(group[schema.IBM_WORDS])  # the source's own words, restored
            io["kept_chunks"] = _kept_word_chunks(group[schema.IBM_WORDS])
        with Progress(len(blocks), f"export {var} -> {out.name}", unit="block") as bar:
            def work(block):
                _write_block(fd, io, var, block, positions, code, order, len(head), trace_size)

            run_forked(work, blocks, workers or min(4, os.cpu_count() or 1), bar)
        _write_skipped(fd, skipped_raw, skipped_out, code, attrs["sample_format"], order, var == schema.AMPLITUDE,
                       len(head), trace_size)
    return out
