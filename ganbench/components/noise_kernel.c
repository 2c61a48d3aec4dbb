/* Standard normal noise for ganbench: Philox4x32-10 (Salmon et al., SC'11) + Box-Muller.
 *
 * Every floating-point operation below is one IEEE-754 float32 add, multiply, divide or square
 * root (built with -ffp-contract=off and without -ffast-math), log/sin/cos are the fixed
 * polynomials written out here rather than libm, and the constants are exact float32 values
 * (hex literals). So the output is bit-identical on every IEEE machine at every vector width,
 * and equal to the numpy reference ganbench.noise.philox_normal_numpy, which a test checks.
 *
 * Block b of stream (key0, key1) is Philox4x32-10 of counter (b mod 2^32, b div 2^32, 0, 0).
 * Its words x0..x3 give out[4b .. 4b+3] = r0 cos t0, r0 sin t0, r1 cos t1, r1 sin t1 with
 * r = sqrt(-2 ln u), u = ((x0 >> 8) + 1) 2^-24 in (0, 1], t = 2 pi (x1 >> 8) 2^-24 (and
 * x2, x3 likewise). A draw of n values uses ceil(n / 4) blocks.
 */
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#define M0 0xD2511F53u
#define M1 0xCD9E8D57u
#define W0 0x9E3779B9u
#define W1 0xBB67AE85u
#define BLOCK 64

#define LN2 0x1.62e43p-1f
#define QUARTER_TURN 0x1.921fb6p-22f /* float32(pi / 2) * 2^-22 */

/* Philox4x32-10 of counters (ctr + i, its high word, 0, 0) for i < BLOCK into x[word][i]. The
 * vector versions compute the same integers: a 32 x 32 -> 64-bit product per lane (vpmuludq on
 * the even lanes and on the odd lanes shifted down), where GCC's own vectorisation of the scalar
 * loop used 64-bit multiplies (vpmullq) and shuffles, 2.5x slower. */
static void philox_blocks(uint32_t key0, uint32_t key1, uint64_t ctr, uint32_t x[4][BLOCK]) {
#if defined(__AVX512F__)
    const __m512i m0 = _mm512_set1_epi32((int)M0), m1 = _mm512_set1_epi32((int)M1);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int i = 0; i < BLOCK; i += 16) {
        uint64_t base = ctr + (uint64_t)i;
        /* low words base + lane (mod 2^32); the high word carries where the low word wrapped */
        __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32((int)(uint32_t)base), lane);
        __mmask16 wrap = _mm512_cmplt_epu32_mask(c0, _mm512_set1_epi32((int)(uint32_t)base));
        __m512i c1 = _mm512_mask_add_epi32(_mm512_set1_epi32((int)(uint32_t)(base >> 32)), wrap,
                                           _mm512_set1_epi32((int)(uint32_t)(base >> 32)), _mm512_set1_epi32(1));
        __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
        uint32_t k0 = key0, k1 = key1;
        for (int round = 0; round < 10; round++) {
            __m512i e0 = _mm512_mul_epu32(c0, m0), o0 = _mm512_mul_epu32(_mm512_srli_epi64(c0, 32), m0);
            __m512i e1 = _mm512_mul_epu32(c2, m1), o1 = _mm512_mul_epu32(_mm512_srli_epi64(c2, 32), m1);
            __m512i hi0 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e0, 32), o0);
            __m512i lo0 = _mm512_mask_blend_epi32(0xAAAA, e0, _mm512_slli_epi64(o0, 32));
            __m512i hi1 = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(e1, 32), o1);
            __m512i lo1 = _mm512_mask_blend_epi32(0xAAAA, e1, _mm512_slli_epi64(o1, 32));
            __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32((int)k0));
            __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32((int)k1));
            c1 = lo1; c3 = lo0; c0 = n0; c2 = n2;
            k0 += W0; k1 += W1;
        }
        _mm512_storeu_si512((void *)(x[0] + i), c0);
        _mm512_storeu_si512((void *)(x[1] + i), c1);
        _mm512_storeu_si512((void *)(x[2] + i), c2);
        _mm512_storeu_si512((void *)(x[3] + i), c3);
    }
