"""Synthetic faulted surveys in the manner of FaultSeg3D (Wu et al. 2019).

Reflectivity belongs to the unfaulted layers and is moved, never made after faulting:
seisfuse.data.faults carries every output voxel analytically back through the faults
(latest first) and the folding to its original depth z0 and its fault block. Reflectivity
is the difference of the layered log-impedance between the z0 of consecutive samples;
across a fault plane the upper sample's block is continued, so the plane carries ordinary
layer reflectivity and no jump between the walls (differencing after faulting made every
plane a bright reflector: fault-voxel RMS 1.40x the background). Facies come from the same
z0. The reflectivity is convolved with a varied wavelet (Ricker peak, constant phase,
optional band-pass, 2-4 ms sampling) and band-limited, laterally correlated noise is added.
Every setting is drawn from the seed, can be given by keyword and is recorded in `params`.
Everything is analytic laterally, so only the wavelet's reach is padded (above and below).
NumPy/SciPy only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import convolve1d, gaussian_filter

from seisfuse.data.faults import LABEL_RULE, compose, depth_range, draw_fault, draw_fold

SAMPLE_INTERVAL_MS = 4.0  # the default of stores; a survey's own interval is params["sample_interval_ms"]
SAMPLE_INTERVALS_MS = (2.0, 3.0, 4.0)  # drawn: FaultSeg3D plus found several rates generalise better
SETTINGS = ("n_faults", "sample_interval_ms", "peak_hz", "phase_deg", "bandpass_hz", "snr", "noise_traces", "fold")


@dataclass
class SyntheticSurvey:
    amplitude: np.ndarray  # (inline, crossline, sample) float32
    fault: np.ndarray  # uint8, 1 on fault planes where the offset is visible (faults.LABEL_RULE)
    facies: np.ndarray  # uint8, layer-group index increasing with original depth
    params: dict = field(default_factory=dict)  # JSON-ready settings, fold and faults
    reflectivity: np.ndarray | None = None  # float32, before the wavelet and the noise


def ricker(peak_hz: float, dt_s: float) -> np.ndarray:
    half = int(np.ceil(1.5 / peak_hz / dt_s))
    t = np.arange(-half, half + 1) * dt_s
    a = (np.pi * peak_hz * t) ** 2
    return ((1 - 2 * a) * np.exp(-a)).astype(np.float64)


def wavelet(peak_hz: float, dt_s: float, phase_deg: float = 0.0, band_hz=None) -> np.ndarray:
    """A Ricker of peak_hz rotated by a constant phase (180 reverses the polarity) and, with
    band_hz = (low, high), shaped by a zero-phase order-4 Butterworth band-pass. Unit peak,
    odd length, time zero in the middle, cut where 99.99 % of the energy is in."""
    reach = 2 * int(np.ceil(6.0 / peak_hz / dt_s)) + 1
    n_fft = 1 << int(np.ceil(np.log2(4 * reach)))
    f = np.fft.rfftfreq(n_fft, dt_s)
    spectrum = (f / peak_hz) ** 2 * np.exp(-((f / peak_hz) ** 2))  # the Ricker's amplitude spectrum
    if band_hz:
        low, high = band_hz
        with np.errstate(divide="ignore"):
            spectrum = spectrum / np.sqrt(1 + (low / f) ** 8) / np.sqrt(1 + (f / high) ** 8)
    w = np.roll(np.fft.irfft(spectrum * np.exp(-1j * np.deg2rad(phase_deg)), n_fft), n_fft // 2)
    centre = n_fft // 2
    energy = np.cumsum(np.square(w[centre:]) + np.square(w[centre:0:-1]))
    half = max(int(np.searchsorted(energy, 0.9999 * energy[-1])), int(np.ceil(1.0 / peak_hz / dt_s)))
    w = w[centre - half:centre + half + 1]
    edge = np.abs(np.arange(-half, half + 1)) / half
    w = w * np.where(edge > 0.75, 0.5 + 0.5 * np.cos(np.pi * (edge - 0.75) / 0.25), 1.0)  # no step at the cut
    return w / np.abs(w).max()


def _layers(rng, top: float, bottom: float) -> tuple[np.ndarray, np.ndarray]:
    """Layer tops from top to past bottom (3-12 samples thick) and their log-impedances (a random walk)."""
    bounds = [np.floor(top) - 2]
    while bounds[-1] < bottom + 2:
        bounds.append(bounds[-1] + int(rng.integers(3, 12)))
    tops = np.asarray(bounds[:-1], dtype=np.float64)
    return tops, np.cumsum(rng.normal(0, 0.15, len(tops)))


def _facies_of_layer(rng, tops: np.ndarray, visible: tuple[float, float], n_facies: int) -> np.ndarray:
    """Group layers into n_facies units whose boundaries fall inside the visible depth range."""
    cuts = np.linspace(*visible, n_facies + 1)[1:-1]
    cuts = cuts + rng.uniform(-0.3, 0.3, cuts.shape) * (visible[1] - visible[0]) / n_facies
    first_layer = np.unique(np.searchsorted(tops, cuts))
    return np.searchsorted(first_layer, np.arange(len(tops)), side="right").astype(np.uint8)


def log_impedance(tops: np.ndarray, values: np.ndarray):
    """The layered log-impedance as a function of z0: steps with one-sample ramps, so a boundary
    keeps its sub-sample position and differences over any interval add up to the step."""
    xp = np.stack([tops - 0.5, tops + 0.5], axis=1).reshape(-1)
    fp = np.stack([np.concatenate([[values[0]], values[:-1]]), values], axis=1).reshape(-1)
    return lambda z0: np.interp(z0, xp, fp)


def _settings(rng, given: dict) -> dict:
    """Every setting drawn in a fixed order (a given one leaves the others as they were), then replaced."""
    n_faults = int(rng.integers(5, 9))
    dt = float(rng.choice(SAMPLE_INTERVALS_MS))
    peak_u, phase = rng.random(), rng.uniform(-180, 180)
    band_on, low_cut, high_ratio = rng.random() < 0.5, rng.uniform(3, 8), rng.uniform(1.5, 2.5)
    snr, noise_traces, fold = rng.uniform(2, 10), rng.uniform(0.5, 2.0), rng.uniform(0.5, 1.5)
    dt = float(dt if given.get("sample_interval_ms") is None else given["sample_interval_ms"])
    # The wavelet's dominant period stays 6-16 samples at any sample interval.
    low, high = max(15.0, 1000 / (16 * dt)), min(50.0, 1000 / (6 * dt))
    s = {"n_faults": n_faults, "sample_interval_ms": dt, "peak_hz": float(low + peak_u * (high - low)),
         "phase_deg": float(phase), "snr": float(snr), "noise_traces": float(noise_traces), "fold": float(fold)}
    s.update({k: v for k, v in given.items() if v is not None and k != "bandpass_hz"})
    nyquist = 500 / s["sample_interval_ms"]
    band = given.get("bandpass_hz")
    if band is None:
        band = [float(low_cut), float(min(high_ratio * s["peak_hz"], 0.8 * nyquist))] if band_on else False
    s["bandpass_hz"] = [float(v) for v in band] if band else False
    in_range = {"sample_interval_ms": s["sample_interval_ms"] > 0, "peak_hz": 0 < s["peak_hz"] < nyquist,
                "snr": s["snr"] > 0, "noise_traces": s["noise_traces"] >= 0, "fold": s["fold"] >= 0,
                "n_faults": s["n_faults"] >= 0}
    bad = [f"{k} = {s[k]}" for k, ok in in_range.items() if not ok]
    if bad:
        raise ValueError(f"{', '.join(bad)} out of range: sample_interval_ms and snr must be > 0, peak_hz "
                         f"between 0 and the Nyquist frequency ({nyquist:g} Hz), noise_traces, fold, n_faults >= 0")
    if s["bandpass_hz"] and not 0 <= s["bandpass_hz"][0] < s["bandpass_hz"][1]:
        raise ValueError(f"bandpass_hz = {s['bandpass_hz']}: give (low, high) with 0 <= low < high, or False")
    s["n_faults"] = int(s["n_faults"])
    return s


def check_settings(shape, **settings) -> None:
    """Refuse (ValueError, TypeError) generator settings that make_survey would refuse, without
    making the survey: unknown keywords, values out of range, faults that cannot be drawn."""
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(0).spawn(5)]
    faults = list(settings.pop("faults", None) or [])
    settings.pop("n_facies", None)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise TypeError(f"unknown setting(s) {', '.join(unknown)}")
    if settings.get("n_faults") is None and faults:
        settings["n_faults"] = len(faults)
    s = _settings(streams[0], settings)
    if len(faults) > s["n_faults"]:
        raise ValueError(f"{len(faults)} faults given for n_faults = {s['n_faults']}")
    for given in faults:
        draw_fault(streams[2], tuple(int(v) for v in shape), given)


def text_header(seed: int, shape, p: dict) -> list[str]:
    """The textual header lines of a synthetic survey's store and SEG-Y files."""
    return [f"seisfuse synthetic faulted survey, seed {seed}", f"shape {tuple(shape)} (inline, crossline, sample)",
            f"{p['n_faults']} faults, Ricker {p['peak_hz']:.1f} Hz, phase {p['phase_deg']:.0f} deg, SNR {p['snr']:.1f}",
            "inline bytes 189-192, crossline 193-196, CDP X/Y 181/185 (scalar -100)",
            f"sample interval {p['sample_interval_ms']:g} ms, first sample 0 ms, TIME"]


