// Weights stored in fewer bits, and the matrix product that reads them: y = x W^T (+ bias).
//
// Generating a token reads every weight once, so decoding speed is bytes of weights over memory
// bandwidth. These kernels keep W as stored (f32, f16, bf16 or ggml's q8_0) and convert in registers:
//   f16   F16C's vcvtph2ps (8 halves → 8 floats), or the exact software conversion below
//   bf16  the top half of a float32: widen to 32 bits and shift left by 16
//   q8_0  blocks of 32 int8 values with one fp16 scale d (value = d * q), exactly ggml's layout and
//         quantizer; the activations are quantized per block the same way, and each block's dot
//         product is an integer sum (AVX2 vpmaddubsw + vpmaddwd, or AVX-512 VNNI's vpdpbusd) scaled
//         by d_w * d_x.
// W is (n, k) row-major — output features by input features, as GGUF stores it — so each output is
// one dot product along a contiguous row (q8_0's blocks run along k).
//
// Two paths:
//   few rows (m <= LLM_ROW_KERNEL_MAX_M: decoding one or a few sequences): the threads split the n
//     outputs and stream W once; every row of x is dotted with each W row while it is in L1. Each
//     output is one fixed chain of operations whatever m, the thread count or the output's place in a
//     block, so a row's result does not depend on the other rows in the batch (batch invariance).
//   many rows (prefill): W is converted to fp32 in panels of PANEL outputs, per thread, and multiplied
//     with the packed GEMM (gemm.c), so prefill runs near fp32 GEMM speed for every type.
#include "ckernels.h"
#include "kernel_helpers.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define PANEL 256 // outputs converted to fp32 at a time by the many-rows path (256 x k floats per thread)

typedef struct {
    uint16_t d;     // fp16 scale
    int8_t qs[32];  // quants
} block_q8_0;       // 34 bytes, as in ggml

_Static_assert(sizeof(block_q8_0) == 34, "q8_0 blocks are 34 bytes");

// ---- Scalar conversions ------------------------------------------------------------------------------

float llm_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ff, x;
    if (e == 0) {
        float f = (float)m * 0x1p-24f; // zero or subnormal: m * 2^-24, exact
        memcpy(&x, &f, 4);
        x |= sign;
    } else if (e == 31) {
        x = sign | 0x7f800000 | (m << 13);
    } else {
        x = sign | ((e + 112) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &x, 4);
    return f;
}

// Round to nearest, ties to even (as F16C, NumPy and PyTorch convert).
uint16_t llm_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffff;
    if (ax > 0x7f800000) return (uint16_t)(sign | 0x7e00 | ((ax >> 13) & 0x3ff)); // NaN stays NaN
    if (ax >= 0x477ff000) return (uint16_t)(sign | 0x7c00);                      // >= 65520 → inf
    if (ax < 0x38800000) {                                                       // below 2^-14: subnormal
        if (ax < 0x33000000) return (uint16_t)sign;                              // below 2^-25 → 0
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000, shift = 126 - e;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t h = (ax >> 13) - (112u << 10), rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++; // a carry moves into the exponent, as it should
    return (uint16_t)(sign | h);
}

// Round to nearest, ties to even; NaNs stay quiet NaNs (as PyTorch and ggml convert).
uint16_t llm_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    return (uint16_t)(fp32_bits_to_bf16_bits(x) >> 16);
}

// ggml's quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d) (halves away from zero).
static void quantize_block_q8_0(const float *x, block_q8_0 *y) {
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
    y->d = llm_fp32_to_fp16(d);
    for (int j = 0; j < 32; j++) y->qs[j] = (int8_t)roundf(x[j] * id);
}

// ---- Types -----------------------------------------------------------------------------------------------

long llm_weight_row_bytes(llm_weight_type type, long k) {
    switch (type) {
    case LLM_WEIGHT_F32: return 4 * k;
    case LLM_WEIGHT_F16:
    case LLM_WEIGHT_BF16: return 2 * k;
    case LLM_WEIGHT_Q8_0: return k % 32 == 0 ? k / 32 * (long)sizeof(block_q8_0) : -1;
    }
    return -1;
}

