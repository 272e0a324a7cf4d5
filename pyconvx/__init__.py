"""pyconvx: fast, multithreaded 2-D convolution and cross-correlation.

Public API
----------
correlate2d, convolve2d
    Drop-in replacements for scipy.signal.correlate2d / convolve2d.
conv2d
    torch.nn.functional.conv2d on NCHW NumPy arrays (stride, padding,
    dilation, groups, bias, padding modes).
max_pool2d, avg_pool2d
    torch.nn.functional.max_pool2d / avg_pool2d on NCHW NumPy arrays.
conv_output_size, conv2d_output_shape, pool2d_output_shape
    The output-size formulas of convolution and pooling.
show_config
    Build and runtime configuration.
"""

try:
    from . import _corr2d, _platform  # noqa: F401  (compiled extensions)
except ImportError as exc:  # pragma: no cover - depends on the environment
    import os as _os

    _here = _os.path.dirname(_os.path.abspath(__file__))
    if _os.path.exists(_os.path.join(_here, "..", "meson.build")):
        raise ImportError(
            "pyconvx was imported from its source tree, which holds no "
            "compiled extensions. Install it (`pip install .`) and run from "
            "another directory, or with `python -P` so that the current "
            f"directory is not searched first. (Original error: {exc})"
        ) from exc
    raise

from ._config import show_config
from ._nn import conv2d
from ._pooling import avg_pool2d, max_pool2d
from ._shapes import conv2d_output_shape, conv_output_size, pool2d_output_shape
from ._signal import convolve2d, correlate2d

from ._version import __version__

__all__ = [
    "__version__",
    "avg_pool2d",
    "conv2d",
    "conv2d_output_shape",
    "conv_output_size",
    "convolve2d",
    "correlate2d",
    "max_pool2d",
    "pool2d_output_shape",
    "show_config",
]
