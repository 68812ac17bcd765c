"""Writer locks: one writer per store variable (and per store, per training run) at a time.

A lock is a small file beside what it guards, created with O_CREAT|O_EXCL: atomic on local
disks and on the shared file systems of HPC clusters (NFS, Lustre, GPFS), unlike flock/fcntl
locks, which some of them keep per node or not at all. It holds who has it (host, pid, since
when, the command), so a refusal can name the other writer. Written by hand because the
maintained lock libraries do not fit: filelock's FileLock is an flock (per node on Lustre
without `-o flock`), and its SoftFileLock records no holder and never goes stale.

A holder touches its lock every HEARTBEAT seconds. A lock is stale, and taken over, when its
process is gone on this host, or when it was not touched for STALE_AFTER seconds (a holder
killed on another node). `force=True` (--force-unlock) takes it whatever it says.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from seisfuse.errors import DiskError, LockError

HEARTBEAT = 60.0  # seconds between touches of a held lock
STALE_AFTER = 600.0  # seconds without a touch after which a holder on another host is taken to be gone


def lock_path(target, name: str | None = None) -> Path:
    """The lock file of `target` (a store, a run directory, a file), or of its variable `name`:
    beside it, so that replacing the target (--overwrite) never removes a lock in use."""
    target = Path(target).absolute()
    target = target.parent.resolve() / target.name
    return target.parent / (f".{target.name}.lock" + (f"-{name}" if name else ""))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def holder(path: Path) -> dict | None:
    """Who holds the lock file (its JSON), {} when unreadable, None when there is none."""
    try:
        text = path.read_text()
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = {}
    return {**record, "age": age} if isinstance(record, dict) else {"age": age}


def stale(record: dict) -> bool:
    """The holder is gone: its process is not running on this host, or its lock has not been
    touched for STALE_AFTER seconds (on any host)."""
    if record.get("age", 0) > STALE_AFTER:
        return True
    if record.get("host") == socket.gethostname() and isinstance(record.get("pid"), int):
        return not _alive(record["pid"])
    return not record  # an empty or unreadable lock left by a writer killed while writing it


def describe(record: dict) -> str:
    if not record.get("host"):
        return "an unknown writer"
    command = record.get("command") or "seisfuse"
    return f"{command} (pid {record['pid']} on host {record['host']}, since {record['since']})"


class Lock:
    """A held lock: `release()` (or leave the `with` block) removes it, if it is still ours."""

    def __init__(self, path: Path, record: dict):
        self.path, self.record = path, record
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, name=f"lock {path.name}", daemon=True)
        self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT):
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        self._stop.set()
        current = holder(self.path)
        if current is not None and current.get("token") == self.record["token"]:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()


def _create(path: Path, record: dict) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    except OSError as exc:  # a folder where nothing can be written (a read-only mount, /proc)
        raise DiskError(f"cannot write here ({exc.strerror}): not even the writer's lock file", where=str(path.parent),
                        fix="choose a writable output path") from None
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    return True


def _take_over(path: Path, seen: dict) -> None:
    """Move a stale lock aside, unless it changed since it was judged (another writer took it)."""
    aside = path.with_name(f"{path.name}.stale-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    moved = holder(aside) or {}
    if moved.get("token") != seen.get("token"):  # not the one judged stale: put it back
        with contextlib.suppress(OSError):
            os.link(aside, path)
    aside.unlink(missing_ok=True)


def acquire(target, name: str | None = None, *, what: str, force: bool = False) -> Lock:
    """Take the lock of `target` (and variable `name`) or refuse at once, naming the writer
    that holds it. what: the thing guarded, for the message ("variable 'p' of s.zarr")."""
    path = lock_path(target, name)
    record = {"host": socket.gethostname(), "pid": os.getpid(),
              "since": datetime.now(UTC).isoformat(timespec="seconds"),
              "command": " ".join(["seisfuse", *sys.argv[1:]])[:300] if sys.argv else "seisfuse",
              "token": uuid.uuid4().hex}
    if not path.parent.is_dir():
        raise LockError("the folder of the output does not exist", where=str(path.parent),
                        fix="create it, or choose another path")
    for _ in range(3):
        if _create(path, record):
            return Lock(path, record)
        current = holder(path)
        if current is None:
            continue  # released in between
        if force or stale(current):
            _take_over(path, current)
            continue
        raise LockError(f"{what} is being written by {describe(current)}", where=str(target),
                        fix=f"wait for it to finish; if no such process runs any more, remove the lock with "
                            f"--force-unlock (the lock file is {path})")
    raise LockError(f"{what}: could not take the lock {path} (other writers keep taking it)", where=str(target),
                    fix="run one writer at a time")


def variable_writer(target) -> dict | None:
    """The record of a live lock on any variable of `target`, or None: a writer that replaces a
    whole store checks that nobody writes any of its variables."""
    base = lock_path(target)
    for path in sorted(base.parent.glob(f"{base.name}-*")):
        if ".stale-" not in path.name and (current := holder(path)) is not None and not stale(current):
            return current
    return None


def store_writer(target) -> dict | None:
    """The record of a live lock on the whole of `target` (an ingest or synth replacing it)."""
    current = holder(lock_path(target))
    return current if current is not None and not stale(current) else None


@contextlib.contextmanager
def guard(target, var: str | None = None, *, force: bool = False, what: str | None = None):
    """Hold the lock of a whole store (var None: an ingest, synth or convert that makes or replaces
    it) or of one of its variables, for the block. A whole-store writer is refused while a
    variable is being written, and a variable writer while the whole store is being made."""
    name = Path(target).name
    what = what or (f"variable {var!r} of {name}" if var else f"store {name}")
    with acquire(target, var, what=what, force=force) as held:
        other = None if force else (variable_writer(target) if var is None else store_writer(target))
        if other is not None:
            raise LockError(f"{what} cannot be written now: {describe(other)} is writing "
                            f"{'one of its variables' if var is None else 'the whole store'}", where=str(target),
                            fix="wait for it to finish (or, if it no longer runs, --force-unlock)")
        yield held