void llm_weight_quantize(llm_weight_type type, const float *x, void *out, long rows, long k) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * k;
        switch (type) {
        case LLM_WEIGHT_F32: memcpy((float *)out + r * k, xr, (size_t)k * 4); break;
        case LLM_WEIGHT_F16:
            for (long i = 0; i < k; i++) ((uint16_t *)out)[r * k + i] = llm_fp32_to_fp16(xr[i]);
            break;
        case LLM_WEIGHT_BF16:
            for (long i = 0; i < k; i++) ((uint16_t *)out)[r * k + i] = llm_fp32_to_bf16(xr[i]);
            break;
        case LLM_WEIGHT_Q8_0:
            for (long b = 0; b < k / 32; b++) quantize_block_q8_0(xr + 32 * b, (block_q8_0 *)out + r * (k / 32) + b);
            break;
        }
    }
}

void llm_weight_dequantize(llm_weight_type type, const void *w, float *out, long rows, long k) {
    for (long r = 0; r < rows; r++) {
        float *o = out + r * k;
        switch (type) {
        case LLM_WEIGHT_F32: memcpy(o, (const float *)w + r * k, (size_t)k * 4); break;
        case LLM_WEIGHT_F16:
            for (long i = 0; i < k; i++) o[i] = llm_fp16_to_fp32(((const uint16_t *)w)[r * k + i]);
            break;
        case LLM_WEIGHT_BF16:
            for (long i = 0; i < k; i++) o[i] = bf16_to_fp32(((const uint16_t *)w)[r * k + i]);
            break;
        case LLM_WEIGHT_Q8_0: {
            const block_q8_0 *blocks = (const block_q8_0 *)w + r * (k / 32);
            for (long b = 0; b < k / 32; b++) {
                float d = llm_fp16_to_fp32(blocks[b].d);
                for (int j = 0; j < 32; j++) o[32 * b + j] = d * (float)blocks[b].qs[j];
            }
            break;
        }
        }
    }
}

// ---- Few rows: portable kernels ------------------------------------------------------------------------
//
// One output j of one row i: a left-to-right sum. (Compilers do not reorder it, so it is slow but it is
// the reference the SIMD kernels are tested against, besides dequantize-then-fp32.)

static void rows_portable(llm_weight_type type, const float *x, const block_q8_0 *xq, long m, long k,
                          const char *w, long row_bytes, long j0, long j1, float *y, long n) {
    for (long j = j0; j < j1; j++) {
        const char *wj = w + j * row_bytes;
        for (long i = 0; i < m; i++) {
            const float *xi = x + i * k;
            float s = 0.0f;
            switch (type) {
            case LLM_WEIGHT_F32:
                for (long p = 0; p < k; p++) s += xi[p] * ((const float *)wj)[p];
                break;
            case LLM_WEIGHT_F16:
                for (long p = 0; p < k; p++) s += xi[p] * llm_fp16_to_fp32(((const uint16_t *)wj)[p]);
                break;
            case LLM_WEIGHT_BF16:
                for (long p = 0; p < k; p++) s += xi[p] * bf16_to_fp32(((const uint16_t *)wj)[p]);
                break;
            case LLM_WEIGHT_Q8_0: {
                const block_q8_0 *wb = (const block_q8_0 *)wj, *xb = xq + i * (k / 32);
                for (long b = 0; b < k / 32; b++) {
                    int32_t sum = 0;
                    for (int t = 0; t < 32; t++) sum += (int32_t)wb[b].qs[t] * (int32_t)xb[b].qs[t];
                    s += (float)sum * (llm_fp16_to_fp32(wb[b].d) * llm_fp16_to_fp32(xb[b].d));
                }
                break;
            }
            }
            y[i * n + j] = s;
        }
    }
}

// ---- Few rows: AVX2 (+FMA, F16C) kernels -------------------------------------------------------------

