#ifndef RIVER_CMSGPACK_SHIM_H
#define RIVER_CMSGPACK_SHIM_H

#include <msgpack.h>

/// `msgpack_sbuffer_write` is static inline in msgpack-c; this wrapper gives Swift a
/// function pointer it can hand to `msgpack_packer_init`.
static inline int river_msgpack_sbuffer_write(void *data, const char *buf, size_t len) {
    return msgpack_sbuffer_write(data, buf, len);
}

#endif
