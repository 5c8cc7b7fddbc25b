// word2vec's training loop (Mikolov et al. 2013; the updates of the original C and of gensim): skip-gram or
// CBOW with negative sampling, over one job of sentences. The readable twin of every line here is
// Sources/Models/Word2Vec/Word2VecUpdates.swift; the tests run both on the same words and random state and
// compare the vectors.
//
// Several threads run jobs at once on the same two matrices without locks ("Hogwild"), as the original C
// and gensim do: two threads rarely touch the same row at the same time, and a lost update costs nothing
// that the next thousand do not repair.
//
// The random state is gensim's 48-bit linear congruential generator: subsampling and noise words are drawn
// from it as gensim draws them; the window reductions, which gensim takes from NumPy, come from it too (after
// the job's subsampling). One thread on one job reproduces the twin draw for draw.
#include "ckernels.h"
#include "kernel_helpers.h"

#include <math.h>
#include <stdint.h>

#define W2V_MAX_EXP 6.0f

static inline __attribute__((always_inline)) uint32_t w2v_random32(uint64_t *state) {
    uint32_t value = (uint32_t)((*state >> 16) & 0xFFFFFFFFu);
    *state = (*state * 25214903917ULL + 11) & 281474976710655ULL;
    return value;
}

// The first word whose cumulative noise count reaches `value` (gensim's bisect_left over cum_table). The
// bucket index narrows the search to the few words whose counts straddle value's bucket: the same answer
// as a bisection over the whole table, without its cache misses and mispredicted branches.
static inline __attribute__((always_inline)) long w2v_noise_word(const llm_word2vec_model *m, uint32_t value) {
    const uint32_t *cum = m->cum_table;
    long lo = m->noise_buckets[value >> LLM_W2V_BUCKET_SHIFT], hi = m->noise_buckets[(value >> LLM_W2V_BUCKET_SHIFT) + 1];
    if (hi > m->vocab - 1) hi = m->vocab - 1;
    while (lo < hi) {
        long mid = (lo + hi) >> 1;
        if (cum[mid] < value) lo = mid + 1; else hi = mid;
    }
    return lo;
}

void llm_word2vec_noise_buckets(const uint32_t *cum_table, long vocab, int32_t *buckets) {
    long word = 0;
    for (long b = 0; b <= LLM_W2V_BUCKETS; b++) {
        uint64_t start = (uint64_t)b << LLM_W2V_BUCKET_SHIFT;
        while (word < vocab && cum_table[word] < start) word++;
        buckets[b] = (int32_t)word;
    }
}

