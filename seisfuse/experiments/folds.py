"""Folds in the report: the held-out pixels of every fold of a seed pooled into one set of
counts, and how often each class is learned at all.

A grid with `folds: by_image` holds each image of a stack out once. For a (dataset, variant,
seed) the confusion matrices of the last validation of all its folds (each run's
`validation.json`) are summed, and PA, MCA, FWIU, mIoU and per-class IoU are computed from
that pooled matrix (binary tasks: the pooled histograms and counts), so every image is held
out once and no single fold decides. Each seed then is one pooled run, and the report's mean
± std over seeds, its paired tests and `pairs` work on these figures unchanged (the same seed
numbers pair). A seed with any fold not finished is left out of the pooled figures, and said so.

"Learned at all": for each class, the share of runs (seeds x folds) whose held-out IoU for
that class is above 0.1, among the runs whose held-out pixels hold the class (a class absent
from an image cannot be learned or missed there).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from seisfuse.metrics import BinaryMetrics, MulticlassMetrics

LEARNED = 0.1  # a class is "learned" in a run when its held-out IoU is above this
SUMMED = ("hist_pos", "hist_neg", "tp", "fp", "fn", "tn", "tol")  # the binary counts that add up
POOLED = ("Folds: each seed's figures come from the counts of its held-out images summed over all its folds "
          "(every image held out once; multi-class: one confusion matrix); pixels: the labelled pixels they count; "
          "mean ± std over the seeds whose folds all finished.")


def pooled_metrics(task: str, counts: list[dict]) -> dict:
    """The metrics of the pixels of several validations together, from their counts summed:
    per-class IoU as `iou_class<k>` beside the others (as a run's own validation gives them)."""
    if task == "multiclass":
        confusion = np.sum([np.asarray(c["confusion"], np.int64) for c in counts], axis=0)
        result = MulticlassMetrics.from_state({"confusion": confusion}).compute()
        return {**result, **{f"iou_class{k}": float(v) for k, v in enumerate(result["iou_per_class"])},
                "pixels": int(confusion.sum())}
    summed = {k: np.sum([np.asarray(c[k], np.int64) for c in counts], axis=0) for k in SUMMED}
    result = BinaryMetrics.from_state({**counts[0], **summed}).compute()
    return {**result, "pixels": int(summed["tp"] + summed["fp"] + summed["fn"] + summed["tn"])}


def _usable(run: dict) -> bool:
    """A finished fold run whose counts are those of its last validation."""
    counts = run.get("counts")
    return run["status"] == "ok" and counts is not None and counts.get("step") == run["final"].get("step")


def pool_folds(runs: list[dict]) -> tuple[list[dict], list[str]]:
    """The runs with each seed's fold runs replaced by one pooled run (status ok, `final` from
    the pooled counts, `pixels`, `folds`), or, when a fold is missing, by a run of status
    "incomplete folds" that the tables count as not finished; runs without folds pass as they
    are. Also the note naming every seed left out and why."""
    out, groups, note = [r for r in runs if r.get("fold") is None], {}, []
    for r in runs:
        if r.get("fold") is not None:
            groups.setdefault((r["experiment"], r["dataset"], r["variant"], r["seed"]), []).append(r)
    for (_, dataset, variant, seed), members in groups.items():
        first, by_fold = members[0], {r["fold"]: r for r in members}
        missing = [f for f in first["folds"] if f not in by_fold or not _usable(by_fold[f])]
        record = {k: first.get(k) for k in ("experiment", "variant", "order", "dataset", "seed", "reference",
                                             "published", "folds")}
        if missing:
            why = ", ".join(f"{f} ({by_fold[f]['status'] if f in by_fold else 'not started'}"
                            f"{', no validation counts' if f in by_fold and by_fold[f]['status'] == 'ok' else ''})"
                            for f in missing)
            note.append(f"- {variant} / {dataset} / seed {seed}: left out of the pooled figures, "
                        f"{len(missing)} of {len(first['folds'])} folds not finished: {why}\n")
            out.append({**record, "status": "incomplete folds", "run_dir": first["run_dir"]})
            continue
        folds = [by_fold[f] for f in first["folds"]]
        final = pooled_metrics(folds[0]["task"], [r["counts"] for r in folds])
        out.append({**record, "status": "ok", "task": folds[0]["task"], "final": final, "pixels": final["pixels"],
                    "cost": folds[0].get("cost", {}), "run_dir": folds[0]["run_dir"], "fold_runs": folds})
    return out, note


def learned_rows(runs: list[dict]) -> list[dict]:
    """Per (dataset, variant) in the grid's order, for each class: how many runs learned it
    (held-out IoU above LEARNED) of the runs whose held-out pixels hold it. The runs: the fold
    runs of the pooled seeds (pool_folds), or finished runs without folds that have counts;
    multi-class only."""
    units: dict[tuple[str, str], list[np.ndarray]] = {}
    for r in sorted(runs, key=lambda r: (r["dataset"], r.get("order", 0), r["seed"])):
        if r["status"] != "ok" or r.get("task") != "multiclass":
            continue
        for member in r.get("fold_runs") or ([r] if r.get("counts") else []):
            units.setdefault((r["dataset"], r["variant"]), []).append(np.asarray(member["counts"]["confusion"]))
    rows = []
    for (dataset, variant), matrices in units.items():
        stack = np.stack(matrices).astype(np.float64)  # (runs, truth, prediction)
        correct = np.diagonal(stack, axis1=1, axis2=2)
        truth = stack.sum(2)
        union = truth + stack.sum(1) - correct
        iou = np.divide(correct, union, out=np.zeros_like(correct), where=union > 0)
        present = truth > 0
        rows.append({"dataset": dataset, "variant": variant, "classes": list(range(stack.shape[1])),
                     "learned": ((iou > LEARNED) & present).sum(0).tolist(), "runs": present.sum(0).tolist()})
    return rows


def _share(learned: int, runs: int) -> str:
    return f"{learned / runs:.2f} ({learned}/{runs})" if runs else "- (0/0)"


def _what(units: str) -> str:
    return (f"the share of runs ({units}) whose held-out IoU of the class is above {LEARNED}, of the runs whose "
            "held-out pixels hold the class")


def learned_markdown(rows: list[dict], units: str) -> str:
    """The table, as a section of table.md; units: what a run is ("seeds" or "seeds x folds")."""
    names = [f"c{k}" for k in rows[0]["classes"]]
    lines = ["| dataset | variant | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    lines += [f"| {r['dataset']} | {r['variant']} | "
              + " | ".join(_share(a, n) for a, n in zip(r["learned"], r["runs"])) + " |" for r in rows]
    return f"\nLearned at all: {_what(units)}:\n\n" + "\n".join(lines) + "\n"


def write_learned(out: Path, rows: list[dict], caption: str, units: str) -> dict[str, Path]:
    """learned.csv and learned.tex (booktabs); returns them by kind."""
    files = {"learned_csv": out / "learned.csv", "learned_latex": out / "learned.tex"}
    write_learned_csv(files["learned_csv"], rows)
    files["learned_latex"].write_text(learned_latex(rows, f"{caption}: {_what(units)}"))
    return files


def learned_latex(rows: list[dict], caption: str) -> str:
    escape = lambda s: s.replace("_", r"\_")  # noqa: E731
    names = [f"c{k}" for k in rows[0]["classes"]]
    body = [" & ".join([escape(r["dataset"]), escape(r["variant"]),
                        *(_share(a, n) for a, n in zip(r["learned"], r["runs"]))]) + r" \\" for r in rows]
    return "\n".join([r"\begin{table}[t]", r"\centering", rf"\caption{{{escape(caption)}}}",
                      r"\begin{tabular}{ll" + "r" * len(names) + "}", r"\toprule",
                      " & ".join(["dataset", "variant", *names]) + r" \\", r"\midrule", *body, r"\bottomrule",
                      r"\end{tabular}", r"\end{table}"]) + "\n"


def write_learned_csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["dataset", "variant", "class", "learned", "runs", "share"])
        for r in rows:
            for k, a, n in zip(r["classes"], r["learned"], r["runs"]):
                out.writerow([r["dataset"], r["variant"], k, a, n, a / n if n else math.nan])
