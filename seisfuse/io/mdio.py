"""MDIO v1 stores (TGS's open format, written by `multidimio`) read wherever a store is read.

An MDIO post-stack store is a Zarr v3 group much like a seisfuse store: the amplitude
(`attributes.defaultVariableName`, dims inline, crossline, time|depth), `trace_mask`, the
`inline`/`crossline` coordinates, `cdp_x`/`cdp_y`. `MdioStore` shows it under seisfuse's names
(`amplitude`, `sample`, the root attributes seisfuse reads) without changing a byte of it, so
that info, verify, plot, view, train, predict and evaluate run on it as on a seisfuse store.
What differs is said, not invented:

- MDIO writes no chunk checksums and leaves chunks of only the fill value unwritten: a missing
  chunk is not damage, and `verify --deep` can only decode every chunk it finds.
- Dead and missing traces are NaN in the amplitude (seisfuse's readers treat them as missing).
- Its `statsV1` counts only nonzero samples, starts its min and max at 0, and has no
  percentiles: the statistics seisfuse needs (robust percentiles for normalisation and clips)
  are computed from the amplitude, over at most STATISTICS_ROWS chunk rows evenly spread.
- The time/depth coordinate starts at 0 whatever the recording delay: the sample axis adds the
  delay of the first live trace's header (bytes 109-110, with the time scalar of bytes 215-216).
- Variables seisfuse writes (predictions) get the amplitude's dims, chunks and codec and its
  coordinates attribute; the root attributes are never rewritten.

Only post-stack 3D templates (PostStack3DTime/Depth) are read; 2D lines and pre-stack gathers
are refused naming the template.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import zarr

from seisfuse import stats
from seisfuse.errors import StoreError
from seisfuse.io import segy_format as sf

TRACE_MASK = "trace_mask"
# MDIO's own variables: not labels, not predictions
RESERVED = {"headers", "raw_headers", "trace_mask", "segy_file_header", "cdp_x", "cdp_y", "inline", "crossline",
            "time", "depth"}
STATISTICS_ROWS = 8  # chunk rows of 128 inlines read for the statistics of a large store
COMPLETE = "seisfuse_complete"  # as seisfuse.io.schema.COMPLETE (schema imports this module)


def is_mdio(attrs) -> bool:
    """MDIO v1 root attributes: an API version and a default variable."""
    inner = attrs.get("attributes") if hasattr(attrs, "get") else None
    return "apiVersion" in attrs and isinstance(inner, dict) and "defaultVariableName" in inner


class SampleAxis:
    """The time/depth coordinate as seisfuse's `sample` coordinate: float64, the recording
    delay added, with its units and domain."""

    def __init__(self, array: zarr.Array, delay: float):
        self.array, self.delay = array, delay
        domain = array.path.split("/")[-1]
        self.attrs = {"units": "ms" if domain == "time" else "m", "domain": domain}
        self.shape, self.dtype, self.ndim = tuple(array.shape), np.dtype(np.float64), 1

    def __getitem__(self, key):
        return np.asarray(self.array[key], np.float64) + self.delay


class MdioAttributes:
    """The root attributes seisfuse reads, made from what the MDIO store holds (read only)."""

    def __init__(self, store: MdioStore):
        self._store = store
        self._mdio = dict(store.group.attrs)

    def _values(self) -> dict:
        s = self._store
        mask = np.asarray(s.group[TRACE_MASK][...], bool)
        binary = s.file_headers().get("binaryHeader") or {}
        fmt = binary.get("data_sample_format")
        interval = float(s.group[s.dims[2]][1] - s.group[s.dims[2]][0]) if s.group[s.dims[2]].shape[0] > 1 else 0.0
        return {
            COMPLETE: True, "spatial_dims": list(s.dims[:2]), "domain": "time" if s.dims[2] == "time" else "depth",
            "domain_source": "the MDIO template", "sample_unit": "ms" if s.dims[2] == "time" else "m",
            "sample_interval": interval * 1000.0, "sample_format": fmt,
            "sample_format_name": sf.SAMPLE_FORMATS[fmt].name if fmt in sf.SAMPLE_FORMATS else None,
            "text_header": s.file_headers().get("textHeader"), "n_traces": int(mask.size),
            "n_live": int(mask.sum()), "n_missing": int(mask.size - mask.sum()), "layout": "3d",
            "layout_source": f"the MDIO template {self._mdio.get('name')}", "source_file": None,
            "created": self._mdio.get("createdOn"), "mdio": s.summary(),
        }

    @property
    def _all(self) -> dict:
        if not hasattr(self, "_cache"):
            self._cache = self._values()
        return self._cache

    def get(self, key, default=None):
        if key == "statistics":
            return self._store.statistics()
        if key in self._mdio:
            return self._mdio[key]
        return self._all.get(key, default)

    def __getitem__(self, key):
        value = self.get(key, KeyError)
        if value is KeyError:
            raise KeyError(key)
        return value

    def __contains__(self, key) -> bool:
        return self.get(key, KeyError) is not KeyError

    def keys(self):
        return [*self._mdio, *self._all, "statistics"]

    def items(self):
        return [(k, self[k]) for k in self.keys()]

    def __iter__(self):
        return iter(self.keys())

    def __setitem__(self, key, value):
        raise StoreError(f"seisfuse does not rewrite an MDIO store's root attributes ({key})",
                         where=self._store.where,
                         fix="write seisfuse's records into a seisfuse store: seisfuse convert")

    def update(self, *args, **kwargs):
        self.__setitem__(next(iter(dict(*args, **kwargs)), "?"), None)

    def asdict(self) -> dict:
        return dict(self.items())


class MdioStore:
    """An MDIO v1 group seen under seisfuse's names; everything else is the group's own."""

    def __init__(self, group: zarr.Group):
        self.group = group
        self.where = str(getattr(group.store, "root", group.store))
        attrs = dict(group.attrs)
        self.template = attrs.get("name", "?")
        self.default = attrs["attributes"]["defaultVariableName"]
        try:
            dims = tuple(group[self.default].metadata.dimension_names or ())
        except KeyError:
            raise StoreError(f"the MDIO store has no variable {self.default!r} (its defaultVariableName)",
                             where=self.where, fix="check the store: MDIO's own tools cannot read it either") from None
        if dims[:2] != ("inline", "crossline") or len(dims) != 3 or dims[2] not in ("time", "depth"):
            raise StoreError(f"an MDIO store of template {self.template} (dims {', '.join(dims)}): seisfuse reads "
                             "post-stack 3D surveys (PostStack3DTime, PostStack3DDepth); 2D lines and pre-stack "
                             "gathers are not supported", where=self.where,
                             fix="stack the gathers, or export the line to SEG-Y and ingest it (seisfuse ingest)")
        self.dims = dims
        self.attrs = MdioAttributes(self)

    # the zarr.Group interface seisfuse uses
    @property
    def store(self):
        return self.group.store

    @property
    def store_path(self):
        return self.group.store_path

    def __getitem__(self, name: str):
        if name == "amplitude":
            return self.group[self.default]
        if name == "sample":
            return SampleAxis(self.group[self.dims[2]], self.delay())
        return self.group[name]

    def __contains__(self, name: str) -> bool:
        return name in ("amplitude", "sample") or name in self.group

    def __delitem__(self, name: str) -> None:
        del self.group[name]

    def arrays(self):
        """(name, array) of every array zarr can read (a structured `headers` written by a newer
        zarr is skipped rather than failing the listing), the default variable as `amplitude`."""
        for name in sorted(os.listdir(self.where)):
            if name.startswith(".") or not (Path(self.where) / name / "zarr.json").is_file():
                continue
            try:
                array = self.group[name]
            except (ValueError, KeyError):
                continue
            if isinstance(array, zarr.Array):
                yield ("amplitude" if name == self.default else name), array

    def create_array(self, *args, **kwargs):
        return self.group.create_array(*args, **kwargs)

    # what seisfuse needs that MDIO lays out its own way
    def file_headers(self) -> dict:
        """The attributes of `segy_file_header` (textHeader, binaryHeader, rawBinaryHeader), {} when
        the store was made without MDIO__IMPORT__SAVE_SEGY_FILE_HEADER."""
        try:
            return dict(self.group["segy_file_header"].attrs)
        except KeyError:
            return {}

    def first_live_header(self) -> dict:
        """The decoded rev-1 fields of the first live trace (MDIO's `headers`), {} if unreadable."""
        mask = np.asarray(self.group[TRACE_MASK][...], bool)
        if not mask.any():
            return {}
        i, j = (int(v) for v in np.argwhere(mask)[0])
        try:
            record = self.group["headers"][i, j]
        except (KeyError, ValueError):
            return {}
        return {name: record[name].item() for name in record.dtype.names}

    def delay(self) -> float:
        """The recording delay of the first live trace (ms, or m in depth), which MDIO's sample
        coordinate leaves out."""
        header = self.first_live_header()
        delay, scalar = float(header.get("delay_recording_time", 0)), int(header.get("times_scalar", 0))
        return delay * scalar if scalar > 0 else delay / -scalar if scalar < 0 else delay

    def statistics(self) -> dict:
        return _statistics(self.where, _stamp(self.where, self.default))

    def summary(self) -> dict:
        """What `info` says of the MDIO store: version, template, what it kept."""
        names = {name for name, _ in self.arrays()}
        headers = self.file_headers()
        return {"api_version": self.group.attrs.get("apiVersion"), "template": self.template,
                "default_variable": self.default, "raw_headers": "raw_headers" in names,
                "file_headers": bool(headers), "raw_binary_header": "rawBinaryHeader" in headers,
                "checksums": "none (MDIO writes none; chunks of only the fill value are not written)"}


def _stamp(where: str, default: str) -> float:
    """When the amplitude last changed (its metadata file): the statistics' cache key."""
    return (Path(where) / default / "zarr.json").stat().st_mtime


@lru_cache(maxsize=16)
def _statistics(where: str, stamp: float) -> dict:
    """The statistics seisfuse stores at ingest, computed from the live traces of at most
    STATISTICS_ROWS chunk rows of inlines, evenly spread (all of a small survey)."""
    store = MdioStore(zarr.open_group(where, mode="r", zarr_format=3))
    amplitude, mask = store["amplitude"], store.group[TRACE_MASK]
    rows = amplitude.chunks[0]
    starts = list(range(0, amplitude.shape[0], rows))
    picked = [starts[int(k)] for k in np.unique(np.linspace(0, len(starts) - 1, min(len(starts), STATISTICS_ROWS))
                                                 .round().astype(int))]
    summary = stats.StreamingStats(per_block=max(1024, (1 << 20) // max(len(picked), 1)))
    for start in picked:
        block = np.asarray(amplitude[start:start + rows])
        live = np.asarray(mask[start:start + rows], bool)
        summary.update(block[live])
    out = summary.summary()
    out["source"] = (f"computed by seisfuse from {len(picked)} of {len(starts)} chunk rows of inlines (MDIO's "
                     "statsV1 counts nonzero samples only and has no percentiles)")
    return json.loads(json.dumps(out))


def complete_variables(store: MdioStore) -> list[str]:
    """Label and prediction variables of an MDIO store: the arrays of the amplitude's dims that
    are not MDIO's own, less those seisfuse is still writing (a manifest without the marker)."""
    names = []
    for name, array in store.arrays():
        if name == "amplitude" or name in RESERVED or name.startswith("_"):
            continue
        if tuple(array.metadata.dimension_names or ()) != store.dims:
            continue
        attrs = array.attrs
        if ("predict_manifest" in attrs or "ingest_manifest" in attrs) and not attrs.get(COMPLETE):
            continue
        names.append(name)
    return sorted(names)


def create_variable(store: MdioStore, name: str, dtype, attrs: dict | None = None) -> zarr.Array:
    """A variable of the amplitude's shape, dims, chunks and codec, with its coordinates
    attribute (so MDIO's own open_mdio shows it with cdp_x/cdp_y); NaN fill for floats."""
    amplitude = store["amplitude"]
    dtype = np.dtype(dtype)
    fill = np.nan if dtype.kind == "f" else 0
    array = store.group.create_array(name, shape=amplitude.shape, chunks=amplitude.chunks, dtype=dtype,
                                     compressors=amplitude.compressors, fill_value=fill,
                                     dimension_names=store.dims, overwrite=True,
                                     attributes={"coordinates": amplitude.attrs.get("coordinates", "cdp_x cdp_y"),
                                                 **(attrs or {})},
                                     config={"write_empty_chunks": True})
    return array
