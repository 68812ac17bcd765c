"""The CLI end to end: synth -> ingest -> info -> export -> byte check, via `seisfuse run`."""

import filecmp
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
