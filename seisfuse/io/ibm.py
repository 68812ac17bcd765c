"""Exact, vectorised IBM System/360 float32 <-> IEEE float32 conversion.

Written by hand because the common reader decodes unnormalised IBM words wrongly (an
unnormalised 1.0, 0x42010000, comes back as 8.5) and because ingest speed depends on it.

IBM word: sign bit, 7-bit base-16 exponent biased by 64, 24-bit fraction with no hidden
bit: value = (-1)^s * (f / 2^24) * 16^(e - 64). Every such value is exact in float64, so
decoding multiplies the integer fraction by an exact power of two in float64 and rounds
once to float32: correct rounding for values beyond float32's exponent range (overflow
to +-inf, underflow to subnormals or signed zero).
"""

from __future__ import annotations

import numpy as np

# 2^(4 * (e - 64) - 24) for every exponent e: exact powers of two in float64.
_SCALE = np.ldexp(1.0, 4 * (np.arange(128) - 64) - 24)

IBM_MAX = 0x7FFFFFFF  # largest finite IBM magnitude: 0x7F exponent, all-ones fraction


class NaNError(ValueError):
    """NaN has no IBM float form."""


_SIGN = np.uint32(0x80000000)
_FRACTION = np.uint32(0x00FFFFFF)
PIECE = 1 << 16  # words per step: the temporaries stay in the CPU cache (7x faster than whole-array)


def _decode_exact(words: np.ndarray) -> np.ndarray:
    """The reference path: integer fraction times an exact power of two in float64, one rounding."""
    frac = (words & _FRACTION).astype(np.float64)
    frac *= _SCALE[(words >> 24) & 0x7F]
    with np.errstate(over="ignore"):  # overflow to +-inf is the intended result
        out = frac.astype(np.float32)
    # The sign is applied as a bit so that -0 and negative underflow keep their sign.
    out.view(np.uint32)[...] |= words & _SIGN
    return out


_LEADING = np.uint32(0x00100000)  # a fraction below this has a leading hex digit of 0: unnormalised


def _decode_piece(words: np.ndarray, out: np.ndarray, exponent: np.ndarray, scratch: np.ndarray,
                  candidates: np.ndarray | None = None) -> np.ndarray | None:
    """Fast path: the 24-bit fraction converts to float32 exactly; multiplying by 16^(e-64) * 2^-24
    is then an integer add to the float's exponent field. Results outside float32's normal range,
    and zero fractions, go through the exact path."""
    bits = out.view(np.uint32)
    np.bitwise_and(words, _FRACTION, out=scratch)
    zero = scratch == 0
    unnormalised = scratch < _LEADING if candidates is not None else None  # zero fractions included
    out[...] = scratch  # uint32 -> float32: exact below 2^24
    np.right_shift(words, 24, out=exponent)
    np.bitwise_and(exponent, 0x7F, out=exponent)
    shift = exponent.view(np.int32)
    shift *= 4
    shift -= 64 * 4 + 24  # the power of two to add: 4 * (e - 64) - 24
    np.right_shift(bits, 23, out=scratch)
    biased = scratch.view(np.int32)
    biased += shift
    slow = (biased < 1) | (biased > 254) | zero
    np.left_shift(exponent, 23, out=exponent)
    bits += exponent
    if slow.any():
        bits[slow] = _decode_exact(words[slow] & ~_SIGN).view(np.uint32)
    np.bitwise_and(words, _SIGN, out=scratch)
    bits |= scratch
    if candidates is not None:  # words that may not re-encode to themselves: the caller checks these
        unnormalised |= slow
        return np.flatnonzero(unnormalised) if unnormalised.any() else None
    return None


