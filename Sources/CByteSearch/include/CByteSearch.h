#ifndef PROMOWATCH_CBYTESEARCH_H
#define PROMOWATCH_CBYTESEARCH_H
#include <stddef.h>
#include <stdint.h>

/* glibc's memmem and memrchr are GNU extensions that Swift's Glibc module does not export. */
const void *promowatch_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);
const void *promowatch_memrchr(const void *s, int c, size_t n);

/* Finds every occurrence of up to 8 needles (each 2..255 bytes) in one pass over `hay`.
   Writes (offset, needle index) pairs, in offset order, up to `max_hits`; returns how many
   there are in total (which may exceed max_hits). SSE2 filter on two bytes of each needle
   (at offsets probe_a[k] and probe_b[k]: pick its rarest letters), then memcmp. */
size_t promowatch_find_needles(const uint8_t *hay, size_t n,
                               const uint8_t *const *needles, const size_t *lengths, size_t count,
                               const size_t *probe_a, const size_t *probe_b,
                               size_t *hit_offsets, uint8_t *hit_needles, size_t max_hits);
#endif
