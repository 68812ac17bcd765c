"""Synthetic faulted surveys in the manner of FaultSeg3D (Wu et al. 2019).

Every deformation acts on one field, Z0(x, y, z): the depth each voxel had before folding
and faulting. Folding adds a depth-growing sum of Gaussian bumps plus a planar shear;
each planar fault moves its hanging wall along the dip (inverse mapping). Impedance and
facies are then read at Z0, reflectivity is the vertical derivative of log impedance in
the deformed volume, convolved with a Ricker wavelet, plus noise at the chosen SNR.
The volume is built larger than asked and the centre is cropped, away from edge effects.
NumPy/SciPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import convolve1d, map_coordinates

SAMPLE_INTERVAL_MS = 4.0


@dataclass
class SyntheticSurvey:
    amplitude: np.ndarray  # (inline, crossline, sample) float32
    fault: np.ndarray  # uint8, 1 on fault planes
    facies: np.ndarray  # uint8, layer-group index increasing with original depth
    params: dict = field(default_factory=dict)


def ricker(peak_hz: float, dt_s: float) -> np.ndarray:
    half = int(np.ceil(1.5 / peak_hz / dt_s))
    t = np.arange(-half, half + 1) * dt_s
    a = (np.pi * peak_hz * t) ** 2
    return ((1 - 2 * a) * np.exp(-a)).astype(np.float64)


def _layers(rng, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """Layer tops over 0..depth (3-12 samples thick) and their log-impedances (a random walk)."""
    bounds = [0]
    while bounds[-1] < depth:
        bounds.append(bounds[-1] + int(rng.integers(3, 12)))
    tops = np.asarray(bounds[:-1], dtype=np.float64)
    return tops, np.cumsum(rng.normal(0, 0.15, len(tops)))


def _facies_of_layer(rng, tops: np.ndarray, visible: tuple[float, float], n_facies: int) -> np.ndarray:
    """Group layers into n_facies units whose boundaries fall inside the visible depth range."""
    cuts = np.linspace(*visible, n_facies + 1)[1:-1]
    cuts = cuts + rng.uniform(-0.3, 0.3, cuts.shape) * (visible[1] - visible[0]) / n_facies
    first_layer = np.unique(np.searchsorted(tops, cuts))
    return np.searchsorted(first_layer, np.arange(len(tops)), side="right").astype(np.uint8)


def _fold(rng, shape) -> np.ndarray:
    nx, ny, nz = shape
    x, y = np.meshgrid(np.arange(nx), np.arange(ny), indexing="ij")
    bumps = np.zeros((nx, ny))
    for _ in range(4):
        cx, cy = rng.uniform(0, nx), rng.uniform(0, ny)
        sigma = rng.uniform(10, 30) * max(nx, ny) / 128
        bumps += rng.uniform(-15, 15) * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * sigma**2))
    shear = rng.uniform(-0.08, 0.08) * x + rng.uniform(-0.08, 0.08) * y
    z = np.arange(nz)
    return (z[None, None, :] + 1.5 * bumps[..., None] * z / nz + shear[..., None]).astype(np.float32)


def _fault(rng, z0: np.ndarray, label: np.ndarray, crop: tuple[slice, ...]) -> tuple[np.ndarray, np.ndarray, dict]:
    shape = z0.shape
    centre = np.array([rng.uniform(s.start, s.stop) for s in crop])
    strike = np.deg2rad(rng.uniform(0, 360))
    dip = np.deg2rad(rng.uniform(62, 82))
    throw = rng.uniform(5, 30) * (1 if rng.random() < 0.7 else -1)  # mostly normal faults
    normal = np.array([np.sin(dip) * np.cos(strike), np.sin(dip) * np.sin(strike), np.cos(dip)])
    down_dip = np.array([-np.cos(dip) * np.cos(strike), -np.cos(dip) * np.sin(strike), np.sin(dip)])
    grid = np.indices(shape, dtype=np.float32)
    rel = grid - centre[:, None, None, None].astype(np.float32)
    dist = np.tensordot(normal, rel, axes=1)  # signed distance to the plane, voxels
    along = rel - dist[None] * normal[:, None, None, None]
    sigma = rng.uniform(0.6, 1.2) * max(shape)
    slip = throw * np.exp(-np.square(along).sum(0) / (2 * sigma**2))  # Gaussian-tapered throw
    moving = (dist > 0).astype(np.float32) * slip
    source = grid - moving[None] * down_dip[:, None, None, None].astype(np.float32)
    z0 = map_coordinates(z0, source, order=1, mode="nearest").astype(np.float32)
    label = map_coordinates(label, source, order=0, mode="nearest")
    label[(np.abs(dist) < 0.5) & (np.abs(slip) > 1.0)] = 1
    return z0, label, {"strike_deg": float(np.rad2deg(strike)), "dip_deg": float(np.rad2deg(dip)),
                       "throw": float(throw)}


def memory_needed(shape) -> int:
    """Peak bytes make_survey needs: the padded volume (3.4x the output) and its float64
    intermediates; measured 460-500 bytes per output voxel at 64^3 and 128^3 (ru_maxrss)."""
    return 512 * int(np.prod([int(s) for s in shape]))


def make_survey(shape=(128, 128, 128), seed: int = 0, *, n_faults: int | None = None,
                snr: float | None = None, peak_hz: float | None = None, n_facies: int = 6) -> SyntheticSurvey:
    """A labelled faulted survey of the given (inline, crossline, sample) shape; seeded."""
    rng = np.random.default_rng(seed)
    shape = tuple(int(s) for s in shape)
    pad = tuple(max(8, s // 4) for s in shape)
    big = tuple(s + 2 * p for s, p in zip(shape, pad))
    crop = tuple(slice(p, p + s) for s, p in zip(shape, pad))
    n_faults = int(rng.integers(5, 9)) if n_faults is None else n_faults
    peak_hz = float(rng.uniform(20, 40)) if peak_hz is None else peak_hz
    snr = float(rng.uniform(2, 10)) if snr is None else snr

    z0 = _fold(rng, big)
    label = np.zeros(big, dtype=np.uint8)
    faults = []
    for _ in range(n_faults):
        z0, label, info = _fault(rng, z0, label, crop)
        faults.append(info)

    shift = float(big[2])  # the layer stack starts above the volume: Z0 may be negative
    tops, log_imp = _layers(rng, int(z0.max() + shift) + big[2])
    visible = z0[crop]
    facies_of_layer = _facies_of_layer(rng, tops, (float(visible.min()) + shift, float(visible.max()) + shift),
                                       n_facies)
    layer = np.clip(np.searchsorted(tops, z0 + shift, side="right") - 1, 0, len(tops) - 1)
    # Steps with one-sample ramps: boundaries keep their sub-sample position after deformation.
    xp = np.stack([tops - 0.5, tops + 0.5], axis=1).reshape(-1)
    fp = np.stack([np.concatenate([[log_imp[0]], log_imp[:-1]]), log_imp], axis=1).reshape(-1)
    impedance = np.interp(z0 + shift, xp, fp).astype(np.float32)
    reflectivity = np.diff(impedance, axis=2, append=impedance[..., -1:]) * 0.5
    trace = convolve1d(reflectivity, ricker(peak_hz, SAMPLE_INTERVAL_MS / 1000), axis=2, mode="nearest")
    trace = trace[crop]
    signal_rms = float(np.sqrt(np.mean(trace**2))) or 1.0
    trace = trace + rng.normal(0, signal_rms / snr, trace.shape)
    amplitude = (trace / trace.std()).astype(np.float32)
    return SyntheticSurvey(
        amplitude=amplitude, fault=label[crop].copy(), facies=facies_of_layer[layer[crop]],
        params={"seed": seed, "shape": list(shape), "n_faults": n_faults, "peak_hz": peak_hz, "snr": snr,
                "n_facies": int(facies_of_layer.max()) + 1, "faults": faults,
                "sample_interval_ms": SAMPLE_INTERVAL_MS})
