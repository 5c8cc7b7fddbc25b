// Single-precision GEMM, the way BLIS and OpenBLAS organise it:
//
//   for each NC-wide column panel of B          (kept in L3)
//     for each KC-deep slice of the K dimension
//       pack B[kc x nc] into NR-wide slivers     (one sliver, kc x NR, stays in L1)
//       for each MC-tall block of A
//         pack A[mc x kc] into MR-tall slivers   (the block stays in L2)
//         for each sliver pair: micro-kernel computes an MR x NR tile of C in registers
//
// Packing makes every micro-kernel read memory sequentially whatever the transposes, and pads the
// edges with zeros so the kernel always computes a full tile (edge tiles go through a small buffer).
// Micro-kernels: AVX-512 8x32 (16 zmm accumulators), AVX2+FMA 6x16 (12 ymm accumulators) and a
// portable 4x8 written in plain C that the compiler vectorises for SSE2 or NEON. Each SIMD kernel
// carries its own target attribute and is chosen at run time (cpu.c), so no build flags are needed.
//
// Measured (bench/run gemm, 2 threads, AMD EPYC Zen 3 with AVX2): 140-160 GFLOP/s, 0.96-1.10x NumPy's
// OpenBLAS 0.3.31 on every GPT-2 shape. What mattered: prefetching the C tile at kernel entry (+15%:
// C is read back after each KC slice and is not in cache), unrolling the K loop by 4 (+5-10%), and
// KC = 384 rather than 256 (fewer passes over C), and packing for the AVX2 kernel with 8 x 8 register
// transposes (the scalar packing loops were 15 % of a small model's training step, the LM head's
// backward products ran at 125 GFLOP/s, now ~165). The AVX-512 kernel has the same structure but has
// not been timed on an AVX-512 machine yet (it packs with the scalar loops).
//
// Threads: C is split into as many column (or row) ranges as there are threads and each thread runs
// the serial algorithm on its range with its own packing buffers. Simple, and balanced for the large
// GPT shapes; tried and rejected for now: sharing one packed B between threads (needs a barrier per
// KC slice for a few percent).
#include "ckernels.h"
#include "gemm_kernels.h"
#include "kernel_helpers.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define KC 384
#define MC 144  // a multiple of every MR (4, 6, 8)
#define NC 3072 // a multiple of every NR (8, 16, 32)

// Stores an accumulated tile row: c = alpha * acc + beta * c, never reading c when beta == 0.
#define STORE_ROW(store, load, mul, fmadd, set1, ptr, acc)                                               \
    do {                                                                                                 \
        if (beta == 0.0f) store((ptr), mul(set1(alpha), (acc)));                                        \
        else store((ptr), fmadd(set1(alpha), (acc), mul(set1(beta), load(ptr))));                        \
    } while (0)

#if defined(__x86_64__) || defined(__i386__)

__attribute__((target("avx512f")))
static void kernel_avx512_8x32(long kc, const void *packed_a, const void *packed_b, float *c, long ldc,
                               float alpha, float beta) {
    const float *a = packed_a, *b = packed_b;
    __m512 c0[8], c1[8];
    for (int r = 0; r < 8; r++) {
        c0[r] = c1[r] = _mm512_setzero_ps();
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0); // C is read at the end: start fetching now
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int r = 0; r < 8; r++) {
            __m512 ar = _mm512_set1_ps(a[r]);
            c0[r] = _mm512_fmadd_ps(ar, b0, c0[r]);
            c1[r] = _mm512_fmadd_ps(ar, b1, c1[r]);
        }
        a += 8;
        b += 32;
    }
    for (int r = 0; r < 8; r++) {
        STORE_ROW(_mm512_storeu_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_fmadd_ps, _mm512_set1_ps,
                  c + r * ldc, c0[r]);
        STORE_ROW(_mm512_storeu_ps, _mm512_loadu_ps, _mm512_mul_ps, _mm512_fmadd_ps, _mm512_set1_ps,
                  c + r * ldc + 16, c1[r]);
    }
}

