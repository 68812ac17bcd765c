"""The seisfuse store schema, in one place: a Zarr v3 group readable by xarray and plain zarr.

Variables (3D post-stack; 2D lines use the single spatial dim `trace`):
  amplitude      (inline, crossline, sample)  float32 (wider where the source needs it)
  trace_mask     (inline, crossline)          bool, live traces
  trace_headers  (inline, crossline, header_byte) uint8, the raw 240-byte trace headers
  trace_index    (inline, crossline)          int64, 0-based trace position in the source
                                              file (-1 = missing): export restores file order
  cdp_x, cdp_y, offset                        header fields as coordinates
  <labels>, <predictions>                     any number, same spatial dims
Attributes: raw and decoded headers, formats, byte order, key bytes, sample axis, statistics,
provenance, and `seisfuse_complete`, written last. Arrays and variables being written carry
no marker; a store or variable without it is never treated as complete.
"""

from __future__ import annotations

import base64
import contextlib
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle, Crc32cCodec
from zarr.storage import LocalStore

from seisfuse._version import __version__
from seisfuse.errors import GeometryError, StoreError
from seisfuse.io import mdio
from seisfuse.io import segy_format as sf

SCHEMA_VERSION = 2  # 2: every chunk written and checksummed (crc32c), chunk inventory at completion
COMPLETE = "seisfuse_complete"
CHUNKS = "chunk_inventory"  # chunk files present at completion (per array)
VERIFIED = "seisfuse_verified"  # {"at", "deep"}: the last `seisfuse verify` that found no damage
REPAIRING = "seisfuse_repairing"  # an ingest is re-copying the blocks of damaged chunks
AMPLITUDE = "amplitude"
TRACE_MASK = "trace_mask"
TRACE_HEADERS = "trace_headers"
TRACE_INDEX = "trace_index"
# IBM sources: the raw words of the samples whose decoded value does not re-encode to them
# (unnormalised fractions, zeros with an exponent or sign, values outside float32's range), 0
# elsewhere; sparse: only chunks that hold such a word are written (their list is recorded).
IBM_WORDS = "ibm_source_words"
TRACE_ARRAYS = (TRACE_HEADERS, TRACE_MASK, TRACE_INDEX)  # per trace, written with the amplitude
SPARSE_CHUNKS = "chunk_list"
HEADER_COORDS = ("cdp_x", "cdp_y", "offset")
SKIPPED = "skipped_traces"  # raw traces left out by --skip-traces (seisfuse.io.skipped)
RESERVED = {AMPLITUDE, TRACE_MASK, TRACE_HEADERS, TRACE_INDEX, IBM_WORDS, SKIPPED, "inline", "crossline", "trace",
            "sample", *HEADER_COORDS}
DEFAULT_CHUNKS = (64, 64, 64)


def codec_for(dtype) -> list:
    """Blosc-lz4 with bit shuffle: chosen by scripts/bench_codecs.py (fastest reads, see
    BENCHMARKS.md); headers and masks are highly redundant and any codec shrinks them. Level 1:
    on seismic amplitudes the same ratio as level 5 (1.136 against 1.138), encoded 1.5x and
    decoded 1.1x faster (BENCHMARKS.md, "Chunk codec"). Then zarr's crc32c codec: every chunk
    carries its checksum, checked on every read."""
    return [BloscCodec(cname="lz4", clevel=1, shuffle=BloscShuffle.bitshuffle,
                       typesize=np.dtype(dtype).itemsize), Crc32cCodec()]


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"))


def prepare_path(path: str | Path, overwrite: bool) -> None:
    """Refuse to replace an existing store unless asked; check the parent is writable."""
    path = Path(path)
    if path.exists():
        if not overwrite:
            state = "a complete" if is_complete(path) else "an incomplete"
            raise StoreError(f"{state} store already exists", where=str(path),
                             fix="pass --overwrite (overwrite=True) to replace it, or choose another path")
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the output folder ({exc.strerror})", where=str(parent),
                         fix="choose a writable output path") from None
    probe = parent / f".{path.name}.probe"
    try:
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise StoreError(f"cannot write here ({exc.strerror})", where=str(parent),
                         fix="choose a writable output path") from None


