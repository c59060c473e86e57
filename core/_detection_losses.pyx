"""Compiled focal-loss kernel. Inputs are validated by :mod:`shouxie.core.detection_losses`."""
from libc.math cimport exp, fabs, log1p, pow

ctypedef fused real:
    float
    double


def sigmoid_focal_loss(
    const real[::1] logits,   # IN (n,) finite
    const real[::1] targets,  # IN (n,) in [0, 1]
    double alpha,             # IN weight of positives; < 0 disables the weighting
    double gamma,             # IN focusing exponent >= 0
    real[::1] loss,           # OUT (n,) elementwise loss, or (0,) to skip
    real[::1] grad,           # OUT (n,) d loss / d logits, or (0,) to skip
):
    """Elementwise sigmoid focal loss (and gradient), in float64; returns the sum of the loss.

    p = sigmoid(x) and q = 1 - p never exponentiate a positive number; CE = max(x, 0) - x t +
    log1p(exp(-|x|)); m = 1 - p_t = p (1 - t) + q t; loss = alpha_t CE m**gamma and
    grad = alpha_t [(p - t) m**gamma + gamma m**gamma (p q / m) (1 - 2 t) CE], with p q / m
    replaced by its limit p t + q (1 - t) where m underflows to 0.
    """
    cdef Py_ssize_t i, n = logits.shape[0]
    cdef bint want_loss = loss.shape[0] == n, want_grad = grad.shape[0] == n
    cdef double x, t, e, inv, p, q, ce, m, focus, weight, value, pq_over_m, total = 0
    with nogil:
        for i in range(n):
            x = logits[i]
            t = targets[i]
            e = exp(-fabs(x))
            inv = 1 / (1 + e)
            p = inv if x >= 0 else e * inv
            q = e * inv if x >= 0 else inv
            ce = (x if x > 0 else 0) - x * t + log1p(e)
            m = p * (1 - t) + q * t
            focus = m * m if gamma == 2 else pow(m, gamma)
            weight = alpha * t + (1 - alpha) * (1 - t) if alpha >= 0 else 1
            value = weight * ce * focus
            total += value
            if want_loss:
                loss[i] = <real>value
            if want_grad:
                pq_over_m = p * q / m if m > 0 else p * t + q * (1 - t)
                grad[i] = <real>(weight * ((p - t) * focus + gamma * focus * pq_over_m * (1 - 2 * t) * ce))
    return total
