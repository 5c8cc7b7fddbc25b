// A persistent thread pool for data-parallel loops.
//
// One job runs at a time: the submitting thread publishes (fn, context, count), bumps a generation
// counter and works on the job itself; workers claim indices from an atomic counter. Workers spin a
// little before sleeping on a condition variable because GEMM and the fused kernels submit many short
// jobs back to back, and waking a sleeping thread costs tens of microseconds.
//
// Not done: work stealing or per-job thread counts. A second thread that submits while the pool is busy
// (for example parallel tests) runs its job serially instead of waiting, so the pool never deadlocks.
#define _GNU_SOURCE
#include "ckernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#define SPIN_ITERATIONS 20000

static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;   // guards sleeping and (re)creation
static pthread_cond_t pool_wakeup = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t submit_mutex = PTHREAD_MUTEX_INITIALIZER; // one job at a time

static pthread_t *workers = NULL;
static int worker_count = 0;        // threads besides the caller
static atomic_int wanted_threads = 0; // 0: not decided yet
static atomic_long generation = 0;  // bumped once per job; odd/even has no meaning

static struct {
    llm_task_fn fn;
    void *context;
    long count;
    atomic_long next;
    atomic_int running_workers;
    int quit;
} job;

static _Thread_local int inside_job = 0;

static void run_indices(void) {
    for (;;) {
        long i = atomic_fetch_add_explicit(&job.next, 1, memory_order_relaxed);
        if (i >= job.count) break;
        job.fn(job.context, i);
    }
}

// `arg` carries the generation at creation time, so a job published before the thread first runs
// is not missed.
static void *worker_main(void *arg) {
    inside_job = 1;
    long seen = (long)(intptr_t)arg;
    for (;;) {
        long now = seen;
        for (int spin = 0; spin < SPIN_ITERATIONS; spin++) {
            now = atomic_load_explicit(&generation, memory_order_acquire);
            if (now != seen) break;
        }
        if (now == seen) {
            pthread_mutex_lock(&pool_mutex);
            while ((now = atomic_load(&generation)) == seen) pthread_cond_wait(&pool_wakeup, &pool_mutex);
            pthread_mutex_unlock(&pool_mutex);
        }
        seen = now;
        if (job.quit) {
            atomic_fetch_sub(&job.running_workers, 1);
            return NULL;
        }
        run_indices();
        atomic_fetch_sub_explicit(&job.running_workers, 1, memory_order_release);
    }
}

static int default_thread_count(void) {
    const char *env = getenv("LLM_NUM_THREADS");
    if (env && *env) {
        int n = atoi(env);
        if (n >= 1) return n;
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores >= 1 ? (int)cores : 1;
}

int llm_num_threads(void) {
    int n = atomic_load(&wanted_threads);
    if (n == 0) {
        int expected = 0;
        atomic_compare_exchange_strong(&wanted_threads, &expected, default_thread_count());
        n = atomic_load(&wanted_threads);
    }
    return n;
}

void llm_set_num_threads(int count) { atomic_store(&wanted_threads, count < 1 ? 1 : count); }

// Publishes the job held in `job` to all workers and waits for them. Caller holds submit_mutex.
static void publish_and_wait(void) {
    atomic_store(&job.running_workers, worker_count);
    pthread_mutex_lock(&pool_mutex);
    atomic_fetch_add_explicit(&generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool_wakeup);
    pthread_mutex_unlock(&pool_mutex);
    if (!job.quit) {
        inside_job = 1;
        run_indices();
        inside_job = 0;
    }
    for (long spin = 0; atomic_load_explicit(&job.running_workers, memory_order_acquire) > 0; spin++) {
        if (spin > SPIN_ITERATIONS) sched_yield();
    }
}

// Makes the pool have `threads - 1` workers. Caller holds submit_mutex.
static void resize_pool(int threads) {
    if (worker_count == threads - 1) return;
    if (worker_count > 0) {
        job.quit = 1;
        publish_and_wait();
        for (int i = 0; i < worker_count; i++) pthread_join(workers[i], NULL);
        job.quit = 0;
    }
    free(workers);
    workers = NULL;
    worker_count = 0;
    if (threads <= 1) return;
    workers = malloc(sizeof(pthread_t) * (size_t)(threads - 1));
    if (!workers) return;
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&workers[i], NULL, worker_main, (void *)(intptr_t)atomic_load(&generation)) != 0) break;
        worker_count++;
    }
}

void llm_parallel_for(long count, llm_task_fn fn, void *context) {
    if (count <= 0) return;
    int threads = llm_num_threads();
    if (count == 1 || threads == 1 || inside_job || pthread_mutex_trylock(&submit_mutex) != 0) {
        for (long i = 0; i < count; i++) fn(context, i);
        return;
    }
    resize_pool(threads);
    job.fn = fn;
    job.context = context;
    job.count = count;
    atomic_store(&job.next, 0);
    publish_and_wait();
    pthread_mutex_unlock(&submit_mutex);
}
