"""The one adapter around segmentation-models-pytorch's UnetDecoder (internal API).

It runs the library's decoder blocks in the library's order, with an optional module after
each block (attention at the `decoder` position) and the block outputs kept for deep
supervision. If smp changes its decoder, this file is the only one to change.
"""

from __future__ import annotations

import torch
from segmentation_models_pytorch.decoders.unet.decoder import UnetDecoder
from torch import nn


class UnetDecoderAdapter(nn.Module):
    def __init__(self, encoder_channels, decoder_channels, after_block=None):
        super().__init__()
        self.decoder = UnetDecoder(encoder_channels=encoder_channels, decoder_channels=decoder_channels,
                                   n_blocks=len(decoder_channels))
        self.after_block = nn.ModuleList(after_block or [nn.Identity() for _ in decoder_channels])
        self.out_channels = list(decoder_channels)

    def forward(self, features: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """features as the encoder returns them (input first); returns the last block's output
        and every block's output (coarse to fine)."""
        sizes = [f.shape[2:] for f in features][::-1]
        head, *skips = features[1:][::-1]
        x = self.decoder.center(head)
        outputs = []
        for i, (block, after) in enumerate(zip(self.decoder.blocks, self.after_block)):
            height, width = sizes[i + 1]
            x = after(block(x, height, width, skip_connection=skips[i] if i < len(skips) else None))
            outputs.append(x)
        return x, outputs
