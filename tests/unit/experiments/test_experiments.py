"""A small grid (2 variants x 1 dataset x 2 seeds) through `seisfuse run`, and the report."""

import csv
import json
import re
import shutil

import numpy as np
import pytest

import seisfuse
from seisfuse.errors import RunsFailed
from seisfuse.metrics import binary_metrics

pytestmark = [pytest.mark.slow, pytest.mark.integration]

BASE = """
name: grid
data: {{stores: [unused], label: fault, tile: [16, 32], split: {{val_fraction: 0.25, gap: 2}}}}
model: {{name: edge_fusion_unet, options: {{encoder_depth: 3, decoder_channels: [16, 8, 8]}}}}
train: {{steps: 3, batch_size: 2, val_every: 3, threads: 1}}
"""


def write_pipeline(root):
    (root / "base.yaml").write_text(BASE.format())
    pipeline = root / "grid.yaml"
    pipeline.write_text(f"""
name: grid
workdir: {root / 'work'}
steps:
  - synth: {{out: s.zarr, shape: [32, 24, 32], seed: 4}}
  - experiment:
      name: ablation
      base: {root / 'base.yaml'}
      datasets: {{synthA: s.zarr}}
      variants:
        raw_only: ["model.options.fusion=none", "model.options.attention=none"]
        dense_spatial: []
        broken: ["model.options.fusion=sum"]
      seeds: [0, 1]
      reference: raw_only
  - report: {{runs: [experiments/ablation], out: report, panel: {{store: s.zarr, label: fault}}}}
""")
    return pipeline


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    pipeline = write_pipeline(tmp_path_factory.mktemp("grid"))
    # the broken variant fails: the pipeline goes on, reports, then says so (exit 1 from the CLI)
    with pytest.raises(RunsFailed, match=r"pipeline grid: 2 experiment run\(s\) failed \(broken/synthA/seed0"):
        seisfuse.run(pipeline)
    assert (pipeline.parent / "work/report/table.md").is_file()
    return pipeline.parent / "work"


def test_tables_have_the_right_rows_columns_and_statistics(grid_run):
    rows = list(csv.DictReader((grid_run / "report/table.csv").read_text().splitlines()))
    assert [r["variant"] for r in rows] == ["raw_only", "dense_spatial", "broken"]
    ok = [r for r in rows if r["variant"] != "broken"]
    assert all(r["seeds"] == "2" and r["failed"] == "0" for r in ok)
    for row in ok:
        finals = [json.loads((grid_run / f"experiments/ablation/{row['variant']}/synthA/seed{s}/summary.json")
                             .read_text())["final"]["ods_f1"] for s in (0, 1)]
        assert float(row["ods_f1_mean"]) == pytest.approx(np.mean(finals))
        assert float(row["ods_f1_std"]) == pytest.approx(np.std(finals, ddof=1))
    raw, dense = ok
    assert float(raw["delta_vs_reference"]) == 0.0
    finals = {v: [json.loads((grid_run / f"experiments/ablation/{v}/synthA/seed{s}/summary.json").read_text())
                  ["final"]["ods_f1"] for s in (0, 1)] for v in ("raw_only", "dense_spatial")}
    diffs = np.subtract(finals["dense_spatial"], finals["raw_only"])
    t = diffs.mean() / (diffs.std(ddof=1) / np.sqrt(2))  # paired t by hand, 1 degree of freedom
    p_by_hand = 1 - 2 * np.arctan(abs(t)) / np.pi  # two-sided p of Student's t with 1 dof (Cauchy)
    assert float(dense["p_paired_t"]) == pytest.approx(p_by_hand)
    assert raw["p_paired_t"] == "" and rows[2]["p_paired_t"] == ""  # the reference itself; no finished seeds
    assert float(dense["delta_vs_reference"]) == pytest.approx(float(dense["ods_f1_mean"]) - float(raw["ods_f1_mean"]))
    assert int(dense["params"]) > int(raw["params"]) and float(dense["gflops"]) > float(raw["gflops"])
    md = (grid_run / "report/table.md").read_text()
    assert "| synthA | dense_spatial | 2 |" in md and "±" in md and "Runs that did not finish" in md
    assert "p (paired t)" in md
    provenance = json.loads((grid_run / "experiments/ablation/raw_only/synthA/seed0/provenance.json").read_text())
    assert provenance["loss.pos_weight"]["asked"] == "rare" and provenance["train.amp"]["used"] == "none"
    assert "`data.source` auto: memmap (4 runs)" in md and "`loss.pos_weight` rare: not used (4 runs)" in md
    assert "`loss.class_weight`" not in md and "`train.amp`" not in md  # became what was asked: not said
    tex = (grid_run / "report/table.tex").read_text()
    assert r"\toprule" in tex and r"$\pm$" in tex and "dense\\_spatial" in tex


