// Placeholder implementation (bitwise); the ledger work replaces it with the SSE4.2 instruction path.
#include "CCRC32C.h"
uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = bytes;
    crc = ~crc;
    while (length--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}
