"""Leave-one-image-out folds (`folds: by_image`): cells, the split of each fold (no leakage),
the refusals, the pooled report (a known answer from hand-made run folders), "learned at
all", and a whole pipeline on a tiny image stack with --list-cells and --cell."""

from __future__ import annotations

import csv
import json
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

import seisfuse
from seisfuse.adapters import write_image_stack
from seisfuse.config import load_config, load_pipeline
from seisfuse.config.pipeline import ExperimentStep
from seisfuse.data.tiles import load_survey, training_batch
from seisfuse.errors import ConfigError
from seisfuse.experiments.folds import learned_rows, pool_folds
from seisfuse.experiments.report import pair_rows, table_rows
from seisfuse.experiments.spec import GridSpec, cell_dir, cell_overrides, grid_cells
from seisfuse.training.loop import sampling_options, survey_options

NAMES = ("a", "b", "c")
BASE = {"name": "f", "data": {"stores": ["unused"], "label": "label", "task": "multiclass", "classes": 3,
                              "tile": [32, 32], "augment": {"enabled": False}, "normalization": "robust_minmax"},
        "model": {"name": "edge_fusion_unet", "options": {"encoder_depth": 3, "decoder_channels": [16, 8, 8]}},
        "train": {"steps": 2, "batch_size": 2, "val_every": 2, "threads": 1}}


def _images(rng):
    """Three images whose amplitudes tell which image a pixel is from (k * 100 + noise), 32 rows,
    40, 28 and 40 traces wide, with classes 0..2 by depth."""
    out = []
    for k, (name, width) in enumerate(zip(NAMES, (40, 28, 40))):
        image = (k * 100 + rng.random((32, width))).astype(np.float32)
        mask = np.repeat(np.array([0] * 10 + [1] * 12 + [2] * 10, np.uint8)[:, None], width, 1)
        out.append((name, image, mask))
    return out


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    root = tmp_path_factory.mktemp("stacks")
    write_image_stack(_images(np.random.default_rng(0)), root / "s1.zarr")
    write_image_stack(_images(np.random.default_rng(1)), root / "s2.zarr")
    write_image_stack(_images(np.random.default_rng(2))[:1], root / "one.zarr")
    seisfuse.store_from_array(np.zeros((4, 6, 32), np.float32), root / "survey.zarr",
                              labels={"label": np.zeros((4, 6, 32), np.uint8)})
    (root / "base.yaml").write_text(yaml.safe_dump(BASE))
    return root


def _spec(root, **changes) -> GridSpec:
    values = {"name": "g", "base": str(root / "base.yaml"),
              "datasets": {"one": str(root / "s1.zarr"), "two": str(root / "s2.zarr")},
              "variants": {"v1": [], "v2": ["model.options.fusion=none"]}, "seeds": [0, 1], "folds": "by_image"}
    return GridSpec(**{**values, **changes})


def test_folds_expand_to_cells_variants_x_datasets_x_folds_x_seeds(stacks):
    spec = _spec(stacks)
    cells = grid_cells(spec)
    assert len(cells) == 2 * 2 * 3 * 2
    assert cells[:7] == [("v1", "one", f, s) for f in NAMES for s in (0, 1)] + [("v1", "two", "a", 0)]
    assert len(set(cells)) == len(cells)
    assert cell_dir(Path("out"), cells[3]) == Path("out/v1/one/fold_b/seed1")
    plain = grid_cells(_spec(stacks, folds=None))  # without folds: as before, no fold in the path
    assert len(plain) == 2 * 2 * 2 and cell_dir(Path("out"), plain[0]) == Path("out/v1/one/seed0")