#elif defined(__AVX2__)
    const __m256i m0 = _mm256_set1_epi32((int)M0), m1 = _mm256_set1_epi32((int)M1);
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    for (int i = 0; i < BLOCK; i += 8) {
        uint64_t base = ctr + (uint64_t)i;
        __m256i lo = _mm256_set1_epi32((int)(uint32_t)base);
        __m256i c0 = _mm256_add_epi32(lo, lane);
        /* unsigned c0 < lo via the signed compare of both with the sign bit flipped */
        __m256i wrap = _mm256_cmpgt_epi32(_mm256_xor_si256(lo, sign), _mm256_xor_si256(c0, sign));
        __m256i c1 = _mm256_sub_epi32(_mm256_set1_epi32((int)(uint32_t)(base >> 32)), wrap);
        __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
        uint32_t k0 = key0, k1 = key1;
        for (int round = 0; round < 10; round++) {
            __m256i e0 = _mm256_mul_epu32(c0, m0), o0 = _mm256_mul_epu32(_mm256_srli_epi64(c0, 32), m0);
            __m256i e1 = _mm256_mul_epu32(c2, m1), o1 = _mm256_mul_epu32(_mm256_srli_epi64(c2, 32), m1);
            __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
            __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
            __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
            __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
            __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32((int)k0));
            __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32((int)k1));
            c1 = lo1; c3 = lo0; c0 = n0; c2 = n2;
            k0 += W0; k1 += W1;
        }
        _mm256_storeu_si256((__m256i *)(x[0] + i), c0);
        _mm256_storeu_si256((__m256i *)(x[1] + i), c1);
        _mm256_storeu_si256((__m256i *)(x[2] + i), c2);
        _mm256_storeu_si256((__m256i *)(x[3] + i), c3);
    }
#else
    for (int i = 0; i < BLOCK; i++) {
        uint64_t c = ctr + (uint64_t)i;
        uint32_t c0 = (uint32_t)c, c1 = (uint32_t)(c >> 32), c2 = 0, c3 = 0;
        uint32_t k0 = key0, k1 = key1;
        for (int round = 0; round < 10; round++) {
            uint64_t p0 = (uint64_t)M0 * c0, p1 = (uint64_t)M1 * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
            c1 = (uint32_t)p1; c3 = (uint32_t)p0; c0 = n0; c2 = n2;
            k0 += W0; k1 += W1;
        }
        x[0][i] = c0; x[1][i] = c1; x[2][i] = c2; x[3][i] = c3;
    }
#endif
}

