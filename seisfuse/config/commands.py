"""Every command's parameters, declared once.

One model per `seisfuse` subcommand holds its parameters with their defaults, bounds, choices
and a one-line help. The CLI options (seisfuse.cli), the pipeline step schema
(seisfuse.config.pipeline) and the API keyword defaults (seisfuse.api, checked against these
models by tests/unit/test_commands.py) all come from here, and `check` validates a call the
same way wherever it enters: the message for `--overlap 1`, `overlap: 1` in a pipeline and
`predict(..., overlap=1)` is the same line.

A field's `json_schema_extra` says where it appears: `scopes` (any of cli, step, api; all
three by default), `flags` (CLI spellings, default `--name-with-dashes`), `positional`, and
`path` (a file path that a pipeline step takes relative to its workdir).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AliasChoices,
    BeforeValidator,
    ValidationError,
    model_validator,
)

from seisfuse.config import values
from seisfuse.config.base import describe
from seisfuse.config.params import (  # noqa: F401 - the shared types, also read from here
    ALL,
    NOT_STEP,
    Command,
    Device,
    FilePath,
    HeaderByte,
    Ints,
    Name,
    Names,
    Pairs,
    PanelSpec,
    Probability,
    Region,
    Shape,
    Stores,
    TracePositions,
    Workers,
    _panel,
    _suffix,
    checked,
    param,
)
from seisfuse.errors import ConfigError


class Writes(Command):
    """What every command that writes a store, a variable or a run shares: its writer lock."""

    force_unlock: bool = param(False, "take over the lock of another writer of the same output that no longer runs "
                                      "(check first: two writers corrupt it)", scopes=NOT_STEP)


class SegyKeys(Command):
    """How the traces of a SEG-Y file are placed (shared by info and ingest)."""

    iline_byte: HeaderByte = param(189, "inline key byte location (1-based)")
    xline_byte: HeaderByte = param(193, "crossline key byte location (1-based)")
    layout: Literal["auto", "3d", "2d"] = param(
        "auto", "auto: a cube when the keys form a grid, else (varying offsets: gathers; no grid anywhere: a line) "
                "2d, said in one line; 3d: a cube placed by keys; 2d: lines/gathers in file order")
    x_byte: HeaderByte = param(181, "X coordinate byte location (181 CDP X; source X 73 is used when CDP X/Y are 0)")
    y_byte: HeaderByte = param(185, "Y coordinate byte location (185 CDP Y; source Y 77)")
    byteorder: Literal["big", "little"] | None = param(None, "override byte-order detection")
    duplicates: Literal["error", "first", "last"] = param("error", "what to do with two traces on one cell")
    skip_traces: TracePositions = param((), "leave these traces out of the grid (0-based positions in the file, "
                                            "e.g. 7,1032): traces with damaged headers that a refusal named; "
                                            "recorded, and exported back as they were", metavar="N,N")


class Info(SegyKeys):
    """geometry, format, headers and statistics of a SEG-Y file or store"""

    path: FilePath = param(help="a SEG-Y file or a store", positional=True, path=True)


class Ingest(SegyKeys, Writes):
    """SEG-Y or .npy -> Zarr store (or add a label variable)"""

    src: FilePath = param(help="SEG-Y file (or .npy array)", positional=True, path=True)
    store: FilePath = param(help="the Zarr store to write", positional=True, path=True)
    var: Name = param("amplitude", "variable name; not 'amplitude' adds a label to an existing store")
    chunks: Ints | None = param(None, "chunk sizes, e.g. 64,64,64 (default 64,64,64; 4096,256 for 2D)")
    workers: Workers = param(None, "parallel block workers (default: cores, at most 4)")
    scheduler: str | None = param(None, "copy on Dask workers: 'local', 'slurm:N' or a scheduler address "
                                        "(default: threads in this process)")
    domain: Literal["auto", "time", "depth"] = param("auto", "sample domain (auto: from the headers)")
    allow_short_tail: bool = param(False, "accept a last line that ends early (otherwise a truncated file)")
    overwrite: bool = param(False, "replace an existing store or variable", scopes=NOT_STEP)


class Export(Command):
    """store variable -> SEG-Y under the source's headers"""

    store: FilePath = param(help="the store", positional=True, path=True)
    out: FilePath = param(help="the SEG-Y file to write", positional=True, path=True)
    var: Name = param("amplitude", "the variable to export")
    fmt: Literal["source", "ibm", "ieee"] | None = param(
        None, "sample format (default: source for amplitude, ieee for other variables)", flags=("--format",),
        alias="fmt", names=("format",))
    workers: Workers = param(None, "parallel block workers (default: cores, at most 4)")
    overwrite: bool = param(False, "replace an existing file", scopes=NOT_STEP)

    @property
    def format(self) -> str:
        return values.export_format(self.fmt, self.var)


