#pragma once
#include <stdint.h>
/// Allocation calls (malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign) since the process
/// started, in every thread. Linking this target into an executable interposes those functions for the whole
/// process, the way package-benchmark's malloc interposer does; only benchmarks link it.
uint64_t malloc_counter_total(void);
