#ifndef PROMOWATCH_FUZZDRIVER_H
#define PROMOWATCH_FUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
/* Runs libFuzzer's driver (compiler-rt's LLVMFuzzerRunDriver, linked by -sanitize=fuzzer) with
   `target`, which never sees a null pointer (an empty input points at a zero byte). SwiftPM names
   an executable's entry point <Target>_main, so the fuzz targets define that and call this.
   Without libFuzzer linked in it prints why and returns 2. */
int promowatch_fuzz_main(int argc, char **argv, int (*target)(const uint8_t *data, size_t size));
#endif
