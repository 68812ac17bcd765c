"""QC figures of a store: a section of the amplitude in a seismic colour map, symmetric
clip from the store's statistics, axes in the survey's units (line numbers, ms or m), labels
and predictions drawn over it, missing and dead traces hatched, and a true-scale aspect.

matplotlib does the drawing; what is seisfuse's own is choosing the section by line number,
the clip from the recorded percentiles, how each kind of variable is overlaid and the aspect
from the trace spacing and sample interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from seisfuse.errors import SeisfuseError  # noqa: E402
from seisfuse.io import schema  # noqa: E402
from seisfuse.viz.sections import (  # noqa: E402
    Section,
    amplitude_clip,
    display_ratio,
    exaggeration_for,
    section,
    variable_kind,
)  # noqa: E402

SEISMIC_MAPS = {"gray": "gray", "seismic": "RdBu_r"}  # red-white-blue: negative blue, positive red
BINARY_COLOURS = ["#ff2d2d", "#00e5ff", "#ffd400", "#7cff00", "#ff00ff"]
DEAD_COLOUR = "#9a9a9a"


@dataclass
class Drawn:
    """What a panel shows, for callers and tests: the clip, the exaggeration, the overlays."""

    clip: float
    clip_source: str
    exaggeration: float
    overlays: dict[str, str] = field(default_factory=dict)  # variable -> kind
    n_dead: int = 0


def extent(sec: Section) -> list[float]:
    """Pixel-centred extent: each column sits on its coordinate."""
    def edges(v):
        half = (v[1] - v[0]) / 2 if len(v) > 1 else 0.5
        return float(v[0] - half), float(v[-1] + half)
    x0, x1 = edges(sec.x)
    y0, y1 = edges(sec.y)
    return [x0, x1, y0, y1] if sec.kind == "sample" else [x0, x1, y1, y0]  # sample axis downwards


def axes_for(ax, sec: Section, exaggeration: float) -> None:
    ax.set_xlabel(sec.x_name)
    ax.set_ylabel(sec.y_name)
    ax.set_aspect(sec.true_aspect() * exaggeration)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))  # line and trace numbers are whole
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=sec.kind == "sample"))


def colorbar_for(ax, mappable, label: str, slot: int = 0):
    """A colour bar as tall as its panel, whatever the panel's aspect (the `slot`-th to its right)."""
    cax = ax.inset_axes([1.03 + 0.2 * slot, 0.0, 0.03, 1.0])
    bar = ax.figure.colorbar(mappable, cax=cax)
    bar.set_label(label, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return bar


def _dead(ax, sec: Section) -> int:
    """Hatch missing and dead traces: column spans on a section, cells on a slice."""
    dead = np.asarray(sec.dead, bool)
    if sec.kind == "sample":
        if dead.any():
            ax.imshow(np.ma.masked_where(~dead, np.ones(dead.shape)), cmap=ListedColormap([DEAD_COLOUR]),
                      extent=extent(sec), origin="lower", interpolation="nearest", zorder=3)
        return int(dead.sum())
    half = (sec.x[1] - sec.x[0]) / 2 if len(sec.x) > 1 else 0.5
    runs = np.flatnonzero(np.diff(np.concatenate([[0], dead.astype(np.int8), [0]])))
    for start, stop in zip(runs[::2], runs[1::2]):
        ax.axvspan(sec.x[start] - half, sec.x[stop - 1] + half, facecolor=DEAD_COLOUR, edgecolor="#555555",
                   hatch="///", linewidth=0, zorder=3)
    return int(dead.sum())


def draw_image(ax, sec: Section, data: np.ndarray, **kwargs):
    return ax.imshow(data, extent=extent(sec), origin="lower" if sec.kind == "sample" else "upper",
                     interpolation="nearest", **kwargs)


def overlay(ax, sec: Section, name: str, values: np.ndarray, colour_index: int, opacity: float,
            class_names: list[str] | None = None):
    """Draw one variable over the amplitude; returns (kind, mappable for a colourbar or None,
    legend handles)."""
    kind = variable_kind(values)
    if kind == "binary":
        colour = BINARY_COLOURS[colour_index % len(BINARY_COLOURS)]
        draw_image(ax, sec, np.ma.masked_where(values < 0.5, values), cmap=ListedColormap([colour]),
                   alpha=opacity, vmin=0, vmax=1, zorder=2)
        return kind, None, [Patch(color=colour, alpha=opacity, label=name)]
    if kind == "classes":
        n = int(np.nanmax(values)) + 1
        colours = plt.get_cmap("tab10" if n <= 10 else "tab20")(np.arange(n) % 20)
        cmap = ListedColormap(colours)
        draw_image(ax, sec, values, cmap=cmap, norm=BoundaryNorm(np.arange(n + 1) - 0.5, n), alpha=opacity,
                   zorder=2)
        names = class_names or [f"class {k}" for k in range(n)]
        return kind, None, [Patch(color=colours[k], alpha=opacity, label=names[k] if k < len(names) else str(k))
                            for k in range(n)]
    cmap = plt.get_cmap("inferno" if kind == "probability" else "viridis")
    lo, hi = (0.0, 1.0) if kind == "probability" else (float(np.nanmin(values)), float(np.nanmax(values)))
    scaled = np.clip((values - lo) / max(hi - lo, 1e-12), 0, 1)
    image = draw_image(ax, sec, values, cmap=cmap, vmin=lo, vmax=hi,
                       alpha=np.nan_to_num(opacity * scaled if kind == "probability" else opacity + 0 * scaled),
                       zorder=2)
    return kind, image, []


def draw(ax, group, sec: Section, variables=(), *, clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
         exaggeration: float | None = None, colorbar: bool = True, title: str | None = None,
         legend: bool = True) -> Drawn:
    """One panel: the amplitude of `sec`, each variable over it, the dead traces, the axes.
    `colorbar`: the amplitude's (a continuous layer always gets its own)."""
    amp = sec.values(group[schema.AMPLITUDE]).astype(np.float32)
    limit, source = amplitude_clip(group[schema.AMPLITUDE], clip, amp)
    ve = exaggeration_for(sec, exaggeration)
    image = draw_image(ax, sec, amp, cmap=SEISMIC_MAPS.get(cmap, cmap), vmin=-limit, vmax=limit, zorder=1)
    drawn = Drawn(limit, source, ve)
    handles, colorbars = [], []
    for k, name in enumerate(variables):
        if name not in group:
            raise SeisfuseError(f"the store has no variable {name!r}", where=schema.where(group),
                                fix=f"choose from {', '.join(schema.complete_variables(group)) or 'none'}")
        kind, mappable, patches = overlay(ax, sec, name, sec.values(group[name]).astype(np.float32), k, opacity,
                                         group[name].attrs.get("class_names"))
        drawn.overlays[name] = kind
        handles += patches
        if mappable is not None:
            colorbars.append((mappable, name))
    drawn.n_dead = _dead(ax, sec)
    if drawn.n_dead:
        handles.append(Patch(facecolor=DEAD_COLOUR, hatch="///", label=f"missing/dead ({drawn.n_dead})"))
    if handles and legend:
        # right of the colour bars: never over the data or the axis labels
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.03 + 0.2 * (len(colorbars) + colorbar), 1.0),
                  fontsize=7, frameon=False, borderaxespad=0)
    if colorbar:
        colorbars.insert(0, (image, f"amplitude (±{limit:.3g}, p{clip:g})"))
    axes_for(ax, sec, ve)
    for slot, (mappable, label) in enumerate(colorbars):
        colorbar_for(ax, mappable, label, slot)
    ax.set_title((title or sec.label) + ("" if abs(ve - 1) < 1e-6 else f"  (VE {ve:.2g}x)"), fontsize=10)
    return drawn