#if defined(__x86_64__) || defined(__i386__)
#define AVX2_TARGET __attribute__((target("avx2,fma,f16c"), always_inline)) static inline

AVX2_TARGET float hsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

AVX2_TARGET __m256 load8(llm_weight_type type, const char *row, long p) {
    switch (type) {
    case LLM_WEIGHT_F16: return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + p)));
    case LLM_WEIGHT_BF16:
        return _mm256_castsi256_ps(
            _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + p))), 16));
    default: return _mm256_loadu_ps((const float *)row + p);
    }
}

AVX2_TARGET float load1(llm_weight_type type, const char *row, long p) {
    switch (type) {
    case LLM_WEIGHT_F16: return _cvtsh_ss(((const uint16_t *)row)[p]);
    case LLM_WEIGHT_BF16: return bf16_to_fp32(((const uint16_t *)row)[p]);
    default: return ((const float *)row)[p];
    }
}

// Eight outputs at a time (eight independent FMA chains, eight streams of W in flight), then the rest one
// by one. Output j of row i is always: acc = fma(x[p..p+8], w[p..p+8], acc) for p = 0, 8, ...; hsum8(acc);
// then the tail added left to right — the same operations in both loops, so the grouping never changes a
// result. (Four outputs at a time left the f16 kernel waiting on memory at 6 GB/s on one core.)
#define GROUP 8
AVX2_TARGET void rows_float_avx2_body(llm_weight_type type, const float *x, long m, long k, const char *w,
                                      long row_bytes, long j0, long j1, float *y, long n) {
    long k8 = k & ~7L, j = j0;
    for (; j + GROUP <= j1; j += GROUP) {
        const char *wr[GROUP];
        for (int g = 0; g < GROUP; g++) wr[g] = w + (j + g) * row_bytes;
        // The next group's rows follow this group's in memory: while these are read, ask for those, a cache
        // line per element byte each step, which covers exactly the next group by the end of the row.
        const char *next = w + (j + GROUP) * row_bytes;
        const long lines = type == LLM_WEIGHT_F32 ? 0 : 2; // f32: measured slower with it (its longer rows train the prefetcher)
        for (long i = 0; i < m; i++) {
            const float *xi = x + i * k;
            __m256 acc[GROUP];
            for (int g = 0; g < GROUP; g++) acc[g] = _mm256_setzero_ps();
            for (long p = 0; p < k8; p += 8) {
                if (i == 0)
                    for (long q = 0; q < lines; q++) _mm_prefetch(next + ((p / 8) * lines + q) * 64, _MM_HINT_T0);
                __m256 xv = _mm256_loadu_ps(xi + p);
                for (int g = 0; g < GROUP; g++) acc[g] = _mm256_fmadd_ps(xv, load8(type, wr[g], p), acc[g]);
            }
            float *yi = y + i * n + j;
            for (int g = 0; g < GROUP; g++) {
                float s = hsum8(acc[g]);
                for (long p = k8; p < k; p++) s = fmaf(xi[p], load1(type, wr[g], p), s);
                yi[g] = s;
            }
        }
    }
    for (; j < j1; j++) {
        const char *w0 = w + j * row_bytes;
        for (long i = 0; i < m; i++) {
            const float *xi = x + i * k;
            __m256 a0 = _mm256_setzero_ps();
            for (long p = 0; p < k8; p += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(xi + p), load8(type, w0, p), a0);
            float s0 = hsum8(a0);
            for (long p = k8; p < k; p++) s0 = fmaf(xi[p], load1(type, w0, p), s0);
            y[i * n + j] = s0;
        }
    }
}

