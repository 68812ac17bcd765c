"""The panel figure: for one inline and one crossline of a survey, the amplitude, the edge
map the model sees, the label and each model's prediction side by side."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seisfuse.io import schema  # noqa: E402
from seisfuse.models.edges import EdgeMap  # noqa: E402


def panel_figure(store, label: str, predictions: list[str], out: str | Path, edge_operator: str = "sobel") -> Path:
    group = schema.open_group(store)
    amp = group[schema.AMPLITUDE]
    i, j = amp.shape[0] // 2, amp.shape[1] // 2
    sections = {"inline": lambda name: group[name][i], "crossline": lambda name: group[name][:, j]}
    columns = ["amplitude", "edge map", label, *predictions]
    fig, axes = plt.subplots(2, len(columns), figsize=(2.6 * len(columns), 5.2), squeeze=False)
    for row, (kind, take) in enumerate(sections.items()):
        image = np.asarray(take(schema.AMPLITUDE), dtype=np.float32)
        clip = np.percentile(np.abs(image), 99) or 1.0
        edge = EdgeMap(edge_operator)(torch.from_numpy(image)[None, None])[0, 0].numpy()
        panels = [(image, "gray", -clip, clip), (edge, "magma", 0, 1),
                  (np.asarray(take(label)), "viridis", None, None)]
        panels += [(np.asarray(take(p)), "viridis", 0, 1) for p in predictions]
        for col, (data, cmap, lo, hi) in enumerate(panels):
            ax = axes[row, col]
            ax.imshow(data.T, cmap=cmap, vmin=lo, vmax=hi, aspect="auto")  # sample axis down
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(columns[col], fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{kind} {i if kind == 'inline' else j}", fontsize=9)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
