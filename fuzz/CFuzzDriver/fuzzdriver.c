/* Declarations only (include/fuzzdriver.h); SwiftPM wants a source file in a C target. */
#include "fuzzdriver.h"
