#include "fuzzdriver.h"
#include <stdio.h>

/* Weak: an ordinary build (no -sanitize=fuzzer) links without it. */
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))
    __attribute__((weak));

static int (*fuzz_target)(const uint8_t *, size_t);
static const uint8_t empty_input[1];

static int trampoline(const uint8_t *data, size_t size) {
    return fuzz_target(data ? data : empty_input, size);
}

int promowatch_fuzz_main(int argc, char **argv, int (*target)(const uint8_t *, size_t)) {
    if (!LLVMFuzzerRunDriver) {
        fprintf(stderr, "built without libFuzzer: use scripts/fuzz.sh\n");
        return 2;
    }
    fuzz_target = target;
    return LLVMFuzzerRunDriver(&argc, &argv, trampoline);
}
