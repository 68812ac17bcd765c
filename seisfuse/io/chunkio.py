"""Whole-chunk reads and writes of a local Zarr v3 array, in the caller's thread.

Why by hand: ingest and export move every chunk of a survey, and zarr-python 3.1's
`Array.__setitem__`/`__getitem__` route each chunk through its asyncio event loop and a
second thread pool. Profiled on a 518 MB survey (BENCHMARKS.md), that path cost 2.5x the
Blosc compression it wraps and serialised our worker threads on the GIL, so two workers ran
no faster than one. Here each worker encodes its own chunks with the array's own codec
settings (numcodecs Blosc, which releases the GIL) and puts the bytes where zarr's chunk key
encoding says. The files are the ones zarr writes (tested byte for byte), and anything this
module does not handle (other stores, sharding, other codecs, unaligned blocks) goes through
zarr itself.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import google_crc32c
import numpy as np
import zarr
from numcodecs import Blosc
from zarr.codecs import BloscCodec, BloscShuffle, BytesCodec, Crc32cCodec
from zarr.storage import LocalStore

from seisfuse.errors import StoreError

_SHUFFLE = {BloscShuffle.noshuffle: Blosc.NOSHUFFLE, BloscShuffle.shuffle: Blosc.SHUFFLE,
            BloscShuffle.bitshuffle: Blosc.BITSHUFFLE}


def checksum(raw) -> bytes:
    """zarr's Crc32cCodec tail: crc32c of the chunk's bytes as a native uint32."""
    return np.uint32(google_crc32c.value(raw)).tobytes()


def checksum_ok(raw: bytes) -> bool:
    """Whether the chunk file's last 4 bytes are the checksum of those before them (checked on a
    numpy view: no copy of the chunk)."""
    return len(raw) >= 4 and checksum(np.frombuffer(raw, np.uint8)[:-4]) == raw[-4:]


class ChunkIO:
    """Reads and writes blocks of whole chunks of one array (the fast path), or lets zarr do it."""

    def __init__(self, array: zarr.Array, atomic: bool = True):
        """atomic: each chunk written aside and renamed (a reader never sees half a chunk). An
        array that nobody reads until its writer marks it complete (an ingest: the store's or
        the variable's completion marker comes last) is written in place, which saves a rename
        per chunk (0.2-1.5 ms here: a tenth of an ingest); a writer killed mid-chunk leaves a
        torn chunk in a block its ledger does not record, which the resume writes again."""
        self.atomic = atomic
        self.array = array.with_config({"write_empty_chunks": True})  # zarr's path writes every chunk too
        self.chunks = tuple(array.chunks)
        self.shape = tuple(array.shape)
        self.blosc, self.dtype, self.root, self.crc = self._plan(array)
        self.fill = np.asarray(array.fill_value, dtype=array.dtype)
        self.read_only = bool(array.store_path.store.read_only)
        self._dirs: set[Path] = set()  # chunk folders known to exist (shared by the worker threads)

    @staticmethod
    def _plan(array: zarr.Array):
        """(Blosc or None, on-disk dtype, array folder, crc32c?) when the fast path applies, else
        Nones. crc32c: zarr's codec, last: 4 bytes of the checksum of the bytes before them."""
        meta = array.metadata
        store = array.store_path.store
        none = None, None, None, False
        if getattr(meta, "zarr_format", None) != 3 or not isinstance(store, LocalStore):
            return none
        codecs = list(meta.codecs)
        crc = bool(codecs) and isinstance(codecs[-1], Crc32cCodec)
        if crc:
            codecs.pop()
        if not codecs or not isinstance(codecs[0], BytesCodec) or len(codecs) > 2:
            return none
        blosc = None
        if len(codecs) == 2:
            if not isinstance(codecs[1], BloscCodec):
                return none
            c = codecs[1]
            blosc = Blosc(cname=c.cname.value, clevel=c.clevel, shuffle=_SHUFFLE[c.shuffle],
                          blocksize=c.blocksize, typesize=c.typesize)
        endian = codecs[0].endian
        dtype = np.dtype(array.dtype)
        if endian is not None and dtype.itemsize > 1:
            dtype = dtype.newbyteorder("<" if endian.value == "little" else ">")
        return blosc, dtype, Path(store.root) / array.path, crc

    def _aligned(self, block: tuple[slice, ...]) -> tuple[range, ...] | None:
        """Chunk indices covered by a block of whole chunks (the last may be cut by the
        array's edge), or None when the block is not aligned to the chunk grid."""
        block = tuple(block) + tuple(slice(None) for _ in range(len(self.shape) - len(block)))
        ranges = []
        for sl, n, c in zip(block, self.shape, self.chunks):
            start, stop, step = sl.indices(n)
            if step != 1 or start % c or (stop % c and stop != n) or stop <= start:
                return None
            ranges.append(range(start // c, -(-stop // c)))
        return tuple(ranges)

    def _key_path(self, coords: tuple[int, ...]) -> Path:
        return self.root / self.array.metadata.encode_chunk_key(coords)

    def _pieces(self, ranges, block_start):
        """(chunk coords, slice into the block, slice into the chunk) for every chunk."""
        for coords in itertools.product(*ranges):
            lo = [i * c for i, c in zip(coords, self.chunks)]
            hi = [min(a + c, n) for a, c, n in zip(lo, self.chunks, self.shape)]
            in_block = tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, block_start))
            in_chunk = tuple(slice(0, b - a) for a, b in zip(lo, hi))
            yield coords, in_block, in_chunk

    @staticmethod
    def _start(block, ndim):
        return [sl.start or 0 for sl in block] + [0] * (ndim - len(block))

    def write(self, block: tuple[slice, ...], values: np.ndarray, sparse: bool = False) -> None:
        """array[block] = values, chunk by chunk in this thread when the block is aligned.
        sparse: chunks that hold only the fill value are not written (a sparse array)."""
        ranges = self._aligned(block) if self.root is not None and not self.read_only else None
        if ranges is None:
            self.array[block] = values  # zarr's path (and zarr's error for a read-only array)
            return
        values = np.asarray(values)
        full = tuple(self.chunks)
        for coords, in_block, in_chunk in self._pieces(ranges, self._start(block, len(self.shape))):
            part = values[in_block]
            if part.shape == full:
                chunk = np.ascontiguousarray(part, dtype=self.dtype)
            else:  # an edge chunk: stored padded to the full chunk shape with the fill value
                chunk = np.full(full, self.fill, dtype=self.dtype)
                chunk[in_chunk] = part
            if sparse and not np.any(chunk != self.fill):
                continue
            raw = self.blosc.encode(chunk) if self.blosc is not None else chunk.tobytes()
            # as zarr's Crc32cCodec: the checksum as a native uint32 after the bytes (written after
            # them, not appended to a copy: a chunk copy cost ~10 % of an export)
            tail = checksum(raw) if self.crc else b""
            self._put(self._key_path(coords), raw, tail)

    def read(self, block: tuple[slice, ...], sparse: bool = False) -> np.ndarray:
        """array[block], chunk by chunk in this thread when the block is aligned. sparse: a
        missing chunk is the fill value (a sparse array), not damage."""
        ranges = self._aligned(block) if self.root is not None else None
        if ranges is None:
            return self.array[block]
        start = self._start(block, len(self.shape))
        shape = [min(r.stop * c, n) - s for r, c, n, s in zip(ranges, self.chunks, self.shape, start)]
        out = np.empty(shape, dtype=self.array.dtype)
        chunk = np.empty(self.chunks, dtype=self.dtype)
        for coords, in_block, in_chunk in self._pieces(ranges, start):
            try:
                raw = self._key_path(coords).read_bytes()
            except FileNotFoundError:
                if self.crc and not sparse:  # a checksummed array has every chunk on disk: a missing one is damage
                    self._damaged(coords, "is missing")
                out[in_block] = self.fill  # an older store: never written, the fill value as zarr reads it
                continue
            if self.crc:
                if not checksum_ok(raw):
                    self._damaged(coords, "is corrupt (its crc32c checksum does not match)")
                raw = np.frombuffer(raw, np.uint8)[:-4]  # a view: no copy of the chunk
            if self.blosc is not None:
                self.blosc.decode(raw, out=chunk)
            else:
                chunk[...] = np.frombuffer(raw, dtype=self.dtype).reshape(self.chunks)
            out[in_block] = chunk[in_chunk]
        return out

    def _damaged(self, coords, what: str):
        name = self.array.path.split("/")[-1]
        raise StoreError(f"chunk {','.join(map(str, coords))} of {name!r} {what}", where=str(self.root.parent),
                         fix=f"run `seisfuse verify {self.root.parent}` to list the damage; `seisfuse ingest` "
                             "of the same source again repairs it")

    def remove_temporaries(self) -> int:
        """Delete chunk temporaries left by a writer killed mid-chunk (before a resume)."""
        if self.root is None or not self.root.is_dir():
            return 0
        stale = list(self.root.rglob(".*.tmp"))
        for path in stale:
            path.unlink(missing_ok=True)
        return len(stale)

    def _put(self, path: Path, raw, tail: bytes = b"") -> None:
        """Write one chunk file, atomically unless the array is written in place (see __init__)."""
        parent = path.parent
        if parent not in self._dirs:  # two threads may both mkdir: exist_ok makes that harmless
            parent.mkdir(parents=True, exist_ok=True)
            self._dirs.add(parent)
        if not self.atomic:
            with open(path, "wb") as f:
                f.write(raw)
                f.write(tail)
            return
        tmp = parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
        with open(tmp, "wb") as f:
            f.write(raw)
            f.write(tail)
        os.replace(tmp, path)