# The keywords of seisfuse.data.synthetic.make_survey after shape and seed (a test keeps them equal).
SYNTH_SETTINGS = ("n_faults", "snr", "peak_hz", "n_facies", "sample_interval_ms", "phase_deg", "bandpass_hz",
                  "noise_traces", "fold", "faults")


class Synth(Writes):
    """a synthetic faulted survey with fault and facies labels"""

    out: FilePath = param(help="the store to write", positional=True, path=True)
    segy: FilePath | None = param(None, "also write survey.sgy, fault.sgy, facies.sgy in this folder", metavar="DIR",
                             path=True)
    shape: Shape = param((128, 128, 128), "inline, crossline, sample sizes, e.g. 128,128,128")
    seed: int = param(0, "random seed", ge=0)
    task: Literal["faults", "facies"] = param("faults", "both labels are written; the task names the default label")
    segy_format: Literal["ieee", "ibm"] = param("ieee", "sample format of the SEG-Y files")
    settings: Annotated[dict[str, Any] | None, AfterValidator(checked(values.known_keys, *SYNTH_SETTINGS))] = param(
        None, "generator settings, e.g. {peak_hz: 12, snr: 1.5, faults: [{dip_deg: 35}]}: any of "
              f"{', '.join(SYNTH_SETTINGS)}; the others are drawn from the seed", scopes=("step", "api"))
    overwrite: bool = param(False, "replace an existing store", scopes=NOT_STEP)


class Train(Writes):
    """train a model from a config YAML; writes runs/<name>/"""

    config: Any = param(help="a training config YAML (or, in Python, a dict or TrainConfig)", flags=("-c", "--config"))
    overrides: list[str] = param([], "override a config key, e.g. optim.lr=0.0005 (repeatable)", flags=("--set",),
                                 metavar="KEY=VALUE", alias="overrides", names=("set",))
    resume: bool = param(True, "continue from runs/<name>/last.pt when it exists", scopes=("api",))
    overwrite: bool = param(False, "discard an existing run of this name and start again", scopes=NOT_STEP)


class Predict(Writes):
    """predict a whole survey with a trained checkpoint or a shipped model (overlap blending)"""

    volume: Any = param(help="the survey: a store, or a SEG-Y file (ingested into a cache store, reused next "
                             "time) (or, in Python, an xarray.DataArray or numpy array)", positional=True,
                        path=True, metavar="SURVEY", alias="volume", names=("store",))
    checkpoint: Any = param(None, "a checkpoint written by seisfuse train (or, in Python, a model); or give --model",
                            path=True)
    model: Name | None = param(None, "a shipped pretrained model by name (see `seisfuse models list`), e.g. faults; "
                                     "normalised with the survey's own statistics")
    out: FilePath | None = param(None, "also export the prediction as SEG-Y (IEEE float) under the survey's "
                                       "headers", path=True, metavar="OUT.sgy")
    normalization: Literal["auto", "checkpoint", "survey"] = param(
        "auto", "the amplitude statistics the checkpoint's normalisation uses: its training data's (checkpoint) or "
                "the survey's own (survey: any amplitude scale); auto: survey for --model, checkpoint otherwise")
    var: Name = param("prediction", "the variable to write")
    tile: Ints | None = param(None, "tile size, for a model given without a checkpoint", scopes=("api",))
    classes: int = param(1, "classes of a model given without a checkpoint", scopes=("api",), ge=1)
    overlap: float = param(0.5, "overlap of neighbouring tiles, as a fraction of the tile", ge=0, lt=1)
    blend: Literal["gaussian", "hann", "constant"] = param("gaussian", "blend window of overlapping tiles")
    direction: Literal["inline", "crossline", "both"] = param("inline", "section direction of 2D models "
                                                                        "(both: averaged)")
    tta: bool = param(False, "average over lateral flips")
    batch_size: int = param(16, "tiles per forward pass", ge=1)
    output: Literal["probability", "label", "probabilities"] = param(
        "probability", "probability (binary), label (uint8), or probabilities: multi-class labels plus "
                       "<var>_p<k> per class")
    threshold: Probability = param(0.5, "probability threshold of output=label (binary)")
    device: Device = param("auto", "auto, cpu, cuda, cuda:N or mps")
    scheduler: str | None = param(None, "Dask: 'local' or a scheduler address (default: this process)")
    overwrite: bool = param(False, "replace an existing variable (and the --out file)", scopes=NOT_STEP)


