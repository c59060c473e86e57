// The median filter's generated networks for windows of 5 x 5 and up (_median_wide_kernel.h):
// the window sides this variant has (_median_sides.h, written by CMakeLists.txt for each CPU
// level; 5 and 7 only for the baseline) and the dispatch to side K's compiled kernel.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "_median_sides.h"

// Output rows y and y + 1 of the K x K median (see _median_wide_kernel.h).
template <int K, typename T>
int shx_median_pair_k(const T* const* rows, const int64_t* colmap, ptrdiff_t width,
                      ptrdiff_t channels, T cval, T* buf, T* out0, T* out1);

static inline bool shx_has_network(ptrdiff_t k) {
    switch (k) {
#define X(K) case K: return true;
        SHX_NETWORK_SIDES
#undef X
    default: return false;
    }
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