void ganbench_normal(uint32_t key0, uint32_t key1, uint64_t block0, float *out, int64_t n) {
    uint32_t x[4][BLOCK];
    float r[2][BLOCK], c[2][BLOCK], sn[2][BLOCK];
    int64_t nblocks = (n + 3) / 4;
    for (int64_t b0 = 0; b0 < nblocks; b0 += BLOCK) {
        philox_blocks(key0, key1, block0 + (uint64_t)b0, x);
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < BLOCK; i++) {
                uint32_t a = x[2 * h][i] >> 8, t = x[2 * h + 1][i] >> 8;
                /* ln u for u = (a + 1) 2^-24 = m 2^(e - 24), m in [sqrt(1/2), sqrt(2)]: the
                   mantissa is halved (exponent bits, exact) when above sqrt(2) = 0x3FB504F3 */
                float f = (float)(int32_t)(a + 1u);
                uint32_t bits; memcpy(&bits, &f, 4);
                uint32_t mb = (bits & 0x7FFFFFu) | 0x3F800000u;
                uint32_t big = mb > 0x3FB504F3u;
                mb -= big << 23;
                int32_t e = (int32_t)(bits >> 23) - 127 + (int32_t)big;
                float m; memcpy(&m, &mb, 4);
                /* ln m = 2 atanh(s) = 2 s (1 + s^2/3 + ... + s^10/11), s = (m-1)/(m+1), |s| < 0.172 */
                float s = (m - 1.0f) / (m + 1.0f);
                float z = s * s;
                float p = 0x1.745d18p-4f;
                p = p * z + 0x1.c71c72p-4f;
                p = p * z + 0x1.24924ap-3f;
                p = p * z + 0x1.99999ap-3f;
                p = p * z + 0x1.555556p-2f;
                p = p * z + 1.0f;
                float lnu = (float)(e - 24) * LN2 + 2.0f * s * p;
                r[h][i] = __builtin_sqrtf(-2.0f * lnu);
                /* angle q pi/2 + y: quadrant q = top 2 bits, y in [0, pi/2); Taylor to y^11, y^12 */
                uint32_t q = t >> 22;
                float y = (float)(int32_t)(t & 0x3FFFFFu) * QUARTER_TURN;
                float w = y * y;
                float sp = -0x1.ae6456p-26f;
                sp = sp * w + 0x1.71de3ap-19f;
                sp = sp * w + -0x1.a01a02p-13f;
                sp = sp * w + 0x1.111112p-7f;
                sp = sp * w + -0x1.555556p-3f;
                sp = sp * w + 1.0f;
                float sy = sp * y;
                float cp = 0x1.1eed8ep-29f;
                cp = cp * w + -0x1.27e4fcp-22f;
                cp = cp * w + 0x1.a01a02p-16f;
                cp = cp * w + -0x1.6c16c2p-10f;
                cp = cp * w + 0x1.555556p-5f;
                cp = cp * w + -0.5f;
                float cy = cp * w + 1.0f;
                /* (cos, sin) of the angle is (cy, sy), (-sy, cy), (-cy, -sy), (sy, -cy) for
                   q = 0..3, picked with bit masks so the loop has no branches and vectorises */
                uint32_t sb, cb; memcpy(&sb, &sy, 4); memcpy(&cb, &cy, 4);
                uint32_t odd = 0u - (q & 1u);
                uint32_t cbits = ((sb & odd) | (cb & ~odd)) ^ (((q + 1u) & 2u) << 30);
                uint32_t sbits = ((cb & odd) | (sb & ~odd)) ^ ((q & 2u) << 30);
                memcpy(&c[h][i], &cbits, 4); memcpy(&sn[h][i], &sbits, 4);
            }
        }
        float *o = out + 4 * b0;
        int64_t left = n - 4 * b0;
        if (left >= 4 * BLOCK) {
            for (int i = 0; i < BLOCK; i++) {
                o[4 * i] = r[0][i] * c[0][i]; o[4 * i + 1] = r[0][i] * sn[0][i];
                o[4 * i + 2] = r[1][i] * c[1][i]; o[4 * i + 3] = r[1][i] * sn[1][i];
            }
        } else {
            for (int64_t j = 0; j < left; j++) {
                int i = (int)(j / 4), h = (int)(j % 4) / 2;
                o[j] = r[h][i] * ((j % 2) ? sn[h][i] : c[h][i]);
            }
        }
    }
}

/* S streams at once: stream s (key keys[s], from block blocks[s]) fills out[s n .. s n + n - 1].
 * Seeds are shared among `threads` threads of OpenMP's pool (torch's, see ganbench.kernels); a
 * seed's values do not depend on which thread draws them. */
void ganbench_normal_seeds(int64_t S, const uint64_t *keys, const uint64_t *blocks, float *out,
                           int64_t n, int threads) {
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
    for (int64_t s = 0; s < S; s++)
        ganbench_normal((uint32_t)keys[s], (uint32_t)(keys[s] >> 32), blocks[s], out + s * n, n);
}
