"""The light raw encoder: `edge_fusion_unet` with `encoder: light` and `fusion: none` is a plain
U-Net of FaultSeg's widths in 2D, the architecture of the shipped fault model."""

import pytest
import torch

from seisfuse.errors import ConfigError
from seisfuse.models import build_model, parameters
from seisfuse.models.blocks import LightEncoder

SHIPPED = {"encoder": "light", "encoder_depth": 4, "decoder_channels": [128, 64, 32, 16], "fusion": "none"}


def test_the_light_unet_is_small_and_takes_the_widths_asked_for():
    model = build_model("edge_fusion_unet", **SHIPPED)
    assert isinstance(model.raw_encoder, LightEncoder) and model.raw_encoder.out_channels == [1, 16, 32, 64, 128]
    assert parameters(model)["total"] == 831_649  # scripts/bench_pretrain_candidates.py's figure
    assert model(torch.zeros(2, 1, 32, 48)).shape == (2, 1, 32, 48)
    wider = build_model("edge_fusion_unet", **SHIPPED, encoder_width=32)
    assert wider.raw_encoder.out_channels == [1, 32, 64, 128, 256]
    with_edges = build_model("edge_fusion_unet", **{**SHIPPED, "fusion": "dense"}, edge_width=8)
    assert with_edges.edge_encoder.out_channels == [1, 8, 16, 32, 64]


@pytest.mark.parametrize("option", [{"encoder_weights": "imagenet"}, {"deformable": ["encoder_last"]}])
def test_what_the_light_encoder_cannot_do_is_refused(option):
    with pytest.raises(ConfigError, match="the light encoder has no pretrained weights"):
        build_model("edge_fusion_unet", **SHIPPED, **option)
