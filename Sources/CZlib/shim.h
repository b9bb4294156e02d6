#ifndef PROMOWATCH_CZLIB_SHIM_H
#define PROMOWATCH_CZLIB_SHIM_H
#include <zlib.h>

/* inflateInit2 is a macro in zlib.h; Swift cannot call macros, so wrap it.
   windowBits 15 + 16 = gzip wrapper only (the caller has already checked the magic bytes). */
static inline int promowatch_inflate_init_gzip(z_stream *stream) {
    return inflateInit2(stream, 15 + 16);
}
#endif
