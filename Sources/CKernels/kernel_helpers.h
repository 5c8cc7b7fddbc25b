// Helpers shared by the kernel files (private to CKernels): per-thread scratch buffers, a
// vectorisable exp, and the counter-based random numbers behind dropout.
#ifndef CKERNELS_KERNEL_HELPERS_H
#define CKERNELS_KERNEL_HELPERS_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Per-thread buffers, grown on demand and kept for the thread's lifetime (pool threads live as long
// as the process), so steady-state kernels allocate nothing. Each file that includes this header has
// its own SCRATCH_SLOTS buffers per thread (GEMM's packing buffers and attention's weights are alive
// at the same time). 64-byte aligned; out of memory for a few hundred KB, nothing sensible is left to do.
#define SCRATCH_SLOTS 2
static inline float *thread_scratch(int slot, size_t floats) {
    static _Thread_local float *buffers[SCRATCH_SLOTS];
    static _Thread_local size_t capacity[SCRATCH_SLOTS];
    if (capacity[slot] < floats) {
        free(buffers[slot]);
        size_t bytes = (floats * sizeof(float) + 63) & ~(size_t)63;
        buffers[slot] = aligned_alloc(64, bytes);
        if (!buffers[slot]) abort();
        capacity[slot] = floats;
    }
    return buffers[slot];
}

// The bits of a float32 rounded to the nearest bfloat16 (ties to even), kept as a float32 (low half zero); a NaN
// keeps its top bits and is made quiet, as PyTorch and ggml convert. llm_fp32_to_bf16 and the GEMM's rounding share it.
static inline uint32_t fp32_bits_to_bf16_bits(uint32_t x) {
    if ((x & 0x7fffffff) > 0x7f800000) return (x & 0xffff0000) | 0x00400000;
    return (x + 0x7fff + ((x >> 16) & 1)) & 0xffff0000;
}

// A bfloat16 is the top half of a float32: widen by shifting it back.
static inline float bf16_to_fp32(uint16_t b) {
    uint32_t x = (uint32_t)b << 16;
    float f;
    memcpy(&f, &x, 4);
    return f;
}

// exp(x) as Cephes computes it: x = k ln2 + r with |r| <= ln2/2, exp(r) by a degree-7 polynomial,
// then 2^k put straight into the exponent bits (error about 1 ulp). Unlike libm's expf it inlines
// and vectorises, which made the softmax and cross-entropy kernels 3-4x faster. Inputs are clamped
// to [-87, 88]: exp(-87) is 1.6e-38, and every caller subtracts the row maximum first.
static inline __attribute__((always_inline)) float fast_expf(float x) {
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - k * 0.693359375f + k * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)k + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// ---- Dropout masks ---------------------------------------------------------------------------------
//
// Whether element `index` of a dropout call survives is a pure function of (key, index): a hash, not
// the next draw of a sequential generator. So the mask needs no storage (the backward pass recomputes
// it), any thread can compute any part of it, and the fused attention kernel drops exactly the weights
// the composed path (softmax, then dropout on the (B, H, Tq, Tk) tensor) would drop.
// The hash is two rounds of a 32-bit integer mixer (C. Wellons' "lowbias32"), which vectorises with
// AVX2; an element survives when the top 24 bits, read as a uniform number in [0, 1), are >= p.

static inline __attribute__((always_inline)) uint32_t mix32(uint32_t x) {
    x ^= x >> 16;
    x *= 0x7feb352dU;
    x ^= x >> 15;
    x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

// The 24-bit threshold for drop probability p: u24 < threshold is dropped.
static inline uint32_t dropout_threshold(float p) { return (uint32_t)ceil((double)p * 16777216.0); }

static inline __attribute__((always_inline)) int dropout_keeps(uint64_t key, uint64_t index, uint32_t threshold) {
    uint32_t h = mix32((uint32_t)index ^ (uint32_t)key);
    h = mix32(h ^ (uint32_t)(index >> 32) ^ (uint32_t)(key >> 32));
    return (h >> 8) >= threshold;
}

#endif
