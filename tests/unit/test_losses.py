"""Losses on inputs with known answers."""

import pytest
import torch

from seisfuse.errors import ConfigError
from seisfuse.losses import LOSSES, build_loss, class_balance

BIG = 1e4


def logits_for(target):
    return (target.float() * 2 - 1) * BIG  # a confident, exactly right prediction


def test_identical_images_give_zero_ssim_loss():
    target = (torch.rand(2, 1, 64, 64) > 0.5).float()
    assert float(build_loss("ssim")(logits_for(target), target)) == pytest.approx(0.0, abs=1e-5)


def test_ssim_3d():
    target = (torch.rand(1, 1, 24, 24, 24) > 0.5).float()
    assert float(build_loss("ssim")(logits_for(target), target)) == pytest.approx(0.0, abs=1e-5)
    assert float(build_loss("ssim")(-logits_for(target), target)) > 0.5


def test_all_wrong_prediction_gives_dice_loss_near_one():
    target = (torch.rand(2, 1, 32, 32) > 0.5).float()
    assert float(build_loss("dice")(-logits_for(target), target)) > 0.99
    assert float(build_loss("dice")(logits_for(target), target)) < 1e-3


def test_bce_pos_weight_scales_the_positive_term():
    target = torch.ones(1, 1, 4, 4)
    logits = torch.zeros(1, 1, 4, 4)
    plain = float(build_loss("bce")(logits, target))
    assert plain == pytest.approx(torch.log(torch.tensor(2.0)).item())
    assert float(build_loss("bce", pos_weight=3.0)(logits, target)) == pytest.approx(3 * plain)


def test_weighted_sum_and_hybrid():
    target = (torch.rand(1, 1, 32, 32) > 0.5).float()
    logits = torch.randn(1, 1, 32, 32)
    parts = build_loss({"bce": 1.0, "ssim": 1.0, "iou": 1.0})
    hybrid = build_loss("hybrid")
    assert float(hybrid(logits, target)) == pytest.approx(float(parts(logits, target)), rel=1e-6)
    weighted = build_loss({"bce": 0.5, "dice": 2.0})
    expected = 0.5 * float(build_loss("bce")(logits, target)) + 2.0 * float(build_loss("dice")(logits, target))
    assert float(weighted(logits, target)) == pytest.approx(expected, rel=1e-6)


def test_deep_supervision_outputs_are_all_scored():
    target = (torch.rand(1, 1, 16, 16) > 0.5).float()
    main, aux = torch.randn(1, 1, 16, 16), [torch.randn(1, 1, 16, 16)]
    loss = build_loss("bce")
    assert float(loss((main, aux), target)) == pytest.approx(float(loss(main, target) + loss(aux[0], target)))


def test_ms_ssim_tile_check():
    with pytest.raises(ConfigError, match=r"ms_ssim with window 11 needs tiles over 160 px, got 128x128"):
        build_loss("ms_ssim", tile=(128, 128))
    build_loss("ms_ssim", tile=(128, 128), win_size=7)  # 7 needs over 96
    loss = build_loss("ms_ssim", win_size=7)
    target = (torch.rand(1, 1, 112, 112) > 0.5).float()
    assert float(loss(logits_for(target), target)) == pytest.approx(0.0, abs=1e-4)
    with pytest.raises(ConfigError, match="over 96 px, got 64x64"):
        loss(torch.randn(1, 1, 64, 64), torch.zeros(1, 1, 64, 64))


def test_multiclass_ce_and_label_smoothing_zero_is_plain_ce():
    logits = torch.randn(2, 4, 8, 8)
    target = torch.randint(0, 4, (2, 8, 8))
    plain = float(torch.nn.functional.cross_entropy(logits, target))
    ce = lambda **kw: float(build_loss("ce", mode="multiclass", **kw)(logits, target))  # noqa: E731
    assert ce() == pytest.approx(plain) and ce(label_smoothing=0.0) == pytest.approx(plain)
    assert ce(label_smoothing=0.2) != pytest.approx(plain)


