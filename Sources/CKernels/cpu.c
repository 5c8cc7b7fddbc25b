// Which SIMD instruction set this CPU offers, asked once, and the one GEMM is told to use.
#include "ckernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

llm_isa llm_cpu_best_isa(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return LLM_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return LLM_ISA_AVX2;
#endif
    return LLM_ISA_PORTABLE;
}

int llm_cpu_has_bf16(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
#else
    return 0;
#endif
}

static atomic_int chosen_isa = -1;

static llm_isa clamp(llm_isa isa) {
    llm_isa best = llm_cpu_best_isa();
    return isa > best ? best : isa;
}

llm_isa llm_gemm_isa(void) {
    int isa = atomic_load(&chosen_isa);
    if (isa < 0) {
        llm_isa pick = llm_cpu_best_isa();
        const char *env = getenv("LLM_GEMM_ISA");
        if (env && strcmp(env, "portable") == 0) pick = LLM_ISA_PORTABLE;
        else if (env && strcmp(env, "avx2") == 0) pick = clamp(LLM_ISA_AVX2);
        else if (env && strcmp(env, "avx512") == 0) pick = clamp(LLM_ISA_AVX512);
        atomic_store(&chosen_isa, (int)pick);
        isa = (int)pick;
    }
    return (llm_isa)isa;
}

llm_isa llm_gemm_set_isa(llm_isa isa) {
    llm_isa pick = clamp(isa);
    atomic_store(&chosen_isa, (int)pick);
    return pick;
}
