// Fused attention for many heads: softmax(q k^T * scale [+ causal mask]), dropout, times v, with the
// weights of only one block of query rows alive at a time, and the gradients of q, k and v.
//
// One task per (batch, head), run by the thread pool; inside it, query rows go in blocks of ATT_ROWS:
//   S = Q_blk K^T                       (GEMM; with a causal mask only the keys the block can see)
//   P = softmax(S * scale) per row      (lse = max + log(sum) kept for the backward pass)
//   O_blk = dropout(P) V                (GEMM)
// Backward, per block, with P recomputed from S and lse (Dao et al., "FlashAttention", 2022):
//   dV += dropout(P)^T dO_blk,  dP = dropout'(dO_blk V^T),  dS = P (dP - D) * scale with D_i = dO_i . O_i,
//   dQ_blk += dS K,  dK += dS^T Q_blk.
// D_i = dO_i . O_i holds with dropout too: sum_j P_ij dP_ij = dO_i . (sum_j dropout(P)_ij v_j) = dO_i . O_i.
// The block's weights (ATT_ROWS x Tk floats, 256 KB at Tk = 1024) stay in L2, so every step is a GEMM
// on cached data or one pass over it; the products run on llm_sgemm_serial (each task owns a thread).
//
// Every tensor is addressed through strides, so q, k and v can be read straight out of the fused
// (B, T, 3C) projection and the output written straight into (B, T, C) rows: no head split or merge
// copies. Dropout uses the counter-based mask of kernel_helpers.h on the flat index of the (B, H, Tq, Tk)
// weights, which is what the composed path's dropout call sees.
#include "ckernels.h"
#include "kernel_helpers.h"

#define ATT_ROWS 64

typedef struct {
    const float *q, *k, *v, *o, *dout;
    float *out, *lse, *dq, *dk, *dv;
    long batch, heads, tq, tk, d;
    llm_attention_strides sq, sk, so;
    float scale, dropout;
    uint64_t key, first_index;
    const int32_t *key_lengths; // per batch row, the keys that are tokens (the rest padding); NULL: all tk
} attention_args;

static inline long offset(llm_attention_strides s, long b, long h) { return b * s.batch + h * s.head; }

// Keys visible to query row i of batch row b: with the causal mask, query i sits at position tk - tq + i; with
// key lengths (padding on the right, as BERT's batches), the first key_lengths[b]; else all.
static inline long visible(const attention_args *a, int causal, long b, long i) {
    return causal ? a->tk - a->tq + i + 1 : a->key_lengths ? a->key_lengths[b] : a->tk;
}

// Flat index of weight (b, h, i, 0) in the (B, H, Tq, Tk) tensor, after first_index: the dropout mask's counter.
static inline uint64_t weight_index(const attention_args *a, long b, long h, long i) {
    return a->first_index + ((uint64_t)(b * a->heads + h) * (uint64_t)a->tq + (uint64_t)i) * (uint64_t)a->tk;
}

// Turns row i's scores s[0..n) into weights: softmax over the first `seen`, 0 after. Returns the lse.
static inline __attribute__((always_inline)) float softmax_row(float *s, long seen, long n, float scale) {
    float max = -INFINITY;
    for (long j = 0; j < seen; j++) {
        s[j] *= scale;
        max = s[j] > max ? s[j] : max;
    }
    float sum = 0.0f;
#pragma clang loop vectorize(enable) interleave(enable)
    for (long j = 0; j < seen; j++) {
        s[j] = fast_expf(s[j] - max);
        sum += s[j];
    }
    float inv = 1.0f / sum;
    for (long j = 0; j < seen; j++) s[j] *= inv;
    for (long j = seen; j < n; j++) s[j] = 0.0f;
    return max + logf(sum);
}