class Evaluate(Command):
    """metrics of a prediction variable against a label variable, in one store or pooled over several"""

    store: Stores = param(help="the store, or several (pooled metrics, each store's, pixel counts)",
                          positional=True, path=True)
    pred: Name = param("prediction", "the prediction variable")
    label: Name | None = param(None, "label variable (default: the store's default label, or fault)")
    region: Region | None = param(None, "inline index range START,STOP (stop excluded), e.g. 80,96",
                                  metavar="START,STOP")
    task: Literal["binary", "multiclass"] = param("binary", "binary or multiclass metrics")
    classes: int | None = param(None, "number of classes (multiclass)", ge=2)
    threshold: Probability = param(0.5, "probability threshold (binary)")
    tolerance: int = param(2, "voxels within which a hit counts, for the tolerance F1", ge=0)
    out: FilePath | None = param(None, "also write the metrics to this JSON file", flags=("--out", "--json"), path=True)


class Report(Command):
    """paper tables (Markdown, LaTeX, CSV) and figures from experiment directories"""

    run_dirs: list[FilePath] = param(help="experiment directories", positional=True, path=True, alias="run_dirs",
                                names=("runs",), min_length=1)
    out: FilePath = param("report", "output folder", path=True)
    caption: str = param("seisfuse experiments", "table caption")
    pairs: Pairs = param((), "variant pairs a-b compared seed by seed (their per-seed difference of the main metric, "
                             "its mean and a paired t-test), e.g. efu_new-efu_new_fusion_none", metavar="A-B,A-B")
    panel: Annotated[PanelSpec | None, BeforeValidator(_panel)] = param(
        None, "a section figure: store, label and prediction variables", scopes=("step", "api"))


class Verify(Command):
    """every chunk of a store present (and, with --deep, its checksum)"""

    store: FilePath = param(help="the store", positional=True, path=True)
    deep: bool = param(False, "also read every chunk and check its crc32c checksum")


class Picture(Command):
    """What every picture of a store shares: the store, the variables drawn over the amplitude,
    the colours."""

    store: FilePath = param(help="the store", positional=True, path=True)
    variables: Names = param((), "label/prediction variables drawn over the amplitude, e.g. fault,prediction",
                             flags=("--vars",), alias="variables", names=("vars",), metavar="VAR,VAR")
    clip: float = param(99.0, "percentile of the amplitude at which the colours saturate (symmetric clip)",
                        ge=50, le=100)
    cmap: Literal["gray", "seismic"] = param("gray", "amplitude colours: gray, or seismic (red-white-blue)")
    opacity: Probability = param(0.5, "opacity of the label/prediction layers")


class Plot(Picture):
    """a QC figure of one section: amplitude, labels and predictions, in the survey's units"""

    inline: float | None = param(None, "inline number (the store's own numbering)")
    crossline: float | None = param(None, "crossline number")
    sample: float | None = param(None, "time (ms) or depth (m) of a slice in map view")
    inline_index: int | None = param(None, "inline by array index (0-based)", ge=0)
    crossline_index: int | None = param(None, "crossline by array index", ge=0)
    sample_index: int | None = param(None, "slice by sample index", ge=0)
    aspect: float | None = param(None, "vertical exaggeration (default: true scale at 1 ms = 1 m, exaggerated "
                                       "only to keep the panel within 1:5..5:1)", gt=0)
    out: Annotated[FilePath, _suffix(".png", ".pdf", ".svg")] = param("section.png", "the figure file "
                                                                      "(.png, .pdf or .svg)", path=True)

    @model_validator(mode="after")
    def _one_section(self):
        chosen = [f"--{n.replace('_', '-')}" for n in ("inline", "crossline", "sample", "inline_index",
                                                       "crossline_index", "sample_index")
                  if getattr(self, n) is not None]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)} cannot be combined: one figure shows one section")
        return self


