"""Paper tables and figures from run directories.

Metrics are each run's last validation (not its best: choosing the best on the validation
lines and reporting it there would flatter every row), as mean ± sample standard deviation
over seeds, beside parameters, FLOPs and latency per tile, and the difference of the main
metric to the reference row of the same dataset with the p-value of a paired t-test over the
seeds both rows share (the same seed gives both the same split and sampling; with 3 seeds
only large, consistent differences reach p < 0.05, which is the honest reading of a small
ablation). Rows where a module loses stay in. Written as Markdown, LaTeX (booktabs) and CSV,
with PNG figures. A grid with folds is reported per seed from its folds' pooled held-out
counts (seisfuse.experiments.folds).
"""

from __future__ import annotations

import csv
import json
import logging
import math
from pathlib import Path

import numpy as np
import yaml
from scipy import stats

from seisfuse.experiments import folds as fold_tables
from seisfuse.experiments.report_figures import bar_chart, curves_figure, training_curves  # noqa: F401 - re-exported

METRICS = {"binary": ["ods_f1", "ap", "f1", "iou", "tolerance_f1@2"], "multiclass": ["miou", "pa", "mca", "fwiu"]}

log = logging.getLogger("seisfuse")


def collect(roots) -> list[dict]:
    """Every run under the given directories (those with an experiment.json)."""
    runs = []
    for root in roots:
        for meta_path in sorted(Path(root).rglob("experiment.json")):
            run_dir = meta_path.parent
            run = {**json.loads(meta_path.read_text()), "run_dir": str(run_dir)}
            if (run_dir / "failed.json").exists():
                run.update(status="failed", error=json.loads((run_dir / "failed.json").read_text())["error"])
            elif (run_dir / "summary.json").exists():
                summary = json.loads((run_dir / "summary.json").read_text())
                config = yaml.safe_load((run_dir / "config.yaml").read_text())
                if (run_dir / "test.json").exists():
                    run["test"] = json.loads((run_dir / "test.json").read_text())
                if (run_dir / "validation.json").exists():  # the last validation's counts (pooled over folds)
                    run["counts"] = json.loads((run_dir / "validation.json").read_text())
                if (run_dir / "provenance.json").exists():  # what the choices decided at training became
                    try:
                        run["provenance"] = json.loads((run_dir / "provenance.json").read_text())
                    except ValueError:  # informational only: a damaged one is said and left out
                        log.warning("%s: provenance.json is damaged (not JSON); left out of the report", run_dir)
                run.update(status="ok", final=summary["final"], task=config["data"]["task"],
                           cost=json.loads((run_dir / "cost.json").read_text()) if (run_dir / "cost.json").exists()
                           else {})
            else:
                run.update(status="unfinished")
            runs.append(run)
    return runs


def _used(values: list) -> str:
    """What a choice became over several runs, in a few words: a range of numbers, the sources
    or precisions with their counts, or how many weights per class."""
    runs = f"{len(values)} run{'s' * (len(values) > 1)}"
    if all(v is None for v in values):
        return f"not used ({runs})"
    if all(isinstance(v, (int, float)) for v in values):
        low, high = min(values), max(values)
        return f"{low:.4g} ({runs})" if low == high else f"{low:.4g} .. {high:.4g} ({runs})"
    if all(isinstance(v, list) for v in values):
        flat = [w for v in values for w in v]
        return f"{len(values[0])} weights per class, {min(flat):.3g} .. {max(flat):.3g} ({runs})"
    words = [str(w) for v in values for w in (v.values() if isinstance(v, dict) else [v])]
    return ", ".join(f"{w} ({words.count(w)} of {len(words)})" if len(set(words)) > 1 else f"{w} ({runs})"
                     for w in sorted(set(words)))


