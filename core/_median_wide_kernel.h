// The median filter for windows of 5 x 5 and up, through min/max networks generated at build
// time by tools/median_networks.py (see _median_network.pyx, median_network; _median_wide.h declares
// the entry points, each window side is its own translation unit). As the hand-made network
// for k = 3, two output rows at once: their windows share k - 1 rows, whose padded columns are
// sorted; a pruned merge network over k such columns keeps the k + 1 ranks that can be either
// median, and each window merges in its own sorted k-th row. Everything runs on GCC vectors of
// the target's SIMD width across the row.
//
// Values are compared as keys: uint8 / uint16 / int16 as themselves; float32 / float64 arrive
// as their uint32 / uint64 bit patterns and are mapped to keys whose unsigned order is the
// float order (-0.0 < 0.0), then back.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "_median_wide.h"

// The vector width of the target's SIMD: wider vectors than the registers only multiply the
// code the compiler must schedule.
#if defined(__AVX512F__)
#define SHX_VECTOR_BYTES 64
#elif defined(__AVX2__)
#define SHX_VECTOR_BYTES 32
#else
#define SHX_VECTOR_BYTES 16
#endif

template <typename V> static inline V shx_lo(V a, V b) { return a < b ? a : b; }
template <typename V> static inline V shx_hi(V a, V b) { return a < b ? b : a; }
template <typename V, typename T> static inline V shx_load(const T* p) {
    V v;
    memcpy(&v, p, sizeof v);
    return v;
}
template <typename V, typename T> static inline void shx_store(T* p, V v) { memcpy(p, &v, sizeof v); }

template <typename T> struct shx_keys {   // integers are their own keys
    template <typename V> static V to(V v) { return v; }
    template <typename V> static V from(V v) { return v; }
    template <typename V> static V nan(V, V) { return V{}; }
};
template <typename T> struct shx_float_keys {   // float bits: flip the sign bit, or all bits if set
    static constexpr int top = 8 * sizeof(T) - 1;
    static constexpr T sign = (T)1 << top;
    static constexpr T inf = sizeof(T) == 4 ? (T)0x7F800000u : (T)0x7FF0000000000000ull;
    template <typename V> static V to(V v) { return v ^ (-(v >> top) | sign); }
    template <typename V> static V from(V v) { return v ^ (((v >> top) - 1) | sign); }
    // nonzero where a column's smallest / largest key is a NaN: keys beyond -inf / +inf
    template <typename V> static V nan(V lo, V hi) {
        return (V)((lo < (T)~(inf | sign)) | (hi > (T)(inf | sign)));
    }
};
template <> struct shx_keys<uint32_t> : shx_float_keys<uint32_t> {};
template <> struct shx_keys<uint64_t> : shx_float_keys<uint64_t> {};

template <typename V, typename T> static inline V shx_load_key(const T* p) {
    return shx_keys<T>::template to<V>(shx_load<V>(p));
}

template <int K> struct shx_network;   // the generated _median_networks_<K>.h

// The padded row of an image row (or of cval): border columns through colmap.
template <typename T>
static void shx_pad_row(const T* row, const int64_t* colmap, ptrdiff_t width, ptrdiff_t channels,
                        ptrdiff_t r, T cval, T* out) {
    memcpy(out + r * channels, row, width * channels * sizeof(T));
    for (ptrdiff_t p = 0; p < width + 2 * r; p = p + 1 == r ? width + r : p + 1)
        for (ptrdiff_t c = 0; c < channels; ++c)
            out[p * channels + c] = colmap[p] < 0 ? cval : row[colmap[p] * channels + c];
}

// Rank k * k // 2 of a window: c = ranks m - k .. m of its shared rows, t = its own row sorted.
template <int K, typename V> static inline V shx_select(const V* c, const V* t) {
    V m = c[0];
    for (int i = 1; i <= K; ++i) m = shx_hi(m, shx_lo(c[i], t[K - i]));
    return m;
}

