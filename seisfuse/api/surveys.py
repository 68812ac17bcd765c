"""Surveys and stores: info, ingest, export, synth, convert, verify, the data sets, and the store as xarray."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from seisfuse import locks, resources
from seisfuse.api._docs import documented
from seisfuse.config import values
from seisfuse.config.quick import checked
from seisfuse.errors import ConfigError, SeisfuseError, StoreError
from seisfuse.io import integrity, schema
from seisfuse.io.arrays import store_from_array, write_variable
from seisfuse.io.export import export_segy
from seisfuse.io.ingest import ingest_segy
from seisfuse.io.survey_info import info as inspect_info

if TYPE_CHECKING:
    import xarray as xr


log = logging.getLogger("seisfuse")


@documented("info")
def info(path, *, iline_byte: int = 189, xline_byte: int = 193, layout: str = "auto", x_byte: int = 181,
         y_byte: int = 185, byteorder: str | None = None, duplicates: str = "error", skip_traces=()) -> dict:
    """Geometry, format, headers and statistics of a SEG-Y file or a store.

    Returns:
        dict: what `seisfuse info` prints (kind, geometry, format, headers, statistics, damage).

    Raises:
        SegyFormatError: a file seisfuse cannot read (named bytes and values).
        GeometryError: traces that form no grid.
        StoreError: a store that is not one.
    """
    a = checked("info", locals(), "seisfuse.info")
    if Path(a.path).is_dir():
        return inspect_info(a.path)
    return inspect_info(a.path, **{k: v for k, v in a.kwargs().items() if k != "path"})


@documented("ingest")
def ingest(src, store, *, var: str = "amplitude", iline_byte: int = 189, xline_byte: int = 193, layout: str = "auto",
           x_byte: int = 181, y_byte: int = 185, byteorder: str | None = None, duplicates: str = "error",
           skip_traces=(), chunks=None,
           workers: int | None = None, scheduler: str | None = None, domain: str = "auto",
           allow_short_tail: bool = False, overwrite: bool = False, force_unlock: bool = False) -> Path:
    """SEG-Y (or .npy) -> store. With var != 'amplitude', adds a label variable to an existing store.

    scheduler: None (threads in this process); 'local', 'slurm:N' or an address: Dask workers.

    Returns:
        Path: the store.

    Raises:
        SegyFormatError, GeometryError: the file or its trace keys (damaged headers are named,
            with --skip-traces as the fix).
        StoreError: an existing store without overwrite.
        DiskError: no room or no right to write.
        LockError: another writer of the same store.
    """
    a = checked("ingest", locals(), "seisfuse.ingest")
    src = Path(a.src)
    resources.output_folder(a.store)
    with locks.guard(a.store, None if a.var == schema.AMPLITUDE else a.var, force=a.force_unlock), \
            resources.writing(f"ingest of {src.name} into {Path(a.store).name}", a.store, again="resumes"):
        if src.suffix.lower() == ".npy":
            if not src.is_file():
                raise SeisfuseError("no such file", where=str(src), fix="check the path")
            values = np.load(src, mmap_mode="r")
            if a.var == schema.AMPLITUDE:
                return store_from_array(values, a.store, overwrite=a.overwrite, chunks=a.chunks)
            write_variable(a.store, a.var, values, overwrite=a.overwrite)
            return Path(a.store)
        return ingest_segy(**a.kwargs(without=("force_unlock",)))


@documented("export")
def export(store, out, *, var: str = "amplitude", fmt: str | None = None, workers: int | None = None,
           overwrite: bool = False) -> Path:
    """A store variable -> SEG-Y under the source's headers (byte-exact for the amplitude).
    fmt: source, ibm or ieee; default source for the amplitude, ieee for other variables.

    Returns:
        Path: the SEG-Y file written.

    Raises:
        StoreError: an incomplete or damaged store, an unknown variable, an existing file without overwrite.
        DiskError: no room or no right to write.
    """
    a = checked("export", locals(), "seisfuse.export")
    resources.output_folder(a.out)
    with resources.writing(f"the export of {a.var!r}", a.out):
        return export_segy(a.store, a.out, var=a.var, fmt=values.export_format(a.fmt, a.var),
                           overwrite=a.overwrite, workers=a.workers)


@documented("synth", survey_options='generator settings as keywords (the same as `settings`)')
def synth(out, *, segy=None, shape=(128, 128, 128), seed: int = 0, task: str = "faults", segy_format: str = "ieee",
          settings: dict | None = None, overwrite: bool = False, force_unlock: bool = False, **survey_options) -> Path:
    """A synthetic faulted survey as a store with `fault` and `facies` labels; with segy,
    also survey.sgy, fault.sgy and facies.sgy written in that folder (IEEE float, or IBM).
    settings (or the same as keywords) go to seisfuse.data.synthetic.make_survey (n_faults,
    peak_hz, snr, faults=[{dip_deg: 40}]...); the others are drawn from the seed.

    Returns:
        Path: the store.

    Raises:
        ConfigError: settings outside the generator's ranges.
        DiskError: no room.
        LockError: another writer.
    """
    a = checked("synth", {**{k: v for k, v in locals().items() if k != "survey_options"},
                          "settings": {**(settings or {}), **survey_options} or None}, "seisfuse.synth")
    from seisfuse.data.synthetic import check_settings, make_survey, memory_needed, text_header

    try:
        check_settings(a.shape, **(a.settings or {}))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"settings: {exc}", where="seisfuse.synth",
                          fix="see seisfuse.data.synthetic.make_survey") from None
    resources.check_memory(memory_needed(a.shape), f"a synthetic survey of shape {a.shape}",
                           "choose a smaller --shape")
    needed = 6 * int(np.prod(a.shape)) + (15 * int(np.prod(a.shape)) if a.segy else 0)
    resources.check_disk(a.out, needed, f"a synthetic survey of shape {a.shape}")
    resources.output_folder(a.out)
    with locks.guard(a.out, force=a.force_unlock), \
            resources.writing(f"the synthetic survey {Path(a.out).name}", a.out, needed=needed):
        survey = make_survey(a.shape, a.seed, **(a.settings or {}))
        # the survey draws its own sample interval (2-4 ms): the store's sample axis carries it
        store = store_from_array(survey.amplitude, a.out, labels={"fault": survey.fault, "facies": survey.facies},
                                 overwrite=a.overwrite, text=text_header(a.seed, a.shape, survey.params),
                                 sample_interval=survey.params["sample_interval_ms"])
        with schema.removed_on_failure(store):  # the SEG-Y files too, or nothing: the same command starts clean
            group = schema.open_group(store, mode="r+")
            group.attrs["synthetic"] = json.loads(json.dumps(survey.params))
            group.attrs["default_label"] = {"faults": "fault", "facies": "facies"}[a.task]
            if a.segy is not None:
                _synthetic_segy(store, Path(a.segy), a.segy_format, a.overwrite)
    return Path(store)


def _synthetic_segy(store: Path, segy_dir: Path, segy_format: str, overwrite: bool) -> None:
    try:
        segy_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if resources.write_failure(exc):
            raise
        raise StoreError(f"cannot create the SEG-Y folder ({exc.strerror})", where=str(segy_dir),
                         fix="choose a writable --segy folder") from None
    written = []
    try:
        export(store, segy_dir / "survey.sgy", fmt={"ieee": "source", "ibm": "ibm"}[segy_format], overwrite=overwrite)
        written.append(segy_dir / "survey.sgy")
        for label in ("fault", "facies"):
            export(store, segy_dir / f"{label}.sgy", var=label, fmt="ieee", overwrite=overwrite)
            written.append(segy_dir / f"{label}.sgy")
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


@documented("convert")
def convert(src, dst, *, overwrite: bool = False, force_unlock: bool = False) -> Path:
    """A seisfuse store -> an MDIO v1 store (through MDIO's own ingest), or an MDIO store -> a
    seisfuse store, by what `src` is; each side keeps what it can hold (seisfuse.io.mdio_convert).

    Returns:
        Path: the store written.

    Raises:
        StoreError: a source of the wrong kind, an MDIO store without file headers, a 2D store, MDIO's ingest failing.
        DiskError, LockError.
    """
    a = checked("convert", locals(), "seisfuse.convert")
    from seisfuse.io.mdio_convert import convert as run_convert

    resources.output_folder(a.dst)
    with locks.guard(a.dst, force=a.force_unlock), resources.writing(f"the conversion into {Path(a.dst).name}", a.dst):
        return run_convert(a.src, a.dst, overwrite=a.overwrite)


@documented("verify")
def verify(store, *, deep: bool = False) -> dict:
    """Every chunk of every variable present (a listing) and, with deep, its checksum read and
    checked. Returns the report: `damaged`, and `damage` naming variable, chunk and lines.

    Returns:
        dict: the report: `damaged`, and `damage` naming variable, chunk and lines.

    Raises:
        StoreError: not a store.
    """
    a = checked("verify", locals(), "seisfuse.verify")
    return integrity.verify(a.store, deep=a.deep)


@documented("datasets")
def datasets(action, name, src, out, *, overwrite: bool = False, force_unlock: bool = False) -> dict:
    """`seisfuse datasets prepare NAME SRC OUT`: a data set's files -> its stores (see
    seisfuse.adapters.prepare, which this checks and calls).

    Returns:
        dict: what was prepared (stores and their counts).

    Raises:
        SeisfuseError: the data set's files missing or malformed (named).
        DiskError, LockError.
    """
    from seisfuse.adapters import prepare

    a = checked("datasets", locals(), "seisfuse.datasets")
    resources.output_folder(a.out)
    with locks.guard(a.out, force=a.force_unlock), resources.writing(f"the {a.name} stores", a.out):
        return prepare(a.name, a.src, a.out, overwrite=a.overwrite)


@documented("labels")
def labels(action, store, src, *, var: str, classes: tuple[str, ...] = (), force_unlock: bool = False) -> dict:
    """`seisfuse labels import STORE SRC --var NAME`: per-line masks (a folder, a ZIP such as the
    viewer's Save, or an image stack named by lines) -> the sparse label variable NAME, each mask
    at its line, every other trace left as it was (unlabelled in a new variable); see
    seisfuse.io.sparse.

    Returns:
        dict: store, var, masks imported, labelled_lines, labelled_pixels, class_names.

    Raises:
        StoreError: a mask of the wrong shape, of an unknown line, of values that are not classes;
            a variable of another dtype.
        LockError, DiskError.
    """
    from seisfuse.io.sparse import import_lines

    a = checked("labels", locals(), "seisfuse.labels")
    with locks.guard(a.store, a.var, force=a.force_unlock), \
            resources.writing(f"the labels {a.var!r} of {Path(a.store).name}", a.store):
        return import_lines(a.store, a.src, a.var, classes=tuple(a.classes))


def open_store(path, chunks="auto") -> xr.Dataset:
    """A complete store as a lazy xarray.Dataset (dask-backed), without unfinished variables.

    Args:
        path: the store.
        chunks: dask chunks ("auto": the store's).

    Returns:
        xarray.Dataset: every complete variable with its coordinates.

    Raises:
        StoreError: not a complete store.
    """
    import xarray as xr

    group = schema.open_group(path)
    integrity.require_intact(group)
    keep = {schema.AMPLITUDE, schema.TRACE_MASK, schema.TRACE_HEADERS, schema.TRACE_INDEX,
            *schema.complete_variables(group)}
    drop = [name for name, _ in group.arrays() if name not in keep and name not in schema.RESERVED]
    return xr.open_zarr(str(path), consolidated=False, drop_variables=drop, chunks=chunks, zarr_format=3)
