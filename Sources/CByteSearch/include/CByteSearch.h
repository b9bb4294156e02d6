#ifndef PROMOWATCH_CBYTESEARCH_H
#define PROMOWATCH_CBYTESEARCH_H
#include <stddef.h>
#include <stdint.h>

/* glibc's memmem and memrchr are GNU extensions that Swift's Glibc module does not export. */
const void *promowatch_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);
const void *promowatch_memrchr(const void *s, int c, size_t n);

/* Finds every occurrence of up to 16 needles (each 1..255 bytes) in one pass over `hay`.
   Writes (offset, needle index) pairs, in offset order, up to `max_hits`; returns how many
   there are in total (which may exceed max_hits). Vector filter on two bytes of each needle
   (at offsets probe_a[k] and probe_b[k]: pick its rarest letters), then a full compare.
   A needle with fold[k] != 0 is given in lower case and matches ASCII letters of either case. */
size_t promowatch_find_needles(const uint8_t *hay, size_t n,
                               const uint8_t *const *needles, const size_t *lengths, size_t count,
                               const size_t *probe_a, const size_t *probe_b, const uint8_t *fold,
                               size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits);

/* Same contract as promowatch_find_needles, with each hit's offset being an anchor inside
   the match (start + window[k]), still in increasing order. Teddy-style filter (AVX2): for every
   needle a 3-byte fingerprint at window[k] is tested at 32 positions at once through nibble
   tables, however many needles there are; falls back to promowatch_find_needles without AVX2. */
size_t promowatch_find_needles_teddy(const uint8_t *hay, size_t n,
                                     const uint8_t *const *needles, const size_t *lengths, size_t count,
                                     const size_t *window, const size_t *probe_a, const size_t *probe_b, const uint8_t *fold,
                                     size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits);

/* Asks the CPU to start loading the cache line at `p` (no effect on results). */
static inline void promowatch_prefetch(const void *p) { __builtin_prefetch(p, 1, 1); }

/* Non-zero: never take the AVX2 paths (tests exercise the portable code with it). */
void promowatch_set_portable_only(int on);

/* Offsets of the newlines in hay[from..n), at most `cap` of them, in order; returns how many
   were written. Resume with from = last offset + 1. Vectorised (AVX2 when the CPU has it). */
size_t promowatch_index_lines(const uint8_t *hay, size_t from, size_t n, uint32_t *ends, size_t cap);
#endif