def provenance_markdown(runs: list[dict]) -> str:
    """The choices decided at training (each run's provenance.json), one line per choice and
    value asked: what the runs used, so that a table says e.g. that its runs trained in float32
    although bf16 was asked."""
    lines = []
    recorded = [r["provenance"] for r in runs if r.get("provenance")]
    for key in dict.fromkeys(k for p in recorded for k in p):
        asked = {}
        for p in recorded:
            if key in p:
                asked.setdefault(json.dumps(p[key]["asked"]), []).append(p[key]["used"])
        lines += [f"- `{key}` {json.loads(a)}: {_used(used)}" for a, used in asked.items()
                  if any(u != json.loads(a) for u in used)]  # a choice that became itself is not said
    return "\nDecided at training (each run's provenance.json):\n\n" + "\n".join(lines) + "\n" if lines else ""


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation; the deviation of a single run is undefined (NaN),
    not zero: one seed says nothing about the spread."""
    arr = np.asarray(values, dtype=float)
    return float(arr.mean()), float(arr.std(ddof=1)) if len(arr) > 1 else math.nan


def table_rows(runs: list[dict], source: str = "final") -> tuple[list[str], list[dict]]:
    """One row per (dataset, variant): metric means and stds, cost, and Δ to the reference;
    source: "final" (the last validation) or "test" (the test split, evaluated once)."""
    if source != "final":
        runs = [r if source in r or r["status"] != "ok" else {**r, "status": "no test"} for r in runs]
        runs = [{**r, "final": r[source]} if r["status"] == "ok" else r for r in runs]
    ok = [r for r in runs if r["status"] == "ok"]
    task = ok[0]["task"] if ok else "binary"
    metrics = [m for m in (["challenge"] if source == "test" else []) + METRICS[task]
               if ok and all(m in r["final"] for r in ok)]
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in sorted(runs, key=lambda r: (r["dataset"], r.get("order", 0), r["seed"])):  # the grid's order
        groups.setdefault((r["dataset"], r["variant"]), []).append(r)
    rows = []
    for (dataset, variant), members in groups.items():
        good = [r for r in members if r["status"] == "ok"]
        row = {"dataset": dataset, "variant": variant, "seeds": len(good), "failed": len(members) - len(good)}
        for m in metrics:
            row[m] = _mean_std([r["final"][m] for r in good]) if good else (math.nan, math.nan)
        if any("pixels" in r for r in good):  # pooled folds: the held-out pixels the figures rest on
            row["pixels"] = good[0]["pixels"]
        cost = good[0]["cost"] if good else {}
        row.update(params=cost.get("parameters"), gflops=cost.get("flops", 0) / 1e9 if cost else None,
                   latency_ms=cost.get("latency_s", 0) * 1000 if cost else None)
        rows.append(row)
    main = metrics[0] if metrics else None
    references = {r["dataset"]: r.get("reference") for r in runs}
    for row in rows:
        ref = next((x for x in rows if x["dataset"] == row["dataset"] and x["variant"] == references[row["dataset"]]),
                   None)
        row["delta"] = row[main][0] - ref[main][0] if main and ref and row["seeds"] and ref["seeds"] else None
        row["p_value"] = _paired_p(groups[(row["dataset"], row["variant"])], groups[(ref["dataset"], ref["variant"])],
                                   main) if main and ref and ref is not row else None
    for row in rows:  # the best mean of each metric within its dataset (bold in the tables)
        rivals = [x for x in rows if x["dataset"] == row["dataset"] and x["seeds"]]
        row["best"] = {m for m in metrics if row["seeds"] and len(rivals) > 1
                       and row[m][0] == max(x[m][0] for x in rivals)}
    return metrics, rows


def reference_rows(runs: list[dict], metrics: list[str]) -> list[dict]:
    """Rows that are not runs of this grid: published figures of other code (the experiment's
    `published`), and the all-empty floor of the TGS challenge metric on the same images."""
    rows = []
    datasets = sorted({r["dataset"] for r in runs if "test" in r})
    published = next((r.get("published") for r in runs if r.get("published")), {}) or {}
    blank = {"seeds": 0, "failed": 0, "params": None, "gflops": None, "latency_ms": None, "delta": None,
             "p_value": None, "best": set(), "reference_row": True}
    for dataset in datasets:
        for name, values in published.items():
            rows.append({**blank, "dataset": dataset, "variant": f"{name} (published, other code)",
                         **{m: (float(values[m]), math.nan) if m in values else (math.nan, math.nan)
                            for m in metrics}})
        floor = next((r["test"]["challenge_all_empty"] for r in runs if r["dataset"] == dataset and "test" in r
                      and "challenge_all_empty" in r["test"]), None)
        if floor is not None:
            rows.append({**blank, "dataset": dataset, "variant": "every image empty (floor)",
                         **{m: (floor, math.nan) if m == "challenge" else (math.nan, math.nan) for m in metrics}})
    return rows


def _paired_p(runs: list[dict], reference: list[dict], metric: str) -> float | None:
    """Two-sided paired t-test of a row against its reference over their common seeds; None
    with fewer than 2 pairs or no spread in the differences (the test is undefined)."""
    return _paired_test({r["seed"]: r["final"][metric] for r in runs if r["status"] == "ok"},
                        {r["seed"]: r["final"][metric] for r in reference if r["status"] == "ok"})


def _paired_test(ours: dict[int, float], theirs: dict[int, float]) -> float | None:
    """p of the two-sided paired t-test over the seeds both have, as _paired_p."""
    seeds = sorted(ours.keys() & theirs.keys())
    diffs = np.array([ours[s] - theirs[s] for s in seeds])
    if len(seeds) < 2 or not np.ptp(diffs) > 0:
        return None
    return float(stats.ttest_rel([ours[s] for s in seeds], [theirs[s] for s in seeds]).pvalue)


def unknown_pairs(runs: list[dict], pairs) -> list[str]:
    """The pairs `a-b` whose two variants have no finished run of a common dataset and seed."""
    have = {(r["dataset"], r["seed"], r["variant"]) for r in runs if r["status"] == "ok"}
    cells = {(d, s) for d, s, _ in have}
    return [f"{a}-{b}" for a, b in pairs if not any((*c, a) in have and (*c, b) in have for c in cells)]


def pair_rows(runs: list[dict], pairs, metric: str) -> list[dict]:
    """Variant a against variant b, seed by seed: the same seed gives both the same split and
    sampling, so the per-seed difference is the paired measurement; its mean and the
    two-sided paired t-test's p (None with fewer than 2 seeds or no spread)."""
    rows = []
    for dataset in sorted({r["dataset"] for r in runs}):
        by_variant: dict[str, dict[int, float]] = {}
        for r in runs:
            if r["dataset"] == dataset and r["status"] == "ok":
                by_variant.setdefault(r["variant"], {})[r["seed"]] = r["final"][metric]
        for a, b in pairs:
            seeds = sorted(by_variant.get(a, {}).keys() & by_variant.get(b, {}).keys())
            if seeds:
                diffs = [by_variant[a][s] - by_variant[b][s] for s in seeds]
                rows.append({"dataset": dataset, "a": a, "b": b, "metric": metric, "seeds": seeds, "diffs": diffs,
                             "mean": float(np.mean(diffs)), "p_value": _paired_test(by_variant[a], by_variant[b])})
    return rows