def ibm_to_float32(words: np.ndarray, out: np.ndarray | None = None, candidates: list | None = None) -> np.ndarray:
    """Decode IBM words (uint32 of either byte order, any shape, strided is fine) to float32.

    candidates: a list that receives the flat indices of the words that may not re-encode to
    themselves (unnormalised fractions, zero fractions, results outside float32's normal
    range): found in the same cache-sized pieces as the decoding, so almost free."""
    words = np.asarray(words)
    out = np.empty(words.shape, dtype=np.float32) if out is None else out
    if words.size == 0:
        return out
    rows = words.reshape(-1, words.shape[-1]) if words.ndim > 1 else words.reshape(1, -1)
    flat = out.reshape(-1)
    width = rows.shape[1]
    exponent, scratch = np.empty(PIECE + width, np.uint32), np.empty(PIECE + width, np.uint32)
    step = max(1, PIECE // width)
    for start in range(0, rows.shape[0], step):
        piece = rows[start:start + step].astype(np.uint32).reshape(-1)  # byte swap + gather, per piece
        n = piece.size
        found = _decode_piece(piece, flat[start * width:start * width + n], exponent[:n], scratch[:n],
                              candidates=candidates)
        if found is not None and found.size:
            candidates.append(found + start * width)
    return out


def float32_to_ibm(values: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Encode float32 values as IBM words (normalised, rounded to nearest, ties away from zero).

    Values that were IBM to begin with are restored exactly; other values lose at most the
    3 low bits that base-16 normalisation shifts out. NaN has no IBM form: NaNError (a ValueError).
    Infinity saturates to the largest IBM magnitude. `out` (uint32 of either byte order, at
    most 2D, strided is fine: e.g. the sample field of SEG-Y trace records) receives the words
    without an intermediate array; by default they come back as native-order uint32.
    """
    x = np.asarray(values, dtype=np.float32)
    with np.errstate(invalid="ignore", over="ignore"):  # a sum is a cheap all-finite check
        all_finite = np.isfinite(x.sum(dtype=np.float64))
    if not all_finite and np.isnan(x).any():
        raise NaNError("NaN cannot be written as IBM float; fill or mask NaNs first")
    if out is None:
        out = np.empty(x.shape, dtype=np.uint32)
    elif out.shape != x.shape or out.ndim > 2:
        raise ValueError(f"out has shape {out.shape}, expected {x.shape} (at most 2D)")
    if x.size == 0:
        return out
    rows = x.reshape(-1, x.shape[-1]) if x.ndim > 1 else x.reshape(1, -1)
    dest = out if out.ndim == 2 else out.reshape(1, -1)
    words, biased, frac, half = (np.empty(PIECE, np.uint32) for _ in range(4))
    for piece in _pieces(rows.shape):
        src = np.ascontiguousarray(rows[piece]).reshape(-1)
        n, target = src.size, dest[piece]
        direct = target.flags.c_contiguous and target.dtype == np.uint32  # native order, in place
        _encode_piece(src, target.reshape(-1) if direct else words[:n], biased[:n], frac[:n], half[:n])
        if not direct:
            target[...] = words[:n].reshape(target.shape)  # byte swap on the way, if any
    return out


def _pieces(shape: tuple[int, int]):
    """Index pairs covering a (rows, width) array in pieces of at most PIECE values: whole
    rows when they fit, else parts of one row."""
    n_rows, width = shape
    if width > PIECE:
        for r in range(n_rows):
            for c in range(0, width, PIECE):
                yield slice(r, r + 1), slice(c, c + PIECE)
    else:
        step = PIECE // width
        for r in range(0, n_rows, step):
            yield slice(r, r + step), slice(None)


def _encode_piece(x: np.ndarray, words: np.ndarray, biased: np.ndarray, frac: np.ndarray,
                  half: np.ndarray) -> None:
    """Normal float32 values by in-place integer operations on their bits (the temporaries
    stay in the CPU cache); zeros, subnormals and infinities through the exact path.

    A normal float is mant * 2^(p - 24) with p = biased - 126; the IBM exponent is
    E = ceil(p / 4), so (4E - p) = (126 - biased) mod 4 low bits are shifted out, and the
    exponent field E + 64 = (biased + 133) >> 2. Float32's range lies inside IBM's, so a
    normal float never overflows or underflows here.
    """
    bits = x.view(np.uint32)
    np.right_shift(bits, 23, out=biased)
    biased &= 0xFF
    np.bitwise_and(bits, 0x007FFFFF, out=frac)
    frac |= 0x00800000
    shift = np.subtract(np.uint32(2), biased, out=words)  # words doubles as scratch until below
    shift &= 3
    np.left_shift(np.uint32(1), shift, out=half)
    half >>= 1
    frac += half
    frac >>= shift  # rounded to nearest: 2^24 when the rounding carried out of the fraction
    np.add(biased, 133, out=words)
    words >>= 2
    words <<= 24
    words += frac  # a carry moves the exponent up by one...
    frac >>= 24
    frac <<= 20
    words |= frac  # ...and sets the renormalised fraction 2^20
    np.bitwise_and(bits, _SIGN, out=frac)
    words |= frac
    if biased.min() == 0 or biased.max() == 255:
        special = (biased == 0) | (biased == 255)
        words[special] = _encode_exact(x[special])


def _encode_exact(x: np.ndarray) -> np.ndarray:
    bits = x.view(np.uint32)
    sign = bits & np.uint32(0x80000000)
    biased = ((bits >> 23) & 0xFF).astype(np.int32)
    mant = (bits & 0x007FFFFF).astype(np.int64)
    normal = biased > 0
    mant[normal] |= 0x00800000
    # value = mant * 2^(p - 24), with mant in [2^23, 2^24) for normal numbers.
    p = np.where(normal, biased - 126, -125)
    # Subnormals: shift the mantissa up to full 24 bits first.
    sub = (~normal) & (mant != 0)
    if sub.any():
        lead = np.floor(np.log2(mant[sub])).astype(np.int32)  # position of highest set bit
        shift_up = 23 - lead
        mant[sub] <<= shift_up
        p[sub] -= shift_up
    # IBM exponent E with value = frac/2^24 * 16^E and frac in [2^20, 2^24).
    E = -((-p) // 4)  # ceil(p / 4)
    shift = 4 * E - p  # 0..3 bits shifted out
    half = np.where(shift > 0, 1 << np.maximum(shift - 1, 0), 0)
    frac = (mant + half) >> shift
    carry = frac >= (1 << 24)  # rounding overflowed the fraction: renormalise
    frac = np.where(carry, frac >> 4, frac)
    E = E + carry
    ibm_exp = E + 64
    zero = mant == 0
    over = (ibm_exp > 127) | np.isinf(x)
    under = (ibm_exp < 0) & ~zero
    words = (ibm_exp.astype(np.int64) << 24) | frac
    words = np.where(zero | under, 0, words)
    words = np.where(over, IBM_MAX, words)
    return (words.astype(np.uint32) | sign).reshape(x.shape)
