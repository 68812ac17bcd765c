"""The classical baseline: 1 - structure-tensor coherence, calibrated on labelled surveys, written
and scored like a model's prediction (seisfuse baseline)."""

import numpy as np
import torch

import seisfuse
from seisfuse.models.baselines import CoherenceBaseline, calibrated
from seisfuse.models.edges import structure_coherence


def test_the_calibration_map_is_monotone_and_puts_the_threshold_at_one_half():
    v = torch.linspace(0, 1, 1001)
    for t in (0.05, 0.3, 0.5, 0.9):
        p = calibrated(v, t)
        assert torch.all(p[1:] >= p[:-1]) and p[0] == 0 and abs(float(p[-1]) - 1) < 1e-6
        assert abs(float(calibrated(torch.tensor(t), t)) - 0.5) < 1e-6


def test_the_attribute_marks_a_fault_and_ignores_the_amplitude_scale():
    z = torch.arange(64.0)
    section = torch.sin(2 * np.pi * z / 8).repeat(64, 1)  # (lateral, sample): flat reflectors
    section[32:] = torch.roll(section[32:], 3, dims=1)  # a fault at trace 32 with a 3-sample throw
    x = section[None, None]
    attribute = 1 - structure_coherence(x)
    assert attribute[0, 0, 30:34, 10:54].mean() > 5 * attribute[0, 0, 5:20, 10:54].mean()
    model = CoherenceBaseline(0.2)
    torch.testing.assert_close(torch.sigmoid(model(x)), torch.sigmoid(model(1000 * x)), atol=1e-4, rtol=0)
    torch.testing.assert_close(torch.sigmoid(model(x)), calibrated(attribute, 0.2).clamp(1e-6, 1 - 1e-6),
                               atol=1e-5, rtol=0)


def test_the_baseline_is_written_and_scored_like_a_prediction(tmp_path, run_cli):
    train = seisfuse.synth(tmp_path / "train.zarr", shape=(24, 24, 48), seed=1, n_faults=4)
    test = seisfuse.synth(tmp_path / "test.zarr", shape=(24, 24, 48), seed=2, n_faults=4)
    raw = seisfuse.baseline(test, var="raw")
    found = seisfuse.baseline(test, calibrate=[train])
    t = found["calibration"]["threshold"]
    assert raw["calibration"] == {"threshold": 0.5} and 0 < t < 1 and found["stores"] == [str(test)]
    scored = {v: seisfuse.evaluate(test, pred=v, label="fault") for v in ("raw", "coherence")}
    assert abs(scored["raw"]["ap"] - scored["coherence"]["ap"]) < 0.02  # a monotone map: the same ranking
    ds = seisfuse.open_store(test)
    clear = np.abs(ds.raw.values - t) > 1e-4  # (float rounding decides the values at the threshold itself)
    np.testing.assert_array_equal((ds.coherence.values >= 0.5)[clear], (ds.raw.values >= t)[clear])
    code, _, err = run_cli("baseline", test, "--calibrate", train)  # exists: refused before any reading
    assert code == 2 and "variable 'coherence' already exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli("baseline", test, "--calibrate", test, "--var", "again", "--label", "nolabel")
    assert code == 2 and "no complete label variable 'nolabel'" in err
    assert "again" not in seisfuse.open_store(test)


def test_the_baseline_refuses_a_sigma_out_of_range(run_cli, tmp_path):
    code, _, err = run_cli("baseline", tmp_path / "s.zarr", "--sigma", "0")
    assert code == 2 and "sigma: Input should be greater than 0" in err
