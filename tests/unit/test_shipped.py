"""The registry of shipped models (seisfuse.shipped): its search path, card checks and sha256
checks, without torch. The packaged model itself is tested end to end in
tests/integration/test_shipped_models.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seisfuse import shipped
from seisfuse.errors import SeisfuseError


def _model(folder, name="faults", weights=b"weights", **changes):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.pt").write_bytes(weights)
    card = {"format": shipped.CARD_FORMAT, "name": name, "description": "fault probability", "task": "binary",
            "input": {"dims": 2, "tile": [128, 128], "normalization": {"method": "robust_zscore"}},
            "architecture": {"summary": "a net", "parameters": 1000},
            "weights": {"file": f"{name}.pt", "bytes": len(weights), "sha256": shipped.sha256(folder / f"{name}.pt"),
                        "dtype": "float16"},
            "training": {"data": "2 synthetic surveys", "steps": 4, "batch_size": 2}, "scores": {},
            "limits": ["synthetic data only"], **changes}
    (folder / f"{name}.json").write_text(json.dumps(card))
    return folder


def test_the_environment_folders_come_first_and_the_first_name_wins(tmp_path, monkeypatch):
    first, second = _model(tmp_path / "a", weights=b"one"), _model(tmp_path / "b", weights=b"two")
    _model(tmp_path / "b", name="salt")
    monkeypatch.setenv(shipped.ENV, f"{first}:{second}")
    assert shipped.search_path() == [first, second, shipped.PACKAGE_DIR]
    assert sorted(c["name"] for c in shipped.available()) == ["faults", "salt"]
    card, weights = shipped.find("faults")
    assert weights == first / "faults.pt" and card["card_path"] == str(first / "faults.json")


def test_an_unknown_name_lists_the_known_ones(tmp_path, monkeypatch):
    monkeypatch.setenv(shipped.ENV, str(_model(tmp_path / "z")))
    with pytest.raises(SeisfuseError, match=r"no shipped model 'salt'.*choose one of: faults"):
        shipped.find("salt")


def test_weights_are_checked_against_the_card(tmp_path, monkeypatch):
    folder = _model(tmp_path / "z")
    monkeypatch.setenv(shipped.ENV, str(folder))
    (folder / "faults.pt").write_bytes(b"weightz")
    with pytest.raises(SeisfuseError, match="do not match their card") as error:
        shipped.find("faults")
    assert error.value.where == str(folder / "faults.pt") and "reinstall seisfuse" in error.value.fix
    (folder / "faults.pt").unlink()
    with pytest.raises(SeisfuseError, match="the weights of model 'faults' are missing"):
        shipped.find("faults")


@pytest.mark.parametrize("edit, message", [
    (lambda card: card.update(format="other"), "not a seisfuse model card"),
    (lambda card: card.update(name="salt"), "the card names model 'salt', its file 'faults'"),
    (lambda card: card.pop("limits"), "missing limits"),
])
def test_a_damaged_card_is_refused(tmp_path, monkeypatch, edit, message):
    folder = _model(tmp_path / "z")
    card = json.loads((folder / "faults.json").read_text())
    edit(card)
    (folder / "faults.json").write_text(json.dumps(card))
    monkeypatch.setenv(shipped.ENV, str(folder))
    with pytest.raises(SeisfuseError, match=message):
        shipped.available()


def test_listing_needs_no_torch(tmp_path):
    folder = _model(tmp_path / "z")
    code = ("import os, sys; os.environ['SEISFUSE_MODELS_DIR'] = sys.argv[1]; from seisfuse import cli; "
            "assert cli.main(['models', 'list']) == 0; assert 'torch' not in sys.modules, 'torch imported'")
    result = subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("faults: fault probability (binary") and "limit    synthetic data only" in \
        result.stdout