def test_report_command(grid_run, run_cli, tmp_path):
    code, out, err = run_cli("report", grid_run / "experiments/ablation", "--out", tmp_path / "r")
    assert code == 0, err
    assert "| synthA | raw_only | 2 |" in out and (tmp_path / "r/table.tex").exists()


def test_report_pairs_two_variants_seed_by_seed(grid_run, run_cli, tmp_path):
    code, out, err = run_cli("report", grid_run / "experiments/ablation", "--out", tmp_path / "r",
                             "--pairs", "dense_spatial-raw_only")
    assert code == 0, err
    finals = {v: [json.loads((grid_run / f"experiments/ablation/{v}/synthA/seed{s}/summary.json").read_text())
                  ["final"]["ods_f1"] for s in (0, 1)] for v in ("raw_only", "dense_spatial")}
    diffs = np.subtract(finals["dense_spatial"], finals["raw_only"])
    rows = list(csv.DictReader((tmp_path / "r/pairs.csv").read_text().splitlines()))
    assert [(r["a"], r["b"], r["seed"]) for r in rows] == [("dense_spatial", "raw_only", "0"),
                                                           ("dense_spatial", "raw_only", "1")]
    assert [float(r["difference"]) for r in rows] == pytest.approx(list(diffs))
    assert float(rows[0]["mean"]) == pytest.approx(diffs.mean())
    t_stat = diffs.mean() / (diffs.std(ddof=1) / np.sqrt(2))
    assert float(rows[0]["p_paired_t"]) == pytest.approx(1 - 2 * np.arctan(abs(t_stat)) / np.pi)
    md = (tmp_path / "r/table.md").read_text()
    assert "Paired by seed:" in md and "| synthA | dense_spatial \u2212 raw_only (ods_f1) | 0, 1 |" in md


@pytest.mark.parametrize("pair, message", [
    ("dense_spatial-nope", "pair dense_spatial-nope has no dataset and seed that both variants finished"),
    ("dense_spatial-broken", "pair dense_spatial-broken has no dataset and seed that both variants finished"),
    ("dense_spatial", "pairs"),
])
def test_report_refuses_a_pair_it_cannot_compare(grid_run, run_cli, tmp_path, pair, message):
    code, out, err = run_cli("report", grid_run / "experiments/ablation", "--out", tmp_path / "r", "--pairs", pair)
    assert code == 2 and message in err and "Fix:" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "r").exists()


def test_a_failing_variant_is_reported_and_the_others_go_on(grid_run):
    failed = json.loads((grid_run / "experiments/ablation/broken/synthA/seed0/failed.json").read_text())
    assert "unknown fusion 'sum'" in failed["error"]
    assert (grid_run / "experiments/ablation/dense_spatial/synthA/seed1/best.pt").exists()


def test_figures_are_written(grid_run):
    for name in ("metric_bars.png", "training_curves.png", "panel.png"):
        path = grid_run / "report" / name
        assert path.stat().st_size > 5_000 and path.read_bytes()[:4] == b"\x89PNG"


def test_rerunning_skips_finished_runs(grid_run, caplog):
    pipeline = grid_run.parent / "grid.yaml"
    before = (grid_run / "experiments/ablation/raw_only/synthA/seed0/last.pt").stat().st_mtime_ns
    with pytest.raises(RunsFailed):
        seisfuse.run(pipeline)
    assert (grid_run / "experiments/ablation/raw_only/synthA/seed0/last.pt").stat().st_mtime_ns == before