// Several rows (m >= 2, a serving batch). Row 0 of each group of 8 outputs runs the loop above, which
// streams the group's W from memory eight rows at a time; the other rows then find W in L1/L2 and run in
// tiles of up to 3 rows x 4 outputs, so each W vector loaded (and converted) serves three rows and each x
// vector four outputs, while they ask for the next group's W. (Re-running the one-row loop for every row
// re-read the group from L2 per row: the head ran at 18 GFLOP/s with 8 rows.) Each output is computed by
// exactly the operations of the loop above, so m = 1 and m > 1 give bit-identical rows.
#define TILE_OUTPUTS 4
AVX2_TARGET void float_tile(llm_weight_type type, const float *x, long rows, long k, const char *w, long row_bytes,
                            float *y, long n, const char *next) {
    long k8 = k & ~7L, lines = next && type != LLM_WEIGHT_F32 ? 1 : 0; // 4 rows x 8 halves per step (f32: slower with it, as above)
    __m256 acc[3][TILE_OUTPUTS];
    for (int r = 0; r < 3; r++)
        for (int g = 0; g < TILE_OUTPUTS; g++) acc[r][g] = _mm256_setzero_ps();
    for (long p = 0; p < k8; p += 8) {
        for (long q = 0; q < lines; q++) _mm_prefetch(next + ((p / 8) * lines + q) * 64, _MM_HINT_T0);
        __m256 xv[3];
        for (int r = 0; r < rows; r++) xv[r] = _mm256_loadu_ps(x + r * k + p);
        for (int g = 0; g < TILE_OUTPUTS; g++) {
            __m256 wv = load8(type, w + g * row_bytes, p);
            for (int r = 0; r < rows; r++) acc[r][g] = _mm256_fmadd_ps(xv[r], wv, acc[r][g]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int g = 0; g < TILE_OUTPUTS; g++) {
            float s = hsum8(acc[r][g]);
            for (long p = k8; p < k; p++) s = fmaf(x[r * k + p], load1(type, w + g * row_bytes, p), s);
            y[r * n + g] = s;
        }
}

AVX2_TARGET void rows_float_tiled_body(llm_weight_type type, const float *x, long m, long k, const char *w,
                                       long row_bytes, long j0, long j1, float *y, long n) {
    long j = j0;
    for (; j + GROUP <= j1; j += GROUP) {
        rows_float_avx2_body(type, x, 1, k, w, row_bytes, j, j + GROUP, y, n);
        long tiled = 1 + (m - 1) / 3 * 3 + ((m - 1) % 3 == 2 ? 2 : 0); // rows 1 ..< tiled in tiles of 3 (and one of 2)
        for (long half = 0; half < GROUP; half += TILE_OUTPUTS) {
            const char *wh = w + (j + half) * row_bytes, *next = w + (j + GROUP + half) * row_bytes;
            long i = 1;
            for (; i + 3 <= tiled; i += 3) // (constant row counts: the tile's accumulators stay in registers)
                float_tile(type, x + i * k, 3, k, wh, row_bytes, y + i * n + j + half, n, i == 1 ? next : NULL);
            if (i < tiled) float_tile(type, x + i * k, 2, k, wh, row_bytes, y + i * n + j + half, n, i == 1 ? next : NULL);
        }
        if (tiled < m) rows_float_avx2_body(type, x + tiled * k, 1, k, w, row_bytes, j, j + GROUP, y + tiled * n, n);
    }
    if (j < j1) rows_float_avx2_body(type, x, m, k, w, row_bytes, j, j1, y, n); // the last few outputs
}

__attribute__((target("avx2,fma,f16c"))) static void rows_float_avx2(llm_weight_type type, const float *x, long m,
                                                                      long k, const char *w, long row_bytes, long j0,
                                                                      long j1, float *y, long n) {
    // One instantiation per type, so the switch in load8 disappears from the inner loop.
    if (m == 1) {
        switch (type) {
        case LLM_WEIGHT_F16: rows_float_avx2_body(LLM_WEIGHT_F16, x, m, k, w, row_bytes, j0, j1, y, n); break;
        case LLM_WEIGHT_BF16: rows_float_avx2_body(LLM_WEIGHT_BF16, x, m, k, w, row_bytes, j0, j1, y, n); break;
        default: rows_float_avx2_body(LLM_WEIGHT_F32, x, m, k, w, row_bytes, j0, j1, y, n); break;
        }
    } else {
        switch (type) {
        case LLM_WEIGHT_F16: rows_float_tiled_body(LLM_WEIGHT_F16, x, m, k, w, row_bytes, j0, j1, y, n); break;
        case LLM_WEIGHT_BF16: rows_float_tiled_body(LLM_WEIGHT_BF16, x, m, k, w, row_bytes, j0, j1, y, n); break;
        default: rows_float_tiled_body(LLM_WEIGHT_F32, x, m, k, w, row_bytes, j0, j1, y, n); break;
        }
    }
}

// The integer dot product of one q8_0 block pair, as eight int32 partial sums: vpmaddubsw needs one
// unsigned operand, so it gets |w| and x takes w's sign (products of at most 127 * 127, pairs below
// 2^15: no saturation).
AVX2_TARGET __m256 block_dot_avx2(const block_q8_0 *w, const block_q8_0 *x) {
    __m256i qw = _mm256_loadu_si256((const __m256i *)w->qs), qx = _mm256_loadu_si256((const __m256i *)x->qs);
    __m256i pairs = _mm256_maddubs_epi16(_mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
    return _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
}

#define Q8_BODY(TARGET_ATTR, NAME, BLOCK_DOT)                                                                  \
    TARGET_ATTR static void NAME(const block_q8_0 *xq, long m, long nb, const char *w, long row_bytes, long j0,  \
                                 long j1, float *y, long n) {                                                  \
        for (long j = j0; j < j1; j++) {                                                                       \
            const block_q8_0 *wb = (const block_q8_0 *)(w + j * row_bytes);                                   \
            for (long i = 0; i < m; i++) {                                                                     \
                const block_q8_0 *xb = xq + i * nb;                                                            \
                __m256 acc = _mm256_setzero_ps();                                                              \
                for (long b = 0; b < nb; b++) {                                                                \
                    float d = _cvtsh_ss(wb[b].d) * _cvtsh_ss(xb[b].d);                                         \
                    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), BLOCK_DOT(wb + b, xb + b), acc);                  \
                }                                                                                              \
                y[i * n + j] = hsum8(acc);                                                                     \
            }                                                                                                  \
        }                                                                                                      \
    }

Q8_BODY(__attribute__((target("avx2,fma,f16c"))), rows_q8_avx2, block_dot_avx2)

// AVX-512 VNNI (Cascade Lake, Zen 4 and later): vpdpbusd does the multiply and both additions in one
// instruction on 256-bit registers (AVX512VL). Same sign trick, same int32 partial sums, so the same
// results as the AVX2 kernel.
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni"), always_inline)) static inline __m256
block_dot_vnni(const block_q8_0 *w, const block_q8_0 *x) {
    __m256i qw = _mm256_loadu_si256((const __m256i *)w->qs), qx = _mm256_loadu_si256((const __m256i *)x->qs);
    __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(qw, qw), _mm256_sign_epi8(qx, qw));
    return _mm256_cvtepi32_ps(sums);
}