class View(Picture):
    """a self-contained HTML viewer of a store: inline, crossline and slice panels, no server"""

    out: Annotated[FilePath, _suffix(".html", ".htm")] = param("view.html", "the HTML file to write", path=True)
    budget_mb: float = param(50.0, "largest HTML file: the volume is decimated to fit", ge=1, le=2000)
    region: Region | None = param(None, "only the inlines START,STOP (index range, stop excluded)",
                                  metavar="START,STOP")
    label: Name | None = param(None, "a label variable to paint: adds a brush whose save downloads "
                                     "<store>-<label>-labels.zip (stored ZIP) for `seisfuse labels import`: per "
                                     "painted line an 8-bit grey PNG inline_N_mask.png or crossline_N_mask.png (N: "
                                     "line number), full resolution, rows samples, columns the line's traces in "
                                     "store order, value = class, 255 = not painted; and labels.json (store, var, "
                                     "class_names, step, lines: file, direction, line, shape)")
    classes: Names = param((), "class names (0, 1, ...) of a --label variable not in the store", metavar="NAME,NAME")

    @model_validator(mode="after")
    def _classes_of_a_label(self):
        if self.classes and self.label is None:
            raise ValueError("--classes names the classes of the variable to paint: give it with --label NAME")
        return self


class Convert(Writes):
    """a seisfuse store <-> an MDIO v1 store (multidimio), each keeping what it can hold"""

    src: FilePath = param(help="the store to convert: a seisfuse store (becomes MDIO) or an MDIO store (becomes "
                               "a seisfuse store)", positional=True, path=True)
    dst: FilePath = param(help="the store to write", positional=True, path=True)
    overwrite: bool = param(False, "replace an existing store", scopes=NOT_STEP)


class Labels(Writes):
    """labels drawn on a few lines of a survey -> a sparse label variable of the store"""

    action: Literal["import"] = param(help="what to do: import", positional=True)
    store: FilePath = param(help="the survey store to import into", positional=True, path=True)
    src: FilePath = param(help="a folder or ZIP of per-line masks (the viewer's Save), or an image stack "
                               "(datasets prepare image-folder) whose image names are line names. "
                               + values.LINE_NAME_RULE,
                          positional=True, path=True)
    var: Name = param(help="the label variable to write (created all unlabelled if missing; re-import adds lines)")
    classes: Names = param((), "class names, class 0 first (default: the variable's own, or the ZIP's labels.json)",
                           metavar="NAME,NAME")


DATASET_NAMES = ("image-folder", "f3-facies", "tgs-salt", "faultseg3d")  # seisfuse.adapters.DATASETS (a test)


class Datasets(Writes):
    """a data set's downloaded files -> its stores (image folders and the field's benchmarks)"""

    action: Literal["prepare"] = param(help="what to do: prepare", positional=True)
    name: Literal[DATASET_NAMES] = param(help=f"the data set: {', '.join(DATASET_NAMES)}", positional=True)
    src: FilePath = param(help="the folder of the downloaded files", positional=True, path=True)
    out: FilePath = param(help="the store to write (image-folder, tgs-salt) or the folder of its stores "
                               "(f3-facies: train/test1/test2.zarr; faultseg3d: train/, validation/)",
                          positional=True, path=True)
    overwrite: bool = param(False, "replace an existing store", scopes=NOT_STEP)


