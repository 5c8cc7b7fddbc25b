// Hierarchical navigable small-world graphs (Malkov & Yashunin, 2016): approximate nearest neighbours by inner
// product over unit vectors, the retrieval index's `--hnsw` search.
//
// Each node lives on layers 0…level (levels drawn geometrically by the caller, so each layer holds about 1/m of
// the one below). A search walks greedily down the sparse upper layers to a good entry point, then runs a best-first
// search on layer 0 keeping the `ef` best nodes seen. Links are chosen by the paper's heuristic (a candidate is kept
// only when it is closer to the new node than to every neighbour kept before it), which keeps links pointing in
// different directions.
//
// Insertion is batched so that the graph it builds does not depend on the number of threads: the nodes of a batch
// look for their neighbours in parallel in the graph as it stood before the batch (phase A), then every old node
// that a new one chose receives all its new back-links at once, each old node on one thread (phase B). Batches are
// small against the graph (at most 1/64 of it, and 256), so a node seldom misses a neighbour in its own batch; the
// first 64 nodes go in one at a time.
#include "ckernels.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

// ---- Inner products, dispatched on the ISA --------------------------------------------------------

static float dot_portable(const float *a, const float *b, long n) {
    float s[8] = {0};
    long i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) s[j] += a[i + j] * b[i + j];
    float t = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx2,fma"))) static float dot_avx2(const float *a, const float *b, long n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    long i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    __m256 s = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    float t = _mm_cvtss_f32(h);
    for (; i < n; i++) t += a[i] * b[i];
    return t;
}

