"""The streamed tile source: slabs of inlines read from the store into a bounded buffer, tiles
cut from them (seisfuse.data.slabs, chosen by seisfuse.data.sources)."""

import logging
import pickle

import numpy as np
import pytest

import seisfuse
from seisfuse.config.train import load_config
from seisfuse.data.normalize import Normalizer
from seisfuse.data.slabs import LazyLines, LineReader, Partition, plan_slabs, slab_layout
from seisfuse.data.sources import plan_streams
from seisfuse.data.tiles import load_survey, training_batch
from seisfuse.data.validation import validation_tiles
from seisfuse.errors import ConfigError
from seisfuse.training.loop import sampling_options, survey_options

N_IL, N_XL, NS = 64, 24, 16
IDENTITY = Normalizer("robust_zscore", -1e9, 1e9, 0.0, 1.0)  # tiles keep the amplitude's values


@pytest.fixture(scope="module")
def coordinate_store(tmp_path_factory):
    """amplitude = inline + crossline / 32 (a tile's smallest value says where it starts),
    chunks of 8 inlines x 8 crosslines; the label marks odd inlines."""
    path = tmp_path_factory.mktemp("slabs") / "coords.zarr"
    at = np.arange(N_IL, dtype=np.float32)[:, None, None] + np.arange(N_XL, dtype=np.float32)[None, :, None] / 32
    amplitude = np.broadcast_to(at, (N_IL, N_XL, NS)).copy()
    amplitude += np.random.default_rng(0).normal(0, 1e-4, amplitude.shape).astype(np.float32)  # not constant
    label = (np.arange(N_IL)[:, None, None] % 2 * np.ones((1, N_XL, NS))).astype(np.uint8)
    return seisfuse.store_from_array(amplitude, path, labels={"fault": label}, chunks=(8, 8, 16))


def data_config(store, tmp_path, **changes):
    cfg = {"name": "s", "runs_dir": str(tmp_path / "runs"),
           "data": {"stores": [str(store)], "label": "fault", "tile": [8, 8], "source": "streamed",
                    "cache_budget": 160_000, "slab_reuse": 0.05, "augment": {"enabled": False},
                    "split": {"axis": "inline", "val_fraction": 0.25, "gap": 4}},
           "model": {"name": "unet", "options": {"encoder_depth": 3, "decoder_channels": [32, 16, 8]}},
           "train": {"steps": 1, "batch_size": 8}}
    for key, value in changes.items():
        cfg["data"][key] = value
    return load_config(cfg).data


def streamed(store, tmp_path, **changes):
    cfg = data_config(store, tmp_path, **changes)
    survey = load_survey(str(store), tmp_path / "cache", normalizer=IDENTITY, **survey_options(cfg))[0]
    plan_streams([survey], tile=cfg.tile, cache_budget=cfg.cache_budget, slab_reuse=cfg.slab_reuse, workers=1)
    return survey, cfg


def test_slabs_partition_the_tile_starts_and_hold_what_their_tiles_reach():
    slabs = plan_slabs([(0, 44), (0, 24)], (8, 8), reaches=(8, 1))
    inline_blocks = sorted({s.owned[0] for s in slabs})
    assert inline_blocks == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 44)]  # [40, 44) joins [32, 40)
    assert sorted({s.lines[0] for s in slabs}) == [(0, 15), (8, 23), (16, 31), (24, 39), (32, 44)]
    assert sorted({s.owned[1] for s in slabs}) == sorted({s.lines[1] for s in slabs}) == [(0, 8), (8, 16), (16, 24)]
    assert len(slabs) == 15 and len({s.index for s in slabs}) == 15
    one_line = plan_slabs([(0, 44), (3, 20)], (8, 8), reaches=(1, 1))
    assert sorted({s.owned[0] for s in one_line})[-1] == (40, 44)  # one-line tiles start anywhere
    assert sorted({s.owned[1] for s in one_line}) == [(3, 8), (8, 16), (16, 20)]  # chunk-aligned
    assert len(plan_slabs([(0, 5), (0, 5)], (8, 8), (8, 8))) == 1


