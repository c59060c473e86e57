// The median filter's generated networks for windows of 5 x 5 and up (_median_wide_kernel.h):
// the window sides this variant has (_median_sides.h, written by CMakeLists.txt for each CPU
// level; 5 and 7 only for the baseline) and the dispatch to side K's compiled kernel.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "_median_sides.h"

// Sides beyond this have networks for 16- and 32-bit keys only: median.py filters uint8 beyond
// it by histograms (faster there) and float64 by the ranks of its values (NARROW_KSIZE), so 8- and
// 64-bit networks of those sides would be compiled for nothing (two fifths of the build's largest
// translation units).
#define SHX_ALL_KEYS_MAX_SIDE 15
template <int K, typename T>
constexpr bool shx_keyed = K <= SHX_ALL_KEYS_MAX_SIDE || sizeof(T) == 2 || sizeof(T) == 4;

// Output rows y and y + 1 of the K x K median (see _median_wide_kernel.h); 0 without doing
// anything where !shx_keyed<K, T>.
template <int K, typename T>
int shx_median_pair_k(const T* const* rows, const int64_t* colmap, ptrdiff_t width,
                      ptrdiff_t channels, T cval, T* buf, T* out0, T* out1);

// Whether this variant has a network of side k for keys of key_bytes bytes.
static inline bool shx_has_network(ptrdiff_t k, ptrdiff_t key_bytes) {
    switch (k) {
#define X(K) case K: break;
        SHX_NETWORK_SIDES
#undef X
    default: return false;
    }
    return k <= SHX_ALL_KEYS_MAX_SIDE || key_bytes == 2 || key_bytes == 4;
}

template <typename T>
static int shx_median_pair(int k, const T* const* rows, const int64_t* colmap, ptrdiff_t width,
                           ptrdiff_t channels, T cval, T* buf, T* out0, T* out1) {
    switch (k) {
#define X(K) case K: return shx_median_pair_k<K>(rows, colmap, width, channels, cval, buf, out0, out1);
        SHX_NETWORK_SIDES
#undef X
    default: return 0;
    }
}
