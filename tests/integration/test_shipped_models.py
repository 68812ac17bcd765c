"""Shipped models: pipelines/pretrain_faults.yaml end to end in a tiny form (2 training surveys of
32^3, 4 steps) into a temporary registry, then that model as a user meets it: `models list`, the
card, sha256 checks, `predict SURVEY.sgy --model NAME --out OUT.sgy` through the cache store, the
normalisation on the survey's own statistics, and every misuse as one line."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
import zarr

import seisfuse
from seisfuse import shipped
from seisfuse.io import schema

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEEP = {"train/s1000.zarr", "train/s1001.zarr", "val/v2003.zarr", "test/t3000.zarr", "test/t3101.zarr"}


def tiny(pipeline: dict, workdir: Path, into: Path) -> dict:
    """The real pipeline with 2 training surveys, 1 validation and 2 test surveys of 32^3 (one
    drawn, one outside the draws), 4 steps of 2 tiles of 32 x 32, packaged into `into`."""
    out = {**pipeline, "workdir": str(workdir), "steps": []}
    kept = lambda stores: [s for s in stores if s in KEEP]  # noqa: E731
    for step in pipeline["steps"]:
        (kind, options), = step.items()
        if kind == "synth" and options["out"] in KEEP:
            out["steps"].append({"synth": {**options, "shape": [32, 32, 32]}})
        elif kind == "train":
            stores = ["train/s1000.zarr", "train/s1001.zarr", "val/v2003.zarr"]
            out["steps"].append({"train": {"config": str(ROOT / options["config"]), "set": [
                f"data.stores={stores}", "data.split.val_stores=[val/v2003.zarr]", "data.tile=[32, 32]",
                "train.steps=4", "train.batch_size=2", "train.val_every=4", "optim.warmup_steps=0"]}})
        elif kind == "predict" and options["store"] in KEEP:
            out["steps"].append(step)
        elif kind == "baseline":
            out["steps"].append({"baseline": {**options, "store": kept(options["store"]),
                                              "calibrate": kept(options["calibrate"])}})
        elif kind == "evaluate":
            out["steps"].append({"evaluate": {**options, "store": kept(options["store"])}})
        elif kind == "models":
            out["steps"].append({"models": {**options, "into": str(into)}})
    return out


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """(registry folder holding the tiny `faults`, the pipeline's workdir)."""
    root = tmp_path_factory.mktemp("pretrain")
    pipeline = yaml.safe_load((ROOT / "pipelines" / "pretrain_faults.yaml").read_text())
    path = root / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny(pipeline, root / "work", root / "zoo")))
    seisfuse.run(path)
    return root / "zoo", root / "work"


@pytest.fixture
def with_registry(registry, monkeypatch, tmp_path):
    monkeypatch.setenv(shipped.ENV, str(registry[0]))
    monkeypatch.setenv("SEISFUSE_CACHE", str(tmp_path / "cache"))
    return registry[0]


def test_the_pretraining_pipeline_packages_a_model_with_its_card(registry):
    zoo, work = registry
    card = json.loads((zoo / "faults.json").read_text())
    weights = zoo / card["weights"]["file"]
    assert sorted(p.name for p in zoo.iterdir()) == ["faults.json", "faults.pt"]  # no partial files left
    assert card["weights"]["sha256"] == shipped.sha256(weights) and card["weights"]["bytes"] == weights.stat().st_size
    assert card["weights"]["float16_check"]["max_abs_diff"] <= card["weights"]["float16_check"]["tolerance"]
    assert card["weights"]["dtype"] == "float16"
    assert card["architecture"]["model"] == "edge_fusion_unet" and card["architecture"]["options"]["encoder"] == "light"
    assert card["input"]["normalization"] == {"method": "robust_zscore", "clip_percentile": 99.5,
                                              "statistics": "survey"}
    training = card["training"]
    assert training["steps"] == 4 and training["batch_size"] == 2 and training["seed"] == 0
    assert training["recipe"] == "seisfuse run pipelines/pretrain_faults.yaml"
    assert training["config"]["data"]["stores"][0] == "train/s1000.zarr"  # the workdir's paths, not this machine's
    assert [s["store"] for s in training["surveys"]["train"]] == ["s1000.zarr", "s1001.zarr"]
    assert [s["store"] for s in training["surveys"]["validation"]] == ["v2003.zarr"]
    assert training["generator_ranges"]["validation"]["dip_deg"][1] <= 40 < training["generator_ranges"]["train"][
        "dip_deg"][0]  # validation's dips lie outside the training draws
    assert training["compute"]["seconds"] > 0 and training["compute"]["hardware"]["threads"] >= 1
    for scores in (card["scores"]["test"], card["scores"]["baseline"]):
        assert {"ap", "ods_f1", "tolerance_f1@2", "pixels"} <= set(scores) and len(scores["stores"]) == 2
    assert card["scores"]["test"]["pixels"] == card["scores"]["baseline"]["pixels"] == 2 * 32 ** 3
    flags = {s["store"]: s["inside_training_draws"] for s in card["scores"]["test"]["stores"]}
    assert flags["t3101.zarr"] is False  # its 5-sample wavelet is outside the draws
    assert card["limits"][0].startswith("trained on synthetic surveys only")
    baseline = json.loads((work / "eval" / "coherence.json").read_text())
    assert baseline["pred"] == "coherence" and 0 <= baseline["ap"] <= 1


