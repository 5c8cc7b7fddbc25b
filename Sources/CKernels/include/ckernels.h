// CKernels: the hot loops of the toolkit, in C so that each SIMD kernel can carry its own
// `__attribute__((target(...)))` and be chosen at run time (Swift has no per-function target
// attribute, and `unsafeFlags` would make the package unusable as a dependency).
//
// Everything here works on contiguous row-major fp32 buffers. Shapes are checked by the Swift caller;
// these functions trust their arguments.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- Thread pool (threadpool.c) -------------------------------------------------------------------

/// A task body: called once for each index in [0, count).
typedef void (*llm_task_fn)(void *context, long index);

/// Runs `fn(context, i)` for every i in [0, count) on the persistent pool; returns when all are done.
/// Called from inside a running task (nested) or while another thread owns the pool, it runs serially.
void llm_parallel_for(long count, llm_task_fn fn, void *context);

/// Number of threads the pool uses (the calling thread included). Defaults to `LLM_NUM_THREADS`
/// from the environment, else the number of online cores.
int llm_num_threads(void);

/// Changes the number of threads (values below 1 mean 1). Takes effect on the next parallel call.
void llm_set_num_threads(int count);

// ---- CPU features and GEMM (cpu.c, gemm.c) --------------------------------------------------------

/// Instruction sets the GEMM can use, best first.
typedef enum { LLM_ISA_PORTABLE = 0, LLM_ISA_AVX2 = 1, LLM_ISA_AVX512 = 2 } llm_isa;

/// The best instruction set this CPU supports.
llm_isa llm_cpu_best_isa(void);

/// The instruction set GEMM uses now: the best one, unless `LLM_GEMM_ISA` (portable|avx2|avx512)
/// or `llm_gemm_set_isa` asked for a lower one.
llm_isa llm_gemm_isa(void);

/// Forces an instruction set (clamped to what the CPU supports); returns the one now in use.
llm_isa llm_gemm_set_isa(llm_isa isa);

