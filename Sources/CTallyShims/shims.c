// Small C helpers for what Swift on Linux cannot reach directly.
#include "CTallyShims.h"

#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int tally_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    const unsigned char *p = (const unsigned char *)bytes;
    uint64_t wide = crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        wide = _mm_crc32_u64(wide, word);
        p += 8;
        length -= 8;
    }
    uint32_t narrow = (uint32_t)wide;
    while (length > 0) {
        narrow = _mm_crc32_u8(narrow, *p);
        p += 1;
        length -= 1;
    }
    return narrow;
}
#else
int tally_crc32c_hardware_available(void) { return 0; }

uint32_t tally_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t length) {
    (void)bytes;
    (void)length;
    return crc;
}
#endif
