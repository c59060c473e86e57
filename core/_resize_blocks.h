// The horizontal pass of the uint8 bilinear resize, 64 output values at a time (see
// _resize.pyx): when the source values a block of 64 outputs reads all lie within 64 bytes, one
// load and a byte permutation per 16 outputs (vpermt2b, AVX-512 VBMI) place both taps of each
// output beside each other as 16-bit pairs, and one multiply-add of pairs (vpmaddwd) gives
// src[tap0] * a0 + src[tap1] * a1 exactly.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512VBMI__) && defined(__AVX512BW__)
#include <immintrin.h>
#define SHX_RESIZE_BLOCKS 1
#else
#define SHX_RESIZE_BLOCKS 0
#endif

// Output values 64 b .. 64 b + 63 of a row read source bytes from base[b] on. taps holds, per
// output, 4 byte indices into (the 64 bytes from base[b], then 64 zero bytes): tap0, a zero,
// tap1, a zero; weights holds the int16 pair (a0, a1) of each output, summing to 2**11.
// out[j] = (src[tap0] * a0 + src[tap1] * a1) >> 4: OpenCV's horizontal sum scaled for its
// 16-bit vertical pass. taps, weights and out hold whole blocks; src holds n bytes and is never
// read past them.
static inline void shx_hrow_blocks(const uint8_t* src, ptrdiff_t n, const int32_t* base,
                                   const uint8_t* taps, const int16_t* weights,
                                   ptrdiff_t blocks, int16_t* out) {
#if SHX_RESIZE_BLOCKS
    const __m512i zero = _mm512_setzero_si512();
    for (ptrdiff_t b = 0; b < blocks; ++b) {
        const ptrdiff_t left = n - base[b];
        const __mmask64 have = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
        const __m512i window = _mm512_maskz_loadu_epi8(have, src + base[b]);
        for (int q = 0; q < 4; ++q) {
            const ptrdiff_t j = 64 * b + 16 * q;
            const __m512i pairs = _mm512_permutex2var_epi8(
                window, _mm512_loadu_si512(taps + 4 * j), zero);
            const __m512i sums = _mm512_madd_epi16(pairs, _mm512_loadu_si512(weights + 2 * j));
            _mm256_storeu_si256((__m256i*)(out + j), _mm512_cvtepi32_epi16(_mm512_srai_epi32(sums, 4)));
        }
    }
#else
    (void)src; (void)n; (void)base; (void)taps; (void)weights; (void)blocks; (void)out;
#endif
}
