"""Progress for long steps: a tqdm bar on a terminal, plain log lines (every ~10%) otherwise."""

from __future__ import annotations

import logging
import sys

from tqdm.auto import tqdm

log = logging.getLogger("seisfuse")


class Progress:
    """Count finished units of work; use as a context manager around the loop."""

    def __init__(self, total: int, desc: str, unit: str = "it", enabled: bool | None = None):
        self.total, self.desc, self.unit, self.done = total, desc, unit, 0
        interactive = sys.stderr.isatty() if enabled is None else enabled
        self._bar = tqdm(total=total, desc=desc, unit=unit, disable=not interactive, leave=False)
        self._log = not interactive and enabled is not False
        self._next_log = 0.1

    def update(self, n: int = 1) -> None:
        self.done += n
        self._bar.update(n)
        if self._log and self.total and self.done / self.total >= self._next_log:
            log.info("%s: %d/%d %s (%.0f%%)", self.desc, self.done, self.total, self.unit,
                     100 * self.done / self.total)
            while self._next_log <= self.done / self.total:
                self._next_log += 0.1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._bar.close()
