// Peak multiply-add loops (see peak.h). Independent accumulators, more than the FMA latency (4 cycles) times the
// number of FMA pipes (2) on the CPUs we run, so each loop is limited by throughput alone: sixteen zmm, or twelve
// ymm (AVX2 has sixteen ymm registers; two hold the operands, and a spilled accumulator would measure memory).
// The accumulators are stored to `sink` at the end so the compiler cannot drop the work.
#include "peak.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define REPEAT12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define REPEAT16(X) REPEAT12(X) X(12) X(13) X(14) X(15)

__attribute__((target("avx512f"))) static double fma_zmm(long iterations, float *sink) {
#define DECL(i) __m512 c##i = _mm512_set1_ps(0.001f * (i));
    REPEAT16(DECL)
    __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
        // The multiplier is below one, so the accumulators stay finite for any iteration count.
#define STEP(i) c##i = _mm512_fmadd_ps(c##i, a, b);
        REPEAT16(STEP)
    }
#define STORE(i) _mm512_storeu_ps(sink + 16 * (i), c##i);
    REPEAT16(STORE)
    return (double)iterations * 16 * 32;
}

__attribute__((target("avx2,fma"))) static double fma_ymm(long iterations, float *sink) {
#define DECL8(i) __m256 c##i = _mm256_set1_ps(0.001f * (i));
    REPEAT12(DECL8)
    __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (long it = 0; it < iterations; it++) {
#define STEP8(i) c##i = _mm256_fmadd_ps(c##i, a, b);
        REPEAT12(STEP8)
    }
#define STORE8(i) _mm256_storeu_ps(sink + 8 * (i), c##i);
    REPEAT12(STORE8)
    return (double)iterations * 12 * 16;
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) static double dpbf16_zmm(long iterations, float *sink) {
    REPEAT16(DECL)
    // Tiny products (1e-3 squared, summed in pairs) keep the accumulators finite.
    __m512bh a = _mm512_cvtne2ps_pbh(_mm512_set1_ps(1e-3f), _mm512_set1_ps(1e-3f));
    __m512bh b = _mm512_cvtne2ps_pbh(_mm512_set1_ps(-1e-3f), _mm512_set1_ps(1e-3f));
    for (long it = 0; it < iterations; it++) {
#define STEPBF(i) c##i = _mm512_dpbf16_ps(c##i, a, b);
        REPEAT16(STEPBF)
    }
    REPEAT16(STORE)
    return (double)iterations * 16 * 64;
}

double peak_multiply_adds(int kind, long iterations, float *sink) {
    __builtin_cpu_init();
    switch (kind) {
    case 0: return __builtin_cpu_supports("avx512f") ? fma_zmm(iterations, sink) : 0;
    case 1: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? fma_ymm(iterations, sink) : 0;
    case 2:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512bf16")
            ? dpbf16_zmm(iterations, sink) : 0;
    default: return 0;
    }
}
#else
double peak_multiply_adds(int kind, long iterations, float *sink) { (void)kind; (void)iterations; (void)sink; return 0; }
#endif