def test_evaluate_on_a_store_matches_in_memory_metrics(grid_run):
    store = grid_run / "s.zarr"
    ckpt = grid_run / "experiments/ablation/dense_spatial/synthA/seed0/best.pt"
    seisfuse.predict(store, str(ckpt), var="p", overwrite=True)
    ds = seisfuse.open_store(store)
    result = seisfuse.evaluate(store, pred="p", label="fault", tolerance=1)
    expected = binary_metrics(ds.p.values, ds.fault.values, tolerance=1)
    for key, value in expected.items():
        assert result[key] == pytest.approx(value), key
    region = seisfuse.evaluate(store, pred="p", label="fault", region=(24, 32), tolerance=1)
    assert region["tolerance_f1@1"] == pytest.approx(
        binary_metrics(ds.p.values[24:], ds.fault.values[24:], tolerance=1)["tolerance_f1@1"])


def test_list_cells_numbers_every_run_with_its_status(grid_run, run_cli):
    code, out, err = run_cli("run", grid_run.parent / "grid.yaml", "--list-cells")
    assert code == 0, err
    rows = [line.split("\t") for line in out.strip().splitlines()]
    assert [r[0] for r in rows] == [str(k) for k in range(6)]
    assert [(r[2], r[4]) for r in rows] == [(v, s) for v in ("raw_only", "dense_spatial", "broken") for s in "01"]
    assert [r[5] for r in rows] == ["done"] * 4 + ["failed"] * 2


def test_job_array_cells_then_a_report_without_retries(tmp_path, run_cli):
    """The SLURM flow of pipelines/slurm/submit_grid.sh, run by hand: prepare, cells, report."""
    pipeline = write_pipeline(tmp_path)
    work = tmp_path / "work" / "experiments" / "ablation"
    code, _, err = run_cli("run", pipeline, "--cell", 2)  # before the data exists
    assert code == 2 and "--prepare" in err
    assert run_cli("run", pipeline, "--prepare")[0] == 0
    assert seisfuse.open_store(tmp_path / "work" / "s.zarr") is not None and not work.exists()
    assert run_cli("run", pipeline, "--cell", 2)[0] == 0
    assert [p.parent.relative_to(work).as_posix() for p in work.rglob("summary.json")] == ["dense_spatial/synthA/seed0"]
    code, _, err = run_cli("run", pipeline, "--cell", 4)  # broken/seed0: the task must fail visibly
    assert code == 2 and "unknown fusion 'sum'" in err and "failed.json" in err
    failed = work / "broken/synthA/seed0/failed.json"
    stamp = failed.stat().st_mtime_ns
    code, _, err = run_cli("run", pipeline, "--cell", 6)
    assert code == 2 and "0..5" in err
    code, _, err = run_cli("run", pipeline, "--no-retry")  # the rest runs; the failed cell is not retried
    assert code == 1 and "2 experiment run(s) failed" in err and "Traceback" not in err
    assert failed.stat().st_mtime_ns == stamp
    statuses = [c["status"] for c in seisfuse.cells(pipeline)]
    assert statuses == ["done"] * 4 + ["failed"] * 2
    rows = list(csv.DictReader((tmp_path / "work/report/table.csv").read_text().splitlines()))
    assert [(r["variant"], r["seeds"], r["failed"]) for r in rows] == [("raw_only", "2", "0"),
                                                                       ("dense_spatial", "2", "0"),
                                                                       ("broken", "0", "2")]


def _run(variant, seed, f1, dataset="d", reference="ref", order=0):
    return {"experiment": "e", "variant": variant, "order": order, "dataset": dataset, "seed": seed,
            "reference": reference, "status": "ok", "task": "binary", "run_dir": "x",
            "final": {"ods_f1": f1, "ap": f1, "f1": f1, "iou": f1, "tolerance_f1@2": f1},
            "cost": {"parameters": 1_000_000, "flops": 2e9, "latency_s": 0.01}}


