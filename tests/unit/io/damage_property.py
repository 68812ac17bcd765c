"""The damaged-file property, run by test_damaged_files.py in a child process under a memory
limit (RLIMIT_AS): real SEG-Y files of ../shared/data/segy with one kind of damage (a header
field of one trace, a few header bytes, samples, the binary header, truncation, trailing
bytes) either ingest to a store whose export is byte-identical to the damaged file, or are
refused with a one-line SeisfuseError. Never another exception, never unbounded memory
(a MemoryError fails), never a hang (the parent's timeout and a per-example deadline)."""

from __future__ import annotations

import filecmp
import os
import resource
import shutil
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import seisfuse
from seisfuse.errors import SeisfuseError
from seisfuse.io.segy_file import scan

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "segy"
FIELDS = {1: 4, 5: 4, 9: 4, 13: 4, 17: 4, 21: 4, 29: 2, 37: 4, 71: 2, 73: 4, 77: 4, 109: 2, 115: 2, 117: 2,
          181: 4, 185: 4, 189: 4, 193: 4, 215: 2}  # trace header byte -> size (the fields seisfuse reads)
BINARY = {3217: 2, 3221: 2, 3225: 2, 3255: 2, 3269: 4, 3297: 4, 3501: 1, 3502: 1, 3503: 2, 3505: 2, 3507: 4}


def corpus() -> list[Path]:
    files = sorted(p for p in CORPUS.resolve().rglob("*.sgy") if p.stat().st_size < 400_000)
    return [p for p in files if _layout(p) is not None]


def _layout(path):
    try:
        return scan(path)
    except SeisfuseError:
        return None


def _word(data: st.DataObject, size: int) -> int:
    special = [0, -1, 1, 2 ** (8 * size - 1) - 1, -(2 ** (8 * size - 1))] + ([1_700_000_000] if size == 4 else [])
    return data.draw(st.one_of(st.sampled_from(special), st.integers(-(2 ** (8 * size - 1)), 2 ** (8 * size - 1) - 1)))


def damage(raw: bytearray, path: Path, kind: str, data: st.DataObject) -> bytearray:
    layout = _layout(path)
    order = "big" if layout.byteorder == ">" else "little"
    if kind == "trace field":
        trace = data.draw(st.integers(0, layout.n_traces - 1))
        byte = data.draw(st.sampled_from(sorted(FIELDS)))
        at = layout.data_offset + trace * layout.trace_size + byte - 1
        raw[at:at + FIELDS[byte]] = _word(data, FIELDS[byte]).to_bytes(FIELDS[byte], order, signed=True)
    elif kind == "binary field":
        byte = data.draw(st.sampled_from(sorted(BINARY)))
        raw[byte - 1:byte - 1 + BINARY[byte]] = _word(data, BINARY[byte]).to_bytes(BINARY[byte], order, signed=True)
    elif kind == "header bytes":
        trace = data.draw(st.integers(0, layout.n_traces - 1))
        for offset in data.draw(st.lists(st.integers(0, 239), min_size=1, max_size=6)):
            raw[layout.data_offset + trace * layout.trace_size + offset] = data.draw(st.integers(0, 255))
    elif kind == "samples":
        for at in data.draw(st.lists(st.integers(layout.data_offset, len(raw) - 1), min_size=1, max_size=20)):
            if (at - layout.data_offset) % layout.trace_size >= 240:
                raw[at] = data.draw(st.integers(0, 255))
    elif kind == "truncated":
        raw = raw[:data.draw(st.integers(0, len(raw) - 1))]
    else:  # trailing bytes
        raw += bytes(data.draw(st.lists(st.integers(0, 255), min_size=1, max_size=600)))
    return raw


KINDS = ("trace field", "binary field", "header bytes", "samples", "truncated", "trailing bytes")


def check(files: list[Path], examples: int, workdir: Path):
    @seed(20261202)
    @settings(max_examples=examples, deadline=timedelta(seconds=30), database=None, derandomize=False,
              suppress_health_check=list(HealthCheck), print_blob=True)
    @given(path=st.sampled_from(files), kind=st.sampled_from(KINDS), data=st.data())
    def ingest_or_refuse(path, kind, data):
        case = Path(tempfile.mkdtemp(dir=workdir))
        try:
            src = case / "damaged.sgy"
            src.write_bytes(damage(bytearray(path.read_bytes()), path, kind, data))
            try:
                seisfuse.ingest(src, case / "s.zarr")
            except SeisfuseError as exc:
                assert "\n" not in str(exc), f"a refusal of more than one line: {exc}"
                return
            seisfuse.export(case / "s.zarr", case / "out.sgy")
            assert filecmp.cmp(src, case / "out.sgy", shallow=False), f"{path.name} ({kind}): export differs"
        finally:
            shutil.rmtree(case, ignore_errors=True)

    ingest_or_refuse()


def main() -> None:
    limit, examples = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # a MemoryError fails the property
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    with tempfile.TemporaryDirectory() as workdir:
        check(corpus(), examples, Path(workdir))
    print("property held")


if __name__ == "__main__":
    main()
