"""MDIO v1 stores, made by multidimio's own `segy_to_mdio` from the real files of the shared
corpus, read wherever seisfuse reads a store, written into, exported byte-exact, converted
both ways; and what MDIO cannot give refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mdio", reason="the [mdio] extra (multidimio) is not installed")

from seisfuse.io import schema  # noqa: E402
from seisfuse.io.mdio import MdioStore  # noqa: E402
from seisfuse.io.mdio_convert import MDIO_ENV, MDIO_INGEST  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def mdio_ingest(segy: Path, out: Path, *, file_headers: bool = True, raw_headers: bool = True,
                template: str = "PostStack3DTime") -> Path:
    """An MDIO store made by multidimio's segy_to_mdio (in a child process: it spawns workers)."""
    env = {**os.environ, **MDIO_ENV, "MDIO__IMPORT__CPU_COUNT": "1"}
    if not file_headers:
        env["MDIO__IMPORT__SAVE_SEGY_FILE_HEADER"] = "false"
    if not raw_headers:
        env["MDIO__IMPORT__RAW_HEADERS"] = "false"
    job = {"segy": str(segy), "out": str(out), "template": template, "key_bytes": [189, 193], "scalar_zero": False}
    done = subprocess.run([sys.executable, "-c", MDIO_INGEST, json.dumps(job)], env=env, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def f3_mdio(segy_dir, tmp_path_factory) -> Path:
    return mdio_ingest(segy_dir / "f3.sgy", tmp_path_factory.mktemp("mdio") / "f3.mdio")


@pytest.fixture
def f3_copy(f3_mdio, tmp_path) -> Path:
    import shutil

    return Path(shutil.copytree(f3_mdio, tmp_path / "f3.mdio"))


def test_an_mdio_store_is_read_under_seisfuse_names(f3_mdio, segy_dir, run_cli):
    group = schema.open_group(f3_mdio)
    assert isinstance(group, MdioStore)
    code, out, err = run_cli("info", f3_mdio)
    assert code == 0, err
    assert "mdio" in out.lower()
    # the same traces as the SEG-Y file: its geometry and its amplitudes
    import segyio

    with segyio.open(segy_dir / "f3.sgy", ignore_geometry=False) as f:
        cube = segyio.tools.cube(f)
    assert group["amplitude"].shape == cube.shape
    assert np.allclose(np.asarray(group["amplitude"][...]), cube)
    code, out, err = run_cli("verify", f3_mdio)
    assert code == 0, err


def test_export_from_mdio_is_byte_exact(f3_mdio, segy_dir, tmp_path, run_cli):
    out = tmp_path / "back.sgy"
    code, _, err = run_cli("export", f3_mdio, out)
    assert code == 0, err
    assert out.read_bytes() == (segy_dir / "f3.sgy").read_bytes()


def test_mdio_to_seisfuse_and_back_to_segy_is_byte_exact(f3_mdio, segy_dir, tmp_path, run_cli):
    store = tmp_path / "f3.zarr"
    code, _, err = run_cli("convert", f3_mdio, store)
    assert code == 0, err
    assert not isinstance(schema.open_group(store), MdioStore)
    code, _, err = run_cli("verify", store, "--deep")
    assert code == 0, err
    code, _, err = run_cli("export", store, tmp_path / "back.sgy")
    assert code == 0, err
    assert (tmp_path / "back.sgy").read_bytes() == (segy_dir / "f3.sgy").read_bytes()


def test_seisfuse_to_mdio_keeps_the_traces_and_the_labels(segy_dir, tmp_path, run_cli):
    store = tmp_path / "f3.zarr"
    assert run_cli("ingest", segy_dir / "f3.sgy", store)[0] == 0
    group = schema.open_group(store)
    fault = (np.arange(np.prod(group["amplitude"].shape)).reshape(group["amplitude"].shape) % 7 == 0)
    np.save(tmp_path / "fault.npy", fault.astype(np.uint8))
    assert run_cli("ingest", tmp_path / "fault.npy", store, "--var", "fault")[0] == 0
    out = tmp_path / "f3.mdio"
    code, _, err = run_cli("convert", store, out)
    assert code == 0, err
    assert not (tmp_path / "f3.mdio.partial").exists() and not (tmp_path / "f3.mdio.partial.sgy").exists()
    # MDIO's own reader sees the survey and the label variable
    from mdio import open_mdio

    dataset = open_mdio(out)
    assert "fault" in dataset.data_vars
    assert np.array_equal(dataset["fault"].values.astype(bool), fault)
    assert np.allclose(dataset["amplitude"].values, np.asarray(group["amplitude"][...]))
    code, _, err = run_cli("export", out, tmp_path / "back.sgy")
    assert code == 0, err
    assert (tmp_path / "back.sgy").read_bytes() == (segy_dir / "f3.sgy").read_bytes()


def test_predict_into_an_mdio_store_and_evaluate_it(tiny_model, f3_copy, run_cli):
    _, checkpoint = tiny_model
    code, _, err = run_cli("predict", f3_copy, "--checkpoint", checkpoint, "--var", "prediction")
    assert code == 0, err
    from mdio import open_mdio

    dataset = open_mdio(f3_copy)
    prediction = dataset["prediction"]
    assert prediction.dims == dataset["amplitude"].dims
    values = prediction.values
    assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1 and values.std() > 0
    code, out, err = run_cli("info", f3_copy)
    assert code == 0 and "prediction" in out, err


@pytest.mark.parametrize("source", ["memmap", "streamed"])
def test_training_reads_an_mdio_store_with_missing_traces(source, segy_dir, tmp_path):
    """f3-withdead: MDIO fills its missing traces with NaN; they are out of the trace mask, and
    zero in the tiles (a NaN input would make the loss NaN)."""
    import csv

    import seisfuse
    from seisfuse.io.arrays import write_variable

    store = mdio_ingest(segy_dir / "f3-withdead.sgy", tmp_path / "wd.mdio")
    group = schema.open_group(store, mode="r+")
    assert np.isnan(np.asarray(group["amplitude"][...])).any()
    shape = group["amplitude"].shape
    write_variable(group, "fault", np.broadcast_to(np.arange(shape[1])[None, :, None] % 5 == 0, shape).astype("u1"))
    cfg = {"name": "m", "runs_dir": str(tmp_path / "runs"),
           "data": {"stores": [str(store)], "label": "fault", "tile": [16, 32], "source": source,
                    "split": {"val_fraction": 0.3, "gap": 1}},
           "model": {"name": "edge_fusion_unet", "options": {"encoder_depth": 2, "decoder_channels": [8, 8]}},
           "train": {"steps": 3, "batch_size": 4, "val_every": 3, "threads": 1}}
    summary = seisfuse.train(cfg)
    rows = list(csv.DictReader(Path(summary["run_dir"], "metrics.csv").read_text().splitlines()))
    losses = [float(r[k]) for r in rows for k in ("train_loss", "val_loss") if r.get(k)]
    assert losses and np.isfinite(losses).all()


@pytest.mark.parametrize("command", ["export", "convert"])
def test_an_mdio_store_without_file_headers_is_refused_in_one_line(command, segy_dir, tmp_path, run_cli):
    bare = mdio_ingest(segy_dir / "f3.sgy", tmp_path / "bare.mdio", file_headers=False)
    out = tmp_path / ("out.sgy" if command == "export" else "out.zarr")
    code, out_text, err = run_cli(command, bare, out)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "file header" in err.lower()
    assert not out.exists()


def test_converting_a_segy_file_is_refused_with_the_way(segy_dir, tmp_path, run_cli):
    code, _, err = run_cli("convert", segy_dir / "f3.sgy", tmp_path / "out.zarr")
    assert code == 2 and "not a file" in err and "seisfuse ingest" in err
    assert not (tmp_path / "out.zarr").exists()


def test_converting_an_mdio_store_to_mdio_is_refused(f3_mdio, tmp_path, run_cli):
    code, _, err = run_cli("convert", f3_mdio, tmp_path / "again.mdio")
    assert code == 2 and "already an MDIO store" in err
    assert not (tmp_path / "again.mdio").exists()


@pytest.mark.parametrize("name, template", [("f3-withdead.sgy", "PostStack3DTime"),
                                            ("volve10-migvel-depth-sub3d.sgy", "PostStack3DDepth")])
def test_dead_traces_and_depth_surveys_export_byte_exact(name, template, segy_dir, tmp_path, run_cli, caplog):
    """Byte-exact but for what MDIO itself loses, which is said: Volve's text header holds two
    EBCDIC bytes that MDIO cannot decode (it keeps the header as text), written back as spaces."""
    store = mdio_ingest(segy_dir / name, tmp_path / "s.mdio", template=template)
    group = schema.open_group(store)
    assert group.attrs["domain"] == ("depth" if "Depth" in template else "time")
    code, _, err = run_cli("export", store, tmp_path / "back.sgy")
    assert code == 0, err
    back, source = (tmp_path / "back.sgy").read_bytes(), (segy_dir / name).read_bytes()
    assert back[3200:] == source[3200:] and len(back) == len(source)
    differ = [k for k in range(3200) if back[k] != source[k]]
    lost = [r.getMessage() for r in caplog.records if "could not decode" in r.getMessage()]
    if differ:
        assert lost and lost[0].split(": ")[1].startswith(f"{len(differ)} text-header characters")
        assert all(back[k] == 0x40 for k in differ)  # an EBCDIC space
    else:
        assert not lost


def test_without_raw_headers_the_rev1_fields_are_re_encoded(segy_dir, tmp_path, run_cli, caplog):
    """MDIO without MDIO__IMPORT__RAW_HEADERS keeps the rev-1 fields (232 bytes) only: the
    trace headers are re-encoded from them; f3's bytes past 232 are zero, so the export is
    still byte-exact, and nothing is said lost."""
    store = mdio_ingest(segy_dir / "f3.sgy", tmp_path / "noraw.mdio", raw_headers=False)
    assert "raw_headers" not in zarr_names(store)
    code, _, err = run_cli("export", store, tmp_path / "back.sgy")
    assert code == 0, err
    assert (tmp_path / "back.sgy").read_bytes() == (segy_dir / "f3.sgy").read_bytes()


def zarr_names(store: Path) -> set[str]:
    return {p.name for p in store.iterdir() if p.is_dir()}


def test_predicting_into_an_existing_variable_is_refused(tiny_model, f3_copy, run_cli):
    _, checkpoint = tiny_model
    assert run_cli("predict", f3_copy, "--checkpoint", checkpoint, "--var", "p")[0] == 0
    code, _, err = run_cli("predict", f3_copy, "--checkpoint", checkpoint, "--var", "p")
    assert code == 2 and "already exists" in err and "--overwrite" in err


def test_predicting_into_a_read_only_mdio_store_is_refused(tiny_model, f3_mdio, small_fs, run_cli):
    """On a real read-only file system (a tmpfs remounted ro): one line, the store unchanged."""
    import shutil

    _, checkpoint = tiny_model
    small_fs.resize("16m")
    store = Path(shutil.copytree(f3_mdio, small_fs.path / "f3.mdio"))
    before = sorted(p.relative_to(store) for p in store.rglob("*"))
    small_fs.read_only()
    code, _, err = run_cli("predict", store, "--checkpoint", checkpoint, "--var", "q")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "read-only" in err.lower()
    assert sorted(p.relative_to(store) for p in store.rglob("*")) == before


def test_plot_view_and_evaluate_an_mdio_store(f3_copy, tmp_path, run_cli):
    """QC figures and the viewer read an MDIO store as a store, and evaluate scores one of its
    variables against another (a label written as MDIO's own API sees it)."""
    from seisfuse.io.arrays import write_variable

    group = schema.open_group(f3_copy, mode="r+")
    shape = group["amplitude"].shape
    label = np.broadcast_to(np.arange(shape[1])[None, :, None] % 4 == 0, shape).astype("u1")
    write_variable(group, "fault", label)
    write_variable(group, "guess", np.where(label > 0, 0.9, 0.1).astype("f4"))
    inline = int(np.asarray(group["inline"][...])[3])
    code, _, err = run_cli("plot", f3_copy, "--inline", inline, "--vars", "fault", "--out", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 1000, err
    code, _, err = run_cli("view", f3_copy, "--vars", "fault", "--out", tmp_path / "v.html")
    assert code == 0 and "<html" in (tmp_path / "v.html").read_text().lower(), err
    code, out, err = run_cli("evaluate", f3_copy, "--pred", "guess", "--label", "fault", "--json", tmp_path / "e.json")
    assert code == 0, err
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["ap"] == pytest.approx(1.0) and result["pixels"] == int(np.prod(shape))
