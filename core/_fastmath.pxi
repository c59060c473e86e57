# Branch-free math for loops that must vectorise (GCC vectorises neither libm's exp / log1p,
# nor floor(), nor bit casts). Included by the kernels that need it; all inputs are doubles.
from libc.math cimport nearbyint


cdef inline double _exp_reduced(double x, double* k) noexcept nogil:
    """exp(r) for x = k ln2 + r, |r| <= ln2 / 2 (Cody-Waite), by its degree-13 Taylor polynomial."""
    k[0] = nearbyint(x * 1.4426950408889634)  # floor() would block vectorisation
    cdef double r = (x - k[0] * 6.93145751953125e-1) - k[0] * 1.42860682030941723212e-6
    cdef double p = 1.6059043836821613e-10
    p = p * r + 2.08767569878681e-09
    p = p * r + 2.505210838544172e-08
    p = p * r + 2.755731922398589e-07
    p = p * r + 2.7557319223985893e-06
    p = p * r + 2.48015873015873e-05
    p = p * r + 0.0001984126984126984
    p = p * r + 0.001388888888888889
    p = p * r + 0.008333333333333333
    p = p * r + 0.041666666666666664
    p = p * r + 0.16666666666666666
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p


cdef inline double _exp_neg(double t) noexcept nogil:
    """exp(-t) for t >= 0, branch-free so that loops calling it vectorise (about 1 ulp).

    exp(r) times 2**k, with 2**k (k in [-1021, 0]) by binary powering on doubles: exact, and
    unlike a bit cast it vectorises. exp(-t) is 0 beyond t = 708.
    """
    cdef double k
    cdef double p = _exp_reduced(-(t if t < 708.0 else 708.0), &k)
    cdef double m = -k, scale = 1.0
    scale *= 7.458340731200207e-155 if m >= 512 else 1.0
    m -= 512 if m >= 512 else 0
    scale *= 8.636168555094445e-78 if m >= 256 else 1.0
    m -= 256 if m >= 256 else 0
    scale *= 2.938735877055719e-39 if m >= 128 else 1.0
    m -= 128 if m >= 128 else 0
    scale *= 5.421010862427522e-20 if m >= 64 else 1.0
    m -= 64 if m >= 64 else 0
    scale *= 2.3283064365386963e-10 if m >= 32 else 1.0
    m -= 32 if m >= 32 else 0
    scale *= 1.52587890625e-05 if m >= 16 else 1.0
    m -= 16 if m >= 16 else 0
    return p * scale * _pow2_neg_small(m) if t < 708.0 else 0.0


cdef inline double _exp_neg_small(double t) noexcept nogil:
    """exp(-t) for 0 <= t <= 8 (then k >= -12): _exp_neg with four powering steps, not ten."""
    cdef double k
    cdef double p = _exp_reduced(-t, &k)
    return p * _pow2_neg_small(-k)


cdef inline double _pow2_neg_small(double m) noexcept nogil:
    """2**-m for an integer m in [0, 15], by binary powering (exact, vectorises)."""
    cdef double scale = 1.0
    scale *= 0.00390625 if m >= 8 else 1.0
    m -= 8 if m >= 8 else 0
    scale *= 0.0625 if m >= 4 else 1.0
    m -= 4 if m >= 4 else 0
    scale *= 0.25 if m >= 2 else 1.0
    m -= 2 if m >= 2 else 0
    return scale * (0.5 if m >= 1 else 1.0)


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