/// C = alpha * op(A) * op(B) + beta * C, row-major, op(X) = X or its transpose.
/// op(A) is M x K, op(B) is K x N, C is M x N. lda/ldb/ldc are row strides of A, B, C as stored.
/// With beta == 0, C is not read (it may hold garbage or NaN).
void llm_sgemm(int trans_a, int trans_b, long m, long n, long k, float alpha,
               const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// The same on the calling thread alone: for callers that are themselves one task of a parallel loop
/// (the attention kernel runs one head per task).
void llm_sgemm_serial(int trans_a, int trans_b, long m, long n, long k, float alpha,
                      const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// The same product with bfloat16 inputs, as mixed-precision training runs it: op(A) and op(B) are rounded
/// to bf16 (nearest even) while they are packed, products are exact and sums are fp32, C stays fp32. On a
/// CPU with avx512_bf16 (and `llm_gemm_isa` at avx512) it runs on `vdpbf16ps`, two multiply-adds per fp32
/// lane; elsewhere on the fp32 kernels fed with values rounded to bf16 (the same products, fp32 speed).
void llm_sgemm_bf16(int trans_a, int trans_b, long m, long n, long k, float alpha,
                    const float *a, long lda, const float *b, long ldb, float beta, float *c, long ldc);

/// Whether this CPU has the AVX-512 bf16 instructions (vdpbf16ps, vcvtne2ps2bf16).
int llm_cpu_has_bf16(void);

/// Whether llm_sgemm_bf16 runs on the CPU's bf16 instructions now (1), or on the fp32 kernels (0): the CPU has
/// them and `llm_gemm_isa` is at avx512.
int llm_gemm_bf16_native(void);

/// The micro-kernel llm_sgemm (`bf16` 0) or llm_sgemm_bf16 (`bf16` 1) uses now, e.g. "avx512 8x32".
const char *llm_gemm_kernel_name(int bf16);

// ---- Fused row kernels (fused.c) ------------------------------------------------------------------

/// Softmax of each row of x (rows x cols) into y. With `causal`, rows are grouped in matrices of
/// `query_len` rows; row r is query position q = r % query_len and may see keys j <= q + cols - query_len
/// (so a KV-cached query block sees its whole prefix); masked entries become exactly 0.
void llm_softmax_forward(const float *x, float *y, long rows, long cols, int causal, long query_len);

/// dx = y * (dy - sum(dy * y)) per row; accumulates into dx when `accumulate` is non-zero.
void llm_softmax_backward(const float *y, const float *dy, float *dx, long rows, long cols, int accumulate);

/// Log-softmax per row and its backward: dx = dy - exp(y) * sum(dy).
void llm_log_softmax_forward(const float *x, float *y, long rows, long cols);
void llm_log_softmax_backward(const float *y, const float *dy, float *dx, long rows, long cols, int accumulate);

/// Layer norm over the last dimension: y = (x - mean) / sqrt(var + eps) * weight + bias (biased variance,
/// as PyTorch). Saves mean and rstd (one per row) for the backward pass. weight/bias may be NULL.
void llm_layernorm_forward(const float *x, const float *weight, const float *bias, float *y,
                           float *mean, float *rstd, long rows, long cols, float eps);

/// Backward of layer norm. Adds into dx, dweight and dbias (each may be NULL to skip it).
void llm_layernorm_backward(const float *x, const float *weight, const float *mean, const float *rstd,
                            const float *dy, float *dx, float *dweight, float *dbias, long rows, long cols);

/// RMSNorm over the last dimension (Llama, Qwen): y = x / sqrt(mean(x^2) + eps) * weight. Saves 1/rms per
/// row in `rstd` (may be NULL when no backward pass follows). weight may be NULL.
void llm_rmsnorm_forward(const float *x, const float *weight, float *y, float *rstd, long rows, long cols, float eps);
/// Backward of RMSNorm. Adds into dx and dweight (each may be NULL to skip it).
void llm_rmsnorm_backward(const float *x, const float *weight, const float *rstd, const float *dy, float *dx,
                          float *dweight, long rows, long cols);

/// SwiGLU's gating: y = silu(gate) * up elementwise, silu(g) = g * sigmoid(g).
void llm_swiglu_forward(const float *gate, const float *up, float *y, long count);
/// Backward of SwiGLU: adds into dgate and dup (each may be NULL).
void llm_swiglu_backward(const float *gate, const float *up, const float *dy, float *dgate, float *dup, long count);

/// GELU, tanh approximation (as GPT-2): 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
void llm_gelu_forward(const float *x, float *y, long count);
/// dx += dy * gelu'(x); with `accumulate` 0, dx = dy * gelu'(x) (dx need not be initialised).
void llm_gelu_backward(const float *x, const float *dy, float *dx, long count, int accumulate);

/// GELU as BERT computes it, x * Phi(x) with the exact erf (to 1.5e-7), and its backward (dx += dy * gelu'(x); with
/// `accumulate` 0, dx = dy * gelu'(x)).
void llm_exact_gelu_forward(const float *x, float *y, long count);
void llm_exact_gelu_backward(const float *x, const float *dy, float *dx, long count, int accumulate);

/// tanh and the logistic sigmoid, elementwise (relative error about 3e-7).
void llm_tanh_forward(const float *x, float *y, long count);
void llm_sigmoid_forward(const float *x, float *y, long count);

/// One step of PyTorch's GRU cell for `rows` rows of width n: gx row b at gx + b * gx_row_stride (r, z, n blocks:
/// x W_ih^T + b_ih), gh (rows, 3n) = h W_hh^T, bias = b_hh (3n), h (rows, n) → out (rows, n); saved (rows, 4n)
/// receives r, z, n and h_n + b_hn for the backward pass. Rows whose `keep` is 0 copy h (keep may be NULL).
void llm_gru_cell_forward(const float *gx, long gx_row_stride, const float *gh, const float *bias, const float *h,
                          const uint8_t *keep, float *out, float *saved, long rows, long n);

/// Bahdanau's scores: scores[b, s] = sum_a v[a] tanh(keys[b, s, a] + query[b, a]) for keys (batch, steps, width),
/// query (batch, width); activations (batch, steps, width) receives the tanh values for the backward pass.
void llm_additive_scores_forward(const float *keys, const float *query, const float *v, float *activations, float *scores,
                                 long batch, long steps, long width);

/// Cross-entropy of logits (rows x cols) against integer targets; rows whose target equals
/// `ignore_index` are skipped. Writes each row's log-sum-exp into `lse` (for the backward pass) and
/// returns the sum of the per-row losses; *counted receives the number of rows not ignored.
double llm_cross_entropy_forward(const float *logits, const int64_t *targets, float *lse,
                                 long rows, long cols, int64_t ignore_index, long *counted);

/// dlogits += scale * (softmax(logits) - onehot(target)) for rows not ignored. With `accumulate` 0,
/// dlogits is written instead (ignored rows get zeros), so it need not be initialised.
void llm_cross_entropy_backward(const float *logits, const int64_t *targets, const float *lse,
                                float *dlogits, long rows, long cols, int64_t ignore_index, float scale,
                                int accumulate);

/// Dropout with a counter-based mask: element i survives when a hash of (key, i) says so (probability
/// 1 - p) and is then scaled by 1 / (1 - p); the rest become 0. The same key gives the same mask, so
/// the backward pass (dx += mask * dy, or dx = mask * dy when `accumulate` is 0) needs no stored mask.
/// The hashed index is first_index + i: a part of a larger tensor (a data-parallel process's rows of the
/// whole batch) gets the mask its elements have in the whole.
void llm_dropout_forward(const float *x, float *y, long count, float p, uint64_t key, uint64_t first_index);
void llm_dropout_backward(const float *dy, float *dx, long count, float p, uint64_t key, uint64_t first_index,
                          int accumulate);

/// One AdamW step over a parameter tensor, in PyTorch's order of operations: w *= 1 - lr * weight_decay;
/// m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2; w -= lr / c1 * m / (sqrt(v) / sqrt(c2) + eps),
/// where c1 and c2 are the bias corrections 1 - beta^step.
void llm_adamw_update(float *w, const float *g, float *m, float *v, long count, float lr, float beta1, float beta2,
                      float eps, float weight_decay, float correction1, float correction2);

// ---- Fused attention (attention.c) -----------------------------------------------------------------

/// Where a tensor of heads lives: element (b, h, t, x) is at b * batch + h * head + t * row + x.
/// Contiguous (B, H, T, D) is {H*T*D, T*D, D}; the query block of a fused (B, T, 3C) projection is
/// {T*3C, D, 3C} (keys and values: the same strides from C and 2C further on).
typedef struct {
    long batch, head, row;
} llm_attention_strides;

/// Softmax attention without storing the (Tq x Tk) weights: for each of the batch * heads heads,
/// o = dropout(softmax(q k^T * scale [+ causal mask])) v. q and o have Tq rows of D, k and v Tk rows
/// (v uses k's strides); `lse` receives each query row's log-sum-exp of scaled scores, (batch*heads, tq)
/// contiguous, which the backward pass uses to recompute the weights. With `causal`, query i (at
/// position tk - tq + i) sees keys j <= tk - tq + i. Dropout (probability `dropout`, 0 for none) uses
/// the mask of llm_dropout_forward with `key` over the flat (B, H, Tq, Tk) index of each weight, plus
/// `first_index` (as llm_dropout_forward's).
void llm_attention_forward(const float *q, const float *k, const float *v, float *o, float *lse, long batch,
                           long heads, long tq, long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                           llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                           uint64_t first_index);

/// Backward of llm_attention_forward: adds into dq, dk, dv (any may be NULL to skip it; dq has q's
/// strides, dk and dv k's, dout o's). Recomputes the weights block by block from q, k and lse.
void llm_attention_backward(const float *q, const float *k, const float *v, const float *o, const float *lse,
                            const float *dout, float *dq, float *dk, float *dv, long batch, long heads, long tq,
                            long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                            llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                            uint64_t first_index);

/// The two above without a causal mask and with padding (BERT's batches): batch row b's queries see only its
/// first key_lengths[b] keys (each at least 1; the rest are padding, weight 0). NULL key_lengths: all keys.
void llm_attention_forward_padded(const float *q, const float *k, const float *v, float *o, float *lse, long batch,
                                  long heads, long tq, long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                                  llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                                  uint64_t first_index, const int32_t *key_lengths);
void llm_attention_backward_padded(const float *q, const float *k, const float *v, const float *o, const float *lse,
                                   const float *dout, float *dq, float *dk, float *dv, long batch, long heads, long tq,
                                   long tk, long d, llm_attention_strides sq, llm_attention_strides sk,
                                   llm_attention_strides so, float scale, int causal, float dropout, uint64_t key,
                                   uint64_t first_index, const int32_t *key_lengths);


// ---- Weights in 32, 16 or 8 bits (weights.c) ----------------------------------------------------------

/// How a weight matrix is stored. The values are ggml's type ids, so GGUF files map onto them directly.
typedef enum {
    LLM_WEIGHT_F32 = 0,
    LLM_WEIGHT_F16 = 1,   // IEEE half
    LLM_WEIGHT_Q8_0 = 8,  // blocks of 32: one fp16 scale d, 32 int8 q; value = d * q (34 bytes a block)
    LLM_WEIGHT_BF16 = 30, // the top 16 bits of a float32
} llm_weight_type;

/// Up to this many rows, llm_weight_matmul streams the weights once for all rows, and each row's result
/// does not depend on the other rows (nor on the thread count): batched decoding is batch-invariant.
#define LLM_ROW_KERNEL_MAX_M 16

/// Bytes of one row of k values; -1 when k does not fit the type (q8_0 needs a multiple of 32).
long llm_weight_row_bytes(llm_weight_type type, long k);

/// fp32 rows (rows x k) → `type` (f16/bf16 round to nearest even; q8_0 exactly as ggml's quantizer).
void llm_weight_quantize(llm_weight_type type, const float *x, void *out, long rows, long k);

/// `type` rows → fp32 (rows x k).
void llm_weight_dequantize(llm_weight_type type, const void *w, float *out, long rows, long k);

/// y (m x n) = x (m x k) · W^T (+ bias), W stored as n rows of k values of `type` (output by input, as
/// GGUF stores it). x and y are row-major fp32; bias (n) may be NULL. Runs on the thread pool.
void llm_weight_matmul(llm_weight_type type, const float *x, long m, long k, const void *w, long n,
                       const float *bias, float *y);

/// The kernel family llm_weight_matmul uses now: "portable", "avx2" or "avx512-vnni".
const char *llm_weight_kernel_name(void);

/// Scalar conversions (exact; round to nearest even towards the 16-bit types).
float llm_fp16_to_fp32(uint16_t h);
uint16_t llm_fp32_to_fp16(float f);
uint16_t llm_fp32_to_bf16(float f);

// ---- ggml's block types (ggml_blocks.c) -----------------------------------------------------------

/// Values per block of ggml type `type` (GGUF's type ids: F32 0, F16 1, Q4_0 2, Q4_1 3, Q5_0 6, Q5_1 7,
/// Q8_0 8, Q2_K 10, Q3_K 11, Q4_K 12, Q5_K 13, Q6_K 14, IQ4_NL 20, IQ4_XS 23, BF16 30) and, in `bytes`, the bytes
/// of one block; 0 for a type this library does not read.
long llm_ggml_block(uint32_t type, long *bytes);

/// `count` values of `type` (a whole number of blocks) → fp32, bit-exact with gguf-py's dequantisers.
/// Returns 0, or -1 for an unknown type or a count that is not whole blocks.
int llm_ggml_dequantize(uint32_t type, const void *source, float *out, long count);

// ---- HNSW graphs (hnsw.c) ---------------------------------------------------------------------------

/// A hierarchical navigable small-world graph over `count` unit vectors, scored by inner product. The caller owns
/// every array and draws the levels; links are (a count, then node ids) lists of fixed capacity: 2m on layer 0
/// (`links0`, count x (1 + 2m)), m on each upper layer (node i's layers 1...levels[i] at upper + upper_offset[i],
/// each 1 + m). Zeroed lists are empty.
typedef struct {
    const float *vectors;      ///< count x dim
    long count, dim;
    int m;
    int max_level;             ///< the entry node's level (set by llm_hnsw_insert)
    long entry;
    const int32_t *levels;     ///< count
    uint32_t *links0;
    uint32_t *upper;
    const int64_t *upper_offset; ///< count
} llm_hnsw;

/// Links nodes [first, count) into a graph holding nodes [0, first) (all of them when first is 0), looking at
/// `ef_construction` candidates per layer; calls progress(context, nodes linked) after each batch (may be NULL).
/// The graph built does not depend on the number of threads.
void llm_hnsw_insert(llm_hnsw *g, long first, int ef_construction, void (*progress)(void *, long), void *progress_context);

/// The `k` best nodes for each query (count x dim), best first, searching `ef` (at least k) candidates on layer 0:
/// ids (count x k; -1 past the graph's size) and their scores.
void llm_hnsw_search(const llm_hnsw *g, const float *queries, long count, long k, long ef, int64_t *ids, float *scores);

/// The inner product of two vectors of n floats (the kernel the graph uses).
float llm_hnsw_dot(const float *a, const float *b, long n);

// ---- word2vec (word2vec.c) ------------------------------------------------------------------------

/// The noise table's bucket index: LLM_W2V_BUCKETS + 1 entries, built by llm_word2vec_noise_buckets.
#define LLM_W2V_BUCKET_SHIFT 15
#define LLM_W2V_BUCKETS 65536 // (2^31 - 1 >> LLM_W2V_BUCKET_SHIFT) + 1: buckets covering the noise table's range
/// Most noise words per target.
#define LLM_W2V_MAX_NEGATIVE 64

/// The weights and tables of a word2vec model trained with negative sampling.
typedef struct {
    float *input;               ///< (vocab x dim) word vectors ("syn0"), updated in place
    float *output;              ///< (vocab x dim) output vectors ("syn1neg"), updated in place
    long dim;
    const uint32_t *cum_table;  ///< (vocab) cumulative noise counts, last = 2^31 - 1
    const int32_t *noise_buckets; ///< (LLM_W2V_BUCKETS + 1) first word whose cumulative count reaches each bucket
    long vocab;
    const uint32_t *keep;       ///< (vocab) subsampling: keep a word when keep[w] >= 32 random bits; NULL keeps all
    int window, negative;       ///< negative at most LLM_W2V_MAX_NEGATIVE
    int cbow;                   ///< 0: skip-gram; 1: CBOW with the mean of the context
    int shrink_windows;         ///< 1: each position's window shrinks by a random amount in [0, window)
} llm_word2vec_model;

/// Trains on one job: `sentences` sentences of vocabulary indices in `words`, sentence s ending before
/// sentence_ends[s]; learning rate `alpha`; `random` is gensim's 48-bit generator state, advanced. Scratch:
/// kept (words), kept_ends (sentences), reduced (words), scratch (2 x dim). Returns the words kept by
/// subsampling. Runs on the calling thread; callers run jobs on several threads at once (lock-free).
/// Fills `buckets` (LLM_W2V_BUCKETS + 1 entries): bucket b's first word whose cumulative count reaches b << shift.
void llm_word2vec_noise_buckets(const uint32_t *cum_table, long vocab, int32_t *buckets);

long llm_word2vec_train(const llm_word2vec_model *model, const int32_t *words, const long *sentence_ends, long sentences, float alpha,
                        uint64_t *random, int32_t *kept, long *kept_ends, int32_t *reduced, float *scratch);

#ifdef __cplusplus
}
#endif

#endif
