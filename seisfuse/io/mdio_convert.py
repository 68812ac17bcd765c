"""`seisfuse convert`: a seisfuse store <-> an MDIO v1 store, each side keeping what it can hold.

To MDIO, through MDIO's own ingest (nothing of its schema is reimplemented here): the store is
exported as SEG-Y (byte-exact) beside the output, `multidimio`'s `segy_to_mdio` makes the MDIO
store from it (raw trace headers and file headers kept), in a child process since it spawns
workers of its own; then each label and prediction is added with the amplitude's dims, chunks
and codec. MDIO cannot hold: the IBM source words that do not re-encode to themselves, the
traces skipped by --skip-traces, chunk checksums, 2D lines; its sample coordinate starts at 0
(the delay stays in the trace headers, from which seisfuse reads it back).

From MDIO, through its arrays: the file and trace headers as seisfuse.io.mdio_segy reads them,
the live traces in inline-major order as the trace positions (MDIO does not record the
source's order), NaN samples of missing traces as zeros with their mask, the amplitude as
float32 (MDIO's), every label and prediction; statistics and checksums made here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from seisfuse import stats
from seisfuse.errors import StoreError
from seisfuse.io import mdio, schema
from seisfuse.io import segy_format as sf
from seisfuse.io.arrays import write_variable
from seisfuse.io.chunkio import ChunkIO
from seisfuse.io.export import export_segy
from seisfuse.io.mdio_segy import NO_FILE_HEADERS_FIX, TraceHeaders, binary_header, text_header
from seisfuse.progress import Progress

log = logging.getLogger("seisfuse")
MDIO_ENV = {"MDIO__IMPORT__RAW_HEADERS": "true", "MDIO__IMPORT__SAVE_SEGY_FILE_HEADER": "true"}
# the child that runs MDIO's ingest (its workers are spawned: they re-import the main module)
MDIO_INGEST = """
import json, sys
from seisfuse.io.mdio_convert import run_mdio_ingest
run_mdio_ingest(**json.loads(sys.argv[1]))
"""


def run_mdio_ingest(segy: str, out: str, template: str, key_bytes: list[int], scalar_zero: bool) -> None:
    """MDIO's ingest with the rev-1 spec (byte order inferred from the file, seisfuse's key bytes)."""
    from mdio import segy_to_mdio
    from mdio.builder.template_registry import get_template
    from segy.schema import HeaderField, SegyStandard
    from segy.standards import get_segy_standard

    spec = get_segy_standard(1.0)
    spec.endianness = None  # MDIO reads the byte order from the binary header
    if tuple(key_bytes) != (189, 193):
        spec = spec.customize(trace_header_fields=[HeaderField(name="inline", byte=key_bytes[0], format="int32"),
                                                   HeaderField(name="crossline", byte=key_bytes[1], format="int32")])
    if scalar_zero:  # rev 1 forbids a coordinate scalar of 0, which rev 2 reads as 1 (as seisfuse does)
        spec.segy_standard = SegyStandard.REV2
    segy_to_mdio(segy_spec=spec, mdio_template=get_template(template), input_path=segy, output_path=out,
                 overwrite=True)


def store_to_mdio(src, dst, *, overwrite: bool = False) -> Path:
    group = schema.open_group(src)
    if isinstance(group, mdio.MdioStore):
        raise StoreError("the source is already an MDIO store", where=str(src), fix="give a seisfuse store")
    if schema.spatial_dims(group) != ("inline", "crossline"):
        raise StoreError("a 2D store (trace, sample): seisfuse writes post-stack 3D MDIO stores only", where=str(src),
                         fix="keep it as a seisfuse store, or export it to SEG-Y")
    dst = Path(dst)
    schema.prepare_path(dst, overwrite)
    attrs = group.attrs
    partial = dst.with_name(dst.name + ".partial")
    segy = dst.with_name(dst.name + ".partial.sgy")
    for lost, what in ((attrs.get("n_ibm_words_kept"), "IBM source words that do not re-encode to themselves "
                                                        "(their decoded values are kept)"),
                       (len(attrs.get("skipped_traces") or []), "traces left out by --skip-traces")):
        if lost:
            log.warning("%s: MDIO cannot hold %d %s", Path(src).name, lost, what)
    try:
        export_segy(src, segy, overwrite=True)
        header = group[schema.TRACE_HEADERS][tuple(np.argwhere(group[schema.TRACE_MASK][...])[0])]
        scalar = int(sf.TRACE["coordinate_scalar"].read(header, ">" if attrs["byteorder"] == "big" else "<"))
        job = {"segy": str(segy), "out": str(partial), "template": "PostStack3DTime" if attrs["domain"] == "time"
               else "PostStack3DDepth", "key_bytes": [attrs["iline_byte"], attrs["xline_byte"]],
               "scalar_zero": scalar == 0}
        log.info("%s: MDIO's segy_to_mdio (multidimio) writes the MDIO store", Path(dst).name)
        env = {**os.environ, **MDIO_ENV, "MDIO__IMPORT__CPU_COUNT": os.environ.get("MDIO__IMPORT__CPU_COUNT", "2")}
        done = subprocess.run([sys.executable, "-c", MDIO_INGEST, json.dumps(job)], env=env, capture_output=True,
                              text=True)
        if done.returncode:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise StoreError(f"MDIO's ingest failed: {last}", where=str(dst),
                             fix="pip install 'seisfuse[mdio]' (multidimio); if it is installed, this is MDIO's "
                                 "limit: keep the survey as a seisfuse store")
        target = schema.open_group(partial, mode="r+")
        for name in schema.complete_variables(group):
            write_variable(target, name, group[name], attrs={"long_name": name, "converted_from": str(src)})
        os.replace(partial, dst)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        segy.unlink(missing_ok=True)
    return dst


def mdio_to_store(src, dst, *, chunks=schema.DEFAULT_CHUNKS, overwrite: bool = False) -> Path:
    source = schema.open_group(src)
    if not isinstance(source, mdio.MdioStore):
        raise StoreError("the source is not an MDIO store", where=str(src), fix="give an MDIO v1 store")
    headers = source.file_headers()
    if not headers:
        raise StoreError("the MDIO store kept no SEG-Y file headers, which a seisfuse store keeps for a byte-exact "
                         "export", where=str(src), fix=NO_FILE_HEADERS_FIX)
    binary, order, losses = binary_header(headers, str(src))
    text, lost = text_header(headers.get("textHeader") or "")
    trace_headers = TraceHeaders(source, order)
    for loss in [*losses, *trace_headers.losses, *([f"{lost} text-header characters lost by MDIO"] if lost else [])]:
        log.warning("%s: %s", Path(src).name, loss)
    amplitude, mask = source["amplitude"], np.asarray(source.group["trace_mask"][...], bool)
    shape, code = amplitude.shape, sf.BIN["format"].read(binary, order, base=3201)
    index = np.where(mask, np.cumsum(mask).reshape(mask.shape) - 1, -1)  # inline-major: a sorted file's order
    rows = chunks[0] * max(1, amplitude.chunks[0] // chunks[0])  # whole chunks on both sides
    offset = np.concatenate([trace_headers.rows(a, a + rows)[..., 36:40].copy().view(order + "i4")[..., 0]
                             for a in range(0, shape[0], rows)]).astype(np.int32)
    attrs = schema.root_attributes(
        spatial_dims=("inline", "crossline"), text_headers=[text], binary_header=binary,
        text_encoding=sf.text_encoding(text), sample_format=code if code in sf.SAMPLE_FORMATS else 5,
        byteorder="big" if order == ">" else "little", iline_byte=189, xline_byte=193,
        sample_interval=source.attrs["sample_interval"], sample_unit=source.attrs["sample_unit"],
        domain=source.attrs["domain"], domain_source="the MDIO template", n_traces=int(mask.sum()),
        n_live=int(mask.sum()), n_missing=int(mask.size - mask.sum()), source_file=None,
        converted_from={"mdio": str(Path(src).resolve()), **source.summary()},
        layout="3d", layout_source="an MDIO post-stack store")
    dst = Path(dst)
    schema.prepare_path(dst, overwrite)
    with schema.removed_on_failure(dst):
        group = schema.create_store(
            dst, attrs=attrs, shape=shape, chunks=tuple(chunks), dtype="float32", dims=("inline", "crossline"),
            axes={d: np.asarray(source.group[d][...], np.int64) for d in ("inline", "crossline")},
            sample_axis=source["sample"][...], sample_unit=source.attrs["sample_unit"],
            domain=source.attrs["domain"], source_format=attrs["sample_format"],
            coords={"cdp_x": np.asarray(source.group["cdp_x"][...], np.float64),
                    "cdp_y": np.asarray(source.group["cdp_y"][...], np.float64), "offset": offset})
        io = {name: ChunkIO(group[name], atomic=False) for name in (schema.AMPLITUDE, *schema.TRACE_ARRAYS)}
        summary = stats.StreamingStats()
        with Progress(-(-shape[0] // rows), f"convert {Path(src).name} -> {dst.name}", unit="chunk row") as bar:
            for start in range(0, shape[0], rows):
                block = (slice(start, min(start + rows, shape[0])),)
                live = mask[block]
                values = np.where(live[..., None], np.nan_to_num(np.asarray(amplitude[block])), 0).astype(np.float32)
                io[schema.AMPLITUDE].write(block, values)
                io[schema.TRACE_MASK].write(block, live)
                io[schema.TRACE_INDEX].write(block, index[block])
                io[schema.TRACE_HEADERS].write(block, np.where(live[..., None], trace_headers.rows(
                    block[0].start, block[0].stop), 0))
                summary.update(values[live])
                bar.update()
        for name in schema.complete_variables(source):
            write_variable(group, name, source[name])
        schema.mark_complete(group, schema.AMPLITUDE, summary.summary())
    return dst


def convert(src, dst, *, overwrite: bool = False) -> Path:
    """seisfuse store -> MDIO store, or MDIO store -> seisfuse store, by what SRC is."""
    if Path(src).is_file():
        raise StoreError("convert takes a store (a folder), not a file", where=str(src),
                         fix="ingest a SEG-Y file first (seisfuse ingest SRC.sgy STORE.zarr), then convert the store")
    source = schema.open_group(src)
    if isinstance(source, mdio.MdioStore):
        if Path(dst).suffix.lower() == ".mdio":
            raise StoreError(f"the source is already an MDIO store, and converting it writes a seisfuse store, not "
                             f"the MDIO store that the name {Path(dst).name} promises", where=str(src),
                             fix="name the output STORE.zarr (or copy the MDIO store as it is)")
        return mdio_to_store(src, dst, overwrite=overwrite)
    return store_to_mdio(src, dst, overwrite=overwrite)
