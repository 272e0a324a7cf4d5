"""Every input scipy.signal rejects is rejected the same way: same exception
type, same message (pinned here with match=, and compared with scipy's)."""

import re
import warnings

import numpy as np
import pytest

import pyconvx
from _helpers import FUNCTIONS, assert_same_outcome, outcome, scipy_call

A = np.ones((4, 4))
K = np.ones((2, 2))

# (args, kwargs, exception, message regex); {name} is the function name.
CASES = {
    "1-d in1": ((np.ones(4), K), {}, ValueError,
                r"^{name} inputs must both be 2-D arrays$"),
    "3-d in2": ((A, np.ones((2, 2, 2))), {}, ValueError,
                r"^{name} inputs must both be 2-D arrays$"),
    "scalar": ((3.0, K), {}, ValueError,
               r"^{name} inputs must both be 2-D arrays$"),
    "None": ((None, K), {}, ValueError,
             r"^{name} inputs must both be 2-D arrays$"),
    "bad mode": ((A, K, "bogus"), {}, ValueError,
                 r"^Acceptable mode flags are 'valid', 'same', or 'full'\.$"),
    "mode None": ((A, K, None), {}, ValueError,
                  r"^Acceptable mode flags are 'valid', 'same', or 'full'\.$"),
    "unhashable mode": ((A, K, ["full"]), {}, TypeError,
                        r"^unhashable type: 'list'$"),
    "bad boundary": ((A, K, "full", "nearest"), {}, ValueError,
                     r"^Acceptable boundary flags are 'fill', 'circular' "
                     r"\(or 'wrap'\), and 'symmetric' \(or 'symm'\)\.$"),
    "reflect boundary": ((A, K, "full", "reflect"), {}, ValueError,
                         r"^Incorrect boundary value\.$"),
    "valid, neither larger": ((np.ones((2, 3)), np.ones((3, 2)), "valid"), {},
                              ValueError,
                              r"^For 'valid' mode, one must be at least as "
                              r"large as the other in every dimension$"),
    "valid, empty vs kernel": ((np.ones((0, 5)), K, "valid"), {}, ValueError,
                               r"^For 'valid' mode, one must be at least as "
                               r"large as the other in every dimension$"),
    "fillvalue list": ((A, K), {"fillvalue": [1, 2]}, ValueError,
                       r"^`fillvalue` must be scalar or an array with one "
                       r"element\.$"),
    "fillvalue empty": ((A, K), {"fillvalue": []}, ValueError,
                        r"^`fillvalue` cannot be an empty array\.$"),
    "fillvalue string": ((A, K), {"fillvalue": "x"}, ValueError,
                         r"^complex\(\) arg is a malformed string$"),
    "empty by empty": ((np.ones((0, 0)), np.ones((0, 0))), {}, ValueError,
                       r"^negative dimensions are not allowed$"),
    "bool": ((A.astype(bool), K.astype(bool)), {}, ValueError,
             r"^convolve2d not available for this type\.$"),
    "float16 both": ((A.astype(np.float16), K.astype(np.float16)), {},
                     ValueError, r"^convolve2d not available for this type\.$"),
    "object": ((A.astype(object), K), {}, ValueError,
               r"^convolve2d not available for this type\.$"),
    "ragged list": (([[1, 2], [3]], K), {}, ValueError,
                    r"setting an array element with a sequence"),
}


def _expand(name, case):
    args, kwargs, exc, pattern = CASES[case]
    return args, kwargs, exc, pattern.format(name=name)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_error_message(name, case):
    args, kwargs, exc, pattern = _expand(name, case)
    with pytest.raises(exc, match=pattern):
        getattr(pyconvx, name)(*args, **kwargs)


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("name", FUNCTIONS)
def test_error_matches_scipy(name, case):
    args, kwargs, _, _ = _expand(name, case)
    assert_same_outcome(outcome(getattr(pyconvx, name), *args, **kwargs),
                        outcome(scipy_call, name, *args, **kwargs))