def class_rows(runs: list[dict]) -> list[dict]:
    """Per-class IoU (the `iou_class<k>` of each run's last validation) as mean and sample std
    over seeds, one row per (dataset, variant) in the grid's order; empty for binary tasks."""
    ok = [r for r in runs if r["status"] == "ok"]
    classes = sorted({int(k[len("iou_class"):]) for r in ok for k in r["final"] if k.startswith("iou_class")})
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in sorted(ok, key=lambda r: (r["dataset"], r.get("order", 0), r["seed"])):
        groups.setdefault((r["dataset"], r["variant"]), []).append(r)
    return [{"dataset": d, "variant": v, "seeds": len(members), "classes": classes,
             "iou": [_mean_std([r["final"].get(f"iou_class{k}", math.nan) for r in members]) for k in classes]}
            for (d, v), members in groups.items()] if classes else []


def classes_markdown(rows: list[dict]) -> str:
    names = [f"c{k}" for k in rows[0]["classes"]]
    lines = ["| dataset | variant | seeds | " + " | ".join(names) + " |", "|---|---|---|" + "---|" * len(names)]
    lines += [f"| {r['dataset']} | {r['variant']} | {r['seeds']} | "
              + " | ".join(_fmt(m) if math.isnan(s) else f"{_fmt(m)} ± {_fmt(s)}" for m, s in r["iou"]) + " |"
              for r in rows]
    return "\n".join(lines) + "\n"


