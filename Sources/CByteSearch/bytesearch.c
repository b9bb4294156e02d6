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

static int portable_only = 0;
void promowatch_set_portable_only(int on) { portable_only = on; }

static size_t record(size_t total, size_t off, size_t idx, size_t *offs, uint8_t *idxs, size_t max) {
    if (total < max) { offs[total] = off; idxs[total] = (uint8_t)idx; }
    return total + 1;
}

static int verify(const uint8_t *hay, size_t n, size_t pos, const uint8_t *needle, size_t len, int fold) {
    if (pos + len > n) return 0;
    if (!fold) return memcmp(hay + pos, needle, len) == 0;
    for (size_t k = 0; k < len; k++) {
        uint8_t c = hay[pos + k];
        if (c >= 'A' && c <= 'Z') c |= 0x20;
        if (c != needle[k]) return 0;
    }
    return 1;
}

/* The byte to compare a probe against, and whether the haystack byte must be folded first. */
static int probe_folds(const uint8_t *needle, size_t at, int fold) {
    uint8_t c = needle[at];
    return fold && c >= 'a' && c <= 'z';
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define PW_HAVE_AVX2_PATH 1
/* The same filter on 32 positions at a time; only called when the CPU has AVX2. */
__attribute__((target("avx2")))
static size_t find_avx2(const uint8_t *hay, size_t n, const uint8_t *const *needles, const size_t *lengths, size_t count,
                        const size_t *probe_a, const size_t *probe_b, const uint8_t *fold, size_t maxlen,
                        size_t *offs, uint8_t *idxs, size_t max, size_t *total_out) {
    __m256i fa[16], fb[16], oa[16], ob[16];
    const __m256i zero = _mm256_setzero_si256(), lower = _mm256_set1_epi8(0x20);
    for (size_t k = 0; k < count; k++) {
        fa[k] = _mm256_set1_epi8((char)needles[k][probe_a[k]]);
        fb[k] = _mm256_set1_epi8((char)needles[k][probe_b[k]]);
        oa[k] = probe_folds(needles[k], probe_a[k], fold[k]) ? lower : zero;
        ob[k] = probe_folds(needles[k], probe_b[k], fold[k]) ? lower : zero;
    }
    size_t total = 0, i = 0;
    while (i + 32 + maxlen <= n) {
        unsigned any = 0, masks[16];
        for (size_t k = 0; k < count; k++) {
            __m256i a = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(hay + i + probe_a[k])), oa[k]);
            __m256i b = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(hay + i + probe_b[k])), ob[k]);
            unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, fa[k]), _mm256_cmpeq_epi8(b, fb[k])));
            masks[k] = m;
            any |= m;
        }
        while (any) {
            unsigned bit = (unsigned)__builtin_ctz(any);
            any &= any - 1;
            for (size_t k = 0; k < count; k++)
                if (((masks[k] >> bit) & 1u) && verify(hay, n, i + bit, needles[k], lengths[k], fold[k]))
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
                               const size_t *probe_a, const size_t *probe_b, const uint8_t *fold,
                               size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits) {
    size_t total = 0;
    if (count > 16) count = 16;
    size_t maxlen = 0;
    for (size_t k = 0; k < count; k++) if (lengths[k] > maxlen) maxlen = lengths[k];
    size_t i = 0;
#ifdef PW_HAVE_AVX2_PATH
    static int has_avx2 = -1;
    if (has_avx2 < 0) { __builtin_cpu_init(); has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0; }
    if (has_avx2 && !portable_only)
        i = find_avx2(hay, n, needles, lengths, count, probe_a, probe_b, fold, maxlen, hit_offsets, hit_needles, max_hits, &total);
#endif
#if defined(__SSE2__)
    __m128i first[16], last[16], ofa[16], ofb[16];
    for (size_t k = 0; k < count; k++) {
        first[k] = _mm_set1_epi8((char)needles[k][probe_a[k]]);
        last[k] = _mm_set1_epi8((char)needles[k][probe_b[k]]);
        ofa[k] = _mm_set1_epi8(probe_folds(needles[k], probe_a[k], fold[k]) ? 0x20 : 0);
        ofb[k] = _mm_set1_epi8(probe_folds(needles[k], probe_b[k], fold[k]) ? 0x20 : 0);
    }
    /* positions i..i+15 as candidate starts; the probe loads read below i+15+len <= n */
    while (i + 16 + maxlen <= n) {
        unsigned any = 0;
        unsigned masks[16];
        for (size_t k = 0; k < count; k++) {
            __m128i a = _mm_or_si128(_mm_loadu_si128((const __m128i *)(hay + i + probe_a[k])), ofa[k]);
            __m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(hay + i + probe_b[k])), ofb[k]);
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
                        if (verify(hay, n, i + bit, needles[k], lengths[k], fold[k]))
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
            if (verify(hay, n, i, needles[k], lengths[k], fold[k]))
                total = record(total, i, k, hit_offsets, hit_needles, max_hits);
        }
    }
    return total;
}

#ifdef PW_HAVE_AVX2_PATH
__attribute__((target("avx2")))
static size_t index_lines_avx2(const uint8_t *hay, size_t *ip, size_t n, uint32_t *ends, size_t cap) {
    const __m256i nl = _mm256_set1_epi8('\n');
    size_t i = *ip, count = 0;
    while (i + 32 <= n) {
        unsigned m = (unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_loadu_si256((const __m256i *)(hay + i)), nl));
        if (m) {
            /* only take this chunk if all its newlines fit; otherwise let the scalar loop finish */
            if (count + (size_t)__builtin_popcount(m) > cap) break;
            while (m) { ends[count++] = (uint32_t)(i + (unsigned)__builtin_ctz(m)); m &= m - 1; }
        }
        i += 32;
    }
    *ip = i;
    return count;
}
#endif

