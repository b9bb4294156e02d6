#define _GNU_SOURCE
#include "inflate_isal.h"
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int pw_usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

#if defined(__has_include)
#if __has_include(<isa-l/igzip_lib.h>)
#define PW_HAVE_ISAL 1
#endif
#endif

#ifdef PW_HAVE_ISAL
#include <dlfcn.h>
#include <isa-l/igzip_lib.h>
#include <pthread.h>

typedef void (*init_fn)(struct inflate_state *);
typedef int (*reset_fn)(struct inflate_state *);
typedef int (*inflate_fn)(struct inflate_state *);

static init_fn p_init;
static reset_fn p_reset;
static inflate_fn p_inflate;
static int loaded;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) h = dlopen("libisal.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) return;
    p_init = (init_fn)dlsym(h, "isal_inflate_init");
    p_reset = (reset_fn)dlsym(h, "isal_inflate_reset");
    p_inflate = (inflate_fn)dlsym(h, "isal_inflate");
    loaded = p_init && p_reset && p_inflate;
}

int pw_isal_available(void) {
    pthread_once(&once, load);
    return loaded;
}

void *pw_isal_new(void) {
    if (!pw_isal_available()) return NULL;
    struct inflate_state *s = malloc(sizeof *s);
    if (!s) return NULL;
    p_init(s);
    s->crc_flag = ISAL_GZIP;
    return s;
}

void pw_isal_free(void *state) { free(state); }

void pw_isal_reset(void *state) {
    struct inflate_state *s = state;
    p_reset(s);
    s->crc_flag = ISAL_GZIP;
}

int pw_isal_inflate(void *state, const uint8_t **next_in, uint32_t *avail_in, uint8_t **next_out,
                    uint32_t *avail_out) {
    struct inflate_state *s = state;
    s->next_in = (uint8_t *)*next_in;
    s->avail_in = *avail_in;
    s->next_out = *next_out;
    s->avail_out = *avail_out;
    int rc = p_inflate(s);
    *next_in = s->next_in;
    *avail_in = s->avail_in;
    *next_out = s->next_out;
    *avail_out = s->avail_out;
    switch (rc) {
    case ISAL_DECOMP_OK:
    case ISAL_END_INPUT:
    case ISAL_OUT_OVERFLOW:
        return s->block_state == ISAL_BLOCK_FINISH ? 1 : 0;
    case ISAL_INVALID_BLOCK:
    case ISAL_INVALID_SYMBOL:
    case ISAL_INVALID_LOOKBACK:
        return -1;
    case ISAL_INVALID_WRAPPER:
    case ISAL_UNSUPPORTED_METHOD:
        return -2;
    case ISAL_INCORRECT_CHECKSUM:
        return -3;
    default:
        return -4;
    }
}

#else

int pw_isal_available(void) { return 0; }
void *pw_isal_new(void) { return NULL; }
void pw_isal_free(void *state) { (void)state; }
void pw_isal_reset(void *state) { (void)state; }
int pw_isal_inflate(void *state, const uint8_t **next_in, uint32_t *avail_in, uint8_t **next_out,
                    uint32_t *avail_out) {
    (void)state; (void)next_in; (void)avail_in; (void)next_out; (void)avail_out;
    return -4;
}

#endif
