"""The report's panel figure: for one inline and one crossline of a survey, the amplitude,
the edge map the model sees, the label and each model's prediction drawn over the amplitude,
with the axes in the survey's units (seisfuse.viz.plot draws every panel)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seisfuse.io import schema  # noqa: E402
from seisfuse.models.edges import EdgeMap  # noqa: E402
from seisfuse.viz.plot import axes_for, colorbar_for, draw, draw_image  # noqa: E402
from seisfuse.viz.sections import display_ratio, exaggeration_for, section  # noqa: E402


def panel_figure(store, label: str, predictions: list[str], out: str | Path, edge_operator: str = "sobel") -> Path:
    group = schema.open_group(store)
    one = schema.spatial_dims(group) == ("trace",) or group.attrs.get("collection") == "images"
    sections = [section(group)] if one else [  # an image stack: a crossline would cut across images
        section(group, inline_index=group[schema.AMPLITUDE].shape[0] // 2),
        section(group, crossline_index=group[schema.AMPLITUDE].shape[1] // 2)]
    columns = ["amplitude", f"edge map ({edge_operator})", label, *predictions]
    heights = [4.2 * display_ratio(sec, exaggeration_for(sec, None)) + 1.0 for sec in sections]
    fig, axes = plt.subplots(len(sections), len(columns), figsize=(4.8 * len(columns), sum(heights)),
                             squeeze=False, gridspec_kw={"height_ratios": heights})
    for row, sec in enumerate(sections):
        ve = exaggeration_for(sec, None)
        draw(axes[row, 0], group, sec, colorbar=True, title=f"{sec.label}: amplitude")
        image = sec.values(group[schema.AMPLITUDE]).astype(np.float32)
        edge = EdgeMap(edge_operator)(torch.from_numpy(np.ascontiguousarray(image))[None, None])[0, 0].numpy()
        shown = draw_image(axes[row, 1], sec, edge, cmap="magma", vmin=0, vmax=float(edge.max()) or 1.0)
        axes_for(axes[row, 1], sec, ve)
        colorbar_for(axes[row, 1], shown, "edge strength")
        axes[row, 1].set_title(f"{sec.label}: {columns[1]}", fontsize=10)
        for col, name in enumerate([label, *predictions], start=2):
            draw(axes[row, col], group, sec, [name], colorbar=False, title=f"{sec.label}: {name}")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return out