Q8_BODY(__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512vnni"))), rows_q8_vnni, block_dot_vnni)
#endif

// ---- Dispatch ----------------------------------------------------------------------------------------------

typedef enum { WK_PORTABLE, WK_AVX2, WK_VNNI } weight_kernel;

static weight_kernel kernel_now(void) {
#if defined(__x86_64__) || defined(__i386__)
    llm_isa isa = llm_gemm_isa(); // LLM_GEMM_ISA / llm_gemm_set_isa lower this too (tests run each level)
    if (isa >= LLM_ISA_AVX2 && __builtin_cpu_supports("f16c")) {
        if (isa >= LLM_ISA_AVX512 && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni"))
            return WK_VNNI;
        return WK_AVX2;
    }
#endif
    return WK_PORTABLE;
}

const char *llm_weight_kernel_name(void) {
    switch (kernel_now()) {
    case WK_VNNI: return "avx512-vnni";
    case WK_AVX2: return "avx2";
    default: return "portable";
    }
}

typedef struct {
    llm_weight_type type;
    weight_kernel kernel;
    const float *x;
    const block_q8_0 *xq;
    long m, k, n, chunk, row_bytes;
    const char *w;
    const float *bias;
    float *y;
} rows_job;

static void rows_task(void *context, long t) {
    const rows_job *job = context;
    long j0 = t * job->chunk, j1 = j0 + job->chunk < job->n ? j0 + job->chunk : job->n;
    if (j0 >= j1) return;
#if defined(__x86_64__) || defined(__i386__)
    if (job->kernel != WK_PORTABLE && job->type == LLM_WEIGHT_Q8_0) {
        if (job->kernel == WK_VNNI) rows_q8_vnni(job->xq, job->m, job->k / 32, job->w, job->row_bytes, j0, j1, job->y, job->n);
        else rows_q8_avx2(job->xq, job->m, job->k / 32, job->w, job->row_bytes, j0, j1, job->y, job->n);
    } else if (job->kernel != WK_PORTABLE) {
        rows_float_avx2(job->type, job->x, job->m, job->k, job->w, job->row_bytes, j0, j1, job->y, job->n);
    } else
#endif
        rows_portable(job->type, job->x, job->xq, job->m, job->k, job->w, job->row_bytes, j0, j1, job->y, job->n);
    if (job->bias)
        for (long i = 0; i < job->m; i++)
            for (long j = j0; j < j1; j++) job->y[i * job->n + j] += job->bias[j];
}

static void panel_task(void *context, long t) {
    const rows_job *job = context;
    long j0 = t * PANEL, cols = job->n - j0 < PANEL ? job->n - j0 : PANEL;
    float *panel = thread_scratch(0, (size_t)(cols * job->k));
    llm_weight_dequantize(job->type, job->w + j0 * job->row_bytes, panel, cols, job->k);
    llm_sgemm_serial(0, 1, job->m, cols, job->k, 1.0f, job->x, job->k, panel, job->k, 0.0f, job->y + j0, job->n);
    if (job->bias)
        for (long i = 0; i < job->m; i++)
            for (long j = j0; j < j0 + cols; j++) job->y[i * job->n + j] += job->bias[j];
}

void llm_weight_matmul(llm_weight_type type, const float *x, long m, long k, const void *w, long n, const float *bias,
                       float *y) {
    if (m <= 0 || n <= 0) return;
    rows_job job = {type, kernel_now(), x, NULL, m, k, n, 0, llm_weight_row_bytes(type, k), w, bias, y};
    if (m > LLM_ROW_KERNEL_MAX_M) {
        if (type == LLM_WEIGHT_F32) {
            llm_sgemm(0, 1, m, n, k, 1.0f, x, k, w, k, 0.0f, y, n);
            if (bias)
                for (long i = 0; i < m; i++)
                    for (long j = 0; j < n; j++) y[i * n + j] += bias[j];
            return;
        }
        llm_parallel_for((n + PANEL - 1) / PANEL, panel_task, &job);
        return;
    }
    if (type == LLM_WEIGHT_Q8_0) { // the activations in q8_0 too, for the integer dot products
        block_q8_0 *xq = (block_q8_0 *)thread_scratch(1, (size_t)(m * (k / 32) * sizeof(block_q8_0) / 4 + 1));
        for (long i = 0; i < m; i++)
            for (long b = 0; b < k / 32; b++) quantize_block_q8_0(x + i * k + 32 * b, xq + i * (k / 32) + b);
        job.xq = xq;
    }
    // Memory-bound: two threads read W faster than one even for a 768 x 768 matrix (2.4 MB), so split
    // whenever W is past ~256 KB, in 16-output chunks.
    long threads = (long)job.row_bytes * n >= (1L << 18) ? llm_num_threads() : 1;
    long per = (n + threads - 1) / threads;
    job.chunk = ((per + 15) / 16) * 16;
    long tasks = (n + job.chunk - 1) / job.chunk;
    if (tasks == 1) rows_task(&job, 0);
    else llm_parallel_for(tasks, rows_task, &job);
}
