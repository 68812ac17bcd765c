"""Each shipped benchmark pipeline runs end to end on its tiny fixture (a handful of steps, one
seed): prepare, train the three models, score the test split once with the data set's own
metric, and report it beside the reference rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import seisfuse
from tests.unit.adapters.test_benchmarks import _f3, _faultseg, _tgs

pytestmark = [pytest.mark.slow, pytest.mark.integration]
ROOT = Path(__file__).parents[2]
SHORT = ["train.steps=2", "train.val_every=2", "train.batch_size=2", "data.tile=[32, 32]",
         "optim.warmup_steps=1", "train.threads=1"]


def _run(name: str, tmp_path: Path, fixture) -> Path:
    pipeline = yaml.safe_load((ROOT / f"pipelines/benchmarks/{name}.yaml").read_text())
    src = tmp_path / "download"
    fixture(src)
    pipeline["workdir"] = str(tmp_path / "work")
    for step in pipeline["steps"]:
        kind, options = next(iter(step.items()))
        if kind == "datasets":
            options["src"] = str(src)
        if kind == "experiment":
            options["base"] = str(ROOT / options["base"])
            options["seeds"] = [0]
            options["common"] = [*options.get("common", []), *SHORT,
                                 *(["data.split={axis: inline, val_fraction: 0.2, gap: 1}"] if name == "f3_facies"
                                   else [])]
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(pipeline))
    seisfuse.run(path)
    return tmp_path / "work"


def _tests(work: Path, name: str) -> list[dict]:
    found = sorted((work / "experiments" / name).rglob("test.json"))
    assert len(found) == 3  # one per model, seed 0
    return [json.loads(p.read_text()) for p in found]


def test_f3_facies_pipeline_scores_test1_and_test2_together(tmp_path):
    rng = np.random.default_rng(0)
    work = _run("f3_facies", tmp_path, lambda src: _f3(src, rng, {"train": (12, 40, 32), "test1": (6, 40, 32),
                                                                    "test2": (18, 10, 32)}))
    for result in _tests(work, "f3_facies"):
        assert result["pixels"] == (6 * 40 + 18 * 10) * 32 and len(result["iou_per_class"]) == 6
        assert {"pa", "mca", "fwiu", "miou", "class_accuracy"} <= set(result)
    table = (work / "report/test_table.md").read_text()
    assert "Alaudah et al. 2019, section-based (published, other code)" in table and "0.905" in table


def test_tgs_salt_pipeline_scores_the_held_out_fold_with_the_challenge_metric(tmp_path):
    rng = np.random.default_rng(1)
    work = _run("tgs_salt", tmp_path, lambda src: _tgs(src, rng, n=10))
    folds = seisfuse.open_store(work / "tgs.zarr").attrs["image_folds"]
    for result in _tests(work, "tgs_salt"):
        assert result["pixels"] == sum(1 for f in folds if f == 0) * 101 * 101
        assert 0 <= result["challenge"] <= 1 and 0 <= result["challenge_all_empty"] <= 1
    table = (work / "report/test_table.md").read_text()
    assert "every image empty (floor)" in table and "challenge" in table


def test_faultseg3d_pipeline_scores_the_validation_cubes(tmp_path):
    rng = np.random.default_rng(2)
    work = _run("faultseg3d", tmp_path, lambda src: _faultseg(src, rng, n=32))
    for result in _tests(work, "faultseg3d"):
        assert result["pixels"] == 32 ** 3 and {"ap", "ods_f1", "tolerance_f1@2"} <= set(result)
    config = yaml.safe_load(next((work / "experiments/faultseg3d").rglob("config.yaml")).read_text())
    assert len(config["data"]["stores"]) == 2  # the pattern stood for both training cubes