__attribute__((target("avx2,fma")))
static void kernel_avx2_6x16(long kc, const void *packed_a, const void *packed_b, float *c, long ldc,
                             float alpha, float beta) {
    const float *a = packed_a, *b = packed_b;
    __m256 c0[6], c1[6];
    for (int r = 0; r < 6; r++) {
        c0[r] = c1[r] = _mm256_setzero_ps();
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0); // C is read at the end: start fetching now
        _mm_prefetch((const char *)(c + r * ldc + 15), _MM_HINT_T0);
    }
#pragma clang loop unroll_count(4)
    for (long k = 0; k < kc; k++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        for (int r = 0; r < 6; r++) {
            __m256 ar = _mm256_broadcast_ss(a + r);
            c0[r] = _mm256_fmadd_ps(ar, b0, c0[r]);
            c1[r] = _mm256_fmadd_ps(ar, b1, c1[r]);
        }
        a += 6;
        b += 16;
    }
    for (int r = 0; r < 6; r++) {
        STORE_ROW(_mm256_storeu_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_fmadd_ps, _mm256_set1_ps,
                  c + r * ldc, c0[r]);
        STORE_ROW(_mm256_storeu_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_fmadd_ps, _mm256_set1_ps,
                  c + r * ldc + 8, c1[r]);
    }
}

#endif

static void kernel_portable_4x8(long kc, const void *packed_a, const void *packed_b, float *c, long ldc,
                                float alpha, float beta) {
    const float *a = packed_a, *b = packed_b;
    float acc[4][8] = {{0}};
    for (long k = 0; k < kc; k++) {
        for (int r = 0; r < 4; r++)
            for (int j = 0; j < 8; j++) acc[r][j] += a[r] * b[j];
        a += 4;
        b += 8;
    }
    for (int r = 0; r < 4; r++)
        for (int j = 0; j < 8; j++)
            c[r * ldc + j] = beta == 0.0f ? alpha * acc[r][j] : alpha * acc[r][j] + beta * c[r * ldc + j];
}

// ---- Packing --------------------------------------------------------------------------------------

// op(A)[i0.., p0..] (mc x kc) into MR-tall slivers: sliver s holds kc columns of MR values each.
static void pack_a(int trans, const float *a, long lda, long i0, long p0, long mc, long kc, int mr,
                   float *dst) {
    for (long s = 0; s < mc; s += mr) {
        long rows = mc - s < mr ? mc - s : mr;
        if (!trans) {
            for (long r = 0; r < rows; r++) {
                const float *src = a + (i0 + s + r) * lda + p0;
                for (long k = 0; k < kc; k++) dst[k * mr + r] = src[k];
            }
        } else {
            for (long k = 0; k < kc; k++) {
                const float *src = a + (p0 + k) * lda + i0 + s;
                for (long r = 0; r < rows; r++) dst[k * mr + r] = src[r];
            }
        }
        for (long r = rows; r < mr; r++)
            for (long k = 0; k < kc; k++) dst[k * mr + r] = 0.0f;
        dst += (long)mr * kc;
    }
}

// op(B)[p0.., j0..] (kc x nc) into NR-wide slivers: sliver s holds kc rows of NR values each.
static void pack_b(int trans, const float *b, long ldb, long p0, long j0, long kc, long nc, int nr,
                   float *dst) {
    for (long s = 0; s < nc; s += nr) {
        long cols = nc - s < nr ? nc - s : nr;
        if (!trans) {
            for (long k = 0; k < kc; k++) {
                memcpy(dst + k * nr, b + (p0 + k) * ldb + j0 + s, sizeof(float) * (size_t)cols);
                for (long j = cols; j < nr; j++) dst[k * nr + j] = 0.0f;
            }
        } else {
            for (long j = 0; j < cols; j++) {
                const float *src = b + (j0 + s + j) * ldb + p0;
                for (long k = 0; k < kc; k++) dst[k * nr + j] = src[k];
            }
            for (long j = cols; j < nr; j++)
                for (long k = 0; k < kc; k++) dst[k * nr + j] = 0.0f;
        }
        dst += (long)nr * kc;
    }
}

#if defined(__x86_64__) || defined(__i386__)
// Packing for the AVX2 kernel's 6 x 16 tiles with 8 x 8 register transposes: the scalar loops above
// move one float per instruction with strided stores, and measured as a sixth of a training step.

