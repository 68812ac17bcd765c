import pytest

import seisfuse
from tests.fs import small_fs  # noqa: F401 - a fixture of these tests


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """(store, checkpoint) of a tiny model trained for a few steps on a small synthetic survey."""
    root = tmp_path_factory.mktemp("tiny")
    store = seisfuse.synth(root / "s.zarr", shape=(40, 24, 40), seed=5, n_faults=3)
    cfg = {"name": "p", "runs_dir": str(root / "runs"),
           "data": {"stores": [str(store)], "label": "fault", "tile": [16, 32],
                    "split": {"val_fraction": 0.25, "gap": 2}},
           "model": {"name": "edge_fusion_unet", "options": {"encoder_depth": 3, "decoder_channels": [16, 8, 8]}},
           "train": {"steps": 4, "batch_size": 2, "val_every": 4, "threads": 1}}
    summary = seisfuse.train(cfg)
    return store, f"{summary['run_dir']}/best.pt"