def test_the_layout_fits_the_budget_or_says_it_cannot():
    # inline sections of a 1000 x 1000 survey, 8 x 8 chunks, tiles reaching 64 crosslines
    budget = 9 * 8 * 519 * 100  # nine slabs of 8 x (456 + 63) traces
    lengths, resident = slab_layout((1000, 1000), (8, 8), (1, 64), trace_bytes=100, budget=budget)
    assert lengths == (8, 256)  # lengthened along the reach, doubling, while 9 slabs fit (512 would not)
    assert resident == budget // (8 * (256 + 63) * 100) - 1 == 13  # then as many as fit, less the one being read
    assert slab_layout((1000, 1000), (8, 8), (1, 64), 100, budget=2 * 8 * 71 * 100) == ((8, 8), 1)
    assert slab_layout((1000, 1000), (8, 8), (1, 64), 100, budget=2 * 8 * 71 * 100 - 1) is None
    assert slab_layout((1000, 1000), (8, 8), (1, 1), 100, budget=10 ** 7)[0] == (8, 8)  # nothing to gain


@pytest.mark.parametrize("key", [5, -1, slice(3, 21), slice(0, 64), slice(7, 9), (slice(2, 11), slice(3, 9)),
                                 (12, slice(None), 4), slice(60, 100), slice(9, 9)])
def test_lazy_lines_read_as_the_array_does(coordinate_store, key):
    import zarr

    array = zarr.open_group(str(coordinate_store))["amplitude"]
    lazy = LazyLines(LineReader(str(coordinate_store), "amplitude", np.float32), "x")
    assert np.array_equal(lazy[key], array[:][key])
    again = pickle.loads(pickle.dumps(lazy))  # to a loader worker: no decoded row travels
    assert again._row is None and np.array_equal(again[key], array[:][key])


def starts_of(batch_images, cfg):
    """The first inline of every tile (the amplitude is inline + crossline / 32)."""
    return np.floor(batch_images[:, 0].reshape(len(batch_images), -1).min(axis=1) + 1e-3).astype(int)


def crossline_starts_of(batch_images):
    low = batch_images[:, 0].reshape(len(batch_images), -1).min(axis=1) + 1e-3
    return np.rint((low - np.floor(low)) * 32).astype(int)


@pytest.mark.parametrize("sections, dims, tile, extent", [("inline", 2, [8, 8], 1), ("crossline", 2, [8, 8], 8),
                                                          ("both", 2, [8, 8], None), ("inline", 3, [8, 8, 8], 8)])
def test_streamed_tiles_are_uniform_over_positions_and_stay_in_the_training_lines(coordinate_store, tmp_path,
                                                                                  sections, dims, tile, extent):
    survey, cfg = streamed(coordinate_store, tmp_path, sections=sections, dims=dims, tile=tile)
    assert survey.source == "streamed" and survey.train == (0, 44)
    kinds = {"inline": (0,), "crossline": (1,), "both": (0, 1)}[sections] if dims == 2 else (None,)
    assert tuple(survey.streams) == kinds and all(len(s.slabs) > 1 for s in survey.streams.values())
    assert not list((tmp_path / "cache").glob("*.npy"))  # no decoded copy
    tiles = np.concatenate([training_batch([survey], 0, step, 8, **sampling_options(cfg))[0] for step in range(600)])
    starts, ends = starts_of(tiles, cfg), np.floor(tiles[:, 0].reshape(len(tiles), -1).max(axis=1)).astype(int)
    assert ends.max() < 44  # nothing reaches into the gap [40, 48) or the validation lines
    lateral = crossline_starts_of(tiles)
    if dims == 2 and sections == "inline":  # tiles 8 crosslines wide start anywhere in 0..16, equally often
        from scipy.stats import chisquare
        assert lateral.max() == 16 and chisquare(np.bincount(lateral, minlength=17)).pvalue > 1e-4
    if extent is None:
        return
    positions = 44 - extent + 1
    counts = np.bincount(starts, minlength=positions)
    assert counts.size == positions and counts.min() > 0
    # per block of 8 inline starts, within 25 % of the uniform share: a slab's positions are
    # drawn at 1 / (the resident positions), a little more often while a shorter slab is
    # resident (cubes: 5 slabs of 8, 8, 8, 8 and 12 inlines, not all resident)
    blocks = np.add.reduceat(counts, np.arange(0, positions, 8)) / counts.sum()
    expected = np.diff(np.r_[np.arange(0, positions, 8), positions]) / positions
    assert np.all(np.abs(blocks / expected - 1) < 0.25), blocks / expected
    within = counts[:32].reshape(4, 8)  # inside a slab, every start equally often
    from scipy.stats import chisquare
    assert min(chisquare(row).pvalue for row in within) > 1e-4


