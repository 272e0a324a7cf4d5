"""The tutorial pyconvx grew from (shared/seed): its worked example, its
output-size formula, and convolution vs cross-correlation."""

import subprocess
import sys

import numpy as np
import pytest

import pyconvx

X = [[1, 2, 3, 0, 0],
     [0, 1, 5, 2, 0],
     [1, 0, 2, 2, 1],
     [1, 2, 2, 2, 0],
     [1, 0, 0, 2, 0]]
K = [[1, 0, 1],
     [0, 1, 0],
     [1, 0, 1]]
EXPECTED = [[8, 9, 8],
            [8, 9, 9],
            [6, 6, 5]]


def test_worked_example():
    out = pyconvx.correlate2d(X, K, "valid")
    np.testing.assert_array_equal(out, EXPECTED, strict=False)
    assert out.dtype == np.array(X).dtype
    # Output[0, 0] by hand, as the tutorial writes it out.
    assert out[0, 0] == 1*1 + 2*0 + 3*1 + 0*0 + 1*1 + 5*0 + 1*1 + 0*0 + 2*1


def test_worked_example_output_size():
    # (input + 2*padding - filter) / stride + 1 = (5 + 0 - 3) / 1 + 1 = 3
    n = pyconvx.conv_output_size(5, 3, stride=1, padding=0)
    assert n == 3
    assert pyconvx.correlate2d(X, K, "valid").shape == (n, n)
    # Padding 1 keeps the size; 'full' pads filter-1 = 2.
    assert pyconvx.conv_output_size(5, 3, padding=1) == 5
    assert pyconvx.correlate2d(X, K, "same").shape == (5, 5)
    assert pyconvx.conv_output_size(5, 3, padding=2) == 7
    assert pyconvx.correlate2d(X, K, "full").shape == (7, 7)


def test_cnn_shapes_of_the_tutorial():
    # Conv2d(1, 5, 5) on 28x28 -> 24x24, then MaxPool2d(2) -> 12x12.
    assert pyconvx.conv_output_size(28, 5) == 24
    assert pyconvx.conv_output_size(24, 2, stride=2) == 12


@pytest.mark.parametrize("dtype", ["i4", "f4", "f8"])
def test_convolution_is_correlation_with_the_kernel_rotated(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(-9, 10, size=(6, 7)).astype(dtype)
    b = np.array([[1, 2, 0], [0, -1, 3]], dtype=dtype)     # asymmetric
    for mode in ("full", "same", "valid"):
        conv = pyconvx.convolve2d(a, b, mode)
        corr = pyconvx.correlate2d(a, b, mode)
        flipped = pyconvx.correlate2d(a, b[::-1, ::-1], mode)
        if mode != "same":      # 'same' centres even sizes differently
            np.testing.assert_array_equal(conv, flipped)
        assert not np.array_equal(conv, corr)
    # With odd kernels every mode agrees.
    b3 = np.array([[1, 2, 0], [0, -1, 3], [4, 0, 0]], dtype=dtype)
    for mode in ("full", "same", "valid"):
        np.testing.assert_array_equal(pyconvx.convolve2d(a, b3, mode),
                                      pyconvx.correlate2d(a, b3[::-1, ::-1], mode))


def test_impulse_shows_the_flip():
    # Correlating an impulse with b writes b rotated; convolving writes b.
    impulse = np.zeros((3, 3), dtype=int)
    impulse[1, 1] = 1
    b = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(pyconvx.convolve2d(impulse, b)[1:3, 1:3], b)
    np.testing.assert_array_equal(pyconvx.correlate2d(impulse, b)[1:3, 1:3],
                                  b[::-1, ::-1])


def test_demo_prints_the_worked_example():
    proc = subprocess.run([sys.executable, "-P", "-m", "pyconvx"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "  [[8 9 8]\n   [8 9 9]\n   [6 6 5]]" in proc.stdout
    assert "identical: True" in proc.stdout
    assert "convolve2d(a, b) == correlate2d(a, b[::-1, ::-1]): True" in proc.stdout


def test_cnn_pipeline_of_the_tutorial():
    # inputs = Tensor(1, 1, 28, 28); conv1 = nn.Conv2d(1, 5, 5);
    # pool = nn.MaxPool2d(2): (1, 5, 24, 24) then (1, 5, 12, 12).
    rng = np.random.default_rng(0)
    inputs = rng.standard_normal((1, 1, 28, 28)).astype(np.float32)
    weight = rng.standard_normal((5, 1, 5, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    out = pyconvx.conv2d(inputs, weight, bias)
    assert out.shape == (1, 5, 24, 24)
    out2 = pyconvx.max_pool2d(out, 2)
    assert out2.shape == (1, 5, 12, 12)
    assert pyconvx.pool2d_output_shape(out.shape, 2) == (1, 5, 12, 12)
    # Each pooled value is the max of its 2x2 block of the conv output.
    blocks = out.reshape(1, 5, 12, 2, 12, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(out2, blocks)
    # And the conv output itself is the per-channel correlation plus bias.
    for c in range(5):
        np.testing.assert_allclose(
            out[0, c], pyconvx.correlate2d(inputs[0, 0], weight[c, 0], "valid")
            + bias[c], rtol=1e-5, atol=1e-5)
