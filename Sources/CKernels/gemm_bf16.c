// Matrix products on bfloat16 inputs with fp32 sums: the kernels behind mixed-precision training
// (`llm_sgemm_bf16`, driven by the same blocked loop as the fp32 GEMM in gemm.c).
//
// bfloat16 is the top half of an fp32: the same 8-bit exponent, 8 bits of mantissa instead of 24. A
// product of two bf16 values is exact in fp32, so the only loss is rounding the inputs. AVX-512 BF16's
// `vdpbf16ps` takes, in each fp32 lane, a pair of bf16 values from each operand and adds both products
// into the accumulator: twice the multiply-adds of an fp32 FMA per instruction. So the packed operands
// hold pairs along K: word q of a sliver row is (x[2q], x[2q + 1]) as two bf16 halves, low half first;
// an odd K ends with a zero partner. Packing converts fp32 to bf16 (round to nearest even), once per panel.
//
//   A sliver (MR rows):    word [q * MR + r]  = (A[r, 2q], A[r, 2q+1])    broadcast, one row per accumulator
//   B sliver (NR columns): word [q * NR + j]  = (B[2q, j], B[2q+1, j])    a vector of 16 columns
//
// Kernels: AVX-512 BF16 8x32 (16 zmm accumulators, as the fp32 8x32 kernel). CPUs without avx512_bf16
// (AVX2, or AVX-512 without BF16) run the fp32 kernels on packed values rounded to bf16: the same rounding
// of the inputs, at fp32 speed, so a bf16 run behaves alike everywhere.
#include "ckernels.h"
#include "gemm_kernels.h"
#include "kernel_helpers.h"

#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// ---- CPUs without avx512_bf16 ---------------------------------------------------------------------------
// A bf16 value kept as an fp32 (low 16 bits zero) is the same number, and the product of two of them is exact
// in fp32 (8-bit mantissas), so the fp32 kernels on packed panels rounded to bf16 compute what vdpbf16ps does:
// exact products of the rounded inputs, summed in fp32 (in another order). A bf16 run behaves alike on every
// CPU, at the fp32 kernels' speed. gemm.c's driver applies this rounding to the panels of those families.

void gemm_round_to_bf16(void *words, long count) {
    uint32_t *w = words;
    for (long i = 0; i < count; i++) w[i] = fp32_bits_to_bf16_bits(w[i]); // as llm_fp32_to_bf16, in place
}

#if defined(__x86_64__) || defined(__i386__)

// One packed word: bf16(lo) in the low half, bf16(hi) in the high half.
static inline uint32_t bf16_pair(float lo, float hi) {
    return (uint32_t)llm_fp32_to_bf16(lo) | (uint32_t)llm_fp32_to_bf16(hi) << 16;
}

// ---- Packing, any tile size (element by element) ------------------------------------------------------

static inline float element(int trans, const float *x, long ld, long row, long col) {
    return trans ? x[col * ld + row] : x[row * ld + col];
}

// One sliver: op(A)[i0 + r, p0 + 2q] and [i0 + r, p0 + 2q + 1] for `rows` rows (zeros up to mr) and pairs [q0, steps).
static void pack_a_sliver(int trans, const float *a, long lda, long i0, long p0, long rows, long kc, int mr, long q0,
                          uint32_t *dst) {
    long steps = (kc + 1) / 2;
    for (long q = q0; q < steps; q++) {
        long k0 = p0 + 2 * q;
        int has_partner = 2 * q + 1 < kc;
        for (long r = 0; r < rows; r++) {
            float x0 = element(trans, a, lda, i0 + r, k0);
            float x1 = has_partner ? element(trans, a, lda, i0 + r, k0 + 1) : 0.0f;
            dst[q * mr + r] = bf16_pair(x0, x1);
        }
        for (long r = rows; r < mr; r++) dst[q * mr + r] = 0;
    }
}

