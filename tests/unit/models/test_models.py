"""Every registered model: shapes, gradients to both branches, switches that change the graph."""

import pytest
import segmentation_models_pytorch
import torch

from seisfuse.errors import ConfigError
from seisfuse.models import MODELS, build_model, summary, to_channels_last

torch.manual_seed(0)
BASELINES = [name for name in MODELS if not name.startswith("edge_fusion")]
SMALL = {"encoder": "resnet18"}


@pytest.mark.parametrize("name", ["edge_fusion_unet", *BASELINES])
@pytest.mark.parametrize("tile", [(128, 128), (128, 160)])
def test_2d_models_keep_tile_shape(name, tile):
    model = build_model(name, classes=3, **SMALL).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, *tile))
    assert out.shape == (2, 3, *tile) and out.dtype == torch.float32


@pytest.mark.parametrize("cube", [(16, 16, 16), (32, 16, 24)])
def test_3d_model_keeps_cube_shape(cube):
    model = build_model("edge_fusion_unet3d", classes=2).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 1, *cube)).shape == (1, 2, *cube)


def test_3d_model_is_faultseg3d_sized():
    params = sum(p.numel() for p in build_model("edge_fusion_unet3d").parameters())
    plain = sum(p.numel() for p in build_model("edge_fusion_unet3d", fusion="none").parameters())
    assert 1.3e6 < plain < 1.7e6  # FaultSeg3D: 1.46 M
    assert plain < params < 2.2e6


def test_gradients_reach_both_branches():
    """At step 0 only the fusion's zero scale learns (the network starts as its ablation);
    from the second step on every branch gets gradients."""
    model = build_model("edge_fusion_unet", encoder_depth=3, decoder_channels=(64, 32, 16))
    x = torch.randn(2, 1, 32, 32)
    model(x).mean().backward()
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in model.edge_encoder.parameters())
    torch.optim.SGD(model.parameters(), lr=0.1).step()
    model.zero_grad()
    model(x).mean().backward()
    for branch in ("raw_encoder", "edge_encoder", "fusion", "decoder", "head"):
        grads = [p.grad for p in getattr(model, branch).parameters() if p.grad is not None]
        assert grads and sum(float(g.abs().sum()) for g in grads) > 0, branch


def count(model):
    return sum(p.numel() for p in model.parameters())


def test_every_switch_changes_the_graph():
    base = dict(encoder_depth=3, decoder_channels=(64, 32, 16))
    plain = count(build_model("edge_fusion_unet", fusion="none", attention="none", **base))
    add = count(build_model("edge_fusion_unet", fusion="add", attention="none", **base))
    concat = count(build_model("edge_fusion_unet", fusion="concat", attention="none", **base))
    dense = count(build_model("edge_fusion_unet", fusion="dense", attention="none", **base))
    dense_att = count(build_model("edge_fusion_unet", fusion="dense", attention="spatial", **base))
    assert plain < add < concat < dense < dense_att
    # spatial attention at the fusion position: one 7x7 conv from 2 channels per scale, no bias
    assert dense_att - dense == 3 * 2 * 7 * 7
    more_layers = count(build_model("edge_fusion_unet", fusion="dense", fusion_layers=3, attention="none", **base))
    assert more_layers > dense
    everywhere = count(build_model("edge_fusion_unet", attention="se",
                                   attention_positions=("encoder", "fusion", "decoder"), **base))
    assert everywhere > count(build_model("edge_fusion_unet", attention="se", **base))


def test_plain_unet_ablation_has_no_edge_branch():
    model = build_model("edge_fusion_unet", fusion="none", attention="none")
    assert not hasattr(model, "edge_encoder")
    smp_unet = count(build_model("unet"))
    assert abs(count(model) - smp_unet) / smp_unet < 0.05  # the same U-Net up to the head


def test_external_edges_and_baseline_stacking():
    model = build_model("edge_fusion_unet", edge_input="external", encoder_depth=3, decoder_channels=(32, 16, 8))
    with pytest.raises(ConfigError, match="no edge map was given"):
        model(torch.randn(1, 1, 32, 32))
    assert model(torch.randn(1, 1, 32, 32), torch.rand(1, 1, 32, 32)).shape == (1, 1, 32, 32)
    stacked = build_model("unet", baseline_edge_input="stack")
    assert stacked.net.encoder.conv1.in_channels == 2
    assert stacked(torch.randn(1, 1, 64, 64)).shape == (1, 1, 64, 64)


def test_deep_supervision_outputs_in_training_only():
    model = build_model("edge_fusion_unet", deep_supervision=True, encoder_depth=3, decoder_channels=(32, 16, 8))
    logits, aux = model(torch.randn(1, 1, 32, 32))
    assert logits.shape == (1, 1, 32, 32) and len(aux) == 2 and all(a.shape == logits.shape for a in aux)
    assert model.eval()(torch.randn(1, 1, 32, 32)).shape == (1, 1, 32, 32)


