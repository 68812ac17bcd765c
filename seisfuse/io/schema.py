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
import shutil
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle

from seisfuse.errors import StoreError

SCHEMA_VERSION = 1
COMPLETE = "seisfuse_complete"
AMPLITUDE = "amplitude"
TRACE_MASK = "trace_mask"
TRACE_HEADERS = "trace_headers"
TRACE_INDEX = "trace_index"
HEADER_COORDS = ("cdp_x", "cdp_y", "offset")
RESERVED = {AMPLITUDE, TRACE_MASK, TRACE_HEADERS, TRACE_INDEX, "inline", "crossline", "trace",
            "sample", *HEADER_COORDS}
DEFAULT_CHUNKS = (64, 64, 64)


def codec_for(dtype) -> list:
    """Blosc-lz4 with bit shuffle: chosen by scripts/bench_codecs.py (fastest reads, see
    BENCHMARKS.md); headers and masks are highly redundant and any codec shrinks them."""
    return [BloscCodec(cname="lz4", clevel=5, shuffle=BloscShuffle.bitshuffle,
                       typesize=np.dtype(dtype).itemsize)]


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


def attribute(path: str | Path, key: str, default=None):
    """A root attribute of whatever is at `path`, or `default` if it is not a readable store."""
    try:
        return zarr.open_group(str(path), mode="r", zarr_format=3).attrs.get(key, default)
    except (FileNotFoundError, zarr.errors.GroupNotFoundError, ValueError, KeyError, OSError):
        return default


def is_complete(path: str | Path) -> bool:
    return bool(attribute(path, COMPLETE, False))


def open_group(path: str | Path, mode: str = "r", require_complete: bool = True) -> zarr.Group:
    """The store's root group; by default refuses stores without the completion marker."""
    path = Path(path)
    if not path.exists():
        raise StoreError("no store here", where=str(path), fix="check the path, or create it with `seisfuse ingest`")
    try:
        group = zarr.open_group(str(path), mode=mode, zarr_format=3)
    except Exception as exc:  # zarr raises several types for corrupt metadata
        raise StoreError(f"not a readable Zarr v3 store ({type(exc).__name__}: {exc})", where=str(path),
                         fix="re-create it with `seisfuse ingest ... --overwrite`") from None
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
        overwrite=overwrite)
    if attrs:
        array.attrs.update(attrs)
    return array


def write_coordinate(group: zarr.Group, name: str, values: np.ndarray, dims, attrs=None) -> None:
    values = np.asarray(values)
    array = create_array(group, name, values.shape, values.shape or (1,), values.dtype, dims,
                         attrs=attrs, overwrite=True)
    array[...] = values


def spatial_dims(group: zarr.Group) -> tuple[str, ...]:
    return tuple(group.attrs["spatial_dims"])


def complete_variables(group: zarr.Group) -> list[str]:
    """Label/prediction variables whose writing finished (they carry the marker)."""
    names = []
    for name, array in group.arrays():
        if name in RESERVED or name.startswith("_"):
            continue
        if array.attrs.get(COMPLETE, False):
            names.append(name)
    return sorted(names)
