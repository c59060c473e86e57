// Byte-permutation kernels of the uint8 resize (AVX-512 VBMI; see _resize.pyx):
//
// * shx_hrow_blocks, the horizontal pass of the bilinear resize, 64 output values at a time:
//   when the source values a block of 64 outputs reads all lie within 64 bytes, one load and a
//   byte permutation per 16 outputs (vpermt2b) place both taps of each output beside each other
//   as 16-bit pairs, and one multiply-add of pairs (vpmaddwd) gives src[tap0] * a0 +
//   src[tap1] * a1 exactly;
// * shx_half_rgb, the exact halving of RGB rows: 16 output pixels at a time, permutations pick
//   the even and the odd pixels of both rows, summed in 16 bits (shx_half_rgb_f32: float32).
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

// Output value b of 16 RGB pixels halved reads source value 6 (b / 3) + b % 3 and the one 3 on.
static constexpr int shx_half_source(int b) { return 6 * (b / 3) + b % 3; }

// The permutation tables of the halving, built at compile time.
struct shx_half_tables {
    alignas(64) uint8_t even[64];      // uint8: output bytes 0 .. 47, left taps
    alignas(64) uint8_t odd[64];       //        right taps
    alignas(64) int32_t f32[3][16];    // float32: outputs 16 m .. 16 m + 15, from f32_base[m]
    ptrdiff_t f32_base[3];
};

static constexpr shx_half_tables shx_make_half_tables() {
    shx_half_tables t{};
    for (int b = 0; b < 48; ++b) {
        t.even[b] = (uint8_t)shx_half_source(b);
        t.odd[b] = (uint8_t)(shx_half_source(b) + 3);
    }
    for (int m = 0; m < 3; ++m) {
        t.f32_base[m] = shx_half_source(16 * m);
        for (int i = 0; i < 16; ++i)   // <= 30: within two vectors from the base
            t.f32[m][i] = (int32_t)(shx_half_source(16 * m + i) - t.f32_base[m]);
    }
    return t;
}

static constexpr shx_half_tables shx_half = shx_make_half_tables();

// RGB rows halved: dst[3 x + c] = (r0[6 x + c] + r0[6 x + 3 + c] + r1[6 x + c] + r1[6 x + 3 + c]
// + 2) >> 2 for x < pixels (the mean of each 2 x 2 block, rounded half up). r0 and r1 hold
// 6 * pixels bytes and are never read past them.
static inline void shx_half_rgb(const uint8_t* r0, const uint8_t* r1, ptrdiff_t pixels, uint8_t* dst) {
#if SHX_RESIZE_BLOCKS
    const __m512i ie = _mm512_load_si512(shx_half.even), io = _mm512_load_si512(shx_half.odd);
    for (ptrdiff_t x = 0; x < pixels; x += 16) {
        const ptrdiff_t left = 6 * (pixels - x);   // source bytes from here on
        const __mmask64 m0 = left >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << left) - 1);
        const __mmask64 m1 = left >= 96 ? ((__mmask64)1 << 32) - 1
                             : left > 64 ? (((__mmask64)1 << (left - 64)) - 1) : 0;
        const __m512i a0 = _mm512_maskz_loadu_epi8(m0, r0 + 6 * x);
        const __m512i a1 = _mm512_maskz_loadu_epi8(m1, r0 + 6 * x + 64);
        const __m512i b0 = _mm512_maskz_loadu_epi8(m0, r1 + 6 * x);
        const __m512i b1 = _mm512_maskz_loadu_epi8(m1, r1 + 6 * x + 64);
        const __m512i v[4] = {_mm512_permutex2var_epi8(a0, ie, a1), _mm512_permutex2var_epi8(a0, io, a1),
                              _mm512_permutex2var_epi8(b0, ie, b1), _mm512_permutex2var_epi8(b0, io, b1)};
        const ptrdiff_t bytes = 3 * (pixels - x < 16 ? pixels - x : 16);   // output bytes here
        for (int h = 0; h < 2 && bytes > 32 * h; ++h) {   // output bytes 32 h .. 32 h + 31
            __m512i sum = _mm512_set1_epi16(2);
            for (int i = 0; i < 4; ++i) {
                const __m256i part = h ? _mm512_extracti64x4_epi64(v[i], 1) : _mm512_castsi512_si256(v[i]);
                sum = _mm512_add_epi16(sum, _mm512_cvtepu8_epi16(part));
            }
            const ptrdiff_t n = bytes - 32 * h;
            const __mmask32 keep = n >= 32 ? ~(__mmask32)0 : (((__mmask32)1 << n) - 1);
            _mm256_mask_storeu_epi8(dst + 3 * x + 32 * h, keep, _mm512_cvtepi16_epi8(_mm512_srli_epi16(sum, 2)));
        }
    }
#else
    (void)r0; (void)r1; (void)pixels; (void)dst;
#endif
}

// The same for float32 RGB rows, without rounding: dst[3 x + c] = (r0[6 x + c] + r0[6 x + 3 + c]
// + (r1[6 x + c] + r1[6 x + 3 + c])) * 0.25, summed as the plain loop does. Does 16 pixels at a
// time while another pixel follows (its loads reach one value past the block) and returns how
// many pixels it did; the caller does the rest.
static inline ptrdiff_t shx_half_rgb_f32(const float* r0, const float* r1, ptrdiff_t pixels, float* dst) {
#if SHX_RESIZE_BLOCKS
    const __m512 quarter = _mm512_set1_ps(0.25f);
    ptrdiff_t x = 0;
    for (; x + 16 < pixels; x += 16) {
        const float* a = r0 + 6 * x;
        const float* b = r1 + 6 * x;
        for (int m = 0; m < 3; ++m) {
            const ptrdiff_t o = shx_half.f32_base[m];
            const __m512i idx = _mm512_load_si512(shx_half.f32[m]);
            // left taps, then right taps (3 floats on), each from 32 consecutive floats
            const __m512 l0 = _mm512_permutex2var_ps(_mm512_loadu_ps(a + o), idx, _mm512_loadu_ps(a + o + 16));
            const __m512 r0v = _mm512_permutex2var_ps(_mm512_loadu_ps(a + o + 3), idx, _mm512_loadu_ps(a + o + 19));
            const __m512 l1 = _mm512_permutex2var_ps(_mm512_loadu_ps(b + o), idx, _mm512_loadu_ps(b + o + 16));
            const __m512 r1v = _mm512_permutex2var_ps(_mm512_loadu_ps(b + o + 3), idx, _mm512_loadu_ps(b + o + 19));
            const __m512 sum = _mm512_add_ps(_mm512_add_ps(l0, r0v), _mm512_add_ps(l1, r1v));
            _mm512_storeu_ps(dst + 3 * x + 16 * m, _mm512_mul_ps(sum, quarter));
        }
    }
    return x;
#else
    (void)r0; (void)r1; (void)pixels; (void)dst;
    return 0;
#endif
}
