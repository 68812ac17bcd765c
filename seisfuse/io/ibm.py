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


def ibm_to_float32(words: np.ndarray) -> np.ndarray:
    """Decode native-order uint32 IBM words to float32 (same shape)."""
    words = np.asarray(words, dtype=np.uint32)
    frac = (words & 0x00FFFFFF).astype(np.float64)
    frac *= _SCALE[(words >> 24) & 0x7F]
    with np.errstate(over="ignore"):  # overflow to +-inf is the intended result
        out = frac.astype(np.float32)
    # The sign is applied as a bit so that -0 and negative underflow keep their sign.
    out.view(np.uint32)[...] |= words & np.uint32(0x80000000)
    return out


def float32_to_ibm(values: np.ndarray) -> np.ndarray:
    """Encode float32 values as native-order uint32 IBM words (normalised, rounded to nearest).

    Values that were IBM to begin with are restored exactly; other values lose at most the
    3 low bits that base-16 normalisation shifts out. NaN has no IBM form: ValueError.
    Infinity saturates to the largest IBM magnitude.
    """
    x = np.ascontiguousarray(values, dtype=np.float32)
    if not np.isfinite(x).all() and np.isnan(x).any():
        raise ValueError("NaN cannot be written as IBM float; fill or mask NaNs first")
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