__attribute__((target("avx512f"))) static float dot_avx512(const float *a, const float *b, long n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    long i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    if (i < n) { // the ragged end under a mask
        __mmask16 m = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}
#endif

typedef float (*dot_fn)(const float *, const float *, long);

static dot_fn choose_dot(void) {
#if defined(__x86_64__) || defined(__i386__)
    llm_isa isa = llm_gemm_isa();
    if (isa >= LLM_ISA_AVX512) return dot_avx512;
    if (isa >= LLM_ISA_AVX2) return dot_avx2;
#endif
    return dot_portable;
}

float llm_hnsw_dot(const float *a, const float *b, long n) { return choose_dot()(a, b, n); }

// ---- Heaps of (score, node) -----------------------------------------------------------------------

typedef struct {
    float score;
    uint32_t node;
} hit;

typedef struct {
    hit *items;
    long count, capacity;
} heap;

static void heap_reserve(heap *h, long n) {
    if (h->capacity >= n) return;
    h->capacity = n > 2 * h->capacity ? n : 2 * h->capacity;
    h->items = realloc(h->items, (size_t)h->capacity * sizeof(hit));
    if (!h->items) abort();
}

// `top_is_max`: 1 keeps the best score on top (candidates to explore), 0 the worst (the ef results kept).
static inline int above(hit a, hit b, int top_is_max) { return top_is_max ? a.score > b.score : a.score < b.score; }

static void heap_push(heap *h, hit x, int top_is_max) {
    heap_reserve(h, h->count + 1);
    long i = h->count++;
    while (i > 0) {
        long parent = (i - 1) / 2;
        if (!above(x, h->items[parent], top_is_max)) break;
        h->items[i] = h->items[parent];
        i = parent;
    }
    h->items[i] = x;
}

static hit heap_pop(heap *h, int top_is_max) {
    hit top = h->items[0], last = h->items[--h->count];
    long i = 0, n = h->count;
    for (;;) {
        long child = 2 * i + 1;
        if (child >= n) break;
        if (child + 1 < n && above(h->items[child + 1], h->items[child], top_is_max)) child++;
        if (!above(h->items[child], last, top_is_max)) break;
        h->items[i] = h->items[child];
        i = child;
    }
    if (n > 0) h->items[i] = last;
    return top;
}

// ---- Per-task scratch: the visited marks and both heaps -------------------------------------------

typedef struct {
    uint16_t *visited; // visited[node] == stamp: seen in the current search (16 bits: half the cache lines of 32)
    uint16_t stamp;
    heap candidates, results;
    hit *sorted;       // results, best first
    long sorted_capacity;
} scratch;

static void scratch_init(scratch *s, long count) {
    memset(s, 0, sizeof *s);
    s->visited = calloc((size_t)(count > 0 ? count : 1), sizeof(uint16_t));
    if (!s->visited) abort();
}

static void scratch_free(scratch *s) {
    free(s->visited);
    free(s->candidates.items);
    free(s->results.items);
    free(s->sorted);
}

static void next_stamp(scratch *s, long count) {
    if (++s->stamp == 0) { // wrapped after 65,535 searches: clear and start again
        memset(s->visited, 0, (size_t)count * sizeof(uint16_t));
        s->stamp = 1;
    }
}

// ---- The graph -------------------------------------------------------------------------------------

static inline uint32_t *links_of(const llm_hnsw *g, long node, int layer) {
    if (layer == 0) return g->links0 + node * (1 + 2 * (long)g->m);
    return g->upper + g->upper_offset[node] + (long)(layer - 1) * (1 + g->m);
}

static inline int capacity_of(const llm_hnsw *g, int layer) { return layer == 0 ? 2 * g->m : g->m; }

static inline const float *vector_of(const llm_hnsw *g, long node) { return g->vectors + node * g->dim; }

// From `entry`, the best node on `layer` reachable by always moving to a better neighbour.
static uint32_t greedy(const llm_hnsw *g, dot_fn dot, const float *q, uint32_t entry, int layer) {
    float best = dot(q, vector_of(g, entry), g->dim);
    for (int moved = 1; moved;) {
        moved = 0;
        const uint32_t *l = links_of(g, entry, layer);
        for (uint32_t i = 1; i <= l[0]; i++) {
            float s = dot(q, vector_of(g, l[i]), g->dim);
            if (s > best) best = s, entry = l[i], moved = 1;
        }
    }
    return entry;
}

// Best-first search of `layer` from `entry`, keeping the `ef` best nodes: leaves them in s->sorted, best first,
// and returns how many.
static long search_layer(const llm_hnsw *g, dot_fn dot, scratch *s, const float *q, uint32_t entry, long ef, int layer) {
    next_stamp(s, g->count);
    s->candidates.count = s->results.count = 0;
    hit first = {dot(q, vector_of(g, entry), g->dim), entry};
    s->visited[entry] = s->stamp;
    heap_push(&s->candidates, first, 1);
    heap_push(&s->results, first, 0);
    while (s->candidates.count > 0) {
        hit c = heap_pop(&s->candidates, 1);
        if (s->results.count == ef && c.score < s->results.items[0].score) break; // nothing left can get in
        const uint32_t *l = links_of(g, c.node, layer);
        // Memory, not arithmetic, bounds this loop: the next neighbour's vector and visited mark are fetched while
        // this one is scored, and the best candidate's links as soon as it is known (it is the next one expanded).
        if (l[0] > 0) __builtin_prefetch(&s->visited[l[1]]);
        for (uint32_t i = 1; i <= l[0]; i++) {
            if (i < l[0]) {
                const char *next = (const char *)vector_of(g, l[i + 1]);
                __builtin_prefetch(next);
                __builtin_prefetch(next + 64);
                __builtin_prefetch(&s->visited[l[i + 1]]);
            }
            uint32_t n = l[i];
            if (s->visited[n] == s->stamp) continue;
            s->visited[n] = s->stamp;
            hit h = {dot(q, vector_of(g, n), g->dim), n};
            if (s->results.count < ef || h.score > s->results.items[0].score) {
                heap_push(&s->candidates, h, 1);
                heap_push(&s->results, h, 0);
                if (s->results.count > ef) heap_pop(&s->results, 0);
                __builtin_prefetch(links_of(g, s->candidates.items[0].node, layer));
            }
        }
    }
    long n = s->results.count;
    if (s->sorted_capacity < n) {
        free(s->sorted);
        s->sorted = malloc((size_t)n * sizeof(hit));
        if (!s->sorted) abort();
        s->sorted_capacity = n;
    }
    for (long i = n - 1; i >= 0; i--) s->sorted[i] = heap_pop(&s->results, 0); // worst comes out first
    return n;
}

// The paper's heuristic: from candidates sorted best first, keep up to `limit`, each only if it is closer to the
// query than to every node kept before it. Writes the kept nodes into `out` (out[0] = how many).
static void select_neighbours(const llm_hnsw *g, dot_fn dot, const hit *candidates, long n, int limit, uint32_t *out) {
    uint32_t kept = 0;
    for (long i = 0; i < n && (int)kept < limit; i++) {
        int good = 1;
        for (uint32_t j = 1; j <= kept && good; j++)
            if (dot(vector_of(g, candidates[i].node), vector_of(g, out[j]), g->dim) > candidates[i].score) good = 0;
        if (good) out[++kept] = candidates[i].node;
    }
    out[0] = kept;
}

// ---- Insertion ------------------------------------------------------------------------------------

typedef struct {
    llm_hnsw *g;
    dot_fn dot;
    scratch *scratches;
    long begin, end, per_task;
    int ef, top_level;
    uint32_t entry;
} find_job;

// Phase A: each new node's links on every layer it shares with the graph, found in the graph before the batch.
static void find_neighbours(void *context, long task) {
    find_job *job = context;
    llm_hnsw *g = job->g;
    scratch *s = &job->scratches[task];
    long first = job->begin + task * job->per_task, last = first + job->per_task;
    if (last > job->end) last = job->end;
    for (long x = first; x < last; x++) {
        const float *q = vector_of(g, x);
        uint32_t entry = job->entry;
        int level = g->levels[x];
        for (int layer = job->top_level; layer > level; layer--) entry = greedy(g, job->dot, q, entry, layer);
        for (int layer = level < job->top_level ? level : job->top_level; layer >= 0; layer--) {
            long n = search_layer(g, job->dot, s, q, entry, job->ef, layer);
            select_neighbours(g, job->dot, s->sorted, n, g->m, links_of(g, x, layer));
            entry = s->sorted[0].node;
        }
    }
}

typedef struct {
    uint32_t target, from;
    int32_t layer;
    uint32_t order;
} backlink;

static int backlink_order(const void *a, const void *b) {
    const backlink *x = a, *y = b;
    if (x->target != y->target) return x->target < y->target ? -1 : 1;
    if (x->layer != y->layer) return x->layer < y->layer ? -1 : 1;
    return x->order < y->order ? -1 : (x->order > y->order);
}

typedef struct {
    llm_hnsw *g;
    dot_fn dot;
    const backlink *links;
    const long *group_start; // group i is links[group_start[i] ..< group_start[i + 1]]
    long groups;
} link_job;

// Phase B: one old node's layer gains its new back-links: appended while they fit, else the heuristic chooses
// among the old links and the new ones together.
static void add_backlinks(void *context, long group) {
    link_job *job = context;
    llm_hnsw *g = job->g;
    const backlink *first = job->links + job->group_start[group];
    long added = job->group_start[group + 1] - job->group_start[group];
    uint32_t target = first->target, *l = links_of(g, target, first->layer);
    int limit = capacity_of(g, first->layer);
    if (l[0] + added <= (uint32_t)limit) {
        for (long i = 0; i < added; i++) l[++l[0]] = first[i].from;
        return;
    }
    long n = l[0] + added;
    hit *candidates = malloc((size_t)n * sizeof(hit));
    uint32_t *chosen = malloc((size_t)(limit + 1) * sizeof(uint32_t));
    if (!candidates || !chosen) abort();
    const float *t = vector_of(g, target);
    for (uint32_t i = 0; i < l[0]; i++) candidates[i] = (hit){job->dot(t, vector_of(g, l[i + 1]), g->dim), l[i + 1]};
    for (long i = 0; i < added; i++) candidates[l[0] + i] = (hit){job->dot(t, vector_of(g, first[i].from), g->dim), first[i].from};
    for (long i = 1; i < n; i++) { // insertion sort, best first (n ≤ 2m + a batch's few), ties by position: stable
        hit h = candidates[i];
        long j = i;
        while (j > 0 && candidates[j - 1].score < h.score) candidates[j] = candidates[j - 1], j--;
        candidates[j] = h;
    }
    select_neighbours(g, job->dot, candidates, n, limit, chosen);
    memcpy(l, chosen, (size_t)(chosen[0] + 1) * sizeof(uint32_t));
    free(candidates);
    free(chosen);
}

void llm_hnsw_insert(llm_hnsw *g, long first, int ef_construction, void (*progress)(void *, long), void *progress_context) {
    dot_fn dot = choose_dot();
    long inserted = first;
    if (inserted == 0 && g->count > 0) { // the first node is the whole graph
        g->entry = 0;
        g->max_level = g->levels[0];
        inserted = 1;
    }
    int tasks = llm_num_threads();
    scratch *scratches = malloc((size_t)tasks * sizeof(scratch));
    if (!scratches) abort();
    for (int t = 0; t < tasks; t++) scratch_init(&scratches[t], g->count);
    backlink *links = NULL;
    long *group_start = NULL, links_capacity = 0;
    while (inserted < g->count) {
        long batch = inserted / 64;
        batch = batch < 1 ? 1 : (batch > 256 ? 256 : batch);
        long end = inserted + batch < g->count ? inserted + batch : g->count;
        long per_task = (end - inserted + tasks - 1) / tasks;
        find_job find = {g, dot, scratches, inserted, end, per_task, ef_construction, g->max_level, (uint32_t)g->entry};
        llm_parallel_for((end - inserted + per_task - 1) / per_task, find_neighbours, &find);

        long count = 0;
        for (long x = inserted; x < end; x++)
            for (int layer = 0; layer <= g->levels[x] && layer <= g->max_level; layer++) count += links_of(g, x, layer)[0];
        if (count > links_capacity) {
            links_capacity = count;
            links = realloc(links, (size_t)count * sizeof(backlink));
            group_start = realloc(group_start, (size_t)(count + 1) * sizeof(long));
            if (!links || !group_start) abort();
        }
        long k = 0;
        for (long x = inserted; x < end; x++)
            for (int layer = 0; layer <= g->levels[x] && layer <= g->max_level; layer++) {
                const uint32_t *l = links_of(g, x, layer);
                for (uint32_t i = 1; i <= l[0]; i++) links[k] = (backlink){l[i], (uint32_t)x, layer, (uint32_t)k}, k++;
            }
        qsort(links, (size_t)count, sizeof(backlink), backlink_order);
        long groups = 0;
        for (long i = 0; i < count; i++)
            if (i == 0 || links[i].target != links[i - 1].target || links[i].layer != links[i - 1].layer) group_start[groups++] = i;
        group_start[groups] = count;
        link_job link = {g, dot, links, group_start, groups};
        llm_parallel_for(groups, add_backlinks, &link);

        for (long x = inserted; x < end; x++)
            if (g->levels[x] > g->max_level) g->max_level = g->levels[x], g->entry = x;
        inserted = end;
        if (progress) progress(progress_context, inserted);
    }
    for (int t = 0; t < tasks; t++) scratch_free(&scratches[t]);
    free(scratches);
    free(links);
    free(group_start);
}

// ---- Search ---------------------------------------------------------------------------------------

typedef struct {
    const llm_hnsw *g;
    dot_fn dot;
    scratch *scratches;
    const float *queries;
    long count, per_task, k, ef;
    int64_t *ids;
    float *scores;
} search_job;

static void search_task(void *context, long task) {
    search_job *job = context;
    const llm_hnsw *g = job->g;
    long first = task * job->per_task, last = first + job->per_task;
    if (last > job->count) last = job->count;
    for (long i = first; i < last; i++) {
        const float *q = job->queries + i * g->dim;
        uint32_t entry = (uint32_t)g->entry;
        for (int layer = g->max_level; layer > 0; layer--) entry = greedy(g, job->dot, q, entry, layer);
        long n = search_layer(g, job->dot, &job->scratches[task], q, entry, job->ef > job->k ? job->ef : job->k, 0);
        for (long j = 0; j < job->k; j++) {
            job->ids[i * job->k + j] = j < n ? (int64_t)job->scratches[task].sorted[j].node : -1;
            job->scores[i * job->k + j] = j < n ? job->scratches[task].sorted[j].score : 0;
        }
    }
}

void llm_hnsw_search(const llm_hnsw *g, const float *queries, long count, long k, long ef, int64_t *ids, float *scores) {
    if (count <= 0) return;
    if (g->count == 0) {
        for (long i = 0; i < count * k; i++) ids[i] = -1, scores[i] = 0;
        return;
    }
    long tasks = llm_num_threads() < count ? llm_num_threads() : count;
    long per_task = (count + tasks - 1) / tasks;
    tasks = (count + per_task - 1) / per_task;
    scratch *scratches = malloc((size_t)tasks * sizeof(scratch));
    if (!scratches) abort();
    for (long t = 0; t < tasks; t++) scratch_init(&scratches[t], g->count);
    search_job job = {g, choose_dot(), scratches, queries, count, per_task, k, ef, ids, scores};
    llm_parallel_for(tasks, search_task, &job);
    for (long t = 0; t < tasks; t++) scratch_free(&scratches[t]);
    free(scratches);
}
