"""Training on a survey labelled on a few lines: sections come from the labelled training lines,
only labelled pixels carry loss, no validation line (nor its `gap` neighbourhood) ever trains,
validation scores the validation lines' labelled pixels; evaluate counts labelled pixels only;
what cannot work on line labels is refused in one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import zarr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seisfuse
from seisfuse.config.train import TrainConfig
from seisfuse.data.tiles import load_survey, training_batch
from seisfuse.data.validation import validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.training.loop import class_counts, sampling_options, survey_options

pytestmark = pytest.mark.integration
SHAPE = (40, 32, 48)
TRAIN_INLINES, VAL_INLINE, TRAIN_CROSSLINE = (3, 12, 20), 33, 5  # indices; inline numbers are index + 1


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A synthetic survey whose sparse label marks each pixel by its role: class 1 on the
    training lines, class 2 on the validation inline (by data.split.val_lines), 255 elsewhere."""
    root = tmp_path_factory.mktemp("sparse")
    store = seisfuse.synth(root / "s.zarr", shape=SHAPE, seed=2, task="facies")
    masks = root / "masks"
    masks.mkdir()
    for i in TRAIN_INLINES:
        np.save(masks / f"il{i + 1}.npy", np.ones((SHAPE[2], SHAPE[1]), np.uint8))
    np.save(masks / f"xl{TRAIN_CROSSLINE + 1}.npy", np.ones((SHAPE[2], SHAPE[0]), np.uint8))
    np.save(masks / f"il{VAL_INLINE + 1}.npy", np.full((SHAPE[2], SHAPE[1]), 2, np.uint8))
    seisfuse.labels("import", store, masks, var="roles", classes=("none", "train", "val"))
    return store


def config(store, tmp_path, **data) -> TrainConfig:
    return TrainConfig.model_validate({
        "name": "s", "runs_dir": str(tmp_path / "runs"),
        "data": {"stores": [str(store)], "label": "roles", "task": "multiclass", "classes": 3, "tile": [16, 16],
                 "augment": {"enabled": False},
                 "split": {"val_lines": [f"inline {VAL_INLINE + 1}"], "gap": 2}, **data},
        "model": {"name": "edge_fusion_unet", "options": {"encoder_depth": 2, "decoder_channels": [8, 8]}},
        "loss": {"terms": {"ce": 1.0}}, "train": {"steps": 2, "batch_size": 2, "val_every": 2, "threads": 1}})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**31 - 1), step=st.integers(0, 10**6))
def test_training_tiles_hold_labelled_training_pixels_only(survey, tmp_path_factory, seed, step):
    cfg = config(survey, tmp_path_factory.mktemp("c")).data
    s, _ = load_survey(str(survey), tmp_path_factory.getbasetemp() / "cache", **survey_options(cfg))
    _, labels, valid = training_batch([s], seed, step, 8, **sampling_options(cfg))
    assert valid.any(axis=(1, 2)).all()  # every tile is cut along a labelled training line
    assert (labels[valid] == 1).all()  # labelled training pixels only: never unlabelled, never validation
    assert np.isin(labels[~valid], (0, 1)).all()  # the unlabelled code never reaches the loss as a class


def test_the_split_and_the_counts_rest_on_labelled_lines(survey, tmp_path):
    cfg = config(survey, tmp_path).data
    s, _ = load_survey(str(survey), tmp_path / "cache", **survey_options(cfg))
    assert s.lines[0].tolist() == list(TRAIN_INLINES) and s.lines[1].tolist() == [TRAIN_CROSSLINE]
    assert s.val_lines[0].tolist() == [VAL_INLINE] and not len(s.val_lines[1])
    tiles = list(validation_tiles(s, tile=cfg.tile, val_stride=cfg.val_stride))
    scored = np.concatenate([t[1][t[2]] for t in tiles])
    assert scored.size == SHAPE[1] * SHAPE[2]  # the validation inline, each pixel once
    # its trace at the training crossline holds the crossline's label (placed last), scored as such
    assert (scored == 1).sum() == SHAPE[2] and (scored == 2).sum() == (SHAPE[1] - 1) * SHAPE[2]
    # class counts (pos_weight, class weights) from the labelled training pixels only; the
    # crossline's traces within the gap of the validation inline are out
    counts = class_counts([s], 3)
    crossing = len(TRAIN_INLINES)
    train_pixels = (len(TRAIN_INLINES) * SHAPE[1] + SHAPE[0] - crossing - (2 * 2 + 1)) * SHAPE[2]
    assert counts.tolist() == [0, train_pixels, 0]


def test_training_and_evaluation_on_line_labels(survey, tmp_path, run_cli):
    summary = seisfuse.train(config(survey, tmp_path).model_dump(mode="json"))
    assert summary["metric"] == "miou" and 0 <= summary["best"] <= 1
    # a prediction right on every labelled pixel and wrong (class 0) everywhere else scores 1:
    # only the labelled pixels count
    roles = zarr.open_group(survey, mode="r")["roles"][...]
    store = shutil.copytree(survey, tmp_path / "s.zarr")
    seisfuse.write_variable(store, "pred", np.where(roles == 255, 0, roles).astype(np.uint8))
    result = seisfuse.evaluate(store, pred="pred", label="roles", task="multiclass", classes=3)
    labelled = zarr.open_group(survey, mode="r")["roles"].attrs["labelled_pixels"]
    assert result["pixels"] == labelled and result["miou"] == pytest.approx(1.0)


@pytest.mark.parametrize("data, message", [
    ({"dims": 3, "tile": [16, 16, 16]}, "3D cubes would train almost wholly on unlabelled voxels"),
    ({"source": "streamed"}, "not from streamed slabs"),
    ({"split": {"val_lines": ["inline 2"]}}, "names inline 2, not a labelled inline (labelled: 4, 13, 21, 34)"),
    ({"split": {"val_lines": ["inline 4", "inline 13", "inline 21", "inline 34", "crossline 6"], "gap": 0}},
     "none is left to train on"),
    ({"sections": "crossline", "split": {"val_lines": ["crossline 6"]}},
     "data.sections crossline: none of the labelled"),
])
def test_what_line_labels_cannot_train_is_refused(survey, tmp_path, data, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cfg = config(survey, tmp_path, **data).data
        load_survey(str(survey), tmp_path / "cache", **survey_options(cfg))


def test_one_labelled_line_is_refused(tmp_path):
    store = seisfuse.synth(tmp_path / "one.zarr", shape=(16, 16, 32), seed=1, task="facies")
    (tmp_path / "m").mkdir()
    np.save(tmp_path / "m" / "il3.npy", np.zeros((32, 16), np.uint8))
    seisfuse.labels("import", store, tmp_path / "m", var="one", classes=("a", "b"))
    cfg = TrainConfig.model_validate({"name": "o", "data": {"stores": [str(store)], "label": "one", "tile": [32, 32]},
                                      "model": {"name": "unet"}})
    with pytest.raises(ConfigError, match="labelled on one line: none is left to validate on"):
        load_survey(str(store), tmp_path / "cache", **survey_options(cfg.data))