def plot_figure(store, *, inline=None, crossline=None, sample=None, inline_index=None, crossline_index=None,
                sample_index=None, variables=(), clip: float = 99.0, cmap: str = "gray", opacity: float = 0.5,
                aspect: float | None = None, out: str | Path | None = None):
    """The figure of one section: one panel per variable drawn over the amplitude (the
    amplitude alone when none is given). Saved to `out` (.png, .pdf, .svg) when given."""
    group = schema.open_group(store)
    sec = section(group, inline=inline, crossline=crossline, sample=sample, inline_index=inline_index,
                  crossline_index=crossline_index, sample_index=sample_index)
    panels = [[name] for name in variables] or [[]]
    ratio = display_ratio(sec, exaggeration_for(sec, aspect))
    height = 6.4 * ratio + 1.0
    stacked = ratio < 0.5  # flat sections one above the other, tall ones side by side
    # a Figure outside pyplot's registry: the caller owns it, nothing accumulates in a loop
    fig = Figure(figsize=(8.0, height * len(panels)) if stacked else (6.4 * len(panels), height))
    axes = fig.subplots(len(panels) if stacked else 1, 1 if stacked else len(panels), squeeze=False)
    fig.drawn = [draw(ax, group, sec, names, clip=clip, cmap=cmap, opacity=opacity, exaggeration=aspect,
                      title=f"{sec.label}: {names[0]}" if names else sec.label)
                 for ax, names in zip(axes.flat, panels)]
    fig.section = sec
    fig.tight_layout()
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out, dpi=130, bbox_inches="tight")
    return fig
