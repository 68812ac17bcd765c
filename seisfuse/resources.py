"""What this machine has, checked before work starts: the device asked for, the memory and
disk a job needs, an output folder that exists or can be made. Each refusal is a
SeisfuseError naming the size or the device and the fix. And when the disk fills anyway (a
scratch quota, another job writing), `writing` turns the OSError into one line saying what
was being written, where, the room left and the room needed."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from pathlib import Path

from seisfuse.errors import DiskError, SeisfuseError, StoreError

# errno -> what it means for a write, and what to do about it
_WRITE_FAILURES = {
    errno.ENOSPC: ("the disk is full", "free some space or write elsewhere"),
    errno.EDQUOT: ("the disk quota is exceeded", "free some of your quota (or ask for more) or write elsewhere"),
    errno.EROFS: ("the file system is read-only", "write to a writable location"),
    errno.EACCES: ("permission denied", "write to a folder you may write to"),
    errno.EPERM: ("operation not permitted", "write to a folder you may write to"),
}


def human(n: float) -> str:
    """A size in binary units with the digits it needs: 512 B, 3.4 KiB, 1.2 GiB, 2.0 TiB."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"



def available_memory() -> int:
    """Bytes the kernel says can be allocated without swapping (MemAvailable)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_memory(needed: int, what: str, fix: str) -> None:
    have = available_memory()
    if needed > have:
        raise SeisfuseError(f"{what} needs about {human(needed)} of memory; this machine has {human(have)} free",
                            fix=fix)


def _existing_ancestor(path: Path) -> Path:
    path = path.absolute()
    while not path.exists():
        path = path.parent
    return path


def free_space(path) -> int:
    """Bytes free (for this user) on the file system that holds `path` or would hold it."""
    return shutil.disk_usage(_existing_ancestor(Path(path))).free


def check_disk(path, needed: int, what: str) -> None:
    where = _existing_ancestor(Path(path))
    free = shutil.disk_usage(where).free
    if needed > free:
        raise DiskError(f"{what} needs about {human(needed)} of disk; {where} has {human(free)} free",
                        where=str(path), fix="free some space or write elsewhere")


def write_failure(exc: BaseException) -> tuple[str, str] | None:
    """(what it means, the fix) when `exc` is a write failing for want of room or right."""
    return _WRITE_FAILURES.get(getattr(exc, "errno", None)) if isinstance(exc, OSError) else None


@contextlib.contextmanager
def writing(what: str, path, *, needed: int | None = None, again: str = "starts clean", cleanup=None):
    """Turn a write failing for want of room or right into one DiskError line: what was being
    written, where, the room left (and about how much is needed), and the fix. `again`: what the
    same command does afterwards ("resumes" or "starts clean"); `cleanup`: called first, to
    leave nothing that looks complete."""
    try:
        yield
    except OSError as exc:
        failure = write_failure(exc)
        if failure is None:
            raise
        if cleanup is not None:
            cleanup()
        raise disk_error(what, path, failure, exc, needed, again) from None


def disk_error(what: str, path, failure: tuple[str, str], exc: OSError | None = None, needed: int | None = None,
               again: str = "starts clean") -> DiskError:
    meaning, fix = failure
    room = f"{human(free_space(path))} free there" if exc is None or exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""
    need = f", about {human(needed)} needed" if needed and room else ""
    at = getattr(exc, "filename", None) or path
    return DiskError(f"{what} failed: {meaning} ({room}{need})" if room else f"{what} failed: {meaning}",
                     where=str(at), fix=f"{fix}, then run the same command again (it {again})")


def preallocate(fd: int, size: int) -> None:
    """Reserve `size` bytes of a file on disk now, so that a full disk is an error here and not a
    SIGBUS later (a memory map of a sparse file that cannot grow kills the process)."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # file systems without it
            raise


def output_folder(path) -> Path:
    """Make the folder that `path` (a file or store to write) goes into; refuse when it cannot be made."""
    parent = Path(path).absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SeisfuseError(f"cannot create the output folder ({exc.strerror})", where=str(parent),
                            fix="choose a writable output path") from None
    if not os.access(parent, os.W_OK):
        read_only = bool(os.statvfs(parent).f_flag & os.ST_RDONLY)
        raise DiskError("the output folder is on a read-only file system" if read_only else
                        "the output folder is not writable", where=str(parent), fix="choose a writable path")
    return parent


@contextlib.contextmanager
def replacing(out):
    """A temporary path beside `out` (same extension), put in its place when the block succeeds
    and removed when it fails: a reader never sees half a file under the final name."""
    out = Path(out)
    tmp = out.with_name(f".partial-{os.getpid()}-{out.name}")
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, out)


@contextlib.contextmanager
def partial_file(out: Path, size: int, what: str):
    """A file descriptor to `OUT.partial`, its disk space checked and taken first: renamed to
    `out` when the block succeeds, removed when it fails (a file that is there is complete)."""
    partial = out.with_name(out.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError as exc:
        if write_failure(exc):
            raise
        raise StoreError(f"cannot write the output ({exc.strerror})", where=str(out),
                         fix="choose a writable output path") from None
    try:
        check_disk(out, size, what)
        preallocate(fd, size)  # the disk space now, not half-way through
        os.ftruncate(fd, size)
        yield fd
    except BaseException:
        os.close(fd)
        partial.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(partial, out)


@contextlib.contextmanager
def staged(folder):
    """A temporary folder beside `folder` whose files are moved into it when the block succeeds
    (the files only: others already there stay), and which is removed when it fails: a set of
    files (a report) is replaced together, never left half old, half new."""
    folder = Path(folder)
    tmp = folder.with_name(f".partial-{os.getpid()}-{folder.name}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        folder.mkdir(parents=True, exist_ok=True)
        for path in sorted(tmp.rglob("*")):
            if path.is_file():
                target = folder / path.relative_to(tmp)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
