#define _GNU_SOURCE
#include <string.h>
#include "CByteSearch.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

const void *promowatch_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len) {
    return memmem(haystack, haystack_len, needle, needle_len);
}

const void *promowatch_memrchr(const void *s, int c, size_t n) {
    return memrchr(s, c, n);
}

static size_t record(size_t total, size_t off, size_t idx, size_t *offs, uint8_t *idxs, size_t max) {
    if (total < max) { offs[total] = off; idxs[total] = (uint8_t)idx; }
    return total + 1;
}

static int verify(const uint8_t *hay, size_t n, size_t pos, const uint8_t *needle, size_t len) {
    return pos + len <= n && memcmp(hay + pos, needle, len) == 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PW_HAVE_AVX2_PATH 1
/* The same filter on 32 positions at a time; only called when the CPU has AVX2. */
__attribute__((target("avx2")))
static size_t find_avx2(const uint8_t *hay, size_t n, const uint8_t *const *needles, const size_t *lengths, size_t count,
                        const size_t *probe_a, const size_t *probe_b, size_t maxlen,
                        size_t *offs, uint8_t *idxs, size_t max, size_t *total_out) {
    __m256i fa[8], fb[8];
    for (size_t k = 0; k < count; k++) {
        fa[k] = _mm256_set1_epi8((char)needles[k][probe_a[k]]);
        fb[k] = _mm256_set1_epi8((char)needles[k][probe_b[k]]);
    }
    size_t total = 0, i = 0;
    while (i + 32 + maxlen <= n) {
        unsigned any = 0, masks[8];
        for (size_t k = 0; k < count; k++) {
            __m256i a = _mm256_loadu_si256((const __m256i *)(hay + i + probe_a[k]));
            __m256i b = _mm256_loadu_si256((const __m256i *)(hay + i + probe_b[k]));
            unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, fa[k]), _mm256_cmpeq_epi8(b, fb[k])));
            masks[k] = m;
            any |= m;
        }
        while (any) {
            unsigned bit = (unsigned)__builtin_ctz(any);
            any &= any - 1;
            for (size_t k = 0; k < count; k++)
                if (((masks[k] >> bit) & 1u) && verify(hay, n, i + bit, needles[k], lengths[k]))
                    total = record(total, i + bit, k, offs, idxs, max);
        }
        i += 32;
    }
    *total_out = total;
    return i;
}
#endif

size_t promowatch_find_needles(const uint8_t *hay, size_t n,
                               const uint8_t *const *needles, const size_t *lengths, size_t count,
                               const size_t *probe_a, const size_t *probe_b,
                               size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits) {
    size_t total = 0;
    if (count > 8) count = 8;
    size_t maxlen = 0;
    for (size_t k = 0; k < count; k++) if (lengths[k] > maxlen) maxlen = lengths[k];
    size_t i = 0;
#ifdef PW_HAVE_AVX2_PATH
    static int has_avx2 = -1;
    if (has_avx2 < 0) { __builtin_cpu_init(); has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0; }
    if (has_avx2)
        i = find_avx2(hay, n, needles, lengths, count, probe_a, probe_b, maxlen, hit_offsets, hit_needles, max_hits, &total);
#endif
#if defined(__SSE2__)
    __m128i first[8], last[8];
    for (size_t k = 0; k < count; k++) {
        first[k] = _mm_set1_epi8((char)needles[k][probe_a[k]]);
        last[k] = _mm_set1_epi8((char)needles[k][probe_b[k]]);
    }
    /* positions i..i+15 as candidate starts; the probe loads read below i+15+len <= n */
    while (i + 16 + maxlen <= n) {
        unsigned any = 0;
        unsigned masks[8];
        for (size_t k = 0; k < count; k++) {
            __m128i a = _mm_loadu_si128((const __m128i *)(hay + i + probe_a[k]));
            __m128i b = _mm_loadu_si128((const __m128i *)(hay + i + probe_b[k]));
            unsigned m = (unsigned)_mm_movemask_epi8(_mm_and_si128(_mm_cmpeq_epi8(a, first[k]), _mm_cmpeq_epi8(b, last[k])));
            masks[k] = m;
            any |= m;
        }
        if (any) {
            /* report in offset order: walk bit positions, checking every needle at each */
            while (any) {
                unsigned bit = (unsigned)__builtin_ctz(any);
                any &= any - 1;
                for (size_t k = 0; k < count; k++) {
                    if ((masks[k] >> bit) & 1u) {
                        if (verify(hay, n, i + bit, needles[k], lengths[k]))
                            total = record(total, i + bit, k, hit_offsets, hit_needles, max_hits);
                    }
                }
            }
        }
        i += 16;
    }
#endif
    for (; i < n; i++) {
        for (size_t k = 0; k < count; k++) {
            if (hay[i] == needles[k][0] && verify(hay, n, i, needles[k], lengths[k]))
                total = record(total, i, k, hit_offsets, hit_needles, max_hits);
        }
    }
    return total;
}
