#pragma once
#include <stddef.h>
#include <stdint.h>
/// CRC32C (Castagnoli) of `length` bytes, continuing from `crc` (start with 0).
/// Uses the SSE4.2 instruction when the CPU has it, the table otherwise.
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length);
/// The portable slicing-by-8 table path; exposed so tests can check it against the instruction path.
uint32_t ccrc32c_update_table(uint32_t crc, const void *bytes, size_t length);
/// 1 when the SSE4.2 crc32 instruction is used, 0 otherwise.
int ccrc32c_hardware_available(void);
/// Asks the CPU to start loading `address` into cache. Not CRC-related: Swift has no spelling for a prefetch,
/// and the ledger's recovery and shard loops use it to overlap the hash-table misses of the next record.
static inline void ccrc32c_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