size_t promowatch_index_lines(const uint8_t *hay, size_t from, size_t n, uint32_t *ends, size_t cap) {
    size_t i = from, count = 0;
#ifdef PW_HAVE_AVX2_PATH
    static int has_avx2 = -1;
    if (has_avx2 < 0) { __builtin_cpu_init(); has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0; }
    if (has_avx2 && !portable_only) count = index_lines_avx2(hay, &i, n, ends, cap);
#endif
    while (i < n && count < cap) {
        const uint8_t *q = memchr(hay + i, '\n', n - i);
        if (!q) break;
        ends[count++] = (uint32_t)(q - hay);
        i = (size_t)(q - hay) + 1;
    }
    return count;
}

#ifdef PW_HAVE_AVX2_PATH
/* Teddy: bucket b of a position holds a bit per needle group whose fingerprint matches there.
   Needle k lives in bucket k % 8. Haystack bytes are folded (| 0x20) and so are the fingerprint
   bytes: a superset of the real matches, which verify() then decides exactly. */
__attribute__((target("avx2")))
static size_t teddy_avx2(const uint8_t *hay, size_t n, const uint8_t *const *needles, const size_t *lengths, size_t count,
                         const size_t *window, const uint8_t *fold, size_t *offs, uint8_t *idxs, size_t max) {
    uint8_t lo[3][16], hi[3][16];
    memset(lo, 0, sizeof lo); memset(hi, 0, sizeof hi);
    for (size_t k = 0; k < count; k++) {
        uint8_t bit = (uint8_t)(1u << (k % 8));
        for (size_t j = 0; j < 3; j++) {
            size_t at = window[k] + j;
            if (at >= lengths[k]) {  /* shorter needle: any byte matches here */
                for (int v = 0; v < 16; v++) { lo[j][v] |= bit; hi[j][v] |= bit; }
                continue;
            }
            uint8_t c = (uint8_t)(needles[k][at] | 0x20);
            lo[j][c & 15] |= bit;
            hi[j][c >> 4] |= bit;
        }
    }
    __m256i tlo[3], thi[3];
    for (int j = 0; j < 3; j++) {
        __m128i l = _mm_loadu_si128((const __m128i *)lo[j]), h = _mm_loadu_si128((const __m128i *)hi[j]);
        tlo[j] = _mm256_broadcastsi128_si256(l);
        thi[j] = _mm256_broadcastsi128_si256(h);
    }
    const __m256i low4 = _mm256_set1_epi8(0x0f), fold20 = _mm256_set1_epi8(0x20), zero = _mm256_setzero_si256();
    size_t total = 0, i = 0;
    uint8_t lanes[32];
    while (i + 34 <= n) {
        __m256i acc = _mm256_set1_epi8((char)0xff);
        for (int j = 0; j < 3; j++) {
            __m256i v = _mm256_or_si256(_mm256_loadu_si256((const __m256i *)(hay + i + j)), fold20);
            __m256i l = _mm256_shuffle_epi8(tlo[j], _mm256_and_si256(v, low4));
            __m256i h = _mm256_shuffle_epi8(thi[j], _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
            acc = _mm256_and_si256(acc, _mm256_and_si256(l, h));
        }
        unsigned m = ~(unsigned)_mm256_movemask_epi8(_mm256_cmpeq_epi8(acc, zero));
        if (m) {
            _mm256_storeu_si256((__m256i *)lanes, acc);
            while (m) {
                unsigned lane = (unsigned)__builtin_ctz(m);
                m &= m - 1;
                size_t anchor = i + lane;
                unsigned buckets = lanes[lane];
                for (size_t k = 0; k < count; k++) {
                    if (!((buckets >> (k % 8)) & 1u) || anchor < window[k]) continue;
                    if (verify(hay, n, anchor - window[k], needles[k], lengths[k], fold[k]))
                        total = record(total, anchor, k, offs, idxs, max);
                }
            }
        }
        i += 32;
    }
    /* the last few anchors, one by one */
    for (; i < n; i++)
        for (size_t k = 0; k < count; k++)
            if (i >= window[k] && verify(hay, n, i - window[k], needles[k], lengths[k], fold[k]))
                total = record(total, i, k, offs, idxs, max);
    return total;
}
#endif

size_t promowatch_find_needles_teddy(const uint8_t *hay, size_t n,
                                     const uint8_t *const *needles, const size_t *lengths, size_t count,
                                     const size_t *window, const size_t *probe_a, const size_t *probe_b, const uint8_t *fold,
                                     size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits) {
#ifdef PW_HAVE_AVX2_PATH
    static int has_avx2 = -1;
    if (has_avx2 < 0) { __builtin_cpu_init(); has_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0; }
    if (has_avx2 && !portable_only && count <= 16) return teddy_avx2(hay, n, needles, lengths, count, window, fold, hit_offsets, hit_needles, max_hits);
#endif
    (void)window;
    return promowatch_find_needles(hay, n, needles, lengths, count, probe_a, probe_b, fold, hit_offsets, hit_needles, max_hits);
}
