"""Training end to end on a tiny synthetic survey (CPU)."""

import csv
import json
import math
import shutil

import numpy as np
import pytest
import segmentation_models_pytorch
import torch

import seisfuse
from seisfuse.config.train import load_config
from seisfuse.errors import ConfigError, SeisfuseError
from seisfuse.models import checkpoint
from seisfuse.training import loop as train_loop
from seisfuse.training.loop import sampling_options, survey_options
from tests.unit.training.conftest import same_weights, weights


@pytest.mark.slow
def test_training_reduces_loss_and_beats_a_trivial_predictor(small_config):
    cfg = load_config(small_config(**{"train.steps": 150, "train.val_every": 50}))
    summary = seisfuse.train(cfg)
    history = summary["final"]
    rows = [r for r in (cfg.run_dir / "metrics.csv").read_text().splitlines()[1:]]
    first_loss, last_loss = float(rows[0].split(",")[1]), float(rows[-1].split(",")[1])
    assert last_loss < first_loss
    # the trivial predictor (every voxel a fault) has F1 = 2p / (1 + p) for a positive fraction p
    labels = seisfuse.open_store(cfg.data.stores[0]).fault.values
    p = float(labels.mean())
    assert history["ods_f1"] > 2 * (2 * p / (1 + p))
    assert (cfg.run_dir / "best.pt").exists() and (cfg.run_dir / "tensorboard").is_dir()
    state = torch.load(cfg.run_dir / "best.pt", weights_only=True)
    assert state["config"]["name"] == "t" and state["normalization"]["method"] == "robust_zscore"


