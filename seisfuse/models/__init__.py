"""Networks, blocks, registries and model cost (imports torch)."""

from seisfuse.models.cost import flops, latency, parameters, summary
from seisfuse.models.edge_fusion_unet import EdgeFusionUNet
from seisfuse.models.edge_fusion_unet3d import EdgeFusionUNet3D
from seisfuse.models.registry import MODELS, build_model, to_channels_last

__all__ = ["EdgeFusionUNet", "EdgeFusionUNet3D", "MODELS", "build_model", "to_channels_last", "summary", "parameters",
           "flops", "latency"]