static inline __attribute__((always_inline)) float w2v_dot(const float *a, const float *b, long n) {
    _Pragma("clang fp reassociate(on)") // lets the sum run in vector lanes, as BLAS's sdot does
    float s = 0;
    _Pragma("clang loop vectorize(enable) interleave(enable)")
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

static inline __attribute__((always_inline)) void w2v_axpy(float g, const float *x, float *y, long n) {
    _Pragma("clang loop vectorize(enable) interleave(enable)")
    for (long i = 0; i < n; i++) y[i] += g * x[i];
}

// One target word against its noise words: input `l1` (D), the error for l1 accumulated in `work`. The
// noise words are drawn first (the draws do not depend on the vectors, so the order of the random numbers
// is gensim's) and their rows prefetched while the target's is worked on.
static inline __attribute__((always_inline)) void w2v_negative(const llm_word2vec_model *m, const float *l1, long word, float alpha,
                                                               float *work, uint64_t *random) {
    const long d = m->dim;
    long targets[LLM_W2V_MAX_NEGATIVE + 1];
    int n = 0;
    targets[n++] = word;
    for (int k = 0; k < m->negative; k++) {
        long target = w2v_noise_word(m, (uint32_t)((*random >> 16) % m->cum_table[m->vocab - 1]));
        *random = (*random * 25214903917ULL + 11) & 281474976710655ULL;
        if (target == word) continue;
        targets[n++] = target;
        __builtin_prefetch(m->output + target * d);
        __builtin_prefetch(m->output + target * d + 16);
    }
    for (int k = 0; k < n; k++) {
        float *l2 = m->output + targets[k] * d;
        float f = w2v_dot(l1, l2, d);
        if (f <= -W2V_MAX_EXP || f >= W2V_MAX_EXP) continue; // saturated: gensim skips it
        float g = ((k == 0 ? 1.0f : 0.0f) - 1.0f / (1.0f + fast_expf(-f))) * alpha;
        w2v_axpy(g, l2, work, d);
        w2v_axpy(g, l1, l2, d);
    }
}

static inline __attribute__((always_inline)) long w2v_train_body(const llm_word2vec_model *m, const int32_t *words, const long *ends,
                                                                 long sentences, float alpha, uint64_t *random, int32_t *kept,
                                                                 long *kept_ends, int32_t *reduced, float *scratch) {
    const long d = m->dim;
    float *work = scratch, *neu1 = scratch + d;
    // Subsampling of frequent words, sentence by sentence.
    long count = 0, start = 0;
    for (long s = 0; s < sentences; s++) {
        for (long i = start; i < ends[s]; i++) {
            int32_t w = words[i];
            if (m->keep && m->keep[w] < w2v_random32(random)) continue;
            kept[count++] = w;
        }
        kept_ends[s] = count;
        start = ends[s];
    }
    // Each position's window, shrunk by a random amount in [0, window).
    for (long i = 0; i < count; i++) reduced[i] = m->shrink_windows ? (int32_t)(w2v_random32(random) % (uint32_t)m->window) : 0;
    long begin = 0;
    for (long s = 0; s < sentences; s++) {
        long end = kept_ends[s];
        for (long i = begin; i < end; i++) {
            long lo = i - m->window + reduced[i], hi = i + m->window + 1 - reduced[i];
            if (lo < begin) lo = begin;
            if (hi > end) hi = end;
            if (!m->cbow) {
                // Skip-gram: each context word predicts the centre word.
                for (long j = lo; j < hi; j++) {
                    if (j == i) continue;
                    float *l1 = m->input + (long)kept[j] * d;
                    for (long k = 0; k < d; k++) work[k] = 0;
                    w2v_negative(m, l1, kept[i], alpha, work, random);
                    w2v_axpy(1, work, l1, d);
                }
            } else {
                // CBOW: the mean of the context predicts the centre word; every context word takes the error.
                long n = 0;
                for (long k = 0; k < d; k++) neu1[k] = 0;
                for (long j = lo; j < hi; j++) {
                    if (j == i) continue;
                    w2v_axpy(1, m->input + (long)kept[j] * d, neu1, d);
                    n++;
                }
                // No context (a one-word sentence): neu1 stays 0 and nothing moves, but the noise words are
                // still drawn, as gensim does, so the random state stays in step.
                float inverse = n > 0 ? 1.0f / (float)n : 1.0f;
                for (long k = 0; k < d; k++) neu1[k] *= inverse;
                for (long k = 0; k < d; k++) work[k] = 0;
                w2v_negative(m, neu1, kept[i], alpha, work, random);
                for (long j = lo; j < hi; j++) {
                    if (j == i) continue;
                    w2v_axpy(1, work, m->input + (long)kept[j] * d, d);
                }
            }
        }
        begin = end;
    }
    return count;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f"))) static long w2v_train_avx512(const llm_word2vec_model *m, const int32_t *w, const long *e, long s,
                                                                float a, uint64_t *r, int32_t *k, long *ke, int32_t *rw, float *sc) {
    return w2v_train_body(m, w, e, s, a, r, k, ke, rw, sc);
}
__attribute__((target("avx2,fma"))) static long w2v_train_avx2(const llm_word2vec_model *m, const int32_t *w, const long *e, long s,
                                                               float a, uint64_t *r, int32_t *k, long *ke, int32_t *rw, float *sc) {
    return w2v_train_body(m, w, e, s, a, r, k, ke, rw, sc);
}
#endif
static long w2v_train_portable(const llm_word2vec_model *m, const int32_t *w, const long *e, long s, float a, uint64_t *r, int32_t *k,
                               long *ke, int32_t *rw, float *sc) {
    return w2v_train_body(m, w, e, s, a, r, k, ke, rw, sc);
}

long llm_word2vec_train(const llm_word2vec_model *model, const int32_t *words, const long *sentence_ends, long sentences, float alpha,
                        uint64_t *random, int32_t *kept, long *kept_ends, int32_t *reduced, float *scratch) {
#if defined(__x86_64__) || defined(__i386__)
    llm_isa isa = llm_gemm_isa();
    if (isa >= LLM_ISA_AVX512) return w2v_train_avx512(model, words, sentence_ends, sentences, alpha, random, kept, kept_ends, reduced, scratch);
    if (isa >= LLM_ISA_AVX2) return w2v_train_avx2(model, words, sentence_ends, sentences, alpha, random, kept, kept_ends, reduced, scratch);
#endif
    return w2v_train_portable(model, words, sentence_ends, sentences, alpha, random, kept, kept_ends, reduced, scratch);
}