@contextlib.contextmanager
def removed_on_failure(path: str | Path):
    """A store made in the block is removed if the block fails (a full disk, Ctrl-C): the same
    command then starts clean instead of meeting half a store it cannot finish."""
    try:
        yield
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise


def attribute(path: str | Path, key: str, default=None):
    """A root attribute of whatever is at `path` (as seisfuse reads an MDIO store's), or
    `default` if it is not a readable store."""
    try:
        group = zarr.open_group(str(path), mode="r", zarr_format=3)
        return (mdio.MdioStore(group) if mdio.is_mdio(group.attrs) else group).attrs.get(key, default)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError, KeyError, OSError, StoreError):
        return default


def is_complete(path: str | Path) -> bool:
    return bool(attribute(path, COMPLETE, False))


def open_group(path: str | Path, mode: str = "r", require_complete: bool = True) -> zarr.Group:
    """The store's root group; by default refuses stores without the completion marker. An
    MDIO v1 store comes back as a view under seisfuse's names (seisfuse.io.mdio.MdioStore)."""
    path = Path(path)
    if not path.exists():
        raise StoreError("no store here", where=str(path), fix="check the path, or create it with `seisfuse ingest`")
    try:
        group = zarr.open_group(str(path), mode=mode, zarr_format=3)
    except Exception as exc:  # zarr raises several types for corrupt metadata
        raise StoreError(f"not a readable Zarr v3 store ({type(exc).__name__}: {exc})", where=str(path),
                         fix="re-create it with `seisfuse ingest ... --overwrite`") from None
    if mdio.is_mdio(group.attrs):
        return mdio.MdioStore(group)
    if require_complete and not group.attrs.get(COMPLETE, False):
        raise StoreError(
            "the store is incomplete (no completion marker): an ingest or synth was interrupted "
            "or is still running", where=str(path),
            fix="run the same command again to finish it, or re-create it with --overwrite")
    return group


def create_array(group: zarr.Group, name: str, shape, chunks, dtype, dims, fill_value=0,
                 attrs: dict | None = None, overwrite: bool = False) -> zarr.Array:
    array = group.create_array(
        name, shape=tuple(int(s) for s in shape), chunks=tuple(int(min(c, max(s, 1))) for c, s in zip(chunks, shape)),
        dtype=dtype, compressors=codec_for(dtype), fill_value=fill_value, dimension_names=dims,
        overwrite=overwrite, config={"write_empty_chunks": True})  # every chunk on disk: a missing one is damage
    if attrs:
        array.attrs.update(attrs)
    return array


def for_writing(array: zarr.Array) -> zarr.Array:
    """The array as seisfuse writes it through zarr: every chunk stored, even one that equals
    the fill value (zarr skips those by default, and the setting is not kept in the metadata),
    so that a missing chunk always means damage."""
    return array.with_config({"write_empty_chunks": True})


def create_store(path: str | Path, *, attrs: dict, shape: tuple[int, ...], chunks: tuple[int, ...], dtype,
                 dims: tuple[str, ...], axes: dict[str, np.ndarray], sample_axis: np.ndarray, sample_unit: str,
                 domain: str, coords: dict[str, np.ndarray], source_format: int, ibm_words: bool = False) -> zarr.Group:
    """The base layout of every store, made in one place (ingest, stores from arrays, MDIO
    conversion): root attributes; the amplitude (spatial dims + sample), trace mask, raw trace
    headers and trace index (source positions, -1 = missing) with their long names; the IBM word
    record of an IBM source; the coordinates (the line axes, the sample axis in its units, the
    header coordinates on the grid). Nothing is marked complete: the writer does that last."""
    group = zarr.open_group(str(path), mode="w", zarr_format=3)
    group.attrs.update(attrs)
    spatial, spatial_chunks = shape[:-1], tuple(chunks[:-1])
    create_array(group, AMPLITUDE, shape, chunks, dtype, (*dims, "sample"),
                 attrs={"coordinates": " ".join(HEADER_COORDS), "long_name": "amplitude",
                        "source_format": int(source_format)})
    create_array(group, TRACE_MASK, spatial, spatial_chunks, "bool", dims, attrs={"long_name": "live trace"})
    create_array(group, TRACE_HEADERS, (*spatial, sf.TRACE_HEADER_SIZE), (*spatial_chunks, sf.TRACE_HEADER_SIZE),
                 "uint8", (*dims, "header_byte"), attrs={"long_name": "raw 240-byte trace headers, source byte order"})
    create_array(group, TRACE_INDEX, spatial, spatial_chunks, "int64", dims, fill_value=-1,
                 attrs={"long_name": "0-based trace position in the source file, -1 = missing"})
    if ibm_words:
        create_array(group, IBM_WORDS, shape, chunks, "uint32", (*dims, "sample"),
                     attrs={"sparse": True, "long_name": "source IBM words that do not re-encode to themselves, "
                                                         "0 elsewhere (sparse)"})
    write_coordinates(group, dims, axes, sample_axis, sample_unit, domain, coords)
    return group