@pytest.mark.parametrize("name", [n for n in LOSSES if n not in ("ce", "ms_ssim")])
def test_every_binary_loss_backpropagates(name):
    logits = torch.randn(2, 1, 32, 32, requires_grad=True)
    target = (torch.rand(2, 1, 32, 32) > 0.7).float()
    build_loss(name)(logits, target).backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def test_errors_name_the_valid_losses():
    with pytest.raises(ConfigError, match=r"unknown loss name\(s\) \['bcee'\].*bce, dice"):
        build_loss("bcee")
    with pytest.raises(ConfigError, match="ce is for multi-class"):
        build_loss("ce")


def test_class_balance():
    labels = torch.zeros(100)
    labels[:4] = 1
    assert class_balance(labels) == 24.0
    with pytest.raises(ConfigError, match="no positive voxels"):
        class_balance(torch.zeros(10))


def test_class_weights_are_median_frequency_by_hand():
    from seisfuse.losses import class_weights

    # shares 0.8, 0.15, 0.05 (and one class absent): median 0.15, so 0.1875, 1, 3; absent: 1
    assert class_weights([80, 15, 5, 0]) == pytest.approx([0.15 / 0.8, 1.0, 3.0, 1.0])
    assert class_weights([10, 30]) == pytest.approx([2.0, 2 / 3])  # an even count: the mean of the middle two
    with pytest.raises(ConfigError, match="no labelled pixels"):
        class_weights([0, 0])


def test_weighted_ce_is_torch_weighted_ce_over_the_valid_pixels():
    logits, target = torch.randn(2, 3, 8, 8), torch.randint(0, 3, (2, 8, 8))
    valid = torch.ones(2, 8, 8, dtype=torch.bool)
    valid[:, :, 5:] = False
    weight = [0.5, 1.0, 4.0]
    loss = build_loss("ce", mode="multiclass", class_weight=weight)(logits, target, valid)
    expected = torch.nn.functional.cross_entropy(logits[..., :5], target[..., :5], weight=torch.tensor(weight))
    assert float(loss) == pytest.approx(float(expected), rel=1e-5)
    assert float(loss) != pytest.approx(float(build_loss("ce", mode="multiclass")(logits, target, valid)))


@pytest.mark.parametrize("name", ["dice", "jaccard", "tversky", "focal", "lovasz"])
def test_multiclass_region_losses_leave_the_invalid_pixels_out(name):
    """The same value as on the valid columns alone, whatever the invalid ones hold."""
    torch.manual_seed(0)
    logits, target = torch.randn(2, 4, 16, 16), torch.randint(0, 4, (2, 16, 16))
    valid = torch.zeros(2, 16, 16, dtype=torch.bool)
    valid[..., :8] = True
    loss = build_loss(name, mode="multiclass")
    alone = float(loss(logits[..., :8].contiguous(), target[..., :8].contiguous()))
    garbage = torch.where(valid[:, None], logits, torch.randn_like(logits) * 50)
    assert float(loss(garbage, target, valid)) == pytest.approx(alone, rel=1e-5)


def test_multiclass_ssim_compares_class_probabilities_and_ignores_the_invalid_pixels():
    target = torch.randint(0, 3, (2, 32, 32))
    right = torch.nn.functional.one_hot(target, 3).movedim(-1, 1).float() * 40 - 20  # (B, C, H, W), confident
    ssim = build_loss("ssim", mode="multiclass", tile=(32, 32))
    assert float(ssim(right, target)) == pytest.approx(0.0, abs=1e-4)
    assert float(ssim(-right, target)) > 0.5
    valid = torch.ones(2, 32, 32, dtype=torch.bool)
    valid[..., 20:] = False  # missing traces: anything there, no loss and no gradient
    logits = torch.where(valid[:, None], right, torch.randn_like(right) * 30).requires_grad_()
    value = ssim(logits, target, valid)
    assert float(value.detach()) == pytest.approx(0.0, abs=1e-4)
    wrong = torch.where(valid[:, None], -right, right).requires_grad_()
    ssim(wrong, target, valid).backward()
    assert float(wrong.grad[..., 20:].abs().sum()) == 0 and float(wrong.grad[..., :20].abs().sum()) > 0
