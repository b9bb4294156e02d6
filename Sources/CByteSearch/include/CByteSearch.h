#ifndef PROMOWATCH_CBYTESEARCH_H
#define PROMOWATCH_CBYTESEARCH_H
#include <stddef.h>

/* glibc's memmem and memrchr are GNU extensions that Swift's Glibc module does not export. */
const void *promowatch_memmem(const void *haystack, size_t haystack_len, const void *needle, size_t needle_len);
const void *promowatch_memrchr(const void *s, int c, size_t n);
#endif