@pytest.mark.parametrize("other", [A, np.array([["a", "b"], ["c", "d"]])])
def test_non_numeric_input(other):
    # correlate2d conjugates in2 first, which numpy refuses for strings and
    # times; convolve2d goes on to scipy's conversions and type check.
    for bad in (np.array([["a", "b"], ["c", "d"]]), A.astype("m8[s]")):
        for name in FUNCTIONS:
            for args in ((other, bad), (bad, other), (bad, bad)):
                assert_same_outcome(outcome(getattr(pyconvx, name), *args),
                                    outcome(scipy_call, name, *args))
    with pytest.raises(TypeError, match=r"^cannot conjugate non-numeric dtype$"):
        pyconvx.correlate2d(A, A.astype("m8[s]"))
    with pytest.raises(ValueError, match=r"^convolve2d not available for this type\.$"):
        pyconvx.convolve2d(A.astype("m8[s]"), A.astype("m8[s]"))
    with pytest.raises(ValueError, match=r"^data type must provide an itemsize$"):
        pyconvx.convolve2d(A, np.array([["a", "b"], ["c", "d"]]))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("fill,dtype", [(1j, "f8"), (1j, "i4"), (np.nan, "i4"),
                                        (complex(2, 1), "f4")])
def test_fillvalue_not_castable(name, fill, dtype):
    a = np.ones((3, 3), dtype=dtype)
    pattern = (r"^could not cast `fillvalue` directly to the output type "
               r"\(it was first converted to complex\)\.$")
    with warnings.catch_warnings():
        # NumPy warns about discarding the imaginary part (or the NaN cast)
        # on the way to scipy's error, as it does for scipy.
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=pattern):
            getattr(pyconvx, name)(a, a, fillvalue=fill)
        assert_same_outcome(outcome(getattr(pyconvx, name), a, a, fillvalue=fill),
                            outcome(scipy_call, name, a, a, fillvalue=fill))


def test_complex_fill_warns_like_scipy():
    a = np.ones((3, 3))
    with pytest.warns(np.exceptions.ComplexWarning):
        with pytest.raises(ValueError, match="could not cast `fillvalue`"):
            pyconvx.correlate2d(a, a, fillvalue=1j)


@pytest.mark.parametrize("fill,dtype", [(np.complex128(2 + 1j), "f4"),
                                        (np.float64(1.5), "i8"), (1.7, "u1"),
                                        (-1, "u1"), (np.float32(2.5), "i2")])
def test_fillvalue_cast_like_scipy(fill, dtype):
    # NumPy scalars and Python floats are cast (truncated, imaginary part
    # dropped with a ComplexWarning) rather than refused.
    a = np.ones((3, 3), dtype=dtype)
    for name in FUNCTIONS:
        with warnings.catch_warnings(record=True) as ours_w:
            warnings.simplefilter("always")
            ours = outcome(getattr(pyconvx, name), a, a, fillvalue=fill)
        with warnings.catch_warnings(record=True) as theirs_w:
            warnings.simplefilter("always")
            theirs = outcome(scipy_call, name, a, a, fillvalue=fill)
        assert_same_outcome(ours, theirs)
        assert [w.category for w in ours_w] == [w.category for w in theirs_w]


def test_fillvalue_ignored_for_wrap_and_symm():
    # scipy never looks at fillvalue unless boundary is 'fill'.
    a = np.arange(12.0).reshape(3, 4)
    for boundary in ("wrap", "symm"):
        np.testing.assert_array_equal(
            pyconvx.correlate2d(a, K, boundary=boundary, fillvalue=[1, 2, 3]),
            scipy_call("correlate2d", a, K, boundary=boundary,
                       fillvalue=[1, 2, 3]))


def test_memory_error_for_impossible_output():
    # A broadcast view costs nothing; its 'full' output cannot exist.
    big = np.broadcast_to(np.float64(1.0), (2**20, 2**20))
    with pytest.raises(MemoryError, match=re.escape("Unable to allocate")):
        pyconvx.correlate2d(np.ones((1, 1)), big)