// One sliver: op(B)[p0 + 2q, j0 + j] and [p0 + 2q + 1, j0 + j] for `cols` columns (zeros up to nr) and pairs [q0, steps).
static void pack_b_sliver(int trans, const float *b, long ldb, long p0, long j0, long cols, long kc, int nr, long q0,
                          uint32_t *dst) {
    long steps = (kc + 1) / 2;
    for (long q = q0; q < steps; q++) {
        long k0 = p0 + 2 * q;
        int has_partner = 2 * q + 1 < kc;
        for (long j = 0; j < cols; j++) {
            float x0 = element(!trans, b, ldb, j0 + j, k0); // B[k, j] is b[k * ldb + j] untransposed
            float x1 = has_partner ? element(!trans, b, ldb, j0 + j, k0 + 1) : 0.0f;
            dst[q * nr + j] = bf16_pair(x0, x1);
        }
        for (long j = cols; j < nr; j++) dst[q * nr + j] = 0;
    }
}

// ---- AVX-512 BF16 ------------------------------------------------------------------------------------

#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

BF16_TARGET static void kernel_bf16_8x32(long steps, const void *packed_a, const void *packed_b, float *c, long ldc,
                                         float alpha, float beta) {
    const uint32_t *a = packed_a, *b = packed_b;
    __m512 c0[8], c1[8];
    for (int r = 0; r < 8; r++) {
        c0[r] = c1[r] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0); // C is read at the end: start fetching now
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (long q = 0; q < steps; q++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
        for (int r = 0; r < 8; r++) {
            __m512bh ar = (__m512bh)_mm512_set1_epi32((int)a[r]);
            c0[r] = _mm512_dpbf16_ps(c0[r], ar, b0);
            c1[r] = _mm512_dpbf16_ps(c1[r], ar, b1);
        }
        a += 8;
        b += 32;
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < 8; r++) {
        float *cr = c + r * ldc;
        if (beta == 0.0f) {
            _mm512_storeu_ps(cr, _mm512_mul_ps(va, c0[r]));
            _mm512_storeu_ps(cr + 16, _mm512_mul_ps(va, c1[r]));
        } else {
            _mm512_storeu_ps(cr, _mm512_fmadd_ps(va, c0[r], _mm512_mul_ps(vb, _mm512_loadu_ps(cr))));
            _mm512_storeu_ps(cr + 16, _mm512_fmadd_ps(va, c1[r], _mm512_mul_ps(vb, _mm512_loadu_ps(cr + 16))));
        }
    }
}

// 32 fp32 values → 16 words of bf16 pairs (x[0], x[1]), (x[2], x[3]), …: the conversion keeps the order.
BF16_TARGET static inline __m512i pairs_of_32(const float *x) {
    return (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + 16), _mm512_loadu_ps(x));
}

// Words [q * stride + lane] = the q-th pair of each of `lanes` rows of 32 values: a transpose through a
// small buffer (the pairs of one row are contiguous, the sliver wants them across rows).
BF16_TARGET static inline void scatter_pairs(const float *rows, long ld, int lanes, int stride, uint32_t *dst) {
    uint32_t tmp[32][16];
    for (int l = 0; l < lanes; l++) _mm512_storeu_si512(tmp[l], pairs_of_32(rows + l * ld));
    for (int q = 0; q < 16; q++)
        for (int l = 0; l < lanes; l++) dst[q * stride + l] = tmp[l][q];
}

// [x[0..7], y[0..7]] in one vector.
BF16_TARGET static inline __m512 two_rows_of_8(const float *x, const float *y) {
    __m512d low = _mm512_castpd256_pd512(_mm256_castps_pd(_mm256_loadu_ps(x)));
    return _mm512_castpd_ps(_mm512_insertf64x4(low, _mm256_castps_pd(_mm256_loadu_ps(y)), 1));
}