def test_resume_after_a_kill_equals_an_uninterrupted_run(small_config, monkeypatch, tmp_path):
    full = load_config(small_config(**{"runs_dir": str(tmp_path / "a")}))
    seisfuse.train(full)
    cut = load_config(small_config(**{"runs_dir": str(tmp_path / "b")}))
    real_save = checkpoint.save

    def save_then_die(path, **state):
        real_save(path, **state)
        if state["step"] == 10 and path.name == "last.pt":
            raise KeyboardInterrupt  # killed right after the step-10 checkpoint

    monkeypatch.setattr(checkpoint, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        seisfuse.train(cut)
    monkeypatch.setattr(checkpoint, "save", real_save)
    assert torch.load(cut.run_dir / "last.pt", weights_only=True)["step"] == 10
    summary = seisfuse.train(cut)  # the same call again: resumes at step 10
    assert summary["steps"] == 20
    assert same_weights(weights(full.run_dir / "last.pt"), weights(cut.run_dir / "last.pt"))
    a = (full.run_dir / "metrics.csv").read_text().splitlines()
    b = (cut.run_dir / "metrics.csv").read_text().splitlines()
    strip = lambda rows: [",".join(r.split(",")[:3] + r.split(",")[4:]) for r in rows]  # noqa: E731 - not tiles/s
    assert strip(a) == strip(b)


def test_checkpoint_for_another_model_is_refused(small_config, tmp_path):
    cfg = load_config(small_config(**{"train.steps": 10}))
    seisfuse.train(cfg)
    other = load_config(small_config(**{"train.steps": 20, "model.options": {"encoder_depth": 3, "fusion": "add",
                                                                                "decoder_channels": [32, 16, 8]}}))
    with pytest.raises(ConfigError, match="the checkpoint is for model"):
        seisfuse.train(other)
    bad = tmp_path / "junk.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(SeisfuseError, match="not a readable checkpoint"):
        checkpoint.load(bad)


def test_positive_weight_comes_from_the_training_lines_only(small_config):
    cfg = load_config(small_config())
    surveys = [seisfuse.data.tiles.load_survey(s, cfg.run_dir / ".cache", **survey_options(cfg.data))[0]
               for s in cfg.data.stores]
    label = np.asarray(surveys[0].label)
    train_part = label[: surveys[0].train[1]]
    expected = (train_part.size - train_part.sum()) / train_part.sum()
    assert train_loop.positive_weight(cfg, surveys) == pytest.approx(expected)
    whole = (label.size - label.sum()) / label.sum()
    assert expected != pytest.approx(whole)


@pytest.mark.parametrize("schedule", ["cosine", "onecycle", "plateau", "none"])
def test_schedules_and_optimizers_run(small_config, schedule):
    cfg = load_config(small_config(**{"optim.schedule": schedule, "optim.name": "sgd", "train.steps": 4,
                                      "train.val_every": 2, "train.accumulate": 2, "loss.terms": {"bce": 1.0}}))
    assert seisfuse.train(cfg)["steps"] == 4


def test_multiclass_and_3d_configs_train(small_config):
    facies = load_config(small_config(**{"name": "f", "data.label": "facies", "data.task": "multiclass",
                                         "data.classes": 6, "loss.terms": {"ce": 1.0, "dice": 1.0},
                                         "loss.pos_weight": None, "train.steps": 4, "train.val_every": 4}))
    assert "miou" in seisfuse.train(facies)["final"]
    cube = load_config(small_config(**{"name": "c", "data.dims": 3, "data.tile": [16, 16, 16],
                                       "model.name": "edge_fusion_unet3d", "model.options": {"widths": [4, 8]},
                                       "train.steps": 3, "train.batch_size": 2, "train.val_every": 3}))
    assert seisfuse.train(cube)["steps"] == 3


def test_loader_workers_give_the_same_run(small_config, tmp_path):
    runs = []
    for workers in (0, 2):
        cfg = load_config(small_config(**{"runs_dir": str(tmp_path / f"w{workers}"), "train.steps": 6,
                                          "train.val_every": 6, "train.accumulate": 2,
                                          "train.loader_workers": workers}))
        seisfuse.train(cfg)
        runs.append(weights(cfg.run_dir / "last.pt"))
    assert same_weights(*runs)


def test_distillation_through_the_trainer(small_config, tmp_path):
    teacher_cfg = load_config(small_config(**{"runs_dir": str(tmp_path / "teacher"), "train.steps": 4,
                                              "train.val_every": 4}))
    seisfuse.train(teacher_cfg)
    teacher = str(teacher_cfg.run_dir / "last.pt")
    student = {"model.name": "unet", "model.options": {"encoder_depth": 3, "decoder_channels": [16, 8, 8]},
               "train.steps": 4, "train.val_every": 4}
    plain = load_config(small_config(**{**student, "runs_dir": str(tmp_path / "plain")}))
    zero = load_config(small_config(**{**student, "runs_dir": str(tmp_path / "zero"),
                                       "distill": {"teacher": teacher, "weight": 0.0}}))
    half = load_config(small_config(**{**student, "runs_dir": str(tmp_path / "half"),
                                       "distill": {"teacher": teacher, "weight": 0.5, "temperature": 2.0}}))
    for cfg in (plain, zero, half):
        seisfuse.train(cfg)
    assert same_weights(weights(plain.run_dir / "last.pt"), weights(zero.run_dir / "last.pt"))
    assert not same_weights(weights(plain.run_dir / "last.pt"), weights(half.run_dir / "last.pt"))


def test_foreground_oversampling_draws_more_positive_tiles(small_config):
    from seisfuse.data.tiles import load_survey, training_batch

    rates = []
    for p in (0.0, 1.0):
        cfg = load_config(small_config(**{"data.oversample_foreground": p, "data.tile": [8, 8],
                                          "data.augment": {"enabled": False}}))
        survey = load_survey(cfg.data.stores[0], cfg.run_dir / ".cache", **survey_options(cfg.data))[0]
        _, labels, _ = training_batch([survey], seed=0, step=0, batch=200, **sampling_options(cfg.data))
        rates.append(float(labels.reshape(200, -1).any(axis=1).mean()))
    assert rates[1] > rates[0] and rates[1] > 0.95


def test_early_stopping_ends_the_run(small_config, monkeypatch):
    scores = iter([0.5, 0.4, 0.3, 0.2, 0.1])  # validation only gets worse
    real = train_loop.validate

    def worsening(*args, **kwargs):
        return {**real(*args, **kwargs), "ods_f1": next(scores)}

    monkeypatch.setattr(train_loop, "validate", worsening)
    cfg = load_config(small_config(**{"train.steps": 10, "train.val_every": 2, "train.early_stopping": 2}))
    summary = seisfuse.train(cfg)
    assert summary["steps"] == 6 and summary["best_step"] == 2  # best at the first validation, 2 more, stop


def test_split_by_survey(small_config, tmp_path):
    other = seisfuse.synth(tmp_path / "val.zarr", shape=(24, 24, 32), seed=9, n_faults=2)
    base = small_config()
    stores = [base["data"]["stores"][0], str(other)]
    cfg = load_config(small_config(**{"data.stores": stores, "data.split": {"val_stores": [str(other)]},
                                      "train.steps": 2, "train.val_every": 2}))
    surveys = [seisfuse.data.tiles.load_survey(s, cfg.run_dir / ".cache", **survey_options(cfg.data))[0]
               for s in stores]
    assert surveys[0].train == (0, 48) and surveys[0].val == (48, 48)
    assert surveys[1].train == (0, 0) and surveys[1].val == (0, 24)
    from seisfuse.data.tiles import training_batch

    images, _, _ = training_batch(surveys, 0, 0, 16, **sampling_options(cfg.data))
    assert images.shape[0] == 16
    assert seisfuse.train(cfg)["steps"] == 2
    with pytest.raises(ConfigError, match="must be some, not all"):  # refused when the config is read
        load_config(small_config(**{"data.split": {"val_stores": ["elsewhere.zarr"]}}))


def test_a_run_is_not_resumed_on_changed_data(small_config, tmp_path):
    store = tmp_path / "own.zarr"
    seisfuse.synth(store, shape=(48, 48, 32), seed=3, n_faults=4)
    cfg = load_config(small_config(**{"train.steps": 10, "data.stores": [str(store)]}))
    seisfuse.train(cfg)
    finished = (cfg.run_dir / "last.pt").stat().st_mtime_ns
    seisfuse.synth(store, shape=(48, 48, 32), seed=3, n_faults=4, overwrite=True)  # rebuilt, same data
    assert seisfuse.train(cfg)["steps"] == 10  # a finished run on the same data is simply kept
    assert (cfg.run_dir / "last.pt").stat().st_mtime_ns == finished
    seisfuse.synth(store, shape=(48, 48, 32), seed=4, n_faults=4, overwrite=True)  # new data, same path
    with pytest.raises(ConfigError, match=r"trained on other data: .*own\.zarr changed") as err:
        seisfuse.train(cfg)
    assert "--overwrite" in err.value.fix
    assert seisfuse.train(cfg, overwrite=True)["steps"] == 10  # starting again is the way out


@pytest.mark.slow
def test_compiled_training_saves_plain_checkpoints(small_config):
    """train.compile=true runs through torch.compile (inductor on CPU here) and the checkpoints
    hold the plain model's weights (no `_orig_mod.` prefixes), loadable without compiling."""
    if not (shutil.which("g++") or shutil.which("c++")):
        pytest.skip("torch.compile (inductor) needs a C++ compiler on CPU")
    cfg = load_config(small_config(**{"train.steps": 2, "train.val_every": 2, "train.compile": True}))
    summary = seisfuse.train(cfg)
    assert summary["steps"] == 2 and math.isfinite(summary["best"])
    state = torch.load(cfg.run_dir / "last.pt", weights_only=True)
    assert not [k for k in state["model"] if k.startswith("_orig_mod")]
    model = seisfuse.build_model(cfg.model.name, **cfg.model.options)
    model.load_state_dict(state["model"])


def test_tensorboard_shows_the_same_validation_tiles_and_the_scalars(small_config):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = load_config(small_config(**{"train.steps": 20, "train.val_every": 10}))
    seisfuse.train(cfg)
    events = EventAccumulator(str(cfg.run_dir / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    images = events.Images("val/tiles (amplitude | label | prediction)")
    assert [e.step for e in images] == [10, 20]
    assert len({(e.width, e.height) for e in images}) == 1
    # 4 tiles of 32 x 32 (the sample axis down) in rows of 3 images with 2-pixel gaps
    assert (images[0].width, images[0].height) == (3 * 32 + 2 * 2, 4 * 32 + 3 * 2)
    assert images[0].encoded_image_string != images[1].encoded_image_string  # the prediction changed
    for tag in ("train/loss", "train/lr", "val/ods_f1", "val/val_loss", "train/train_loss"):
        assert tag in tags["scalars"], tag
    per_step = [e.value for e in events.Scalars("train/loss")]
    rows = list(csv.DictReader((cfg.run_dir / "metrics.csv").read_text().splitlines()))
    # metrics.csv's train_loss: the mean of the steps since the previous validation
    assert float(rows[0]["train_loss"]) == pytest.approx(np.mean(per_step[:10]), rel=1e-5)
    assert float(rows[1]["train_loss"]) == pytest.approx(np.mean(per_step[10:20]), rel=1e-5)


def test_a_streamed_survey_trains_through_loader_workers_without_a_copy(small_config, tmp_path):
    runs = []
    for k in range(2):
        cfg = load_config(small_config(**{"runs_dir": str(tmp_path / f"s{k}"), "train.steps": 4, "train.val_every": 4,
                                          "train.loader_workers": 2, "data.source": "streamed",
                                          "data.cache_budget": "4MiB", "data.slab_reuse": 0.2}))
        summary = seisfuse.train(cfg)
        assert summary["steps"] == 4 and np.isfinite(summary["final"]["val_loss"])
        assert not list(cfg.run_dir.rglob("*.npy"))  # the survey was read from the store only
        provenance = json.loads((cfg.run_dir / "provenance.json").read_text())
        assert provenance["data.source"] == {"asked": "streamed", "used": {"faults.zarr": "streamed"}}
        runs.append(weights(cfg.run_dir / "last.pt"))
    assert same_weights(*runs)  # each worker's slabs and tiles are a function of (seed, step)


def test_channels_last_trains_the_same_network(small_config):
    """The layout changes how oneDNN convolves, not what: three steps in either layout end at
    the same weights (to float rounding; SGD, since Adam scales the edge branch's near-zero first
    gradients up to full steps), and a mixed-precision request on the CPU is recorded."""
    runs = []
    for layout in (False, True):
        cfg = load_config(small_config(**{"name": f"layout-{layout}", "train.channels_last": layout,
                                          "train.amp": "bf16", "train.steps": 3, "train.val_every": 3,
                                          "optim.name": "sgd"}))
        seisfuse.train(cfg)
        runs.append(weights(cfg.run_dir / "last.pt"))
        provenance = json.loads((cfg.run_dir / "provenance.json").read_text())
        assert provenance["train.amp"] == {"asked": "bf16", "used": "none", "device": "cpu"}
    assert same_weights(*runs, atol=1e-5)


def test_a_run_saved_with_idle_encoder_stages_is_kept_when_finished_and_refused_when_not(small_config):
    """A checkpoint of an earlier seisfuse holds smp's unused layer3/layer4 (encoder_depth 3):
    the finished run is kept as it is; an unfinished one cannot resume (its optimizer state
    counts those weights) and says how to start again."""
    cfg = load_config(small_config(**{"train.steps": 2, "train.val_every": 2}))
    seisfuse.train(cfg)
    idle = segmentation_models_pytorch.encoders.get_encoder("resnet18", in_channels=1, depth=5).layer3.state_dict()
    saved = torch.load(cfg.run_dir / "last.pt", weights_only=True)
    saved["model"].update({f"raw_encoder.layer3.{k}": v for k, v in idle.items()})
    torch.save(saved, cfg.run_dir / "last.pt")
    assert seisfuse.train(cfg)["steps"] == 2  # finished: kept
    longer = load_config(small_config(**{"train.steps": 4, "train.val_every": 2}))
    with pytest.raises(ConfigError, match="saved with the unused encoder stages") as err:
        seisfuse.train(longer)
    assert "--overwrite" in err.value.fix