def test_streamed_tiles_equal_the_memory_mapped_ones_at_the_same_position(coordinate_store, tmp_path):
    survey, cfg = streamed(coordinate_store, tmp_path, sections="crossline")
    memmap = data_config(coordinate_store, tmp_path, source="memmap")
    copy = load_survey(str(coordinate_store), tmp_path / "copy", normalizer=IDENTITY, **survey_options(memmap))[0]
    assert copy.source == "memmap" and list((tmp_path / "copy").glob("*.npy"))
    images, labels, _ = training_batch([survey], 3, 5, 8, **sampling_options(cfg))
    reference = np.asarray(copy.amplitude)
    for image, label in zip(images[:, 0], labels):
        i = int(np.floor(image.min() + 1e-3))
        matches = [(j, t) for j in range(N_XL) for t in range(NS - 7)
                   if np.array_equal(reference[i:i + 8, j, t:t + 8], image)]
        assert matches, "a streamed tile that is no crop of the survey"
        assert np.array_equal(label, np.asarray(copy.label)[i:i + 8, matches[0][0], matches[0][1]:matches[0][1] + 8])


def test_validation_and_statistics_read_the_same_from_a_stream(coordinate_store, tmp_path):
    survey, cfg = streamed(coordinate_store, tmp_path)
    memmap = data_config(coordinate_store, tmp_path, source="memmap")
    copy = load_survey(str(coordinate_store), tmp_path / "copy", normalizer=IDENTITY, **survey_options(memmap))[0]
    a, b = (list(validation_tiles(s, tile=cfg.tile, val_stride=cfg.val_stride)) for s in (survey, copy))
    assert len(a) == len(b) > 0 and all(np.array_equal(x, y) for ta, tb in zip(a, b) for x, y in zip(ta, tb))
    from seisfuse.data.tiles import training_statistics
    assert training_statistics(survey) == training_statistics(copy)


def test_streamed_batches_are_a_function_of_seed_and_step_whatever_came_before(coordinate_store, tmp_path):
    survey, cfg = streamed(coordinate_store, tmp_path, cache_budget=140_000)
    run = [training_batch([survey], 1, step, 8, **sampling_options(cfg))[0] for step in range(40)]
    resumed, _ = streamed(coordinate_store, tmp_path, cache_budget=140_000)  # a new process resuming at step 30
    again = {s: training_batch([resumed], 1, s, 8, **sampling_options(cfg))[0] for s in range(30, 40)}
    assert all(np.array_equal(again[s], run[s]) for s in range(30, 40))
    assert not np.array_equal(run[30], run[31])


def owner(stream, i, j) -> int:
    """The slab that serves tiles starting at inline i, crossline j."""
    (slab,) = [s for s in stream.slabs if s.owned[0][0] <= i < s.owned[0][1] and s.owned[1][0] <= j < s.owned[1][1]]
    return slab.index


def test_partitions_read_disjoint_slabs_and_the_buffer_stays_in_the_budget(coordinate_store, tmp_path):
    survey, cfg = streamed(coordinate_store, tmp_path, cache_budget=100_000, slab_reuse=0.5, sections="inline")
    stream = survey.streams[0]
    parts = [Partition(p, 2, 2) for p in range(2)]
    seen = []
    for partition in parts:
        lines = set()
        for step in range(partition.index, 400, 2):  # the micro-steps this worker makes
            images = training_batch([survey], 0, step, 8, partition=partition, **sampling_options(cfg))[0]
            lines |= {owner(stream, i, j) for i, j in zip(starts_of(images, cfg), crossline_starts_of(images))}
            held = stream._state["held"].values()
            pending = [f for f in stream._state["pending"].values()]
            assert len(held) <= stream.resident and len(pending) <= 1
            held_bytes = sum(a.nbytes + b.nbytes for a, b in held)
            assert held_bytes * (1 + 1 / stream.resident) <= int(cfg.cache_budget)
        own = {s.index for s in stream._own(partition)}
        seen.append(own)
        assert lines <= own
        stream._state = None
    assert not seen[0] & seen[1] and seen[0] | seen[1] == set(range(len(stream.slabs)))