// A slivers of 8 rows.
BF16_TARGET static void pack_a8_bf16(int trans, const float *a, long lda, long i0, long p0, long mc, long kc,
                                     void *packed) {
    uint32_t *dst = packed;
    long steps = (kc + 1) / 2;
    for (long s = 0; s < mc; s += 8, dst += 8 * steps) {
        if (mc - s < 8) {
            pack_a_sliver(trans, a, lda, i0 + s, p0, mc - s, kc, 8, 0, dst);
            continue;
        }
        long q = 0;
        if (!trans) { // rows along K: 16 pairs of each row at a time
            const float *row = a + (i0 + s) * lda + p0;
            for (; 2 * q + 32 <= kc; q += 16) scatter_pairs(row + 2 * q, lda, 8, 8, dst + q * 8);
        } else { // K along the rows of a: interleave rows k and k + 1, two pairs (four rows of a) at a time
            static const uint16_t interleave[32] = {0,  8,  1,  9,  2,  10, 3,  11, 4,  12, 5,  13, 6,  14, 7,  15,
                                                    16, 24, 17, 25, 18, 26, 19, 27, 20, 28, 21, 29, 22, 30, 23, 31};
            const __m512i order = _mm512_loadu_si512(interleave);
            const float *col = a + p0 * lda + i0 + s;
            for (; 2 * q + 4 <= kc; q += 2) {
                const float *k0 = col + 2 * q * lda;
                __m512 x = two_rows_of_8(k0, k0 + lda), y = two_rows_of_8(k0 + 2 * lda, k0 + 3 * lda);
                __m512i both = (__m512i)_mm512_cvtne2ps_pbh(y, x);
                _mm512_storeu_si512(dst + q * 8, _mm512_permutexvar_epi16(order, both));
            }
        }
        pack_a_sliver(trans, a, lda, i0 + s, p0, 8, kc, 8, q, dst); // the last pairs
    }
}

// B slivers of 32 columns.
BF16_TARGET static void pack_b32_bf16(int trans, const float *b, long ldb, long p0, long j0, long kc, long nc,
                                      void *packed) {
    uint32_t *dst = packed;
    long steps = (kc + 1) / 2;
    static const uint16_t zip[32] = {0, 32, 1, 33, 2,  34, 3,  35, 4,  36, 5,  37, 6,  38, 7,  39,
                                     8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47};
    const __m512i first = _mm512_loadu_si512(zip); // word j: value j of `lo`, then value j of `hi`
    const __m512i second = _mm512_add_epi16(first, _mm512_set1_epi16(16));
    for (long s = 0; s < nc; s += 32, dst += 32 * steps) {
        if (nc - s < 32) {
            pack_b_sliver(trans, b, ldb, p0, j0 + s, nc - s, kc, 32, 0, dst);
            continue;
        }
        long q = 0;
        if (!trans) { // rows k and k + 1 of B, 32 columns each, interleaved value by value
            const float *row = b + p0 * ldb + j0 + s;
            for (; 2 * q + 2 <= kc; q++) {
                const float *k0 = row + 2 * q * ldb;
                __m512i lo = pairs_of_32(k0), hi = pairs_of_32(k0 + ldb);
                _mm512_storeu_si512(dst + q * 32, _mm512_permutex2var_epi16(lo, first, hi));
                _mm512_storeu_si512(dst + q * 32 + 16, _mm512_permutex2var_epi16(lo, second, hi));
            }
        } else { // columns of B along K: 16 pairs of each column at a time
            const float *col = b + (j0 + s) * ldb + p0;
            for (; 2 * q + 32 <= kc; q += 16) scatter_pairs(col + 2 * q, ldb, 32, 32, dst + q * 32);
        }
        pack_b_sliver(trans, b, ldb, p0, j0 + s, 32, kc, 32, q, dst); // the last pairs
    }
}

#endif

// The vdpbf16ps kernel needs the CPU's avx512_bf16 and an ISA setting that allows AVX-512.
static int native_for(llm_isa isa) { return isa >= LLM_ISA_AVX512 && llm_cpu_has_bf16(); }

int llm_gemm_bf16_native(void) { return native_for(llm_gemm_isa()); }

const gemm_kernel_desc *gemm_bf16_kernel_for(llm_isa isa) {
#if defined(__x86_64__) || defined(__i386__)
    // K slices of 512 values are 256 packed words deep: a 32-column B sliver is 32 KB, as the fp32 one of 384 is 48.
    static const gemm_kernel_desc avx512 = {8, 32, 2, 512, 144, 3072, kernel_bf16_8x32, pack_a8_bf16, pack_b32_bf16,
                                            "avx512_bf16 8x32"};
    if (native_for(isa)) return &avx512;
#endif
    return gemm_fp32_on_bf16_kernel_for(isa);
}
