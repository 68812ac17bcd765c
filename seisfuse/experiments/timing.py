"""Cost that can be compared between the rows of a table: every row's model built again when
the report is made (its parameters and FLOPs as this seisfuse builds it, so that a run's
cached cost.json from an earlier version cannot stand in the table) and timed back to back,
on one device with one thread count, the repeats interleaved across the models (so that a
machine that gets busier slows every row alike), after a warm-up; the median and the
interquartile range are shown.

Each run also times itself when it finishes (cost.json), but at its own moment: on a busy
machine those figures are not comparable (a U-Net measured 948 ms per tile against 21 ms for a
model of twice its FLOPs), so the tables use these."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import yaml

from seisfuse.models import build_model, to_channels_last
from seisfuse.models.cost import flops, forward_seconds, parameters

WARMUP, REPEATS = 3, 10


def _model(run_dir: Path):
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    model = build_model(config["model"]["name"], classes=config["data"]["classes"], **config["model"]["options"])
    return to_channels_last(model).eval(), tuple(config["data"]["tile"])  # as seisfuse.infer holds it


def time_rows(rows: list[dict], runs: list[dict], device: str | None = None) -> dict:
    """Sets params and gflops, and adds latency_ms (median) and latency_iqr (p25, p75), for
    every row that has a finished run; returns how it was timed."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    models = {}
    for row in rows:
        run = next((r for r in runs if r["status"] == "ok" and r["variant"] == row["variant"]
                    and r["dataset"] == row["dataset"]), None)
        if run is not None:
            model, tile = _model(Path(run["run_dir"]))
            row["params"], row["gflops"] = parameters(model)["total"], flops(model, tile) / 1e9
            models[(row["dataset"], row["variant"])] = (model.to(device), torch.randn(1, 1, *tile, device=device))
    times: dict[tuple, list[float]] = {k: [] for k in models}
    for i in range(WARMUP + REPEATS):
        for key, (model, x) in models.items():  # interleaved: one pass of each model per round
            seconds = forward_seconds(model, x)
            if i >= WARMUP:
                times[key].append(1000 * seconds)
    for row in rows:
        t = times.get((row["dataset"], row["variant"]))
        if t:
            row["latency_ms"] = float(np.median(t))
            row["latency_iqr"] = (float(np.percentile(t, 25)), float(np.percentile(t, 75)))
    return {"device": str(device), "threads": torch.get_num_threads(), "warmup": WARMUP, "repeats": REPEATS}


def describe(how: dict, tiles: set) -> str:
    shown = ", ".join("x".join(map(str, t)) for t in sorted(tiles))
    return (f"Latency: median [interquartile range] of {how['repeats']} forward passes of one {shown} tile per "
            f"model, timed back to back (interleaved) when this report was made, on {how['device']} with "
            f"{how['threads']} threads, channels-last weights (as prediction holds them), after {how['warmup']} "
            "warm-up passes.")