@pytest.mark.parametrize("kwargs, message", [
    ({"fusion": "sum"}, "unknown fusion 'sum'"),
    ({"attention": "transformer"}, "unknown attention 'transformer'"),
    ({"attention_positions": ("head",)}, "unknown attention position"),
    ({"edge_operator": "prewitt"}, "unknown edge operator 'prewitt'"),
    ({"encoder": "resnet9000"}, "cannot build encoder 'resnet9000'"),
    ({"colour": "red"}, r"unknown argument\(s\) \['colour'\].*valid: classes, encoder"),
])
def test_bad_arguments_list_what_is_valid(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_model("edge_fusion_unet", **kwargs)


def test_unknown_model_and_bad_tile():
    with pytest.raises(ConfigError, match="unknown model 'unet4'.*edge_fusion_unet, edge_fusion_unet3d, unet"):
        build_model("unet4")
    with pytest.raises(ConfigError, match="not a multiple of the encoder's output stride 32"):
        build_model("edge_fusion_unet")(torch.randn(1, 1, 100, 128))
    with pytest.raises(ConfigError, match="at least 128"):
        build_model("pan")(torch.randn(1, 1, 64, 64))


def test_every_model_trains_one_step_and_reports_its_cost():
    for name in ["edge_fusion_unet", "edge_fusion_unet3d", *BASELINES]:
        model = build_model(name)
        tile = (16, 16, 16) if name.endswith("3d") else (128, 128)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        x = torch.randn(2, 1, *tile)
        before = [p.detach().clone() for p in model.parameters()]
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), (x > 0).float())
        loss.backward()
        optimizer.step()
        assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), name
        info, text = summary(model, tile, with_latency=False)
        assert info["parameters"] == count(model) and info["flops"] > 0 and name in text


def test_flops_of_one_conv_layer_equal_the_formula():
    from seisfuse.models import flops, parameters

    conv = torch.nn.Conv2d(1, 4, 3, padding=1, bias=False)
    # a multiply-add counts 2: 2 * C_out * H * W * C_in * k * k
    assert flops(conv, (8, 8)) == 2 * 4 * 8 * 8 * 1 * 3 * 3
    assert parameters(conv)["total"] == 4 * 9
    conv3d = torch.nn.Conv3d(1, 2, 3, padding=1, bias=False)
    assert flops(conv3d, (4, 4, 4)) == 2 * 2 * 64 * 27


def test_latency_is_measured():
    from seisfuse.models import latency

    assert latency(torch.nn.Conv2d(1, 1, 3), (16, 16), warmup=1, repeats=3) > 0


@pytest.mark.parametrize("name, options, fmt", [
    ("edge_fusion_unet", {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}, torch.channels_last),
    ("edge_fusion_unet3d", {"widths": [4, 8]}, torch.channels_last_3d)])
def test_to_channels_last_picks_the_layout_of_the_weights(name, options, fmt):
    model = to_channels_last(build_model(name, classes=2, **options))
    convs = [p for p in model.parameters() if p.dim() >= 4]
    assert convs and all(p.is_contiguous(memory_format=fmt) for p in convs)
    x = torch.randn(1, 1, *([16] * (convs[0].dim() - 2)))
    assert model.eval()(x).shape[-1] == 16


@pytest.mark.parametrize("name, options, idle", [
    ("unet", {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}, ["layer3", "layer4"]),
    ("edge_fusion_unet", {"encoder_depth": 4, "decoder_channels": [64, 32, 16, 8]}, ["layer4"]),
    ("pspnet", {}, ["layer3", "layer4"]),  # PSPNet's default encoder_depth is 3
    ("unet", {"encoder": "efficientnet-b0", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}, None),
    ("unet", {"encoder": "efficientnet-b0"}, ["_conv_head", "_bn1"]),  # the classification head
])
def test_encoder_stages_deeper_than_the_depth_are_dropped(name, options, idle):
    """Every weight of the network gets a gradient (DDP refuses parameters without one), and the
    parameter count is the network's, not smp's idle layer3/layer4."""
    model = build_model(name, classes=2, **options)
    model(torch.randn(2, 1, 64, 64)).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    encoders = [m for m in model.modules() if getattr(m, "dropped_stages", None)]
    if idle is not None:
        assert encoders[0].dropped_stages == idle


def test_a_checkpoint_saved_with_the_idle_stages_still_loads():
    from seisfuse.models.checkpoint import load_model_state

    options = {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}
    model = build_model("unet", classes=1, **options)
    old = smp_unet_state = model.state_dict()
    idle = segmentation_models_pytorch.encoders.get_encoder("resnet18", in_channels=1, depth=5).layer4.state_dict()
    old = {**smp_unet_state, **{f"net.encoder.layer4.{k}": v for k, v in idle.items()}}
    fresh = build_model("unet", classes=1, **options)
    state = {"model": old, "model_name": "unet", "model_options": {"classes": 1, **options}}
    assert load_model_state(fresh, state, "old.pt") == len(idle)
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in smp_unet_state.items())
    with pytest.raises(ConfigError, match="does not fit this model"):  # other strays are still refused
        load_model_state(fresh, {**state, "model": {**old, "net.stray.weight": torch.zeros(1)}}, "old.pt")


def test_idle_stages_are_found_when_the_model_is_built_without_gradients():
    with torch.no_grad():  # e.g. a caller that builds the model inside its inference block
        model = build_model("unet", classes=1, encoder="resnet18", encoder_depth=3, decoder_channels=[32, 16, 8])
    assert model.net.encoder.dropped_stages == ["layer3", "layer4"]


@pytest.mark.parametrize("arch, option", [("unet", "encoder_dept"), ("pspnet", "decoder_channels"),
                                          ("fpn", "edge_scale")])
def test_an_smp_baseline_refuses_an_option_smp_would_ignore(arch, option):
    with pytest.raises(ConfigError, match=rf"{arch} has no option '{option}' \(smp would ignore it\).*encoder_depth"):
        build_model(arch, **{option: 3})
