"""The report's figures: metric bars per variant and the training curves of every run."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402


def bar_chart(path: Path, metrics, rows) -> None:
    main = metrics[0]
    fig, ax = plt.subplots(figsize=(max(4, 1.2 * len(rows)), 3.5))
    labels = [f"{r['variant']}\n{r['dataset']}" for r in rows]
    errors = [0.0 if math.isnan(r[main][1]) else r[main][1] for r in rows]  # no bar for a single seed
    ax.bar(labels, [r[main][0] for r in rows], yerr=errors, capsize=4, color="#4c72b0")
    ax.set_ylabel(main + " (mean ± std over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


NOT_CURVES = ("step", "lr", "tiles_per_s")  # metrics.csv columns that are not learning curves


def _histories(runs: list[dict]) -> dict[tuple[str, str], list[dict[str, np.ndarray]]]:
    """(variant, dataset) -> one {column: values by step} per finished seed."""
    groups: dict[tuple[str, str], list[dict[str, np.ndarray]]] = {}
    for r in [r for r in runs if r["status"] == "ok"]:
        path = Path(r["run_dir"]) / "metrics.csv"
        rows = list(csv.DictReader(path.read_text().splitlines())) if path.is_file() else []
        if rows:
            columns = {k: np.array([float(x[k]) if x.get(k) not in (None, "") else np.nan for x in rows])
                       for k in rows[0]}
            groups.setdefault((r["variant"], r["dataset"]), []).append(columns)
    return groups


def training_curves(path: Path, runs: list[dict], metric: str) -> None:
    fig = curves_figure(runs, metric)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curves_figure(runs: list[dict], metric: str):
    """The training loss and every validation metric against steps: one panel each, one line
    per variant and dataset, the mean over seeds with a ± std band when there are several."""
    groups = _histories(runs)
    unit = "runs, seeds x folds" if any(r.get("fold") is not None for r in runs) else "seeds"
    names = list(dict.fromkeys(k for seeds in groups.values() for h in seeds for k in h if k not in NOT_CURVES
                               and not k.startswith("iou_class")))  # per-class IoU: in the tables, not here
    names.sort(key=lambda k: (k != "train_loss", k != "val_loss", k != metric, k))
    cols = min(3, max(1, len(names)))
    nrows = math.ceil(len(names) / cols) or 1
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 3.0 * nrows + 0.8), squeeze=False)
    colours = plt.get_cmap("tab10")
    for a, name in zip(axes.flat, names):
        for n, ((variant, dataset), seeds) in enumerate(groups.items()):
            have = [h for h in seeds if name in h]
            if not have:
                continue
            length = min(len(h["step"]) for h in have)  # seeds validated at the same steps
            steps = have[0]["step"][:length]
            values = np.stack([h[name][:length] for h in have])
            mean = np.nanmean(values, axis=0)
            label = f"{variant} / {dataset}" + (f" ({len(have)} {unit})" if len(have) > 1 else "")
            a.plot(steps, mean, marker="o", markersize=3, color=colours(n % 10), label=label)
            if len(have) > 1:
                std = np.nanstd(values, axis=0, ddof=1)
                a.fill_between(steps, mean - std, mean + std, color=colours(n % 10), alpha=0.2, linewidth=0)
        a.set_title(name.replace("_", " ") + (" (mean over the steps since the last validation)"
                                              if name == "train_loss" else ""), fontsize=9)
        a.set_xlabel("step")
        a.set_xlim(left=0)  # training starts at step 0, and whole steps can then be ticked
        a.xaxis.set_major_locator(MaxNLocator(integer=True))
        a.grid(alpha=0.3)
    for a in list(axes.flat)[len(names):]:
        a.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 3), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.03 * math.ceil(len(labels) / 3), 1, 1))
    return fig
