"""Image/mask pairs -> an image-stack store: one image per inline, its columns as traces and
its rows as samples (top first). A stack is a collection, not a survey: the store records it
(`collection: images`, each image's name and size), so that training never cuts across
images and splits by image. Narrower images are padded with missing traces (left out of
the statistics, the loss and the metrics); all images of a stack have the same height.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from seisfuse.errors import SeisfuseError
from seisfuse.io.arrays import store_from_array

IMAGE_SUFFIXES = (".png", ".tif", ".tiff")
MASK_DIRS = ("masks", "mask", "labels", "label", "annotations")
MASK_SUFFIX = "_mask"


def _key(path: Path) -> str:
    stem = path.stem
    return stem[: -len(MASK_SUFFIX)] if stem.endswith(MASK_SUFFIX) else stem


def find_pairs(src: str | Path) -> list[tuple[str, Path, Path]]:
    """(name, image, mask) for every pair under `src`, matched by name: `images/` + `masks/`
    with equal names, or a `_mask` suffix (`inline_130.tiff` + `inline_130_mask.png`).
    An image without a mask, a mask without an image, or two files of one name are errors."""
    src = Path(src)
    if not src.is_dir():
        raise SeisfuseError("no such folder", where=str(src), fix="give the folder that holds the images and masks")
    files = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    masks, images = {}, {}
    for path in files:
        is_mask = path.stem.endswith(MASK_SUFFIX) or path.parent.name.lower() in MASK_DIRS
        side = masks if is_mask else images
        key = _key(path)
        if key in side:
            raise SeisfuseError(f"two {'masks' if is_mask else 'images'} named {key!r}: {side[key]} and {path}",
                                where=str(src), fix="keep one file per name")
        side[key] = path
    if not images:
        raise SeisfuseError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found", where=str(src),
                            fix="give a folder with images/ and masks/, or <name>.tiff beside <name>_mask.png")
    alone = sorted(set(images) ^ set(masks))
    if alone:
        which = images.get(alone[0]) or masks.get(alone[0])
        raise SeisfuseError(f"{len(alone)} file(s) without a partner, e.g. {which}", where=str(src),
                            fix="every image needs a mask of the same name (images/ + masks/, or a _mask suffix)")
    return [(key, images[key], masks[key]) for key in sorted(images)]


def read_image(path: Path) -> np.ndarray:
    """A single-channel image as float32 (rows, columns): grey stored as RGB is read once; a
    colour image is refused."""
    with Image.open(path) as im:
        a = np.asarray(im)
    if a.ndim == 3:
        if a.shape[2] == 4:
            a = a[..., :3]
        if not (np.array_equal(a[..., 0], a[..., 1]) and np.array_equal(a[..., 0], a[..., 2])):
            raise SeisfuseError("a colour image: seisfuse takes single-channel amplitudes", where=str(path),
                                fix="convert it to grey, or give the amplitudes as a float TIFF")
        a = a[..., 0]
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.number):
        raise SeisfuseError(f"cannot read an image of shape {a.shape}, dtype {a.dtype}", where=str(path),
                            fix="give a 2D grey PNG or TIFF (8/16-bit or float)")
    return a.astype(np.float32)


def read_mask(path: Path, binary: bool | None = None) -> tuple[np.ndarray, str]:
    """A mask as uint8 classes and how its values were read. Two values {0, v} with v = 255
    or 65535 (an 8/16-bit binary mask) or `binary=True` (any non-zero) read as 0/1; otherwise
    the stored values are the classes (whole numbers 0..255)."""
    with Image.open(path) as im:
        m = np.asarray(im)
    if m.ndim == 3:
        m = m[..., 0]
    values = np.unique(m)
    if binary or (binary is None and len(values) == 2 and values[0] == 0 and values[1] in (255, 65535)):
        return (m != 0).astype(np.uint8), f"values {values.tolist()[:4]} read as 0/1 (non-zero = 1)"
    if np.issubdtype(m.dtype, np.floating) and not np.all(m == np.round(m)):
        raise SeisfuseError("a mask with fractional values", where=str(path), fix="give masks of class numbers")
    if values.min() < 0 or values.max() > 255:
        raise SeisfuseError(f"mask values {values.min()}..{values.max()} are not classes 0..255", where=str(path),
                            fix="give masks of class numbers 0..255 (or 0/255, 0/65535 binary masks)")
    return m.astype(np.uint8), f"classes {values.tolist()}"


def write_image_stack(pairs: list[tuple[str, np.ndarray, np.ndarray]], out: str | Path, *, label: str = "label",
                      overwrite: bool = False, attrs: dict | None = None) -> dict:
    """One store from (name, image, mask) arrays of (rows, columns); returns what was written."""
    if not pairs:
        raise SeisfuseError("no images to write", where=str(out))
    heights = {name: img.shape[0] for name, img, _ in pairs}
    if len(set(heights.values())) > 1:
        raise SeisfuseError(f"the images have different heights ({sorted(set(heights.values()))} rows): a stack "
                            "needs one sample axis", where=str(out), fix="crop or pad them to one height first")
    for name, img, mask in pairs:
        if img.shape != mask.shape:
            raise SeisfuseError(f"image {name!r} is {img.shape[0]} x {img.shape[1]} but its mask is "
                                f"{mask.shape[0]} x {mask.shape[1]}", where=str(out),
                                fix="give masks of the image's size")
    rows, width = pairs[0][1].shape[0], max(img.shape[1] for _, img, _ in pairs)
    amplitude = np.zeros((len(pairs), width, rows), np.float32)
    labels = np.zeros_like(amplitude, dtype=np.uint8)
    live = np.zeros((len(pairs), width), bool)
    for k, (_, img, mask) in enumerate(pairs):
        amplitude[k, : img.shape[1]] = img.T  # (rows, columns) -> (columns as traces, rows as samples)
        labels[k, : img.shape[1]] = mask.T
        live[k, : img.shape[1]] = True
    record = {"collection": "images", "image_names": [n for n, _, _ in pairs],
              "image_shapes": [list(img.shape) for _, img, _ in pairs], "sample_axis": "image rows (top first)"}
    store_from_array(amplitude, out, labels={label: labels}, trace_mask=live, overwrite=overwrite,
                     domain="depth", sample_interval=1.0, chunks=(1, 1024, 1024), attrs={**record, **(attrs or {})})
    classes = np.unique(labels[live]).tolist()
    return {"store": str(out), "images": len(pairs), "shape": list(amplitude.shape), "padded_traces":
            int((~live).sum()), "classes": classes}
