"""How many labelled lines does a facies model need? (issue 27; RESULTS.md "Labels on a few lines")

On synthetic facies surveys (the generator's 6 facies classes), k lines are labelled (k = 1, 2,
4, 8, evenly spread: all inlines, or half of them crosslines) by `seisfuse labels import` of the
true facies on those lines; a 2D model trains at a fixed budget (the same steps for every k,
and for the full label), predicts the whole cube, and is scored by mIoU on the voxels nobody
labelled against the full label. The checkpoint scored is the last one (no model selection: a
user with k lines has nothing to select on); validation runs on a separate, fully labelled
survey only for the log. Three seeds of survey and training each.

    python scripts/sparse_lines.py --out sparse_out            # ~25 min on one CPU core
    python scripts/sparse_lines.py --out sparse_out --steps 20 --seeds 1 --ks 1,2   # a smoke run

Writes OUT/results.json (one row per run: k, layout, seed, unseen mIoU, labelled pixels,
training seconds), OUT/table.md, and docs/images/sparse_lines.png (mIoU against k).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import seisfuse  # noqa: E402
from seisfuse.io import schema  # noqa: E402

SHAPE = (64, 64, 96)
CLASSES = 6


def lines_for(k: int, layout: str, shape) -> dict[str, list[int]]:
    """k evenly spread line indices; `mixed`: the first half inlines, the rest crosslines."""
    n_cross = k // 2 if layout == "mixed" else 0
    n_in = k - n_cross
    spread = lambda n, size: [int((i + 0.5) * size / n) for i in range(n)]  # noqa: E731
    return {"inline": spread(n_in, shape[0]), "crossline": spread(n_cross, shape[1]) if n_cross else []}


def label_lines(store: Path, lines: dict, var: str, folder: Path) -> None:
    facies = schema.open_group(store)["facies"]
    folder.mkdir(parents=True, exist_ok=True)
    for i in lines["inline"]:
        np.save(folder / f"il{i + 1}.npy", np.asarray(facies[i]).T.astype(np.uint8))
    for j in lines["crossline"]:
        np.save(folder / f"xl{j + 1}.npy", np.asarray(facies[:, j]).T.astype(np.uint8))
    seisfuse.labels("import", store, folder, var=var, classes=tuple(f"facies_{c}" for c in range(CLASSES)))


def unseen_label(store: Path, lines: dict) -> str:
    """The full facies on the voxels nobody labelled, 255 on the labelled lines (a sparse label)."""
    group = schema.open_group(store, mode="r+")
    values = np.asarray(group["facies"][...]).astype(np.uint8)
    values[lines["inline"]] = 255
    values[:, lines["crossline"]] = 255
    seisfuse.write_variable(group, "unseen", values, overwrite=True, attrs={"unlabelled": 255})
    return "unseen"


def run_one(root: Path, k: int | None, layout: str, seed: int, steps: int, val_store: Path) -> dict:
    name = f"full_s{seed}" if k is None else f"k{k}_{layout}_s{seed}"
    store = root / "surveys" / f"{name}.zarr"
    if not store.exists():
        seisfuse.synth(store, shape=SHAPE, seed=100 + seed, task="facies")
    label, lines = "facies", {"inline": [], "crossline": []}
    if k is not None:
        lines = lines_for(k, layout, SHAPE)
        label_lines(store, lines, "picked", root / "masks" / name)
        label = "picked"
    cfg = {"name": name, "runs_dir": str(root / "runs"),
           "data": {"stores": [str(store), str(val_store)], "label": label, "task": "multiclass",
                    "classes": CLASSES, "tile": [64, 64], "sections": "both",
                    "split": {"val_stores": [str(val_store)]}},
           "model": {"name": "edge_fusion_unet", "options": {"encoder": "light", "encoder_width": 16,
                                                             "encoder_depth": 4, "fusion": "none",
                                                             "decoder_channels": [64, 32, 16, 16]}},
           "loss": {"terms": {"ce": 1.0}, "pos_weight": None},
           "optim": {"name": "adamw", "lr": 0.002, "schedule": "cosine", "warmup_steps": 20},
           "train": {"steps": steps, "batch_size": 8, "val_every": steps, "seed": seed, "threads": 1}}
    started = time.perf_counter()
    summary = seisfuse.train(cfg)
    seconds = time.perf_counter() - started
    seisfuse.predict(store, f"{summary['run_dir']}/last.pt", var="pred", output="label", overwrite=True)
    scored = unseen_label(store, lines)
    result = seisfuse.evaluate(store, pred="pred", label=scored, task="multiclass", classes=CLASSES)
    labelled = schema.open_group(store)[label].attrs.get("labelled_pixels", int(np.prod(SHAPE)))
    return {"k": k, "layout": layout, "seed": seed, "miou_unseen": result["miou"], "pixels_scored": result["pixels"],
            "labelled_pixels": labelled, "train_seconds": round(seconds, 1)}


def table(rows: list[dict]) -> str:
    out = ["| labelled lines | layout | unseen mIoU (mean ± sd, 3 seeds) | labelled pixels | training s |",
           "|---|---|---|---|---|"]
    keys = sorted({(r["k"] if r["k"] is not None else 10**9, r["layout"]) for r in rows})
    for k, layout in keys:
        group = [r for r in rows if (r["k"] if r["k"] is not None else 10**9) == k and r["layout"] == layout]
        m = np.array([r["miou_unseen"] for r in group])
        sd = m.std(ddof=1) if len(m) > 1 else 0.0
        out.append(f"| {'all (full label)' if k == 10**9 else k} | {layout} | {m.mean():.3f} ± {sd:.3f} "
                   f"| {group[0]['labelled_pixels']:,} | {np.mean([r['train_seconds'] for r in group]):.0f} |")
    return "\n".join(out)


def figure(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6), dpi=150)
    for layout, marker in (("inlines", "o"), ("mixed", "s")):
        ks = sorted({r["k"] for r in rows if r["layout"] == layout and r["k"] is not None})
        if not ks:
            continue
        means = [np.mean([r["miou_unseen"] for r in rows if r["k"] == k and r["layout"] == layout]) for k in ks]
        sds = [np.std([r["miou_unseen"] for r in rows if r["k"] == k and r["layout"] == layout]) for k in ks]
        ax.errorbar(ks, means, yerr=sds, marker=marker, capsize=3,
                    label="inlines only" if layout == "inlines" else "half crosslines")
    full = [r["miou_unseen"] for r in rows if r["k"] is None]
    if full:
        ax.axhline(np.mean(full), color="k", ls="--", lw=1, label="every voxel labelled")
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 2, 4, 8], labels=["1", "2", "4", "8"])
    ax.set_xlabel("labelled lines k (of 64 inlines x 64 crosslines)")
    ax.set_ylabel("mIoU on the unlabelled voxels")
    ax.set_title(f"Facies from a few labelled lines (synthetic, {SHAPE[0]}x{SHAPE[1]}x{SHAPE[2]})", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("sparse_out"))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--ks", default="1,2,4,8")
    parser.add_argument("--figure", type=Path, default=Path("docs/images/sparse_lines.png"))
    a = parser.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    results = a.out / "results.json"
    rows = json.loads(results.read_text()) if results.exists() else []
    done = {(r["k"], r["layout"], r["seed"]) for r in rows}
    val_store = a.out / "surveys" / "validation.zarr"
    if not val_store.exists():
        seisfuse.synth(val_store, shape=SHAPE, seed=999, task="facies")
        # the runs' label variable, fully labelled here (the log's validation only)
        seisfuse.write_variable(val_store, "picked", schema.open_group(val_store)["facies"][...])
    plan = [(None, "full", s) for s in range(a.seeds)]
    for k in (int(v) for v in a.ks.split(",")):
        plan += [(k, "inlines", s) for s in range(a.seeds)]
        if k >= 2:
            plan += [(k, "mixed", s) for s in range(a.seeds)]
    for k, layout, seed in plan:
        if (k, layout, seed) in done:
            continue
        rows.append(run_one(a.out, k, layout, seed, a.steps, val_store))
        results.write_text(json.dumps(rows, indent=1))  # resumable: finished runs are kept
        print(rows[-1], flush=True)
    (a.out / "table.md").write_text(table(rows) + "\n")
    figure(rows, a.figure)
    print(table(rows))


if __name__ == "__main__":
    main()
