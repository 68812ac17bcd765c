"""A survey whose sections are less than half the model's tile is predicted, but said to be
mostly padding (a shipped fault model calls much of such a crop a fault)."""

import logging

import pytest

from seisfuse.infer.store import warn_if_mostly_padding


@pytest.mark.parametrize("shape, tile, direction, warned", [
    ((23, 18, 75), (128, 128), "inline", True),      # F3's crop: 18 traces, 75 samples
    ((18, 52, 226), (128, 128), "inline", True),     # Volve's: 52 traces < 64
    ((18, 52, 226), (128, 128), "crossline", True),
    ((100, 64, 64), (128, 128), "inline", False),    # exactly half: predicted without a word
    ((100, 200, 300), (128, 128), "crossline", False),
    ((40, 40, 40), (64, 64, 64), "inline", False),
    ((40, 30, 40), (64, 64, 64), "inline", True),    # 3D tiles: any axis
])
def test_the_warning(caplog, shape, tile, direction, warned):
    with caplog.at_level(logging.WARNING, logger="seisfuse"):
        warn_if_mostly_padding(shape, tile, direction, "s.zarr")
    assert bool([r for r in caplog.records if "mostly reflection padding" in r.getMessage()]) == warned
