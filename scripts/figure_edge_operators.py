"""Each edge operator of seisfuse.models.edges on a real F3 section, for RESULTS.md: what the
edge branch is given. The map is scaled per tile to a unit peak, so the amplitude's scale
(raw F3 is about +-30,000) does not matter (tested).

    python scripts/figure_edge_operators.py [SRC] [OUT.png]
    (SRC: ../shared/data/f3_facies, OUT: docs/images/edge_operators_f3.png)
"""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seisfuse.adapters import read_image  # noqa: E402
from seisfuse.models.edges import EDGE_OPERATORS, EdgeMap  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main(src: Path, out: Path) -> None:
    section = read_image(src / "sections" / "inline_459.tiff")[:, :400]  # 462 depth samples x 400 traces
    x = torch.from_numpy(section)[None, None]
    names = ["amplitude", *sorted(EDGE_OPERATORS)]
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 2.3 * len(names)))
    clip = float(np.percentile(np.abs(section), 99))
    for ax, name in zip(axes, names):
        shown = section if name == "amplitude" else EdgeMap(name)(x)[0, 0].numpy()
        image = ax.imshow(shown, cmap="gray" if name == "amplitude" else "magma", aspect="auto",
                          vmin=-clip if name == "amplitude" else 0, vmax=clip if name == "amplitude" else 1)
        ax.set_title(f"{name}" + ("" if name == "amplitude" else f" (mean {shown.mean():.3f}, "
                                                                  f"{(shown > 0.5).mean() * 100:.1f} % above 0.5)"),
                     fontsize=9)
        ax.set_ylabel("depth sample")
        fig.colorbar(image, ax=ax, pad=0.01)
    axes[-1].set_xlabel("trace of inline 459")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=55)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/data/f3_facies",
         Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / "docs/images/edge_operators_f3.png")