// out[j] = column j of the 8 x 8 block held in rows x[0..7].
__attribute__((target("avx2,fma"))) static inline void transpose8(__m256 x[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(x[2 * i], x[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(x[2 * i], x[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int i = 0; i < 4; i++) {
        x[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
        x[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
}

// pack_a for MR = 6. Full slivers store 8 floats per k, of which the last 2 spill into the next k's
// place (overwritten next) or past the sliver (into the next sliver, packed after it, or into the
// buffer's slack): hence GEMM_PACK_SLACK.
__attribute__((target("avx2,fma"))) static void pack_a6_avx2(int trans, const float *a, long lda, long i0, long p0,
                                                              long mc, long kc, float *dst) {
    for (long s = 0; s < mc; s += 6, dst += 6 * kc) {
        if (mc - s < 6) {
            pack_a(trans, a, lda, i0 + s, p0, mc - s, kc, 6, dst);
            continue;
        }
        if (trans) {
            const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
            const float *src = a + p0 * lda + i0 + s;
            for (long k = 0; k < kc; k++) _mm256_storeu_ps(dst + k * 6, _mm256_maskload_ps(src + k * lda, six));
            continue;
        }
        const float *row = a + (i0 + s) * lda + p0;
        long k = 0;
        for (; k + 8 <= kc; k += 8) {
            __m256 x[8];
            for (int r = 0; r < 6; r++) x[r] = _mm256_loadu_ps(row + r * lda + k);
            x[6] = x[7] = _mm256_setzero_ps();
            transpose8(x);
            for (int j = 0; j < 8; j++) _mm256_storeu_ps(dst + (k + j) * 6, x[j]);
        }
        for (; k < kc; k++)
            for (int r = 0; r < 6; r++) dst[k * 6 + r] = row[r * lda + k];
    }
}

// pack_b for NR = 16; stored transposed, each output column is a contiguous row of B.
__attribute__((target("avx2,fma"))) static void pack_b16_avx2(int trans, const float *b, long ldb, long p0, long j0,
                                                               long kc, long nc, float *dst) {
    for (long s = 0; s < nc; s += 16, dst += 16 * kc) {
        if (nc - s < 16) {
            pack_b(trans, b, ldb, p0, j0 + s, kc, nc - s, 16, dst);
            continue;
        }
        if (!trans) { // rows are contiguous: two vector copies per k (memcpy of 64 bytes costs a call)
            const float *row = b + p0 * ldb + j0 + s;
            for (long k = 0; k < kc; k++) {
                _mm256_storeu_ps(dst + k * 16, _mm256_loadu_ps(row + k * ldb));
                _mm256_storeu_ps(dst + k * 16 + 8, _mm256_loadu_ps(row + k * ldb + 8));
            }
            continue;
        }
        const float *col = b + (j0 + s) * ldb + p0;
        long k = 0;
        for (; k + 8 <= kc; k += 8) {
            for (int half = 0; half < 2; half++) {
                __m256 x[8];
                for (int j = 0; j < 8; j++) x[j] = _mm256_loadu_ps(col + (half * 8 + j) * ldb + k);
                transpose8(x);
                for (int i = 0; i < 8; i++) _mm256_storeu_ps(dst + (k + i) * 16 + half * 8, x[i]);
            }
        }
        for (; k < kc; k++)
            for (int j = 0; j < 16; j++) dst[k * 16 + j] = col[j * ldb + k];
    }
}
#endif

// The fp32 families: each kernel with the packing routines that fill its slivers.
static void pack_a4(int t, const float *a, long lda, long i0, long p0, long mc, long kc, void *dst) {
    pack_a(t, a, lda, i0, p0, mc, kc, 4, dst);
}
static void pack_b8(int t, const float *b, long ldb, long p0, long j0, long kc, long nc, void *dst) {
    pack_b(t, b, ldb, p0, j0, kc, nc, 8, dst);
}
#if defined(__x86_64__) || defined(__i386__)
static void pack_a6(int t, const float *a, long lda, long i0, long p0, long mc, long kc, void *dst) {
    pack_a6_avx2(t, a, lda, i0, p0, mc, kc, dst);
}
static void pack_b16(int t, const float *b, long ldb, long p0, long j0, long kc, long nc, void *dst) {
    pack_b16_avx2(t, b, ldb, p0, j0, kc, nc, dst);
}
static void pack_a8(int t, const float *a, long lda, long i0, long p0, long mc, long kc, void *dst) {
    pack_a(t, a, lda, i0, p0, mc, kc, 8, dst);
}
static void pack_b32(int t, const float *b, long ldb, long p0, long j0, long kc, long nc, void *dst) {
    pack_b(t, b, ldb, p0, j0, kc, nc, 32, dst);
}
#endif

static const gemm_kernel_desc *kernel_for(llm_isa isa) {
    static const gemm_kernel_desc portable = {4, 8, 1, KC, MC, NC, kernel_portable_4x8, pack_a4, pack_b8, "portable 4x8"};
#if defined(__x86_64__) || defined(__i386__)
    static const gemm_kernel_desc avx2 = {6, 16, 1, KC, MC, NC, kernel_avx2_6x16, pack_a6, pack_b16, "avx2 6x16"};
    static const gemm_kernel_desc avx512 = {8, 32, 1, KC, MC, NC, kernel_avx512_8x32, pack_a8, pack_b32, "avx512 8x32"};
    if (isa >= LLM_ISA_AVX512) return &avx512;
    if (isa == LLM_ISA_AVX2) return &avx2;
#else
    (void)isa;
#endif
    return &portable;
}

// The same families with every packed value rounded to bfloat16 (`round_to_bf16`, done by gemm_serial):
// llm_sgemm_bf16 on CPUs without avx512_bf16.
const gemm_kernel_desc *gemm_fp32_on_bf16_kernel_for(llm_isa isa) {
    static const gemm_kernel_desc portable = {4, 8, 1, KC, MC, NC, kernel_portable_4x8, pack_a4, pack_b8,
                                              "portable 4x8, inputs rounded to bf16", 1};
#if defined(__x86_64__) || defined(__i386__)
    static const gemm_kernel_desc avx2 = {6, 16, 1, KC, MC, NC, kernel_avx2_6x16, pack_a6, pack_b16,
                                          "avx2 6x16, inputs rounded to bf16", 1};
    static const gemm_kernel_desc avx512 = {8, 32, 1, KC, MC, NC, kernel_avx512_8x32, pack_a8, pack_b32,
                                            "avx512 8x32, inputs rounded to bf16", 1};
    if (isa >= LLM_ISA_AVX512) return &avx512;
    if (isa == LLM_ISA_AVX2) return &avx2;
#else
    (void)isa;
#endif
    return &portable;
}

// ---- The blocked product ----------------------------------------------------------------------------

static void gemm_serial(const gemm_kernel_desc *kd, int ta, int tb, long m, long n, long k, float alpha,
                        const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    const int mr = kd->mr, nr = kd->nr, ks = kd->kstep;
    const long KCb = kd->kc, MCb = kd->mc, NCb = kd->nc;
    long mc_cap = m < MCb ? ((m + mr - 1) / mr) * mr : MCb;
    long nc_cap = n < NCb ? ((n + nr - 1) / nr) * nr : NCb;
    long steps_cap = ((k < KCb ? k : KCb) + ks - 1) / ks; // packed words per sliver row
    uint32_t *pa = (uint32_t *)thread_scratch(0, (size_t)(mc_cap * steps_cap + GEMM_PACK_SLACK));
    uint32_t *pb = (uint32_t *)thread_scratch(1, (size_t)(nc_cap * steps_cap + GEMM_PACK_SLACK));
    float tile[GEMM_MAX_MR * GEMM_MAX_NR];

    for (long jc = 0; jc < n; jc += NCb) {
        long nc = n - jc < NCb ? n - jc : NCb;
        for (long pc = 0; pc < k; pc += KCb) {
            long kc = k - pc < KCb ? k - pc : KCb, steps = (kc + ks - 1) / ks;
            kd->pack_b(tb, b, ldb, pc, jc, kc, nc, pb);
            if (kd->round_to_bf16) gemm_round_to_bf16(pb, (nc + nr - 1) / nr * nr * steps);
            float beta_k = pc == 0 ? beta : 1.0f; // later K slices add onto the first one's result
            for (long ic = 0; ic < m; ic += MCb) {
                long mc = m - ic < MCb ? m - ic : MCb;
                kd->pack_a(ta, a, lda, ic, pc, mc, kc, pa);
                if (kd->round_to_bf16) gemm_round_to_bf16(pa, (mc + mr - 1) / mr * mr * steps);
                for (long jr = 0; jr < nc; jr += nr) {
                    long nvalid = nc - jr < nr ? nc - jr : nr;
                    const uint32_t *bp = pb + jr * steps;
                    for (long ir = 0; ir < mc; ir += mr) {
                        long mvalid = mc - ir < mr ? mc - ir : mr;
                        const uint32_t *ap = pa + ir * steps;
                        float *cp = c + (ic + ir) * ldc + jc + jr;
                        if (mvalid == mr && nvalid == nr) {
                            kd->kernel(steps, ap, bp, cp, ldc, alpha, beta_k);
                        } else {
                            kd->kernel(steps, ap, bp, tile, nr, alpha, 0.0f);
                            for (long i = 0; i < mvalid; i++)
                                for (long j = 0; j < nvalid; j++)
                                    cp[i * ldc + j] = beta_k == 0.0f ? tile[i * nr + j]
                                                                     : tile[i * nr + j] + beta_k * cp[i * ldc + j];
                        }
                    }
                }
            }
        }
    }
}

// ---- Few rows: generation ----------------------------------------------------------------------------
//
// With one token at a time, A has a single row and packing B (all the weights) would copy more
// memory than the product reads. Instead each thread takes a range of C's columns and streams B once:
// C[i, :] += a[i, p] * B[p, :] for each p (or, with B transposed, one dot product per column).

#define SMALL_M 8

static inline __attribute__((always_inline)) void small_m_body(int ta, int tb, long m, long n0, long n1, long k,
                                                               float alpha, const float *a, long lda, const float *b,
                                                               long ldb, float beta, float *c, long ldc) {
    for (long i = 0; i < m; i++)
        for (long j = n0; j < n1; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    if (!tb) {
        for (long p = 0; p < k; p++) {
            const float *row = b + p * ldb;
            for (long i = 0; i < m; i++) {
                float s = alpha * (ta ? a[p * lda + i] : a[i * lda + p]);
                float *ci = c + i * ldc;
#pragma clang loop vectorize(enable)
                for (long j = n0; j < n1; j++) ci[j] += s * row[j];
            }
        }
    } else {
        for (long j = n0; j < n1; j++) {
            const float *col = b + j * ldb;
            for (long i = 0; i < m; i++) {
                float s = 0.0f;
                if (!ta) {
                    const float *ai = a + i * lda;
#pragma clang loop vectorize(enable) interleave(enable)
                    for (long p = 0; p < k; p++) s += ai[p] * col[p];
                } else {
                    for (long p = 0; p < k; p++) s += a[p * lda + i] * col[p];
                }
                c[i * ldc + j] += alpha * s;
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void small_m_avx2(int ta, int tb, long m, long n0, long n1, long k, float alpha,
                                                             const float *a, long lda, const float *b, long ldb, float beta,
                                                             float *c, long ldc) {
    small_m_body(ta, tb, m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
#endif
static void small_m_portable(int ta, int tb, long m, long n0, long n1, long k, float alpha, const float *a, long lda,
                             const float *b, long ldb, float beta, float *c, long ldc) {
    small_m_body(ta, tb, m, n0, n1, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// One parallel GEMM job: the operands, and how C is cut into `chunk`-wide ranges (of columns when
// `split_columns`, else of rows). The few-rows path always splits columns and needs no kernel.
typedef struct {
    const gemm_kernel_desc *kd;
    int ta, tb, split_columns;
    long m, n, k, chunk;
    float alpha, beta;
    const float *a, *b;
    float *c;
    long lda, ldb, ldc;
} gemm_job;

static void small_m_task(void *context, long t) {
    const gemm_job *j = context;
    long n0 = t * j->chunk, n1 = n0 + j->chunk < j->n ? n0 + j->chunk : j->n;
    if (n0 >= n1) return;
#if defined(__x86_64__) || defined(__i386__)
    if (llm_gemm_isa() >= LLM_ISA_AVX2) {
        small_m_avx2(j->ta, j->tb, j->m, n0, n1, j->k, j->alpha, j->a, j->lda, j->b, j->ldb, j->beta, j->c, j->ldc);
        return;
    }
#endif
    small_m_portable(j->ta, j->tb, j->m, n0, n1, j->k, j->alpha, j->a, j->lda, j->b, j->ldb, j->beta, j->c, j->ldc);
}

static void gemm_task(void *context, long t) {
    const gemm_job *j = context;
    long start = t * j->chunk;
    if (j->split_columns) {
        if (start >= j->n) return;
        long count = j->n - start < j->chunk ? j->n - start : j->chunk;
        const float *b = j->tb ? j->b + start * j->ldb : j->b + start;
        gemm_serial(j->kd, j->ta, j->tb, j->m, count, j->k, j->alpha, j->a, j->lda, b, j->ldb, j->beta,
                    j->c + start, j->ldc);
    } else {
        if (start >= j->m) return;
        long count = j->m - start < j->chunk ? j->m - start : j->chunk;
        const float *a = j->ta ? j->a + start : j->a + start * j->lda;
        gemm_serial(j->kd, j->ta, j->tb, count, j->n, j->k, j->alpha, a, j->lda, j->b, j->ldb, j->beta,
                    j->c + start * j->ldc, j->ldc);
    }
}

// The GEMM on at most `threads` threads, in fp32 or (`bf16`) on inputs rounded to bfloat16.
static void sgemm_on(long threads, int bf16, int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a,
                     long lda, const float *b, long ldb, float beta, float *c, long ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) { // the product is empty: C = beta * C
        for (long i = 0; i < m; i++)
            for (long j = 0; j < n; j++) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    double flops = 2.0 * (double)m * (double)n * (double)k;
    // Below ~20 us of work, waking threads costs more. With few rows the product is bound by reading B,
    // and two threads read faster than one from ~256 KB on (a 768 x 768 projection when decoding: the
    // FLOP rule alone kept those on one thread, so decoding did not gain from a second core).
    // The bf16 products always pack (rounding happens there), whatever the shape.
    int few_rows = m <= SMALL_M && !bf16;
    if (threads > 1 && (few_rows ? (double)n * (double)k * 4.0 < 262144.0 : flops < 4e6)) threads = 1;
    if (few_rows) {
        gemm_job job = {NULL, trans_a, trans_b, 1, m, n, k, 0, alpha, beta, a, b, c, lda, ldb, ldc};
        if (threads == 1) {
            job.chunk = n;
            small_m_task(&job, 0);
            return;
        }
        long per = (n + threads - 1) / threads;
        job.chunk = ((per + 15) / 16) * 16;
        llm_parallel_for((n + job.chunk - 1) / job.chunk, small_m_task, &job);
        return;
    }
    const gemm_kernel_desc *kd = bf16 ? gemm_bf16_kernel_for(llm_gemm_isa()) : kernel_for(llm_gemm_isa());
    gemm_job job = {kd, trans_a, trans_b, 0, m, n, k, 0, alpha, beta, a, b, c, lda, ldb, ldc};
    if (threads == 1) {
        gemm_serial(kd, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
    }
    // Split the longer side, in whole micro-tiles, so every thread gets an equal share.
    job.split_columns = n >= m;
    long length = job.split_columns ? n : m, unit = job.split_columns ? kd->nr : kd->mr;
    long per = (length + threads - 1) / threads;
    job.chunk = ((per + unit - 1) / unit) * unit;
    long tasks = (length + job.chunk - 1) / job.chunk;
    llm_parallel_for(tasks, gemm_task, &job);
}

void llm_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
               const float *b, long ldb, float beta, float *c, long ldc) {
    sgemm_on(llm_num_threads(), 0, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void llm_sgemm_serial(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                      const float *b, long ldb, float beta, float *c, long ldc) {
    sgemm_on(1, 0, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void llm_sgemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha, const float *a, long lda,
                    const float *b, long ldb, float beta, float *c, long ldc) {
    sgemm_on(llm_num_threads(), 1, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

const char *llm_gemm_kernel_name(int bf16) {
    llm_isa isa = llm_gemm_isa();
    return bf16 ? gemm_bf16_kernel_for(isa)->name : kernel_for(isa)->name;
}
