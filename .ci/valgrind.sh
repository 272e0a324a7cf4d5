#!/usr/bin/env bash
# Memory checking: a representative subset of the test suite under valgrind
# (memcheck) -- one test or a few per kernel and dtype family -- against the
# pyconvx that `python` imports (CI: its virtual environment; a PYTHONPATH
# already set is honoured).  Out-of-bounds reads and writes, uses of
# uninitialised memory and invalid frees in the kernels, including inside
# the OpenMP worker threads, make valgrind exit with 99.
#
# Run from the repository root:  bash .ci/valgrind.sh
# About 40-50x slower than a plain run: about 2 minutes of one core here
# (3-5 in CI, beside other jobs), of which the interpreter and the imports
# of numpy, scipy.signal, pytest and hypothesis take about 40 s (the tests
# themselves need under 2 s without valgrind).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v valgrind >/dev/null 2>&1; then
    echo "== installing valgrind"
    sudo=""
    if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    fi
    $sudo apt-get update
    $sudo apt-get install -y valgrind
fi

# The real interpreter, not a wrapper script: valgrind does not follow
# children, so under a pyenv shim (a bash script that execs python) it
# would check bash and nothing else -- and pass.
py="$(python -c 'import sys; print(sys.executable)')"
"$py" -P -c 'import pyconvx, sys; print("pyconvx", pyconvx.__version__, "from", pyconvx.__file__, "on", sys.version.split()[0])'
valgrind --version

# Two OpenMP threads, so that the parallel (prange) paths run too; valgrind
# serialises them.  Passive waiting: spinning idle threads would eat the
# serialised time slices.
export OMP_NUM_THREADS=2
export OMP_WAIT_POLICY=passive
# Every Python allocation through malloc, so memcheck sees each object.
export PYTHONMALLOC=malloc