def test_models_list_shows_the_card(with_registry, run_cli):
    code, out, err = run_cli("models", "list")
    assert code == 0, err
    assert out.startswith("faults: fault probability of every sample, from 2D sections")
    assert "0.83 M parameters" in out and "held-out surveys: AP" in out and "1 - coherence: AP" in out
    assert "trained on synthetic surveys only" in out and str(with_registry / "faults.json") in out
    code, out, _ = run_cli("models", "list", "--json")
    assert code == 0 and json.loads(out)[0]["name"] == "faults"
    assert [c["name"] for c in seisfuse.list_models()] == ["faults"]


def test_models_list_with_the_real_registry(run_cli, monkeypatch):
    monkeypatch.delenv(shipped.ENV, raising=False)
    code, out, err = run_cli("models", "list")
    assert code == 0, err
    cards = shipped.available()
    if not cards:
        assert out.startswith("no shipped models in this installation yet") and str(shipped.PACKAGE_DIR) in out
    for card in cards:  # every shipped model's weights match its card
        assert shipped.find(card["name"])[1].is_file()


def _damaged(zoo: Path, tmp_path: Path, how: str) -> Path:
    copy = tmp_path / "zoo"
    shutil.copytree(zoo, copy)
    if how == "changed":
        with open(copy / "faults.pt", "r+b") as f:
            f.seek(200)
            f.write(b"\x00\x01\x02\x03")
    else:
        (copy / "faults.pt").unlink()
    return copy


@pytest.mark.parametrize("how, message", [("changed", "do not match their card"), ("missing", "are missing")])
def test_damaged_weights_are_refused(registry, tmp_path, monkeypatch, run_cli, how, message):
    monkeypatch.setenv(shipped.ENV, str(_damaged(registry[0], tmp_path, how)))
    store = seisfuse.synth(tmp_path / "s.zarr", shape=(16, 16, 32), seed=1)
    code, _, err = run_cli("predict", store, "--model", "faults")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert message in err and "faults.pt" in err and "reinstall seisfuse" in err
    assert "prediction" not in seisfuse.open_store(store)


def test_predict_a_segy_file_with_a_shipped_model_in_one_command(with_registry, tmp_path, run_cli, caplog):
    import segyio

    seisfuse.synth(tmp_path / "syn.zarr", shape=(24, 20, 48), seed=7, segy=tmp_path / "segy")
    survey, out = tmp_path / "segy" / "survey.sgy", tmp_path / "faults.sgy"
    with caplog.at_level(logging.INFO, logger="seisfuse"):
        code, _, err = run_cli("predict", survey, "--model", "faults", "--out", out)
    assert code == 0, err
    [store] = (tmp_path / "cache").glob("survey-*.zarr")
    assert f"ingesting into the cache store {store}" in caplog.text and "SEISFUSE_CACHE" in caplog.text
    assert "model faults: fault probability" in caplog.text and "Not: trained on synthetic surveys only" in caplog.text
    prediction = seisfuse.open_store(store).prediction.values
    with segyio.open(out, ignore_geometry=True) as written, segyio.open(survey, ignore_geometry=True) as source:
        assert written.bin[segyio.BinField.Format] == 5  # IEEE float
        assert bytes(written.text[0]) == bytes(source.text[0])
        for k in (0, 100, source.tracecount - 1):
            assert dict(written.header[k]) == dict(source.header[k])  # the source's headers
        samples = np.stack([written.trace[k] for k in range(written.tracecount)])
    np.testing.assert_array_equal(samples, prediction.reshape(-1, prediction.shape[-1]))
    assert samples.min() >= 0 and samples.max() <= 1
    amplitude_written = (store / "amplitude" / "zarr.json").stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="seisfuse"):
        code, _, err = run_cli("predict", survey, "--model", "faults", "--out", out, "--overwrite")
    assert code == 0, err
    assert "ingested before (the same file)" in caplog.text and "ingesting" not in caplog.text
    assert "predicted before with this model and these settings: reused" in caplog.text
    assert (store / "amplitude" / "zarr.json").stat().st_mtime_ns == amplitude_written  # not ingested again
    assert list((tmp_path / "cache").iterdir()) == [store]