def test_each_fold_validates_its_image_and_never_trains_on_it(stacks, tmp_path):
    spec = _spec(stacks, datasets={"one": str(stacks / "s1.zarr")}, variants={"v1": []}, seeds=[0])
    for cell in grid_cells(spec):
        held_out = NAMES.index(cell.fold)
        cfg = load_config(spec.base, cell_overrides(spec, cell, tmp_path / cell.fold / "seed0"))
        assert cfg.data.split.val_images == [cell.fold] and cfg.data.stores == [str(stacks / "s1.zarr")]
        survey = load_survey(cfg.data.stores[0], tmp_path / cell.fold / "cache", **survey_options(cfg.data))[0]
        source = np.floor(np.asarray(survey.amplitude) / 100).astype(int)  # which image each pixel came from
        val, train = slice(*survey.val), slice(*survey.train)
        assert survey.val[1] - survey.val[0] == 1 and set(source[val][survey.valid[val]].ravel()) == {held_out}
        assert set(source[train][survey.valid[train]].ravel()) == set(range(3)) - {held_out}
        normalizer = survey.normalizer
        for step in range(10):  # and no training tile holds a pixel of the held-out image
            x, _, valid = training_batch([survey], 0, step, 4, **sampling_options(cfg.data))
            raw = x[:, 0] * (normalizer.high - normalizer.low) / 2 + (normalizer.high + normalizer.low) / 2
            assert held_out not in set(np.floor(raw[valid] / 100).astype(int).tolist())


@pytest.mark.parametrize("changes, message", [
    ({"common": ["data.split.val_images=[a]"]}, "variant v1 sets data.split.val_images"),
    ({"variants": {"v1": [], "v2": ["data.split={val_fold: 1}"]}}, "variant v2 sets data.split.val_fold"),
    ({"datasets": {"s": "SURVEY"}}, "is a survey"),
    ({"datasets": {"s": "ONE"}}, "holds 1 image: a fold needs another one to train on"),
    ({"datasets": {"s": "MISSING"}}, "which is not prepared yet"),
    ({"datasets": {"s": "S1, S2"}}, "needs one image stack per dataset"),
    ({"folds": "by_trace"}, "unknown folds 'by_trace'"),
])
def test_folds_are_refused_where_they_cannot_hold_out_one_image(stacks, changes, message):
    paths = {"SURVEY": "survey.zarr", "ONE": "one.zarr", "MISSING": "nothing.zarr", "S1": "s1.zarr", "S2": "s2.zarr"}
    if "datasets" in changes:
        value = changes["datasets"]["s"]
        changes = {"datasets": {"s": re.sub(r"[A-Z0-9]+", lambda m: str(stacks / paths[m.group()]), value)}}
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        grid_cells(_spec(stacks, **changes))
    assert caught.value.fix and "\n" not in str(caught.value)


def test_an_experiment_step_refuses_folds_with_a_test_split():
    with pytest.raises(ValueError, match="folds and test do not go together"):
        ExperimentStep(name="e", base="b.yaml", datasets={"d": "s.zarr"}, variants={"v": []}, folds="by_image",
                       test={"d": ["t.zarr"]})


# hand-made folds: 3 classes, the confusion matrix (rows truth, columns prediction) of each fold
FOLD_A = [[5, 1, 0], [0, 2, 0], [1, 0, 0]]
FOLD_B = [[3, 0, 0], [1, 1, 0], [0, 0, 4]]
FOLD_C = [[2, 0, 0], [0, 0, 0], [0, 2, 2]]


def _write_run(root: Path, variant: str, seed: int, fold: str, confusion, order: int) -> None:
    run = root / variant / "d" / f"fold_{fold}" / f"seed{seed}"
    run.mkdir(parents=True)
    meta = {"experiment": "e", "variant": variant, "order": order, "dataset": "d", "seed": seed,
            "reference": "ref", "published": {}, "fold": fold, "folds": list(NAMES)}
    (run / "experiment.json").write_text(json.dumps(meta))
    own = {"step": 2, "miou": 0.0, "pa": 0.0, "mca": 0.0, "fwiu": 0.0}  # a run's own figures: not used when pooled
    (run / "summary.json").write_text(json.dumps({"final": own}))
    (run / "config.yaml").write_text(yaml.safe_dump({"data": {"task": "multiclass", "tile": [32, 32]}}))
    (run / "validation.json").write_text(json.dumps({"step": 2, "task": "multiclass", "confusion": confusion,
                                                     "pixels": int(np.sum(confusion))}))


# seed 1 of ref: class 2 predicted perfectly where it is
SEED1 = {"a": [[5, 1, 0], [0, 2, 0], [0, 0, 1]], "b": FOLD_B, "c": [[2, 0, 0], [0, 0, 0], [0, 0, 4]]}


