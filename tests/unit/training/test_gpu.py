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
    out = seisfuse.predict(str(cfg.run_dir / "best.pt"), seisfuse.open_store(store).amplitude.values, device="cuda")
    assert out.shape == seisfuse.open_store(store).amplitude.shape