T=tests
tests=(
    # correlate2d / convolve2d: every mode and boundary, 9 shape pairs
    # (kernels larger than the image, even kernels, rows past one tile).
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[correlate2d-int8]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[convolve2d-uint16]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[correlate2d-int64_0]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[correlate2d-float32]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[convolve2d-float64]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[correlate2d-float128]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[convolve2d-complex64]"
    "$T/test_signal_oracle.py::test_every_dtype_mode_boundary[correlate2d-complex128]"
    # Row and column blocks on two threads.
    "$T/test_signal_oracle.py::test_large_image_tiles_and_blocks[f4]"
    # The register-blocked kernels (AVX2 under valgrind) around their
    # vector and block sizes, long rows read in place between their edges,
    # and complex blocks computed again after a NaN.
    "$T/test_signal_oracle.py::test_vector_kernels_every_isa[c16-None]"
    "$T/test_signal_oracle.py::test_vector_kernels_complex_infinities[convolve2d-c8-None]"
    # conv2d: float64 (padding forms and modes, depthwise groups), float32
    # (the pointwise path, out=, stride, dilation, groups on 1-3 threads),
    # float16.
    "$T/test_conv2d.py::test_padding_forms"
    "$T/test_conv2d.py::test_padding_modes_even_kernel_same"
    "$T/test_conv2d.py::test_depthwise_and_channel_multiplier"
    "$T/test_conv2d.py::test_pointwise_path[2]"
    "$T/test_conv2d.py::test_float16_uses_float32_accumulation"
    "$T/test_conv2d.py::test_empty_batch_and_empty_channels"
    "$T/test_conv2d.py::test_out_parameter"
    "$T/test_conv2d.py::test_thread_count_invariance[float32]"
    # conv2d's engines on layers that span several work items, stage
    # chunks and stride phases (the cv kernel at the baseline ISA: valgrind
    # runs no AVX-512).
    "$T/test_conv2d_engines.py::test_engine_larger_layers[shape1-kw1-cv-baseline]"
    "$T/test_conv2d_engines.py::test_engine_larger_layers[shape2-kw2-cv-baseline]"
    "$T/test_conv2d_engines.py::test_engine_larger_layers[shape2-kw2-flat]"
    # The cv engine at listed output positions (strided, dilated); the wino
    # engine (several items, odd sizes, dilation phases, several images an
    # item, the direct rerun after a NaN).
    "$T/test_conv2d_engines.py::test_cv_exact_positions_match_flat_ones[shape1-kw1-baseline]"
    "$T/test_conv2d_engines.py::test_wino_larger_layers[shape4-1-zeros-dil4-baseline]"
    "$T/test_conv2d_engines.py::test_wino_larger_layers[shape5-1-reflect-dil5-baseline]"
    # The cv engine's late-layer paths: items packing their own weight
    # blocks, the last tile cut to fit, 1x1 inputs read in place (offsets
    # across images), one gather shared by the items of the same rows.
    "$T/test_conv2d_engines.py::test_cv_items_packing_their_blocks_match_the_prepacked_weights[shape0-kw0-baseline-float32]"
    "$T/test_conv2d_engines.py::test_cv_last_tile_cut_to_fit[2-baseline-float32]"
    "$T/test_conv2d_engines.py::test_cv_reads_1x1_inputs_in_place[shape0-kw0-baseline-float32]"
    "$T/test_conv2d_engines.py::test_cv_items_sharing_a_gather_match_their_own_gathers[shape1-kw1-float32]"
    # The wino engine by ranges of channel blocks: inputs transformed once
    # for the items (two blocks of images) or by each, weights by the
    # items a chunk of input channels at a time (two chunks); dilation
    # phases with the items transforming their weights.
    "$T/test_conv2d_engines.py::test_wino_by_channel_blocks_matches_the_tile_plan[3-shape0-kw0-baseline-float32]"
    "$T/test_conv2d_engines.py::test_wino_by_channel_blocks_matches_the_tile_plan[3-shape1-kw1-baseline-float32]"
    "$T/test_conv2d_engines.py::test_wino_items_transforming_their_weights_match_the_prepacked_ones[shape1-kw1-baseline]"
    # gemv: vectors along the input channels (three positions).
    "$T/test_conv2d_engines.py::test_gemv_larger_layers[shape2-kw2-float32]"
    # Non-temporal stores of the output's whole lines (AVX2: valgrind runs
    # no AVX-512), from every offset in a line.
    "$T/test_conv2d_engines.py::test_streamed_output_is_the_cached_one[shape1-kw1-wino-avx2-float32]"
    "$T/test_conv2d_engines.py::test_wino_keeps_infinities_and_nans_in_their_windows[input-baseline]"
    # max_pool2d / avg_pool2d: floats, integers, indices, padding, ceil
    # mode, dilation, the multithreaded split.
    "$T/test_pool.py::test_max_pool2d_dtypes[params0-float32]"
    "$T/test_pool.py::test_max_pool2d_dtypes[params3-float64]"
    "$T/test_pool.py::test_max_pool2d_dtypes[params4-int8]"
    "$T/test_pool.py::test_max_pool2d_dtypes[params1-uint64]"
    "$T/test_pool.py::test_max_pool2d_dtypes[params2-float32]"
    "$T/test_pool.py::test_avg_pool2d_dtypes[params1-float32]"
    "$T/test_pool.py::test_avg_pool2d_dtypes[params3-float16]"
    "$T/test_pool.py::test_avg_pool2d_dtypes[params4-int32]"
    "$T/test_pool.py::test_avg_pool2d_dtypes[params5-uint64]"
    "$T/test_pool.py::test_max_nan_index_is_the_last_nan"
    "$T/test_pool.py::test_max_padding_never_wins"
    "$T/test_pool.py::test_max_window_without_taps_inside"
    "$T/test_pool.py::test_avg_ceil_overhang_is_not_counted"
    "$T/test_pool.py::TestIntegerAverage"
    "$T/test_pool.py::test_thread_count_invariance[shape0]"
    # Rows of one output, window by window (global pooling).
    "$T/test_pool.py::test_global_pooling[shape0-kw0-float32]"
    "$T/test_pool.py::test_global_pooling[shape3-kw3-int16]"
    "$T/test_pool.py::test_windows_without_taps"
    # float16 <-> float32, threaded, around the vector widths.
    "$T/test_convert.py::test_sizes_and_threads"
    # The pool of work buffers itself (the rest runs without it, below).
    "$T/test_workspace.py::test_a_buffer_given_back_is_reused"
    "$T/test_workspace.py::test_the_least_recently_given_is_freed_first"
    "$T/test_workspace.py::test_concurrent_takes_and_gives"
    "$T/test_workspace.py::test_conv2d_on_reused_buffers"
)

echo "== valgrind memcheck on ${#tests[@]} test selections (OMP_NUM_THREADS=$OMP_NUM_THREADS)"
start=$(date +%s)
rc=0
PYCONVX_TEST_NO_POOL=1 valgrind -q --error-exitcode=99 --leak-check=no --num-callers=30 \
    --suppressions=.ci/valgrind.supp \
    "$py" -P -m pytest -q -p no:cacheprovider -p no:benchmark "${tests[@]}" \
    || rc=$?
echo "== valgrind subset: $(( $(date +%s) - start )) s wall, exit code $rc"
if [ "$rc" = 99 ]; then
    echo "valgrind found memory errors (see its report above)" >&2
fi
exit "$rc"
