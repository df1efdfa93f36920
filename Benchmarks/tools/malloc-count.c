// Counts malloc calls of a process and prints `MALLOCS <n>` on stderr at exit. Allocation
// counts are repeatable where timings on a shared machine are not:
//
//   gcc -O2 -shared -fPIC -o .build/malloc-count.so Benchmarks/tools/malloc-count.c -ldl
//   LD_PRELOAD=$PWD/.build/malloc-count.so river-bench --codec msgpack --only rpc_seq --seq 12000 --warmup 200
//
// Run it at two --seq values and divide the difference by the difference of calls: the
// mallocs per call (client and in-process server), without start-up and warm-up.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_long count;
static void *(*real_malloc)(size_t);

void *malloc(size_t size) {
    if (!real_malloc) real_malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
    atomic_fetch_add_explicit(&count, 1, memory_order_relaxed);
    return real_malloc(size);
}

__attribute__((destructor)) static void report(void) {
    char line[64];
    int length = snprintf(line, sizeof line, "MALLOCS %ld\n", atomic_load(&count));
    if (length > 0) (void)!write(2, line, (size_t)length);
}