@pytest.fixture
def hand_made(tmp_path):
    """ref: seeds 0 and 1 with all folds; new: seed 0 complete (every matrix doubled on the
    diagonal), seed 1 without fold c."""
    for fold, m in zip(NAMES, (FOLD_A, FOLD_B, FOLD_C)):
        _write_run(tmp_path, "ref", 0, fold, m, 0)
        _write_run(tmp_path, "ref", 1, fold, SEED1[fold], 0)
        doubled = [[v * (2 if i == j else 1) for j, v in enumerate(row)] for i, row in enumerate(m)]
        _write_run(tmp_path, "new", 0, fold, doubled, 1)
        if fold != "c":
            _write_run(tmp_path, "new", 1, fold, doubled, 1)
    return tmp_path


def test_pooled_confusion_is_the_sum_of_the_folds_by_hand(hand_made):
    from seisfuse.experiments.report import collect

    pooled, note = pool_folds(collect([hand_made]))
    ref0 = next(r for r in pooled if r["variant"] == "ref" and r["seed"] == 0)
    # FOLD_A + FOLD_B + FOLD_C = [[10, 1, 0], [1, 3, 0], [1, 2, 6]], worked out by hand
    iou = [Fraction(10, 11 + 12 - 10), Fraction(3, 4 + 6 - 3), Fraction(6, 9 + 6 - 6)]
    assert ref0["final"]["iou_class0"] == pytest.approx(float(iou[0]))
    assert ref0["final"]["iou_class1"] == pytest.approx(float(iou[1]))
    assert ref0["final"]["iou_class2"] == pytest.approx(float(iou[2]))
    assert ref0["final"]["miou"] == pytest.approx(float(sum(iou) / 3))
    assert ref0["final"]["pa"] == pytest.approx(19 / 24) and ref0["pixels"] == 24
    freq = [Fraction(11, 24), Fraction(4, 24), Fraction(9, 24)]
    assert ref0["final"]["fwiu"] == pytest.approx(float(sum(f * i for f, i in zip(freq, iou))))
    assert ref0["final"]["mca"] == pytest.approx(float((Fraction(10, 11) + Fraction(3, 4) + Fraction(6, 9)) / 3))
    # not the mean of the folds' own mIoU: pooling weighs every pixel once
    per_fold = np.mean([_miou(m) for m in (FOLD_A, FOLD_B, FOLD_C)])
    assert ref0["final"]["miou"] != pytest.approx(per_fold)
    new1 = next(r for r in pooled if r["variant"] == "new" and r["seed"] == 1)
    assert new1["status"] == "incomplete folds"
    assert note == ["- new / d / seed 1: left out of the pooled figures, 1 of 3 folds not finished: c (not started)\n"]


def _miou(confusion) -> float:
    c = np.asarray(confusion, float)
    present = c.sum(1) > 0  # the classes in the held-out truth, as MulticlassMetrics averages them
    iou = np.diag(c)[present] / (c.sum(1) + c.sum(0) - np.diag(c))[present]
    return float(iou.mean())


def test_the_table_and_the_pairs_use_the_pooled_seeds(hand_made):
    from seisfuse.experiments.report import collect

    pooled, _ = pool_folds(collect([hand_made]))
    metrics, rows = table_rows(pooled)
    by = {r["variant"]: r for r in rows}
    finals = {(r["variant"], r["seed"]): r["final"]["miou"] for r in pooled if r["status"] == "ok"}
    assert by["ref"]["seeds"] == 2 and by["new"]["seeds"] == 1 and by["new"]["failed"] == 1
    assert by["ref"]["miou"][0] == pytest.approx(np.mean([finals["ref", 0], finals["ref", 1]]))
    assert by["ref"]["miou"][1] == pytest.approx(np.std([finals["ref", 0], finals["ref", 1]], ddof=1))
    assert by["ref"]["pixels"] == 24 and by["new"]["delta"] == pytest.approx(finals["new", 0] - by["ref"]["miou"][0])
    pairs = pair_rows(pooled, [("new", "ref")], "miou")
    assert pairs[0]["seeds"] == [0] and pairs[0]["diffs"] == pytest.approx([finals["new", 0] - finals["ref", 0]])


