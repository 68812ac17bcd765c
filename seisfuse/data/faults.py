"""Fold and fault geometry of the synthetic surveys, as analytic inverse maps.

The forward model is: flat layers (original depth z0) -> folding (a vertical shift) ->
fault 1 -> ... -> fault K. Each step is an analytic function of position, so every output
voxel is carried back exactly: undo fault K first (its displacement is known where it
acted), then K-1, ..., then the folding. Nothing is resampled, so no depth is ever
interpolated across a fault plane (which blends unrelated layers into a ramp several
samples tall). Coordinates are voxel indices (inline, crossline, sample), sample down.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

VISIBLE_THROW = 1.0  # samples: a fault is labelled only where its local throw reaches this
TAPER_SLOPE = 4.0  # tip radii >= TAPER_SLOPE * |throw|: the hanging wall never folds over itself
LABEL_RULE = ("fault k is 1 where |distance to its plane| < 0.5 voxel, measured where fault k is undone, "
              f"and its local throw is >= {VISIBLE_THROW:g} sample")
FAULT_KEYS = ("centre", "strike_deg", "dip_deg", "throw", "radius")


@dataclass(frozen=True)
class Fault:
    """A planar fault whose hanging wall slid down (normal) or up (reverse) along the dip.

    strike_deg: azimuth of the strike from the inline axis towards the crossline axis; the plane
    dips towards strike + 90 deg. throw: vertical offset of the hanging wall at the centre,
    samples; > 0 normal, < 0 reverse. The taper is a function of position after the fault.
    radius: semi-axes (along strike, along dip; voxels) of the elliptical tip line; inside it the
    throw tapers as (1 - r^2)^2, zero at the tip; None for a throw constant over the plane.
    """

    centre: tuple[float, float, float]
    strike_deg: float
    dip_deg: float
    throw: float
    radius: tuple[float, float] | None = None

    def frame(self) -> np.ndarray:
        """Rows: along strike, down the dip, normal into the hanging wall (pointing up)."""
        strike, dip = np.deg2rad(self.strike_deg), np.deg2rad(self.dip_deg)
        azimuth = np.array([-np.sin(strike), np.cos(strike), 0.0])  # horizontal, towards which the plane dips
        down = np.array([0.0, 0.0, 1.0])
        return np.stack([np.array([np.cos(strike), np.sin(strike), 0.0]),
                         np.cos(dip) * azimuth + np.sin(dip) * down,
                         np.sin(dip) * azimuth - np.cos(dip) * down])

    def local_throw(self, along_strike: np.ndarray, along_dip: np.ndarray) -> np.ndarray:
        r2 = np.square(along_strike / self.radius[0])
        r2 += np.square(along_dip / self.radius[1])
        np.subtract(1.0, r2, out=r2)
        np.clip(r2, 0.0, None, out=r2)
        return self.throw * np.square(r2, out=r2)  # (1 - r^2)^2: smooth (C1) down to zero at the tip line

    def undo(self, points: np.ndarray, hanging: np.ndarray | None = None):
        """Move points (3, N) of the volume after this fault, in place, to where they were before it.

        The slip lies in the plane, so a point's side (and distance) is the same before and after.
        hanging forces the side (continuing a neighbour's fault block across the plane).
        Returns (signed distance to the plane, local throw (a scalar for a constant one), on the
        hanging wall)."""
        frame = self.frame()
        offset = -(frame @ np.asarray(self.centre, float))
        distance = frame[2] @ points + offset[2]
        if self.radius is None:
            throw = float(self.throw)
        else:
            throw = self.local_throw(frame[0] @ points + offset[0], frame[1] @ points + offset[1])
        if hanging is None:
            hanging = distance > 0
        slip = np.where(hanging, throw / np.sin(np.deg2rad(self.dip_deg)), 0.0)  # along the dip; vertical part = throw
        for axis in range(3):
            points[axis] -= frame[1][axis] * slip
        return distance, throw, hanging

    def to_params(self) -> dict:
        """JSON-ready; make_survey(faults=[...]) takes it back."""
        return {"centre": [float(v) for v in self.centre], "strike_deg": float(self.strike_deg),
                "dip_deg": float(self.dip_deg), "throw": float(self.throw),
                "radius": None if self.radius is None else [float(v) for v in self.radius]}


@dataclass(frozen=True)
class Fold:
    """z0 = z + planar shear + Gaussian bumps growing with depth (FaultSeg3D's folding)."""

    bumps: tuple[tuple[float, float, float, float], ...]  # (inline, crossline, sigma, amplitude in samples)
    shear: tuple[float, float]  # samples per inline, per crossline
    growth_depth: float  # samples: the bumps reach 1.5x their amplitude there

    def original_depth(self, points: np.ndarray) -> np.ndarray:
        x, y, z = points
        relief = np.zeros_like(x)
        for cx, cy, sigma, amplitude in self.bumps:
            bump = np.square(x - cx)
            bump += np.square(y - cy)
            bump *= -0.5 / sigma**2
            relief += amplitude * np.exp(bump, out=bump)
        return z + self.shear[0] * x + self.shear[1] * y + 1.5 * relief * z / self.growth_depth

    def to_params(self) -> dict:
        return {"bumps": [[float(v) for v in b] for b in self.bumps], "shear": [float(v) for v in self.shear]}


def draw_fold(rng, shape, scale: float) -> Fold:
    """Four bumps (sigma 10-30 samples at 128) and a shear; |relief slope| stays < 1 so z0 grows with z."""
    nx, ny, nz = shape
    bumps = tuple((rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(10, 30) * max(nx, ny) / 128,
                   scale * rng.uniform(-12, 12) * nz / 128) for _ in range(4))
    return Fold(bumps, (scale * rng.uniform(-0.08, 0.08), scale * rng.uniform(-0.08, 0.08)), float(nz))


def draw_fault(rng, shape, given: dict | None = None) -> Fault:
    """One fault; every value is drawn (in a fixed order, so a given one leaves the others as they
    were) and then replaced by `given`. A third have small throws (1-5 samples), 30 % are reverse;
    a quarter keep a constant throw, the rest taper to tips, about half of them inside the volume."""
    given = dict(given or {})
    unknown = set(given) - set(FAULT_KEYS)
    if unknown:
        raise ValueError(f"unknown fault setting(s) {sorted(unknown)}: choose from {list(FAULT_KEYS)}")
    nx, ny, nz = shape
    centre = (rng.uniform(-0.2, 1.2) * nx, rng.uniform(-0.2, 1.2) * ny, rng.uniform(0.2, 0.8) * nz)
    strike, dip = rng.uniform(0, 360), rng.uniform(45, 85)
    small, big, is_small, is_reverse = rng.uniform(1, 5), rng.uniform(5, 30), rng.random() < 1 / 3, rng.random() < 0.3
    shape_draw, near, far = rng.random(), rng.uniform(0.3, 0.9), rng.uniform(1.2, 2.5)
    centre = tuple(float(v) for v in given.get("centre", centre))
    dip = float(given.get("dip_deg", dip))
    throw = float(given.get("throw", (small if is_small else big) * (-1 if is_reverse else 1)))
    if "radius" in given:
        radius = None if given["radius"] is None else tuple(float(v) for v in given["radius"])
    elif shape_draw < 0.25:
        radius = None
    else:
        factor = near if shape_draw < 0.6 else far
        radius = (factor * max(nx, ny), factor * nz / np.sin(np.deg2rad(dip)))
        radius = (max(radius[0], TAPER_SLOPE * abs(throw)),
                  max(radius[1], TAPER_SLOPE * abs(throw) / np.sin(np.deg2rad(dip))))
    if not 0 < dip < 90:
        raise ValueError(f"dip_deg {dip} is not between 0 and 90")
    if radius is not None and min(radius[0], radius[1] * np.sin(np.deg2rad(dip))) < TAPER_SLOPE * abs(throw) - 1e-9:
        raise ValueError(f"fault radius {radius} is too small for throw {throw}: the hanging wall would fold over "
                         f"itself; make each radius at least {TAPER_SLOPE:g} x |throw| (along dip: / sin(dip))")
    return Fault(centre, float(given.get("strike_deg", strike)), dip, throw, radius)


def undo_all(points: np.ndarray, faults: list[Fault], fold: Fold, hanging: np.ndarray | None = None):
    """Original depth z0 of points (3, N) of the output volume (points are consumed).

    Returns (z0, hanging (K, N): the fault block, planes (K, N): labelled voxels of each fault).
    With hanging given, each fault's side is forced to it and planes is None."""
    forced = hanging is not None
    hanging = np.empty((len(faults), points.shape[1]), bool) if hanging is None else hanging
    planes = None if forced else np.empty_like(hanging)
    for k in reversed(range(len(faults))):  # the latest fault moved last, so it is undone first
        distance, throw, side = faults[k].undo(points, hanging[k] if forced else None)
        if not forced:
            hanging[k] = side
            planes[k] = (np.abs(distance) < 0.5) & (np.abs(throw) >= VISIBLE_THROW)
    # snapped to 1e-9 sample: layer tops are whole samples, and a depth carried back through
    # faults of whole-sample throw lands on them give or take a rounding (2 - 4e-16 for 2),
    # which would put the sample in the layer above on one side of a fault and not the other
    return np.round(fold.original_depth(points), 9), hanging, planes


def depth_range(shape, margin: int, faults: list[Fault], fold: Fold) -> tuple[float, float]:
    """Bounds of z0 over the output grid extended by margin (and one sample below), from the
    geometry alone, so the layer stack exists before any voxel is mapped: undoing a fault moves
    a point by at most |throw| vertically and |throw| / tan(dip) laterally."""
    nx, ny, nz = shape
    vertical = sum(abs(f.throw) for f in faults)
    lateral = sum(abs(f.throw) / np.tan(np.deg2rad(f.dip_deg)) for f in faults)
    top, bottom = -margin - vertical, nz + margin + vertical
    shift = (abs(fold.shear[0]) * (nx - 1 + lateral) + abs(fold.shear[1]) * (ny - 1 + lateral)
             + 1.5 * sum(abs(b[3]) for b in fold.bumps) * max(abs(top), abs(bottom)) / fold.growth_depth)
    return top - shift - 1, bottom + shift + 1


def compose(shape, margin: int, faults: list[Fault], fold: Fold, chunk_voxels: int = 1 << 18):
    """Map the output grid, extended by margin samples above and below, in chunks of whole traces
    (inline-major order) so that the temporaries stay one chunk's size, whatever the margin.

    Yields (traces: a slice of the flattened inline x crossline index, z0 (n, depth), z0_below
    (n, depth): the z0 one sample further down continuing the same fault block, planes (K, n, nz):
    each fault's labelled voxels on the output samples)."""
    nx, ny, nz = shape
    depth = nz + 2 * margin
    step = max(1, chunk_voxels // depth)
    samples = np.arange(-margin, nz + margin, dtype=float)
    for start in range(0, nx * ny, step):
        traces = slice(start, min(start + step, nx * ny))
        x, y = np.divmod(np.arange(traces.start, traces.stop), ny)
        n = len(x)
        points = np.empty((3, n, depth))
        points[0], points[1], points[2] = x[:, None], y[:, None], samples[None, :]
        points = points.reshape(3, -1)
        z0, hanging, planes = undo_all(points.copy(), faults, fold)
        # Where a sample and the next lie in the same block, the next one's z0 is the answer;
        # across a fault plane, continue the upper block instead: the plane then carries the
        # layers' own reflectivity, not the jump between the two walls.
        blocks = hanging.reshape(len(faults), n, depth)
        crosses = np.ones((n, depth), bool)
        crosses[:, :-1] = (blocks[..., :-1] != blocks[..., 1:]).any(axis=0)
        z0 = z0.reshape(n, depth)
        z0_below = np.empty_like(z0)
        z0_below[:, :-1] = z0[:, 1:]
        crosses = crosses.reshape(-1)
        below = points[:, crosses]
        below[2] += 1.0
        z0_below.reshape(-1)[crosses] = undo_all(below, faults, fold, hanging[:, crosses])[0]
        yield traces, z0, z0_below, planes.reshape(len(faults), n, depth)[..., margin:margin + nz]
