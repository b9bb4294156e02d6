#ifndef PROMOWATCH_FUZZDRIVER_H
#define PROMOWATCH_FUZZDRIVER_H
#include <stddef.h>
#include <stdint.h>
/* libFuzzer's driver (compiler-rt, linked by -sanitize=fuzzer). SwiftPM names an executable's
   entry point <Target>_main, so the fuzz targets define that and hand over to this. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
