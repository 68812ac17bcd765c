"""A real small file system for the full-disk tests: a tmpfs of a few MB mounted in the test's
folder (as root, as CI runs), which can be grown or made read-only while mounted."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest


class SmallFS:
    def __init__(self, path: Path, size: str):
        self.path = path
        self._mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))

    def _mount(self, *args):
        subprocess.run(["mount", *args], check=True, capture_output=True)

    def resize(self, size: str) -> None:
        self._mount("-o", f"remount,size={size}", str(self.path))

    def read_only(self) -> None:
        self._mount("-o", "remount,ro", str(self.path))

    def fill(self, leave: int) -> Path:
        """A file taking all the free space but `leave` bytes."""
        free = os.statvfs(self.path).f_bavail * os.statvfs(self.path).f_frsize
        filler = self.path / "filler"
        filler.write_bytes(b"\0" * max(0, free - leave))
        return filler

    def unmount(self) -> None:
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MB tmpfs (resize it as a test needs). Where the tests run as root (CI does), mounting
    must work: a failure there fails the test; elsewhere they are skipped and say why."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root); the injected-ENOSPC tests still run")
    path = tmp_path / "fs"
    path.mkdir()
    fs = SmallFS(path, "1m")
    yield fs
    fs.unmount()
