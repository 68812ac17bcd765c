"""A full disk, a quota, a read-only folder: one line and exit 2 naming what was written, where,
the room left and needed; nothing left that looks complete; and once there is room the same
command resumes (ingest, predict, training) or starts clean. On a real small file system
(tests/fs.py), with the pre-checks bypassed where the failure must come half-way."""

import errno
import filecmp
import shutil
from pathlib import Path

import numpy as np
import pytest

import seisfuse
from seisfuse import resources
from seisfuse.io import chunkio, schema
from tests.helpers import grid_traces, write_segy

pytestmark = pytest.mark.integration


def survey(tmp_path, n_il=40, n_xl=40, ns=200):
    """An IEEE survey of random (incompressible) samples, about 1.6 MB."""
    il, xl = grid_traces(n_il, n_xl)
    values = np.random.default_rng(0).normal(size=(len(il), ns)).astype(np.float32)
    return write_segy(tmp_path / "survey.sgy", il, xl, values)


def one_line(err: str, *fragments):
    assert err.startswith("seisfuse: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def no_precheck(monkeypatch):
    """The failure half-way (another job filled the disk after the check)."""
    monkeypatch.setattr(resources, "check_disk", lambda *a, **k: None)


def test_ingest_refused_before_writing_then_half_way_then_resumed(small_fs, tmp_path, run_cli, monkeypatch, caplog):
    src = survey(tmp_path)
    store = small_fs.path / "s.zarr"
    code, _, err = run_cli("ingest", src, store)
    assert code == 2
    one_line(err, "needs about 1.6 MiB of disk", "free", "Fix: free some space")
    assert not store.exists()
    no_precheck(monkeypatch)
    code, _, err = run_cli("ingest", src, store, "--chunks", "8,8,200", "--workers", "1")
    assert code == 2
    one_line(err, "ingest of survey.sgy into s.zarr failed: the disk is full", "free there",
             "run the same command again (it resumes)")
    assert store.exists() and not schema.is_complete(store)
    small_fs.resize("8m")
    code, _, err = run_cli("ingest", src, store, "--chunks", "8,8,200", "--workers", "1")
    assert code == 0, err
    assert "resuming" in caplog.text
    assert run_cli("export", store, tmp_path / "back.sgy")[0] == 0
    assert filecmp.cmp(src, tmp_path / "back.sgy", shallow=False)


def test_export_leaves_no_partial_file_and_starts_clean(small_fs, tmp_path, run_cli, monkeypatch):
    store = seisfuse.ingest(survey(tmp_path), tmp_path / "s.zarr")
    out = small_fs.path / "out.sgy"
    code, _, err = run_cli("export", store, out)
    assert code == 2
    one_line(err, "the SEG-Y file out.sgy needs about 1.6 MiB of disk")
    no_precheck(monkeypatch)
    code, _, err = run_cli("export", store, out)
    assert code == 2
    one_line(err, "the export of 'amplitude' failed: the disk is full", "(it starts clean)")
    assert list(small_fs.path.iterdir()) == []
    small_fs.resize("4m")
    assert run_cli("export", store, out)[0] == 0
    assert filecmp.cmp(tmp_path / "survey.sgy", out, shallow=False)


def test_a_read_only_file_system_is_one_line(small_fs, tmp_path, run_cli):
    small_fs.resize("8m")
    small_fs.read_only()
    code, _, err = run_cli("ingest", survey(tmp_path), small_fs.path / "s.zarr")
    assert code == 2
    assert "read-only" in err and err.count("\n") == 1 and "Traceback" not in err


def test_synth_datasets_view_and_plot_leave_nothing_complete(small_fs, tmp_path, run_cli):
    store = seisfuse.synth(tmp_path / "s.zarr", shape=(64, 64, 64), seed=1)
    code, _, err = run_cli("synth", small_fs.path / "x.zarr", "--shape", "64,64,64")
    assert code == 2 and "of disk" in err
    one_line(err)
    f3 = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "f3_facies"
    assert f3.is_dir(), f"the shared F3 sections are not at {f3}"
    code, _, err = run_cli("datasets", "prepare", "image-folder", f3, small_fs.path / "f3.zarr")
    assert code == 2
    one_line(err, "the image-folder stores failed: the disk is full", "(it starts clean)")
    assert list(small_fs.path.iterdir()) == []
    small_fs.fill(leave=20_000)
    code, _, err = run_cli("view", store, "--out", small_fs.path / "v.html")
    assert code == 2
    one_line(err, "the viewer failed: the disk is full")
    assert sorted(p.name for p in small_fs.path.iterdir()) == ["filler"]
    code, _, err = run_cli("plot", store, "--out", small_fs.path / "p.png")
    assert code == 2
    one_line(err, "the figure failed: the disk is full")
    assert sorted(p.name for p in small_fs.path.iterdir()) == ["filler"]


def test_training_checkpoint_on_a_full_disk_then_resumed(small_fs, tmp_path, run_cli):
    store = seisfuse.synth(tmp_path / "s.zarr", shape=(40, 24, 40), seed=5, n_faults=3)
    small_fs.resize("3m")
    config = tmp_path / "c.yaml"
    config.write_text(f"""name: full
runs_dir: {small_fs.path / 'runs'}
data: {{stores: [{store}], label: fault, tile: [16, 32], split: {{val_fraction: 0.25, gap: 2}}}}
model: {{name: edge_fusion_unet, options: {{encoder_depth: 3, decoder_channels: [16, 8, 8]}}}}
train: {{steps: 4, batch_size: 2, val_every: 2, threads: 1}}
""")
    code, _, err = run_cli("train", "-c", config)
    assert code == 2
    one_line(err, "writing the checkpoint last.pt failed: the disk is full", "about", "needed",
             "resumes from the last checkpoint")
    assert not list((small_fs.path / "runs" / "full").glob("*.tmp"))
    small_fs.resize("200m")
    code, _, err = run_cli("train", "-c", config)
    assert code == 0, err
    assert (small_fs.path / "runs" / "full" / "best.pt").is_file()


def test_an_injected_quota_error_is_one_line_everywhere(tmp_path, run_cli, monkeypatch):
    """Where no file system can be mounted: EDQUOT from the chunk writer, as a quota gives it."""
    def full(self, path, raw, tail=b""):
        raise OSError(errno.EDQUOT, "Disk quota exceeded", str(path))

    monkeypatch.setattr(chunkio.ChunkIO, "_put", full)
    code, _, err = run_cli("ingest", survey(tmp_path, 8, 8, 50), tmp_path / "s.zarr")
    assert code == 2
    one_line(err, "failed: the disk quota is exceeded", "free there", "(it resumes)")
    assert not schema.is_complete(tmp_path / "s.zarr")


def test_prediction_half_way_then_resumed(small_fs, tmp_path, run_cli, monkeypatch, tiny_model):
    source, ckpt = tiny_model
    small_fs.resize("8m")
    store = small_fs.path / "s.zarr"
    seisfuse.synth(store, shape=(40, 24, 40), seed=5, n_faults=3)
    filler = small_fs.fill(leave=60_000)
    no_precheck(monkeypatch)
    args = ("predict", store, "--checkpoint", ckpt, "--var", "p", "--device", "cpu")
    code, _, err = run_cli(*args)
    assert code == 2
    one_line(err, "the prediction 'p' failed: the disk is full", "about", "needed", "(it resumes)")
    assert "p" not in schema.complete_variables(schema.open_group(store))
    filler.unlink()
    code, _, err = run_cli(*args)
    assert code == 0, err
    assert "p" in schema.complete_variables(schema.open_group(store))


def test_a_report_on_a_full_disk_leaves_the_old_report(small_fs, tmp_path, run_cli, tiny_model):
    _, ckpt = tiny_model
    experiment = tmp_path / "experiments" / "e"
    run = experiment / "v" / "d" / "seed0"
    shutil.copytree(Path(ckpt).parent, run)  # a finished training run, as an experiment run
    (run / "experiment.json").write_text('{"variant": "v", "dataset": "d", "seed": 0, "overrides": []}')
    small_fs.resize("4m")
    out = small_fs.path / "report"
    assert run_cli("report", experiment, "--out", out)[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    small_fs.fill(leave=4_000)
    code, _, err = run_cli("report", experiment, "--out", out)
    assert code == 2
    one_line(err, "the report failed: the disk is full")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old report, whole
    assert sorted(p.name for p in small_fs.path.iterdir()) == ["filler", "report"]