// x[j] = dropout(x[j]) for the weights of row (b, h, i).
static inline __attribute__((always_inline)) void drop_row(const attention_args *a, long b, long h, long i, float *x,
                                                           const float *from, long n) {
    uint64_t base = weight_index(a, b, h, i);
    uint32_t threshold = dropout_threshold(a->dropout);
    float keep_scale = 1.0f / (1.0f - a->dropout);
#pragma clang loop vectorize(enable)
    for (long j = 0; j < n; j++) x[j] = from[j] * (dropout_keeps(a->key, base + (uint64_t)j, threshold) ? keep_scale : 0.0f);
}

// One query row (decoding a token): q k_j for every key, softmax, then sum_j p_j v_j. The GEMMs' few-rows
// path spent most of a decode step here (a 64-long dot product per key with one FMA chain, and the
// output row loaded and stored again for every key); this keeps four keys' dot products and the output
// row in vector registers. Plain C vector types: AVX2 registers in the AVX2 copy, SSE in the portable one.
typedef float v8f __attribute__((vector_size(32), aligned(4)));

static inline __attribute__((always_inline)) float sum8(v8f v) {
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

static inline __attribute__((always_inline)) void one_query(const float *q, const float *k, const float *v, long ldk,
                                                            long n, long d, float *s, float *o, float *lse,
                                                            float scale) {
    long j = 0;
    for (; j + 4 <= n; j += 4) {
        const float *k0 = k + j * ldk, *k1 = k0 + ldk, *k2 = k1 + ldk, *k3 = k2 + ldk;
        v8f a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
        for (long p = 0; p < d; p += 8) {
            v8f qv = *(const v8f *)(q + p);
            a0 += qv * *(const v8f *)(k0 + p);
            a1 += qv * *(const v8f *)(k1 + p);
            a2 += qv * *(const v8f *)(k2 + p);
            a3 += qv * *(const v8f *)(k3 + p);
        }
        s[j] = sum8(a0), s[j + 1] = sum8(a1), s[j + 2] = sum8(a2), s[j + 3] = sum8(a3);
    }
    for (; j < n; j++) {
        v8f a0 = {0};
        for (long p = 0; p < d; p += 8) a0 += *(const v8f *)(q + p) * *(const v8f *)(k + j * ldk + p);
        s[j] = sum8(a0);
    }
    *lse = softmax_row(s, n, n, scale);
    for (long c = 0; c < d; c += 64) { // 64 output columns (eight vectors) at a time
        long width = d - c < 64 ? d - c : 64;
        v8f acc[8] = {{0}};
        for (long jj = 0; jj < n; jj++) {
            const float *vj = v + jj * ldk + c;
            v8f pj = {s[jj], s[jj], s[jj], s[jj], s[jj], s[jj], s[jj], s[jj]};
            for (long x = 0; x < width / 8; x++) acc[x] += pj * *(const v8f *)(vj + 8 * x);
        }
        for (long x = 0; x < width / 8; x++) *(v8f *)(o + c + 8 * x) = acc[x];
    }
}

static inline __attribute__((always_inline)) void forward_head(const attention_args *a, int causal, long task) {
    long b = task / a->heads, h = task % a->heads, d = a->d;
    const float *q = a->q + offset(a->sq, b, h), *k = a->k + offset(a->sk, b, h), *v = a->v + offset(a->sk, b, h);
    float *o = a->out + offset(a->so, b, h), *lse = a->lse + task * a->tq;
    float *s = thread_scratch(0, (size_t)(ATT_ROWS * a->tk));
    if (a->tq == 1 && a->dropout == 0.0f && d % 8 == 0) { // decoding
        one_query(q, k, v, a->sk.row, visible(a, causal, b, 0), d, s, o, lse, a->scale);
        return;
    }
    for (long r0 = 0; r0 < a->tq; r0 += ATT_ROWS) {
        long rows = a->tq - r0 < ATT_ROWS ? a->tq - r0 : ATT_ROWS;
        long n = visible(a, causal, b, r0 + rows - 1); // keys the block's last row sees
        llm_sgemm_serial(0, 1, rows, n, d, 1.0f, q + r0 * a->sq.row, a->sq.row, k, a->sk.row, 0.0f, s, n);
        for (long i = 0; i < rows; i++) {
            float *row = s + i * n;
            lse[r0 + i] = softmax_row(row, visible(a, causal, b, r0 + i), n, a->scale);
            if (a->dropout > 0.0f) drop_row(a, b, h, r0 + i, row, row, n);
        }
        llm_sgemm_serial(0, 0, rows, d, n, 1.0f, s, n, v, a->sk.row, 0.0f, o + r0 * a->so.row, a->so.row);
    }
}

static inline __attribute__((always_inline)) void backward_head(const attention_args *a, int causal, long task) {
    long b = task / a->heads, h = task % a->heads, d = a->d;
    const float *q = a->q + offset(a->sq, b, h), *k = a->k + offset(a->sk, b, h), *v = a->v + offset(a->sk, b, h);
    const float *o = a->o + offset(a->so, b, h), *dout = a->dout + offset(a->so, b, h), *lse = a->lse + task * a->tq;
    float *dq = a->dq ? a->dq + offset(a->sq, b, h) : NULL, *dk = a->dk ? a->dk + offset(a->sk, b, h) : NULL;
    float *dv = a->dv ? a->dv + offset(a->sk, b, h) : NULL;
    float *p = thread_scratch(0, (size_t)(ATT_ROWS * a->tk)), *g = thread_scratch(1, (size_t)(ATT_ROWS * a->tk));
    for (long r0 = 0; r0 < a->tq; r0 += ATT_ROWS) {
        long rows = a->tq - r0 < ATT_ROWS ? a->tq - r0 : ATT_ROWS;
        long n = visible(a, causal, b, r0 + rows - 1);
        const float *q_blk = q + r0 * a->sq.row, *dout_blk = dout + r0 * a->so.row;
        // Recompute the weights: p = exp(s * scale - lse) where visible, else 0.
        llm_sgemm_serial(0, 1, rows, n, d, 1.0f, q_blk, a->sq.row, k, a->sk.row, 0.0f, p, n);
        for (long i = 0; i < rows; i++) {
            float *row = p + i * n, l = lse[r0 + i], scale = a->scale;
            long seen = visible(a, causal, b, r0 + i);
#pragma clang loop vectorize(enable)
            for (long j = 0; j < seen; j++) row[j] = fast_expf(row[j] * scale - l);
            for (long j = seen; j < n; j++) row[j] = 0.0f;
        }
        if (dv) { // dV += dropout(P)^T dO
            const float *used = p;
            if (a->dropout > 0.0f) {
                for (long i = 0; i < rows; i++) drop_row(a, b, h, r0 + i, g + i * n, p + i * n, n);
                used = g;
            }
            llm_sgemm_serial(1, 0, n, d, rows, 1.0f, used, n, dout_blk, a->so.row, 1.0f, dv, a->sk.row);
        }
        if (!dq && !dk) continue;
        // dP = dO V^T, through the dropout mask; then dS = P (dP - D) * scale, written over P.
        llm_sgemm_serial(0, 1, rows, n, d, 1.0f, dout_blk, a->so.row, v, a->sk.row, 0.0f, g, n);
        for (long i = 0; i < rows; i++) {
            float *row = p + i * n, *grad = g + i * n;
            const float *oi = o + (r0 + i) * a->so.row, *doi = dout_blk + i * a->so.row;
            if (a->dropout > 0.0f) drop_row(a, b, h, r0 + i, grad, grad, n);
            float big_d = 0.0f;
#pragma clang loop vectorize(enable) interleave(enable)
            for (long x = 0; x < d; x++) big_d += doi[x] * oi[x];
            float scale = a->scale;
#pragma clang loop vectorize(enable)
            for (long j = 0; j < n; j++) row[j] = row[j] * (grad[j] - big_d) * scale;
        }
        if (dq) llm_sgemm_serial(0, 0, rows, d, n, 1.0f, p, n, k, a->sk.row, 1.0f, dq + r0 * a->sq.row, a->sq.row);
        if (dk) llm_sgemm_serial(1, 0, n, d, rows, 1.0f, p, n, q_blk, a->sq.row, 1.0f, dk, a->sk.row);
    }
}

// Each body compiled for AVX2+FMA and portable; the causal flag is a constant inside each copy.
#define HEAD_TASK(name, body, causal_value)                                                                  \
    __attribute__((target("avx2,fma"))) static void name##_avx2(void *c, long t) { body(c, causal_value, t); } \
    static void name##_portable(void *c, long t) { body(c, causal_value, t); }
#if defined(__x86_64__) || defined(__i386__)
HEAD_TASK(forward_causal, forward_head, 1)
HEAD_TASK(forward_full, forward_head, 0)
HEAD_TASK(backward_causal, backward_head, 1)
HEAD_TASK(backward_full, backward_head, 0)
#define PICK(name) (llm_gemm_isa() >= LLM_ISA_AVX2 ? name##_avx2 : name##_portable)
#else
static void forward_causal_portable(void *c, long t) { forward_head(c, 1, t); }
static void forward_full_portable(void *c, long t) { forward_head(c, 0, t); }
static void backward_causal_portable(void *c, long t) { backward_head(c, 1, t); }
static void backward_full_portable(void *c, long t) { backward_head(c, 0, t); }
#define PICK(name) name##_portable
#endif

void llm_attention_forward(const float *q, const float *k, const float *v, float *o, float *lse, long batch,
                           long heads, long tq, long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                           llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                           uint64_t first_index) {
    llm_attention_forward_padded(q, k, v, o, lse, batch, heads, tq, tk, d, sq, sk, so, scale, causal, dropout, key,
                                 first_index, NULL);
}

void llm_attention_forward_padded(const float *q, const float *k, const float *v, float *o, float *lse, long batch,
                                  long heads, long tq, long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                                  llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                                  uint64_t first_index, const int32_t *key_lengths) {
    attention_args a = {q, k, v, NULL, NULL, o, lse, NULL, NULL, NULL, batch, heads, tq, tk, d, sq, sk, so,
                        scale, dropout, key, first_index, causal ? NULL : key_lengths};
    if (tk == 0) { // nothing to attend to: zero output, as softmax over no keys would give no weights
        for (long t = 0; t < batch * heads; t++)
            for (long i = 0; i < tq; i++) {
                lse[t * tq + i] = -INFINITY;
                for (long x = 0; x < d; x++) o[offset(so, t / heads, t % heads) + i * so.row + x] = 0.0f;
            }
        return;
    }
    llm_parallel_for(batch * heads, causal ? PICK(forward_causal) : PICK(forward_full), &a);
}

void llm_attention_backward(const float *q, const float *k, const float *v, const float *o, const float *lse,
                            const float *dout, float *dq, float *dk, float *dv, long batch, long heads, long tq,
                            long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                            llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                            uint64_t first_index) {
    llm_attention_backward_padded(q, k, v, o, lse, dout, dq, dk, dv, batch, heads, tq, tk, d, sq, sk, so, scale, causal,
                                  dropout, key, first_index, NULL);
}

void llm_attention_backward_padded(const float *q, const float *k, const float *v, const float *o, const float *lse,
                                   const float *dout, float *dq, float *dk, float *dv, long batch, long heads, long tq,
                                   long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                                   llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                                   uint64_t first_index, const int32_t *key_lengths) {
    if (tk == 0) return;
    attention_args a = {q, k, v, o, dout, NULL, (float *)lse, dq, dk, dv, batch, heads, tq, tk, d, sq, sk, so,
                        scale, dropout, key, first_index, causal ? NULL : key_lengths};
    llm_parallel_for(batch * heads, causal ? PICK(backward_causal) : PICK(backward_full), &a);
}