def _signed(value: float) -> str:
    return ("+" if value >= 0 else "\u2212") + _fmt(abs(value))


def pairs_markdown(rows: list[dict]) -> str:
    lines = ["| dataset | pair | seeds | difference per seed | mean | p (paired t) |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['dataset']} | {r['a']} \u2212 {r['b']} ({r['metric']}) | {', '.join(map(str, r['seeds']))} | "
              f"{' / '.join(_signed(d) for d in r['diffs'])} | {_signed(r['mean'])} | {_fmt(r['p_value'])} |"
              for r in rows]
    return "\n".join(lines) + "\n"


def write_pairs_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["dataset", "a", "b", "metric", "seed", "difference", "mean", "p_paired_t"])
        for r in rows:
            for seed, diff in zip(r["seeds"], r["diffs"]):
                out.writerow([r["dataset"], r["a"], r["b"], r["metric"], seed, diff, r["mean"], r["p_value"]])


def _fmt(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _cells(row: dict, metrics: list[str], pm: str, bold=lambda text: text, pixels: bool = False) -> list[str]:
    reference = row.get("reference_row", False)
    cells = [row["dataset"], row["variant"], "-" if reference else str(row["seeds"])]
    for m in metrics:
        mean = bold(_fmt(row[m][0])) if m in row.get("best", ()) else _fmt(row[m][0])
        cells.append("failed" if not row["seeds"] and not reference else mean if math.isnan(row[m][1]) else
                     f"{mean} {pm} {_fmt(row[m][1])}")
    iqr = row.get("latency_iqr")
    latency = _fmt(row["latency_ms"], 1) + (f" [{iqr[0]:.1f}-{iqr[1]:.1f}]" if iqr else "")
    cells += [str(row.get("pixels", "-"))] if pixels else []
    cells += [f"{row['params'] / 1e6:.2f}" if row["params"] else "-", _fmt(row["gflops"], 2), latency,
              "-" if row["delta"] is None else ("+" if row["delta"] >= 0 else "") + _fmt(row["delta"]),
              _fmt(row["p_value"])]
    return cells


def _header(metrics: list[str], pixels: bool = False) -> list[str]:
    return ["dataset", "variant", "seeds", *metrics, *(["pixels"] if pixels else []), "params (M)", "GFLOPs/tile",
            "latency (ms)", "Δ vs ref", "p (paired t)"]


def _pixels(rows) -> bool:
    """Whether the table shows the held-out pixels (a grid with folds)."""
    return any("pixels" in r for r in rows)


def markdown(metrics, rows) -> str:
    head = _header(metrics, _pixels(rows))
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cells(r, metrics, "±", lambda t: f"**{t}**", _pixels(rows))) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def latex(metrics, rows, caption: str) -> str:
    escape = lambda s: s.replace("_", r"\_").replace("%", r"\%").replace("@", "@")  # noqa: E731
    head = _header(metrics, _pixels(rows))
    head_line = " & ".join(escape(h).replace("Δ", r"$\Delta$") for h in head)
    body = [" & ".join(escape(c).replace("±", r"$\pm$")
                       for c in _cells(r, metrics, "±", lambda t: rf"\textbf{{{t}}}", _pixels(rows))) + r" \\"
            for r in rows]
    return "\n".join([r"\begin{table}[t]", r"\centering", rf"\caption{{{escape(caption)}}}",
                      r"\begin{tabular}{" + "l" * 2 + "r" * (len(head) - 2) + "}", r"\toprule",
                      head_line + r" \\", r"\midrule", *body, r"\bottomrule", r"\end{tabular}", r"\end{table}"]) + "\n"


