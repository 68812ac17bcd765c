"""Training on image stacks (sections and image collections): tiles never cross images, the
split is by image, padding is never learned or scored, validation counts each pixel once; and
the defaults that depend on the task (cross-entropy for classes, positive weighting only for
rare positives)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import seisfuse
from seisfuse.adapters import write_image_stack
from seisfuse.config.train import load_config
from seisfuse.data.tiles import load_survey, training_batch
from seisfuse.data.validation import validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.training.loop import sampling_options, survey_options


@pytest.fixture
def stack(tmp_path):
    """Three images whose amplitudes tell which image a pixel is from (k * 100 + noise): two
    40 traces wide, one 28 (padded with missing traces), all 24 rows (smaller than the tile)."""
    rng = np.random.default_rng(0)
    pairs = []
    for k, (name, width) in enumerate((("a", 40), ("b", 28), ("c", 40))):
        image = (k * 100 + rng.random((24, width))).astype(np.float32)
        pairs.append((name, image, (image % 1 > 0.7).astype(np.uint8)))
    write_image_stack(pairs, tmp_path / "stack.zarr")
    return str(tmp_path / "stack.zarr")


def _config(small_config, store, **changes):
    return load_config(small_config(**{"data.stores": [store], "data.label": "label", "data.tile": [32, 32],
                                       "data.augment": {"enabled": False}, "data.normalization": "robust_minmax",
                                       "data.clip_percentile": 99.5, **changes}))


def test_tiles_stay_inside_one_image_and_never_learn_the_padding(small_config, stack, tmp_path):
    cfg = _config(small_config, stack, **{"data.split": {"val_images": ["a"]}})
    survey = load_survey(stack, tmp_path / "cache", **survey_options(cfg.data))[0]
    assert survey.images and survey.directions == (0,) and survey.train == (0, 2) and survey.val == (2, 3)
    raw = survey.amplitude  # the copy holds the validation image last
    assert raw[2, 0, 0] < 1 and raw[0, 0, 0] > 100  # a (image 0) moved last; b, c train
    for step in range(40):
        x, y, valid = training_batch([survey], 0, step, 4, **sampling_options(cfg.data))
        for tile, v in zip(x[:, 0], valid):
            # undo the normalisation: every live pixel of a tile comes from one training image
            raw_tile = tile * (survey.normalizer.high - survey.normalizer.low) / 2 + (
                survey.normalizer.high + survey.normalizer.low) / 2
            images = set(np.floor(raw_tile[v] / 100).astype(int).tolist())
            assert len(images) == 1 and images <= {1, 2}
            assert not v[:, 24:].any()  # rows below the image (reflection padding) never count
            assert v.any()  # never a tile of padding only


def test_validation_scores_each_pixel_of_the_validation_image_once(small_config, stack, tmp_path):
    cfg = _config(small_config, stack, **{"data.split": {"val_images": ["b"]}, "data.val_stride": 0.5})
    survey = load_survey(stack, tmp_path / "cache", **survey_options(cfg.data))[0]
    tiles = validation_tiles(survey, tile=cfg.data.tile, val_stride=cfg.data.val_stride)
    counted = sum(int(v.sum()) for _, _, v in tiles)
    assert counted == 28 * 24  # image b: 28 live traces of 24 samples, overlapping tiles or not


def test_a_stack_is_refused_where_it_would_be_cut_across_images(small_config, stack, tmp_path):
    for changes, message in [({"data.sections": "crossline"}, "run across unrelated images"),
                             ({"data.split": {"val_images": ["zz"]}}, "not images of this stack"),
                             ({"data.split": {"val_images": ["a", "b", "c"]}}, "none is left to train on")]:
        with pytest.raises(ConfigError, match=message):
            load_survey(stack, tmp_path / "cache", **survey_options(_config(small_config, stack, **changes).data))


def test_training_on_a_stack_gives_finite_losses(small_config, stack):
    cfg = _config(small_config, stack, **{"data.split": {"val_images": ["c"]}, "train.steps": 6,
                                          "train.val_every": 3})
    summary = seisfuse.train(cfg)
    assert np.isfinite(summary["final"]["train_loss"]) and np.isfinite(summary["final"]["val_loss"])


def test_multiclass_defaults_to_cross_entropy(small_config):
    cfg = load_config(small_config(**{"data.task": "multiclass", "data.classes": 4, "data.label": "facies"}) |
                      {"loss": {}})
    assert cfg.loss.terms == {"ce": 1.0}
    kept = load_config(small_config(**{"data.task": "multiclass", "data.classes": 4, "loss.terms": {"dice": 1.0}}))
    assert kept.loss.terms == {"dice": 1.0}
    assert load_config(small_config() | {"loss": {}}).loss.terms == {"bce": 1.0}


def test_positives_are_weighted_only_when_rare(small_config, tmp_path):
    from seisfuse.training.loop import positive_weight

    rng = np.random.default_rng(3)
    amplitude = rng.normal(size=(30, 16, 16)).astype(np.float32)
    faults = (rng.random(amplitude.shape) < 0.03).astype(np.uint8)  # one-voxel faults: 3 %
    salt = np.zeros_like(faults)
    salt[..., 12:] = 1  # a salt body: 25 %
    store = seisfuse.store_from_array(amplitude, tmp_path / "s.zarr", labels={"fault": faults, "salt": salt})
    weights = {}
    for label in ("fault", "salt"):
        for choice in ("rare", "auto"):
            cfg = load_config(small_config(**{"data.stores": [str(store)], "data.label": label,
                                              "loss.pos_weight": choice, "data.split": {"gap": 0}}))
            survey = load_survey(str(store), tmp_path / "cache", **survey_options(cfg.data))[0]
            weights[label, choice] = positive_weight(cfg, [survey])
    assert weights["fault", "rare"] == pytest.approx(weights["fault", "auto"]) and weights["fault", "rare"] > 20
    assert weights["salt", "rare"] is None and weights["salt", "auto"] == pytest.approx(3.0, rel=0.01)


def test_a_2d_line_trains_split_along_its_traces(small_config, tmp_path):
    rng = np.random.default_rng(6)
    section = np.arange(200, dtype=np.float32)[:, None] + 0.01 * rng.random((200, 32), dtype=np.float32)
    label = np.zeros((200, 32), np.uint8)
    label[160:] = 1  # the validation traces are all "fault": a tile shows where it came from
    label[:150:7] = 1
    store = seisfuse.store_from_array(section, tmp_path / "line.zarr", labels={"fault": label})
    cfg = load_config(small_config(**{"data.stores": [str(store)], "data.tile": [32, 32],
                                      "data.augment": {"enabled": False}, "data.normalization": "robust_minmax",
                                      "data.split": {"val_fraction": 0.2, "gap": 4}}))
    survey = load_survey(str(store), tmp_path / "cache", **survey_options(cfg.data))[0]
    assert survey.amplitude.shape == (1, 200, 32) and survey.axis == 1 and survey.directions == (0,)
    assert survey.train == (0, 156) and survey.val == (160, 200)
    for step in range(30):  # training tiles from the training traces only (the amplitude is the trace number)
        x, _, _ = training_batch([survey], 0, step, 2, **sampling_options(cfg.data))
        n = survey.normalizer
        traces = x[:, 0] * (n.high - n.low) / 2 + (n.high + n.low) / 2
        assert traces.max() < 156.5
    tiles = list(validation_tiles(survey, tile=cfg.data.tile, val_stride=cfg.data.val_stride))
    assert all(t[1][t[2]].all() for t in tiles)  # validation pixels from the validation traces only
    assert sum(int(t[2].sum()) for t in tiles) == 40 * 32  # each validation pixel once
    summary = seisfuse.train(load_config(small_config(**{"data.stores": [str(store)], "data.tile": [32, 32],
                                                         "train.steps": 4, "train.val_every": 4})))
    assert np.isfinite(summary["final"]["train_loss"])


def test_class_weights_come_from_the_training_images_only(small_config, stack):
    import zarr

    from seisfuse.losses import class_weights

    cfg = _config(small_config, stack, **{"data.task": "multiclass", "data.classes": 2, "loss": {
        "terms": {"ce": 1.0}, "pos_weight": None, "class_weight": "median_frequency"},
                                          "data.split": {"val_images": ["b"]}, "train.steps": 2, "train.val_every": 2})
    seisfuse.train(cfg)
    g = zarr.open_group(stack, mode="r")
    label, live = g["label"][:], g["trace_mask"][:]
    counts = [int(((label[k] == c) & live[k][:, None]).sum()) for c in (0, 1) for k in (0, 2)]  # a and c train
    expected = class_weights([counts[0] + counts[1], counts[2] + counts[3]])
    written = json.loads((cfg.run_dir / "provenance.json").read_text())["loss.class_weight"]
    assert written["asked"] == "median_frequency" and written["used"] == pytest.approx(expected, rel=1e-5)
    with_b = class_weights([int(((label == c) & live[..., None]).sum()) for c in (0, 1)])
    assert with_b != pytest.approx(expected)  # the validation image would change them


@pytest.mark.parametrize("changes, message", [
    ({"loss": {"terms": {"bce": 1.0}, "class_weight": "median_frequency"}}, "and this run has data.task binary"),
    ({"data.task": "multiclass", "data.classes": 3, "loss": {"terms": {"dice": 1.0}, "pos_weight": None,
                                                             "class_weight": "median_frequency"}}, "has no ce term"),
])
def test_a_class_weight_that_would_weigh_nothing_is_refused(small_config, changes, message):
    with pytest.raises(ConfigError, match=message):
        load_config(small_config(**changes))
