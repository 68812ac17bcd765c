"""Is a store whole? Every chunk of a complete variable exists (a listing, no read) and, on a
deep check, its crc32c checksum (zarr's own codec) matches its bytes.

seisfuse writes every chunk of every variable (stores of schema 2 and later), so a missing
chunk is damage, never "the fill value": zarr would read it as zeros. Damage is reported by
variable, chunk index and the lines it covers, with the fix.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import zarr
from zarr.codecs import Crc32cCodec

from seisfuse.errors import StoreError
from seisfuse.io import mdio, schema
from seisfuse.io.chunkio import checksum_ok
from seisfuse.progress import Progress


@dataclass(frozen=True)
class Damage:
    var: str
    chunk: tuple[int, ...]
    kind: str  # "missing" or "corrupt"
    lines: str  # e.g. "inlines 1064..1127"

    def __str__(self) -> str:
        return f"{self.var}: chunk {','.join(map(str, self.chunk))} ({self.lines}) is {self.kind}"


def checked_arrays(group: zarr.Group) -> list[str]:
    """The arrays that must be whole: the survey's own and every complete variable."""
    complete = set(schema.complete_variables(group))
    return [name for name, _ in group.arrays() if not name.startswith("_")
            and (name in schema.RESERVED or name in complete)]


def _lines(group: zarr.Group, array: zarr.Array):
    """chunk -> the range of the first dim it covers, in the survey's line numbers (the line
    coordinate read once per array, not once per damaged chunk)."""
    dims = array.metadata.dimension_names or ()
    if not dims:
        return lambda chunk: "whole array"
    dim, c, n = dims[0], array.chunks[0], array.shape[0]
    has_axis = dim in group and dim != array.path.split("/")[-1] and group[dim].shape == (n,)
    axis = group[dim][:] if has_axis else None

    def lines(chunk: tuple[int, ...]) -> str:
        lo, hi = chunk[0] * c, min((chunk[0] + 1) * c, n) - 1
        return f"{dim}s {axis[lo]}..{axis[hi]}" if axis is not None else f"{dim} indices {lo}..{hi}"

    return lines


def expected_chunks(array: zarr.Array) -> set[tuple[int, ...]]:
    """Every chunk of the grid; of a sparse array, the chunks recorded at its completion."""
    if array.attrs.get("sparse"):
        return {tuple(c) for c in array.attrs.get(schema.SPARSE_CHUNKS, [])}
    return set(np.ndindex(*schema.chunk_grid(array)))


def applies(group: zarr.Group) -> bool:
    """Stores of schema 1 wrote chunks through zarr, which skips chunks of the fill value."""
    return int(group.attrs.get("schema_version", 1)) >= 2


def missing(group: zarr.Group, names: list[str] | None = None) -> list[Damage]:
    if not applies(group):
        return []
    out = []
    for name in names if names is not None else checked_arrays(group):
        array = group[name]
        lines = _lines(group, array)
        for chunk in sorted(expected_chunks(array) - schema.present_chunks(array)):
            out.append(Damage(name, chunk, "missing", lines(chunk)))
    return out


def corrupt(group: zarr.Group, names: list[str] | None = None) -> list[Damage]:
    """Every present chunk's checksum checked (arrays without crc32c are skipped)."""
    out = []
    names = names if names is not None else checked_arrays(group)
    present = {n: sorted(schema.present_chunks(group[n])) for n in names}  # one listing per array
    root = Path(group.store.root)
    with Progress(sum(map(len, present.values())), "verify checksums", unit="chunk") as bar:
        for name in names:
            array, lines = group[name], _lines(group, group[name])
            checked = any(isinstance(c, Crc32cCodec) for c in array.metadata.codecs)
            for chunk in present[name]:
                path = root / array.path / array.metadata.encode_chunk_key(chunk)
                if checked and not checksum_ok(path.read_bytes()):
                    out.append(Damage(name, chunk, "corrupt", lines(chunk)))
                bar.update()
    return out


def fix_for(store) -> str:
    return (f"run `seisfuse verify {store}` for the full list; `seisfuse ingest` of the same source into it "
            "again repairs the amplitude and its labels (re-copying only the damaged blocks), `seisfuse predict "
            "... --overwrite` a prediction")


def require_intact(group: zarr.Group, names: list[str] | None = None) -> None:
    """Refuse a damaged store (a listing, not a read): the first missing chunk named, and the count."""
    found = missing(group, names)
    if found:
        raise StoreError(f"the store is damaged: {found[0]}" + (f" ({len(found)} chunks missing)"
                                                                 if len(found) > 1 else ""),
                         where=schema.where(group), fix=fix_for(schema.where(group)))


def _verify_mdio(store: mdio.MdioStore, path, deep: bool) -> dict:
    """What can be verified of an MDIO store: every array's metadata reads and, with deep, every
    chunk present decodes (MDIO writes no checksums, and no chunk of only the fill value)."""
    names = [name for name, _ in store.arrays()]
    present = {name: sorted(schema.present_chunks(store[name])) for name in names}
    n_chunks, damage = sum(map(len, present.values())), []
    with Progress(n_chunks if deep else 0, "verify chunks (decoding)", unit="chunk") as bar:
        for name in names if deep else ():
            array = store[name]
            for chunk in present[name]:
                box = tuple(slice(i * c, min((i + 1) * c, n)) for i, c, n in zip(chunk, array.chunks, array.shape))
                try:
                    array[box]
                except Exception as exc:  # noqa: BLE001 - zarr and its codecs raise several types for a bad chunk
                    damage.append(f"{name}: chunk {','.join(map(str, chunk))} does not decode ({type(exc).__name__})")
                bar.update()
    return {"store": str(path), "complete": True, "deep": deep, "checksums": False, "mdio": True,
            "arrays": len(names), "chunks": n_chunks, "damage": damage, "damaged": bool(damage),
            "fix": "re-create it from its SEG-Y with MDIO (segy_to_mdio)"}


def verify(path, deep: bool = False) -> dict:
    """Every chunk of every checked array present and, with deep, its checksum. A store found
    whole is stamped (schema.VERIFIED) when it is writable. Of an MDIO store, what can be checked
    (_verify_mdio)."""
    group = schema.open_group(path, require_complete=False)
    if isinstance(group, mdio.MdioStore):
        return _verify_mdio(group, path, deep)
    names = checked_arrays(group)
    found = missing(group, names) + (corrupt(group, names) if deep else [])
    report = {"store": str(path), "complete": bool(group.attrs.get(schema.COMPLETE, False)), "deep": deep,
              "checksums": applies(group), "arrays": len(names),
              "chunks": sum(len(expected_chunks(group[n])) for n in names),
              "damage": [str(d) for d in found], "damaged": bool(found), "fix": fix_for(path)}
    if not found and report["complete"]:
        with contextlib.suppress(OSError, PermissionError):
            schema.open_group(path, mode="r+").attrs[schema.VERIFIED] = {
                "at": datetime.now(UTC).isoformat(timespec="seconds"), "deep": deep}
    return report


@contextlib.contextmanager
def reading(store, var: str):
    """A checksum mismatch found by zarr while reading `var` becomes the store's clear error."""
    try:
        yield
    except ValueError as exc:
        if "checksum" not in str(exc):
            raise
        raise StoreError(f"a chunk of {var!r} is corrupt (its crc32c checksum does not match)", where=str(store),
                         fix=f"run `seisfuse verify {store} --deep` to list the damaged chunks; re-ingest to repair")\
            from None
