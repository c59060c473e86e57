# Shared by the sliding-window kernels (_conv.pyx, _pool.pyx): included textually.

from _common cimport PARALLEL_MIN, floating



cdef inline Py_ssize_t _ceil_div(Py_ssize_t a, Py_ssize_t b) noexcept nogil:
    # ceil(a / b) for b > 0 and any sign of a
    if a >= 0:
        return (a + b - 1) // b
    return -((-a) // b)


cdef inline Py_ssize_t _first_valid(
    Py_ssize_t offset,   # IN  input coordinate of output 0: j*D - P
    Py_ssize_t stride,   # IN
) noexcept nogil:
    # first output index whose input coordinate offset + index*stride is >= 0
    cdef Py_ssize_t lo = _ceil_div(-offset, stride)
    return lo if lo > 0 else 0


cdef inline Py_ssize_t _end_valid(
    Py_ssize_t offset,   # IN  input coordinate of output 0
    Py_ssize_t stride,   # IN
    Py_ssize_t size,     # IN  input extent
    Py_ssize_t n_out,    # IN  output extent
    Py_ssize_t lo,       # IN  from _first_valid
) noexcept nogil:
    # one past the last output index whose input coordinate is < size; never below lo
    cdef Py_ssize_t hi = _ceil_div(size - offset, stride)
    if hi > n_out:
        hi = n_out
    return hi if hi > lo else lo
