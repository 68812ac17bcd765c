"""Train on labels drawn on a few lines: per-line masks (as the viewer's brush saves them, or
PNGs from another tool) imported into a sparse label, then a model trained on those lines
only, validated on a labelled line it did not train on.

The masks here are cut from a synthetic survey's true facies; yours come from your labelling."""

from pathlib import Path

import numpy as np
import zarr
from PIL import Image

import seisfuse

seisfuse.synth("survey.zarr", shape=(24, 32, 48), seed=2, task="facies", overwrite=True)
store = zarr.open_group("survey.zarr", mode="r")
facies, inlines = store["facies"][...], store["inline"][...]

# 1. A mask per line: rows are samples from the top, columns the traces, 255 = not labelled
Path("masks").mkdir(exist_ok=True)
for k in (2, 9, 16, 21):
    Image.fromarray(facies[k].T.astype(np.uint8)).save(f"masks/inline_{inlines[k]}.png")
found = seisfuse.labels("import", "survey.zarr", "masks", var="drawn")
print(f"labelled inlines {found['labelled_lines']['inline']}, {found['labelled_pixels']} pixels")

# 2. Training draws sections from the labelled lines only; the last labelled line validates
Path("lines.yaml").write_text(f"""
name: lines
runs_dir: runs
data: {{stores: [survey.zarr], label: drawn, task: multiclass, classes: {int(facies.max()) + 1},
        tile: [32, 32], split: {{val_lines: [inline {inlines[21]}], gap: 1}}}}
model: {{name: unet, options: {{encoder: resnet18, encoder_weights: null}}}}
train: {{steps: 4, batch_size: 2, val_every: 4, threads: 1}}
""")
summary = seisfuse.train("lines.yaml", overwrite=True)
print(f"validation mIoU on inline {inlines[21]} after {summary['steps']} steps: {summary['final']['miou']:.3f}")