def test_learned_at_all_counts_seeds_and_folds_where_the_class_is_present(hand_made):
    from seisfuse.experiments.report import collect

    rows = {r["variant"]: r for r in learned_rows(pool_folds(collect([hand_made]))[0])}
    # ref: class 0 everywhere, IoU 5/7, 3/4, 1 (seed 0) and 5/6, 3/4, 1 (seed 1); class 1 in
    # folds a and b only (IoU 2/3 and 1/2 with either seed); class 2 in every fold: IoU 0 in
    # fold a with seed 0 (its one pixel missed), 1 in b, 1/2 in c, and 1 everywhere with seed 1
    assert rows["ref"]["runs"] == [6, 4, 6]
    assert rows["ref"]["learned"] == [6, 4, 5]
    assert rows["new"]["runs"] == [3, 2, 3]  # seed 1 is not complete: left out here as in the table


def test_learned_at_all_without_folds_counts_seeds():
    runs = [{"variant": "v", "dataset": "d", "seed": s, "status": "ok", "task": "multiclass",
             "counts": {"confusion": m}} for s, m in enumerate((FOLD_A, FOLD_B, FOLD_C))]
    runs.append({"variant": "v", "dataset": "d", "seed": 3, "status": "failed"})
    assert learned_rows(pool_folds(runs)[0]) == [{"dataset": "d", "variant": "v", "classes": [0, 1, 2],
                                                  "learned": [3, 2, 2], "runs": [3, 2, 3]}]


def test_the_gpu_block_of_the_f3_pipeline_is_a_valid_pipeline(tmp_path):
    text = Path("pipelines/f3_folds.yaml").read_text()
    block = text.split("# GPU-BEGIN\n")[1].split("# GPU-END")[0]
    steps = "\n".join(line[1:] for line in block.splitlines())
    head = text.split("  - experiment:")[0]
    (tmp_path / "gpu.yaml").write_text(head + steps.lstrip("\n") + "\n")
    loaded = load_pipeline(tmp_path / "gpu.yaml")
    experiments = [s for k, s in loaded.parsed_steps() if k == "experiment"]
    assert [s.name for s in experiments] == ["f3_folds_gpu", "f3_folds_losses_gpu"]
    cpu = {s.name: s for k, s in load_pipeline("pipelines/f3_folds.yaml").parsed_steps() if k == "experiment"}
    for step in experiments:
        assert step.folds == "by_image" and step.variants == cpu[step.name.removesuffix("_gpu")].variants
        for overrides in step.variants.values():
            cfg = load_config(step.base, [*step.common, *overrides])
            assert cfg.train.steps == 2000 and cfg.train.batch_size == 32 and cfg.train.amp == "bf16"


def _folder(root: Path) -> None:
    for name, image, mask in _images(np.random.default_rng(3)):
        (root / "sections").mkdir(parents=True, exist_ok=True)
        (root / "masks").mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(root / "sections" / f"{name}.tiff")
        Image.fromarray(mask).save(root / "masks" / f"{name}_mask.png")


def _pipeline(root: Path) -> Path:
    _folder(root / "src")
    (root / "base.yaml").write_text(yaml.safe_dump(BASE))
    path = root / "folds.yaml"
    path.write_text(f"""
name: folds
workdir: {root / 'work'}
overwrite: false
steps:
  - datasets: {{action: prepare, name: image-folder, src: {root / 'src'}, out: stack.zarr}}
  - experiment:
      name: loo
      base: {root / 'base.yaml'}
      datasets: {{tiny: stack.zarr}}
      folds: by_image
      variants:
        plain: ["model.options.fusion=none"]
        edge: []
      seeds: [0, 1]
      reference: plain
  - report: {{runs: [experiments/loo], out: report, pairs: [edge-plain]}}
""")
    return path