def write_csv(path: Path, metrics, rows) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        pixels = ["pixels"] if _pixels(rows) else []
        out.writerow(["dataset", "variant", "seeds", "failed", *[f"{m}_{s}" for m in metrics for s in ("mean", "std")],
                      *pixels, "params", "gflops", "latency_ms", "delta_vs_reference", "p_paired_t"])
        for r in rows:
            out.writerow([r["dataset"], r["variant"], r["seeds"], r["failed"], *[v for m in metrics for v in r[m]],
                          *[r.get("pixels") for _ in pixels], r["params"], r["gflops"], r["latency_ms"], r["delta"],
                          r["p_value"]])


def write_report(roots, out: str | Path, caption: str = "seisfuse experiments", pairs=(), runs=None) -> dict:
    """pairs: (a, b) variant names, each given a seed-by-seed comparison (pair_rows); runs: what
    collect(roots) returns, when the caller has read them already."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = collect(roots) if runs is None else runs
    pooled, left_out = fold_tables.pool_folds(runs)  # with folds: one run per seed, its folds pooled
    metrics, rows = table_rows(pooled)
    paired = pair_rows(pooled, pairs, metrics[0]) if pairs and metrics else []
    per_class, learned = class_rows(pooled), fold_tables.learned_rows(pooled)
    timing = ""
    if any(r["status"] == "ok" for r in pooled):
        from seisfuse.experiments.timing import describe, time_rows  # imports torch

        how = time_rows(rows, pooled)
        tiles = {tuple(yaml.safe_load((Path(r["run_dir"]) / "config.yaml").read_text())["data"]["tile"])
                 for r in pooled if r["status"] == "ok"}
        timing = "\n" + describe(how, tiles) + "\n"
    timing += f"\n{fold_tables.POOLED}\n" if _pixels(rows) else ""
    files = {"markdown": out / "table.md", "latex": out / "table.tex", "csv": out / "table.csv"}
    failed = [r for r in runs if r["status"] != "ok"]
    note = "".join(f"- {r['variant']} / {r['dataset']}{' / fold ' + r['fold'] if r.get('fold') else ''} / seed "
                   f"{r['seed']}: {r['status']}{': ' + r['error'] if r.get('error') else ''}\n" for r in failed)
    note += "".join(left_out)
    what = "seeds x folds" if _pixels(rows) else "seeds"
    files["markdown"].write_text(markdown(metrics, rows) + timing
                                 + (f"\nRuns that did not finish:\n{note}" if note else "")
                                 + (f"\nPaired by seed:\n\n{pairs_markdown(paired)}" if paired else "")
                                 + (f"\nIoU per class (mean ± std over seeds):\n\n{classes_markdown(per_class)}"
                                    if per_class else "")
                                 + (fold_tables.learned_markdown(learned, what) if learned else "")
                                 + provenance_markdown(runs))
    if learned:
        files.update(fold_tables.write_learned(out, learned, caption, what))
    if paired:
        files["pairs_csv"] = out / "pairs.csv"
        write_pairs_csv(files["pairs_csv"], paired)
    files["latex"].write_text(latex(metrics, rows, caption))
    write_csv(files["csv"], metrics, rows)
    if any("test" in r for r in runs):  # the test split: a table of its own, with the reference rows
        test_metrics, test_rows = table_rows(runs, "test")
        for k in ("latency_ms", "latency_iqr"):
            for row, timed in zip(test_rows, rows):
                if k in timed:
                    row[k] = timed[k]
        test_rows += reference_rows(runs, test_metrics)
        files.update(test_markdown=out / "test_table.md", test_latex=out / "test_table.tex",
                     test_csv=out / "test_table.csv")
        files["test_markdown"].write_text(markdown(test_metrics, test_rows) + timing)
        files["test_latex"].write_text(latex(test_metrics, test_rows, caption + " (test split)"))
        write_csv(files["test_csv"], test_metrics, test_rows)
    if metrics:
        files["bars"] = out / "metric_bars.png"
        bar_chart(files["bars"], metrics, rows)
        files["curves"] = out / "training_curves.png"
        training_curves(files["curves"], runs, metrics[0])
    return {"runs": len(runs), "failed": len(failed), "files": {k: str(v) for k, v in files.items()},
            "metrics": metrics, "rows": rows, "pairs": paired, "classes": per_class, "learned": learned,
            "timing": timing.strip()}
