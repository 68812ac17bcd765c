"""Attention, fusion and edge blocks on inputs whose answer is known."""

import pytest
import torch

from seisfuse.errors import ConfigError
from seisfuse.models.attention import ATTENTION, ATTENTION_3D, SpatialAttention, build_attention
from seisfuse.models.edges import EDGE_OPERATORS, EDGES_3D, EdgeMap
from seisfuse.models.fusion import build_fusion

torch.manual_seed(0)


@pytest.mark.parametrize("name", list(ATTENTION))
def test_attention_keeps_shape_2d(name):
    block = build_attention(name, 32)
    x = torch.randn(2, 32, 12, 10)
    assert block(x).shape == x.shape


@pytest.mark.parametrize("name", ATTENTION_3D)
def test_attention_keeps_shape_3d(name):
    x = torch.randn(2, 16, 6, 8, 4)
    assert build_attention(name, 16, dims=3)(x).shape == x.shape


@pytest.mark.parametrize("name", sorted(set(ATTENTION) - set(ATTENTION_3D)))
def test_2d_only_attention_refuses_3d(name):
    with pytest.raises(ConfigError, match="2D only"):
        build_attention(name, 16, dims=3)


def test_spatial_attention_weights_are_in_unit_interval_and_scale_the_input():
    block = SpatialAttention(8)
    x = torch.randn(3, 8, 20, 20)
    w = block.weights(x).detach()
    assert w.shape == (3, 1, 20, 20) and float(w.min()) >= 0 and float(w.max()) <= 1
    torch.testing.assert_close(block(x), x * w)


def test_spatial_attention_with_zero_conv_halves_everything():
    block = SpatialAttention(4)
    torch.nn.init.zeros_(block.conv.weight)
    x = torch.randn(1, 4, 5, 5)
    torch.testing.assert_close(block(x), 0.5 * x)


def test_simam_is_parameter_free_and_identity_has_no_effect():
    assert sum(p.numel() for p in build_attention("simam", 8, form="gate").parameters()) == 0
    # the identity form adds one zero-initialised scale per channel, nothing else
    assert sum(p.numel() for p in build_attention("simam", 8).parameters()) == 8
    x = torch.randn(1, 8, 4, 4)
    assert torch.equal(build_attention("none", 8)(x), x)


@pytest.mark.parametrize("kind", ["dense", "concat", "add"])
def test_fusion_maps_to_the_raw_width(kind):
    block = build_fusion(kind, 16, 8, 16)
    assert block(torch.randn(2, 16, 7, 7), torch.randn(2, 8, 7, 7)).shape == (2, 16, 7, 7)


def test_dense_fusion_layers_see_all_earlier_maps():
    block = build_fusion("dense", 16, 8, 16, layers=3, growth=4).fusion  # inside the residual
    widths = [layer[0].in_channels for layer in block.layers]
    assert widths == [24, 28, 32] and block.transition[0].in_channels == 36


def test_sobel_finds_a_vertical_step():
    x = torch.zeros(1, 1, 16, 16)
    x[..., 8:] = 1.0  # a step between columns 7 and 8
    edge = EdgeMap("sobel")(x)[0, 0]
    assert float(edge[:, 7:9].min()) == pytest.approx(1.0) and float(edge[:, :6].max()) == 0.0


def test_canny_gives_a_thin_binary_line():
    x = torch.zeros(1, 1, 32, 32)
    x[..., 16:] = 1.0
    edge = EdgeMap("canny")(x)[0, 0]
    assert set(edge.unique().tolist()) <= {0.0, 1.0}
    assert int(edge[8:24].sum(dim=1).max()) <= 2 and int(edge[8:24, 14:18].sum()) >= 16


def test_coherence_is_low_on_flat_reflectors_and_high_at_a_fault():
    z = torch.arange(32.0)[:, None].expand(32, 32)
    x = torch.sin(z / 2.0).clone()
    x[:, 16:] = torch.sin((z[:, 16:] + 3) / 2.0)  # offset reflectors: a vertical fault
    edge = EdgeMap("coherence")(x[None, None])[0, 0]
    assert float(edge[4:28, 15:17].mean()) > 5 * float(edge[4:28, 4:10].mean())


@pytest.mark.parametrize("name", list(EDGE_OPERATORS))
def test_edge_operators_keep_shape_and_range(name):
    edge = EdgeMap(name)(torch.randn(2, 1, 20, 24))
    assert edge.shape == (2, 1, 20, 24) and float(edge.min()) >= 0 and float(edge.max()) <= 1 + 1e-6


@pytest.mark.parametrize("name", EDGES_3D)
def test_3d_edges(name):
    assert EdgeMap(name)(torch.randn(1, 1, 6, 8, 10)).shape == (1, 1, 6, 8, 10)