def write_coordinates(group: zarr.Group, dims, axes: dict, sample_axis, sample_unit: str, domain: str,
                      coords: dict) -> None:
    """The line axes, the sample axis (in its units) and the header coordinates on the grid."""
    for dim in dims:
        write_coordinate(group, dim, axes[dim], (dim,))
    write_coordinate(group, "sample", sample_axis, ("sample",), attrs={"units": sample_unit, "domain": domain})
    for name, values in coords.items():
        write_coordinate(group, name, values, dims)


def write_coordinate(group: zarr.Group, name: str, values: np.ndarray, dims, attrs=None) -> None:
    values = np.asarray(values)
    array = create_array(group, name, values.shape, values.shape or (1,), values.dtype, dims,
                         attrs=attrs, overwrite=True)
    array[...] = values


def spatial_dims(group: zarr.Group) -> tuple[str, ...]:
    return tuple(group.attrs["spatial_dims"])


def complete_variables(group: zarr.Group) -> list[str]:
    """Label/prediction variables whose writing finished (they carry the marker; of an MDIO
    store, every variable of the amplitude's dims but its own and seisfuse's unfinished ones)."""
    if isinstance(group, mdio.MdioStore):
        return mdio.complete_variables(group)
    names = []
    for name, array in group.arrays():
        if name in RESERVED or name.startswith("_"):
            continue
        if array.attrs.get(COMPLETE, False):
            names.append(name)
    return sorted(names)


def root_attributes(*, spatial_dims, text_headers: list[bytes], binary_header: bytes, text_encoding: str,
                    sample_format: int, byteorder: str, iline_byte: int, xline_byte: int, sample_interval: float,
                    sample_unit: str, domain: str, domain_source: str, n_traces: int, n_live: int, n_missing: int,
                    n_duplicates_dropped: int = 0, source_file=None, **extra) -> dict:
    """The root attributes of every store, ingested or built from arrays (extra: what only
    an ingest knows, e.g. the source's size, revision and the ingest manifest)."""
    texts = [sf.decode_text(t) for t in text_headers]
    return {
        "spatial_dims": list(spatial_dims), "seisfuse_version": __version__, "schema_version": SCHEMA_VERSION,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "source_file": None if source_file is None else os.path.abspath(source_file),
        "text_headers_b64": [b64(t) for t in text_headers], "binary_header_b64": b64(binary_header),
        "text_header": texts[0], "extended_text_headers": texts[1:], "text_encoding": text_encoding,
        "sample_format": sample_format, "sample_format_name": sf.SAMPLE_FORMATS[sample_format].name,
        "byteorder": byteorder, "iline_byte": iline_byte, "xline_byte": xline_byte,
        "sample_interval": float(sample_interval), "sample_unit": sample_unit, "domain": domain,
        "domain_source": domain_source, "n_traces": int(n_traces), "n_live": int(n_live),
        "n_missing": int(n_missing), "n_duplicates_dropped": int(n_duplicates_dropped), **extra,
    }


def where(group: zarr.Group) -> str:
    return str(getattr(group.store, "root", group.store))