// Output rows y and y + 1 of the K x K median. rows: the K + 1 padded rows y .. y + K (image
// rows, or a row of cval), W * C values each, at least a vector's worth; colmap: the source
// column of each of the W + K - 1 padded columns (-1: cval); buf: scratch of
// (K + 1) * ((W + K - 1) * C + 64). Returns nonzero when a float NaN was among the shared rows.
template <int K, typename T>
static inline int shx_median_pair_net(const T* const* rows, const int64_t* colmap, ptrdiff_t width,
                                      ptrdiff_t channels, T cval, T* buf, T* out0, T* out1) {
    typedef T V __attribute__((vector_size(SHX_VECTOR_BYTES)));
    typedef shx_network<K> net;
    const ptrdiff_t lanes = SHX_VECTOR_BYTES / sizeof(T), r = K / 2, n = width * channels;
    const ptrdiff_t wp = (width + 2 * r) * channels, stride = (wp + lanes - 1) / lanes * lanes;
    T* cols = buf;   // K - 1 padded shared rows of stride values; the columns sorted in place
    T* top = buf + (K - 1) * stride;
    T* bottom = top + wp;
    const T* shared[K - 1];
    for (int i = 0; i < K - 1; ++i) {
        shared[i] = cols + i * stride;
        shx_pad_row(rows[1 + i], colmap, width, channels, r, cval, cols + i * stride);
        memset(cols + i * stride + wp, 0, (stride - wp) * sizeof(T));
    }
    shx_pad_row(rows[0], colmap, width, channels, r, cval, top);
    shx_pad_row(rows[K], colmap, width, channels, r, cval, bottom);
    V bad{}, s[K + 1], t[K];
    for (ptrdiff_t j = 0; j < stride; j += lanes) {
        net::template sort_shared<V>(shared, j, s);
        for (int i = 0; i < K - 1; ++i) shx_store(cols + i * stride + j, s[i]);
        bad |= shx_keys<T>::nan(s[0], s[K - 2]);
    }
    const T* above[K];   // the own rows' windows: K padded columns apart
    const T* below[K];
    for (int i = 0; i < K; ++i) {
        above[i] = top + i * channels;
        below[i] = bottom + i * channels;
    }
    for (ptrdiff_t j = 0;; j += lanes) {   // the last vector overlaps the one before
        if (j + lanes > n) j = n - lanes;
        net::template shared<V>(cols + j, stride, channels, s);
        net::template sort_own<V>(above, j, t);
        shx_store(out0 + j, shx_keys<T>::from(shx_select<K>(s, t)));
        net::template sort_own<V>(below, j, t);
        shx_store(out1 + j, shx_keys<T>::from(shx_select<K>(s, t)));
        if (j + lanes == n) break;
    }
    T flag = 0;
    for (ptrdiff_t i = 0; i < lanes; ++i) flag |= bad[i];
    return flag != 0;
}

// The entry point (_median_wide.h): the network where shx_keyed<K, T>, else nothing compiled.
template <int K, typename T>
int shx_median_pair_k(const T* const* rows, const int64_t* colmap, ptrdiff_t width,
                      ptrdiff_t channels, T cval, T* buf, T* out0, T* out1) {
    if constexpr (shx_keyed<K, T>)
        return shx_median_pair_net<K>(rows, colmap, width, channels, cval, buf, out0, out1);
    else
        return 0;
}

// The entry points of side K (_median_wide.h), for every key type.
#define SHX_INSTANTIATE_TYPE(K, T) template int shx_median_pair_k<K, T>(                            \
    const T* const*, const int64_t*, ptrdiff_t, ptrdiff_t, T, T*, T*, T*);
#define SHX_INSTANTIATE(K) SHX_INSTANTIATE_TYPE(K, uint8_t) SHX_INSTANTIATE_TYPE(K, uint16_t)        \
    SHX_INSTANTIATE_TYPE(K, int16_t) SHX_INSTANTIATE_TYPE(K, uint32_t) SHX_INSTANTIATE_TYPE(K, uint64_t)
