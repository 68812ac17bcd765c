"""The CLI end to end: synth -> ingest -> info -> export -> byte check, via `seisfuse run`."""

import filecmp
import logging
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def test_small_pipeline_round_trip(tmp_path, run_cli):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
name: small
workdir: {tmp_path / 'work'}
steps:
  - synth: {{out: syn.zarr, segy: segy, shape: [24, 20, 32], seed: 1, segy_format: ibm}}
  - ingest: {{src: segy/survey.sgy, store: s.zarr, chunks: [8, 8, 16]}}
  - ingest: {{src: segy/fault.sgy, store: s.zarr, var: fault}}
  - info: {{path: s.zarr}}
  - export: {{store: s.zarr, out: back.sgy}}
  - compare: {{a: segy/survey.sgy, b: back.sgy}}
""")
    code, _, err = run_cli("run", pipeline)
    assert code == 0, err
    assert filecmp.cmp(tmp_path / "work/segy/survey.sgy", tmp_path / "work/back.sgy", shallow=False)
    code, out, _ = run_cli("info", tmp_path / "work/s.zarr")
    assert "inline: 1..24 step 1 (24)" in out and "fault: float32 (24, 20, 32)" in out
    code, _, _ = run_cli("run", pipeline)  # runs again over its own outputs
    assert code == 0


def test_console_script_reports_user_errors_with_exit_code_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "seisfuse.cli", "info", str(tmp_path / "missing.sgy")],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "no such file" in result.stderr and "Traceback" not in result.stderr


def _train_config(tmp_path, run_cli, shape: str, data: str, model: str, train: str):
    """A synthetic store and a training config over it, in tmp_path: (store, config path)."""
    store = tmp_path / "s.zarr"
    assert run_cli("synth", store, "--shape", shape, "--seed", "2")[0] == 0
    config = tmp_path / "c.yaml"
    config.write_text(f"name: cli\nruns_dir: {tmp_path / 'runs'}\ndata: {{stores: [{store}], label: fault, {data}}}\n"
                      f"model: {model}\ntrain: {train}\n")
    return store, config


def test_cli_train_predict_export(tmp_path, run_cli):
    store, config = _train_config(tmp_path, run_cli, "32,24,32", "tile: [16, 32], split: {val_fraction: 0.25, gap: 2}",
                                  "{name: unet, options: {encoder_depth: 3, decoder_channels: [16, 8, 8]}}",
                                  "{steps: 2, batch_size: 2, val_every: 2}")
    code, _, err = run_cli("train", "-c", config, "--set", "optim.lr=0.01")
    assert code == 0, err
    code, _, err = run_cli("predict", store, "--checkpoint", tmp_path / "runs/cli/best.pt", "--var", "p",
                           "--overlap", "0.25", "--blend", "hann", "--tta")
    assert code == 0, err
    assert run_cli("export", store, tmp_path / "p.sgy", "--var", "p")[0] == 0
    code, out, err = run_cli("evaluate", store, "--pred", "p", "--label", "fault", "--region", "24,32",
                             "--json", tmp_path / "e.json")
    assert code == 0 and "ods_f1" in out and "[24, 32]" in out and (tmp_path / "e.json").exists()
    code, _, err = run_cli("train", "-c", config, "--set", "optim.lrate=1")
    assert code == 2 and "unknown key 'optim.lrate'" in err
    code, _, err = run_cli("predict", store, "--checkpoint", tmp_path / "missing.pt")
    assert code == 2 and "no checkpoint here" in err


def test_pipeline_without_overwrite_resumes_step_by_step(tmp_path, run_cli, caplog):
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
name: resumable
workdir: {tmp_path / 'work'}
overwrite: false
steps:
  - synth: {{out: syn.zarr, segy: segy, shape: [16, 16, 16], seed: 1}}
  - ingest: {{src: segy/survey.sgy, store: s.zarr}}
  - ingest: {{src: segy/fault.sgy, store: s.zarr, var: fault}}
  - export: {{store: s.zarr, out: back.sgy}}
""")
    assert run_cli("run", pipeline)[0] == 0
    stamp = (tmp_path / "work/back.sgy").stat().st_mtime_ns
    caplog.set_level(logging.INFO, logger="seisfuse")
    caplog.clear()
    code, _, err = run_cli("run", pipeline)  # the same pipeline again: every step is already done
    assert code == 0, err
    assert caplog.text.count("exists and is complete: skipped") == 4
    assert (tmp_path / "work/back.sgy").stat().st_mtime_ns == stamp


