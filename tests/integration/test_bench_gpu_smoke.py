"""scripts/bench_gpu.py stays runnable: its --quick smoke run on the CPU writes every group of
figures (the real run needs a GPU: tests/unit/training/test_gpu.py, marked gpu)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.integration]


def test_bench_gpu_quick_on_cpu(tmp_path):
    script = Path(__file__).parents[2] / "scripts/bench_gpu.py"
    out = subprocess.run([sys.executable, str(script), "--quick", "--device", "cpu", "--out", str(tmp_path / "g.json")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "g.json").read_text())
    assert {r["model"] for r in result["training"]} == {"edge_fusion_unet", "unet"}
    assert {(r["source"], r["augment_on"]) for r in result["loader"]} == {
        (s, on) for s in ("memmap", "streamed") for on in ("loader", "device")}
    assert all(r["tiles_per_s"] > 0 and r["fed_ratio"] > 0 for r in result["loader"])
    assert 0 <= result["predict"]["outside_model_share"] <= 1 and result["predict"]["voxels_per_s"] > 0
    assert "loader / GPU" in out.stdout