def test_table_statistics_by_hand():
    """Three paired seeds: mean, sample std, Δ and the paired t-test; one seed: no ± at all."""
    from scipy import stats as scipy_stats

    from seisfuse.experiments.report import latex, markdown, table_rows

    ref, new = [0.50, 0.52, 0.55], [0.53, 0.56, 0.57]
    runs = [_run("ref", s, f, order=0) for s, f in enumerate(ref)]
    runs += [_run("new", s, f, order=1) for s, f in enumerate(new)]
    runs += [_run("once", 0, 0.6, order=2)]
    metrics, rows = table_rows(runs)
    by = {r["variant"]: r for r in rows}
    assert by["new"]["ods_f1"][0] == pytest.approx(np.mean(new))
    assert by["new"]["ods_f1"][1] == pytest.approx(np.std(new, ddof=1))
    assert by["new"]["delta"] == pytest.approx(np.mean(new) - np.mean(ref))
    diffs = np.subtract(new, ref)
    t = diffs.mean() / (diffs.std(ddof=1) / np.sqrt(3))
    assert by["new"]["p_value"] == pytest.approx(2 * scipy_stats.t.sf(abs(t), df=2))
    assert by["ref"]["p_value"] is None and by["once"]["p_value"] is None  # itself; a single pair
    table = markdown(metrics, rows)
    once = next(line for line in table.splitlines() if "| once |" in line)
    assert "±" not in once and "| **0.600** |" in once  # the best mean of its column, in bold
    assert "| 0.553 ± 0.021 |" in table  # new: mean 0.5533, sample std 0.0208, not the best
    assert by["once"]["best"] == set(metrics) and not by["new"]["best"]
    assert r"\textbf{0.600}" in latex(metrics, rows, "t")
    alone = table_rows([_run("only", 0, 0.7, reference="only")])[1]
    assert not alone[0]["best"]  # nothing to beat: no bold


def test_training_curves_show_the_loss_and_every_metric_with_a_band_over_seeds(grid_run):
    from matplotlib.collections import PolyCollection
    from matplotlib.ticker import MaxNLocator

    from seisfuse.experiments.report import collect, curves_figure

    runs = collect([grid_run / "experiments/ablation"])
    fig = curves_figure(runs, "ods_f1")
    panels = [a for a in fig.axes if a.get_visible()]
    titles = [a.get_title() for a in panels]
    columns = (grid_run / "experiments/ablation/raw_only/synthA/seed0/metrics.csv").read_text().splitlines()[0]
    expected = [k for k in columns.split(",") if k not in ("step", "lr", "tiles_per_s")]
    assert len(panels) == len(expected) and titles[0].startswith("train loss") and titles[1] == "val loss"
    for a in panels:
        assert len(a.get_lines()) == 2  # the two variants that finished; the broken one has no curve
        assert sum(isinstance(c, PolyCollection) for c in a.collections) == 2  # two seeds each: a band
        assert isinstance(a.xaxis.get_major_locator(), MaxNLocator)
        assert all(float(t).is_integer() for t in a.get_xticks())
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == [
        "dense_spatial / synthA (2 seeds)", "raw_only / synthA (2 seeds)"]


def test_latency_is_timed_back_to_back_when_the_report_is_made(grid_run):
    from seisfuse.experiments.report import collect, table_rows
    from seisfuse.experiments.timing import REPEATS, time_rows

    runs = collect([grid_run / "experiments/ablation"])
    _, rows = table_rows(runs)
    stale = {r["variant"]: r["latency_ms"] for r in rows}
    for r in rows:  # a cached cost.json of an earlier seisfuse (e.g. counting unused encoder stages)
        r["params"], r["gflops"] = 10**9, 123.0
    how = time_rows(rows, runs, device="cpu")
    assert how["device"] == "cpu" and how["repeats"] == REPEATS
    timed = [r for r in rows if r["seeds"]]
    assert len(timed) == 2 and all(r["latency_iqr"][0] <= r["latency_ms"] <= r["latency_iqr"][1] for r in timed)
    assert all(r["latency_ms"] != stale[r["variant"]] for r in timed)  # not the runs' own figures
    assert not [r for r in rows if not r["seeds"] and "latency_iqr" in r]  # the failed variant has no model to time
    assert all(0 < r["params"] < 10**8 and 0 < r["gflops"] < 100 for r in timed)  # counted again, not the cache
    table = (grid_run / "report/table.md").read_text()
    assert "timed back to back (interleaved) when this report was made, on cpu" in table
    assert re.search(r"\| \d+\.\d \[\d+\.\d-\d+\.\d\] \|", table)


