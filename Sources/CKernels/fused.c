// Fused row kernels: each reads its input once and writes its output once, where the composed
// version (max, subtract, exp, sum, divide, ...) would make a full pass over memory per step.
// Every kernel here has a composed twin in Swift that the tests compare it with.
//
// Rows are split over the thread pool in contiguous ranges; small inputs run on the calling thread.
#include "ckernels.h"
#include "kernel_helpers.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// tanh(u) = 1 - 2 / (exp(2u) + 1), through fast_expf (saturates correctly at both ends).
static inline __attribute__((always_inline)) float fast_tanhf(float u) { return 1.0f - 2.0f / (fast_expf(2.0f * u) + 1.0f); }

// Each row kernel below is written once as an always-inline body and compiled twice: inside an
// AVX2+FMA wrapper (chosen at run time on CPUs that have it) and a portable one.
#if defined(__x86_64__) || defined(__i386__)
#define DISPATCHED(name)                                                                                  \
    __attribute__((target("avx2,fma"))) static void name##_avx2(void *c, long b, long e) { name##_body(c, b, e); } \
    static void name##_portable(void *c, long b, long e) { name##_body(c, b, e); }                       \
    static void name(void *c, long b, long e) {                                                          \
        if (llm_gemm_isa() >= LLM_ISA_AVX2) name##_avx2(c, b, e);                                        \
        else name##_portable(c, b, e);                                                                   \
    }
