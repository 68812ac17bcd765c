"""An inline section of a synthetic faulted survey without and with its fault labels, for the
docs: faults should read as offsets of reflectors, with no bright events along the planes.

    python scripts/figure_synthetic.py [OUT.png] [--seed N] [--shape I,X,S] [--inline N]
    (OUT: docs/images/synthetic_section.png; seed 0 at the demo's 96,96,128; the middle inline)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from seisfuse.data.synthetic import make_survey  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(out: Path, seed: int, shape: tuple[int, int, int], inline: int | None) -> None:
    survey = make_survey(shape, seed)
    p = survey.params
    index = shape[0] // 2 if inline is None else inline - 1  # stores number lines from 1
    section, fault = survey.amplitude[index].T, survey.fault[index].T  # (sample, crossline)
    dt = p["sample_interval_ms"]
    extent = (0.5, shape[1] + 0.5, (shape[2] - 0.5) * dt, -0.5 * dt)  # crossline numbers, time in ms
    clip = float(np.percentile(np.abs(survey.amplitude), 99))
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True)
    for ax, labelled in zip(axes, (False, True)):
        image = ax.imshow(section, cmap="gray_r", aspect="auto", extent=extent, vmin=-clip, vmax=clip,
                          interpolation="nearest")
        if labelled:
            ax.imshow(np.ma.masked_equal(fault, 0), cmap=ListedColormap(["red"]), alpha=0.6, aspect="auto",
                      extent=extent, interpolation="nearest")
        ax.set_title("fault labels (red) over the amplitude" if labelled else "amplitude", fontsize=10)
        ax.set_xlabel("crossline")
    axes[0].set_ylabel("time (ms)")
    fig.colorbar(image, ax=axes, pad=0.01, fraction=0.03, label="amplitude (survey std = 1)")
    band = "none" if not p["bandpass_hz"] else "{:.0f}-{:.0f} Hz".format(*p["bandpass_hz"])
    fig.suptitle(f"synthetic survey seed {seed}, inline {index + 1} of {shape}: {p['n_faults']} faults, "
                 f"{dt:g} ms, Ricker {p['peak_hz']:.0f} Hz, phase {p['phase_deg']:.0f} deg, band-pass {band}, "
                 f"SNR {p['snr']:.1f}; {p['fault_fraction'] * 100:.1f} % fault voxels", fontsize=9)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=70, bbox_inches="tight")
    print(f"wrote {out}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=ROOT / "docs/images/synthetic_section.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shape", default="96,96,128")
    parser.add_argument("--inline", type=int, default=None, help="inline number (from 1); default the middle")
    args = parser.parse_args()
    main(args.out, args.seed, tuple(int(v) for v in args.shape.split(",")), args.inline)
