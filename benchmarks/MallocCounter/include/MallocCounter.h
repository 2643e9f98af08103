#pragma once
#include <stdint.h>
/// Number of malloc/calloc/realloc/posix_memalign calls since the process started (this thread and others).
uint64_t malloc_counter_total(void);