#else
#define DISPATCHED(name) \
    static void name(void *c, long b, long e) { name##_body(c, b, e); }
#endif
#define ROW_BODY(name) static inline __attribute__((always_inline)) void name##_body(void *context, long begin, long end)
#define VECTORIZE _Pragma("clang loop vectorize(enable) interleave(enable)")

typedef void (*range_fn)(void *context, long begin, long end);

typedef struct {
    range_fn fn;
    void *context;
    long count, per_task;
} range_job;

static void range_task(void *context, long t) {
    const range_job *j = context;
    long begin = t * j->per_task, end = begin + j->per_task;
    if (end > j->count) end = j->count;
    if (begin < end) j->fn(j->context, begin, end);
}

// Runs fn over [0, count) in ranges; `cost` is the work per item (in elements) to decide if threads pay.
static void parallel_ranges(long count, long cost, range_fn fn, void *context) {
    long threads = llm_num_threads();
    if (threads <= 1 || count < 2 || count * cost < 65536) {
        fn(context, 0, count);
        return;
    }
    long tasks = threads * 4 < count ? threads * 4 : count;
    range_job job = {fn, context, count, (count + tasks - 1) / tasks};
    llm_parallel_for((count + job.per_task - 1) / job.per_task, range_task, &job);
}

// ---- Softmax --------------------------------------------------------------------------------------

typedef struct {
    const float *x, *dy;
    float *y, *dx;
    long cols, query_len;
    int causal, accumulate;
} softmax_args;

// Number of visible keys for row r (all of them unless causal).
static long visible_keys(const softmax_args *s, long r) {
    if (!s->causal) return s->cols;
    long limit = r % s->query_len + s->cols - s->query_len + 1;
    return limit < 0 ? 0 : (limit > s->cols ? s->cols : limit);
}

ROW_BODY(softmax_rows) {
    const softmax_args *s = context;
    for (long r = begin; r < end; r++) {
        const float *x = s->x + r * s->cols;
        float *y = s->y + r * s->cols;
        long n = visible_keys(s, r);
        float max = -INFINITY;
        for (long j = 0; j < n; j++) max = x[j] > max ? x[j] : max;
        VECTORIZE
        for (long j = 0; j < n; j++) y[j] = fast_expf(x[j] - max);
        float sum = 0.0f;
        VECTORIZE
        for (long j = 0; j < n; j++) sum += y[j];
        float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
        for (long j = 0; j < n; j++) y[j] *= inv;
        for (long j = n; j < s->cols; j++) y[j] = 0.0f;
    }
}
DISPATCHED(softmax_rows)


void llm_softmax_forward(const float *x, float *y, long rows, long cols, int causal, long query_len) {
    softmax_args s = {x, NULL, y, NULL, cols, query_len > 0 ? query_len : 1, causal, 0};
    parallel_ranges(rows, cols * 4, softmax_rows, &s);
}

ROW_BODY(softmax_backward_rows) {
    const softmax_args *s = context;
    for (long r = begin; r < end; r++) {
        const float *y = s->y + r * s->cols, *dy = s->dy + r * s->cols;
        float *dx = s->dx + r * s->cols;
        float dot = 0.0f;
        VECTORIZE
        for (long j = 0; j < s->cols; j++) dot += dy[j] * y[j];
        for (long j = 0; j < s->cols; j++) {
            float g = y[j] * (dy[j] - dot);
            dx[j] = s->accumulate ? dx[j] + g : g;
        }
    }
}
DISPATCHED(softmax_backward_rows)


void llm_softmax_backward(const float *y, const float *dy, float *dx, long rows, long cols, int accumulate) {
    softmax_args s = {NULL, dy, (float *)y, dx, cols, 1, 0, accumulate};
    parallel_ranges(rows, cols * 2, softmax_backward_rows, &s);
}

ROW_BODY(log_softmax_rows) {
    const softmax_args *s = context;
    for (long r = begin; r < end; r++) {
        const float *x = s->x + r * s->cols;
        float *y = s->y + r * s->cols;
        float max = -INFINITY;
        for (long j = 0; j < s->cols; j++) max = x[j] > max ? x[j] : max;
        float sum = 0.0f;
        VECTORIZE
        for (long j = 0; j < s->cols; j++) sum += fast_expf(x[j] - max);
        float shift = max + logf(sum);
        for (long j = 0; j < s->cols; j++) y[j] = x[j] - shift;
    }
}
DISPATCHED(log_softmax_rows)


void llm_log_softmax_forward(const float *x, float *y, long rows, long cols) {
    softmax_args s = {x, NULL, y, NULL, cols, 1, 0, 0};
    parallel_ranges(rows, cols * 4, log_softmax_rows, &s);
}

ROW_BODY(log_softmax_backward_rows) {
    const softmax_args *s = context;
    for (long r = begin; r < end; r++) {
        const float *y = s->y + r * s->cols, *dy = s->dy + r * s->cols;
        float *dx = s->dx + r * s->cols;
        float total = 0.0f;
        for (long j = 0; j < s->cols; j++) total += dy[j];
        for (long j = 0; j < s->cols; j++) {
            float g = dy[j] - fast_expf(y[j]) * total;
            dx[j] = s->accumulate ? dx[j] + g : g;
        }
    }
}
DISPATCHED(log_softmax_backward_rows)


void llm_log_softmax_backward(const float *y, const float *dy, float *dx, long rows, long cols, int accumulate) {
    softmax_args s = {NULL, dy, (float *)y, dx, cols, 1, 0, accumulate};
    parallel_ranges(rows, cols * 3, log_softmax_backward_rows, &s);
}

// ---- Layer norm -----------------------------------------------------------------------------------

typedef struct {
    const float *x, *weight, *bias, *mean_in, *rstd_in, *dy;
    float *y, *mean, *rstd, *dx, *dweight, *dbias;
    long rows, cols;
    float eps;
} layernorm_args;

static void layernorm_rows(void *context, long begin, long end) {
    const layernorm_args *l = context;
    for (long r = begin; r < end; r++) {
        const float *x = l->x + r * l->cols;
        float *y = l->y + r * l->cols;
        float sum = 0.0f;
        for (long j = 0; j < l->cols; j++) sum += x[j];
        float mean = sum / (float)l->cols;
        float squares = 0.0f; // two passes: the one-pass formula loses digits when |mean| >> std
        for (long j = 0; j < l->cols; j++) squares += (x[j] - mean) * (x[j] - mean);
        float rstd = 1.0f / sqrtf(squares / (float)l->cols + l->eps);
        for (long j = 0; j < l->cols; j++) {
            float v = (x[j] - mean) * rstd;
            if (l->weight) v *= l->weight[j];
            if (l->bias) v += l->bias[j];
            y[j] = v;
        }
        l->mean[r] = mean;
        l->rstd[r] = rstd;
    }
}

void llm_layernorm_forward(const float *x, const float *weight, const float *bias, float *y, float *mean,
                           float *rstd, long rows, long cols, float eps) {
    layernorm_args l = {x, weight, bias, NULL, NULL, NULL, y, mean, rstd, NULL, NULL, NULL, rows, cols, eps};
    parallel_ranges(rows, cols * 3, layernorm_rows, &l);
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight.
ROW_BODY(layernorm_backward_rows) {
    const layernorm_args *l = context;
    for (long r = begin; r < end; r++) {
        const float *x = l->x + r * l->cols, *dy = l->dy + r * l->cols;
        float *dx = l->dx + r * l->cols;
        float mean = l->mean_in[r], rstd = l->rstd_in[r];
        float g_sum = 0.0f, gx_sum = 0.0f;
        VECTORIZE
        for (long j = 0; j < l->cols; j++) {
            float g = l->weight ? dy[j] * l->weight[j] : dy[j];
            g_sum += g;
            gx_sum += g * (x[j] - mean) * rstd;
        }
        float g_mean = g_sum / (float)l->cols, gx_mean = gx_sum / (float)l->cols;
        VECTORIZE
        for (long j = 0; j < l->cols; j++) {
            float g = l->weight ? dy[j] * l->weight[j] : dy[j];
            float xhat = (x[j] - mean) * rstd;
            dx[j] += rstd * (g - g_mean - xhat * gx_mean);
        }
    }
}
DISPATCHED(layernorm_backward_rows)

// The parameter gradients sum over rows, so they are split by columns instead: no two threads
// write the same element, and each still reads its rows' slices contiguously.
ROW_BODY(layernorm_backward_columns) {
    const layernorm_args *l = context;
    for (long r = 0; r < l->rows; r++) {
        const float *x = l->x + r * l->cols, *dy = l->dy + r * l->cols;
        float mean = l->mean_in[r], rstd = l->rstd_in[r];
        if (l->dweight) {
            float *dw = l->dweight;
            VECTORIZE
            for (long j = begin; j < end; j++) dw[j] += dy[j] * (x[j] - mean) * rstd;
        }
        if (l->dbias) {
            float *db = l->dbias;
            VECTORIZE
            for (long j = begin; j < end; j++) db[j] += dy[j];
        }
    }
}
DISPATCHED(layernorm_backward_columns)

void llm_layernorm_backward(const float *x, const float *weight, const float *mean, const float *rstd,
                            const float *dy, float *dx, float *dweight, float *dbias, long rows, long cols) {
    layernorm_args l = {x, weight, NULL, mean, rstd, dy, NULL, NULL, NULL, dx, dweight, dbias, rows, cols, 0};
    if (dx) parallel_ranges(rows, cols * 4, layernorm_backward_rows, &l);
    if (dweight || dbias) parallel_ranges(cols, rows * 2, layernorm_backward_columns, &l);
}

// ---- GELU -----------------------------------------------------------------------------------------

#define GELU_SCALE 0.7978845608028654f // sqrt(2 / pi)
#define GELU_CUBE 0.044715f

typedef struct {
    const float *x, *dy;
    float *y, *dx;
    int accumulate;
} gelu_args;

ROW_BODY(gelu_range) {
    const gelu_args *g = context;
    for (long i = begin; i < end; i++) {
        float x = g->x[i];
        g->y[i] = 0.5f * x * (1.0f + fast_tanhf(GELU_SCALE * (x + GELU_CUBE * x * x * x)));
    }
}
DISPATCHED(gelu_range)


void llm_gelu_forward(const float *x, float *y, long count) {
    gelu_args g = {x, NULL, y, NULL};
    parallel_ranges(count, 8, gelu_range, &g);
}

ROW_BODY(gelu_backward_range) {
    const gelu_args *g = context;
    for (long i = begin; i < end; i++) {
        float x = g->x[i];
        float t = fast_tanhf(GELU_SCALE * (x + GELU_CUBE * x * x * x));
        float slope = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * GELU_SCALE * (1.0f + 3.0f * GELU_CUBE * x * x);
        g->dx[i] = (g->accumulate ? g->dx[i] : 0.0f) + g->dy[i] * slope;
    }
}
DISPATCHED(gelu_backward_range)


void llm_gelu_backward(const float *x, const float *dy, float *dx, long count, int accumulate) {
    gelu_args g = {x, dy, NULL, dx, accumulate};
    parallel_ranges(count, 8, gelu_backward_range, &g);
}

// ---- tanh, sigmoid and the GRU cell ----------------------------------------------------------------
//
// The activations of recurrent networks and additive attention, vectorised where libm's tanhf and expf are not
// (they were two thirds of an attention RNN's training step). tanh is 1 − 2 / (exp(2|u|) + 1), which loses relative
// accuracy as |u| → 0 (1 minus a number near 1), so below |u| = 0.25 its Taylor series to u⁹ is used instead: both
// are within about 3e-7 relative of the true value.

static inline __attribute__((always_inline)) float accurate_tanhf(float u) {
    float a = fabsf(u), a2 = a * a;
    float series = a * (1.0f + a2 * (-0.333333333f + a2 * (0.133333333f + a2 * (-0.053968254f + a2 * 0.021869489f))));
    float t = a < 0.25f ? series : 1.0f - 2.0f / (fast_expf(2.0f * a) + 1.0f);
    return copysignf(t, u);
}

static inline __attribute__((always_inline)) float sigmoidf(float u) { return 1.0f / (1.0f + fast_expf(-u)); }

typedef struct {
    const float *x;
    float *y;
} unary_args;

ROW_BODY(tanh_range) {
    const unary_args *a = context;
    VECTORIZE for (long i = begin; i < end; i++) a->y[i] = accurate_tanhf(a->x[i]);
}
DISPATCHED(tanh_range)

ROW_BODY(sigmoid_range) {
    const unary_args *a = context;
    VECTORIZE for (long i = begin; i < end; i++) a->y[i] = sigmoidf(a->x[i]);
}
DISPATCHED(sigmoid_range)

void llm_tanh_forward(const float *x, float *y, long count) {
    unary_args a = {x, y};
    parallel_ranges(count, 8, tanh_range, &a);
}

void llm_sigmoid_forward(const float *x, float *y, long count) {
    unary_args a = {x, y};
    parallel_ranges(count, 8, sigmoid_range, &a);
}

typedef struct {
    const float *gx, *gh, *bias, *h;
    const uint8_t *keep;
    float *out, *saved;
    long gx_row_stride, n;
} gru_args;

ROW_BODY(gru_rows) {
    const gru_args *a = context;
    long n = a->n;
    for (long row = begin; row < end; row++) {
        const float *x = a->gx + row * a->gx_row_stride, *hg = a->gh + row * 3 * n, *h = a->h + row * n;
        float *o = a->out + row * n, *s = a->saved + row * 4 * n;
        if (a->keep && !a->keep[row]) {
            memcpy(o, h, (size_t)n * sizeof *o);
            continue;
        }
        VECTORIZE for (long j = 0; j < n; j++) {
            float r = sigmoidf(x[j] + hg[j] + a->bias[j]);
            float z = sigmoidf(x[n + j] + hg[n + j] + a->bias[n + j]);
            float hn = hg[2 * n + j] + a->bias[2 * n + j];
            float c = accurate_tanhf(x[2 * n + j] + r * hn);
            o[j] = (1.0f - z) * c + z * h[j];
            s[j] = r, s[n + j] = z, s[2 * n + j] = c, s[3 * n + j] = hn;
        }
    }
}
DISPATCHED(gru_rows)

void llm_gru_cell_forward(const float *gx, long gx_row_stride, const float *gh, const float *bias, const float *h,
                          const uint8_t *keep, float *out, float *saved, long rows, long n) {
    gru_args a = {gx, gh, bias, h, keep, out, saved, gx_row_stride, n};
    parallel_ranges(rows, n * 40, gru_rows, &a);
}

// ---- Additive (Bahdanau) attention scores -------------------------------------------------------------
//
// e[b, s] = Σ_a v[a] · tanh(keys[b, s, a] + query[b, a]), with the tanh kept (rows × width) for the backward pass:
// one pass where the composed form makes a broadcast sum, a tanh and a one-column matrix product, each a buffer.

typedef struct {
    const float *keys, *query, *v;
    float *activations, *scores;
    long steps, width;
} additive_args;

ROW_BODY(additive_rows) {
    const additive_args *a = context;
    long width = a->width;
    for (long row = begin; row < end; row++) {
        const float *k = a->keys + row * width, *q = a->query + (row / a->steps) * width;
        float *t = a->activations + row * width, sum = 0.0f;
        VECTORIZE for (long j = 0; j < width; j++) {
            t[j] = accurate_tanhf(k[j] + q[j]);
            sum += a->v[j] * t[j];
        }
        a->scores[row] = sum;
    }
}
DISPATCHED(additive_rows)

void llm_additive_scores_forward(const float *keys, const float *query, const float *v, float *activations, float *scores,
                                 long batch, long steps, long width) {
    additive_args a = {keys, query, v, activations, scores, steps, width};
    parallel_ranges(batch * steps, width * 12, additive_rows, &a);
}

// ---- Exact GELU (BERT) ---------------------------------------------------------------------------------
//
// x Φ(x) = 0.5 x (1 + erf(x / √2)), with erf from Abramowitz and Stegun 7.1.26 (absolute error below 1.5e-7, so
// the GELU's error is below 1e-7 · |x|): libm's erff does not vectorise, and was an eighth of a BERT's inference.

static inline __attribute__((always_inline)) float erf_as(float x) {
    float a = fabsf(x), t = 1.0f / (1.0f + 0.3275911f * a);
    float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
    return copysignf(1.0f - poly * fast_expf(-a * a), x);
}

ROW_BODY(exact_gelu_range) {
    const gelu_args *g = context;
    VECTORIZE for (long i = begin; i < end; i++) {
        float x = g->x[i];
        g->y[i] = 0.5f * x * (1.0f + erf_as(x * 0.70710678118654752f));
    }
}
DISPATCHED(exact_gelu_range)

ROW_BODY(exact_gelu_backward_range) {
    const gelu_args *g = context;
    VECTORIZE for (long i = begin; i < end; i++) {
        float x = g->x[i];
        float slope = 0.5f * (1.0f + erf_as(x * 0.70710678118654752f)) + x * fast_expf(-0.5f * x * x) * 0.39894228040143268f;
        g->dx[i] = (g->accumulate ? g->dx[i] : 0.0f) + g->dy[i] * slope;
    }
}
DISPATCHED(exact_gelu_backward_range)

void llm_exact_gelu_forward(const float *x, float *y, long count) {
    gelu_args g = {x, NULL, y, NULL, 0};
    parallel_ranges(count, 8, exact_gelu_range, &g);
}

void llm_exact_gelu_backward(const float *x, const float *dy, float *dx, long count, int accumulate) {
    gelu_args g = {x, dy, NULL, dx, accumulate};
    parallel_ranges(count, 8, exact_gelu_backward_range, &g);
}

// ---- RMSNorm (Llama, Qwen) -------------------------------------------------------------------------

typedef struct {
    const float *x, *weight, *rstd_in, *dy;
    float *y, *rstd, *dx, *dweight;
    long rows, cols;
    float eps;
} rmsnorm_args;

// y = (x * rstd) * weight with rstd = 1 / sqrt(mean(x^2) + eps), in the order `transformers` computes it.
ROW_BODY(rmsnorm_rows) {
    const rmsnorm_args *l = context;
    for (long r = begin; r < end; r++) {
        const float *x = l->x + r * l->cols;
        float *y = l->y + r * l->cols;
        float squares = 0.0f;
        for (long j = 0; j < l->cols; j++) squares += x[j] * x[j];
        float rstd = 1.0f / sqrtf(squares / (float)l->cols + l->eps);
        for (long j = 0; j < l->cols; j++) y[j] = l->weight ? (x[j] * rstd) * l->weight[j] : x[j] * rstd;
        if (l->rstd) l->rstd[r] = rstd;
    }
}
DISPATCHED(rmsnorm_rows)

void llm_rmsnorm_forward(const float *x, const float *weight, float *y, float *rstd, long rows, long cols, float eps) {
    rmsnorm_args l = {x, weight, NULL, NULL, y, rstd, NULL, NULL, rows, cols, eps};
    parallel_ranges(rows, cols * 2, rmsnorm_rows, &l);
}

// dx = rstd * (g - xhat * mean(g * xhat)) with g = dy * weight and xhat = x * rstd (layer norm's formula
// without the mean terms: nothing was subtracted).
ROW_BODY(rmsnorm_backward_rows) {
    const rmsnorm_args *l = context;
    for (long r = begin; r < end; r++) {
        const float *x = l->x + r * l->cols, *dy = l->dy + r * l->cols;
        float *dx = l->dx + r * l->cols;
        float rstd = l->rstd_in[r], gx_sum = 0.0f;
        VECTORIZE
        for (long j = 0; j < l->cols; j++) gx_sum += (l->weight ? dy[j] * l->weight[j] : dy[j]) * x[j] * rstd;
        float gx_mean = gx_sum / (float)l->cols;
        VECTORIZE
        for (long j = 0; j < l->cols; j++) {
            float g = l->weight ? dy[j] * l->weight[j] : dy[j];
            dx[j] += rstd * (g - x[j] * rstd * gx_mean);
        }
    }
}
DISPATCHED(rmsnorm_backward_rows)

// The weight's gradient sums over rows: split by columns, as for layer norm.
ROW_BODY(rmsnorm_backward_columns) {
    const rmsnorm_args *l = context;
    for (long r = 0; r < l->rows; r++) {
        const float *x = l->x + r * l->cols, *dy = l->dy + r * l->cols;
        float rstd = l->rstd_in[r];
        float *dw = l->dweight;
        VECTORIZE
        for (long j = begin; j < end; j++) dw[j] += dy[j] * x[j] * rstd;
    }
}
DISPATCHED(rmsnorm_backward_columns)

void llm_rmsnorm_backward(const float *x, const float *weight, const float *rstd, const float *dy, float *dx,
                          float *dweight, long rows, long cols) {
    rmsnorm_args l = {x, weight, rstd, dy, NULL, NULL, dx, dweight, rows, cols, 0};
    if (dx) parallel_ranges(rows, cols * 3, rmsnorm_backward_rows, &l);
    if (dweight) parallel_ranges(cols, rows * 2, rmsnorm_backward_columns, &l);
}

// ---- SwiGLU (Llama, Qwen feed-forward) -----------------------------------------------------------------

typedef struct {
    const float *gate, *up, *dy;
    float *y, *dgate, *dup;
} swiglu_args;

// silu(g) * u with silu(g) = g * sigmoid(g). expf, not fast_expf: the gate's range is wide and these
// values are compared with PyTorch's to 1e-5.
ROW_BODY(swiglu_range) {
    const swiglu_args *a = context;
    for (long i = begin; i < end; i++) {
        float g = a->gate[i];
        a->y[i] = g / (1.0f + expf(-g)) * a->up[i];
    }
}
DISPATCHED(swiglu_range)

void llm_swiglu_forward(const float *gate, const float *up, float *y, long count) {
    swiglu_args a = {gate, up, NULL, y, NULL, NULL};
    parallel_ranges(count, 16, swiglu_range, &a);
}

// d/dg = dy * u * s (1 + g (1 - s)) with s = sigmoid(g);  d/du = dy * silu(g).
ROW_BODY(swiglu_backward_range) {
    const swiglu_args *a = context;
    for (long i = begin; i < end; i++) {
        float g = a->gate[i], s = 1.0f / (1.0f + expf(-g));
        if (a->dgate) a->dgate[i] += a->dy[i] * a->up[i] * s * (1.0f + g * (1.0f - s));
        if (a->dup) a->dup[i] += a->dy[i] * g * s;
    }
}
DISPATCHED(swiglu_backward_range)

void llm_swiglu_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, long count) {
    swiglu_args a = {gate, up, dy, NULL, dgate, dup};
    parallel_ranges(count, 24, swiglu_backward_range, &a);
}

// ---- Cross-entropy --------------------------------------------------------------------------------

typedef struct {
    const float *logits;
    const int64_t *targets;
    float *lse, *dlogits;
    double *row_loss;
    long cols;
    int64_t ignore_index;
    float scale;
    int accumulate;
} cross_entropy_args;

ROW_BODY(cross_entropy_rows) {
    const cross_entropy_args *c = context;
    for (long r = begin; r < end; r++) {
        const float *x = c->logits + r * c->cols;
        float max = -INFINITY;
        for (long j = 0; j < c->cols; j++) max = x[j] > max ? x[j] : max;
        float sum = 0.0f;
        VECTORIZE
        for (long j = 0; j < c->cols; j++) sum += fast_expf(x[j] - max);
        float lse = max + logf(sum);
        c->lse[r] = lse;
        int64_t t = c->targets[r];
        c->row_loss[r] = t == c->ignore_index ? 0.0 : (double)(lse - x[t]);
    }
}
DISPATCHED(cross_entropy_rows)


double llm_cross_entropy_forward(const float *logits, const int64_t *targets, float *lse, long rows, long cols,
                                 int64_t ignore_index, long *counted) {
    double *row_loss = malloc(sizeof(double) * (size_t)(rows > 0 ? rows : 1));
    if (!row_loss) abort();
    cross_entropy_args c = {logits, targets, lse, NULL, row_loss, cols, ignore_index, 0};
    parallel_ranges(rows, cols * 2, cross_entropy_rows, &c);
    double total = 0.0;
    long n = 0;
    for (long r = 0; r < rows; r++) {
        if (targets[r] == ignore_index) continue;
        total += row_loss[r];
        n++;
    }
    free(row_loss);
    *counted = n;
    return total;
}

ROW_BODY(cross_entropy_backward_rows) {
    const cross_entropy_args *c = context;
    for (long r = begin; r < end; r++) {
        int64_t t = c->targets[r];
        const float *x = c->logits + r * c->cols;
        float *dx = c->dlogits + r * c->cols;
        if (t == c->ignore_index) {
            if (!c->accumulate) memset(dx, 0, sizeof(float) * (size_t)c->cols);
            continue;
        }
        float lse = c->lse[r];
        if (c->accumulate) {
            VECTORIZE
            for (long j = 0; j < c->cols; j++) dx[j] += c->scale * fast_expf(x[j] - lse);
        } else {
            VECTORIZE
            for (long j = 0; j < c->cols; j++) dx[j] = c->scale * fast_expf(x[j] - lse);
        }
        dx[t] -= c->scale;
    }
}
DISPATCHED(cross_entropy_backward_rows)


void llm_cross_entropy_backward(const float *logits, const int64_t *targets, const float *lse, float *dlogits,
                                long rows, long cols, int64_t ignore_index, float scale, int accumulate) {
    cross_entropy_args c = {logits, targets, (float *)lse, dlogits, NULL, cols, ignore_index, scale, accumulate};
    parallel_ranges(rows, cols * 2, cross_entropy_backward_rows, &c);
}

// ---- Dropout ----------------------------------------------------------------------------------------

typedef struct {
    const float *x;
    float *y;
    uint64_t key, first;
    uint32_t threshold;
    float scale;
    int accumulate;
} dropout_args;

ROW_BODY(dropout_range) {
    const dropout_args *d = context;
    if (d->accumulate) {
        VECTORIZE
        for (long i = begin; i < end; i++)
            d->y[i] += d->x[i] * (dropout_keeps(d->key, d->first + (uint64_t)i, d->threshold) ? d->scale : 0.0f);
    } else {
        VECTORIZE
        for (long i = begin; i < end; i++)
            d->y[i] = d->x[i] * (dropout_keeps(d->key, d->first + (uint64_t)i, d->threshold) ? d->scale : 0.0f);
    }
}
DISPATCHED(dropout_range)

void llm_dropout_forward(const float *x, float *y, long count, float p, uint64_t key, uint64_t first_index) {
    dropout_args d = {x, y, key, first_index, dropout_threshold(p), 1.0f / (1.0f - p), 0};
    parallel_ranges(count, 4, dropout_range, &d);
}

void llm_dropout_backward(const float *dy, float *dx, long count, float p, uint64_t key, uint64_t first_index,
                          int accumulate) {
    dropout_args d = {dy, dx, key, first_index, dropout_threshold(p), 1.0f / (1.0f - p), accumulate};
    parallel_ranges(count, 4, dropout_range, &d);
}

// ---- AdamW ------------------------------------------------------------------------------------------

// sqrtf may set errno, which stops the loop from vectorising; clang's elementwise builtin does not.
#if defined(__has_builtin) && __has_builtin(__builtin_elementwise_sqrt)
#define sqrt_vectorisable(x) __builtin_elementwise_sqrt(x)
#else
#define sqrt_vectorisable(x) sqrtf(x)
#endif

typedef struct {
    float *w, *m, *v;
    const float *g;
    float decay_factor, beta1, beta2, step_size, rsqrt_correction2, eps;
} adamw_args;

// PyTorch's order of operations: p *= 1 - lr * wd; m, v updated; p -= (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps).
ROW_BODY(adamw_range) {
    const adamw_args *a = context;
    float *w = a->w, *m = a->m, *v = a->v;
    const float *g = a->g;
    VECTORIZE
    for (long i = begin; i < end; i++) {
        float mi = a->beta1 * m[i] + (1.0f - a->beta1) * g[i];
        float vi = a->beta2 * v[i] + (1.0f - a->beta2) * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        w[i] = w[i] * a->decay_factor - a->step_size * mi / (sqrt_vectorisable(vi) * a->rsqrt_correction2 + a->eps);
    }
}
DISPATCHED(adamw_range)

void llm_adamw_update(float *w, const float *g, float *m, float *v, long count, float lr, float beta1, float beta2,
                      float eps, float weight_decay, float correction1, float correction2) {
    adamw_args a = {w, m, v, g, 1.0f - lr * weight_decay, beta1, beta2, lr / correction1, 1.0f / sqrtf(correction2), eps};
    parallel_ranges(count, 8, adamw_range, &a);
}
