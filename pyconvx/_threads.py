"""Thread-count policy: the ``workers=`` argument of every public function."""

import operator
import os

from . import _platform

__all__ = ["resolve_workers", "cpu_count"]

# Threads beyond this multiple of the CPUs only add contention; the cap
# keeps absurd requests from exhausting the process's thread limit.
_MAX_THREADS_PER_CPU = 4

_in_forked_child = False


def cpu_count():
    """CPUs this process may run on (affinity-aware)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _after_fork_in_child():
    # libgomp's thread pool does not survive fork(): a parallel region in the
    # child waits forever for threads that no longer exist.  A forked child
    # therefore runs every kernel on its own thread (as torch's DataLoader
    # workers do).  Use the 'spawn' or 'forkserver' start methods to get
    # multithreaded kernels in worker processes.
    global _in_forked_child
    _in_forked_child = True
    _platform.set_omp_num_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resolve_workers(workers):
    """Number of threads a kernel call may use.

    Parameters
    ----------
    workers : int or None
        None: the OpenMP default (``OMP_NUM_THREADS``, or a limit set by
        threadpoolctl; all CPUs otherwise).  A positive integer: that many
        threads.  A negative integer wraps from the CPU count as in
        ``scipy.fft``: -1 means all CPUs, -2 all but one.

    Returns
    -------
    int
        A thread count >= 1.
    """
    if workers is None:
        n = _platform.omp_max_threads()
    else:
        if isinstance(workers, bool):
            raise TypeError("workers must be an integer or None, got bool")
        try:
            n = operator.index(workers)
        except TypeError:
            raise TypeError("workers must be an integer or None, got "
                            f"{type(workers).__name__}") from None
        if n == 0:
            raise ValueError("workers must not be zero")
        # The CPU count (a system call, ~1 us) only where it matters: a
        # small positive count is under the cap on any machine.
        if n < 0 or n > _MAX_THREADS_PER_CPU:
            ncpu = cpu_count()
            if n < -ncpu:
                raise ValueError(f"workers value out of range; got {n}, must "
                                 f"not be less than {-ncpu}")
            if n < 0:
                n += 1 + ncpu
            n = min(n, _MAX_THREADS_PER_CPU * ncpu)
    if _in_forked_child:
        return 1
    return max(1, n)