def test_auto_streams_a_survey_larger_than_the_budget_and_says_so(coordinate_store, tmp_path, caplog):
    size = N_IL * N_XL * NS * 5
    with caplog.at_level(logging.INFO, logger="seisfuse"):
        fits, too_large = (data_config(coordinate_store, tmp_path, source="auto", cache_budget=b)
                           for b in (size, size - 1))
        small = load_survey(str(coordinate_store), tmp_path / "a", **survey_options(fits))[0]
        large = load_survey(str(coordinate_store), tmp_path / "b", **survey_options(too_large))[0]
    assert small.source == "memmap" and large.source == "streamed"
    assert "larger than" not in caplog.text and "> data.cache_budget" in caplog.text


@pytest.mark.parametrize("changes, message", [
    ({"split": {"axis": "crossline"}}, "split along crosslines"),
    ({"split": {"axis": "crossline", "val_stores": ["other.zarr"]}, "stores": ["STORE", "other.zarr"]},
     "split along crosslines"),
    ({"cache_budget": 50_000}, r"data.cache_budget 48.8KiB leaves 16.9KiB for the slabs of inline sections, fewer "
                               r"than two slabs of 8 x 8 traces and what their tiles reach \(each 9.4KiB\).*raise "
                               r"data.cache_budget to at least 52.5KiB"),
    ({"cache_budget": 50_000, "dims": 3, "tile": [8, 8, 8]},
     r"leaves 33.8KiB for the slabs of cubes, fewer than two slabs of 8 x 8 traces and what their tiles reach "
     r"\(each 17.6KiB\).*at least 50.2KiB"),
])
def test_what_the_stream_cannot_do_is_refused(coordinate_store, tmp_path, changes, message):
    if "stores" in changes:  # a split by store: the held-out survey is validated crossline by crossline
        changes = {**changes, "stores": [str(coordinate_store) if s == "STORE" else s for s in changes["stores"]]}
    with pytest.raises(ConfigError, match=message):
        streamed(coordinate_store, tmp_path, **changes)


def test_an_image_stack_is_not_streamed(tmp_path):
    from seisfuse.adapters.images import write_image_stack

    store = tmp_path / "stack.zarr"
    write_image_stack([(f"im{k}", np.full((20, 12), k, np.float32), np.zeros((20, 12), np.uint8)) for k in range(3)],
                      store)
    with pytest.raises(ConfigError, match="data.source streamed reads blocks of traces over the training lines; "
                                          "this store is an image stack.*Fix: use data.source: memmap"):
        stack = data_config(store, tmp_path, label="label", split={"val_images": ["im2"]})
        load_survey(str(store), tmp_path / "c", **survey_options(stack))


def test_each_rank_cuts_its_tiles_from_its_own_slabs(coordinate_store, tmp_path):
    from seisfuse.data.stream import batches

    survey, cfg = streamed(coordinate_store, tmp_path, cache_budget=100_000, slab_reuse=0.5, sections="inline")
    stream = survey.streams[0]
    for rank in (0, 1):
        own = {s.index for s in stream._own(Partition(rank, 2, 1))}
        cut = set()
        for _, (images, _, _) in batches([survey], sampling_options(cfg), 0, 0, 100, 8, offset=8 * rank,
                                         ranks=(rank, 2)):
            cut |= {owner(stream, i, j) for i, j in zip(starts_of(images, cfg), crossline_starts_of(images))}
        assert cut == own, (rank, cut, own)
        stream._state = None


def test_the_budget_a_refusal_names_is_enough(coordinate_store, tmp_path):
    with pytest.raises(ConfigError, match="at least 52.5KiB"):
        streamed(coordinate_store, tmp_path, cache_budget=53_760 - 1)
    survey, _ = streamed(coordinate_store, tmp_path, cache_budget=53_760)
    assert [s.resident for s in survey.streams.values()] == [1, 1]
