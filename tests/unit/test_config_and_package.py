"""Pipeline config validation and the package's import contract."""

import subprocess
import sys

import pytest

from seisfuse.config import load_pipeline
from seisfuse.errors import ConfigError


def write(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_shipped_demo_pipeline_is_valid():
    pipeline = load_pipeline("pipelines/demo.yaml")
    assert [kind for kind, _ in pipeline.parsed_steps()][:2] == ["synth", "ingest"]


def test_unknown_step_key_is_named_with_the_allowed_keys(tmp_path):
    path = write(tmp_path, "name: x\nsteps:\n  - synth: {out: a.zarr, shap: [8, 8, 8]}\n")
    with pytest.raises(ConfigError, match=r"unknown key 'steps\[0\].synth.shap' \(allowed: out, segy, shape"):
        load_pipeline(path)


def test_unknown_step_kind(tmp_path):
    path = write(tmp_path, "name: x\nsteps:\n  - bake: {}\n")
    with pytest.raises(ConfigError, match="must be one of"):
        load_pipeline(path)


def test_wrong_type(tmp_path):
    path = write(tmp_path, "name: x\nsteps:\n  - synth: {out: a.zarr, seed: many}\n")
    with pytest.raises(ConfigError, match="seed"):
        load_pipeline(path)


def test_unknown_top_level_key_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown key 'nmae'"):
        load_pipeline(write(tmp_path, "nmae: x\nsteps: []\n"))
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_pipeline(write(tmp_path, "name: [unclosed\n"))


def test_import_has_no_side_effects():
    code = ("import sys, seisfuse; heavy = {'torch', 'zarr', 'xarray', 'segmentation_models_pytorch'} "
            "& set(sys.modules); print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_listing_experiment_cells_needs_neither_torch_nor_matplotlib():
    """`seisfuse run P.yaml --list-cells` sizes job arrays; it must not wait seconds for torch."""
    code = ("import sys, seisfuse; seisfuse.cells('pipelines/ablation.yaml'); "
            "print(sorted({'torch', 'matplotlib'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_every_shipped_experiment_row_builds_its_model():
    """A typo in one ablation row would otherwise surface hours into a cluster job."""
    from pathlib import Path

    from seisfuse.config import load_config
    from seisfuse.losses import build_loss
    from seisfuse.models import build_model

    checked = 0
    for path in sorted(Path("pipelines").glob("*.yaml")):
        for kind, step in load_pipeline(path).parsed_steps():
            if kind != "experiment":
                continue
            assert step.reference is None or step.reference in step.variants, (path, step.name)
            for overrides in step.variants.values():
                cfg = load_config(step.base, [*step.common, *overrides])
                build_model(cfg.model.name, classes=cfg.data.classes, **cfg.model.options)
                build_loss(cfg.loss.terms, cfg.data.task, tile=tuple(cfg.data.tile), win_size=cfg.loss.win_size,
                           label_smoothing=cfg.loss.label_smoothing)  # e.g. MS-SSIM's minimum tile
                checked += 1
    assert checked >= 40
    for path in sorted(Path("configs").glob("*.yaml")):  # and every shipped training config
        cfg = load_config(path)
        build_model(cfg.model.name, classes=cfg.data.classes, **cfg.model.options)
