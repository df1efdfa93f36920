#ifndef RIVER_CLIBWEBSOCKETS_SHIM_H
#define RIVER_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>

/// Bytes libwebsockets needs in front of every buffer passed to lws_write.
static inline size_t river_lws_pre(void) { return LWS_PRE; }

#endif
