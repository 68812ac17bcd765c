"""`seisfuse info`: what a SEG-Y file or a store holds, as a dict (the CLI prints it)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seisfuse import stats
from seisfuse.io import integrity, mdio, schema, skipped, sparse
from seisfuse.io import segy_format as sf
from seisfuse.io.segy_file import SegyReader, decode_samples, scan
from seisfuse.io.segy_index import build_index

INFO_TRACES = 4096  # traces read, evenly spaced, for the statistics of a SEG-Y file


def segy_info(path, *, iline_byte: int = 189, xline_byte: int = 193, layout: str = "auto", x_byte: int = 181,
              y_byte: int = 185, byteorder: str | None = None, duplicates: str = "error", skip_traces=()) -> dict:
    seg = scan(path, byteorder)
    with SegyReader(seg) as reader:
        index = build_index(seg, reader, iline_byte=iline_byte, xline_byte=xline_byte, mode=layout,
                            duplicates=duplicates, x_byte=x_byte, y_byte=y_byte, skip_traces=skip_traces)
        picks = np.unique(np.linspace(0, seg.n_traces - 1, min(seg.n_traces, INFO_TRACES)).astype(np.int64))
        values = decode_samples(reader.read_positions(picks)["samples"], seg.sample_format)
    summary = stats.summarize(stats.block_stats(values), stats.subsample(values, 1 << 20))
    grid = index.grid
    return {
        "kind": "segy", "path": str(path), "file_size": seg.file_size,
        "sample_format": f"{seg.sample_format.code} ({seg.sample_format.name})",
        "byteorder": f"{'big' if seg.byteorder == '>' else 'little'}-endian ({seg.byteorder_source})",
        "revision": sf.revision_text(*seg.revision), "text_encoding": seg.text_encoding,
        "extended_text_headers": len(seg.text_headers) - 1, "n_traces": seg.n_traces,
        "n_samples": f"{seg.n_samples} (from {seg.n_samples_source})",
        "sample_interval": f"{seg.sample_interval / 1000:g} {index.sample_unit}",
        "domain": f"{index.domain} ({index.domain_source})",
        "sample_range": f"{index.sample_axis[0]:g}..{index.sample_axis[-1]:g} {index.sample_unit}",
        "geometry": _geometry(grid.dims, grid.axes, grid.shape),
        "layout": f"{index.layout} ({index.layout_source})",
        "key_bytes": f"inline {iline_byte}, crossline {xline_byte}" if index.layout == "3d" else "file order (2d)",
        "coordinates": _ranges(index.ranges, index.coordinate_source),
        "missing_traces": grid.n_missing, "duplicates_dropped": grid.n_duplicates_dropped,
        "dead_traces": _dead(index.n_dead, index.dead_examples()),
        **({"skipped_traces": skipped.describe(index.skipped)} if index.skipped else {}),
        **({"duplicate_examples": list(grid.duplicate_examples)} if grid.duplicate_examples else {}),
        "statistics": {**summary, "from_traces": len(picks)},
        "text_header": sf.decode_text(seg.text_headers[0]),
    }


def _ranges(ranges: dict, source: str) -> str:
    shown = ", ".join(f"{name.replace('_', ' ')} {lo:g}..{hi:g}" for name, r in ranges.items() if r
                      for lo, hi in [r])
    return f"{shown} (x/y from {source})"


def _sample_axis(group) -> str | None:
    """'0..4500 m, interval 20 m (226 samples)': the store's sample coordinate, in its units."""
    if "sample" not in group:
        return None
    axis = group["sample"][:]
    unit = group["sample"].attrs.get("units", "")
    step = f", interval {axis[1] - axis[0]:g} {unit}" if len(axis) > 1 else ""
    return f"{axis[0]:g}..{axis[-1]:g} {unit}{step} ({len(axis)} samples)"


def _dead(n: int | None, examples: list[str] | None) -> int | str | None:
    """Dead/dummy traces (identification code 2/3): kept for export, out of training and metrics."""
    if not n:
        return n
    return f"{n} (identification code 2 or 3: out of training, metrics and statistics; exported as they were), " \
           f"e.g. {'; '.join(examples or [])}"


def _geometry(dims, axes, shape) -> dict:
    out = {}
    for d, n in zip(dims, shape):
        a = axes[d]
        step = int(a[1] - a[0]) if len(a) > 1 else 1
        out[d] = f"{a[0]}..{a[-1]} step {step} ({n})"
    return out


