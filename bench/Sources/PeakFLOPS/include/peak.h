// The machine's peak multiply-add rate, measured: tight loops of independent fused multiply-adds with no
// memory traffic, the ceiling a GEMM kernel is judged against (bench/run gemm, bench/run train).
#ifndef LLM_BENCH_PEAK_H
#define LLM_BENCH_PEAK_H

/// Runs `iterations` rounds of 16 (ymm: 12) independent multiply-add instructions on one thread and returns the floating
/// point operations done (a multiply-add counts 2), or 0 when this CPU lacks the instructions. `sink` holds 256 floats.
/// kind 0: vfmadd231ps on zmm (AVX-512F, 32 flops each); kind 1: vfmadd231ps on ymm (AVX2+FMA, 16 flops each);
/// kind 2: vdpbf16ps on zmm (AVX512_BF16, 64 flops each: 16 lanes × 2 bf16 products summed into fp32).
double peak_multiply_adds(int kind, long iterations, float *sink);

#endif
