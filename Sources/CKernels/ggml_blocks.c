// ggml's block types, as GGUF files store them (ggml-common.h), turned back into fp32: the legacy blocks of 32
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL) and the K-quant super-blocks of 256 (Q2_K … Q6_K, IQ4_XS). Every
// value is computed with the operations, in the order and the fp32 rounding of gguf-py's numpy dequantisers
// (products rounded before the minimum is subtracted: no fused multiply-add), so the results are bit-exact
// with theirs — the tests compare them on random and edge blocks.
//
// Layouts, low nibble first; "d" and "dmin" are fp16 scales, sub-block scales are unsigned unless noted:
//   Q4_0   d, 16 bytes: value j (< 16) is the low nibble of byte j, value j + 16 its high nibble; d·(q − 8)
//   Q4_1   d, m, 16 bytes as Q4_0; d·q + m
//   Q5_0   d, 32 high bits (u32, bit j for value j), 16 bytes as Q4_0; d·(q − 16)
//   Q5_1   d, m, high bits, 16 bytes; d·q + m
//   Q8_0   d, 32 int8; d·q (weights.c converts it, with F32, F16 and BF16)
//   IQ4_NL d, 16 bytes as Q4_0; d·kvalues[q] (a non-linear 16-value table)
//   Q2_K   16 scale bytes (low nibble scale, high nibble min, per 16 values), 64 bytes of 2-bit values, d, dmin:
//          value e = 128h + 32j + b is bits 2j of byte 32h + b; (d·sc)·q − (dmin·m)
//   Q3_K   32 bytes of high bits (bit j of byte b for value 32j + b, set meaning no −4), 64 bytes of 2-bit values
//          as Q2_K, 12 bytes of 6-bit signed scales (16 of them, minus 32), d: (d·sc)·(q − 4·!high)
//   Q4_K   d, dmin, 12 bytes of 6-bit scales and mins (8 each), 128 bytes: sub-block s = 2c + j is nibble j of
//          bytes 32c … 32c + 31; (d·sc)·q − (dmin·m)
//   Q5_K   as Q4_K plus 32 bytes of high bits (bit s of byte b for value b of sub-block s) before the nibbles
//   Q6_K   128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 int8 scales, d: (d·sc)·(q − 32)
//   IQ4_XS d, 16 bits of high scale bits, 4 bytes of low scale nibbles, 128 bytes: sub-block s of 32 is the
//          low then the high nibbles of bytes 16s … 16s + 15; (d·(sc − 32))·kvalues[q]
#include "ckernels.h"

#include <stdint.h>

#pragma clang fp contract(off)

static const int8_t iq4_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static inline float h2f(const uint8_t *p) { return llm_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }

long llm_ggml_block(uint32_t type, long *bytes) {
    long v, b;
    switch (type) {
    case 0: v = 1, b = 4; break;          // F32
    case 1: v = 1, b = 2; break;          // F16
    case 30: v = 1, b = 2; break;         // BF16
    case 2: v = 32, b = 18; break;        // Q4_0
    case 3: v = 32, b = 20; break;        // Q4_1
    case 6: v = 32, b = 22; break;        // Q5_0
    case 7: v = 32, b = 24; break;        // Q5_1
    case 8: v = 32, b = 34; break;        // Q8_0
    case 10: v = 256, b = 84; break;      // Q2_K
    case 11: v = 256, b = 110; break;     // Q3_K
    case 12: v = 256, b = 144; break;     // Q4_K
    case 13: v = 256, b = 176; break;     // Q5_K
    case 14: v = 256, b = 210; break;     // Q6_K
    case 20: v = 32, b = 18; break;       // IQ4_NL
    case 23: v = 256, b = 136; break;     // IQ4_XS
    default: return 0;
    }
    if (bytes) *bytes = b;
    return v;
}

// The 6-bit scale and minimum of sub-block s (0…7) of a Q4_K / Q5_K block.
static inline void k_scale_min(const uint8_t *q, int s, uint8_t *sc, uint8_t *m) {
    if (s < 4) {
        *sc = q[s] & 63;
        *m = q[s + 4] & 63;
    } else {
        *sc = (q[s + 4] & 0x0F) | ((q[s - 4] >> 2) & 0x30);
        *m = (q[s + 4] >> 4) | ((q[s] >> 2) & 0x30);
    }
}

