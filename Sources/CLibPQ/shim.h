#ifndef PROMOWATCH_CLIBPQ_SHIM_H
#define PROMOWATCH_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
