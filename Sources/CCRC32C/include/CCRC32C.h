#pragma once
#include <stddef.h>
#include <stdint.h>
/// CRC32C (Castagnoli) of `length` bytes, continuing from `crc` (start with 0).
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length);
