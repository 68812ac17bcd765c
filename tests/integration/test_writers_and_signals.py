"""Two writers of one output, and SIGTERM, with real processes: the second writer is refused at
once naming the first (host, pid, since when) and the fix; writers of different variables run
side by side; a lock whose process is gone is taken over; SIGTERM stops cleanly with exit 143
and the same command resumes."""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import seisfuse
from seisfuse import locks
from seisfuse.io import schema
from tests.helpers import coordinate_values, grid_traces, write_segy

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ENV = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1"}

HOLDER = """
import sys, time
from seisfuse import locks
lock = locks.acquire(sys.argv[1], sys.argv[2] if sys.argv[2] != "-" else None, what="test")
print("held", flush=True)
time.sleep(120)
"""

# the CLI with its slow part slowed further (so that two writers overlap on any machine), and,
# with SIGNAL_AT, a SIGTERM to itself at that call: a real signal at a known point
SLOWED_CLI = """
import os, signal, sys, time
from seisfuse import cli
target, attr = os.environ["SLOW"].rsplit(".", 1)
module = __import__(target, fromlist=[attr])
real, calls = getattr(module, attr), []
def slowed(*args, **kwargs):
    calls.append(1)
    if len(calls) == int(os.environ.get("SIGNAL_AT", 0)):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(float(os.environ.get("DELAY", "0")))
    return real(*args, **kwargs)
setattr(module, attr, slowed)  # callers look it up in its module at each call
sys.exit(cli.main(sys.argv[1:]))
"""


def hold(target, var=None):
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(target), var or "-"], stdout=subprocess.PIPE,
                               text=True, env=ENV)
    assert process.stdout.readline().strip() == "held"
    return process


