"""Research options: each block keeps shapes and trains; known answers where they exist."""

import pytest
import torch
from torch import nn

from seisfuse.errors import ConfigError
from seisfuse.losses import DistillationLoss, build_loss
from seisfuse.models import build_model, flops, parameters
from seisfuse.models.research import (
    ACTIVATIONS,
    ASPP,
    NORMS,
    DeformableConv2d,
    DilatedBlock,
    SeparableConv2d,
    deformable_from,
    initialise,
)

torch.manual_seed(0)
SMALL = {"encoder_depth": 3, "decoder_channels": (32, 16, 8)}


def trains_one_step(model, x):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    before = [p.detach().clone() for p in model.parameters()]
    out = model(x)
    assert out.shape == (x.shape[0], 1, *x.shape[2:])
    nn.functional.binary_cross_entropy_with_logits(out, (x > 0).float()).backward()
    optimizer.step()
    return any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


@pytest.mark.parametrize("options", [
    {"deformable": ("fusion",)}, {"deformable": ("decoder",)},
    {"deformable": ("encoder_last",), "encoder_depth": 4, "decoder_channels": (32, 16, 8, 8)},
    {"dilation": (1, 2, 4)}, {"dilation": (1, 2, 5)}, {"aspp": True},
    {"separable": True}, {"dropout": 0.2, "dropout_position": "fusion"}, {"dropout": 0.2},
    {"init": "kaiming"}, {"init": "xavier"},
])
def test_each_block_keeps_shapes_and_trains(options):
    model = build_model("edge_fusion_unet", **{**SMALL, **options})
    assert trains_one_step(model, torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_builds(name):
    model = build_model("edge_fusion_unet", activation=name, **SMALL)
    kinds = {type(m).__name__ for m in model.modules()}
    if name != "relu":
        assert "ReLU" not in kinds
    assert trains_one_step(model, torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("kind", NORMS)
def test_every_normalisation_builds(kind):
    model = build_model("edge_fusion_unet", norm=kind, **SMALL)
    if kind != "batch":
        assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert trains_one_step(model, torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("options", [{"activation": "gelu"}, {"dropout": 0.1}, {"dilation": (1, 2)},
                                     {"init": "kaiming"}, {"norm": "instance"}])
def test_3d_options(options):
    assert trains_one_step(build_model("edge_fusion_unet3d", widths=(4, 8), **options), torch.randn(1, 1, 8, 8, 8))


def test_bad_option_values():
    with pytest.raises(ConfigError, match="unknown activation 'swish2'"):
        build_model("edge_fusion_unet", activation="swish2", **SMALL)
    with pytest.raises(ConfigError, match="unknown normalisation 'batchnorm'"):
        build_model("edge_fusion_unet", norm="batchnorm", **SMALL)
    with pytest.raises(ConfigError, match="unknown deformable position"):
        build_model("edge_fusion_unet", deformable=("head",), **SMALL)
    with pytest.raises(ConfigError, match="choose one"):
        build_model("edge_fusion_unet", dilation=(1, 2), aspp=True, **SMALL)


def test_deformable_convolution_with_zero_offsets_equals_the_plain_convolution():
    conv = nn.Conv2d(3, 5, 3, padding=1, bias=True)
    deform = deformable_from(conv)
    x = torch.randn(2, 3, 9, 11)
    torch.testing.assert_close(deform(x), conv(x), atol=1e-5, rtol=1e-5)
    assert isinstance(deform, DeformableConv2d) and float(deform.offset.weight.detach().abs().sum()) == 0


def test_dilation_schedule_gives_the_receptive_field_it_claims():
    """Gradient probe: the centre output depends on exactly 1 + 2 * sum(rates) inputs per axis."""
    for rates in [(1,), (1, 2, 4), (1, 2, 5)]:
        block = DilatedBlock(1, rates, norm_kind="none")
        for m in block.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.constant_(m.weight, 0.1)
        block = nn.Sequential(*[m for m in block if not isinstance(m, nn.ReLU)])  # linear: no dead paths
        x = torch.zeros(1, 1, 41, 41, requires_grad=True)
        block(x)[0, 0, 20, 20].backward()
        touched = (x.grad[0, 0] != 0).nonzero()
        width = int(touched[:, 1].max() - touched[:, 1].min() + 1)
        assert width == 1 + 2 * sum(rates), rates


def test_gridding_artefact_of_a_common_factor_schedule():
    """Rates (2, 4) skip every other input; the hybrid (1, 2, 5) reaches every one."""
    for rates, holes in [((2, 4), True), ((1, 2, 5), False)]:
        block = nn.Sequential(*[m for m in DilatedBlock(1, rates, norm_kind="none") if isinstance(m, nn.Conv2d)])
        x = torch.zeros(1, 1, 41, 41, requires_grad=True)
        block(x)[0, 0, 20, 20].backward()
        row = x.grad[0, 0, 20]
        span = row.nonzero().flatten()
        inside = row[int(span.min()):int(span.max()) + 1]
        assert bool((inside == 0).any()) == holes


def test_depthwise_separable_saves_parameters_and_flops_by_the_formula():
    conv = nn.Conv2d(16, 32, 3, padding=1, bias=False)
    sep = SeparableConv2d(conv)
    assert parameters(conv)["total"] == 3 * 3 * 16 * 32
    assert parameters(sep)["total"] == 3 * 3 * 16 + 16 * 32
    x_conv = nn.Sequential(nn.Conv2d(1, 16, 1, bias=False), conv)
    x_sep = nn.Sequential(nn.Conv2d(1, 16, 1, bias=False), sep)
    h = w = 8
    assert flops(x_conv, (h, w)) - flops(x_sep, (h, w)) == 2 * h * w * (9 * 16 * 32 - (9 * 16 + 16 * 32))
    light = build_model("edge_fusion_unet", separable=True, **SMALL)
    plain = build_model("edge_fusion_unet", **SMALL)
    assert parameters(light)["branch:edge_encoder"] < parameters(plain)["branch:edge_encoder"]
    assert parameters(light)["branch:fusion"] < parameters(plain)["branch:fusion"]
    assert flops(light, (32, 32)) < flops(plain, (32, 32))


def test_aspp_keeps_channels_and_init_changes_weights():
    assert ASPP(16)(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8)
    conv = nn.Conv2d(4, 4, 3)
    before = conv.weight.detach().clone()
    initialise(conv, "xavier")
    assert not torch.equal(before, conv.weight.detach()) and float(conv.bias.detach().abs().sum()) == 0


def test_distillation_weight_zero_is_plain_and_label_teacher_is_the_task_loss():
    logits = torch.randn(2, 1, 16, 16)
    labels = (torch.rand(2, 1, 16, 16) > 0.7).float()
    task = build_loss("bce")
    plain = float(task(logits, labels))
    assert float(DistillationLoss(task, 0.0)(logits, labels, None, torch.rand(2, 1, 16, 16))) == plain
    # a teacher whose probabilities are the labels: BCE against it is the task's BCE
    assert float(DistillationLoss(task, 0.7)(logits, labels, None, labels)) == pytest.approx(plain, rel=1e-6)
    ce = build_loss("ce", mode="multiclass")
    logits3 = torch.randn(2, 3, 4, 4)
    target = torch.randint(0, 3, (2, 4, 4))
    assert float(DistillationLoss(ce, 0.0)(logits3, target, None, torch.rand(2, 3, 4, 4))) == float(ce(logits3, target))


def _smp_unet_as_fusion_none(unet) -> dict:
    """smp U-Net weights under the names of edge_fusion_unet's `fusion: none` network."""
    names = {"net.encoder.": "raw_encoder.", "net.decoder.": "decoder.decoder.", "net.segmentation_head.0.": "head."}
    out = {}
    for key, value in unet.state_dict().items():
        prefix = next(p for p in names if key.startswith(p))
        out[names[prefix] + key[len(prefix):]] = value
    return out


def test_fusion_none_is_the_smp_unet_function_and_differs_from_it_only_by_initialisation():
    """`fusion: none` and smp's U-Net are the same network (same weights, same output); what
    set them apart in RESULTS.md is the decoder's and head's initialisation, which `init: smp`
    reproduces while the encoder keeps its own."""
    torch.manual_seed(0)
    options = {"classes": 4, "encoder": "resnet18", "encoder_depth": 3}
    unet = build_model("unet", decoder_channels=[32, 16, 8], **options).eval()
    none = build_model("edge_fusion_unet", fusion="none", decoder_channels=[32, 16, 8], **options).eval()
    none.load_state_dict(_smp_unet_as_fusion_none(unet))  # strict: every weight has its counterpart
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert torch.equal(unet(x), none(x))

    def decoder_convs(model):
        return [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.in_channels > 8][-6:]

    torch.manual_seed(1)
    default = build_model("edge_fusion_unet", fusion="none", decoder_channels=[32, 16, 8], init="default", **options)
    torch.manual_seed(1)
    smp_init = build_model("edge_fusion_unet", fusion="none", decoder_channels=[32, 16, 8], init="smp", **options)
    encoder = default.raw_encoder.state_dict()
    assert all(torch.equal(v, encoder[k]) for k, v in smp_init.raw_encoder.state_dict().items())
    for conv in decoder_convs(smp_init.decoder):  # kaiming-uniform for relu: |w| up to sqrt(6 / fan_in)
        bound = (6.0 / (conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1])) ** 0.5
        assert 0.9 * bound < float(conv.weight.detach().abs().max()) <= bound
    for conv in decoder_convs(default.decoder):  # PyTorch's: |w| up to 1 / sqrt(fan_in), 2.45 times smaller
        bound = (1.0 / (conv.in_channels * conv.kernel_size[0] * conv.kernel_size[1])) ** 0.5
        assert 0.9 * bound < float(conv.weight.detach().abs().max()) <= bound
    for model in (unet, smp_init):  # xavier-uniform head with zero bias, as smp's
        head = model.net.segmentation_head[0] if hasattr(model, "net") else model.head
        fan = head.in_channels * 9 + head.out_channels * 9
        assert float(head.weight.detach().abs().max()) <= (6.0 / fan) ** 0.5
        assert float(head.bias.detach().abs().max()) == 0
    assert float(default.head.bias.detach().abs().max()) > 0
