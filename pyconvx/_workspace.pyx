"""Work buffers kept between calls.

conv2d's items and plans take work buffers of up to a few MiB each
(transformed inputs, gathered phase planes, packed weights).  Freed at the
end of every call, glibc hands such memory back to the system (a heap
trimmed, a mapping unmapped) whenever its thresholds say so, and the next
call faults every page in again.  Which calls suffer depends on what the
process allocated before: 1 x 128 x 16x16 channels at two threads took
190 minor faults and 1.7x the time per call after a first call at two
threads, none after a first call at one.

So freed buffers stay here, up to KEEP_BYTES in all, the least recently
given back freed first, and the next take of a size they fit reuses one
with its pages already in.  One pool for every thread: a lock around a
scan of SLOTS entries, a few times per work item of a millisecond or so.
Buffers under MIN_BYTES go straight to malloc and free: glibc keeps those
in its own caches without system calls.
"""

import os

from cpython.pythread cimport (PyThread_type_lock, PyThread_allocate_lock,
                               PyThread_acquire_lock, PyThread_release_lock,
                               WAIT_LOCK)
from libc.stdlib cimport malloc, free
from libc.string cimport memset

cdef extern from "pythread.h":
    # (Any thread: pthread_self() on POSIX.)
    unsigned long PyThread_get_thread_ident() nogil

cdef enum:
    SLOTS = 32
    # Bytes before a buffer: its header, then padding to 64-byte alignment.
    LEAD = 64

# Buffers smaller than this are not kept.
cdef size_t MIN_BYTES = 64 << 10
# At most this many bytes kept (0: none; test hook _set_keep_bytes).
cdef size_t KEEP_BYTES = 64 << 20


cdef struct _Header:
    void *raw           # what malloc returned
    size_t cap          # bytes usable from the buffer's start


cdef void *_blocks[SLOTS]          # kept buffers (NULL: a free slot)
cdef unsigned long long _given[SLOTS]   # when each was given back
cdef unsigned long _owner[SLOTS]            # and by which thread
cdef unsigned long long _clock = 0
cdef size_t _kept = 0
# Takes served from the pool, and by malloc (at least MIN_BYTES).
cdef unsigned long long _reused = 0, _allocated = 0
cdef PyThread_type_lock _lock = PyThread_allocate_lock()
if _lock == NULL:
    raise MemoryError("pyconvx: cannot allocate the work-buffer lock")


cdef inline _Header *_header(void *p) noexcept nogil:
    return <_Header *> (<char *> p - LEAD)


cdef size_t _capacity(size_t n) noexcept nogil:
    """n rounded up to a multiple of an eighth of the largest power of two
    not above it (at most 12.5% more): the items of a call ask for sizes a
    little apart, which then share buffers."""
    cdef size_t step = 1
    while step <= n // 2:
        step <<= 1
    step = max(<size_t> 1, step >> 3)
    return (n + step - 1) // step * step


cdef void _drop(int i) noexcept nogil:
    """Free kept buffer i (the lock held)."""
    global _kept
    _kept -= _header(_blocks[i]).cap
    free(_header(_blocks[i]).raw)
    _blocks[i] = NULL


cdef size_t _release() noexcept nogil:
    """Free every kept buffer; returns the bytes freed."""
    cdef size_t freed
    cdef int i
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    freed = _kept
    for i in range(SLOTS):
        if _blocks[i] != NULL:
            _drop(i)
    PyThread_release_lock(_lock)
    return freed


cdef void *take(size_t n_bytes) noexcept nogil:
    """A 64-byte aligned buffer of n_bytes (contents undefined), NULL if
    memory ran out; give it back with give()."""
    global _kept, _reused, _allocated
    cdef bint keep = MIN_BYTES <= n_bytes <= KEEP_BYTES
    # (Without a pool, the exact size: sanitizers see every overrun.)
    cdef size_t cap = _capacity(n_bytes) if keep else n_bytes
    cdef size_t c, best_cap = 0
    cdef int i, best = -1
    cdef bint best_own = False, own
    cdef unsigned long me = PyThread_get_thread_ident()
    cdef void *p
    cdef void *raw
    if keep:
        PyThread_acquire_lock(_lock, WAIT_LOCK)
        # The smallest kept buffer that fits, if not twice too large; one
        # this thread gave back first, which its caches may still hold (a
        # thread's first pick, not its own, took 1.36-1.6x the time of the
        # calls on 1 x 64 x 28x28 and 4 x 64 x 8x8 at two threads).
        for i in range(SLOTS):
            if _blocks[i] != NULL:
                c = _header(_blocks[i]).cap
                own = _owner[i] == me
                if (n_bytes <= c <= 2 * cap
                        and (best < 0 or own > best_own
                             or (own == best_own and c < best_cap))):
                    best, best_cap, best_own = i, c, own
        if best >= 0:
            p = _blocks[best]
            _blocks[best] = NULL
            _kept -= best_cap
            _reused += 1
        else:
            _allocated += 1
        PyThread_release_lock(_lock)
        if best >= 0:
            return p
    if cap > <size_t> -1 - 2 * LEAD:
        return NULL
    raw = malloc(cap + 2 * LEAD)
    if raw == NULL and _release() > 0:
        # Memory was short: what was kept went first.
        raw = malloc(cap + 2 * LEAD)
    if raw == NULL:
        return NULL
    p = <void *> ((<size_t> raw + 2 * LEAD - 1) & ~(<size_t> LEAD - 1))
    _header(p).raw = raw
    _header(p).cap = cap
    return p


