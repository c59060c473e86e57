"""Compiled focal-loss kernels. Inputs are validated by :mod:`shouxie.core.detection_losses`.

Per element, in float64: p = sigmoid(x) and q = 1 - p never exponentiate a positive number;
CE = max(x, 0) - x t + log1p(exp(-|x|)); m = 1 - p_t = p (1 - t) + q t;
loss = alpha_t CE m**gamma and
grad = alpha_t [(p - t) m**gamma + gamma m**gamma (p q / m) (1 - 2 t) CE], with p q / m
replaced by its limit p t + q (1 - t) where m underflows to 0. exp and log1p are the
branch-free versions of _common.pxd, so each loop vectorises; m**gamma is m * m for the
usual gamma = 2 and libm's pow otherwise.
"""
from libc.math cimport fabs, pow

from _common cimport _exp_neg, _log1p_unit, floating

ctypedef fused out_real:   # the output's float type, independent of the input's
    float
    double


def sigmoid_focal_loss(
    const floating[::1] logits,   # IN (n,) finite
    const floating[::1] targets,  # IN (n,) in [0, 1]
    double alpha,             # IN weight of positives; < 0 disables the weighting
    double gamma,             # IN focusing exponent >= 0
    bint gradient,            # IN write d loss / d logits instead of the loss
    out_real[::1] out,        # OUT (n,) elementwise loss, or its gradient
):
    cdef Py_ssize_t i, n = logits.shape[0]
    cdef double a = alpha if alpha >= 0 else 0.5, scale = 1.0 if alpha >= 0 else 2.0
    with nogil:
        if gamma == 2:  # a separate loop keeps pow out of the usual case, which then vectorises
            for i in range(n):
                out[i] = <out_real>_focal(logits[i], targets[i], a, scale, 2.0, True, gradient)
        else:
            for i in range(n):
                out[i] = <out_real>_focal(logits[i], targets[i], a, scale, gamma, False, gradient)


cdef inline double _focal(double x, double t, double alpha, double scale, double gamma, bint square,
                          bint gradient) noexcept nogil:
    """Loss (or its gradient) of one element; alpha_t = scale (alpha t + (1 - alpha)(1 - t))."""
    cdef double e = _exp_neg(fabs(x))
    cdef double inv = 1 / (1 + e)
    cdef double p = inv if x >= 0 else e * inv
    cdef double q = e * inv if x >= 0 else inv
    cdef double ce = (x if x > 0 else 0.0) - x * t + _log1p_unit(e)
    cdef double m = p * (1 - t) + q * t
    cdef double focus = m * m if square else pow(m, gamma)
    cdef double weight = scale * (alpha * t + (1 - alpha) * (1 - t))
    if not gradient:
        return weight * ce * focus
    cdef double pq_over_m = p * q / (m if m > 0 else 1.0) if m > 0 else p * t + q * (1 - t)
    return weight * ((p - t) * focus + gamma * focus * pq_over_m * (1 - 2 * t) * ce)
