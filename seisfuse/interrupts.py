"""SIGTERM is the HPC kill (SLURM sends it at the time limit, then SIGKILL): handled as Ctrl-C.

`install()` (the command line) makes SIGTERM raise `Terminated`, a KeyboardInterrupt, so every
path that cleans up after Ctrl-C cleans up after a scheduler's kill too. `deferred()` holds
both signals back around work that must not stop half-way (a training step): the work
finishes, the caller sees `received`, saves what it can, and the signal is raised at the end.
"""

from __future__ import annotations

import contextlib
import signal
import threading

from seisfuse.errors import Terminated


def _raise_terminated(signum, frame):
    raise Terminated(f"signal {signum} (SIGTERM)")


def install() -> None:
    """SIGTERM raises Terminated in the main thread (the command line calls this)."""
    signal.signal(signal.SIGTERM, _raise_terminated)


class _Held:
    def __init__(self):
        self.received: int | None = None

    def __call__(self, signum, frame):
        self.received = self.received or signum


@contextlib.contextmanager
def deferred():
    """SIGINT and SIGTERM held back until the block ends (main thread only; elsewhere a no-op):
    yields an object whose `received` is the signal that came, then raises it as
    KeyboardInterrupt (SIGINT) or Terminated (SIGTERM) when the block is left."""
    if threading.current_thread() is not threading.main_thread():
        yield _Held()
        return
    held = _Held()
    previous = {s: signal.signal(s, held) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield held
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if held.received == signal.SIGTERM:
        raise Terminated("SIGTERM")
    if held.received == signal.SIGINT:
        raise KeyboardInterrupt
