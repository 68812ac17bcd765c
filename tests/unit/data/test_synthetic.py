"""Synthetic faulted surveys: reproducible, labelled, realistic proportions, and faults that are
offsets of reflectors rather than reflectors of their own."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from scipy.ndimage import binary_dilation

import seisfuse
import seisfuse.data.synthetic as synthetic
from seisfuse.data.faults import VISIBLE_THROW, compose
from seisfuse.data.synthetic import SETTINGS, make_survey, ricker, wavelet

DEMO = (96, 96, 128)  # the demo pipeline's survey
few = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def demo_surveys():
    return [make_survey(DEMO, seed) for seed in (0, 1, 2)]


def plane_geometry(fault):
    """(down-dip, normal into the hanging wall) from strike and dip, written out independently:
    the plane dips towards strike + 90 deg (inline axis towards crossline), samples point down."""
    phi, delta = np.deg2rad(fault["strike_deg"]), np.deg2rad(fault["dip_deg"])
    azimuth = np.array([-np.sin(phi), np.cos(phi), 0.0])
    down_dip = np.cos(delta) * azimuth + np.array([0.0, 0.0, np.sin(delta)])
    normal = np.sin(delta) * azimuth - np.array([0.0, 0.0, np.cos(delta)])
    return down_dip, normal


def distance_to(fault, points):
    return plane_geometry(fault)[1] @ (points - np.asarray(fault["centre"], float)[:, None])


def near_ratio(volume, fault, iterations=2):
    """RMS on fault voxels over the RMS of their neighbours (within `iterations` voxels, same
    sample): the neighbours see the same layers, so any energy the plane adds shows."""
    near = binary_dilation(fault, iterations=iterations) & ~fault
    power = volume.astype(np.float64) ** 2
    on = (power * fault).sum(axis=(0, 1))
    around = (power * near).sum(axis=(0, 1)) / np.maximum(near.sum(axis=(0, 1)), 1)
    return on.sum(), (fault.sum(axis=(0, 1)) * around).sum()


def test_same_seed_same_survey_other_seed_other_survey():
    a = make_survey((32, 28, 40), seed=5)
    b = make_survey((32, 28, 40), seed=5)
    c = make_survey((32, 28, 40), seed=6)
    np.testing.assert_array_equal(a.amplitude, b.amplitude)
    np.testing.assert_array_equal(a.fault, b.fault)
    np.testing.assert_array_equal(a.facies, b.facies)
    assert a.params == b.params
    assert not np.array_equal(a.amplitude, c.amplitude)


def test_shapes_dtypes_and_label_proportions():
    s = make_survey((48, 40, 56), seed=1, n_faults=3)
    assert s.amplitude.shape == s.fault.shape == s.facies.shape == s.reflectivity.shape == (48, 40, 56)
    assert s.amplitude.dtype == np.float32 and s.fault.dtype == np.uint8 and s.facies.dtype == np.uint8
    assert set(np.unique(s.fault)) == {0, 1}
    assert 0.005 < s.fault.mean() < 0.12  # thin planes
    assert abs(float(s.amplitude.std()) - 1.0) < 1e-3
    assert s.params["n_faults"] == 3 and len(s.params["faults"]) == 3
    for fault in s.params["faults"]:
        assert 45 <= fault["dip_deg"] <= 85 and 1 <= abs(fault["throw"]) <= 30


def test_facies_increase_with_depth_on_average():
    s = make_survey((32, 32, 64), seed=2, n_facies=4)
    assert len(np.unique(s.facies)) >= 3
    top, bottom = s.facies[:, :, :8].mean(), s.facies[:, :, -8:].mean()
    assert bottom > top


def test_faults_offset_reflectors():
    """Across a fault plane the traces differ more than between neighbours away from it."""
    s = make_survey((40, 40, 64), seed=3, snr=1e6,
                    faults=[{"centre": [20, 20, 32], "dip_deg": 80, "throw": 12, "radius": None}])
    near = s.fault.max(axis=2).astype(bool)  # map view of the fault trace
    diffs = np.abs(np.diff(s.amplitude, axis=0)).mean(axis=2)  # inline-neighbour trace differences
    across = diffs[near[1:] | near[:-1]].mean()
    away = diffs[~(near[1:] | near[:-1])].mean()
    assert across > 1.5 * away


def test_fault_planes_carry_no_energy_of_their_own(demo_surveys):
    """Real faults add no energy on the plane. Differencing impedance after faulting made every
    plane a reflector (fault-voxel RMS 1.4x the rest, 1.5-1.8x its neighbours)."""
    pooled = {"amplitude": [0.0, 0.0], "reflectivity": [0.0, 0.0]}
    everywhere = [0.0, 0.0]
    for s in demo_surveys:
        fault = s.fault.astype(bool)
        for name in pooled:
            on, around = near_ratio(getattr(s, name), fault)
            assert 0.9 < np.sqrt(on / around) < 1.1, (name, s.params["seed"], np.sqrt(on / around))
            pooled[name][0] += on
            pooled[name][1] += around
        power = s.amplitude.astype(np.float64) ** 2
        everywhere[0] += power[fault].mean()
        everywhere[1] += power[~fault].mean()
    for name, (on, around) in pooled.items():
        assert 0.95 < np.sqrt(on / around) < 1.05, name
    assert 0.9 < np.sqrt(everywhere[0] / everywhere[1]) < 1.1  # fault voxels against all the others


def test_positives_fraction_is_that_of_thin_planes(demo_surveys):
    for s in demo_surveys:
        assert 0.02 < s.fault.mean() < 0.06
        assert s.params["fault_fraction"] == pytest.approx(s.fault.mean())
        assert sum(s.params["labelled_voxels"]) >= s.fault.sum()  # overlaps counted once in the label


def constant_faults():
    """Faults with whole-sample constant throws: then, on flat layers, z0 is a whole number."""
    return st.lists(st.fixed_dictionaries({
        "centre": st.tuples(st.floats(2, 22), st.floats(2, 22), st.floats(8, 32)).map(list),
        "strike_deg": st.floats(0, 360), "dip_deg": st.floats(45, 85),
        "throw": st.integers(2, 12).flatmap(lambda t: st.sampled_from([t, -t])).map(float),
        "radius": st.none()}), min_size=1, max_size=3)


@few
@given(faults=constant_faults(), seed=st.integers(0, 2**16))
# faults sharing a plane and a centre, of whole-sample throws: carried back, depths land on the
# (whole-sample) layer tops give or take a rounding, which put one fault block's samples in the
# layer above before the generator snapped its depths (found by hypothesis)
@example(faults=[{"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 69.77, "throw": -2.0, "radius": None},
                 {"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 45.0, "throw": 5.0, "radius": None},
                 {"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 45.0, "throw": 6.0, "radius": None}],
         seed=0)
@example(faults=[{"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 45.0, "throw": 2.0, "radius": None},
                 {"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 57.0, "throw": -4.0, "radius": None},
                 {"centre": [2.0, 2.0, 8.0], "strike_deg": 0.0, "dip_deg": 45.0, "throw": 10.0, "radius": None}],
         seed=0)
def test_facies_are_a_function_of_the_original_depth(faults, seed):
    """Carry each voxel back through the faults (latest first, hanging wall up the dip by its
    throw) to its depth before faulting: the facies must depend on that depth alone, right up to
    each plane. Resampling the depth field once per fault blended it across the earlier planes
    and put the facies of neither wall on the voxels between."""
    shape = (24, 24, 40)
    s = make_survey(shape, seed, fold=0, faults=faults, snr=10)
    points = np.indices(shape, dtype=float).reshape(3, -1)
    tie = np.zeros(points.shape[1], bool)
    for fault in reversed(faults):
        down_dip, _ = plane_geometry(fault)
        distance = distance_to(fault, points)
        tie |= np.abs(distance) < 1e-6  # on the plane to rounding: either side is right
        points -= np.where(distance > 0, fault["throw"] / np.sin(np.deg2rad(fault["dip_deg"])), 0.0) * down_dip[:, None]
    inside = ~tie
    z0 = np.rint(points[2]).astype(int)[inside]
    facies = s.facies.reshape(-1)[inside].astype(int)
    low = np.full(z0.max() - z0.min() + 1, 255)
    high = np.full_like(low, -1)
    np.minimum.at(low, z0 - z0.min(), facies)
    np.maximum.at(high, z0 - z0.min(), facies)
    seen = high >= 0
    np.testing.assert_array_equal(low[seen], high[seen])
    assert np.all(np.diff(low[seen]) >= 0)  # and facies units stack in order of depth


@few
@given(throw=st.floats(0.2, 6.0), reverse=st.booleans(), dip=st.floats(45, 85), strike=st.floats(0, 360),
       tipped=st.booleans(), size=st.floats(1.0, 2.0))
def test_labels_only_where_the_offset_is_visible(throw, reverse, dip, strike, tipped, size):
    """A voxel is labelled where it is within half a voxel of the plane and the local throw is
    at least one sample; a fault whose throw stays under a sample is not labelled at all."""
    shape = (28, 28, 32)
    fault = {"centre": [14.0, 14.0, 16.0], "strike_deg": strike, "dip_deg": dip, "throw": -throw if reverse else throw,
             "radius": [max(12 * size, 4 * throw), max(16 * size, 4 * throw) / np.sin(np.deg2rad(dip))]
             if tipped else None}
    s = make_survey(shape, 0, faults=[fault], snr=10)
    points = np.indices(shape, dtype=float).reshape(3, -1)
    rel = points - np.asarray(fault["centre"])[:, None]
    phi = np.deg2rad(strike)
    down_dip, normal = plane_geometry(fault)
    local = np.full(rel.shape[1], throw)
    if tipped:
        u = np.array([np.cos(phi), np.sin(phi), 0.0]) @ rel
        r2 = (u / fault["radius"][0]) ** 2 + ((down_dip @ rel) / fault["radius"][1]) ** 2
        local = throw * np.clip(1 - r2, 0, None) ** 2
    distance = np.abs(normal @ rel)
    expected = (distance < 0.5) & (local >= VISIBLE_THROW)
    unsure = (np.abs(distance - 0.5) < 1e-6) | (np.abs(local - VISIBLE_THROW) < 1e-6)
    labelled = s.fault.reshape(-1).astype(bool)
    np.testing.assert_array_equal(labelled[~unsure], expected[~unsure])
    assert s.params["labelled_voxels"] == [int(labelled.sum())]
    if throw < VISIBLE_THROW:
        assert labelled.sum() == 0


@few
@given(dip=st.floats(45, 85), strike=st.floats(0, 360), throw=st.floats(1, 20))
def test_planes_are_one_or_two_voxels_thick_without_holes(dip, strike, throw):
    shape = (30, 30, 30)
    fault = {"centre": [15.0, 15.0, 15.0], "strike_deg": strike, "dip_deg": dip, "throw": throw, "radius": None}
    label = make_survey(shape, 0, faults=[fault], snr=10).fault.astype(bool)
    normal = plane_geometry(fault)[1]
    axis = int(np.argmax(np.abs(normal)))  # lines across the plane run along this axis
    lines = np.moveaxis(label, axis, -1).reshape(-1, shape[axis])
    edges = np.diff(np.pad(lines.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    runs = np.flatnonzero(edges.reshape(-1) == -1) - np.flatnonzero(edges.reshape(-1) == 1)
    assert runs.min() >= 1 and runs.max() <= 2
    # Every line that crosses the plane well inside the volume has a labelled voxel on it.
    points = np.indices(shape, dtype=float)
    others = np.moveaxis(points, axis + 1, -1)[..., 0].reshape(3, -1)  # each line's first voxel
    crossing = -distance_to(fault, others) / normal[axis]  # where along the line the plane lies
    inside = (crossing > 1) & (crossing < shape[axis] - 2)
    assert lines[inside].any(axis=1).all()


def test_settings_are_recorded_and_rebuild_the_survey():
    s = make_survey((32, 32, 48), seed=11)
    assert json.loads(json.dumps(s.params)) == s.params  # JSON-ready as it is
    assert set(SETTINGS) <= set(s.params) and s.params["sample_interval_ms"] in (2.0, 3.0, 4.0)
    assert s.fault.mean() > 0 and s.params["label_rule"]
    given = {k: s.params[k] for k in SETTINGS} | {"faults": s.params["faults"], "n_facies": s.params["n_facies"]}
    again = make_survey((32, 32, 48), seed=11, **given)
    np.testing.assert_array_equal(again.amplitude, s.amplitude)
    np.testing.assert_array_equal(again.facies, s.facies)
    assert again.params == s.params
    # Another seed with the same settings: the same faults and labels, other layers and noise.
    other = make_survey((32, 32, 48), seed=12, **given)
    np.testing.assert_array_equal(other.fault, s.fault)
    assert other.params["faults"] == s.params["faults"] and not np.array_equal(other.amplitude, s.amplitude)


def test_a_given_setting_leaves_the_others_as_drawn():
    a = make_survey((24, 24, 40), seed=4)
    b = make_survey((24, 24, 40), seed=4, snr=a.params["snr"] * 3)
    np.testing.assert_array_equal(a.reflectivity, b.reflectivity)
    assert {k: v for k, v in a.params.items() if k != "snr"} == {k: v for k, v in b.params.items() if k != "snr"}
    with pytest.raises(ValueError, match="unknown fault setting"):
        make_survey((16, 16, 16), faults=[{"thorw": 3}])
    with pytest.raises(ValueError, match="too small for throw"):
        make_survey((16, 16, 16), faults=[{"throw": 20, "radius": [10, 10]}])


def test_the_chunking_changes_nothing(monkeypatch):
    a = make_survey((20, 18, 30), seed=8)
    monkeypatch.setattr(synthetic, "compose", lambda *args: compose(*args, chunk_voxels=500))
    b = make_survey((20, 18, 30), seed=8)
    for name in ("amplitude", "fault", "facies", "reflectivity"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_sample_interval_scales_the_wavelet_in_samples():
    """The wavelet is built at the survey's own sample interval: the same peak frequency in Hz
    is half as many samples per period at 4 ms as at 2 ms."""
    def peak_cycles_per_sample(s):  # of the wavelet: the trace's spectrum over the reflectivity's
        power = (np.abs(np.fft.rfft(s.amplitude, axis=2)) ** 2).mean(axis=(0, 1))
        power /= (np.abs(np.fft.rfft(s.reflectivity, axis=2)) ** 2).mean(axis=(0, 1)) + 1e-30
        return np.fft.rfftfreq(s.amplitude.shape[2])[np.argmax(power)]
    common = {"peak_hz": 25.0, "phase_deg": 0.0, "bandpass_hz": False, "snr": 1e6}
    fine = make_survey((16, 16, 256), 1, sample_interval_ms=2, **common)
    coarse = make_survey((16, 16, 256), 1, sample_interval_ms=4, **common)
    assert fine.params["sample_interval_ms"] == 2.0 and coarse.params["sample_interval_ms"] == 4.0
    ratio = peak_cycles_per_sample(coarse) / peak_cycles_per_sample(fine)
    assert 1.7 < ratio < 2.3
    assert peak_cycles_per_sample(fine) == pytest.approx(25.0 * 0.002, abs=2 / 256)


def test_noise_is_band_limited_and_laterally_correlated():
    shape = (40, 40, 64)
    clean = make_survey(shape, 3, snr=1e6)
    noisy = make_survey(shape, 3, snr=1.0)
    signal = clean.amplitude.astype(np.float64)
    noise = noisy.amplitude - signal * (noisy.amplitude * signal).sum() / (signal**2).sum()
    def correlation(a, b):
        return float(np.corrcoef(a.reshape(-1), b.reshape(-1))[0, 1])
    assert correlation(noise[1:], noise[:-1]) > 0.3  # white noise: about 0
    assert correlation(noise[..., 1:], noise[..., :-1]) > 0.3
    assert abs(noise.std() / signal.std() - 1) < 0.35  # SNR 1 as RMS over RMS


def test_wavelet_phase_and_band():
    w = wavelet(30.0, 0.004)
    r = ricker(30.0, 0.004)
    half = min(len(w), len(r)) // 2  # the wavelet is cut where 99.99 % of its energy is in
    middle = lambda a: a[len(a) // 2 - half:len(a) // 2 + half + 1]
    np.testing.assert_allclose(middle(w), middle(r), atol=0.02)  # phase 0: the Ricker
    np.testing.assert_allclose(wavelet(30.0, 0.004, 180.0), -w, atol=1e-9)  # 180 deg: reversed polarity
    quarter = wavelet(30.0, 0.004, 90.0)
    assert abs(quarter[len(quarter) // 2]) < 0.05 and np.allclose(quarter, -quarter[::-1], atol=1e-6)
    banded = wavelet(30.0, 0.002, 0.0, (10.0, 40.0))
    spectrum = np.abs(np.fft.rfft(banded, 1024))
    f = np.fft.rfftfreq(1024, 0.002)
    assert spectrum[f > 80].max() < 0.05 * spectrum.max()


def test_ricker_is_zero_phase_with_unit_peak():
    w = ricker(30.0, 0.004)
    assert w[len(w) // 2] == 1.0 and np.allclose(w, w[::-1])


def test_synth_store_carries_the_survey_sample_interval(tmp_path):
    store = seisfuse.synth(tmp_path / "s.zarr", shape=(8, 8, 16), seed=0, sample_interval_ms=3)
    ds = seisfuse.open_store(store)
    np.testing.assert_allclose(np.diff(ds["sample"].values), 3.0)
    assert ds.attrs["synthetic"]["sample_interval_ms"] == 3.0


def test_the_declared_settings_are_the_generator_keywords():
    import inspect

    from seisfuse.config.commands import SYNTH_SETTINGS

    assert tuple(p for p in inspect.signature(make_survey).parameters if p not in ("shape", "seed")) == SYNTH_SETTINGS


def test_settings_from_a_pipeline_and_the_api_reach_the_generator_or_are_refused_in_one_line(tmp_path, run_cli):
    import yaml

    from seisfuse.errors import ConfigError

    pipeline = tmp_path / "p.yaml"
    chosen = {"peak_hz": 12.0, "snr": 1.5, "sample_interval_ms": 4, "faults": [{"dip_deg": 35}]}
    pipeline.write_text(yaml.safe_dump({"name": "p", "workdir": str(tmp_path / "w"), "steps": [
        {"synth": {"out": "ood.zarr", "shape": [16, 16, 32], "seed": 4, "settings": chosen}}]}))
    assert run_cli("run", pipeline)[0] == 0
    made = seisfuse.open_store(tmp_path / "w" / "ood.zarr").attrs["synthetic"]
    assert (made["peak_hz"], made["snr"], made["sample_interval_ms"]) == (12.0, 1.5, 4.0)
    assert made["faults"][0]["dip_deg"] == 35 and made["n_faults"] == 1
    same = seisfuse.open_store(seisfuse.synth(tmp_path / "api.zarr", shape=(16, 16, 32), seed=4, settings=chosen))
    assert same.attrs["synthetic"] == made  # the API's settings= and the step's are one thing
    for bad, message in [({"peak": 12}, "unknown generator setting(s) peak: choose from n_faults"),
                         ({"snr": -1}, "snr = -1 out of range"), ({"faults": [{"dip": 3}]}, "unknown fault setting"),
                         ({"n_faults": 1, "faults": [{}, {}]}, "2 faults given for n_faults = 1")]:
        pipeline.write_text(yaml.safe_dump({"name": "p", "workdir": str(tmp_path / "w2"), "steps": [
            {"synth": {"out": "bad.zarr", "shape": [16, 16, 32], "settings": bad}}]}))
        code, _, err = run_cli("run", pipeline)
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        with pytest.raises(ConfigError, match=message.split(" out of")[0].replace("(", r"\(").replace(")", r"\)")):
            seisfuse.synth(tmp_path / "bad.zarr", shape=(16, 16, 32), settings=bad)
        assert not (tmp_path / "w2" / "bad.zarr").exists() and not (tmp_path / "bad.zarr").exists()