class Baseline(Writes):
    """a classical fault attribute as a prediction variable: 1 - structure-tensor coherence"""

    store: Stores = param(help="the stores to write it into (scored like a model's prediction by evaluate)",
                          positional=True, path=True)
    var: Name = param("coherence", "the variable to write")
    calibrate: Annotated[list[FilePath], BeforeValidator(checked(values.listed))] = param(
        [], "labelled stores (e.g. the training surveys) on which the best-F1 threshold of 1 - coherence is found; "
            "it is mapped to 0.5 (monotonically: AP and ODS F1 unchanged), so that thresholded scores compare "
            "with a model's at 0.5 (repeatable; default: none, the raw value)", path=True, metavar="STORE")
    label: Name | None = param(None, "label variable of the --calibrate stores (default: each store's default "
                                     "label, or fault)")
    sigma: float = param(2.0, "smoothing of the structure tensor, in samples", gt=0, le=16)
    device: Device = param("auto", "auto, cpu, cuda, cuda:N or mps")
    overwrite: bool = param(False, "replace an existing variable", scopes=NOT_STEP)


class Models(Command):
    """shipped pretrained models: list them, or package a training run as one"""

    action: Literal["list", "package"] = param(
        help="list: the shipped models (name, task, input, size, training data, scores); package: a training "
             "run -> weights and model card in a registry folder", positional=True)
    run: FilePath | None = param(None, "package: the training run directory (runs/<name>)", path=True)
    name: Name | None = param(None, "package: the model's name (what --model takes)")
    scores: FilePath | None = param(None, "package: the evaluation JSON of the model on the held-out surveys "
                                          "(seisfuse evaluate --out)", path=True)
    baseline: FilePath | None = param(None, "package: the evaluation JSON of the classical baseline on the same "
                                            "surveys", path=True)
    recipe: str | None = param(None, "package: the command that reproduces the weights, recorded in the card "
                                     "(e.g. seisfuse run pipelines/pretrain_faults.yaml)")
    into: FilePath | None = param(None, "package: the registry folder to write NAME.pt and NAME.json into",
                                  path=True, metavar="DIR")
    overwrite: bool = param(False, "package: replace a model of that name in the folder", scopes=NOT_STEP)


class Run(Command):
    """run a batch pipeline YAML (pipelines/*.yaml)"""

    pipeline: FilePath = param(help="the pipeline YAML", positional=True)
    prepare: bool = param(False, "only the steps before the first experiment (the data for a job array)")
    list_cells: bool = param(False, "print the experiment runs, one per line: cell, experiment, variant, "
                                    "dataset, seed, status", scopes=("cli",))
    cell: int | None = param(None, "run experiment run number CELL only (e.g. $SLURM_ARRAY_TASK_ID)",
                             scopes=("cli",), ge=0)
    retry_failed: bool = param(True, "report experiment runs that failed before instead of running them again",
                               flags=("--no-retry",))

    @model_validator(mode="after")
    def _one_mode(self):
        chosen = [name for name, on in (("--prepare", self.prepare), ("--list-cells", self.list_cells),
                                        ("--cell", self.cell is not None),
                                        ("--no-retry", not self.retry_failed)) if on]
        if len(chosen) > 1:
            raise ValueError(f"{' and '.join(chosen)} cannot be combined: choose one")
        return self


COMMANDS: dict[str, type[Command]] = {
    "info": Info, "ingest": Ingest, "export": Export, "synth": Synth, "train": Train, "predict": Predict,
    "evaluate": Evaluate, "report": Report, "verify": Verify, "plot": Plot, "view": View, "datasets": Datasets,
    "baseline": Baseline, "models": Models, "convert": Convert, "labels": Labels, "run": Run,
}


def check(model: type[Command], values: dict[str, Any], where: str | None = None) -> Command:
    """Validate one call of a command: a ConfigError (exit 2) naming every bad value, else the model."""
    name = next(k for k, v in COMMANDS.items() if v is model)
    try:
        return model.model_validate({k: v for k, v in values.items() if k in model.model_fields
                                     or k in step_aliases(model)})
    except ValidationError as exc:
        raise ConfigError(describe(exc, "", model), where=where or name,
                          fix=f"see `seisfuse {name} --help`") from None


def step_aliases(model: type[Command]) -> set[str]:
    """Other accepted names of fields (a pipeline's `format`, `set`, `runs`)."""
    names = set()
    for f in model.model_fields.values():
        if isinstance(f.validation_alias, AliasChoices):
            names.update(str(c) for c in f.validation_alias.choices)
    return names