def slowed(args, slow: str, delay: float = 0.0, signal_at: int = 0):
    env = {**ENV, "SLOW": slow, "DELAY": str(delay), "SIGNAL_AT": str(signal_at)}
    return subprocess.Popen([sys.executable, "-c", SLOWED_CLI, *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def one_line(err: str, *fragments):
    assert err.startswith("seisfuse: error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_a_second_writer_of_a_variable_is_refused_naming_the_first(tiny_model, run_cli, tmp_path):
    store, ckpt = tiny_model
    holder = hold(store, "p")
    try:
        code, _, err = run_cli("predict", store, "--checkpoint", ckpt, "--var", "p", "--device", "cpu")
        assert code == 2
        one_line(err, "variable 'p' of s.zarr is being written by", f"pid {holder.pid} on host {socket.gethostname()}",
                 "since", "--force-unlock")
        # another variable of the same store: side by side
        assert run_cli("predict", store, "--checkpoint", ckpt, "--var", "q", "--device", "cpu")[0] == 0
        # the whole store cannot be replaced while a variable is written
        src = write_segy(tmp_path / "x.sgy", *grid_traces(4, 4), coordinate_values(*grid_traces(4, 4), 8))
        code, _, err = run_cli("ingest", src, store, "--overwrite")
        assert code == 2
        one_line(err, "store s.zarr cannot be written now", f"pid {holder.pid}", "one of its variables")
    finally:
        holder.kill()
        holder.wait()
    # its process is gone: the lock is stale and taken over
    assert run_cli("predict", store, "--checkpoint", ckpt, "--var", "p", "--device", "cpu")[0] == 0
    assert not locks.lock_path(store, "p").exists()


def test_force_unlock_takes_a_lock_whatever_it_says(tiny_model, run_cli):
    store, ckpt = tiny_model
    holder = hold(store, "forced")
    try:
        args = ("predict", store, "--checkpoint", ckpt, "--var", "forced", "--device", "cpu")
        assert run_cli(*args)[0] == 2
        assert run_cli(*args, "--force-unlock")[0] == 0
    finally:
        holder.kill()
        holder.wait()


def test_a_lock_of_another_host_goes_stale_only_when_it_stops_beating(tiny_model, run_cli):
    store, ckpt = tiny_model
    path = locks.lock_path(store, "remote")
    path.write_text(json.dumps({"host": "node-elsewhere", "pid": 4242, "since": "2026-12-01T10:00:00+00:00",
                                "command": "seisfuse predict", "token": "t"}))
    args = ("predict", store, "--checkpoint", ckpt, "--var", "remote", "--device", "cpu")
    code, _, err = run_cli(*args)
    assert code == 2
    one_line(err, "pid 4242 on host node-elsewhere, since 2026-12-01T10:00:00+00:00")
    old = time.time() - locks.STALE_AFTER - 60  # no heartbeat for longer than STALE_AFTER: gone
    os.utime(path, (old, old))
    assert run_cli(*args)[0] == 0


def test_two_predictions_of_one_variable_at_once(tiny_model):
    """A resubmitted job and its original: exactly one writes, the other is refused at once."""
    store, ckpt = tiny_model
    args = ["predict", store, "--checkpoint", ckpt, "--var", "twice", "--overwrite", "--device", "cpu", "-q"]
    runs = [slowed(args, "seisfuse.infer.store.run_block", delay=3.0) for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    one_line(refused, "variable 'twice' of s.zarr is being written by", "--force-unlock")
    assert "twice" in schema.complete_variables(schema.open_group(store))
    assert seisfuse.verify(store)["damaged"] is False


def test_two_ingests_into_one_store_at_once(tmp_path):
    il, xl = grid_traces(24, 20)
    src = write_segy(tmp_path / "s.sgy", il, xl, coordinate_values(il, xl, 30))
    args = ["ingest", src, tmp_path / "s.zarr", "--chunks", "4,4,30", "-q"]
    runs = [slowed(args, "seisfuse.io.ingest._copy_block", delay=0.2) for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    one_line(next(err for code, err in results if code == 2), "store s.zarr is being written by")
    assert schema.is_complete(tmp_path / "s.zarr")


def _config(tmp_path, store, steps=6):
    path = tmp_path / "c.yaml"
    path.write_text(f"""name: twice
runs_dir: {tmp_path / 'runs'}
data: {{stores: [{store}], label: fault, tile: [16, 32], split: {{val_fraction: 0.25, gap: 2}}}}
model: {{name: edge_fusion_unet, options: {{encoder_depth: 3, decoder_channels: [16, 8, 8]}}}}
train: {{steps: {steps}, batch_size: 2, val_every: 4, threads: 1, seed: 1}}
""")
    return path


def test_a_training_run_resumed_twice_at_once(tiny_model, tmp_path):
    store, _ = tiny_model
    args = ["train", "-c", _config(tmp_path, store), "-q"]
    runs = [slowed(args, "seisfuse.training.loop.train_step", delay=1.0) for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    assert sorted(code for code, _ in results) == [0, 2], results
    one_line(next(err for code, err in results if code == 2), "training run twice is being written by")


def test_sigterm_mid_ingest_is_143_then_the_same_command_resumes(tmp_path):
    il, xl = grid_traces(48, 40)
    src = write_segy(tmp_path / "s.sgy", il, xl, coordinate_values(il, xl, 32), fmt=1)
    args = ["ingest", src, tmp_path / "k.zarr", "--chunks", "4,4,32", "--workers", "1", "-q"]
    reference = seisfuse.open_store(seisfuse.ingest(src, tmp_path / "ref.zarr", chunks=(4, 4, 32), workers=1))
    run = slowed(args, "seisfuse.io.ingest._copy_block", signal_at=5)
    assert run.wait(timeout=300) == 143
    assert run.stderr.read().strip().splitlines() == ["seisfuse: terminated (SIGTERM); run the same command "
                                                      "again to resume"]
    assert not schema.is_complete(tmp_path / "k.zarr")
    assert not locks.lock_path(tmp_path / "k.zarr").exists()  # released on the way out
    assert subprocess.run([sys.executable, "-m", "seisfuse.cli", *map(str, args)], env=ENV).returncode == 0
    resumed = seisfuse.open_store(tmp_path / "k.zarr")
    for name in ("amplitude", "trace_headers", "trace_mask", "trace_index"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values)


def test_sigterm_mid_training_saves_the_step_and_resumes_to_the_uninterrupted_weights(tiny_model, tmp_path):
    store, _ = tiny_model
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    full = _config(tmp_path / "a", store)
    assert subprocess.run([sys.executable, "-m", "seisfuse.cli", "train", "-c", str(full), "-q"],
                          env=ENV).returncode == 0
    cut = _config(tmp_path / "b", store)
    run = slowed(["train", "-c", cut, "-q"], "seisfuse.training.loop.train_step", signal_at=3)
    assert run.wait(timeout=300) == 143
    err = run.stderr.read()
    assert "stopped at step 3; last.pt holds it" in err and err.strip().endswith("run the same command again "
                                                                                  "to resume")
    assert torch.load(tmp_path / "b" / "runs" / "twice" / "last.pt", weights_only=True)["step"] == 3
    assert subprocess.run([sys.executable, "-m", "seisfuse.cli", "train", "-c", str(cut), "-q"],
                          env=ENV).returncode == 0
    a = torch.load(tmp_path / "a" / "runs" / "twice" / "last.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "b" / "runs" / "twice" / "last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_mid_prediction_is_143_and_leaves_no_complete_variable(tiny_model):
    store, ckpt = tiny_model
    args = ["predict", store, "--checkpoint", ckpt, "--var", "termed", "--overwrite", "--device", "cpu", "-q"]
    run = slowed(args, "seisfuse.infer.store.run_block", signal_at=1)
    assert run.wait(timeout=300) == 143
    assert "termed" not in schema.complete_variables(schema.open_group(store))
    assert not locks.lock_path(store, "termed").exists()
