"""Training config errors and the gapped spatial split."""

import re

import numpy as np
import pytest

from seisfuse.config.train import load_config
from seisfuse.data.normalize import Normalizer
from seisfuse.data.tiles import Survey, load_survey, sample_tile, training_batch, training_statistics
from seisfuse.data.validation import validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.training.loop import sampling_options, survey_options


def test_unknown_key_names_the_key_and_allowed_keys(small_config):
    with pytest.raises(ConfigError, match=r"unknown key 'optim.lrate' \(allowed: name, lr, weight_decay"):
        load_config(small_config(**{"optim.lrate": 0.1}))


def test_wrong_type_and_value(small_config):
    with pytest.raises(ConfigError, match="train.steps"):
        load_config(small_config(**{"train.steps": "many"}))
    with pytest.raises(ConfigError, match="data.split.val_fraction"):
        load_config(small_config(**{"data.split.val_fraction": 1.5}))
    with pytest.raises(ConfigError, match="optim.schedule"):
        load_config(small_config(**{"optim.schedule": "linear"}))


@pytest.mark.parametrize("key, value, message", [
    ("data.source", "disk", r"data.source: Input should be 'auto', 'memmap' or 'streamed' \(got 'disk'\)"),
    ("data.cache_budget", "lots", r"data.cache_budget: could not parse value and unit from byte string \(got 'lots'\)"),
    ("data.cache_budget", 0, r"data.cache_budget: Input should be greater than 0"),
    ("data.slab_reuse", 0, r"data.slab_reuse: Input should be greater than 0"),
])
def test_tile_source_keys_are_checked(small_config, key, value, message):
    with pytest.raises(ConfigError, match=message):
        load_config(small_config(**{key: value}))
    assert load_config(small_config(**{"data.cache_budget": "512MiB"})).data.cache_budget == 512 * 2**20


