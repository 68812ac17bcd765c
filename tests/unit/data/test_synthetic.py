"""Synthetic faulted surveys: reproducible, labelled, realistic proportions."""

import numpy as np

from seisfuse.data.synthetic import make_survey, ricker


def test_same_seed_same_survey_other_seed_other_survey():
    a = make_survey((32, 28, 40), seed=5)
    b = make_survey((32, 28, 40), seed=5)
    c = make_survey((32, 28, 40), seed=6)
    np.testing.assert_array_equal(a.amplitude, b.amplitude)
    np.testing.assert_array_equal(a.fault, b.fault)
    assert not np.array_equal(a.amplitude, c.amplitude)


def test_shapes_dtypes_and_label_proportions():
    s = make_survey((48, 40, 56), seed=1, n_faults=3)
    assert s.amplitude.shape == s.fault.shape == s.facies.shape == (48, 40, 56)
    assert s.amplitude.dtype == np.float32 and s.fault.dtype == np.uint8
    assert set(np.unique(s.fault)) == {0, 1}
    assert 0.005 < s.fault.mean() < 0.12  # thin planes
    assert abs(float(s.amplitude.std()) - 1.0) < 1e-3
    assert s.params["n_faults"] == 3 and len(s.params["faults"]) == 3
    for fault in s.params["faults"]:
        assert 62 <= fault["dip_deg"] <= 82 and 5 <= abs(fault["throw"]) <= 30


def test_facies_increase_with_depth_on_average():
    s = make_survey((32, 32, 64), seed=2, n_facies=4)
    assert len(np.unique(s.facies)) >= 3
    top, bottom = s.facies[:, :, :8].mean(), s.facies[:, :, -8:].mean()
    assert bottom > top


def test_faults_offset_reflectors():
    """Across a fault plane the traces differ more than between neighbours away from it."""
    s = make_survey((40, 40, 64), seed=3, n_faults=1, snr=1e6)
    near = s.fault.max(axis=2).astype(bool)  # map view of the fault trace
    diffs = np.abs(np.diff(s.amplitude, axis=0)).mean(axis=2)  # inline-neighbour trace differences
    across = diffs[near[1:] | near[:-1]].mean()
    away = diffs[~(near[1:] | near[:-1])].mean()
    assert across > 1.5 * away


def test_ricker_is_zero_phase_with_unit_peak():
    w = ricker(30.0, 0.004)
    assert w[len(w) // 2] == 1.0 and np.allclose(w, w[::-1])
