"""An untrained edge-fusion network is its own `fusion: none` ablation: residual fusion with a
zero scale and attention that starts as the identity, so the edge branch can only add what it
learns. Checked for every fusion kind in 2D and 3D, every attention block, and the gate form
(the first design) shown to differ."""

from __future__ import annotations

import pytest
import torch

from seisfuse.errors import ConfigError
from seisfuse.models import build_model
from seisfuse.models.attention import ATTENTION, ATTENTION_3D, build_attention
from seisfuse.models.edges import EDGE_OPERATORS, EdgeMap

SMALL_2D = {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": [32, 16, 8]}


def _as_ablation(model, name: str, **options):
    """The `fusion: none` network given the edge-fusion model's raw-branch weights."""
    ablation = build_model(name, **options, fusion="none")
    own = ablation.state_dict()
    shared = {k: v for k, v in model.state_dict().items() if k in own}
    assert set(shared) == set(own)  # every weight of the ablation is a raw-branch weight of the model
    ablation.load_state_dict(shared)
    return ablation


@pytest.mark.parametrize("fusion", ["dense", "concat", "add"])
@pytest.mark.parametrize("attention", ["spatial", "cbam", "simam"])
def test_untrained_2d_edge_fusion_equals_its_fusion_none_ablation(fusion, attention):
    torch.manual_seed(0)
    options = {**SMALL_2D, "classes": 3, "attention": attention, "attention_positions": ("encoder", "fusion")}
    model = build_model("edge_fusion_unet", **options, fusion=fusion).eval()
    ablation = _as_ablation(model, "edge_fusion_unet", **options).eval()
    x = torch.randn(2, 1, 32, 48)
    with torch.no_grad():
        assert torch.allclose(model(x), ablation(x), atol=1e-5, rtol=0)


@pytest.mark.parametrize("fusion", ["dense", "concat", "add"])
def test_untrained_3d_edge_fusion_equals_its_fusion_none_ablation(fusion):
    torch.manual_seed(0)
    options = {"classes": 1, "widths": (4, 8, 16)}
    model = build_model("edge_fusion_unet3d", **options, fusion=fusion).eval()
    ablation = _as_ablation(model, "edge_fusion_unet3d", **options).eval()
    x = torch.randn(1, 1, 16, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), ablation(x), atol=1e-5, rtol=0)


def test_the_first_design_does_not_start_as_its_ablation():
    torch.manual_seed(0)
    options = {**SMALL_2D, "classes": 1, "fusion_residual": False, "attention_form": "gate"}
    model = build_model("edge_fusion_unet", **options).eval()
    ablation = _as_ablation(model, "edge_fusion_unet", **{k: v for k, v in options.items()}).eval()
    x = torch.randn(2, 1, 32, 32)
    with torch.no_grad():
        assert not torch.allclose(model(x), ablation(x), atol=1e-3)


def test_the_edge_branch_learns_from_the_first_step():
    """The zero scale gets a gradient at once (ReZero), so the edge branch is not stuck."""
    torch.manual_seed(0)
    model = build_model("edge_fusion_unet", **SMALL_2D, classes=1)
    model(torch.randn(2, 1, 32, 32)).square().mean().backward()
    gammas = [p for n, p in model.named_parameters() if n.startswith("fusion.") and n.endswith("gamma")]
    assert len(gammas) == 3 and all(g.grad is not None and g.grad.abs().sum() > 0 for g in gammas)


@pytest.mark.parametrize("name", [n for n in ATTENTION if n != "none"])
def test_every_attention_block_starts_as_the_identity_in_2d(name):
    torch.manual_seed(0)
    block = build_attention(name, 32, 2, form="identity")
    x = torch.randn(2, 32, 12, 10)
    assert torch.allclose(block(x), x, atol=1e-6)
    gate = build_attention(name, 32, 2, form="gate")
    assert not torch.allclose(gate(x), x, atol=1e-3)  # the first design scales every position


@pytest.mark.parametrize("name", [n for n in ATTENTION_3D if n != "none"])
def test_every_attention_block_starts_as_the_identity_in_3d(name):
    block = build_attention(name, 16, 3, form="identity")
    x = torch.randn(1, 16, 6, 6, 6)
    assert torch.allclose(block(x), x, atol=1e-6)


@pytest.mark.parametrize("init", ["kaiming", "xavier", "smp"])
def test_an_init_scheme_keeps_the_identity_start(init):
    torch.manual_seed(0)
    options = {**SMALL_2D, "classes": 1, "init": init, "attention_positions": ("encoder", "fusion", "decoder")}
    model = build_model("edge_fusion_unet", **options).eval()
    ablation = _as_ablation(model, "edge_fusion_unet", **options).eval()
    x = torch.randn(1, 1, 32, 32)
    with torch.no_grad():
        assert torch.allclose(model(x), ablation(x), atol=1e-5)


@pytest.mark.parametrize("operator", sorted(EDGE_OPERATORS))
def test_the_edge_map_does_not_depend_on_the_amplitude_scale(operator):
    torch.manual_seed(0)
    x = torch.randn(2, 1, 40, 40)
    edge = EdgeMap(operator)
    a, b = edge(x), edge(x * 3000.0)  # raw F3 amplitudes are about ±30,000
    assert torch.allclose(a, b, atol=1e-5) and float(a.amax()) <= 1.0 + 1e-6
    assert torch.allclose(a.flatten(1).amax(1), torch.ones(2))  # scaled per tile to unit peak


def test_the_light_edge_encoder_is_a_fraction_of_a_resnet18():
    from seisfuse.models.cost import flops, parameters

    heavy = build_model("edge_fusion_unet", classes=1, edge_encoder="resnet18")
    light = build_model("edge_fusion_unet", classes=1, edge_encoder="light")
    p_heavy, p_light = parameters(heavy), parameters(light)
    assert p_light["branch:edge_encoder"] < 0.15 * p_heavy["branch:edge_encoder"]
    assert flops(light, (128, 128)) < 0.8 * flops(heavy, (128, 128))


@pytest.mark.parametrize("operator", ["sobel", "laplacian"])
def test_the_p99_edge_scale_sets_the_tile_percentile_to_one_and_keeps_the_amplitude_independence(operator):
    torch.manual_seed(0)
    x = torch.randn(2, 1, 40, 40)
    x[:, :, 20, 20] = 50.0  # one strong reflector sets the peak
    peak, p99 = EdgeMap(operator), EdgeMap(operator, "p99")
    a, b = peak(x), p99(x)
    assert float(b.amax()) == pytest.approx(1.0) and float(b.amin()) >= 0.0
    assert float(b.mean()) > 1.5 * float(a.mean())  # the dim map gains contrast
    level = torch.quantile(a.flatten(1), 0.99, dim=1, interpolation="higher").reshape(2, 1, 1, 1)
    assert torch.allclose(b, (a / level).clamp(max=1.0), atol=1e-6)
    assert torch.allclose(b, p99(x * 3000.0), atol=1e-5)


def test_an_unknown_edge_scale_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="edge_scale 'p95'.*peak, p99"):
        EdgeMap("sobel", "p95")


def test_the_p99_edge_scale_takes_a_batch_larger_than_torch_quantile_does():
    x = torch.randn(257, 1, 256, 256)  # 16.8 M values: over torch.quantile's 2**24
    edge = EdgeMap("gradient", "p99")(x)
    assert edge.shape == x.shape and float(edge.amax()) == pytest.approx(1.0)
