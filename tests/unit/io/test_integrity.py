"""A damaged store is never read as complete: a missing or corrupt chunk is found (a listing,
or the crc32c checksums), named with its variable, chunk and lines, refused by every reader,
and repaired by running the same ingest again."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import numpy as np
import pytest

import seisfuse
from seisfuse.errors import StoreError


@pytest.fixture
def store(segy_dir, tmp_path, run_cli):
    """f3.sgy (23 x 18 traces) in chunks of 8 x 8 x 32: 3 x 3 x 3 amplitude chunks."""
    path = tmp_path / "f3.zarr"
    code, _, err = run_cli("ingest", segy_dir / "f3.sgy", path, "--chunks", "8,8,32")
    assert code == 0, err
    return path


def chunk_file(store: Path, var: str, *index: int) -> Path:
    return store.joinpath(var, "c", *map(str, index))


def test_a_deleted_amplitude_chunk_is_refused_everywhere_and_repaired_by_ingest(store, segy_dir, tmp_path,
                                                                                  run_cli, caplog):
    inlines = seisfuse.open_store(store).inline.values
    chunk_file(store, "amplitude", 1, 0, 2).unlink()
    expected = f"amplitude: chunk 1,0,2 (inlines {inlines[8]}..{inlines[15]}) is missing"
    assert expected in seisfuse.info(store)["integrity"] and "DAMAGED" in seisfuse.info(store)["integrity"]
    code, out, err = run_cli("verify", store)
    assert code == 2 and expected in out and "1 of 27" not in err and "missing or corrupt" in err
    code, _, err = run_cli("export", store, tmp_path / "out.sgy")
    assert code == 2 and "damaged" in err and "chunk 1,0,2" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("out.sgy*")), "a refused export leaves no file"
    code, _, err = run_cli("predict", store, "--checkpoint", tmp_path / "none.pt")
    assert code == 2 and "chunk 1,0,2" in err  # refused before the checkpoint is even read
    with pytest.raises(StoreError, match="chunk 1,0,2"):
        seisfuse.open_store(store)
    code, _, err = run_cli("ingest", segy_dir / "f3.sgy", store, "--chunks", "8,8,32")  # the same command
    assert code == 0, err
    assert "1 chunk(s) missing or corrupt" in caplog.text and "re-copying 1 of" in caplog.text
    assert run_cli("verify", store, "--deep")[0] == 0
    assert seisfuse.info(store)["integrity"].startswith("verified with checksums")
    assert run_cli("export", store, tmp_path / "again.sgy")[0] == 0
    assert filecmp.cmp(segy_dir / "f3.sgy", tmp_path / "again.sgy", shallow=False)


def test_a_deleted_header_chunk_is_damage_too(store, segy_dir, tmp_path, run_cli):
    chunk_file(store, "trace_headers", 2, 1, 0).unlink()
    code, _, err = run_cli("export", store, tmp_path / "out.sgy")
    assert code == 2 and "trace_headers: chunk 2,1,0" in err
    assert run_cli("ingest", segy_dir / "f3.sgy", store, "--chunks", "8,8,32")[0] == 0
    assert run_cli("export", store, tmp_path / "out.sgy")[0] == 0
    assert filecmp.cmp(segy_dir / "f3.sgy", tmp_path / "out.sgy", shallow=False)


def test_a_corrupt_chunk_is_found_by_its_checksum(store, segy_dir, tmp_path, run_cli):
    path = chunk_file(store, "amplitude", 0, 1, 1)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 3] ^= 0x01  # one bit
    path.write_bytes(bytes(raw))
    assert run_cli("verify", store)[0] == 0  # every chunk is there: only the checksums can tell
    code, out, err = run_cli("verify", store, "--deep")
    assert code == 2 and "amplitude: chunk 0,1,1" in out and "is corrupt" in out
    code, _, err = run_cli("export", store, tmp_path / "out.sgy")
    assert code == 2 and "chunk 0,1,1 of 'amplitude' is corrupt" in err
    with pytest.raises(ValueError, match="checksum"):  # xarray's lazy reads: zarr's own error, never zeros
        _ = seisfuse.open_store(store).amplitude.values
    assert run_cli("ingest", segy_dir / "f3.sgy", store, "--chunks", "8,8,32")[0] == 0
    assert run_cli("export", store, tmp_path / "out.sgy")[0] == 0
    assert filecmp.cmp(segy_dir / "f3.sgy", tmp_path / "out.sgy", shallow=False)


def test_an_intact_store_is_not_ingested_again(store, segy_dir, run_cli):
    code, _, err = run_cli("ingest", segy_dir / "f3.sgy", store, "--chunks", "8,8,32")
    assert code == 2 and "a complete store already exists" in err


def test_a_damaged_label_is_refused_by_evaluate_and_training(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    assert run_cli("synth", store, "--shape", "32,32,32")[0] == 0
    chunk_file(store, "fault", 0, 0, 0).unlink()
    code, _, err = run_cli("evaluate", store, "--pred", "facies", "--label", "fault")
    assert code == 2 and "fault: chunk 0,0,0" in err
    cfg = {"name": "t", "runs_dir": str(tmp_path / "runs"), "data": {"stores": [str(store)], "tile": [32, 32]},
           "train": {"steps": 1}}
    with pytest.raises(StoreError, match="fault: chunk 0,0,0"):
        seisfuse.train(cfg)


def test_the_inventory_is_recorded_at_completion(store):
    attrs = json.loads((store / "zarr.json").read_text())["attributes"]
    assert attrs["chunk_inventory"]["amplitude"] == 27 and attrs["chunk_inventory"]["trace_headers"] == 9
    meta = json.loads((store / "amplitude" / "zarr.json").read_text())
    assert [c["name"] for c in meta["codecs"]] == ["bytes", "blosc", "crc32c"]
    assert np.prod([-(-n // c) for n, c in zip(meta["shape"], meta["chunk_grid"]["configuration"]["chunk_shape"])]) \
        == 27


def test_a_corrupt_chunk_met_while_reading_is_a_clear_error(tmp_path, run_cli):
    store = tmp_path / "s.zarr"
    assert run_cli("synth", store, "--shape", "32,32,32")[0] == 0
    path = chunk_file(store, "facies", 0, 0, 0)
    raw = bytearray(path.read_bytes())
    raw[10] ^= 0x08
    path.write_bytes(bytes(raw))
    code, _, err = run_cli("evaluate", store, "--pred", "fault", "--label", "facies")
    assert code == 2 and "a chunk of 'fault or facies' is corrupt" in err and "verify" in err