def store_info(path) -> dict:
    group = schema.open_group(path, require_complete=False)
    attrs = dict(group.attrs)
    dims = tuple(attrs.get("spatial_dims", ()))
    variables = {}
    is_mdio = isinstance(group, mdio.MdioStore)
    shown = {schema.AMPLITUDE, *schema.complete_variables(group)} if is_mdio else None
    for name, array in sorted(group.arrays()):
        if name in schema.RESERVED and name != schema.AMPLITUDE or name.startswith("_"):
            continue
        if is_mdio and name not in shown:
            continue
        done = name == schema.AMPLITUDE and attrs.get(schema.COMPLETE) or array.attrs.get(schema.COMPLETE)
        labelled = sparse.describe(array) if done and name != schema.AMPLITUDE else None
        variables[name] = f"{array.dtype} {tuple(array.shape)} chunks {tuple(array.chunks)}" + \
            ("" if done else "  INCOMPLETE") + (f"; {labelled}" if labelled else "")
    out = {
        "kind": "MDIO v1 store" if is_mdio else "store", "path": str(Path(path)),
        **({"mdio": attrs["mdio"]} if is_mdio else {}),
        "complete": bool(attrs.get(schema.COMPLETE, False)),
        "integrity": integrity_state(group),
        "source_file": attrs.get("source_file"),
        "sample_format": f"{attrs.get('sample_format')} ({attrs.get('sample_format_name')})",
        "byteorder": attrs.get("byteorder"),
        "layout": f"{attrs.get('layout', '3d')} ({attrs.get('layout_source', 'given')})",
        **({"collection": _collection(attrs)} if attrs.get("collection") else {}),
        "coordinate_bytes": attrs.get("coordinate_bytes"),
        **({"coordinates": _ranges(attrs["header_ranges"], attrs.get("coordinate_bytes"))}
           if attrs.get("header_ranges") else {}),
        "key_bytes": "file order (2d)" if dims == ("trace",) else
        f"inline {attrs.get('iline_byte')}, crossline {attrs.get('xline_byte')}",
        "domain": f"{attrs.get('domain')} ({attrs.get('domain_source', 'not recorded')})",
        "sample_axis": _sample_axis(group),
        "geometry": _geometry(dims, {d: group[d][:] for d in dims}, group[schema.AMPLITUDE].shape)
        if dims and schema.AMPLITUDE in group else {},
        "missing_traces": attrs.get("n_missing"), "dead_traces": _dead(attrs.get("n_dead"), attrs.get("dead_examples")),
        "duplicates_dropped": attrs.get("n_duplicates_dropped"),
        **({"skipped_traces": skipped.describe(attrs["skipped_traces"])} if attrs.get("skipped_traces") else {}),
        **({"ibm_words_kept": f"{attrs['n_ibm_words_kept']} samples whose IBM words do not re-encode to "
                              "themselves (unnormalised, zero with an exponent, outside float32's range): "
                              "restored on export"} if attrs.get("n_ibm_words_kept") else {}),
        **({"duplicate_examples": attrs["duplicate_examples"]} if attrs.get("duplicate_examples") else {}),
        "variables": variables,
        "statistics": attrs.get("statistics"), "text_header": attrs.get("text_header"),
        "seisfuse_version": attrs.get("seisfuse_version"),
    }
    if is_mdio:  # what seisfuse records and MDIO does not (byte order, key bytes, ...): not shown as None
        out = {k: v for k, v in out.items() if v is not None and "None" not in str(v)}
    return out


def _collection(attrs) -> str:
    """'5 images (a 462 x 951, b 462 x 651, ...), one per inline' for an image stack."""
    names, shapes = attrs.get("image_names", []), attrs.get("image_shapes", [])
    shown = ", ".join(f"{n} {r} x {c}" for n, (r, c) in list(zip(names, shapes))[:2])
    return f"{len(names)} images ({shown}{', ...' if len(names) > 2 else ''}), one per inline"


def integrity_state(group) -> str:
    """damaged (first missing chunk), incomplete, verified (when, deep or not), or complete."""
    if isinstance(group, mdio.MdioStore):
        return ("an MDIO store: no checksums (MDIO writes none) and chunks of only the fill value are not "
                "written, so `seisfuse verify --deep` decodes every chunk present")
    if not group.attrs.get(schema.COMPLETE, False):
        return "incomplete (no completion marker)"
    if not integrity.applies(group):
        return "complete; no checksums (a schema 1 store: re-ingest it to get them)"
    found = integrity.missing(group)
    if found:
        return f"DAMAGED: {len(found)} chunk(s) missing, e.g. {found[0]}; run `seisfuse verify` for the list"
    stamp = group.attrs.get(schema.VERIFIED)
    if stamp:
        return f"verified{' with checksums' if stamp.get('deep') else ''} at {stamp['at']}; every chunk present now"
    return "complete: every chunk present (checksums not read: `seisfuse verify --deep`)"


def info(path, **kwargs) -> dict:
    path = Path(path)
    if path.is_dir():
        return store_info(path)
    return segy_info(path, **kwargs)
