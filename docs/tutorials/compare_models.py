"""Compare two networks on the same data and seeds: an experiment grid, then its report
(a table with mean ± std over seeds, paired differences, figures).

Tiny budgets so that it runs in a minute on a laptop; a real comparison uses the shipped
pipelines (pipelines/ablation.yaml, pipelines/f3_folds.yaml) and more steps and seeds."""

from pathlib import Path

import seisfuse

Path("base.yaml").write_text("""
name: compare
data: {stores: [unused], label: fault, tile: [32, 32], split: {val_fraction: 0.25, gap: 2}}
model: {name: edge_fusion_unet, options: {encoder_depth: 3, decoder_channels: [16, 8, 8]}}
train: {steps: 4, batch_size: 2, val_every: 4, threads: 1}
""")
Path("compare.yaml").write_text("""
name: compare
workdir: work
steps:
  - synth: {out: faults.zarr, shape: [24, 32, 32], seed: 1}
  - experiment:
      name: small
      base: base.yaml
      datasets: {synthetic: faults.zarr}
      variants:
        edge_fusion: []
        no_edge_branch: ["model.options.fusion=none"]
      seeds: [0, 1]
      reference: no_edge_branch
  - report: {runs: [experiments/small], out: report, pairs: [edge_fusion-no_edge_branch]}
""")
seisfuse.run("compare.yaml")

table = Path("work/report/table.md").read_text()
print(table.split("\n\n")[0])  # one row per variant: metrics as mean ± std over the two seeds
assert "| synthetic | edge_fusion | 2 |" in table and Path("work/report/metric_bars.png").is_file()
