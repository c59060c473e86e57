# Declarations shared by every compiled kernel: cimported (``from _common cimport ...``), never
# imported. Only types, constants and inline functions, so no module stands behind it at run
# time. Float kernels are fused over ``cython.floating`` (float32 and float64).
from cython cimport floating
from libc.math cimport nearbyint
from libc.stdlib cimport calloc, malloc

# Fewest units of work worth a parallel loop: below them waking the thread team costs more than
# it saves (and far more on a busy machine).
cdef enum:
    PARALLEL_MIN = 1 << 20        # window steps (conv, pool, median): one per window value
    PARALLEL_PAIRS = 1 << 24      # box pairs of the pairwise IoUs
    PARALLEL_ELEMENTS = 1 << 16   # values of a cheap pass (resize halving, neighbour steps)
    PARALLEL_SAMPLES = 4096       # samples of one pass over d features (k-means inertia)
    PARALLEL_ASSIGN = 1 << 22     # box-anchor pairs (one pass over 100k boxes takes ~1 ms)


cdef inline floating _min(floating a, floating b) noexcept nogil:
    return a if a < b else b


cdef inline floating _max(floating a, floating b) noexcept nogil:
    return a if a > b else b


# --------------------------------------------------------------------------- allocation
cdef inline void* _alloc(size_t nbytes, bint zeroed=False) except NULL:
    """``malloc`` (``calloc`` when ``zeroed``) that raises ``MemoryError``; call with the GIL,
    release with ``free``. One block for all of a call's buffers keeps the failure path single."""
    cdef size_t size = nbytes if nbytes else 1
    cdef void* p = calloc(size, 1) if zeroed else malloc(size)
    if p == NULL:
        raise MemoryError(f"cannot allocate {nbytes} bytes")
    return p


cdef inline int _check_threads(Py_ssize_t failed) except -1:
    """After a parallel region whose threads each allocate scratch (``malloc`` without the GIL,
    ``failed += 1`` and ``continue`` on NULL, so every thread still reaches the loop): raise
    ``MemoryError`` when any could not."""
    if failed:
        raise MemoryError("a thread could not allocate its scratch memory")
    return 0


# --------------------------------------------------------------------------- fast math
# Branch-free math for loops that must vectorise (GCC vectorises neither libm's exp / log1p,
# nor floor(); bit casts only through memcpy). All inputs are doubles.
cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>
    /* 2**k for an integral double k in [-1022, 1023]: the exponent field is the low bits of
       k + 1.5 * 2**52 (bit casts through memcpy vectorise; a conversion to int64 needs AVX-512) */
    static inline double _shouxie_pow2i(double k) {
        double m = k + 6755399441055744.0;
        uint64_t b;
        memcpy(&b, &m, 8);
        b = (b + 1023u) << 52;
        double r;
        memcpy(&r, &b, 8);
        return r;
    }
    """
    double _pow2i "_shouxie_pow2i"(double k) noexcept nogil


cdef inline double _exp_neg(double t) noexcept nogil:
    """exp(-t) for t >= 0, branch-free so that loops calling it vectorise (about 1 ulp); 0 beyond
    t = 708."""
    return _exp_neg_moderate(t if t < 708.0 else 708.0) if t < 708.0 else 0.0
cdef inline double _exp_neg_moderate(double t) noexcept nogil:
    """exp(-t) for 0 <= t <= 708 (about 1 ulp); cheaper than _exp_neg where t is known bounded.

    exp(r) 2**k with x = -t = k ln2 + r, |r| <= ln2 / 2 (Cody-Waite), exp(r) by a degree-11
    polynomial (Chebyshev nodes, relative error 2e-17): its tail from r**3 on by Estrin's scheme
    (a short dependency chain), its head 1 + r (1 + r (c2 + r tail)) by Horner's, whose last
    fused step rounds once (agrees with libm on 90 % of inputs; all-Estrin: 60 %); 2**k
    (k >= -1022) built in the exponent bits.
    """
    cdef double k = nearbyint(-t * 1.4426950408889634)  # floor() would block vectorisation
    cdef double r = (-t - k * 6.93145751953125e-1) - k * 1.42860682030941723212e-6
    cdef double r2 = r * r
    cdef double r4 = r2 * r2
    cdef double tail = ((0.1666666666666668 + r * 0.0416666666664881)
                        + r2 * (0.008333333333319601 + r * 0.0013888888952314775)
                        + r4 * ((0.00019841269890047113 + r * 2.4801485482328494e-05)
                                + r2 * (2.755724091857897e-06 + r * 2.763263963904103e-07))
                        + (r4 * r4) * 2.5110037605963777e-08)
    cdef double p = 1.0 + r * (1.0 + r * (0.5000000000000019 + r * tail))
    return p * _pow2i(k)


cdef inline double _log1p_unit(double e) noexcept nogil:
    """log1p(e) for 0 <= e <= 1 (about 1 ulp): 2 atanh(s), s = e / (2 + e) <= 1/3, by its series.

    Never forms 1 + e, so tiny e keep their precision (log1p(e) -> e).
    """
    cdef double s = e / (2.0 + e)
    cdef double z = s * s
    cdef double p = 1.0 / 37
    p = p * z + 1.0 / 35
    p = p * z + 1.0 / 33
    p = p * z + 1.0 / 31
    p = p * z + 1.0 / 29
    p = p * z + 1.0 / 27
    p = p * z + 1.0 / 25
    p = p * z + 1.0 / 23
    p = p * z + 1.0 / 21
    p = p * z + 1.0 / 19
    p = p * z + 1.0 / 17
    p = p * z + 1.0 / 15
    p = p * z + 1.0 / 13
    p = p * z + 1.0 / 11
    p = p * z + 1.0 / 9
    p = p * z + 1.0 / 7
    p = p * z + 1.0 / 5
    p = p * z + 1.0 / 3
    p = p * z + 1.0
    return 2.0 * s * p
