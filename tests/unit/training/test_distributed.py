"""torchrun with 2 gloo processes equals one process with the same global batch."""

import json
import shutil
import subprocess
import sys

import pytest
import yaml

from seisfuse.config.train import load_config
from tests.unit.training.conftest import same_weights, weights

pytestmark = pytest.mark.slow


def train_with_torchrun(config: dict, tmp_path, port: int) -> None:
    """`seisfuse train` on 2 gloo processes (torchrun), the config written as a YAML file."""
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(config))
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port", str(port)]
    result = subprocess.run([*torchrun, "-m", "seisfuse.cli", "train", "-c", str(path), "-q"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


def test_two_process_ddp_equals_one_process(small_config, tmp_path):
    # GroupNorm: per-sample statistics, so the split of the batch over ranks cannot matter.
    base = {"data.dims": 3, "data.tile": [16, 16, 16], "model.name": "edge_fusion_unet3d",
            "model.options": {"widths": [4, 8], "norm": "group"}, "train.steps": 4, "train.val_every": 4,
            "loss.terms": {"bce": 1.0}, "data.augment": {"enabled": False},
            "optim.name": "sgd"}  # Adam turns float-rounding differences of tiny gradients into full steps
    single = load_config(small_config(**base, **{"runs_dir": str(tmp_path / "one"), "train.batch_size": 4}))
    import seisfuse

    seisfuse.train(single)
    config = small_config(**base, **{"runs_dir": str(tmp_path / "two"), "train.batch_size": 2})
    train_with_torchrun(config, tmp_path, port=29533)
    two = load_config(config)
    assert same_weights(weights(single.run_dir / "last.pt"), weights(two.run_dir / "last.pt"), atol=1e-5)
    shutil.rmtree(tmp_path / "two", ignore_errors=True)


def test_two_process_ddp_trains_a_streamed_survey(small_config, tmp_path):
    """torchrun with the streamed tile source: each rank reads its own blocks from the store
    (no decoded copy anywhere), validation and the checkpoint come from rank 0."""
    config = small_config(**{"runs_dir": str(tmp_path / "two"), "train.steps": 4, "train.val_every": 4,
                             "train.batch_size": 2, "data.source": "streamed", "data.cache_budget": "4MiB",
                             "data.slab_reuse": 0.2})
    train_with_torchrun(config, tmp_path, port=29534)
    run = load_config(config).run_dir
    assert not list(run.rglob("*.npy"))
    provenance = json.loads((run / "provenance.json").read_text())
    assert provenance["data.source"]["used"] == {"faults.zarr": "streamed"}
    assert (run / "last.pt").exists() and (run / "best.pt").exists()
    rows = (run / "metrics.csv").read_text().splitlines()
    assert rows[-1].startswith("4,")
