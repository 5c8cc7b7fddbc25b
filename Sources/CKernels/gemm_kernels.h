// What the GEMM driver (gemm.c) needs from a micro-kernel family, private to CKernels: the tile it
// computes, how deep a packed slice is, and the packing routines that lay operands out for it. The
// fp32 kernels live in gemm.c; the bf16 ones, which pack two k values per 32-bit word, in gemm_bf16.c.
// Without avx512_bf16 the bf16 product runs the fp32 kernels on packed values rounded to bf16.
#ifndef CKERNELS_GEMM_KERNELS_H
#define CKERNELS_GEMM_KERNELS_H

#include "ckernels.h"

// Packed operands are arrays of 32-bit words: one fp32 value, or a pair of bf16 values (k and k + 1) for
// the bf16 kernels. A packed k step is `kstep` values of k deep.

/// C tile (mr x nr) = alpha * (packed A sliver · packed B sliver over `steps` k steps) + beta * C.
/// With beta == 0, C is not read.
typedef void (*gemm_micro_kernel)(long steps, const void *a, const void *b, float *c, long ldc, float alpha,
                                  float beta);

/// op(A)[i0.., p0..] (mc x kc) into mr-tall slivers, the last one padded with zeros.
typedef void (*gemm_pack_a)(int trans, const float *a, long lda, long i0, long p0, long mc, long kc, void *dst);

/// op(B)[p0.., j0..] (kc x nc) into nr-wide slivers, the last one padded with zeros.
typedef void (*gemm_pack_b)(int trans, const float *b, long ldb, long p0, long j0, long kc, long nc, void *dst);

typedef struct {
    int mr, nr, kstep;
    long kc, mc, nc; // cache blocking: kc values of K per slice, A blocks of mc rows, B panels of nc columns
    gemm_micro_kernel kernel;
    gemm_pack_a pack_a;
    gemm_pack_b pack_b;
    const char *name;
    int round_to_bf16; // 1: the driver rounds each packed panel to bf16 (fp32 kernels running the bf16 product)
} gemm_kernel_desc;

#define GEMM_MAX_MR 8
#define GEMM_MAX_NR 32
// Vector packing routines may write up to this many words past a sliver (see pack_a6_avx2).
#define GEMM_PACK_SLACK 16

/// The bf16 kernel family for an instruction set (the AVX-512 one only when the CPU has avx512_bf16).
const gemm_kernel_desc *gemm_bf16_kernel_for(llm_isa isa);

/// The fp32 families with `round_to_bf16` set (gemm.c): the bf16 product on CPUs without avx512_bf16.
const gemm_kernel_desc *gemm_fp32_on_bf16_kernel_for(llm_isa isa);

/// Rounds `count` packed fp32 values in place to the nearest bf16 (ties to even; NaNs stay NaN), kept as fp32.
void gemm_round_to_bf16(void *words, long count);

#endif
