// CRC32C (Castagnoli, reflected polynomial 0x82F63B78).
// Fast path: the SSE4.2 `crc32` instruction, 8 bytes per step, chosen once at run time with cpuid so the
// library still works (through the table path) on an x86 CPU without SSE4.2 or on another architecture.
#include "CCRC32C.h"

static uint32_t ccrc32c_table[8][256];
static int ccrc32c_table_ready = 0;

/// Slicing-by-8 tables, built once. Racing initialisers compute identical values, so the race is harmless.
static void ccrc32c_build_table(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
        ccrc32c_table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = ccrc32c_table[0][n];
        for (int slice = 1; slice < 8; slice++) {
            crc = ccrc32c_table[0][crc & 0xFF] ^ (crc >> 8);
            ccrc32c_table[slice][n] = crc;
        }
    }
    __atomic_store_n(&ccrc32c_table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t ccrc32c_update_table(uint32_t crc, const void *bytes, size_t length) {
    if (!__atomic_load_n(&ccrc32c_table_ready, __ATOMIC_ACQUIRE)) ccrc32c_build_table();
    const uint8_t *p = bytes;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        word ^= crc;
        crc = ccrc32c_table[7][word & 0xFF] ^ ccrc32c_table[6][(word >> 8) & 0xFF] ^
              ccrc32c_table[5][(word >> 16) & 0xFF] ^ ccrc32c_table[4][(word >> 24) & 0xFF] ^
              ccrc32c_table[3][(word >> 32) & 0xFF] ^ ccrc32c_table[2][(word >> 40) & 0xFF] ^
              ccrc32c_table[1][(word >> 48) & 0xFF] ^ ccrc32c_table[0][word >> 56];
        p += 8;
        length -= 8;
    }
    while (length--) crc = ccrc32c_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t ccrc32c_update_sse42(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *p = bytes;
    uint64_t state = ~crc;
    while (length >= 8) {
        uint64_t word;
        __builtin_memcpy(&word, p, 8);
        state = _mm_crc32_u64(state, word);
        p += 8;
        length -= 8;
    }
    uint32_t small = (uint32_t)state;
    while (length--) small = _mm_crc32_u8(small, *p++);
    return ~small;
}

/// -1 unknown, 0 no, 1 yes. Written once; a race only repeats the cpuid query.
static int ccrc32c_has_sse42 = -1;

int ccrc32c_hardware_available(void) {
    int known = __atomic_load_n(&ccrc32c_has_sse42, __ATOMIC_RELAXED);
    if (known >= 0) return known;
    unsigned int eax = 0, ebx = 0, ecx = 0, edx = 0;
    int available = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) available = (ecx & bit_SSE4_2) != 0;
    __atomic_store_n(&ccrc32c_has_sse42, available, __ATOMIC_RELAXED);
    return available;
}

uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) {
    if (ccrc32c_hardware_available()) return ccrc32c_update_sse42(crc, bytes, length);
    return ccrc32c_update_table(crc, bytes, length);
}
#else
int ccrc32c_hardware_available(void) { return 0; }

uint32_t ccrc32c_update(uint32_t crc, const void *bytes, size_t length) {
    return ccrc32c_update_table(crc, bytes, length);
}
#endif
