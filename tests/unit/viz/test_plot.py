"""`seisfuse plot`: the figure's axes, clip, overlays, dead traces and aspect, read back from the
matplotlib objects (never compared by pixels), on synthetic stores with known coordinates and
on the real F3 file with missing traces."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import seisfuse
from seisfuse.viz.sections import METRES_PER_MS

INLINES, CROSSLINES = np.arange(11426, 11446), np.arange(5000, 5060, 2)
SAMPLES = 1000.0 + 4.0 * np.arange(26)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    rng = np.random.default_rng(0)
    shape = (len(INLINES), len(CROSSLINES), len(SAMPLES))
    amp = xr.DataArray(rng.standard_normal(shape).astype("f4"), dims=("inline", "crossline", "twt"),
                       coords={"inline": INLINES, "crossline": CROSSLINES, "twt": SAMPLES})
    labels = {"fault": (rng.random(shape) > 0.9).astype("f4"), "prob": rng.random(shape).astype("f4"),
              "facies": rng.integers(0, 6, shape).astype("f4")}
    return seisfuse.store_from_array(amp, tmp_path_factory.mktemp("plot") / "s.zarr", labels=labels)


OUT = Path(tempfile.mkdtemp(prefix="seisfuse-plot-")) / "section.png"  # figures the tests do not keep


def _colorbars(fig) -> list[str]:
    """The labels of the colour bars (drawn as inset axes of their panels)."""
    return [c.get_ylabel() for a in fig.axes for c in a.child_axes]


def _visible_ticks(axis_ticks, lo, hi):
    return [t for t in axis_ticks if lo <= t <= hi]


def test_an_inline_by_its_number_has_survey_axes_and_a_symmetric_clip(store, tmp_path):
    fig = seisfuse.plot(store, inline=11430, out=tmp_path / "f.png")
    ax = fig.axes[0]
    assert ax.get_title().startswith("inline 11430")
    assert ax.get_xlabel() == "crossline" and ax.get_ylabel() == "time (ms)"
    xt = _visible_ticks(ax.get_xticks(), CROSSLINES[0], CROSSLINES[-1])
    assert len(xt) >= 3 and all(float(t).is_integer() for t in xt)
    assert _visible_ticks(ax.get_yticks(), SAMPLES[0], SAMPLES[-1])  # ms, not sample indices
    lo, hi = ax.get_ylim()
    assert lo > hi and hi < SAMPLES[0] < SAMPLES[-1] < lo  # the time axis runs downwards
    image = ax.get_images()[0]
    vmin, vmax = image.get_clim()
    stats = zarr.open_group(store, mode="r")["amplitude"].attrs["statistics"]["percentiles"]
    assert vmin == -vmax == -max(abs(stats["1"]), abs(stats["99"]))
    assert np.array_equal(image.get_array(), zarr.open_group(store, mode="r")["amplitude"][4].T)
    assert any(label.startswith("amplitude (±") for label in _colorbars(fig))
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_index_and_number_choose_the_same_line(store):
    by_number = seisfuse.plot(store, crossline=5010, out=OUT).axes[0].get_images()[0].get_array()
    by_index = seisfuse.plot(store, crossline_index=5, out=OUT).axes[0].get_images()[0].get_array()
    assert np.array_equal(by_number, by_index)


def test_each_kind_of_variable_is_drawn_over_the_amplitude(store, tmp_path):
    fig = seisfuse.plot(store, inline_index=3, variables=["fault", "prob", "facies"], out=tmp_path / "f.svg")
    assert [d.overlays for d in fig.drawn] == [{"fault": "binary"}, {"prob": "probability"},
                                               {"facies": "classes"}]
    fault_ax, prob_ax, facies_ax = (a for a in fig.axes if a.get_title().startswith("inline"))
    assert len(fault_ax.get_images()) == 2  # amplitude, then the layer over it
    layer = fault_ax.get_images()[1]
    assert layer.get_alpha() == 0.5 and np.ma.count_masked(layer.get_array()) > 0  # only the faults coloured
    assert "prob" in _colorbars(fig)  # the probability's own colour bar
    legend = [t.get_text() for t in facies_ax.get_legend().get_texts()]
    assert legend == [f"class {k}" for k in range(6)]
    assert (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")


def test_a_time_slice_is_a_map_with_line_numbers_on_both_axes(store):
    ax = seisfuse.plot(store, sample=1040, out=OUT).axes[0]
    assert ax.get_title().startswith("1040 ms")
    assert ax.get_xlabel() == "crossline" and ax.get_ylabel() == "inline"
    assert _visible_ticks(ax.get_yticks(), INLINES[0], INLINES[-1])
    assert ax.get_aspect() == pytest.approx(1.0)  # 25 m per inline and per crossline number: a map


def test_true_scale_is_kept_or_the_exaggeration_is_said(store):
    # store_from_array lays traces 25 m apart per line number; 4 ms samples are 4 m at 1 ms = 1 m
    true = (4 * METRES_PER_MS / 4.0) / 25.0  # height of 1 ms over the width of 1 line number
    ax = seisfuse.plot(store, crossline_index=0, out=OUT).axes[0]  # 100 m over 475 m: 1:4.75, true scale
    assert "VE" not in ax.get_title() and ax.get_aspect() == pytest.approx(true)
    ax = seisfuse.plot(store, crossline_index=0, aspect=3, out=OUT).axes[0]
    assert ax.get_aspect() == pytest.approx(3 * true) and "VE 3x" in ax.get_title()


def test_a_flat_section_is_exaggerated_to_a_readable_panel_and_says_so(tmp_path):
    store = seisfuse.store_from_array(np.zeros((4, 400, 26), "f4") + np.arange(26), tmp_path / "flat.zarr")
    fig = seisfuse.plot(store, out=OUT)
    ve = fig.drawn[0].exaggeration
    assert ve > 1 and f"VE {ve:.2g}x" in fig.axes[0].get_title()
    x0, x1 = fig.axes[0].get_xlim()
    y0, y1 = fig.axes[0].get_ylim()
    assert abs(y0 - y1) * fig.axes[0].get_aspect() / abs(x1 - x0) == pytest.approx(1 / 5, rel=0.05)


def test_missing_traces_of_a_real_survey_are_hatched(segy_dir, tmp_path):
    store = seisfuse.ingest(segy_dir / "f3-withdead.sgy", tmp_path / "f3.zarr")
    mask = zarr.open_group(store, mode="r")["trace_mask"][:]
    fig = seisfuse.plot(store, inline=125, out=OUT)
    ax = fig.axes[0]
    assert fig.drawn[0].n_dead == int((~mask[125 - 111]).sum()) == 10
    hatched = [p for p in ax.patches if p.get_hatch() == "///"]
    covered = sum(p.get_width() for p in hatched)
    assert covered == pytest.approx(10.0)  # one crossline number per missing trace
    assert "missing/dead (10)" in [t.get_text() for t in ax.get_legend().get_texts()]
    x = _visible_ticks(ax.get_xticks(), 875, 892)
    assert x and min(x) >= 875  # the F3 crossline numbers, not 0..17


def test_a_2d_line_is_traces_against_time(tmp_path):
    store = seisfuse.store_from_array(np.random.default_rng(1).standard_normal((60, 50)).astype("f4"),
                                      tmp_path / "line.zarr", sample_interval=2.0)
    ax = seisfuse.plot(store, out=OUT).axes[0]
    assert ax.get_xlabel() == "trace" and ax.get_ylabel() == "time (ms)"
    assert _visible_ticks(ax.get_yticks(), 0, 98)


@pytest.mark.parametrize("args, message", [
    (["--inline", "5"], "inline 5 is not in this store (inlines 11426..11445 step 1)"),
    (["--crossline", "5001"], "crossline 5001 is not in this store (crosslines 5000..5058 step 2)"),
    (["--sample", "1001"], "sample 1001 is not in this store"),
    (["--inline-index", "20"], "inline index 20 is outside the store's 20 inlines (0..19)"),
    (["--inline", "11430", "--crossline", "5010"], "--inline and --crossline cannot be combined"),
    (["--vars", "nope"], "the store has no variable 'nope'"),
    (["--out", "f.jpg"], "must end in .png, .pdf, .svg"),
])
def test_misuse_is_one_line_and_writes_nothing(store, tmp_path, run_cli, args, message):
    args = [a if a != "f.jpg" else str(tmp_path / "f.jpg") for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "f.png")]
    code, _, err = run_cli("plot", str(store), *args, *out)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.iterdir()) == []


def test_a_2d_store_has_no_lines_to_choose(tmp_path, run_cli):
    store = seisfuse.store_from_array(np.zeros((10, 20), "f4"), tmp_path / "line.zarr")
    code, _, err = run_cli("plot", str(store), "--inline", "1", "--out", str(tmp_path / "f.png"))
    assert code == 2 and "2D store" in err and not (tmp_path / "f.png").exists()


def test_a_damaged_store_is_not_drawn(store, tmp_path, run_cli):
    import shutil

    damaged = tmp_path / "d.zarr"
    shutil.copytree(store, damaged)
    chunk = next(p for p in (damaged / "amplitude" / "c").rglob("*") if p.is_file())
    chunk.unlink()
    code, _, err = run_cli("plot", str(damaged), "--out", str(tmp_path / "f.png"))
    assert code == 2 and "missing" in err and not (tmp_path / "f.png").exists()


def test_an_image_stack_is_plotted_by_image_name_in_pixels(tmp_path, run_cli):
    from seisfuse.adapters import write_image_stack

    rng = np.random.default_rng(4)
    pairs = [(n, rng.normal(size=(20, w)).astype(np.float32), rng.integers(0, 3, (20, w)).astype(np.uint8))
             for n, w in (("a", 30), ("b", 24))]
    store = tmp_path / "stack.zarr"
    write_image_stack(pairs, store)
    fig = seisfuse.plot(store, inline_index=1, variables=["label"], out=tmp_path / "p.png")
    ax = fig.axes[0]
    assert ax.get_title().startswith("image b") and (ax.get_xlabel(), ax.get_ylabel()) == ("column", "row")
    assert ax.get_aspect() == pytest.approx(1.0) and fig.drawn[0].n_dead == 6  # b's padding
    code, _, err = run_cli("plot", str(store), "--crossline", "2", "--out", str(tmp_path / "x.png"))
    assert code == 2 and "would join unrelated images" in err