cdef void give(void *p) noexcept nogil:
    """Give back a buffer from take() (NULL: nothing)."""
    global _kept, _clock
    cdef size_t cap
    cdef int i, slot, oldest
    if p == NULL:
        return
    cap = _header(p).cap
    if cap < MIN_BYTES or cap > KEEP_BYTES:
        free(_header(p).raw)
        return
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    while True:
        slot = oldest = -1
        for i in range(SLOTS):
            if _blocks[i] == NULL:
                slot = i
            elif oldest < 0 or _given[i] < _given[oldest]:
                oldest = i
        if slot >= 0 and _kept + cap <= KEEP_BYTES:
            break
        _drop(oldest)
    _clock += 1
    _blocks[slot] = p
    _given[slot] = _clock
    _owner[slot] = PyThread_get_thread_ident()
    _kept += cap
    PyThread_release_lock(_lock)


def stats():
    """The pool's state: bytes and buffers kept, the most bytes it keeps,
    and how many takes of a size it keeps it served (reused) and malloc
    served (allocated)."""
    cdef int i, n = 0
    PyThread_acquire_lock(_lock, WAIT_LOCK)
    for i in range(SLOTS):
        n += _blocks[i] != NULL
    result = dict(kept_bytes=_kept, kept_buffers=n, limit_bytes=KEEP_BYTES,
                  reused=_reused, allocated=_allocated)
    PyThread_release_lock(_lock)
    return result


def release():
    """Free every kept buffer; returns the bytes freed."""
    return _release()


def _set_keep_bytes(size_t n_bytes, size_t min_bytes=64 << 10):
    """Test hook: keep at most n_bytes in buffers of min_bytes and more
    (n_bytes 0: no pool, every buffer malloc'd at its exact size); frees
    what is kept; returns the previous (n_bytes, min_bytes)."""
    global KEEP_BYTES, MIN_BYTES
    old = (KEEP_BYTES, MIN_BYTES)
    _release()
    KEEP_BYTES, MIN_BYTES = n_bytes, min_bytes
    return old


def _take_give(sizes):
    """Test hook: take buffers of the given sizes, fill each, give them
    back in order; returns their addresses."""
    cdef size_t n
    cdef void *p
    addresses = []
    for n in sizes:
        p = take(n)
        if p == NULL:
            for q in addresses:
                give(<void *> <size_t> q)
            raise MemoryError(f"take({n}) failed")
        # Every byte written: ASan and valgrind check the bounds.
        memset(p, 0xA5, n)
        addresses.append(<size_t> p)
    for q in addresses:
        give(<void *> <size_t> q)
    return addresses


def _churn(size_t n_bytes, Py_ssize_t rounds):
    """Test hook: take and give back a buffer of n_bytes, rounds times,
    without the GIL (the lock taken and released all along); False if a
    take failed."""
    cdef Py_ssize_t i
    cdef void *p
    cdef bint ok = True
    with nogil:
        for i in range(rounds):
            p = take(n_bytes)
            ok = ok and p != NULL
            give(p)
    return ok


def _after_fork_in_child():
    # The lock is held across fork() (taken just before, in the parent),
    # so the child's pool is whole; the child's copy is released here.
    PyThread_release_lock(_lock)


def _before_fork():
    PyThread_acquire_lock(_lock, WAIT_LOCK)


def _after_fork_in_parent():
    PyThread_release_lock(_lock)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(before=_before_fork,
                        after_in_parent=_after_fork_in_parent,
                        after_in_child=_after_fork_in_child)
