"""IBM float: exact decoding (against a Fraction reference) and byte-restoring encoding."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seisfuse.io.ibm import IBM_MAX, float32_to_ibm, ibm_to_float32


def reference(word: int) -> np.float32:
    """(-1)^s * f / 2^24 * 16^(e - 64), computed exactly, rounded once to float32."""
    sign = -1 if word >> 31 else 1
    exponent = (word >> 24) & 0x7F
    fraction = word & 0xFFFFFF
    exact = Fraction(fraction, 1 << 24) * Fraction(16) ** (exponent - 64)
    value = np.float64(float(exact))  # exact: at most 24 significant bits, within float64 range
    with np.errstate(over="ignore"):
        out = np.float32(value) if value else np.float32(0.0)
    return np.float32(-out) if sign < 0 else out


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_decode_matches_exact_reference_on_any_bit_pattern(word):
    got = ibm_to_float32(np.array([word], dtype=np.uint32))[0]
    want = reference(word)
    assert got.tobytes() == want.tobytes(), f"{word:#010x}: {got!r} != {want!r}"


@pytest.mark.parametrize("word, value", [
    (0x41100000, 1.0),  # normalised 1.0
    (0x42010000, 1.0),  # unnormalised 1.0: the common reader returns 8.5 here
    (0x43001000, 1.0),  # more unnormalised
    (0xC276A000, -118.625),  # the textbook example
    (0x00000000, 0.0),
    (0x7FFFFFFF, np.inf),  # 16^63 * (1 - 2^-24) overflows float32
    (0x00100000, 0.0),  # 16^-65: underflows below float32's smallest subnormal
])
def test_known_words(word, value):
    with np.errstate(over="ignore"):
        assert ibm_to_float32(np.array([word], np.uint32))[0] == np.float32(value)


def test_negative_zero_keeps_its_sign_both_ways():
    decoded = ibm_to_float32(np.array([0x80000000], np.uint32))
    assert decoded[0] == 0 and np.signbit(decoded[0])
    assert float32_to_ibm(decoded)[0] == 0x80000000


def test_subnormal_result_is_correctly_rounded():
    word = 0x22800000  # 0.5 * 16^(34-64) = 2^-121: a float32 subnormal, exact
    assert ibm_to_float32(np.array([word], np.uint32))[0] == np.float32(2.0**-121)


@settings(max_examples=3000, deadline=None)
@given(st.integers(min_value=0x22, max_value=0x60), st.integers(min_value=0x100000, max_value=0xFFFFFF),
       st.booleans())
def test_encode_restores_the_bytes_of_normalised_words(exponent, fraction, negative):
    """Every normalised IBM word whose value is a normal float32 survives decode -> encode."""
    word = (int(negative) << 31) | (exponent << 24) | fraction
    decoded = ibm_to_float32(np.array([word], np.uint32))
    assert float32_to_ibm(decoded)[0] == word


@settings(max_examples=2000, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_encode_of_arbitrary_float32_loses_at_most_three_bits(x):
    back = ibm_to_float32(float32_to_ibm(np.array([x], np.float32)))[0]
    if x == 0:
        assert back == 0
    else:
        assert abs(float(back) - x) <= abs(x) * 2.0**-20


def test_encode_saturates_infinity_and_rejects_nan():
    words = float32_to_ibm(np.array([np.inf, -np.inf], np.float32))
    assert words[0] == IBM_MAX and words[1] == IBM_MAX | 0x80000000
    with pytest.raises(ValueError, match="NaN"):
        float32_to_ibm(np.array([1.0, np.nan], np.float32))


def test_vectorised_shape_is_kept():
    words = np.arange(24, dtype=np.uint32).reshape(2, 3, 4) | 0x41000000
    assert ibm_to_float32(words).shape == (2, 3, 4)


def test_fast_path_equals_exact_path_on_large_strided_big_endian_input():
    """Many pieces, rows wider and narrower than a piece, zero fractions, every exponent."""
    from seisfuse.io.ibm import _decode_exact

    rng = np.random.default_rng(7)
    words = rng.integers(0, 2**32, size=(3000, 75), dtype=np.uint64).astype(np.uint32)
    words[::7, ::3] &= 0xFF000000  # zero fractions with any exponent and sign
    traces = np.zeros(3000, dtype=[("header", "u1", 240), ("samples", ">u4", 75)])
    traces["samples"] = words
    got = ibm_to_float32(traces["samples"])
    assert got.view(np.uint32).tolist() == _decode_exact(words).view(np.uint32).tolist()
    wide = words.reshape(3, -1)  # rows longer than a piece
    np.testing.assert_array_equal(ibm_to_float32(wide).view(np.uint32), _decode_exact(wide).view(np.uint32))


def test_fast_encode_equals_general_encode_on_any_float32():
    from seisfuse.io.ibm import _encode_exact

    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**32, size=200_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    values = values[~np.isnan(values)]
    values[::97] = 0.0
    values[1::97] = -0.0
    values[2::97] = np.inf
    values[3::97] = 1e-40  # subnormal
    np.testing.assert_array_equal(float32_to_ibm(values), _encode_exact(values))


def test_encode_rounding_carry_renormalises_at_every_exponent():
    from seisfuse.io.ibm import _encode_exact

    biased = np.arange(1, 255, dtype=np.uint32)
    # all-ones mantissas round up out of the fraction when bits are shifted out; 0x7FFFFC..E too
    bits = np.concatenate([(biased << 23) | m for m in (0x7FFFFF, 0x7FFFFE, 0x7FFFFC, 0x400000, 0)])
    values = np.concatenate([bits, bits | 0x80000000]).view(np.float32)
    words = float32_to_ibm(values)
    np.testing.assert_array_equal(words, _encode_exact(values))
    carried = values[(words & 0x00FFFFFF) == 0x00100000]
    assert carried.size > 0  # the renormalised case does occur


def test_encode_into_strided_big_endian_trace_records():
    rng = np.random.default_rng(5)
    values = (rng.standard_normal((700, 300)) * 1e3).astype(np.float32)
    values[::5, ::7] = 0.0
    traces = np.zeros(700, dtype=[("header", "u1", 240), ("samples", "u1", 300 * 4)])
    target = traces["samples"].view(">u4")
    assert float32_to_ibm(values, out=target) is target
    np.testing.assert_array_equal(target.astype(np.uint32), float32_to_ibm(values))
    assert not traces["header"].any()  # the neighbouring header bytes are untouched
    np.testing.assert_array_equal(ibm_to_float32(target), ibm_to_float32(float32_to_ibm(values)))
    with pytest.raises(ValueError, match="shape"):
        float32_to_ibm(values, out=np.empty((700, 299), np.uint32))
