"""ChunkIO: the whole-chunk path writes the files zarr writes and reads what zarr reads."""

import numpy as np
import pytest
import zarr

from seisfuse.errors import StoreError
from seisfuse.io import schema
from seisfuse.io.chunkio import ChunkIO


def _array(root, name, shape, chunks, dtype, fill=0, codecs=True):
    group = zarr.open_group(str(root), mode="a", zarr_format=3)
    if codecs:
        return group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill,
                                  compressors=schema.codec_for(dtype))
    return group.create_array(name, shape=shape, chunks=chunks, dtype=dtype, fill_value=fill, compressors=None)


def _coded(shape, dtype):
    """Values that encode their coordinates (i*10000 + j*100 + k, cast to the dtype)."""
    grids = np.indices(shape)
    weights = [10 ** (2 * (len(shape) - 1 - d)) for d in range(len(shape))]
    return sum(g * w for g, w in zip(grids, weights)).astype(dtype)


@pytest.mark.parametrize(("dtype", "fill", "codecs"), [("float32", 0, True), (">i2", 0, True), ("int64", -1, True),
                                                       ("uint8", 0, True), ("bool", False, True),
                                                       ("float32", 0, False)])
def test_fast_writes_are_the_files_zarr_writes(tmp_path, dtype, fill, codecs):
    shape, chunks = (7, 10, 13), (4, 4, 5)  # edge chunks on every axis
    values = _coded(shape, dtype) if dtype != "bool" else _coded(shape, "int64") % 3 == 0
    ours = _array(tmp_path / "a.zarr", "v", shape, chunks, dtype, fill, codecs)
    theirs = _array(tmp_path / "b.zarr", "v", shape, chunks, dtype, fill, codecs)
    io = ChunkIO(ours)
    assert io.root is not None  # the fast path applies
    io.write((slice(0, 4), slice(0, 8)), values[:4, :8])
    io.write((slice(4, 7), slice(0, 10)), values[4:])
    io.write((slice(0, 4), slice(8, 10)), values[:4, 8:])
    theirs[...] = values
    files = sorted(p.relative_to(tmp_path / "a.zarr") for p in (tmp_path / "a.zarr" / "v").rglob("*")
                   if p.is_file() and p.name != "zarr.json")
    assert len(files) == 2 * 3 * 3
    for rel in files:
        assert (tmp_path / "a.zarr" / rel).read_bytes() == (tmp_path / "b.zarr" / rel).read_bytes(), rel
    np.testing.assert_array_equal(ours[...], values)
    np.testing.assert_array_equal(io.read((slice(4, 7), slice(4, 10))), values[4:, 4:])
    assert not list((tmp_path / "a.zarr").rglob("*.tmp"))


def test_a_missing_chunk_of_a_checksummed_array_is_damage_not_the_fill_value(tmp_path):
    arr = _array(tmp_path / "a.zarr", "v", (6, 6), (3, 3), "int64", fill=-1)
    arr[0:3, 0:3] = 7  # one chunk of four written
    with pytest.raises(StoreError, match="chunk 0,1 of 'v' is missing"):
        ChunkIO(arr).read((slice(0, 6),))
    plain = _array(tmp_path / "b.zarr", "v", (6, 6), (3, 3), "int64", fill=-1, codecs=False)
    plain[0:3, 0:3] = 7  # no checksum: an older store, whose writer skipped fill-value chunks
    expected = np.full((6, 6), -1)
    expected[:3, :3] = 7
    np.testing.assert_array_equal(ChunkIO(plain).read((slice(0, 6),)), expected)


def test_a_corrupt_chunk_is_caught_by_chunkio_and_by_zarr(tmp_path):
    arr = _array(tmp_path / "a.zarr", "v", (6, 6), (3, 3), "float32")
    ChunkIO(arr).write((slice(0, 6),), np.arange(36, dtype=np.float32).reshape(6, 6))
    np.testing.assert_array_equal(arr[:], np.arange(36).reshape(6, 6))  # zarr checks the checksums ChunkIO wrote
    path = tmp_path / "a.zarr" / "v" / "c" / "1" / "0"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40  # one flipped bit
    path.write_bytes(bytes(raw))
    with pytest.raises(StoreError, match="chunk 1,0 of 'v' is corrupt"):
        ChunkIO(arr).read((slice(0, 6),))
    with pytest.raises(ValueError, match="checksum"):
        arr[:]


def test_unaligned_blocks_and_other_stores_go_through_zarr(tmp_path):
    values = _coded((6, 8, 5), "float32")
    arr = _array(tmp_path / "a.zarr", "v", values.shape, (4, 4, 5), "float32")
    io = ChunkIO(arr)
    assert io._aligned((slice(1, 4),)) is None and io._aligned((slice(0, 4), slice(2, 6))) is None
    io.write((slice(0, 6),), values)
    io.write((slice(1, 3), slice(2, 5)), values[1:3, 2:5] * 2)  # not on chunk boundaries
    expected = values.copy()
    expected[1:3, 2:5] *= 2
    np.testing.assert_array_equal(io.read((slice(1, 5), slice(1, 7))), expected[1:5, 1:7])
    memory = zarr.create_array(zarr.storage.MemoryStore(), shape=(4, 4), chunks=(2, 2), dtype="int32", fill_value=0)
    mem_io = ChunkIO(memory)
    assert mem_io.root is None
    mem_io.write((slice(0, 4),), np.arange(16, dtype=np.int32).reshape(4, 4))
    np.testing.assert_array_equal(mem_io.read((slice(0, 2),)), np.arange(8).reshape(2, 4))


def test_codecs_it_does_not_know_go_through_zarr(tmp_path):
    group = zarr.open_group(str(tmp_path / "a.zarr"), mode="w", zarr_format=3)
    arr = group.create_array("v", shape=(4, 6), chunks=(2, 3), dtype="float32", fill_value=0,
                             compressors=zarr.codecs.ZstdCodec(level=1))
    io = ChunkIO(arr)
    assert io.root is None
    values = _coded((4, 6), "float32")
    io.write((slice(0, 4),), values)
    np.testing.assert_array_equal(arr[...], values)
    np.testing.assert_array_equal(io.read((slice(2, 4),)), values[2:])


def test_a_read_only_array_is_not_written(tmp_path):
    arr = _array(tmp_path / "a.zarr", "v", (4, 4), (2, 2), "int32")
    arr[...] = 3
    frozen = zarr.open_group(str(tmp_path / "a.zarr"), mode="r")["v"]
    io = ChunkIO(frozen)
    np.testing.assert_array_equal(io.read((slice(0, 4),)), np.full((4, 4), 3))
    with pytest.raises(ValueError, match="read-only|read only"):
        io.write((slice(0, 2),), np.zeros((2, 4), np.int32))
    np.testing.assert_array_equal(arr[...], np.full((4, 4), 3))
