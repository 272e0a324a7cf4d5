"""``python -m pyconvx``: the tutorial's worked example, by pyconvx and by scipy."""

import textwrap

import numpy as np

import pyconvx


def _show(title, array):
    print(title)
    print(textwrap.indent(str(np.asarray(array)), "  "), end="\n\n")


def main():
    # The 5x5 input and 3x3 filter of the tutorial (stride 1, no padding).
    x = np.array([[1, 2, 3, 0, 0],
                  [0, 1, 5, 2, 0],
                  [1, 0, 2, 2, 1],
                  [1, 2, 2, 2, 0],
                  [1, 0, 0, 2, 0]])
    k = np.array([[1, 0, 1],
                  [0, 1, 0],
                  [1, 0, 1]])
    n = pyconvx.conv_output_size(5, 3)
    print(f"pyconvx {pyconvx.__version__}: the tutorial's 5x5 input, 3x3 filter")
    print(f"output size = (5 + 2*0 - 3) / 1 + 1 = {n}\n")
    _show("input:", x)
    _show("filter:", k)
    ours = pyconvx.correlate2d(x, k, mode="valid")
    _show("pyconvx.correlate2d(x, k, 'valid'):", ours)
    try:
        from scipy import signal
    except ImportError:
        print("scipy.signal.correlate2d: scipy is not installed "
              "(pip install scipy to compare)")
    else:
        theirs = signal.correlate2d(x, k, mode="valid")
        _show("scipy.signal.correlate2d(x, k, 'valid'):", theirs)
        print("identical:", np.array_equal(ours, theirs)
              and ours.dtype == theirs.dtype)
    print()

    # Convolution flips the kernel; cross-correlation does not.
    a = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0]])
    b = np.array([[1, 2], [3, 4]])
    _show("asymmetric kernel b:", b)
    _show("correlate2d(a, b) (b as is, a has one 1 at the top left):",
          pyconvx.correlate2d(a, b))
    _show("convolve2d(a, b) (b rotated by 180 degrees):",
          pyconvx.convolve2d(a, b))
    print("convolve2d(a, b) == correlate2d(a, b[::-1, ::-1]):",
          np.array_equal(pyconvx.convolve2d(a, b),
                         pyconvx.correlate2d(a, b[::-1, ::-1])))
    print()
    pyconvx.show_config()


if __name__ == "__main__":
    main()
