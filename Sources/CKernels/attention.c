// Fused ("flash") attention for one or many heads: the T x T matrix of weights is never stored.
//
// Forward, per query row: walk the visible keys in blocks of ATT_BLOCK; compute the block's scores,
// raise the running maximum if needed (rescaling the running sum and the output accumulator once
// per block), and add exp(score - max) * v. At the end, divide by the sum and keep
// lse = max + log(sum) for the backward pass (Dao et al., "FlashAttention", 2022, per row).
//
// Backward, per head: recompute each weight as p = exp(s * scale - lse), then
//   dv_j += p dO_i,   dp = dO_i . v_j,   ds = p (dp - D_i)  with D_i = dO_i . o_i,
//   dq_i += scale ds k_j,   dk_j += scale ds q_i.
// Heads are independent, so threads split heads and never write the same gradient rows.
//
// The same source is compiled twice, once for AVX2+FMA and once portable, by inlining one body into
// two wrappers with different target attributes; the vectorize pragmas allow reordering the sums in
// the dot products (required to vectorize them; the result differs from a serial sum by rounding).
#include "ckernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATT_BLOCK 64

typedef struct {
    const float *q, *k, *v, *o, *lse, *dout;
    float *out, *lse_out, *dq, *dk, *dv;
    long heads, tq, tk, d;
    float scale;
    int causal;
} attention_args;

static inline __attribute__((always_inline)) float dot(const float *a, const float *b, long d) {
    float s = 0.0f;
#pragma clang loop vectorize(enable) interleave(enable)
    for (long x = 0; x < d; x++) s += a[x] * b[x];
    return s;
}

static inline __attribute__((always_inline)) void axpy(float alpha, const float *x, float *y, long d) {
#pragma clang loop vectorize(enable)
    for (long i = 0; i < d; i++) y[i] += alpha * x[i];
}

static inline __attribute__((always_inline)) long visible(const attention_args *a, long i) {
    return a->causal ? a->tk - a->tq + i + 1 : a->tk;
}

// Forward for query rows [begin, end) of the flattened (heads * tq) rows.
static inline __attribute__((always_inline)) void forward_rows(const attention_args *a, long begin, long end) {
    const long d = a->d;
    float *acc = malloc(sizeof(float) * (size_t)d);
    float scores[ATT_BLOCK];
    for (long row = begin; row < end; row++) {
        long h = row / a->tq, i = row % a->tq;
        const float *q = a->q + row * d, *k = a->k + h * a->tk * d, *v = a->v + h * a->tk * d;
        long n = visible(a, i);
        float m = -INFINITY, l = 0.0f;
        memset(acc, 0, sizeof(float) * (size_t)d);
        for (long j0 = 0; j0 < n; j0 += ATT_BLOCK) {
            long nb = n - j0 < ATT_BLOCK ? n - j0 : ATT_BLOCK;
            float block_max = -INFINITY;
            for (long j = 0; j < nb; j++) {
                scores[j] = dot(q, k + (j0 + j) * d, d) * a->scale;
                block_max = scores[j] > block_max ? scores[j] : block_max;
            }
            if (block_max > m) { // rescale what was accumulated under the old maximum
                float correction = expf(m - block_max);
                l *= correction;
                for (long x = 0; x < d; x++) acc[x] *= correction;
                m = block_max;
            }
            for (long j = 0; j < nb; j++) {
                float p = expf(scores[j] - m);
                l += p;
                axpy(p, v + (j0 + j) * d, acc, d);
            }
        }
        float *o = a->out + row * d;
        float inv = l > 0.0f ? 1.0f / l : 0.0f;
        for (long x = 0; x < d; x++) o[x] = acc[x] * inv;
        a->lse_out[row] = n > 0 ? m + logf(l) : -INFINITY;
    }
    free(acc);
}

// Backward for heads [begin, end).
static inline __attribute__((always_inline)) void backward_heads(const attention_args *a, long begin, long end) {
    const long d = a->d;
    for (long h = begin; h < end; h++) {
        const float *k = a->k + h * a->tk * d, *v = a->v + h * a->tk * d;
        float *dk = a->dk ? a->dk + h * a->tk * d : NULL, *dv = a->dv ? a->dv + h * a->tk * d : NULL;
        for (long i = 0; i < a->tq; i++) {
            long row = h * a->tq + i;
            const float *q = a->q + row * d, *o = a->o + row * d, *dout = a->dout + row * d;
            float *dq = a->dq ? a->dq + row * d : NULL;
            float lse = a->lse[row];
            float big_d = dot(dout, o, d);
            long n = visible(a, i);
            for (long j = 0; j < n; j++) {
                float p = expf(dot(q, k + j * d, d) * a->scale - lse);
                if (dv) axpy(p, dout, dv + j * d, d);
                float ds = p * (dot(dout, v + j * d, d) - big_d) * a->scale;
                if (dq) axpy(ds, k + j * d, dq, d);
                if (dk) axpy(ds, q, dk + j * d, d);
            }
        }
    }
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static void forward_avx2(const attention_args *a, long b, long e) { forward_rows(a, b, e); }
__attribute__((target("avx2,fma"))) static void backward_avx2(const attention_args *a, long b, long e) { backward_heads(a, b, e); }
#endif
static void forward_portable(const attention_args *a, long b, long e) { forward_rows(a, b, e); }
static void backward_portable(const attention_args *a, long b, long e) { backward_heads(a, b, e); }

static int use_avx2(void) { return llm_gemm_isa() >= LLM_ISA_AVX2; }

#define ROWS_PER_TASK 16

static void forward_task(void *context, long t) {
    const attention_args *a = context;
    long begin = t * ROWS_PER_TASK, end = begin + ROWS_PER_TASK;
    if (end > a->heads * a->tq) end = a->heads * a->tq;
#if defined(__x86_64__) || defined(__i386__)
    if (use_avx2()) { forward_avx2(a, begin, end); return; }
#endif
    forward_portable(a, begin, end);
}

static void backward_task(void *context, long h) {
    const attention_args *a = context;
#if defined(__x86_64__) || defined(__i386__)
    if (use_avx2()) { backward_avx2(a, h, h + 1); return; }
#endif
    backward_portable(a, h, h + 1);
}

void llm_attention_forward(const float *q, const float *k, const float *v, float *o, float *lse,
                           long heads, long tq, long tk, long d, float scale, int causal) {
    attention_args a = {q, k, v, NULL, NULL, NULL, o, lse, NULL, NULL, NULL, heads, tq, tk, d, scale, causal};
    long rows = heads * tq;
    llm_parallel_for((rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK, forward_task, &a);
}

void llm_attention_backward(const float *q, const float *k, const float *v, const float *o, const float *lse,
                            const float *dout, float *dq, float *dk, float *dv,
                            long heads, long tq, long tk, long d, float scale, int causal) {
    attention_args a = {q, k, v, o, lse, dout, NULL, NULL, dq, dk, dv, heads, tq, tk, d, scale, causal};
    llm_parallel_for(heads, backward_task, &a);
}
