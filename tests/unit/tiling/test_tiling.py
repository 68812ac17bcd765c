"""Tile grids, blend windows and the band merger on cases with known answers."""

import numpy as np
import pytest

from seisfuse.tiling import BandMerger, blend_window, section_tiles, starts, volume_tiles


def test_starts_spread_evenly_and_end_at_the_border():
    assert starts(10, 4, 0.5) == [0, 2, 4, 6]
    assert starts(11, 4, 0.5) == [0, 2, 4, 5, 7]
    assert starts(4, 4, 0.5) == [0] and starts(3, 8, 0.5) == [0]
    for size, tile, overlap in [(100, 32, 0.5), (97, 32, 0.25), (33, 32, 0.9)]:
        s = starts(size, tile, overlap)
        assert s[0] == 0 and s[-1] == size - tile
        assert max(np.diff(s)) <= tile * (1 - overlap)


def test_windows_by_hand():
    np.testing.assert_array_equal(blend_window("constant", (2, 3)), np.ones((2, 3)))
    hann = blend_window("hann", (4,))
    np.testing.assert_allclose(hann, np.array([0.345491503, 0.904508497, 0.904508497, 0.345491503]) / 0.904508497)
    g = blend_window("gaussian", (8,))
    np.testing.assert_allclose(g, np.exp(-0.5 * ((np.arange(8) - 3.5) / 1.0) ** 2) / np.exp(-0.5 * 0.25))
    assert (blend_window("gaussian", (64, 64)) > 0).all()
    with pytest.raises(ValueError, match="unknown blend window"):
        blend_window("cosine", (4,))


def merge(volume, tiles, window, model=lambda x: x):
    out = np.zeros(volume.shape)

    def write(row, rows):
        out[row:row + len(rows)] = rows[:, 0]

    merger = BandMerger(volume.shape, write)
    for t in tiles:
        merger.aggregate(t.start, model(volume[t.slices])[None].astype(np.float64), blend_window(window, t.size))
    merger.finalize()
    return out


def test_hand_computed_weights_on_a_4x4_case():
    """Two 1x4x4 tiles overlapping by 2 columns on a 1x6x4 section, hann window per axis:
    the middle columns are the weighted mean of the two tiles' values."""
    volume = np.zeros((1, 6, 4))
    tiles = section_tiles(volume.shape, (4, 4), 0.5, "inline")
    assert [t.start for t in tiles] == [(0, 0, 0), (0, 2, 0)]
    values = iter([1.0, 3.0])  # the "model" returns a constant per tile
    out = merge(volume, tiles, "hann", lambda x: np.full(x.shape, next(values)))
    w = np.hanning(6)[1:-1]  # per-axis profile; the sample axis cancels out
    # column 2 is tile A's third column (weight w[2]) and tile B's first (w[0])
    expected_col2 = (1.0 * w[2] + 3.0 * w[0]) / (w[2] + w[0])
    np.testing.assert_allclose(out[0, 2], expected_col2)
    np.testing.assert_allclose(out[0, 0], 1.0) and np.testing.assert_allclose(out[0, 5], 3.0)


@pytest.mark.parametrize("window", ["constant", "hann", "gaussian"])
@pytest.mark.parametrize("overlap", [0.0, 0.25, 0.5, 0.75])
@pytest.mark.parametrize("direction", ["inline", "crossline", "both"])
def test_identity_model_gives_back_its_input_exactly(window, overlap, direction):
    volume = np.random.default_rng(0).standard_normal((9, 13, 21)).astype(np.float32)
    out = merge(volume, section_tiles(volume.shape, (8, 16), overlap, direction), window)
    assert np.array_equal(out.astype(np.float32), volume)


@pytest.mark.parametrize("window", ["constant", "hann", "gaussian"])
def test_identity_and_constant_models_on_cubes(window):
    volume = np.random.default_rng(1).standard_normal((10, 7, 12)).astype(np.float32)
    tiles = volume_tiles(volume.shape, (4, 4, 8), 0.5)
    assert np.array_equal(merge(volume, tiles, window).astype(np.float32), volume)
    constant = merge(volume, tiles, window, lambda x: np.full(x.shape, 0.25))
    np.testing.assert_allclose(constant, 0.25, rtol=0, atol=1e-15)  # no seams


def test_blocks_of_rows_equal_the_whole():
    volume = np.random.default_rng(2).standard_normal((12, 6, 8))
    tiles = volume_tiles(volume.shape, (4, 4, 4), 0.5)
    whole = merge(volume, tiles, "gaussian", np.sin)
    out = np.zeros(volume.shape)
    for first, stop in [(0, 5), (5, 12)]:
        def write(row, rows):
            out[row:row + len(rows)] = rows[:, 0]
        merger = BandMerger(volume.shape, write, first, stop)
        for t in tiles:
            if t.start[0] < stop and t.start[0] + t.size[0] > first:
                merger.aggregate(t.start, np.sin(volume[t.slices])[None], blend_window("gaussian", t.size))
        merger.finalize()
    assert np.array_equal(out, whole)


def test_merger_lifecycle_errors():
    merger = BandMerger((2, 2, 2), lambda row, rows: None)
    merger.aggregate((0, 0, 0), np.zeros((1, 2, 2, 2)), np.ones((2, 2, 2)))
    merger.finalize()
    with pytest.raises(RuntimeError, match="after finalize"):
        merger.aggregate((0, 0, 0), np.zeros((1, 2, 2, 2)), np.ones((2, 2, 2)))
    merger = BandMerger((4, 2, 2), lambda row, rows: None)
    merger.aggregate((0, 0, 0), np.zeros((1, 2, 2, 2)), np.ones((2, 2, 2)))
    merger.aggregate((2, 0, 0), np.zeros((1, 2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(RuntimeError, match="in order"):
        merger.aggregate((1, 0, 0), np.zeros((1, 1, 2, 2)), np.ones((1, 2, 2)))
    gap = BandMerger((4, 2, 2), lambda row, rows: None)
    with pytest.raises(RuntimeError, match="rows 0..1 .* received no tile"):
        gap.aggregate((2, 0, 0), np.zeros((1, 1, 2, 2)), np.ones((1, 2, 2)))
    incomplete = BandMerger((4, 2, 2), lambda row, rows: None)
    incomplete.aggregate((0, 0, 0), np.zeros((1, 1, 2, 2)), np.ones((1, 2, 2)))
    with pytest.raises(RuntimeError, match="received no tile"):
        incomplete.finalize()