def test_every_kind_of_step_has_a_step_and_a_predict_without_its_file_is_not_done(tmp_path, run_cli):
    from seisfuse.config.pipeline import STEP_TYPES
    from seisfuse.pipeline import STEPS, Context

    assert set(STEPS) == set(STEP_TYPES)
    assert run_cli("synth", tmp_path / "s.zarr", "--shape", "16,16,16", "--seed", "1")[0] == 0
    ctx = Context("p.yaml", tmp_path, overwrite=False)
    step = STEP_TYPES["predict"](volume="s.zarr", var="fault", out="fault.sgy", checkpoint="x.pt")
    assert STEPS["predict"].done(step, ctx) is None  # the variable is there, its SEG-Y is not
    (tmp_path / "fault.sgy").write_bytes(b"")
    assert STEPS["predict"].done(step, ctx) == "s.zarr:fault"
    missing = STEP_TYPES["predict"](volume="s.zarr", var="pred", checkpoint="x.pt")
    assert STEPS["predict"].done(missing, ctx) is None
    assert STEPS["train"].done(STEP_TYPES["train"](config="c.yaml"), ctx) is None  # training resumes itself


def test_a_labels_step_runs_in_a_pipeline_and_again_gives_the_same_labels(tmp_path, run_cli):
    import numpy as np
    import xarray as xr
    import zarr

    import seisfuse

    amp = xr.DataArray(np.random.default_rng(0).standard_normal((6, 5, 8)).astype("f4"),
                       dims=("inline", "crossline", "sample"), coords={"inline": np.arange(10, 16),
                                                                       "crossline": np.arange(5)})
    seisfuse.store_from_array(amp, tmp_path / "work/s.zarr", chunks=(2, 2, 4))
    (tmp_path / "work/masks").mkdir()
    line = np.full((8, 5), 255, np.uint8)
    line[:4] = 1
    np.save(tmp_path / "work/masks/inline_12.npy", line)
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
name: labelled
workdir: {tmp_path / 'work'}
overwrite: false
steps:
  - labels: {{action: import, store: s.zarr, src: masks, var: facies, classes: [above, below]}}
""")
    for _ in range(2):
        code, _, err = run_cli("run", pipeline)
        assert code == 0, err
        facies = zarr.open_group(tmp_path / "work/s.zarr", mode="r")["facies"][...]
        assert (facies[2] == line.T).all() and (np.delete(facies, 2, axis=0) == 255).all()


def test_output_cut_short_by_the_reader_is_not_an_error(segy_dir):
    """`seisfuse info FILE | head -1`: the pipe closes early; no traceback, exit code 0."""
    proc = subprocess.run(f"{sys.executable} -m seisfuse.cli info {segy_dir / 'f3.sgy'} | head -1; "
                          "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("kind: segy") and "Traceback" not in proc.stderr


@pytest.mark.parametrize("option, message", [
    ("edge_scale: p95", "unknown edge_scale 'p95' Fix: use one of peak, p99"),
    ("init: smpp", "unknown init 'smpp' Fix: use one of default, kaiming, xavier, smp"),
    ("fusion: sum", "unknown fusion 'sum'"),
    ("edge_operator: roberts", "unknown edge operator 'roberts'"),
])
def test_a_bad_model_option_value_is_refused_before_a_run_folder_or_decoded_data_exist(tmp_path, run_cli, option,
                                                                                        message):
    _, config = _train_config(tmp_path, run_cli, "16,16,16", "tile: [16, 16]",
                              f"{{name: edge_fusion_unet, options: {{encoder_depth: 3, decoder_channels: [16, 8, 8], "
                              f"{option}}}}}", "{steps: 2, batch_size: 2}")
    code, _, err = run_cli("train", "-c", config)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "runs").exists()