def _rms(a: np.ndarray) -> float:
    flat = a.reshape(-1)
    return float(np.sqrt(np.einsum("i,i->", flat, flat, dtype=np.float64) / max(flat.size, 1)))


def memory_needed(shape) -> int:
    """Peak bytes make_survey needs over the interpreter's own. The full-size arrays (z0 for the
    facies, reflectivity, trace, noise, labels) take about 26 bytes per output voxel; everything
    padded by the wavelet's reach is built in chunks of 2^18 padded voxels (compose), a fixed
    40-60 MB whatever the padding. Measured with ru_maxrss in a fresh interpreter (seed 0, default
    and worst settings: 2 ms, 15 Hz with a 3-20 Hz band, i.e. a 141-sample wavelet): 36-50 MB at
    64^3, 78-82 MB at 128^3, 204-214 MB at 192^3, 85 MB with 8 faults and 105 MB with 30 at
    200 x 40 x 300; the bound below holds all of these with room to spare."""
    return 40 * int(np.prod([int(s) for s in shape])) + 72 * 2**20


def make_survey(shape=(128, 128, 128), seed: int = 0, *, n_faults: int | None = None, snr: float | None = None,
                peak_hz: float | None = None, n_facies: int = 6, sample_interval_ms: float | None = None,
                phase_deg: float | None = None, bandpass_hz=None, noise_traces: float | None = None,
                fold: float | None = None, faults: list[dict] | None = None) -> SyntheticSurvey:
    """A labelled faulted survey of the given (inline, crossline, sample) shape; seeded.

    Each keyword left None is drawn from the seed: n_faults 5-8, sample_interval_ms 2/3/4,
    peak_hz (a 6-16 sample period), phase_deg -180..180, bandpass_hz [low, high] or False
    (none), snr 2-10 (signal RMS / noise RMS), noise_traces (lateral correlation length of the
    noise, traces), fold (scale of the folding; 0 leaves the layers flat). faults: one dict per
    fault giving any of centre, strike_deg, dip_deg, throw (> 0 normal), radius ([along strike,
    along dip] or None); the rest is drawn. Settings passed back from `params` rebuild the survey.
    """
    shape = tuple(int(s) for s in shape)
    given_faults = list(faults or [])
    if n_faults is None and given_faults:
        n_faults = len(given_faults)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    s = _settings(streams[0], {"n_faults": n_faults, "sample_interval_ms": sample_interval_ms, "peak_hz": peak_hz,
                               "phase_deg": phase_deg, "bandpass_hz": bandpass_hz, "snr": snr,
                               "noise_traces": noise_traces, "fold": fold})
    if len(given_faults) > s["n_faults"]:
        raise ValueError(f"{len(given_faults)} faults given for n_faults = {s['n_faults']}")
    dt_s = s["sample_interval_ms"] / 1000
    w = wavelet(s["peak_hz"], dt_s, s["phase_deg"], s["bandpass_hz"])
    folding = draw_fold(streams[1], shape, s["fold"])
    fault_list = [draw_fault(streams[2], shape, given_faults[k] if k < len(given_faults) else None)
                  for k in range(s["n_faults"])]

    margin = len(w) // 2 + 1  # the wavelet's reach: samples beyond the output still reach into it
    tops, values = _layers(streams[3], *depth_range(shape, margin, fault_list, folding))
    impedance = log_impedance(tops, values)
    nx, ny, nz = shape
    z0 = np.empty((nx * ny, nz))
    reflectivity = np.empty((nx * ny, nz), np.float32)
    trace = np.empty((nx * ny, nz), np.float32)
    label = np.empty((nx * ny, nz), np.uint8)
    counts = np.zeros(len(fault_list), np.int64)
    inside = slice(margin, margin + nz)
    for traces, z0_ext, z0_below, planes in compose(shape, margin, fault_list, folding):
        r = (0.5 * (impedance(z0_below) - impedance(z0_ext))).astype(np.float32)  # (n, nz + 2 margin)
        trace[traces] = convolve1d(r, w.astype(np.float32), axis=1, mode="constant")[:, inside]
        reflectivity[traces], z0[traces] = r[:, inside], z0_ext[:, inside]
        label[traces] = planes.any(axis=0)
        counts += planes.sum(axis=(1, 2))
    facies_of_layer = _facies_of_layer(streams[3], tops, (float(z0.min()), float(z0.max())), n_facies)
    layer = np.searchsorted(tops, z0, side="right")
    del z0
    layer -= 1
    facies = facies_of_layer[np.clip(layer, 0, len(tops) - 1, out=layer)]
    del layer
    trace, reflectivity, label, facies = (a.reshape(shape) for a in (trace, reflectivity, label, facies))
    # Noise in the signal's band and correlated over a few traces, as residual noise in real data is.
    noise = streams[4].standard_normal(shape, dtype=np.float32)
    noise = gaussian_filter(noise, (s["noise_traces"], s["noise_traces"], 0), mode="wrap")
    noise = convolve1d(noise, w.astype(np.float32), axis=2, mode="wrap")
    noise *= np.float32(_rms(trace) / s["snr"] / (_rms(noise) or 1.0))
    trace += noise
    del noise
    trace -= np.float32(trace.mean(dtype=np.float64))
    trace /= np.float32(_rms(trace) or 1.0)
    params = {"seed": seed, "shape": list(shape), **s, "n_facies": int(facies_of_layer.max()) + 1,
              "faults": [f.to_params() for f in fault_list], "labelled_voxels": [int(c) for c in counts],
              "fold_geometry": folding.to_params(), "label_rule": LABEL_RULE,
              "fault_fraction": float(label.mean()), "wavelet_samples": len(w)}
    return SyntheticSurvey(amplitude=trace.astype(np.float32, copy=False), fault=label, facies=facies,
                           params=params, reflectivity=reflectivity)
