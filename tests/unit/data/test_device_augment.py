"""Batch augmentation on the device, each transform against its definition on hand-made
inputs: a flip is a flip, a rotation by 0 is the identity, label and amplitude stay aligned
under every geometric transform, pixels warped in from outside are not live, and a seeded
batch is reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seisfuse.config.train import AugmentConfig
from seisfuse.data.device_augment import augment_batch, generator, sampling_grid, warp

NONE = dict(flip_lateral=0.0, rotate_p=0.0, elastic_p=0.0, brightness_contrast_p=0.0, noise_p=0.0, gamma_p=0.0)


def _batch(n=4, h=32, w=48, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, h, w, generator=g)
    blocks = torch.randint(0, 5, (n, h // 8, w // 8), generator=g)
    y = blocks.repeat_interleave(8, 1).repeat_interleave(8, 2)  # 8x8 blocks of one class
    return x, y, torch.ones(n, h, w, dtype=torch.bool)


def test_nothing_enabled_is_the_identity():
    x, y, v = _batch()
    ox, oy, ov = augment_batch(x, y, v, AugmentConfig(**NONE), generator(0, 0, "cpu"))
    assert torch.allclose(ox, x, atol=1e-5) and torch.equal(oy, y) and torch.equal(ov, v)


def test_a_flip_is_a_lateral_flip_of_amplitude_label_and_mask():
    x, y, v = _batch()
    v[:, :3] = False  # the first lateral positions not live
    ox, oy, ov = augment_batch(x, y, v, AugmentConfig(**{**NONE, "flip_lateral": 1.0}), generator(0, 0, "cpu"))
    assert torch.allclose(ox, x.flip(2), atol=1e-5) and torch.equal(oy, y.flip(1)) and torch.equal(ov, v.flip(1))


def test_a_rotation_by_zero_is_the_identity_and_small_ones_keep_the_centre():
    x, _, _ = _batch()
    zero = sampling_grid(4, 32, 48, AugmentConfig(**NONE), generator(0, 0, "cpu"), "cpu", torch.zeros(4))
    assert torch.allclose(warp(x, zero, "bilinear"), x, atol=1e-5)
    i, j = torch.meshgrid(torch.arange(32.0), torch.arange(48.0), indexing="ij")
    smooth = (torch.sin(i / 5) + torch.cos(j / 7))[None, None].repeat(4, 1, 1, 1)
    five = sampling_grid(4, 32, 48, AugmentConfig(**NONE), generator(0, 0, "cpu"), "cpu", torch.full((4,), 5.0))
    turned = warp(smooth, five, "bilinear")
    assert torch.allclose(turned[..., 15:17, 23:25], smooth[..., 15:17, 23:25], atol=0.05)  # the centre stays
    assert (turned[..., 2:30, 2:46] - smooth[..., 2:30, 2:46]).abs().max() > 0.1  # the rest turns


def _uniform_3x3(y: torch.Tensor) -> torch.Tensor:
    """Pixels whose 3x3 neighbourhood holds one class."""
    padded = torch.nn.functional.pad(y[:, None].float(), (1, 1, 1, 1), mode="replicate")[:, 0]
    h, w = y.shape[1:]
    same = torch.ones_like(y, dtype=torch.bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            same &= padded[:, 1 + dy:1 + dy + h, 1 + dx:1 + dx + w] == y
    return same


@pytest.mark.parametrize("kind", ["rotate_p", "elastic_p", "flip_lateral"])
def test_label_and_amplitude_stay_aligned_under_every_geometric_transform(kind):
    _, y, v = _batch(seed=3)
    x = y[:, None].float()  # the amplitude is the label: after the warp they must still agree
    cfg = AugmentConfig(**{**NONE, kind: 1.0, "rotate_limit": 10.0})
    ox, oy, ov = augment_batch(x, y, v, cfg, generator(1, 2, "cpu"))
    # where the amplitude was sampled from inside one block (every bilinear neighbour of one
    # class), it must equal the label sampled nearest at the same place
    grid = sampling_grid(4, 32, 48, cfg, generator(1, 2, "cpu"), "cpu")
    clean = warp(_uniform_3x3(y)[:, None].float(), grid, "bilinear")[:, 0] > 1 - 1e-6
    keep = clean & ov
    assert keep.sum() > 0.4 * keep.numel()
    assert torch.allclose(ox[:, 0][keep], oy[keep].float(), atol=1e-3)
    assert kind == "flip_lateral" or not torch.equal(oy, y)  # the warp did something


def test_pixels_warped_in_from_outside_are_not_live():
    x, y, v = _batch()
    cfg = AugmentConfig(**{**NONE, "rotate_p": 1.0, "rotate_limit": 10.0})
    grid = sampling_grid(4, 32, 48, cfg, generator(0, 0, "cpu"), "cpu")  # the same draws as the batch's
    _, _, ov = augment_batch(x, y, v, cfg, generator(0, 0, "cpu"))
    outside = (grid.abs() > 1 + 1 / 32).any(-1)  # more than half a pixel beyond the border
    assert outside.any() and not ov[outside].any()
    assert ov[:, 16, 24].all()  # the centre stays live


def test_intensity_changes_leave_geometry_alone_and_seeded_batches_repeat():
    x, y, v = _batch()
    cfg = AugmentConfig(**{**NONE, "brightness_contrast_p": 1.0, "noise_p": 1.0, "gamma_p": 1.0})
    a = augment_batch(x, y, v, cfg, generator(5, 7, "cpu"))
    b = augment_batch(x, y, v, cfg, generator(5, 7, "cpu"))
    c = augment_batch(x, y, v, cfg, generator(5, 8, "cpu"))
    assert torch.equal(a[1], y) and torch.equal(a[2], v)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    assert not torch.allclose(a[0], x, atol=1e-3)


def test_training_with_device_augmentation_runs_and_3d_is_refused(small_config):
    import seisfuse
    from seisfuse.config.train import load_config
    from seisfuse.errors import ConfigError

    cfg = load_config(small_config(**{"data.augment": {"on": "device", "rotate_p": 1.0, "elastic_p": 0.5},
                                      "train.steps": 4, "train.val_every": 4}))
    summary = seisfuse.train(cfg)
    assert np.isfinite(summary["final"]["train_loss"])
    with pytest.raises(ConfigError, match="device augments 2D tiles"):
        load_config(small_config(**{"data.augment": {"on": "device"}, "data.dims": 3, "data.tile": [16, 16, 16]}))