def test_pairs_need_a_common_dataset_and_seed():
    from seisfuse.experiments.report import pair_rows, unknown_pairs

    def run(variant, dataset, seed, value):
        return {"variant": variant, "dataset": dataset, "seed": seed, "status": "ok", "final": {"miou": value}}

    runs = [run("a", "d1", 0, 0.5), run("a", "d1", 1, 0.7), run("b", "d1", 1, 0.6), run("b", "d1", 2, 0.1),
            run("c", "d2", 0, 0.9), run("c", "d1", 5, 0.9)]
    assert unknown_pairs(runs, [("a", "b"), ("a", "c"), ("b", "c")]) == ["a-c", "b-c"]  # c: other seeds, other set
    (row,) = pair_rows(runs, [("a", "b")], "miou")
    assert row["seeds"] == [1] and row["diffs"] == pytest.approx([0.1]) and row["p_value"] is None  # one pair: no test


def test_per_class_iou_rows_are_mean_and_std_over_seeds():
    from seisfuse.experiments.report import class_rows, classes_markdown

    def run(variant, seed, ious):
        final = {"miou": float(np.mean(ious)), **{f"iou_class{k}": v for k, v in enumerate(ious)}}
        return {"variant": variant, "dataset": "f3", "seed": seed, "status": "ok", "final": final}

    runs = [run("unet", 0, [0.0, 0.5, 0.9]), run("unet", 1, [0.2, 0.7, 0.8]), run("efu", 0, [0.1, 0.1, 0.1]),
            {"variant": "efu", "dataset": "f3", "seed": 1, "status": "failed"}]
    unet, efu = class_rows(runs)
    assert unet["variant"] == "unet" and unet["seeds"] == 2 and unet["classes"] == [0, 1, 2]
    assert [m for m, _ in unet["iou"]] == pytest.approx([0.1, 0.6, 0.85])
    assert [s for _, s in unet["iou"]] == pytest.approx([np.std([0.0, 0.2], ddof=1), np.std([0.5, 0.7], ddof=1),
                                                         np.std([0.9, 0.8], ddof=1)])
    assert efu["seeds"] == 1 and all(np.isnan(s) for _, s in efu["iou"])  # one seed: no spread
    md = classes_markdown([unet, efu])
    assert "| f3 | unet | 2 | 0.100 ± 0.141 | 0.600 ± 0.141 | 0.850 ± 0.071 |" in md
    assert "| f3 | efu | 1 | 0.100 | 0.100 | 0.100 |" in md
    assert class_rows([{**r, "final": {"ods_f1": 0.5}} for r in runs if r["status"] == "ok"]) == []  # binary


def test_provenance_lines_say_what_each_choice_became_over_the_runs():
    from seisfuse.experiments.report import provenance_markdown

    def run(pos_weight, weights, source, amp):
        return {"provenance": {"loss.pos_weight": {"asked": "auto", "used": pos_weight},
                               "loss.class_weight": {"asked": None, "used": weights},
                               "data.source": {"asked": "auto", "used": {"a.zarr": source, "b.zarr": "memmap"}},
                               "train.amp": {"asked": "bf16", "used": amp, "device": "cpu"}}}

    md = provenance_markdown([run(3.5, None, "memmap", "none"), run(12.25, None, "streamed", "none"), {}])
    assert "- `loss.pos_weight` auto: 3.5 .. 12.25 (2 runs)" in md
    assert "- `data.source` auto: memmap (3 of 4), streamed (1 of 4)" in md
    assert "- `train.amp` bf16: none (2 runs)" in md and "class_weight" not in md
    md = provenance_markdown([run(1.0, [0.5, 2.0], "memmap", "bf16")])
    assert "- `loss.class_weight` None: 2 weights per class, 0.5 .. 2 (1 run)" in md
    assert provenance_markdown([{}, {"provenance": {}}]) == ""


def test_a_damaged_provenance_file_is_said_and_left_out(grid_run, tmp_path, caplog):
    from seisfuse.experiments.report import collect

    runs = shutil.copytree(grid_run / "experiments/ablation/raw_only", tmp_path / "raw_only")
    (runs / "synthA/seed0/provenance.json").write_text('{"loss.pos_weight": ')
    found = {r["seed"]: r for r in collect([runs])}
    assert "provenance" not in found[0] and "provenance" in found[1] and found[0]["status"] == "ok"
    assert "provenance.json is damaged" in caplog.text