def test_the_survey_own_normalisation_makes_the_amplitude_scale_irrelevant(with_registry, tmp_path):
    amplitude = seisfuse.open_store(seisfuse.synth(tmp_path / "s.zarr", shape=(16, 20, 48), seed=3)).amplitude.values
    unit = seisfuse.predict(amplitude, model="faults")
    loud = seisfuse.predict(amplitude * 1000, model="faults")  # F3-like amplitudes of thousands
    np.testing.assert_allclose(loud, unit, atol=1e-5)
    seisfuse.store_from_array(amplitude * 1000, tmp_path / "loud.zarr")
    seisfuse.store_from_array(amplitude, tmp_path / "unit.zarr")
    for name in ("loud", "unit"):
        seisfuse.predict(tmp_path / f"{name}.zarr", model="faults")
    np.testing.assert_allclose(seisfuse.open_store(tmp_path / "loud.zarr").prediction.values,
                               seisfuse.open_store(tmp_path / "unit.zarr").prediction.values, atol=1e-5)
    # with the checkpoint's own statistics (the training data's) the loud survey is clipped flat: another input
    ckpt = with_registry / "faults.pt"
    assert np.abs(seisfuse.predict(amplitude * 1000, ckpt) - seisfuse.predict(amplitude, ckpt)).max() > 1e-4


@pytest.mark.parametrize("args, message", [
    (["--model", "faults", "--checkpoint", "X"], "checkpoint and model cannot be combined"),
    ([], "nothing to predict with"),
    (["--model", "nofaults"], "no shipped model 'nofaults'"),
    (["--model", "faults", "--out", "EXISTING"], "the output file already exists"),
])
def test_misuse_is_one_line_and_leaves_nothing(with_registry, tmp_path, run_cli, args, message):
    seisfuse.synth(tmp_path / "syn.zarr", shape=(16, 16, 32), seed=2, segy=tmp_path / "segy")
    (tmp_path / "existing.sgy").write_bytes(b"mine")
    args = [str(tmp_path / "existing.sgy") if a == "EXISTING" else a for a in args]
    code, _, err = run_cli("predict", tmp_path / "segy" / "survey.sgy", *args)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert message in err and "Fix:" in err
    if "nofaults" in args:
        assert "choose one of: faults" in err
    assert not (tmp_path / "cache").exists() and (tmp_path / "existing.sgy").read_bytes() == b"mine"


def test_the_checkpoint_comes_second_in_python(with_registry, tmp_path):
    from seisfuse.errors import ConfigError

    store = seisfuse.synth(tmp_path / "s.zarr", shape=(16, 16, 32), seed=1)
    with pytest.raises(ConfigError, match="the survey comes first"):
        seisfuse.predict(str(with_registry / "faults.pt"), store)
    assert os.fspath(seisfuse.predict(store, with_registry / "faults.pt", var="p")) == os.fspath(store)


def test_an_interrupted_ingest_into_the_cache_resumes_and_leaves_nothing_complete(with_registry, tmp_path, run_cli,
                                                                                  monkeypatch):
    from seisfuse.io import ingest as ingest_module

    seisfuse.synth(tmp_path / "syn.zarr", shape=(130, 20, 32), seed=3, segy=tmp_path / "segy")  # 3 chunk rows
    survey, out = tmp_path / "segy" / "survey.sgy", tmp_path / "faults.sgy"
    monkeypatch.setattr(ingest_module, "BLOCK_BYTES", 1)  # a block per chunk
    real, calls = ingest_module._copy_block, []

    def killed_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "_copy_block", killed_on_the_second)
    code, _, err = run_cli("predict", survey, "--model", "faults", "--out", out)
    assert code == 130 and "run the same command again to resume" in err
    [store] = (tmp_path / "cache").glob("survey-*.zarr")
    assert not schema.is_complete(store) and not out.exists()
    done = int(zarr.open_group(str(store))["_ingest_amplitude_done"][:].sum())
    assert 1 <= done < 3
    counted = []
    monkeypatch.setattr(ingest_module, "_copy_block", lambda *a, **k: (counted.append(1), real(*a, **k))[1])
    code, _, err = run_cli("predict", survey, "--model", "faults", "--out", out)
    assert code == 0, err
    assert len(counted) == 3 - done  # only the blocks not done before the interruption
    np.testing.assert_array_equal(seisfuse.open_store(store).amplitude.values,
                                  seisfuse.open_store(tmp_path / "syn.zarr").amplitude.values)
    assert out.is_file()


def test_packaging_misuse_is_one_line(registry, run_cli, tmp_path):
    zoo, work = registry
    code, _, err = run_cli("models", "package", "--name", "x")
    assert code == 2 and "models package needs --run, --scores, --into" in err
    run = ["--run", work / "runs" / "pretrain_faults", "--scores", work / "eval" / "faults.json"]
    code, _, err = run_cli("models", "package", *run, "--name", "faults", "--into", zoo)
    assert code == 2 and "model 'faults' already exists in the registry folder" in err and "--overwrite" in err
    (tmp_path / "unfinished").mkdir()
    shutil.copy(work / "runs" / "pretrain_faults" / "best.pt", tmp_path / "unfinished")
    code, _, err = run_cli("models", "package", "--run", tmp_path / "unfinished", "--scores", run[3], "--name", "x",
                           "--into", tmp_path / "zoo")
    assert code == 2 and "the training run has not finished" in err
    assert not (tmp_path / "zoo").exists() or not list((tmp_path / "zoo").iterdir())
