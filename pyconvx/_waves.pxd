# Work items in waves, with a signal check between waves.
#
# Every kernel splits a call into independent work items (blocks of output
# rows).  The Python entry points do not hand all of them to OpenMP at once:
# they run them a wave at a time, each wave a parallel region of its own, and
# call PyErr_CheckSignals() (with the GIL) between waves.  So Ctrl-C raises
# KeyboardInterrupt within about one wave, and by then the region has ended:
# no thread is left running.  Waves are sized from the time the previous one
# took, aiming at WAVE_SECONDS; the first wave is sized from the work
# estimate, so small calls run as one wave and never look at the clock twice.
#
# Usage, inside a def function (holding the GIL):
#
#     cdef Waves waves = waves_start(n_items, n_threads, total_work)
#     while waves_next(&waves):
#         with nogil:
#             status = run_items(..., waves.begin, waves.end)

from cpython.exc cimport PyErr_CheckSignals
from cpython.time cimport monotonic

# A wave aims at this long: short enough for Ctrl-C to feel immediate, long
# enough that starting a parallel region (microseconds) is noise.
cdef extern from *:
    """
    #define PCX_WAVE_SECONDS 0.05
    #define PCX_FIRST_WAVE_WORK 16777216.0
    """
    const double WAVE_SECONDS "PCX_WAVE_SECONDS"
    # Multiply-adds (or taps) in the first wave: at the slowest kernel
    # (long double complex, ~50 M/s) still well under a second.
    const double FIRST_WAVE_WORK "PCX_FIRST_WAVE_WORK"


cdef struct Waves:
    Py_ssize_t n_items      # items of the whole call
    Py_ssize_t begin, end   # the current wave: items [begin, end)
    Py_ssize_t size         # items in the next wave
    Py_ssize_t n_threads    # waves are multiples of this, so threads share evenly
    double started          # monotonic() when the current wave began


cdef inline Py_ssize_t _round_up(Py_ssize_t n, Py_ssize_t m) noexcept nogil:
    return ((n + m - 1) // m) * m


cdef inline Waves waves_start(Py_ssize_t n_items, int n_threads,
                              double total_work) noexcept nogil:
    cdef Waves w
    cdef double share
    w.n_items = n_items
    w.begin = 0
    w.end = 0
    w.n_threads = max(1, n_threads)
    w.started = 0.0
    if total_work <= FIRST_WAVE_WORK or n_items <= w.n_threads:
        w.size = n_items
    else:
        share = n_items * (FIRST_WAVE_WORK / total_work)
        w.size = _round_up(max(1, <Py_ssize_t> share), w.n_threads)
    return w


cdef inline bint waves_next(Waves *w) except -1:
    """Move to the next wave; False once every item ran.

    Raises whatever a signal handler raised (KeyboardInterrupt for Ctrl-C)
    when called after a wave; the caller's result is then incomplete.
    """
    cdef double now, took, grow
    if w.end > 0:
        PyErr_CheckSignals()
        now = monotonic()
        took = now - w.started
        # Grow at most 8x per wave: one fast wave must not schedule the rest
        # of a huge call in one go.
        grow = 8.0 if took * 8.0 <= WAVE_SECONDS else WAVE_SECONDS / took
        w.size = _round_up(max(1, <Py_ssize_t> (w.size * grow)), w.n_threads)
    if w.end >= w.n_items:
        return False
    w.begin = w.end
    w.end = min(w.n_items, w.begin + w.size)
    if w.end < w.n_items:
        w.started = monotonic()
    return True
