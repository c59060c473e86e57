# Scaffolding shared by the median filter's kernels (_median_network.pyx, _median_sliding.pyx),
# cimported; inputs are validated, and the algorithm chosen, by shouxie.core.median (``_plan``).
#
# An image is viewed as (H, W * C) rows of interleaved channels. The border is never
# materialised: ``rowmap`` (length H + k - 1) and ``colmap`` (length W + k - 1) give the source
# row / column of every padded row / column, -1 meaning the constant ``cval``.
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

ctypedef fused pixel:
    uint8_t
    uint16_t
    int16_t
    float
    double

# The networks run on integers: float32 / float64 images arrive as their uint32 / uint64 bit
# patterns and are mapped to keys whose unsigned order is the float order (NaN is rejected
# by the wrapper), so min/max are single integer instructions.
ctypedef fused key:
    uint8_t
    uint16_t
    int16_t
    uint32_t
    uint64_t

cdef inline key _to_key(key u) noexcept nogil:
    # float bits -> order-preserving unsigned key: flip every bit of negatives, the sign of the rest
    if key is uint32_t:
        return u ^ (<uint32_t>(<int32_t>u >> 31) | 0x80000000u)
    elif key is uint64_t:
        return u ^ (<uint64_t>(<int64_t>u >> 63) | 0x8000000000000000u)
    else:
        return u


cdef inline key _from_key(key k) noexcept nogil:
    if key is uint32_t:
        return k ^ (~<uint32_t>(<int32_t>k >> 31) | 0x80000000u)
    elif key is uint64_t:
        return k ^ (~<uint64_t>(<int64_t>k >> 63) | 0x8000000000000000u)
    else:
        return k


cdef inline int _nan_keys(key lo, key hi) noexcept nogil:
    # Float keys: NaN sorts below the key of -inf or above the key of +inf.
    if key is uint32_t:
        return (lo < 0x007FFFFFu) | (hi > 0xFF800000u)
    elif key is uint64_t:
        return (lo < 0x000FFFFFFFFFFFFFu) | (hi > 0xFFF0000000000000u)
    else:
        return 0