@pytest.mark.parametrize("changes, message", [
    ({"optim.momentum": 0.5}, "optim.momentum 0.5 is used by sgd only (adamw keeps its own betas)"),
    ({"data.task": "multiclass", "data.classes": 3, "loss.terms": {"ce": 1.0}, "loss.pos_weight": "auto"},
     "loss.pos_weight auto weighs the positives of a binary task, and data.task is multiclass"),
    ({"distill.weight": 0.3}, "distill.weight / distill.temperature are set but distill.teacher is not"),
])
def test_settings_that_would_change_nothing_are_refused(small_config, changes, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(small_config(**changes))
    fixed = {"optim.momentum": {"optim.name": "sgd"}, "loss.pos_weight": {"loss.pos_weight": None},
             "distill.weight": {"distill.teacher": "teacher.pt"}}
    key = next(k for k in fixed if k in changes)
    assert load_config(small_config(**{**changes, **fixed[key]}))  # the fix the message names is accepted


def test_overrides_parse_values(small_config):
    cfg = load_config(small_config(), ["optim.lr=0.0005", "data.tile=[64, 32]", "train.amp=bf16"])
    assert cfg.optim.lr == 0.0005 and cfg.data.tile == (64, 32) and cfg.train.amp == "bf16"
    with pytest.raises(ConfigError, match="not key=value"):
        load_config(small_config(), ["optim.lr"])


def coordinate_survey(n_il=40, n_xl=30, ns=16, gap=5, val=8):
    """amplitude = inline index: every tile shows which inlines it was cut from."""
    amplitude = np.broadcast_to(np.arange(n_il, dtype=np.float32)[:, None, None], (n_il, n_xl, ns)).copy()
    label = np.zeros((n_il, n_xl, ns), np.uint8)
    valid = np.ones((n_il, n_xl), bool)
    identity = Normalizer("robust_zscore", -1e9, 1e9, 0.0, 1.0)  # tiles keep their coordinate values
    return Survey("s", amplitude, label, valid, (0, n_il - val - gap), (n_il - val, n_il), 0, identity)


@pytest.mark.parametrize("dims, tile", [(2, (16, 8)), (3, (8, 8, 8))])
def test_no_training_tile_reaches_into_the_gap(small_config, dims, tile):
    cfg = load_config(small_config(**{"data.dims": dims, "data.tile": list(tile), "data.augment": {"enabled": False}}))
    survey = coordinate_survey()
    for seed in range(300):
        image, _, _ = sample_tile(survey, cfg.data.tile, np.random.default_rng(seed), survey.train)
        assert image.max() < survey.train[1], seed
    for image, _, _ in validation_tiles(survey, tile=cfg.data.tile, val_stride=cfg.data.val_stride):
        assert image.min() >= survey.val[0]


def test_batches_are_a_function_of_seed_and_step(small_config):
    cfg = load_config(small_config(**{"data.tile": [16, 8]}))
    survey = coordinate_survey()
    a = training_batch([survey], seed=1, step=7, batch=4, **sampling_options(cfg.data))
    b = training_batch([survey], seed=1, step=7, batch=4, **sampling_options(cfg.data))
    c = training_batch([survey], seed=1, step=8, batch=4, **sampling_options(cfg.data))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    halves = [training_batch([survey], 1, 7, 2, offset=o, **sampling_options(cfg.data)) for o in (0, 2)]
    assert np.array_equal(np.concatenate([halves[0][0], halves[1][0]]), a[0])  # ranks' slices = the global batch


def test_a_rebuilt_store_does_not_reuse_a_stale_decoded_copy(small_config, tmp_path):
    import seisfuse
    from seisfuse.data.tiles import load_survey

    path = tmp_path / "same.zarr"
    cfg = load_config(small_config(**{"data.stores": [str(path)]}))
    means = []
    for seed in (1, 2):
        seisfuse.synth(path, shape=(16, 16, 16), seed=seed, n_faults=2, overwrite=True)
        survey = load_survey(str(path), tmp_path / "cache", **survey_options(cfg.data))[0]
        means.append(float(np.asarray(survey.label).mean()))
    assert means[0] != means[1]


def test_normalisation_comes_from_the_live_traces_of_the_training_lines_only(small_config, tmp_path):
    import seisfuse

    rng = np.random.default_rng(0)
    amplitude = rng.normal(3.0, 2.0, (40, 12, 16)).astype(np.float32)
    amplitude[30:] *= 100  # the validation lines (and the gap) look nothing like the training lines
    labels = (rng.random(amplitude.shape) > 0.9).astype(np.uint8)
    store = seisfuse.store_from_array(amplitude, tmp_path / "s.zarr", labels={"fault": labels})
    cfg = load_config(small_config(**{"data.stores": [str(store)], "data.split": {"val_fraction": 0.2, "gap": 2}}))
    survey, normalizer = load_survey(str(store), tmp_path / "cache", **survey_options(cfg.data))
    assert survey.train == (0, 30) and survey.val == (32, 40)
    train_part = amplitude[:30].astype(np.float64)
    assert normalizer.mean == pytest.approx(train_part.mean(), rel=1e-9)
    assert normalizer.std == pytest.approx(train_part.std(), rel=1e-9)
    assert normalizer.high == pytest.approx(np.percentile(train_part, 99.5), rel=1e-6)
    whole = seisfuse.open_store(store).attrs["statistics"]
    assert whole["std"] > 10 * normalizer.std  # what the whole survey's statistics would have given
    saved = list((tmp_path / "cache").glob("normalization-*.json"))
    assert len(saved) == 1  # kept for the next run on the same survey and split, and read back:
    saved[0].write_text(saved[0].read_text().replace(f'"mean": {normalizer.mean!r}', '"mean": 123.0'))
    assert load_survey(str(store), tmp_path / "cache", **survey_options(cfg.data))[1].mean == 123.0

    survey.valid = survey.valid.copy()
    survey.valid[:10] = False  # missing traces are not amplitudes
    stats = training_statistics(survey)
    assert stats["mean"] == pytest.approx(train_part[10:].mean(), rel=1e-9)
    assert stats["count"] == train_part[10:].size


def test_normalisation_is_pooled_over_the_training_stores_whatever_their_order(small_config, tmp_path):
    import seisfuse
    from seisfuse.data.tiles import fit_normalizer

    rng = np.random.default_rng(1)
    a = rng.normal(0.0, 1.0, (20, 10, 16)).astype(np.float32)
    b = rng.normal(5.0, 3.0, (30, 10, 16)).astype(np.float32)
    stores = [str(seisfuse.store_from_array(v, tmp_path / f"{n}.zarr", labels={"fault": (v > 2).astype(np.uint8)}))
              for n, v in (("a", a), ("b", b))]
    cfg = load_config(small_config(**{"data.stores": stores, "data.split": {"val_fraction": 0.2, "gap": 2}}))
    surveys = [load_survey(s, tmp_path / "cache", fit=False, **survey_options(cfg.data))[0] for s in stores]
    settings = dict(normalization=cfg.data.normalization, clip_percentile=cfg.data.clip_percentile,
                    over=cfg.data.normalize_over)
    pooled, swapped = fit_normalizer(surveys, **settings), fit_normalizer(surveys[::-1], **settings)
    both = np.concatenate([a[: surveys[0].train[1]].ravel(), b[: surveys[1].train[1]].ravel()]).astype(np.float64)
    assert pooled.mean == pytest.approx(both.mean(), rel=1e-6) and pooled.std == pytest.approx(both.std(), rel=1e-6)
    assert swapped.mean == pytest.approx(pooled.mean, rel=1e-6)  # reordering data.stores changes nothing
    first = load_config(small_config(**{"data.stores": stores, "data.normalize_over": "first",
                                        "data.split": {"val_fraction": 0.2, "gap": 2}}))
    only_a = fit_normalizer(surveys, **{**settings, "over": first.data.normalize_over})
    assert only_a.mean == pytest.approx(a[: surveys[0].train[1]].mean(), rel=1e-6)


def test_stores_are_drawn_in_proportion_to_their_tile_positions(small_config, tmp_path):
    import seisfuse

    rng = np.random.default_rng(2)
    # the small store's amplitudes are below 1, the large one's above 10: a tile tells its store
    small = rng.random((20, 16, 32)).astype(np.float32)
    large = (10 + rng.random((60, 16, 32))).astype(np.float32)
    stores = [str(seisfuse.store_from_array(v, tmp_path / f"s{len(v)}.zarr",
                                            labels={"fault": (v > 0.9).astype(np.uint8) | (v > 10.9)}))
              for v in (small, large)]
    for sampling in ("positions", "equal"):
        cfg = load_config(small_config(**{"data.stores": stores, "data.store_sampling": sampling,
                                          "data.tile": [16, 32], "data.augment": {"enabled": False},
                                          "data.split": {"val_fraction": 0.1, "gap": 0}}))
        surveys = [load_survey(s, tmp_path / "cache", fit=False, **survey_options(cfg.data))[0] for s in stores]
        from seisfuse.data.tiles import fit_normalizer

        normalizer = fit_normalizer(surveys, normalization=cfg.data.normalization,
                                    clip_percentile=cfg.data.clip_percentile, over=cfg.data.normalize_over)
        for survey in surveys:
            survey.normalizer = normalizer
        threshold = float(normalizer(np.array([5.0]))[0])
        draws = 400
        from_small = sum(float(training_batch(surveys, 0, step, 1, **sampling_options(cfg.data))[0].mean()) < threshold
                         for step in range(draws))
        sizes = [s.training_voxels() for s in surveys]
        expected = sizes[0] / sum(sizes) if sampling == "positions" else 0.5
        assert from_small / draws == pytest.approx(expected, abs=0.07), sampling


@pytest.mark.parametrize("label, task, classes, message", [
    (np.full((2, 2, 2), 0.476, np.float32), "binary", 1, "not whole numbers (e.g. 0.476): a probability"),
    (np.array([[[0, 1], [2, 7]]] * 2, np.uint8), "multiclass", 6, "values 0..7, outside 0..5"),
    (np.array([[[0, 1], [2, 1]]] * 2, np.uint8), "binary", 1, "values 0..2, outside 0..1"),
    (np.array([[[-1, 0], [1, 1]]] * 2, np.int16), "multiclass", 3, "values -1..1, outside 0..2"),
])
def test_labels_that_are_not_class_numbers_are_refused(label, task, classes, message):
    from seisfuse.data.sources import class_labels
    from seisfuse.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        class_labels(label, "s.zarr", label="lab", task=task, classes=classes)
    if label.min() >= 0 and not np.issubdtype(label.dtype, np.floating):
        assert class_labels(label, "s.zarr", label="lab", task="multiclass", classes=8).dtype == np.int64


def test_complex_amplitudes_are_refused(tmp_path):
    import seisfuse
    from seisfuse.errors import GeometryError

    with pytest.raises(GeometryError, match="complex64 cannot be stored"):
        seisfuse.store_from_array(np.zeros((2, 3, 8), np.complex64), tmp_path / "c.zarr")
