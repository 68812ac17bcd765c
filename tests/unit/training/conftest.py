import pytest

import seisfuse


@pytest.fixture(scope="session")
def fault_store(tmp_path_factory):
    """A small labelled synthetic survey shared by the training tests."""
    path = tmp_path_factory.mktemp("data") / "faults.zarr"
    # clear faults (throws of 8 samples, no tips, little noise): the tests check the loop learns,
    # not how hard a survey the generator can draw
    return seisfuse.synth(path, shape=(48, 48, 32), seed=3, n_faults=4, snr=8.0,
                          faults=[{"throw": 8.0, "radius": None}] * 4)


@pytest.fixture
def small_config(fault_store, tmp_path):
    def make(**changes):
        cfg = {
            "name": "t", "runs_dir": str(tmp_path / "runs"),
            "data": {"stores": [str(fault_store)], "label": "fault", "tile": [32, 32],
                     "split": {"axis": "inline", "val_fraction": 0.25, "gap": 4}},
            "model": {"name": "edge_fusion_unet", "options": {"encoder": "resnet18", "encoder_depth": 3,
                                                              "decoder_channels": [32, 16, 8]}},
            "loss": {"terms": {"bce": 1.0, "dice": 1.0}},
            "optim": {"lr": 0.003, "warmup_steps": 5},
            "train": {"steps": 20, "batch_size": 4, "val_every": 10, "seed": 0, "threads": 1},
        }
        for key, value in changes.items():
            node = cfg
            *parents, last = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = value
        return cfg

    return make


def weights(path):
    import torch

    return torch.load(path, weights_only=True)["model"]


def same_weights(a, b, atol=0.0):
    import torch

    return all(torch.allclose(a[k].float(), b[k].float(), atol=atol, rtol=0) for k in a)