@pytest.mark.slow
def test_a_pipeline_with_folds_end_to_end(tmp_path, run_cli):
    pipeline = _pipeline(tmp_path)
    work = tmp_path / "work"
    code, _, err = run_cli("run", pipeline, "--list-cells")  # the folds are the stack's images: not there yet
    assert code == 2 and "--prepare" in err and len(err.strip().splitlines()) == 1
    assert run_cli("run", pipeline, "--prepare")[0] == 0
    code, out, err = run_cli("run", pipeline, "--list-cells")
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert code == 0 and len(rows) == 2 * 1 * 3 * 2  # variants x datasets x folds x seeds
    assert [(r[2], r[3], r[4], r[5]) for r in rows[:3]] == [("plain", "tiny/fold_a", "0", "todo"),
                                                            ("plain", "tiny/fold_a", "1", "todo"),
                                                            ("plain", "tiny/fold_b", "0", "todo")]
    assert run_cli("run", pipeline, "--cell", 2)[0] == 0  # plain / fold b / seed 0, alone
    runs = sorted(p.parent.relative_to(work / "experiments/loo").as_posix()
                  for p in (work / "experiments/loo").rglob("summary.json"))
    assert runs == ["plain/tiny/fold_b/seed0"]
    config = yaml.safe_load((work / "experiments/loo/plain/tiny/fold_b/seed0/config.yaml").read_text())
    assert config["data"]["split"]["val_images"] == ["b"]
    stamp = (work / "experiments/loo/plain/tiny/fold_b/seed0/last.pt").stat().st_mtime_ns
    assert run_cli("run", pipeline, "--cell", 2)[0] == 0  # finished: skipped
    assert run_cli("run", pipeline)[0] == 0  # the rest, then the report
    assert (work / "experiments/loo/plain/tiny/fold_b/seed0/last.pt").stat().st_mtime_ns == stamp
    assert [c["status"] for c in seisfuse.cells(pipeline)] == ["done"] * 12

    counts = {}
    for path in (work / "experiments/loo").rglob("validation.json"):
        record = json.loads(path.read_text())
        meta = json.loads((path.parent / "experiment.json").read_text())
        assert record["step"] == 2 and record["val_images"] == [meta["fold"]]
        assert record["pixels"] == np.sum(record["confusion"]) == 32 * {"a": 40, "b": 28, "c": 40}[meta["fold"]]
        counts[meta["variant"], meta["seed"], meta["fold"]] = np.asarray(record["confusion"])
    table = list(csv.DictReader((work / "report/table.csv").read_text().splitlines()))
    assert [(r["variant"], r["seeds"], r["failed"], r["pixels"]) for r in table] == [
        ("plain", "2", "0", str(32 * 108)), ("edge", "2", "0", str(32 * 108))]
    for row in table:
        per_seed = [_miou(sum(counts[row["variant"], s, f] for f in NAMES)) for s in (0, 1)]
        assert float(row["miou_mean"]) == pytest.approx(np.mean(per_seed))
        assert float(row["miou_std"]) == pytest.approx(np.std(per_seed, ddof=1))
    md = (work / "report/table.md").read_text()
    assert "Folds: each seed's figures come from the counts of its held-out images" in md
    assert "Learned at all" in md and "Paired by seed" in md and "IoU per class" in md
    learned = list(csv.DictReader((work / "report/learned.csv").read_text().splitlines()))
    assert [(r["variant"], r["class"], r["runs"]) for r in learned[:3]] == [("plain", "0", "6"), ("plain", "1", "6"),
                                                                            ("plain", "2", "6")]
    for r in learned:
        ious = [np.diag(counts[r["variant"], s, f])[int(r["class"])] / (
            counts[r["variant"], s, f].sum(0) + counts[r["variant"], s, f].sum(1)
            - np.diag(counts[r["variant"], s, f]))[int(r["class"])] for s in (0, 1) for f in NAMES]
        assert int(r["learned"]) == sum(i > 0.1 for i in ious)
    assert r"\toprule" in (work / "report/learned.tex").read_text()


def test_binary_folds_pool_their_histograms_and_counts():
    from seisfuse.experiments.folds import pooled_metrics
    from seisfuse.metrics import BinaryMetrics, binary_metrics

    rng = np.random.default_rng(7)
    prob, label = rng.random((3, 12, 12)), rng.random((3, 12, 12)) > 0.7
    parts = []
    for k in range(3):
        part = BinaryMetrics()
        part.update(prob[k], label[k])
        parts.append(part.state())
    pooled, whole = pooled_metrics("binary", parts), binary_metrics(prob, label)
    assert pooled["pixels"] == 3 * 12 * 12
    for key in ("ods_f1", "ap", "f1", "iou"):
        assert pooled[key] == pytest.approx(whole[key]), key