static void dequantize_block(uint32_t type, const uint8_t *x, float *y) {
    switch (type) {
    case 2: {
        float d = h2f(x);
        for (int j = 0; j < 32; j++) y[j] = d * (float)((int)((x[2 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15) - 8);
        break;
    }
    case 3: {
        float d = h2f(x), m = h2f(x + 2);
        for (int j = 0; j < 32; j++) y[j] = d * (float)((x[4 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15) + m;
        break;
    }
    case 6: {
        float d = h2f(x);
        uint32_t qh = (uint32_t)x[2] | (uint32_t)x[3] << 8 | (uint32_t)x[4] << 16 | (uint32_t)x[5] << 24;
        for (int j = 0; j < 32; j++) {
            int q = ((x[6 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15) | (int)((qh >> j) & 1) << 4;
            y[j] = d * (float)(q - 16);
        }
        break;
    }
    case 7: {
        float d = h2f(x), m = h2f(x + 2);
        uint32_t qh = (uint32_t)x[4] | (uint32_t)x[5] << 8 | (uint32_t)x[6] << 16 | (uint32_t)x[7] << 24;
        for (int j = 0; j < 32; j++) {
            int q = ((x[8 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15) | (int)((qh >> j) & 1) << 4;
            y[j] = d * (float)q + m;
        }
        break;
    }
    case 20: {
        float d = h2f(x);
        for (int j = 0; j < 32; j++) y[j] = d * (float)iq4_values[(x[2 + (j & 15)] >> (j < 16 ? 0 : 4)) & 15];
        break;
    }
    case 10: {
        const uint8_t *scales = x, *qs = x + 16;
        float d = h2f(x + 80), dmin = h2f(x + 82);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, j = (e / 32) % 4, b = e % 32, s = e / 16;
            float dl = d * (float)(scales[s] & 15), ml = dmin * (float)(scales[s] >> 4);
            y[e] = dl * (float)((qs[32 * h + b] >> (2 * j)) & 3) - ml;
        }
        break;
    }
    case 11: {
        const uint8_t *hmask = x, *qs = x + 32, *sc = x + 96;
        float d = h2f(x + 108);
        float dl[16];
        for (int i = 0; i < 16; i++) {
            int low = (sc[i % 8] >> (i < 8 ? 0 : 4)) & 15, high = (sc[8 + i % 4] >> (2 * (i / 4))) & 3;
            dl[i] = d * (float)((int8_t)(low | high << 4) - 32);
        }
        for (int e = 0; e < 256; e++) {
            int h = e / 128, j = (e / 32) % 4, b = e % 32;
            int q = (qs[32 * h + b] >> (2 * j)) & 3;
            int offset = ((hmask[e % 32] >> (e / 32)) & 1) ? 0 : 4;
            y[e] = dl[e / 16] * (float)(q - offset);
        }
        break;
    }
    case 12:
    case 13: {
        float d = h2f(x), dmin = h2f(x + 2);
        const uint8_t *scales = x + 4, *qh = x + 16, *qs = type == 12 ? x + 16 : x + 48;
        for (int s = 0; s < 8; s++) {
            uint8_t sc, m;
            k_scale_min(scales, s, &sc, &m);
            float ds = d * (float)sc, dm = dmin * (float)m;
            int c = s / 2, shift = 4 * (s % 2);
            for (int b = 0; b < 32; b++) {
                int q = (qs[32 * c + b] >> shift) & 15;
                if (type == 13) q |= ((qh[b] >> s) & 1) << 4;
                y[32 * s + b] = ds * (float)q - dm;
            }
        }
        break;
    }
    case 14: {
        const uint8_t *ql = x, *qh = x + 128;
        const int8_t *scales = (const int8_t *)(x + 192);
        float d = h2f(x + 208);
        for (int e = 0; e < 256; e++) {
            int h = e / 128, r = e % 128;
            int low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 15;
            int high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 3;
            float ds = d * (float)scales[e / 16];
            y[e] = ds * (float)((int8_t)(low | high << 4) - 32);
        }
        break;
    }
    case 23: {
        float d = h2f(x);
        uint16_t scales_h = (uint16_t)(x[2] | x[3] << 8);
        const uint8_t *scales_l = x + 4, *qs = x + 8;
        for (int s = 0; s < 8; s++) {
            int low = (scales_l[s / 2] >> (4 * (s % 2))) & 15, high = (scales_h >> (2 * s)) & 3;
            float dl = d * (float)((int8_t)(low | high << 4) - 32);
            for (int j = 0; j < 32; j++) {
                int q = (qs[16 * s + (j & 15)] >> (j < 16 ? 0 : 4)) & 15;
                y[32 * s + j] = dl * (float)iq4_values[q];
            }
        }
        break;
    }
    }
}

int llm_ggml_dequantize(uint32_t type, const void *source, float *out, long count) {
    long bytes, per = llm_ggml_block(type, &bytes);
    if (per == 0 || count % per != 0) return -1;
    // The types weight matrices are kept in (F32, F16, Q8_0, BF16): weights.c's conversion, one row of `count`.
    if (type == LLM_WEIGHT_F32 || type == LLM_WEIGHT_F16 || type == LLM_WEIGHT_Q8_0 || type == LLM_WEIGHT_BF16) {
        llm_weight_dequantize((llm_weight_type)type, source, out, 1, count);
        return 0;
    }
    const uint8_t *x = source;
    for (long b = 0; b < count / per; b++) dequantize_block(type, x + b * bytes, out + b * per);
    return 0;
}