def check_new_variable(group: zarr.Group, name: str, overwrite: bool, of: str | None = None) -> None:
    """A label or prediction variable may be (re)written here: not a reserved name, not a
    complete variable unless overwrite. of: the variable it belongs to (class probabilities)."""
    what = f"variable {name!r}" + (f" (a class probability of {of!r})" if of else "")
    if name in RESERVED or name.startswith("_") or isinstance(group, mdio.MdioStore) and name in mdio.RESERVED:
        raise StoreError(f"{what} has a reserved name", where=where(group), fix="choose another --var name")
    if name in group and group[name].attrs.get(COMPLETE) and not overwrite:
        raise StoreError(f"{what} already exists", where=where(group),
                         fix="pass --overwrite (overwrite=True) to replace it, or choose another --var name")


def create_variable(group: zarr.Group, name: str, dtype, attrs: dict | None = None, shape=None) -> zarr.Array:
    """A label or prediction variable with the amplitude's geometry, chunks and dims (no marker:
    it is complete only once mark_complete has run)."""
    amp = group[AMPLITUDE]
    if isinstance(group, mdio.MdioStore):
        return mdio.create_variable(group, name, dtype, attrs)
    if shape is not None and tuple(shape) != tuple(amp.shape):
        raise GeometryError(f"variable {name!r} has shape {tuple(shape)} but the store's amplitude has "
                            f"{tuple(amp.shape)}", where=where(group), fix="give an array of the survey's shape")
    return create_array(group, name, amp.shape, amp.chunks, dtype, amp.metadata.dimension_names, overwrite=True,
                        attrs={"coordinates": " ".join(HEADER_COORDS), **(attrs or {})})


def mark_complete(group: zarr.Group, name: str, statistics: dict | None = None) -> None:
    """The variable's completion marker (with its statistics and chunk inventory); for the
    amplitude, also the store's (with the inventory of every array), written last of all."""
    extra = {"statistics": statistics} if statistics is not None else {}
    group[name].attrs.update({**extra, CHUNKS: len(present_chunks(group[name])), COMPLETE: True})
    group[name].attrs.pop(REPAIRING, None)
    if name == AMPLITUDE:
        for _, sparse in group.arrays():  # sparse arrays: which chunks exist is the record itself
            if sparse.attrs.get("sparse"):
                sparse.attrs[SPARSE_CHUNKS] = sorted(list(c) for c in present_chunks(sparse))
        group.attrs.update({**extra, CHUNKS: {n: len(present_chunks(a)) for n, a in group.arrays()
                                              if not n.startswith("_")}})
        group.attrs[COMPLETE] = True


# The block ledger: one uint8 per block of a resumable job (ingest, predict), set when the
# block's chunks are written; the same command after a kill does only the blocks still at 0.

def ledger_name(job: str, var: str) -> str:
    return f"_{job}_{var}_done"


def create_ledger(group: zarr.Group, job: str, var: str, n_blocks: int) -> None:
    create_array(group, ledger_name(job, var), (n_blocks,), (1,), "uint8", ("_block",), overwrite=True)


def has_ledger(group: zarr.Group, job: str, var: str) -> bool:
    return ledger_name(job, var) in group


def blocks_to_do(group: zarr.Group, job: str, var: str) -> list[int]:
    return np.flatnonzero(group[ledger_name(job, var)][:] == 0).tolist()


def drop_ledger(group: zarr.Group, job: str, var: str) -> None:
    del group[ledger_name(job, var)]


def chunk_grid(array: zarr.Array) -> tuple[int, ...]:
    return tuple(-(-int(n) // int(c)) for n, c in zip(array.shape, array.chunks))


def present_chunks(array: zarr.Array) -> set[tuple[int, ...]]:
    """The chunk indices whose files exist: one directory listing, no chunk read. Only for
    local stores with zarr's default chunk keys (c/i/j/k); elsewhere every chunk is assumed."""
    store = array.store_path.store
    encoding = array.metadata.chunk_key_encoding
    if not isinstance(store, LocalStore) or getattr(encoding, "name", "default") != "default" or \
            getattr(encoding, "separator", "/") != "/":
        return set(np.ndindex(*chunk_grid(array)))
    root = Path(store.root) / array.path / "c"
    found = set()
    for folder, _, files in os.walk(root):
        parts = Path(folder).relative_to(root).parts
        for name in files:
            if not name.startswith(".") and name.isdigit():
                found.add(tuple(int(p) for p in (*parts, name)))
    return found
