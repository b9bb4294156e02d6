#ifndef PROMOWATCH_INFLATE_ISAL_H
#define PROMOWATCH_INFLATE_ISAL_H
#include <stdint.h>

/* ISA-L's igzip inflate, when this machine has it: the header (Debian libisal-dev) at build
   time, the library (libisal.so.2) at run time, loaded with dlopen so a build without it still
   links and runs (zlib is then the inflate). One gzip member at a time, header and trailer
   (CRC-32 and length) checked by ISA-L; the caller resets between members. */

/* 1 when ISA-L can be used in this process. */
int pw_isal_available(void);

/* A new inflate state for one gzip member, or NULL (no ISA-L, or out of memory). */
void *pw_isal_new(void);
void pw_isal_free(void *state);
/* Ready for the next member (the input position is kept). */
void pw_isal_reset(void *state);

/* Codes: 0 progress, 1 the member ended (its trailer checked), -1 invalid deflate data,
   -2 not a gzip member / unsupported method, -3 incorrect checksum or length, -4 other. */
int pw_isal_inflate(void *state, const uint8_t **next_in, uint32_t *avail_in, uint8_t **next_out,
                    uint32_t *avail_out);

/* CPUs this process may run on (its affinity mask: `taskset -c 0` makes it 1). */
int pw_usable_cpus(void);

#endif
